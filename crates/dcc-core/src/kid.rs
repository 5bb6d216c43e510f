//! The key identifier (`kid`) of a document signer certificate (dcc-spec.md §1.3).
//!
//! A kid is the first 8 bytes of SHA-256 over the DER encoding of the DSC, taken over the bytes
//! exactly as received (never a re-encoding, dcc-spec.md §8.5 pitfall 4). Kids are not unique:
//! several DSCs may share one, so a verifier tries every candidate.

use std::fmt;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

/// The 8-byte key identifier of a DSC: the first 8 bytes of SHA-256 over its DER encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid([u8; KID_LEN]);

/// Why bytes or text are not a kid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KidError {
    /// The kid is not exactly 8 bytes long (COSE kids of other lengths are invalid, TD CO25/CO26).
    #[error("a kid has {KID_LEN} bytes, not {len}")]
    WrongLength {
        /// The number of bytes found.
        len: usize,
    },
    /// The text is not standard base64.
    #[error("the kid is not valid base64")]
    Base64(#[source] base64::DecodeError),
}

impl Kid {
    /// The kid of the certificate whose DER encoding is `der` (the bytes as received).
    pub fn of_certificate(der: &[u8]) -> Self {
        Self::from_sha256(digest::digest(&digest::SHA256, der).as_ref())
    }

    /// The kid held in `bytes`, which must be exactly 8 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KidError> {
        <[u8; KID_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| KidError::WrongLength { len: bytes.len() })
    }

    /// The kid encoded as standard base64 in `text` (as in the EU gateway's `kid` field,
    /// e.g. `qroU+hDDovs=`). Missing padding is tolerated; surrounding whitespace is not.
    pub fn from_base64(text: &str) -> Result<Self, KidError> {
        let bytes = LENIENT_STANDARD.decode(text).map_err(KidError::Base64)?;
        Self::from_slice(&bytes)
    }

    /// The 8 bytes of the kid.
    pub fn as_bytes(&self) -> &[u8; KID_LEN] {
        &self.0
    }

    /// The kid as padded standard base64 (12 characters), the form the EU gateway uses.
    pub fn to_base64(&self) -> String {
        general_purpose::STANDARD.encode(self.0)
    }

    /// The kid as 16 lowercase hexadecimal digits (the start of the DSC thumbprint).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The kid made of the first 8 bytes of an already computed SHA-256 digest of the DER.
    pub(crate) fn from_sha256(sha256: &[u8]) -> Self {
        let mut kid = [0; KID_LEN];
        for (target, source) in kid.iter_mut().zip(sha256) {
            *target = *source;
        }
        Self(kid)
    }
}

impl fmt::Display for Kid {
    /// Formats the kid as padded standard base64, e.g. `qroU+hDDovs=`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl TryFrom<&[u8]> for Kid {
    type Error = KidError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Self::from_slice(bytes)
    }
}

impl From<[u8; KID_LEN]> for Kid {
    fn from(bytes: [u8; KID_LEN]) -> Self {
        Self(bytes)
    }
}

/// Standard base64 that accepts input with or without `=` padding.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The length of a kid in bytes (dcc-spec.md §1.3).
const KID_LEN: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    const BYTES: [u8; 8] = [0xaa, 0xba, 0x14, 0xfa, 0x10, 0xc3, 0xa2, 0xfb];

    #[test]
    fn of_certificate_is_the_start_of_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea 414140de5dae2223 …
        let kid = Kid::of_certificate(b"abc");
        assert_eq!(kid.to_hex(), "ba7816bf8f01cfea");
    }

    #[test]
    fn display_and_base64_use_padded_standard_alphabet() {
        let kid = Kid::from(BYTES);
        assert_eq!(kid.to_string(), "qroU+hDDovs=");
        assert_eq!(kid.to_base64(), "qroU+hDDovs=");
        assert_eq!(kid.to_hex(), "aaba14fa10c3a2fb");
    }

    #[test]
    fn from_base64_round_trips_with_and_without_padding() {
        assert_eq!(Kid::from_base64("qroU+hDDovs="), Ok(Kid::from(BYTES)));
        assert_eq!(Kid::from_base64("qroU+hDDovs"), Ok(Kid::from(BYTES)));
    }

    #[test]
    fn from_base64_rejects_wrong_lengths_and_alphabets() {
        assert_eq!(
            Kid::from_base64("AAAAAAAAAAAA"),
            Err(KidError::WrongLength { len: 9 })
        );
        assert_eq!(
            Kid::from_base64("qroU"),
            Err(KidError::WrongLength { len: 3 })
        );
        assert!(matches!(
            Kid::from_base64("qroU-hDDovs="),
            Err(KidError::Base64(_))
        ));
    }

    #[test]
    fn from_slice_requires_exactly_eight_bytes() {
        assert_eq!(
            Kid::from_slice(&BYTES).map(|kid| *kid.as_bytes()),
            Ok(BYTES)
        );
        assert_eq!(
            Kid::from_slice(&BYTES[..7]),
            Err(KidError::WrongLength { len: 7 })
        );
        assert_eq!(
            Kid::from_slice(&[0; 9]),
            Err(KidError::WrongLength { len: 9 })
        );
    }

    #[test]
    fn kids_order_by_bytes() {
        assert!(Kid::from([0; 8]) < Kid::from([0, 0, 0, 0, 0, 0, 0, 1]));
    }
}
