//! Base45 (RFC 9285), the text layer of an HC1 string (dcc-spec.md §1.5).
//!
//! Written here rather than taken from a crate so that a decoding error can name the exact
//! character position, which `dcc verify` reports to the user.

/// Why a string is not valid Base45.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Base45Error {
    /// A character outside the 45-character alphabet (lowercase letters included).
    #[error("character {character:?} at position {position} is not in the Base45 alphabet")]
    InvalidCharacter {
        /// Zero-based character position in the Base45 text.
        position: usize,
        /// The offending character.
        character: char,
    },
    /// The text ends with a lone character; Base45 groups have two or three characters.
    #[error("the Base45 text has a dangling single character at position {position}")]
    DanglingCharacter {
        /// Zero-based position of the lone character.
        position: usize,
    },
    /// A group decodes to a value too large for its byte count.
    #[error("the Base45 group at position {position} decodes to {value}, above {maximum}")]
    GroupOverflow {
        /// Zero-based position of the group's first character.
        position: usize,
        /// The decoded value.
        value: u32,
        /// The largest value allowed for a group of this length.
        maximum: u32,
    },
}

/// Encodes bytes as Base45.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    let mut chunks = bytes.chunks_exact(2);
    for pair in &mut chunks {
        if let [a, b] = pair {
            let n = u32::from(*a) * 256 + u32::from(*b);
            push_digit(&mut out, n % 45);
            push_digit(&mut out, (n / 45) % 45);
            push_digit(&mut out, n / 2025);
        }
    }
    if let [a] = chunks.remainder() {
        let n = u32::from(*a);
        push_digit(&mut out, n % 45);
        push_digit(&mut out, n / 45);
    }
    out
}

/// Decodes Base45 text into bytes.
pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let bytes = text.as_bytes();
    let mut values = Vec::with_capacity(bytes.len());
    for (position, &byte) in bytes.iter().enumerate() {
        match DECODE_TABLE.get(usize::from(byte)).copied().flatten() {
            Some(value) => values.push(u32::from(value)),
            None => {
                // Report the character, not the byte, even for non-ASCII input.
                let character = text
                    .get(position..)
                    .and_then(|rest| rest.chars().next())
                    .unwrap_or(char::REPLACEMENT_CHARACTER);
                let position = text.get(..position).map_or(position, |s| s.chars().count());
                return Err(Base45Error::InvalidCharacter {
                    position,
                    character,
                });
            }
        }
    }
    let mut out = Vec::with_capacity(values.len() / 3 * 2 + 1);
    let mut groups = values.chunks_exact(3);
    let mut position = 0;
    for group in &mut groups {
        if let [c, d, e] = group {
            let n = c + d * 45 + e * 2025;
            if n > 0xFFFF {
                return Err(Base45Error::GroupOverflow {
                    position,
                    value: n,
                    maximum: 0xFFFF,
                });
            }
            out.push((n >> 8) as u8);
            out.push((n & 0xFF) as u8);
        }
        position += 3;
    }
    match groups.remainder() {
        [] => {}
        [c, d] => {
            let n = c + d * 45;
            if n > 0xFF {
                return Err(Base45Error::GroupOverflow {
                    position,
                    value: n,
                    maximum: 0xFF,
                });
            }
            out.push(n as u8);
        }
        _ => return Err(Base45Error::DanglingCharacter { position }),
    }
    Ok(out)
}

fn push_digit(out: &mut String, digit: u32) {
    let index = usize::try_from(digit).unwrap_or(usize::MAX);
    out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'0')));
}

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

#[expect(
    clippy::indexing_slicing,
    reason = "const evaluation: a bad index fails the build"
)]
const DECODE_TABLE: [Option<u8>; 256] = {
    let mut table = [None; 256];
    let mut index = 0;
    while index < ALPHABET.len() {
        table[ALPHABET[index] as usize] = Some(index as u8);
        index += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_9285_examples() {
        for (plain, encoded) in [
            ("AB", "BB8"),
            ("Hello!!", "%69 VD92EX0"),
            ("base-45", "UJCLQE7W581"),
            ("ietf!", "QED8WEX0"),
        ] {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn empty_round_trips() {
        assert_eq!(encode(&[]), "");
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn lowercase_is_rejected_with_its_position() {
        assert_eq!(
            decode("BB8a").unwrap_err(),
            Base45Error::InvalidCharacter {
                position: 3,
                character: 'a'
            }
        );
    }

    #[test]
    fn non_ascii_position_counts_characters() {
        assert_eq!(
            decode("Bä8").unwrap_err(),
            Base45Error::InvalidCharacter {
                position: 1,
                character: 'ä'
            }
        );
    }

    #[test]
    fn dangling_character_is_rejected() {
        assert_eq!(
            decode("BB8B").unwrap_err(),
            Base45Error::DanglingCharacter { position: 3 }
        );
    }

    #[test]
    fn overflowing_groups_are_rejected() {
        // ":::" = 44 + 44*45 + 44*2025 = 91124 > 65535.
        assert_eq!(
            decode(":::").unwrap_err(),
            Base45Error::GroupOverflow {
                position: 0,
                value: 91124,
                maximum: 0xFFFF
            }
        );
        assert_eq!(
            decode("BB8::").unwrap_err(),
            Base45Error::GroupOverflow {
                position: 3,
                value: 44 + 44 * 45,
                maximum: 0xFF
            }
        );
    }
}
