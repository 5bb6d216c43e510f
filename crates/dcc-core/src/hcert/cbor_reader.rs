//! A small CBOR reader (RFC 8949) that turns the CWT claims straight into what verification
//! needs: the standard claims and the DCC as JSON, without building an intermediate CBOR tree.
//!
//! Verification runs for every scan, and building a generic CBOR value first cost about twice
//! as much as reading into JSON directly (`benches/pipeline.rs`). The reader is strict about
//! well-formedness (lengths, UTF-8, nesting depth) and tolerant where the specification asks
//! it to be (tagged or untagged date-times, floats for NumericDates, indefinite lengths).

use serde_json::{Map, Number, Value as Json};

/// Why bytes are not well-formed CBOR, or hold something a DCC payload cannot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborReadError {
    /// The data ends inside an item.
    #[error("the CBOR data ends early at byte {offset}")]
    Truncated {
        /// Where more data was needed.
        offset: usize,
    },
    /// A reserved or invalid initial byte.
    #[error("invalid CBOR item at byte {offset}")]
    Invalid {
        /// The offset of the item.
        offset: usize,
    },
    /// A text string that is not UTF-8.
    #[error("a CBOR text string at byte {offset} is not UTF-8")]
    NotUtf8 {
        /// The offset of the string.
        offset: usize,
    },
    /// Items nested deeper than [`MAX_DEPTH`].
    #[error("CBOR items are nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// A value that has no JSON form in a DCC (bytes, a map key that is not text, a tag other
    /// than 0 or 1, NaN or infinity, an integer beyond 64 bits).
    #[error("unsupported CBOR value at {path:?} (byte {offset})")]
    Unsupported {
        /// JSON pointer of the value.
        path: String,
        /// The offset of the item.
        offset: usize,
    },
}

/// Items may nest this deep (a DCC nests 4 levels; anything far deeper is an attack).
pub const MAX_DEPTH: usize = 32;

/// One CBOR item's head: major type and argument.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Head {
    /// Unsigned integer (major 0).
    Unsigned(u64),
    /// Negative integer -1-n (major 1).
    Negative(u64),
    /// Byte string of a definite length, or indefinite (major 2).
    Bytes(Option<u64>),
    /// Text string (major 3).
    Text(Option<u64>),
    /// Array (major 4).
    Array(Option<u64>),
    /// Map (major 5).
    Map(Option<u64>),
    /// Tag (major 6).
    Tag(u64),
    /// false, true, null, undefined or another simple value (major 7).
    Simple(u8),
    /// A float of any width (major 7).
    Float(f64),
    /// The "break" that ends an indefinite-length item.
    Break,
}

