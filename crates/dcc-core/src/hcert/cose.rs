//! COSE_Sign1 (RFC 8152 §4.2) as HCERTs use it (dcc-spec.md §1.3).
//!
//! Decoding is tolerant where the specification and the test vectors ask it to be: untagged
//! structures, a CWT tag 61 around tag 18, `alg` and `kid` in the unprotected header and an
//! empty protected header. Encoding always writes tag 18 with `alg` and `kid` protected.

use ciborium::value::Value as Cbor;

use crate::algorithm::Algorithm;

/// Why bytes are not a COSE_Sign1 structure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoseError {
    /// The bytes are not well-formed CBOR.
    #[error("the COSE structure is not valid CBOR: {0}")]
    Cbor(#[source] ciborium::de::Error<std::io::Error>),
    /// A tag other than 18 (COSE_Sign1) or 61 (CWT) wraps the structure.
    #[error("unexpected CBOR tag {0} around the COSE structure (expected 18)")]
    UnexpectedTag(u64),
    /// The structure is not a 4-element array.
    #[error("not a COSE_Sign1 structure: expected an array of 4 elements")]
    NotSign1,
    /// An element of the array has the wrong type.
    #[error("the COSE_Sign1 {element} has the wrong type")]
    ElementType {
        /// Which element: `protected header`, `unprotected header`, `payload` or `signature`.
        element: &'static str,
    },
    /// The protected header bytes are not a CBOR map.
    #[error("the protected header is not a CBOR map")]
    ProtectedHeader,
    /// A header parameter has the wrong type (`kid` not a byte string).
    #[error("the header parameter {parameter} has the wrong type")]
    HeaderParameter {
        /// The parameter's name.
        parameter: &'static str,
    },
}

/// How the COSE_Sign1 was tagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagging {
    /// Tag 18, as specified.
    Sign1,
    /// No tag (accepted by verifiers).
    Untagged,
    /// CWT tag 61 around tag 18.
    CwtAndSign1,
}

/// The `alg` header parameter as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderAlgorithm {
    /// An integer algorithm identifier (known or not).
    Value(i64),
    /// A text or other non-integer identifier, which HCERTs never use.
    NotAnInteger,
}

/// The header parameters an HCERT uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// `alg` (label 1).
    pub algorithm: Option<HeaderAlgorithm>,
    /// `kid` (label 4), raw bytes of any length.
    pub kid: Option<Vec<u8>>,
}

/// A decoded COSE_Sign1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoseSign1 {
    /// The protected header exactly as received (signed over as is).
    pub protected_bytes: Vec<u8>,
    /// The protected header, parsed.
    pub protected: Header,
    /// The unprotected header.
    pub unprotected: Header,
    /// The payload (CWT claims bytes).
    pub payload: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
    /// How the structure was tagged.
    pub tagging: Tagging,
}

