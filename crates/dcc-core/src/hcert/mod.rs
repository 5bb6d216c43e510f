//! The HCERT encoding pipeline, both ways (dcc-spec.md §1).
//!
//! ```text
//!  issue:   Dcc ──CBOR──▶ CWT claims ──COSE_Sign1──▶ zlib ──Base45──▶ "HC1:…" ──▶ QR
//!           {ver,nam,dob,v|t|r}   {1 iss, 6 iat, 4 exp, -260 {1: dcc}}
//!  verify:  "HC1:…" ─strip─▶ Base45 ─decode─▶ zlib ─inflate─▶ COSE_Sign1 ─▶ CWT ─▶ payload
//! ```
//!
//! Each layer lives in its own module and has its own error type; [`DecodeError`] says which
//! layer failed.

pub mod base45;
pub mod cbor;
pub mod cbor_reader;
pub mod compress;
pub mod cose;
pub mod cwt;
pub mod prefix;

use self::base45::Base45Error;
use self::cbor_reader::CborReadError;
use self::compress::{CompressError, Compression};
use self::cose::{CoseError, CoseSign1};
use self::cwt::{Claims, CwtError, IssueClaims};
use self::prefix::PrefixError;
use crate::model::Dcc;
use crate::signer::{Signer, SignerError};

/// Why an HC1 string could not be decoded, by layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The `HC1:` prefix is missing or another version.
    #[error(transparent)]
    Prefix(#[from] PrefixError),
    /// The Base45 text is invalid.
    #[error("invalid Base45: {0}")]
    Base45(#[from] Base45Error),
    /// The zlib stream is broken.
    #[error(transparent)]
    Compression(#[from] CompressError),
    /// The bytes are not a COSE_Sign1.
    #[error(transparent)]
    Cose(#[from] CoseError),
    /// The COSE payload is not a CWT with an hcert claim.
    #[error(transparent)]
    Cwt(#[from] CwtError),
    /// The DCC contains CBOR that has no JSON form.
    #[error("the DCC payload cannot be read: {0}")]
    Payload(#[from] CborReadError),
}

impl DecodeError {
    /// A stable, documented code for the failed layer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Prefix(_) => "not_hc1",
            Self::Base45(_) => "bad_base45",
            Self::Compression(_) => "bad_zlib",
            Self::Cose(_) => "not_cose_sign1",
            Self::Cwt(_) => "bad_cwt",
            Self::Payload(_) => "bad_payload",
        }
    }
}

/// Why a certificate could not be encoded and signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// CBOR encoding of the claims failed.
    #[error(transparent)]
    Cwt(#[from] CwtError),
    /// The signer failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// Compression failed.
    #[error(transparent)]
    Compression(#[from] CompressError),
}

/// A decoded (not yet verified) HCERT with every layer.
#[derive(Debug, Clone)]
pub struct DecodedHcert {
    /// Whether the COSE bytes were zlib-compressed.
    pub compression: Compression,
    /// The COSE_Sign1 bytes.
    pub cose_bytes: Vec<u8>,
    /// The COSE_Sign1 structure.
    pub cose: CoseSign1,
    /// The CWT claims.
    pub claims: Claims,
    /// The DCC as JSON.
    pub payload: serde_json::Value,
}

/// Encodes and signs a DCC into an `HC1:` string.
pub fn encode(dcc: &Dcc, claims: &IssueClaims, signer: &dyn Signer) -> Result<String, EncodeError> {
    encode_cose(&sign(dcc, claims, signer)?)
}

/// Compresses signed COSE_Sign1 bytes and writes them as an `HC1:` string.
pub fn encode_cose(cose: &[u8]) -> Result<String, EncodeError> {
    let compressed = compress::deflate(cose)?;
    let mut out = String::with_capacity(prefix::HC1_PREFIX.len() + compressed.len() / 2 * 3 + 3);
    out.push_str(prefix::HC1_PREFIX);
    out.push_str(&base45::encode(&compressed));
    Ok(out)
}

/// Builds the CWT for a DCC and signs it into tagged COSE_Sign1 bytes.
pub fn sign(dcc: &Dcc, claims: &IssueClaims, signer: &dyn Signer) -> Result<Vec<u8>, EncodeError> {
    sign_returning_signature(dcc, claims, signer).map(|(cose, _)| cose)
}

/// Like [`sign`], also returning the raw signature (for the SIGNATURE revocation hash).
pub fn sign_returning_signature(
    dcc: &Dcc,
    claims: &IssueClaims,
    signer: &dyn Signer,
) -> Result<(Vec<u8>, Vec<u8>), EncodeError> {
    let payload = cwt::encode(claims, dcc.to_cbor())?;
    let kid = signer.kid();
    let protected = cose::protected_header(signer.algorithm(), kid.as_bytes());
    let signature = signer.sign(&cose::sig_structure(&protected, &payload))?;
    Ok((
        cose::encode_sign1(&protected, &payload, &signature),
        signature,
    ))
}

/// Decodes an `HC1:` string through every layer, without verifying anything.
pub fn decode(text: &str) -> Result<DecodedHcert, DecodeError> {
    let base45_text = prefix::strip(text)?;
    let compressed = base45::decode(base45_text)?;
    let (cose_bytes, compression) = compress::inflate(&compressed)?;
    decode_cose(cose_bytes, compression)
}

/// Decodes COSE_Sign1 bytes (the "raw" transport of dcc-spec.md §1.1) without verifying.
pub fn decode_cose(
    cose_bytes: Vec<u8>,
    compression: Compression,
) -> Result<DecodedHcert, DecodeError> {
    let cose = CoseSign1::from_bytes(&cose_bytes)?;
    let (claims, payload) = cwt::decode(&cose.payload).map_err(|error| match error {
        CwtError::Payload(error) => DecodeError::Payload(error),
        other => DecodeError::Cwt(other),
    })?;
    Ok(DecodedHcert {
        compression,
        cose_bytes,
        cose,
        claims,
        payload,
    })
}
