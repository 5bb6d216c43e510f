//! The Telematik-ID: the identifier of a participant of the German telematics infrastructure,
//! carried as `registrationNumber` in the Admission extension (german-context.md §5.5).
//!
//! The grammar after the sector prefix is set by each card issuer and is not public, so this type
//! checks only what every Telematik-ID shares: a sector prefix of digits and `-`, and characters
//! that fit the ASN.1 PrintableString the extension uses.

use std::fmt;
use std::str::FromStr;

/// A syntactically valid Telematik-ID, e.g. `3-SMC-B-Testkarte-883110000116873`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TelematikId(String);

/// Why text is not a Telematik-ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TelematikIdError {
    /// The text is empty.
    #[error("a Telematik-ID is not empty")]
    Empty,
    /// The text is longer than the directory service allows.
    #[error("a Telematik-ID has at most {MAX_LEN} characters, not {len}")]
    TooLong {
        /// The number of characters found.
        len: usize,
    },
    /// A character outside the PrintableString alphabet (or a space).
    #[error("the character {character:?} at position {position} is not allowed in a Telematik-ID")]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },
    /// The text does not start with a sector prefix: one or more digits, then `-`.
    #[error("a Telematik-ID starts with a sector prefix such as `3-`")]
    MissingSectorPrefix,
}

impl TelematikId {
    /// Parses a Telematik-ID.
    ///
    /// Accepted are 1 to 128 characters from the ASN.1 PrintableString alphabet without space
    /// (`A–Z a–z 0–9 ' ( ) + , - . / : = ?`), starting with a sector prefix of digits and `-`.
    pub fn parse(text: &str) -> Result<Self, TelematikIdError> {
        if text.is_empty() {
            return Err(TelematikIdError::Empty);
        }
        let len = text.chars().count();
        if len > MAX_LEN {
            return Err(TelematikIdError::TooLong { len });
        }
        if let Some((position, character)) = text
            .chars()
            .enumerate()
            .find(|(_, character)| !is_allowed(*character))
        {
            return Err(TelematikIdError::InvalidCharacter {
                character,
                position,
            });
        }
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || text.as_bytes().get(digits) != Some(&b'-') {
            return Err(TelematikIdError::MissingSectorPrefix);
        }
        Ok(Self(text.to_owned()))
    }

    /// The Telematik-ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The sector prefix without the `-`, e.g. `3` for the pharmacy sector.
    pub fn sector(&self) -> &str {
        self.0.split('-').next().unwrap_or_default()
    }

    /// Whether the ID belongs to the pharmacy sector (prefix `3-`): pharmacies and pharmacists.
    pub fn is_pharmacy_sector(&self) -> bool {
        self.sector() == PHARMACY_SECTOR
    }

    /// A file name stem for the ID: characters other than ASCII letters, digits, `.` and `-`
    /// become `_`, so that `/` or `:` cannot leave a directory.
    pub fn file_stem(&self) -> String {
        self.0
            .chars()
            .map(|character| match character {
                'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '-' => character,
                _ => '_',
            })
            .collect()
    }
}

impl fmt::Display for TelematikId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TelematikId {
    type Err = TelematikIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl TryFrom<&str> for TelematikId {
    type Error = TelematikIdError;

    fn try_from(text: &str) -> Result<Self, Self::Error> {
        Self::parse(text)
    }
}

impl AsRef<str> for TelematikId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for TelematikId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for TelematikId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// PrintableString characters (X.680 §41.4) except space.
fn is_allowed(character: char) -> bool {
    character.is_ascii_alphanumeric() || "'()+,-./:=?".contains(character)
}

/// The longest Telematik-ID accepted (the directory service's limit).
const MAX_LEN: usize = 128;

/// The sector prefix of pharmacies and pharmacists.
const PHARMACY_SECTOR: &str = "3";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_test_card_and_chamber_ids() {
        for text in [
            "3-SMC-B-Testkarte-883110000116873",
            "3-SMC-B-Testkarte--883110000153440",
            "3-10.3.1234567000.10.999",
            "2-SMC-B-ORG-TK-883110000018166",
            "8-01",
        ] {
            let id = TelematikId::parse(text).unwrap();
            assert_eq!(id.as_str(), text);
            assert_eq!(id.to_string(), text);
        }
    }

    #[test]
    fn pharmacy_sector_is_prefix_three() {
        assert!(
            TelematikId::parse("3-10.3.1234567000.10.999")
                .unwrap()
                .is_pharmacy_sector()
        );
        let dentist = TelematikId::parse("2-SMC-B-ORG-TK-883110000018166").unwrap();
        assert!(!dentist.is_pharmacy_sector());
        assert_eq!(dentist.sector(), "2");
        // "30-" is another sector, not the pharmacy sector.
        assert!(!TelematikId::parse("30-x").unwrap().is_pharmacy_sector());
    }

    #[test]
    fn rejects_each_kind_of_bad_text() {
        assert_eq!(TelematikId::parse(""), Err(TelematikIdError::Empty));
        let long = format!("3-{}", "a".repeat(127));
        assert_eq!(
            TelematikId::parse(&long),
            Err(TelematikIdError::TooLong { len: 129 })
        );
        assert_eq!(
            TelematikId::parse("3-Apotheke Süd"),
            Err(TelematikIdError::InvalidCharacter {
                character: ' ',
                position: 10
            })
        );
        assert_eq!(
            TelematikId::parse("3-Süd"),
            Err(TelematikIdError::InvalidCharacter {
                character: 'ü',
                position: 3
            })
        );
        assert_eq!(
            TelematikId::parse("SMC-B-1"),
            Err(TelematikIdError::MissingSectorPrefix)
        );
        assert_eq!(
            TelematikId::parse("3"),
            Err(TelematikIdError::MissingSectorPrefix)
        );
        assert_eq!(
            TelematikId::parse("-3"),
            Err(TelematikIdError::MissingSectorPrefix)
        );
    }

    #[test]
    fn file_stem_keeps_ids_inside_a_directory() {
        let id = TelematikId::parse("3-a/../b:c").unwrap();
        assert_eq!(id.file_stem(), "3-a_.._b_c");
        let plain = TelematikId::parse("3-SMC-B-Testkarte-883110000116873").unwrap();
        assert_eq!(plain.file_stem(), plain.as_str());
    }

    #[test]
    fn serde_uses_the_plain_string_and_validates() {
        let id = TelematikId::parse("3-SMC-B-Testkarte-883110000116873").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"3-SMC-B-Testkarte-883110000116873\"");
        assert_eq!(serde_json::from_str::<TelematikId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<TelematikId>("\"no-prefix\"").is_err());
    }
}