impl CoseSign1 {
    /// Decodes a COSE_Sign1.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CoseError> {
        let value: Cbor = ciborium::from_reader(bytes).map_err(CoseError::Cbor)?;
        let (value, tagging) = match value {
            Cbor::Tag(SIGN1_TAG, inner) => (*inner, Tagging::Sign1),
            Cbor::Tag(CWT_TAG, inner) => match *inner {
                Cbor::Tag(SIGN1_TAG, inner) => (*inner, Tagging::CwtAndSign1),
                Cbor::Tag(other, _) => return Err(CoseError::UnexpectedTag(other)),
                untagged => (untagged, Tagging::CwtAndSign1),
            },
            Cbor::Tag(other, _) => return Err(CoseError::UnexpectedTag(other)),
            untagged => (untagged, Tagging::Untagged),
        };
        let Cbor::Array(elements) = value else {
            return Err(CoseError::NotSign1);
        };
        let Ok([protected, unprotected, payload, signature]) = <[Cbor; 4]>::try_from(elements)
        else {
            return Err(CoseError::NotSign1);
        };
        let Cbor::Bytes(protected_bytes) = protected else {
            return Err(CoseError::ElementType {
                element: "protected header",
            });
        };
        let Cbor::Map(unprotected) = unprotected else {
            return Err(CoseError::ElementType {
                element: "unprotected header",
            });
        };
        let Cbor::Bytes(payload) = payload else {
            return Err(CoseError::ElementType { element: "payload" });
        };
        let Cbor::Bytes(signature) = signature else {
            return Err(CoseError::ElementType {
                element: "signature",
            });
        };
        // RFC 8152 §3: an empty protected header may be sent as a zero-length byte string.
        let protected = if protected_bytes.is_empty() {
            Header::default()
        } else {
            match ciborium::from_reader::<Cbor, _>(protected_bytes.as_slice()) {
                Ok(Cbor::Map(entries)) => header(&entries)?,
                _ => return Err(CoseError::ProtectedHeader),
            }
        };
        Ok(Self {
            protected_bytes,
            protected,
            unprotected: header(&unprotected)?,
            payload,
            signature,
            tagging,
        })
    }

    /// The `alg` parameter: the protected one if present, else the unprotected one.
    pub fn algorithm(&self) -> Option<HeaderAlgorithm> {
        self.protected.algorithm.or(self.unprotected.algorithm)
    }

    /// The `kid`: the protected one if present, else the unprotected one. When both are
    /// present the protected one wins and there is no fallback (dcc-spec.md §1.3).
    pub fn kid(&self) -> Option<&[u8]> {
        self.protected
            .kid
            .as_deref()
            .or(self.unprotected.kid.as_deref())
    }

    /// The bytes that are signed: `Sig_structure` = `["Signature1", protected, h'', payload]`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        sig_structure(&self.protected_bytes, &self.payload)
    }
}

/// Builds the protected header `{1: alg, 4: kid}` that this library always issues.
pub fn protected_header(algorithm: Algorithm, kid: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    out.push(0xA2);
    write_int(&mut out, 1);
    write_int(&mut out, algorithm.cose_value());
    write_int(&mut out, 4);
    write_bytes(&mut out, kid);
    out
}

/// `Sig_structure` for COSE_Sign1 (RFC 8152 §4.4) with empty external AAD.
pub fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 24);
    out.push(0x84);
    out.push(0x6A);
    out.extend_from_slice(b"Signature1");
    write_bytes(&mut out, protected);
    out.push(0x40);
    write_bytes(&mut out, payload);
    out
}

/// Encodes a tagged COSE_Sign1 with an empty unprotected header.
pub fn encode_sign1(protected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + signature.len() + 16);
    out.push(0xD2);
    out.push(0x84);
    write_bytes(&mut out, protected);
    out.push(0xA0);
    write_bytes(&mut out, payload);
    write_bytes(&mut out, signature);
    out
}

fn header(entries: &[(Cbor, Cbor)]) -> Result<Header, CoseError> {
    let mut header = Header::default();
    for (label, value) in entries {
        match label.as_integer().map(i128::from) {
            Some(1) => {
                header.algorithm = Some(match value.as_integer().map(i128::from) {
                    Some(alg) => i64::try_from(alg)
                        .map(HeaderAlgorithm::Value)
                        .unwrap_or(HeaderAlgorithm::NotAnInteger),
                    None => HeaderAlgorithm::NotAnInteger,
                });
            }
            Some(4) => match value {
                Cbor::Bytes(kid) => header.kid = Some(kid.clone()),
                _ => return Err(CoseError::HeaderParameter { parameter: "kid" }),
            },
            _ => {}
        }
    }
    Ok(header)
}

