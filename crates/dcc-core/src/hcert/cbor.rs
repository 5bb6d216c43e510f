//! Conversion between the CBOR data model and JSON values (dcc-spec.md §1.4).
//!
//! The DCC payload travels as CBOR but is defined, validated and shown as JSON. Encoding is
//! strict (integers, text, the one tagged date-time); decoding is tolerant, as the
//! specification asks of verifiers: tagged and untagged date-times, floats where integers
//! belong, and `null` (seen in the wild) are all read.

use ciborium::value::{Integer, Value as Cbor};
use serde_json::{Map, Number, Value as Json};

/// Why a CBOR value has no JSON equivalent in a DCC payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborJsonError {
    /// A map key that is not a text string.
    #[error("a map key at {path:?} is not a text string")]
    NonTextKey {
        /// JSON pointer of the map.
        path: String,
    },
    /// A byte string, which no DCC field uses.
    #[error("a byte string at {path:?} has no place in a DCC payload")]
    Bytes {
        /// JSON pointer of the value.
        path: String,
    },
    /// An integer beyond what JSON numbers carry exactly, or a float that is NaN or infinite.
    #[error("the number at {path:?} cannot be represented")]
    Number {
        /// JSON pointer of the value.
        path: String,
    },
    /// A CBOR tag other than 0 (date-time text) or 1 (epoch date-time).
    #[error("unsupported CBOR tag {tag} at {path:?}")]
    Tag {
        /// The tag number.
        tag: u64,
        /// JSON pointer of the tagged value.
        path: String,
    },
}

/// Converts a decoded CBOR value to JSON.
pub fn cbor_to_json(value: &Cbor) -> Result<Json, CborJsonError> {
    let mut path = String::new();
    to_json(value, &mut path)
}

/// Converts a JSON value to CBOR: integers stay integers, everything else maps one to one.
/// `date_time_paths` lists JSON pointers whose text is wrapped in tag 0 (RFC 8949 §3.4.1).
pub fn json_to_cbor(value: &Json, date_time_paths: &[&str]) -> Cbor {
    let mut path = String::new();
    to_cbor(value, date_time_paths, &mut path)
}

fn to_json(value: &Cbor, path: &mut String) -> Result<Json, CborJsonError> {
    Ok(match value {
        Cbor::Null => Json::Null,
        Cbor::Bool(b) => Json::Bool(*b),
        Cbor::Text(text) => Json::String(text.clone()),
        Cbor::Integer(integer) => integer_to_json(*integer, path)?,
        Cbor::Float(float) => Number::from_f64(*float)
            .map(Json::Number)
            .ok_or_else(|| CborJsonError::Number { path: path.clone() })?,
        Cbor::Bytes(_) => return Err(CborJsonError::Bytes { path: path.clone() }),
        // Tag 0 is an RFC 3339 date-time text, tag 1 an epoch date-time; both are read as
        // their content (dcc-spec.md §1.4: verifiers MUST read tagged and untagged).
        Cbor::Tag(0 | 1, inner) => to_json(inner, path)?,
        Cbor::Tag(tag, _) => {
            return Err(CborJsonError::Tag {
                tag: *tag,
                path: path.clone(),
            });
        }
        Cbor::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&index.to_string());
                out.push(to_json(item, path)?);
                path.truncate(len);
            }
            Json::Array(out)
        }
        Cbor::Map(entries) => {
            let mut out = Map::with_capacity(entries.len());
            for (key, item) in entries {
                let Cbor::Text(key) = key else {
                    return Err(CborJsonError::NonTextKey { path: path.clone() });
                };
                let len = path.len();
                path.push('/');
                path.push_str(key);
                let converted = to_json(item, path)?;
                path.truncate(len);
                out.insert(key.clone(), converted);
            }
            Json::Object(out)
        }
        _ => return Err(CborJsonError::Number { path: path.clone() }),
    })
}

fn integer_to_json(integer: Integer, path: &str) -> Result<Json, CborJsonError> {
    let wide = i128::from(integer);
    if let Ok(value) = i64::try_from(wide) {
        return Ok(Json::Number(value.into()));
    }
    if let Ok(value) = u64::try_from(wide) {
        return Ok(Json::Number(value.into()));
    }
    Err(CborJsonError::Number {
        path: path.to_owned(),
    })
}

fn to_cbor(value: &Json, date_time_paths: &[&str], path: &mut String) -> Cbor {
    match value {
        Json::Null => Cbor::Null,
        Json::Bool(b) => Cbor::Bool(*b),
        Json::Number(number) => {
            if let Some(value) = number.as_i64() {
                Cbor::Integer(value.into())
            } else if let Some(value) = number.as_u64() {
                Cbor::Integer(value.into())
            } else {
                Cbor::Float(number.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(text) => {
            if date_time_paths.contains(&path.as_str()) {
                Cbor::Tag(0, Box::new(Cbor::Text(text.clone())))
            } else {
                Cbor::Text(text.clone())
            }
        }
        Json::Array(items) => Cbor::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&index.to_string());
                    let converted = to_cbor(item, date_time_paths, path);
                    path.truncate(len);
                    converted
                })
                .collect(),
        ),
        Json::Object(entries) => Cbor::Map(
            entries
                .iter()
                .map(|(key, item)| {
                    let len = path.len();
                    path.push('/');
                    path.push_str(key);
                    let converted = to_cbor(item, date_time_paths, path);
                    path.truncate(len);
                    (Cbor::Text(key.clone()), converted)
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_round_trips_through_cbor_with_tagged_date_time() {
        let payload = json!({"ver": "1.3.0", "t": [{"sc": "2021-05-30T10:12:22Z", "n": 3}]});
        let cbor = json_to_cbor(&payload, &["/t/0/sc"]);
        let Cbor::Map(entries) = &cbor else {
            panic!("not a map")
        };
        let Cbor::Array(tests) = &entries[1].1 else {
            panic!("not an array")
        };
        let Cbor::Map(test) = &tests[0] else {
            panic!("not a map")
        };
        assert!(matches!(&test[0].1, Cbor::Tag(0, _)));
        assert_eq!(cbor_to_json(&cbor).unwrap(), payload);
    }

    #[test]
    fn rejects_what_json_cannot_hold() {
        let bytes = Cbor::Map(vec![(Cbor::Text("a".into()), Cbor::Bytes(vec![1]))]);
        assert_eq!(
            cbor_to_json(&bytes).unwrap_err(),
            CborJsonError::Bytes { path: "/a".into() }
        );
        let key = Cbor::Map(vec![(Cbor::Integer(1.into()), Cbor::Null)]);
        assert_eq!(
            cbor_to_json(&key).unwrap_err(),
            CborJsonError::NonTextKey { path: "".into() }
        );
        let tag = Cbor::Array(vec![Cbor::Tag(32, Box::new(Cbor::Text("x".into())))]);
        assert_eq!(
            cbor_to_json(&tag).unwrap_err(),
            CborJsonError::Tag {
                tag: 32,
                path: "/0".into()
            }
        );
    }
}
