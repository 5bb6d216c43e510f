//! PEM (RFC 7468) text: the textual form of every certificate, key and CRL this crate writes.
//!
//! Only the strict, single-label form is produced: a `-----BEGIN <label>-----` line, standard
//! base64 in lines of 64 characters, a `-----END <label>-----` line. Reading is tolerant of text
//! around the block and of CRLF line endings.

use base64::Engine as _;
use base64::engine::general_purpose;

/// Why PEM text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// The text has no block with the expected label.
    #[error("no PEM block labelled {label}")]
    NoBlock {
        /// The label that was looked for, e.g. `CERTIFICATE`.
        label: &'static str,
    },
    /// The block has no matching END line.
    #[error("the PEM block labelled {label} is not terminated")]
    Unterminated {
        /// The label of the unterminated block.
        label: &'static str,
    },
    /// The block body is not standard base64.
    #[error("the PEM block labelled {label} is not valid base64")]
    Base64 {
        /// The label of the broken block.
        label: &'static str,
        /// What the base64 decoder reported.
        #[source]
        source: base64::DecodeError,
    },
}

/// Encodes `der` as one PEM block with the given label.
pub fn encode(label: &str, der: &[u8]) -> String {
    let body = general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / LINE_LEN + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest = body.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(LINE_LEN));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Decodes the first block labelled `label` in `text`; other text and blocks are ignored.
pub fn decode(label: &'static str, text: &str) -> Result<Vec<u8>, PemError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut lines = text.lines().map(str::trim);
    if !lines.by_ref().any(|line| line == begin) {
        return Err(PemError::NoBlock { label });
    }
    let mut body = String::new();
    for line in lines {
        if line == end {
            return general_purpose::STANDARD
                .decode(body.as_bytes())
                .map_err(|source| PemError::Base64 { label, source });
        }
        body.push_str(line);
    }
    Err(PemError::Unterminated { label })
}

/// The PEM label of an X.509 certificate.
pub const CERTIFICATE: &str = "CERTIFICATE";
/// The PEM label of a PKCS#8 private key.
pub const PRIVATE_KEY: &str = "PRIVATE KEY";
/// The PEM label of an X.509 certificate revocation list.
pub const X509_CRL: &str = "X509 CRL";

/// Base64 characters per line (RFC 7468 §2).
const LINE_LEN: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_wraps_at_64_characters() {
        let der: Vec<u8> = (0..=200).collect();
        let text = encode(CERTIFICATE, &der);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(text.ends_with("-----END CERTIFICATE-----\n"));
        assert!(
            text.lines()
                .all(|line| line.len() <= 64 || line.starts_with("-----"))
        );
        assert_eq!(decode(CERTIFICATE, &text), Ok(der));
    }

    #[test]
    fn finds_the_block_among_other_text_with_crlf() {
        let text = format!(
            "comment\r\n{}",
            encode(PRIVATE_KEY, b"key").replace('\n', "\r\n")
        );
        assert_eq!(decode(PRIVATE_KEY, &text), Ok(b"key".to_vec()));
        assert_eq!(
            decode(CERTIFICATE, &text),
            Err(PemError::NoBlock { label: CERTIFICATE })
        );
    }

    #[test]
    fn reports_unterminated_and_broken_blocks() {
        assert_eq!(
            decode(CERTIFICATE, "-----BEGIN CERTIFICATE-----\nAAAA\n"),
            Err(PemError::Unterminated { label: CERTIFICATE })
        );
        assert!(matches!(
            decode(
                CERTIFICATE,
                "-----BEGIN CERTIFICATE-----\nA*AA\n-----END CERTIFICATE-----"
            ),
            Err(PemError::Base64 {
                label: CERTIFICATE,
                ..
            })
        ));
    }
}
