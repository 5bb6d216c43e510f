//! CWT claims, the payload of the COSE_Sign1 (dcc-spec.md §1.2).

use ciborium::value::Value as Cbor;

/// Why the COSE payload is not a usable CWT claims set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CwtError {
    /// The payload is not well-formed CBOR.
    #[error("the CWT claims are not valid CBOR: {0}")]
    Cbor(#[source] ciborium::de::Error<std::io::Error>),
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
    /// Encoding failed (only possible through an allocation failure).
    #[error("encoding the CWT failed: {0}")]
    Encode(#[source] ciborium::ser::Error<std::io::Error>),
}

/// The claims of a decoded HCERT.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// `iss` (1): the issuing country, when present.
    pub issuer: Option<String>,
    /// `iat` (6): issued at, in seconds since 1970 UTC. Floats seen in the wild are floored.
    pub issued_at: Option<i64>,
    /// `exp` (4): expires at, in seconds since 1970 UTC.
    pub expires_at: Option<i64>,
    /// The DCC itself, `hcert[1]`, as CBOR.
    pub dcc: Cbor,
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

/// Decodes a claims map.
pub fn decode(bytes: &[u8]) -> Result<Claims, CwtError> {
    let value: Cbor = ciborium::from_reader(bytes).map_err(CwtError::Cbor)?;
    // A CWT tag (61) around the claims is tolerated like the one around COSE.
    let value = match value {
        Cbor::Tag(CWT_TAG, inner) => *inner,
        other => other,
    };
    let Cbor::Map(entries) = value else {
        return Err(CwtError::NotAMap);
    };
    let mut claims = Claims {
        issuer: None,
        issued_at: None,
        expires_at: None,
        dcc: Cbor::Null,
    };
    let mut hcert = None;
    for (key, value) in entries {
        let Some(key) = key.as_integer().map(i128::from) else {
            continue;
        };
        match key {
            k if k == i128::from(ISS) => match value {
                Cbor::Text(text) => claims.issuer = Some(text),
                _ => return Err(CwtError::ClaimType { claim: "iss" }),
            },
            k if k == i128::from(IAT) => claims.issued_at = Some(numeric_date(&value, "iat")?),
            k if k == i128::from(EXP) => claims.expires_at = Some(numeric_date(&value, "exp")?),
            k if k == i128::from(HCERT) => hcert = Some(value),
            _ => {}
        }
    }
    let Some(Cbor::Map(hcert)) = hcert else {
        return Err(CwtError::MissingHcert);
    };
    claims.dcc = hcert
        .into_iter()
        .find(|(key, _)| key.as_integer().map(i128::from) == Some(i128::from(EU_DCC_V1)))
        .map(|(_, dcc)| dcc)
        .ok_or(CwtError::MissingDcc)?;
    Ok(claims)
}

fn numeric_date(value: &Cbor, claim: &'static str) -> Result<i64, CwtError> {
    // Spec 1.0.6 requires integers; 25 vectors carry floats, so read them (dcc-spec.md §1.2).
    match value {
        Cbor::Integer(integer) => {
            i64::try_from(i128::from(*integer)).map_err(|_| CwtError::ClaimType { claim })
        }
        Cbor::Float(float) if float.is_finite() && float.abs() < 1e15 => Ok(float.floor() as i64),
        Cbor::Tag(1, inner) => numeric_date(inner, claim),
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
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded.issuer.as_deref(), Some("DE"));
        assert_eq!(decoded.issued_at, Some(1_622_316_073));
        assert_eq!(decoded.expires_at, Some(1_643_356_073));
        assert_eq!(decoded.dcc, dcc);
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
        assert_eq!(decode(&bytes).unwrap().issued_at, Some(1_622_316_073));
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
