//! The date of birth, `dob`, in every form the schema allows (dcc-spec.md §2.1).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `dob`: `""`, `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, years 1900–2099.
///
/// Month and day are kept as numbers without a calendar check, because the schema pattern
/// allows `00` (Dutch certificates use `1963-00`); issuance checks the calendar separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateOfBirth {
    /// Unknown (`""`, allowed since schema 1.3.0).
    Unknown,
    /// Only the year.
    Year(u16),
    /// Year and month.
    YearMonth(u16, u8),
    /// A complete date.
    Date(u16, u8, u8),
}

/// Why a text is not a schema-conformant date of birth.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a date of birth of the form YYYY, YYYY-MM or YYYY-MM-DD (1900–2099)")]
pub struct DateOfBirthError {
    /// The rejected text.
    pub text: String,
}

impl DateOfBirth {
    /// Parses the schema pattern `^((19|20)\d\d(-\d\d){0,2}){0,1}$`.
    pub fn parse(text: &str) -> Result<Self, DateOfBirthError> {
        let error = || DateOfBirthError {
            text: text.to_owned(),
        };
        if text.is_empty() {
            return Ok(Self::Unknown);
        }
        let mut parts = text.split('-');
        let year = parts.next().ok_or_else(error)?;
        if year.len() != 4 || !(year.starts_with("19") || year.starts_with("20")) {
            return Err(error());
        }
        let year = digits(year).ok_or_else(error)?;
        let month = parts
            .next()
            .map(|m| two_digits(m).ok_or_else(error))
            .transpose()?;
        let day = parts
            .next()
            .map(|d| two_digits(d).ok_or_else(error))
            .transpose()?;
        if parts.next().is_some() {
            return Err(error());
        }
        Ok(match (month, day) {
            (None, _) => Self::Year(year),
            (Some(month), None) => Self::YearMonth(year, month),
            (Some(month), Some(day)) => Self::Date(year, month, day),
        })
    }

    /// Whether the date is a real calendar date (partial dates count when their parts are).
    pub fn is_calendar_date(&self) -> bool {
        match *self {
            Self::Unknown | Self::Year(_) => true,
            Self::YearMonth(_, month) => (1..=12).contains(&month),
            Self::Date(year, month, day) => time::Month::try_from(month)
                .ok()
                .and_then(|month| time::Date::from_calendar_date(i32::from(year), month, day).ok())
                .is_some(),
        }
    }
}

impl std::fmt::Display for DateOfBirth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown => Ok(()),
            Self::Year(year) => write!(f, "{year:04}"),
            Self::YearMonth(year, month) => write!(f, "{year:04}-{month:02}"),
            Self::Date(year, month, day) => write!(f, "{year:04}-{month:02}-{day:02}"),
        }
    }
}

impl std::str::FromStr for DateOfBirth {
    type Err = DateOfBirthError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for DateOfBirth {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateOfBirth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn digits(text: &str) -> Option<u16> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

fn two_digits(text: &str) -> Option<u8> {
    if text.len() == 2 {
        digits(text).and_then(|n| u8::try_from(n).ok())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_allowed_form_round_trips() {
        for (text, expected) in [
            ("", DateOfBirth::Unknown),
            ("1964", DateOfBirth::Year(1964)),
            ("1963-00", DateOfBirth::YearMonth(1963, 0)),
            ("2001-12-31", DateOfBirth::Date(2001, 12, 31)),
        ] {
            let parsed = DateOfBirth::parse(text).unwrap();
            assert_eq!(parsed, expected);
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn rejects_what_the_pattern_rejects() {
        for text in [
            "1899",
            "2100-01-01",
            "64",
            "1964-1",
            "1964-01-01-01",
            "1964-01-01T00:00",
            "abcd",
        ] {
            assert!(DateOfBirth::parse(text).is_err(), "{text} accepted");
        }
    }

    #[test]
    fn calendar_check() {
        assert!(DateOfBirth::Date(2000, 2, 29).is_calendar_date());
        assert!(!DateOfBirth::Date(2001, 2, 29).is_calendar_date());
        assert!(!DateOfBirth::YearMonth(1963, 0).is_calendar_date());
    }
}