fn write_head(out: &mut Vec<u8>, major: u8, value: u64) {
    let major = major << 5;
    match value {
        0..=23 => out.push(major | value as u8),
        24..=0xFF => out.extend_from_slice(&[major | 24, value as u8]),
        0x100..=0xFFFF => {
            out.push(major | 25);
            out.extend_from_slice(&(value as u16).to_be_bytes());
        }
        0x1_0000..=0xFFFF_FFFF => {
            out.push(major | 26);
            out.extend_from_slice(&(value as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
}

fn write_int(out: &mut Vec<u8>, value: i64) {
    if value >= 0 {
        write_head(out, 0, value.unsigned_abs());
    } else {
        write_head(out, 1, (-1 - value).unsigned_abs());
    }
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_head(out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

const SIGN1_TAG: u64 = 18;
const CWT_TAG: u64 = 61;

#[cfg(test)]
mod tests {
    use super::*;

    const KID: [u8; 8] = [0x0C, 0x4B, 0x15, 0x51, 0x2B, 0xE9, 0x14, 0x01];

    #[test]
    fn protected_header_bytes() {
        let header = protected_header(Algorithm::Es256, &KID);
        assert_eq!(&header[..6], &[0xA2, 0x01, 0x26, 0x04, 0x48, 0x0C]);
        let header = protected_header(Algorithm::Ps256, &KID);
        assert_eq!(&header[..5], &[0xA2, 0x01, 0x38, 0x24, 0x04]);
    }

    #[test]
    fn sign1_round_trip() {
        let protected = protected_header(Algorithm::Es256, &KID);
        let bytes = encode_sign1(&protected, &[0xA0], &[7; 64]);
        assert_eq!(&bytes[..2], &[0xD2, 0x84]);
        let cose = CoseSign1::from_bytes(&bytes).unwrap();
        assert_eq!(cose.tagging, Tagging::Sign1);
        assert_eq!(cose.algorithm(), Some(HeaderAlgorithm::Value(-7)));
        assert_eq!(cose.kid(), Some(&KID[..]));
        assert_eq!(cose.payload, vec![0xA0]);
        assert_eq!(cose.signature, vec![7; 64]);
        // Our hand-written Sig_structure equals ciborium's encoding of the same array.
        let reference = Cbor::Array(vec![
            Cbor::Text("Signature1".into()),
            Cbor::Bytes(protected.clone()),
            Cbor::Bytes(vec![]),
            Cbor::Bytes(vec![0xA0]),
        ]);
        let mut expected = Vec::new();
        ciborium::into_writer(&reference, &mut expected).unwrap();
        assert_eq!(cose.signed_bytes(), expected);
    }

    #[test]
    fn unprotected_header_and_empty_protected_are_read() {
        let mut bytes = vec![0x84, 0x40, 0xA2, 0x01, 0x26, 0x04, 0x48];
        bytes.extend_from_slice(&KID);
        bytes.extend_from_slice(&[0x41, 0xA0, 0x41, 0x00]);
        let cose = CoseSign1::from_bytes(&bytes).unwrap();
        assert_eq!(cose.tagging, Tagging::Untagged);
        assert_eq!(cose.kid(), Some(&KID[..]));
        assert_eq!(cose.algorithm(), Some(HeaderAlgorithm::Value(-7)));
    }

    #[test]
    fn cwt_tag_around_sign1_is_read() {
        let mut bytes = vec![0xD8, 0x3D];
        bytes.extend(encode_sign1(
            &protected_header(Algorithm::Es256, &KID),
            &[0xA0],
            &[1],
        ));
        assert_eq!(
            CoseSign1::from_bytes(&bytes).unwrap().tagging,
            Tagging::CwtAndSign1
        );
    }

    #[test]
    fn malformed_structures_are_typed_errors() {
        assert!(matches!(
            CoseSign1::from_bytes(&[0xFF]),
            Err(CoseError::Cbor(_))
        ));
        assert!(matches!(
            CoseSign1::from_bytes(&[0x83, 0x40, 0xA0, 0x40]),
            Err(CoseError::NotSign1)
        ));
        assert!(matches!(
            CoseSign1::from_bytes(&[0xD1, 0x80]),
            Err(CoseError::UnexpectedTag(17))
        ));
        assert!(matches!(
            CoseSign1::from_bytes(&[0x84, 0x60, 0xA0, 0x40, 0x40]),
            Err(CoseError::ElementType {
                element: "protected header"
            })
        ));
        assert!(matches!(
            CoseSign1::from_bytes(&[0x84, 0x41, 0x01, 0xA0, 0x40, 0x40]),
            Err(CoseError::ProtectedHeader)
        ));
    }
}
