//! Certificate serial numbers.

use std::fmt;

/// The serial number of a certificate: the content octets of its DER INTEGER.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(Vec<u8>);

/// Why text is not a serial number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SerialError {
    /// The text is empty.
    #[error("a serial number has at least one byte")]
    Empty,
    /// The text is not an even number of hexadecimal digits.
    #[error("a serial number is written as pairs of hexadecimal digits")]
    NotHex,
    /// More than 20 bytes (RFC 5280 §4.1.2.2).
    #[error("a serial number has at most 20 bytes, not {len}")]
    TooLong {
        /// The number of bytes found.
        len: usize,
    },
}

impl Serial {
    /// The serial whose DER INTEGER content octets are `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SerialError> {
        match bytes.len() {
            0 => Err(SerialError::Empty),
            len if len > MAX_LEN => Err(SerialError::TooLong { len }),
            _ => Ok(Self(bytes.to_vec())),
        }
    }

    /// Parses hexadecimal digits (upper or lower case, optionally separated by `:`).
    pub fn parse(text: &str) -> Result<Self, SerialError> {
        let digits: Vec<u8> = text.bytes().filter(|byte| *byte != b':').collect();
        if !digits.len().is_multiple_of(2) {
            return Err(SerialError::NotHex);
        }
        let bytes = digits
            .chunks_exact(2)
            .map(|pair| match pair {
                [high, low] => Some(hex_value(*high)? * 16 + hex_value(*low)?),
                _ => None,
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or(SerialError::NotHex)?;
        Self::from_bytes(&bytes)
    }

    /// The content octets of the DER INTEGER.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lowercase hexadecimal digits without separators.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }
}

impl fmt::Display for Serial {
    /// Formats the serial as lowercase hexadecimal digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::str::FromStr for Serial {
    type Err = SerialError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Lowercase hexadecimal digits of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// The longest serial number RFC 5280 allows, in bytes.
const MAX_LEN: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_with_and_without_colons() {
        let serial = Serial::parse("0A:1b:ff").unwrap();
        assert_eq!(serial.as_bytes(), &[0x0a, 0x1b, 0xff]);
        assert_eq!(serial.to_string(), "0a1bff");
        assert_eq!("0a1bff".parse::<Serial>(), Ok(serial));
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!(Serial::parse(""), Err(SerialError::Empty));
        assert_eq!(Serial::parse("abc"), Err(SerialError::NotHex));
        assert_eq!(Serial::parse("zz"), Err(SerialError::NotHex));
        assert_eq!(
            Serial::from_bytes(&[1; 21]),
            Err(SerialError::TooLong { len: 21 })
        );
    }
}
