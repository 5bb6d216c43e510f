//! CWT claims, the payload of the COSE_Sign1 (dcc-spec.md §1.2).

use ciborium::value::Value as Cbor;
use serde_json::Value as Json;

use super::cbor_reader::{CborReadError, Head, Reader};

/// Why the COSE payload is not a usable CWT claims set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CwtError {
    /// The payload is not well-formed CBOR.
    #[error("the CWT claims are not valid CBOR: {0}")]
    Cbor(#[source] CborReadError),
    /// The payload is CBOR but not a map.
    #[error("the CWT claims are not a CBOR map")]
    NotAMap,
    /// A standard claim has the wrong type (`iss` not text, `iat`/`exp` not a number).
    #[error("the CWT claim {claim} has the wrong type")]
    ClaimType {
        /// The claim's name (`iss`, `iat` or `exp`).
        claim: &'static str,
    },
    /// Claim -260 (hcert) is missing or not a map.
    #[error("the CWT has no hcert claim (-260) map")]
    MissingHcert,
    /// The hcert map has no entry 1 (eu_dcc_v1).
    #[error("the hcert claim has no DCC (key 1)")]
    MissingDcc,
    /// The DCC holds CBOR that has no JSON form (bytes, non-text keys, other tags).
    #[error("the DCC payload cannot be read: {0}")]
    Payload(#[source] CborReadError),
    /// Encoding failed (only possible through an allocation failure).
    #[error("encoding the CWT failed: {0}")]
    Encode(#[source] ciborium::ser::Error<std::io::Error>),
}

/// The claims of a decoded HCERT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `iss` (1): the issuing country, when present.
    pub issuer: Option<String>,
    /// `iat` (6): issued at, in seconds since 1970 UTC. Floats seen in the wild are floored.
    pub issued_at: Option<i64>,
    /// `exp` (4): expires at, in seconds since 1970 UTC.
    pub expires_at: Option<i64>,
}

/// The claims an issuer sets; all three are required when issuing (dcc-spec.md §1.6b).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueClaims {
    /// `iss`: ISO 3166-1 alpha-2 country of the issuer.
    pub issuer: String,
    /// `iat`, seconds since 1970 UTC.
    pub issued_at: i64,
    /// `exp`, seconds since 1970 UTC.
    pub expires_at: i64,
}

/// Encodes the claims map `{1: iss, 6: iat, 4: exp, -260: {1: dcc}}` with integer dates.
pub fn encode(claims: &IssueClaims, dcc: Cbor) -> Result<Vec<u8>, CwtError> {
    let map = Cbor::Map(vec![
        (Cbor::Integer(ISS.into()), Cbor::Text(claims.issuer.clone())),
        (
            Cbor::Integer(IAT.into()),
            Cbor::Integer(claims.issued_at.into()),
        ),
        (
            Cbor::Integer(EXP.into()),
            Cbor::Integer(claims.expires_at.into()),
        ),
        (
            Cbor::Integer(HCERT.into()),
            Cbor::Map(vec![(Cbor::Integer(EU_DCC_V1.into()), dcc)]),
        ),
    ]);
    let mut out = Vec::with_capacity(512);
    ciborium::into_writer(&map, &mut out).map_err(CwtError::Encode)?;
    Ok(out)
}

/// Decodes a claims map into the standard claims and the DCC (`hcert[1]`) as JSON.
pub fn decode(bytes: &[u8]) -> Result<(Claims, Json), CwtError> {
    let mut reader = Reader::new(bytes);
    let mut head = reader.head().map_err(CwtError::Cbor)?;
    // A CWT tag (61) around the claims is tolerated like the one around COSE.
    if head == Head::Tag(CWT_TAG) {
        head = reader.head().map_err(CwtError::Cbor)?;
    }
    let length = match head {
        Head::Map(length) => length,
        // A lone "break" is not CBOR at all, unlike a well-formed item that is not a map.
        Head::Break => return Err(CwtError::Cbor(CborReadError::Invalid { offset: 0 })),
        _ => return Err(CwtError::NotAMap),
    };
    let mut claims = Claims {
        issuer: None,
        issued_at: None,
        expires_at: None,
    };
    let mut dcc = None;
    for_each_entry(&mut reader, length, |reader, key| {
        match key {
            Some(ISS) => match reader.head().map_err(CwtError::Cbor)? {
                Head::Text(length) => {
                    claims.issuer = Some(reader.text(length).map_err(CwtError::Cbor)?);
                }
                _ => return Err(CwtError::ClaimType { claim: "iss" }),
            },
            Some(IAT) => claims.issued_at = Some(numeric_date(reader, "iat")?),
            Some(EXP) => claims.expires_at = Some(numeric_date(reader, "exp")?),
            Some(HCERT) => {
                let Head::Map(length) = reader.head().map_err(CwtError::Cbor)? else {
                    return Err(CwtError::MissingHcert);
                };
                for_each_entry(reader, length, |reader, key| {
                    if key == Some(EU_DCC_V1) {
                        let mut path = String::new();
                        dcc = Some(reader.json(&mut path, 0).map_err(CwtError::Payload)?);
                    } else {
                        reader.skip(0).map_err(CwtError::Cbor)?;
                    }
                    Ok(())
                })?;
                if dcc.is_none() {
                    return Err(CwtError::MissingDcc);
                }
            }
            _ => reader.skip(0).map_err(CwtError::Cbor)?,
        }
        Ok(())
    })?;
    let dcc = dcc.ok_or(CwtError::MissingHcert)?;
    Ok((claims, dcc))
}

