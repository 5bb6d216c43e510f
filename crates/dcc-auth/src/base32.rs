//! Base32 (RFC 4648, upper case, no padding): how TOTP secrets are shown and typed.

/// The RFC 4648 alphabet.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Encodes bytes without `=` padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol(buffer >> bits));
        }
    }
    if bits > 0 {
        out.push(symbol(buffer << (5 - bits)));
    }
    out
}

/// Decodes, ignoring case, spaces and trailing `=`.
pub fn decode(text: &str) -> Result<Vec<u8>, InvalidBase32> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for (position, character) in text.trim_end_matches('=').char_indices() {
        if character == ' ' {
            continue;
        }
        let upper = character.to_ascii_uppercase();
        let value = ALPHABET
            .iter()
            .position(|&symbol| char::from(symbol) == upper)
            .ok_or(InvalidBase32 { position })?;
        buffer = (buffer << 5) | u32::try_from(value).map_err(|_| InvalidBase32 { position })?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(
                u8::try_from((buffer >> bits) & 0xff).map_err(|_| InvalidBase32 { position })?,
            );
        }
    }
    Ok(out)
}

fn symbol(value: u32) -> char {
    let index = usize::try_from(value & 31).unwrap_or(0);
    ALPHABET
        .get(index)
        .map_or('A', |&symbol| char::from(symbol))
}

/// A character outside the base32 alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid base32 character at position {position}")]
pub struct InvalidBase32 {
    /// Byte offset of the character.
    pub position: usize,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn decoding_forgives_case_spaces_and_padding() {
        assert_eq!(decode("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert_eq!(decode("MZ1W"), Err(InvalidBase32 { position: 2 }));
    }
}