/// A cursor over CBOR bytes.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }

    /// The current byte offset.
    pub(crate) fn offset(&self) -> usize {
        self.offset
    }

    /// Reads the next item's head.
    pub(crate) fn head(&mut self) -> Result<Head, CborReadError> {
        let start = self.offset;
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1F;
        let argument = match info {
            0..=23 => Some(u64::from(info)),
            24 => Some(u64::from(self.byte()?)),
            25 => Some(u64::from(u16::from_be_bytes(self.array()?))),
            26 => Some(u64::from(u32::from_be_bytes(self.array()?))),
            27 => Some(u64::from_be_bytes(self.array()?)),
            31 => None,
            _ => return Err(CborReadError::Invalid { offset: start }),
        };
        let invalid = || CborReadError::Invalid { offset: start };
        Ok(match major {
            0 => Head::Unsigned(argument.ok_or_else(invalid)?),
            1 => Head::Negative(argument.ok_or_else(invalid)?),
            2 => Head::Bytes(argument),
            3 => Head::Text(argument),
            4 => Head::Array(argument),
            5 => Head::Map(argument),
            6 => Head::Tag(argument.ok_or_else(invalid)?),
            _ => match (info, argument) {
                (25, Some(bits)) => Head::Float(half_to_f64(bits as u16)),
                (26, Some(bits)) => Head::Float(f64::from(f32::from_bits(bits as u32))),
                (27, Some(bits)) => Head::Float(f64::from_bits(bits)),
                (31, None) => Head::Break,
                (0..=24, Some(value)) => Head::Simple(value as u8),
                _ => return Err(invalid()),
            },
        })
    }

    /// Reads the content of a byte or text string whose head was just read.
    pub(crate) fn string_bytes(
        &mut self,
        length: Option<u64>,
        major: fn(Option<u64>) -> Head,
    ) -> Result<Vec<u8>, CborReadError> {
        match length {
            Some(length) => Ok(self.take(length)?.to_vec()),
            None => {
                // Indefinite: definite chunks of the same major type until break.
                let mut out = Vec::new();
                loop {
                    let start = self.offset;
                    let head = self.head()?;
                    match (head, chunk_length(head)) {
                        (Head::Break, _) => return Ok(out),
                        (chunk, Some(length)) if chunk == major(Some(length)) => {
                            out.extend_from_slice(self.take(length)?);
                        }
                        _ => return Err(CborReadError::Invalid { offset: start }),
                    }
                }
            }
        }
    }

    /// Reads a text string whose head was just read.
    pub(crate) fn text(&mut self, length: Option<u64>) -> Result<String, CborReadError> {
        let start = self.offset;
        let bytes = self.string_bytes(length, Head::Text)?;
        String::from_utf8(bytes).map_err(|_| CborReadError::NotUtf8 { offset: start })
    }

    /// Skips one whole item (used for claims this library does not read).
    pub(crate) fn skip(&mut self, depth: usize) -> Result<(), CborReadError> {
        if depth > MAX_DEPTH {
            return Err(CborReadError::TooDeep);
        }
        match self.head()? {
            Head::Bytes(length) => self.string_bytes(length, Head::Bytes).map(drop),
            Head::Text(length) => self.string_bytes(length, Head::Text).map(drop),
            Head::Array(length) => self.items(length, 1, |reader| reader.skip(depth + 1)),
            Head::Map(length) => self.items(length, 2, |reader| reader.skip(depth + 1)),
            Head::Tag(_) => self.skip(depth + 1),
            Head::Break => Err(CborReadError::Invalid {
                offset: self.offset.saturating_sub(1),
            }),
            _ => Ok(()),
        }
    }

    /// Reads one item as JSON: text-keyed maps, arrays, text, numbers, booleans and null;
    /// tags 0 and 1 (date-times) are read as their content.
    pub(crate) fn json(&mut self, path: &mut String, depth: usize) -> Result<Json, CborReadError> {
        if depth > MAX_DEPTH {
            return Err(CborReadError::TooDeep);
        }
        let start = self.offset;
        let unsupported = |path: &String| CborReadError::Unsupported {
            path: path.clone(),
            offset: start,
        };
        Ok(match self.head()? {
            Head::Unsigned(value) => Json::Number(value.into()),
            Head::Negative(value) => {
                let value = i64::try_from(value).map_err(|_| unsupported(path))?;
                Json::Number((-1 - value).into())
            }
            Head::Text(length) => Json::String(self.text(length)?),
            Head::Float(value) => {
                Json::Number(Number::from_f64(value).ok_or_else(|| unsupported(path))?)
            }
            Head::Simple(20) => Json::Bool(false),
            Head::Simple(21) => Json::Bool(true),
            Head::Simple(22) => Json::Null,
            Head::Tag(0 | 1) => self.json(path, depth + 1)?,
            Head::Array(length) => {
                let mut items = Vec::new();
                let mut index = 0usize;
                self.items(length, 1, |reader| {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&index.to_string());
                    items.push(reader.json(path, depth + 1)?);
                    path.truncate(len);
                    index += 1;
                    Ok(())
                })?;
                Json::Array(items)
            }
            Head::Map(length) => {
                let mut map = Map::new();
                let mut remaining = length;
                loop {
                    if remaining == Some(0) {
                        break;
                    }
                    let key_start = self.offset;
                    let key = match self.head()? {
                        Head::Break if remaining.is_none() => break,
                        Head::Text(key_length) => self.text(key_length)?,
                        _ => {
                            return Err(CborReadError::Unsupported {
                                path: path.clone(),
                                offset: key_start,
                            });
                        }
                    };
                    let len = path.len();
                    path.push('/');
                    path.push_str(&key);
                    let value = self.json(path, depth + 1)?;
                    path.truncate(len);
                    map.insert(key, value);
                    remaining = remaining.map(|n| n - 1);
                }
                Json::Object(map)
            }
            _ => return Err(unsupported(path)),
        })
    }

    /// Runs `each` once per item of a definite or indefinite array (`per_entry` = 1) or map
    /// (`per_entry` = 2, `each` called for key and value alike).
    fn items(
        &mut self,
        length: Option<u64>,
        per_entry: u64,
        mut each: impl FnMut(&mut Self) -> Result<(), CborReadError>,
    ) -> Result<(), CborReadError> {
        match length {
            Some(length) => {
                // Each item needs at least one byte: refuse lengths the data cannot hold
                // before looping over them.
                let needed = length.saturating_mul(per_entry);
                if needed > (self.bytes.len() - self.offset) as u64 {
                    return Err(CborReadError::Truncated {
                        offset: self.bytes.len(),
                    });
                }
                for _ in 0..needed {
                    each(self)?;
                }
                Ok(())
            }
            None => loop {
                if self.bytes.get(self.offset) == Some(&0xFF) {
                    self.offset += 1;
                    return Ok(());
                }
                for _ in 0..per_entry {
                    each(self)?;
                }
            },
        }
    }

    fn byte(&mut self) -> Result<u8, CborReadError> {
        let byte = *self
            .bytes
            .get(self.offset)
            .ok_or(CborReadError::Truncated {
                offset: self.offset,
            })?;
        self.offset += 1;
        Ok(byte)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CborReadError> {
        let bytes = self.take(N as u64)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn take(&mut self, length: u64) -> Result<&'a [u8], CborReadError> {
        let truncated = CborReadError::Truncated {
            offset: self.bytes.len(),
        };
        let length = usize::try_from(length).map_err(|_| truncated.clone())?;
        let end = self
            .offset
            .checked_add(length)
            .ok_or_else(|| truncated.clone())?;
        let slice = self.bytes.get(self.offset..end).ok_or(truncated)?;
        self.offset = end;
        Ok(slice)
    }
}