/// Calls `each` with the integer key (or `None` for other keys, whose value it must skip) of
/// every entry of a map whose head was just read.
fn for_each_entry(
    reader: &mut Reader<'_>,
    length: Option<u64>,
    mut each: impl FnMut(&mut Reader<'_>, Option<i64>) -> Result<(), CwtError>,
) -> Result<(), CwtError> {
    let mut remaining = length;
    while remaining != Some(0) {
        let key = match reader.head().map_err(CwtError::Cbor)? {
            Head::Break if remaining.is_none() => return Ok(()),
            Head::Unsigned(value) => i64::try_from(value).ok(),
            Head::Negative(value) => i64::try_from(value).ok().map(|value| -1 - value),
            Head::Text(length) => {
                reader.text(length).map_err(CwtError::Cbor)?;
                None
            }
            _ => {
                return Err(CwtError::Cbor(CborReadError::Invalid {
                    offset: reader.offset(),
                }));
            }
        };
        each(reader, key)?;
        remaining = remaining.map(|n| n - 1);
    }
    Ok(())
}

fn numeric_date(reader: &mut Reader<'_>, claim: &'static str) -> Result<i64, CwtError> {
    // Spec 1.0.6 requires integers; 25 vectors carry floats, so read them (dcc-spec.md §1.2).
    match reader.head().map_err(CwtError::Cbor)? {
        Head::Unsigned(value) => i64::try_from(value).map_err(|_| CwtError::ClaimType { claim }),
        Head::Negative(value) => i64::try_from(value)
            .map(|value| -1 - value)
            .map_err(|_| CwtError::ClaimType { claim }),
        Head::Float(value) if value.is_finite() && value.abs() < 1e15 => Ok(value.floor() as i64),
        Head::Tag(1) => numeric_date(reader, claim),
        _ => Err(CwtError::ClaimType { claim }),
    }
}

const ISS: i64 = 1;
const EXP: i64 = 4;
const IAT: i64 = 6;
const HCERT: i64 = -260;
const EU_DCC_V1: i64 = 1;
const CWT_TAG: u64 = 61;

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> IssueClaims {
        IssueClaims {
            issuer: "DE".into(),
            issued_at: 1_622_316_073,
            expires_at: 1_643_356_073,
        }
    }

    #[test]
    fn round_trip() {
        let dcc = Cbor::Map(vec![(Cbor::Text("ver".into()), Cbor::Text("1.3.0".into()))]);
        let bytes = encode(&claims(), dcc.clone()).unwrap();
        // map(4), 1: "DE", 6: 1622316073 as a 4-byte unsigned integer.
        assert_eq!(
            &bytes[..10],
            &[0xA4, 0x01, 0x62, b'D', b'E', 0x06, 0x1A, 0x60, 0xB2, 0x94]
        );
        let (decoded, payload) = decode(&bytes).unwrap();
        assert_eq!(decoded.issuer.as_deref(), Some("DE"));
        assert_eq!(decoded.issued_at, Some(1_622_316_073));
        assert_eq!(decoded.expires_at, Some(1_643_356_073));
        assert_eq!(payload, serde_json::json!({"ver": "1.3.0"}));
    }

    #[test]
    fn float_dates_are_read() {
        let map = Cbor::Map(vec![
            (Cbor::Integer(6.into()), Cbor::Float(1_622_316_073.5)),
            (
                Cbor::Integer((-260).into()),
                Cbor::Map(vec![(Cbor::Integer(1.into()), Cbor::Map(vec![]))]),
            ),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&map, &mut bytes).unwrap();
        assert_eq!(decode(&bytes).unwrap().0.issued_at, Some(1_622_316_073));
    }

    #[test]
    fn missing_hcert_and_dcc_are_errors() {
        let mut bytes = Vec::new();
        ciborium::into_writer(&Cbor::Map(vec![]), &mut bytes).unwrap();
        assert!(matches!(decode(&bytes), Err(CwtError::MissingHcert)));
        let map = Cbor::Map(vec![(Cbor::Integer((-260).into()), Cbor::Map(vec![]))]);
        bytes.clear();
        ciborium::into_writer(&map, &mut bytes).unwrap();
        assert!(matches!(decode(&bytes), Err(CwtError::MissingDcc)));
        assert!(matches!(decode(&[0xFF, 0xFF]), Err(CwtError::Cbor(_))));
        assert!(matches!(decode(&[0x01]), Err(CwtError::NotAMap)));
    }
}
