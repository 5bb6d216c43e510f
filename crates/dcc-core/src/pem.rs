//! PEM text (RFC 7468): the blocks of certificates and public keys in trust files.

use base64::Engine as _;
use base64::engine::general_purpose;

/// Why PEM text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// The input is neither DER nor UTF-8 text.
    #[error("the input is neither DER nor text")]
    NotText,
    /// There is no block with the expected label.
    #[error("no PEM block labelled {label}")]
    NoBlock {
        /// The label looked for, e.g. `CERTIFICATE`.
        label: &'static str,
    },
    /// A block (counted from 0 over all blocks) has a BEGIN line but no matching END line.
    #[error("PEM block {block} is not terminated by a matching END line")]
    Unterminated {
        /// The index of the block, counted from 0 over all blocks.
        block: usize,
    },
    /// A block's body is not standard base64.
    #[error("PEM block {block} is not valid base64")]
    Base64 {
        /// The index of the block, counted from 0 over all blocks.
        block: usize,
        /// The decoding error.
        #[source]
        source: base64::DecodeError,
    },
}

/// Decodes the blocks labelled `label` from PEM text (RFC 7468), ignoring other blocks and any
/// text between blocks.
pub(crate) fn pem_blocks(bytes: &[u8], label: &'static str) -> Result<Vec<Vec<u8>>, PemError> {
    let text = std::str::from_utf8(bytes).map_err(|_| PemError::NotText)?;
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    let mut block = 0;
    while let Some(line) = lines.next() {
        let Some(found) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        else {
            continue;
        };
        let mut body = String::new();
        let mut terminated = false;
        for line in lines.by_ref() {
            if let Some(end) = line
                .strip_prefix("-----END ")
                .and_then(|rest| rest.strip_suffix("-----"))
            {
                terminated = end == found;
                break;
            }
            body.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
        }
        if !terminated {
            return Err(PemError::Unterminated { block });
        }
        if found == label {
            let der = general_purpose::STANDARD
                .decode(&body)
                .map_err(|source| PemError::Base64 { block, source })?;
            blocks.push(der);
        }
        block += 1;
    }
    if blocks.is_empty() {
        return Err(PemError::NoBlock { label });
    }
    Ok(blocks)
}

/// The first byte of DER-encoded certificates and keys (a SEQUENCE).
pub(crate) const DER_SEQUENCE: u8 = 0x30;