fn chunk_length(head: Head) -> Option<u64> {
    match head {
        Head::Bytes(length) | Head::Text(length) => length,
        _ => None,
    }
}

/// IEEE 754 half precision to f64 (RFC 8949 Appendix D).
fn half_to_f64(bits: u16) -> f64 {
    let exponent = i32::from((bits >> 10) & 0x1F);
    let mantissa = f64::from(bits & 0x3FF);
    let value = match exponent {
        0 => mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (mantissa + 1024.0) * 2f64.powi(exponent - 25),
    };
    if bits & 0x8000 != 0 { -value } else { value }
}

#[cfg(test)]
mod tests {
    use ciborium::value::Value as Cbor;
    use serde_json::json;

    use super::*;
    use crate::hcert::cbor::{cbor_to_json, json_to_cbor};

    fn read(bytes: &[u8]) -> Result<Json, CborReadError> {
        Reader::new(bytes).json(&mut String::new(), 0)
    }

    #[test]
    fn agrees_with_ciborium_on_a_payload() {
        let payload = json!({"ver": "1.3.0", "nam": {"fn": "Müller", "gnt": "J"}, "dob": "",
                             "t": [{"sc": "2021-05-30T10:12:22Z", "n": -3, "big": 4_000_000_000u64}]});
        let mut bytes = Vec::new();
        ciborium::into_writer(&json_to_cbor(&payload, &["/t/0/sc"]), &mut bytes).unwrap();
        assert_eq!(read(&bytes).unwrap(), payload);
        let ours = read(&bytes).unwrap();
        let reference: Cbor = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert_eq!(ours, cbor_to_json(&reference).unwrap());
    }

    #[test]
    fn reads_indefinite_lengths_and_floats() {
        // {_ "a": [_ 1, 1.5], "b": (_ "x", "y")} with a half float 1.5 = F9 3E00.
        let bytes = [
            0xBF, 0x61, b'a', 0x9F, 0x01, 0xF9, 0x3E, 0x00, 0xFF, 0x61, b'b', 0x7F, 0x61, b'x',
            0x61, b'y', 0xFF, 0xFF,
        ];
        assert_eq!(read(&bytes).unwrap(), json!({"a": [1, 1.5], "b": "xy"}));
    }

    #[test]
    fn refuses_malformed_and_unsupported_items() {
        assert_eq!(
            read(&[0x62, b'a']),
            Err(CborReadError::Truncated { offset: 2 })
        );
        assert_eq!(read(&[0x1C]), Err(CborReadError::Invalid { offset: 0 }));
        assert_eq!(
            read(&[0x62, 0xC3, 0x28]),
            Err(CborReadError::NotUtf8 { offset: 1 })
        );
        assert!(matches!(
            read(&[0xA1, 0x01, 0x02]),
            Err(CborReadError::Unsupported { .. })
        ));
        assert!(matches!(
            read(&[0x41, 0x00]),
            Err(CborReadError::Unsupported { .. })
        ));
        assert!(matches!(
            read(&[0xD8, 0x20, 0x00]),
            Err(CborReadError::Unsupported { .. })
        ));
        // A huge declared length is refused before any allocation.
        assert!(matches!(
            read(&[0x9B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(CborReadError::Truncated { .. })
        ));
        let deep = vec![0x81; MAX_DEPTH + 2];
        assert_eq!(read(&deep), Err(CborReadError::TooDeep));
    }

    #[test]
    fn skips_whole_items() {
        let bytes = [0x82, 0xA1, 0x01, 0x41, 0x00, 0x9F, 0xFF, 0x07];
        let mut reader = Reader::new(&bytes);
        reader.skip(0).unwrap();
        assert_eq!(reader.offset(), 7);
        assert_eq!(reader.head().unwrap(), Head::Unsigned(7));
    }
}
