//! A billing month: a calendar month in Europe/Berlin.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

use crate::BillingError;
use dcc_calendar::berlin;

/// A calendar month, written `YYYY-MM`; it starts and ends at midnight Europe/Berlin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BillingMonth {
    year: i32,
    month: Month,
}

impl BillingMonth {
    /// Parses `YYYY-MM` (years 2000–9999).
    pub fn parse(text: &str) -> Result<Self, BillingError> {
        let (year, month) = text.split_once('-').ok_or(BillingError::InvalidMonth)?;
        if year.len() != 4
            || month.len() != 2
            || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit())
        {
            return Err(BillingError::InvalidMonth);
        }
        let year: i32 = year.parse().map_err(|_| BillingError::InvalidMonth)?;
        let month: u8 = month.parse().map_err(|_| BillingError::InvalidMonth)?;
        let month = Month::try_from(month).map_err(|_| BillingError::InvalidMonth)?;
        if year < 2000 {
            return Err(BillingError::InvalidMonth);
        }
        Ok(Self { year, month })
    }

    /// The month that contains the Europe/Berlin date of `unix`.
    pub fn containing(unix: i64) -> Self {
        let date = berlin::local_date(unix);
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The following month.
    pub fn next(self) -> Self {
        match self.month {
            Month::December => Self {
                year: self.year + 1,
                month: Month::January,
            },
            month => Self {
                year: self.year,
                month: month.next(),
            },
        }
    }

    /// The preceding month.
    pub fn previous(self) -> Self {
        match self.month {
            Month::January => Self {
                year: self.year - 1,
                month: Month::December,
            },
            month => Self {
                year: self.year,
                month: month.previous(),
            },
        }
    }

    /// The first day.
    pub fn first_day(self) -> Date {
        Date::from_calendar_date(self.year, self.month, 1).unwrap_or(Date::MIN)
    }

    /// The last day (*Abgabemonat Ende* on the paper form).
    pub fn last_day(self) -> Date {
        self.next().first_day().previous_day().unwrap_or(Date::MIN)
    }

    /// `[start, end)` in unix seconds: local midnight of the 1st to local midnight of the 1st
    /// of the next month.
    pub fn bounds(self) -> (i64, i64) {
        (
            berlin::start_of_day(self.first_day()),
            berlin::start_of_day(self.next().first_day()),
        )
    }

    /// Whether the month has ended at `now` plus `grace_seconds` (an instant exactly at the
    /// end counts as ended).
    pub fn has_ended(self, now: i64, grace_seconds: i64) -> bool {
        now >= self.bounds().1.saturating_add(grace_seconds)
    }
}

impl fmt::Display for BillingMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, u8::from(self.month))
    }
}

impl FromStr for BillingMonth {
    type Err = BillingError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for BillingMonth {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BillingMonth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn parses_and_prints() {
        let month = BillingMonth::parse("2021-07").unwrap();
        assert_eq!(month.to_string(), "2021-07");
        assert_eq!(month.next().to_string(), "2021-08");
        assert_eq!(
            BillingMonth::parse("2021-12").unwrap().next().to_string(),
            "2022-01"
        );
        assert_eq!(
            BillingMonth::parse("2022-01")
                .unwrap()
                .previous()
                .to_string(),
            "2021-12"
        );
        assert_eq!(month.last_day(), date!(2021 - 07 - 31));
    }

    #[test]
    fn refuses_malformed_months() {
        for text in [
            "2021-7", "2021-13", "2021-00", "21-07", "2021/07", "1999-01", "abcd-ef", "",
        ] {
            assert_eq!(
                BillingMonth::parse(text),
                Err(BillingError::InvalidMonth),
                "{text}"
            );
        }
    }

    #[test]
    fn bounds_are_berlin_midnights() {
        let (start, end) = BillingMonth::parse("2021-07").unwrap().bounds();
        assert_eq!(start, datetime!(2021-06-30 22:00 UTC).unix_timestamp());
        assert_eq!(end, datetime!(2021-07-31 22:00 UTC).unix_timestamp());
        // March 2021 starts in winter time and ends in summer time.
        let (start, end) = BillingMonth::parse("2021-03").unwrap().bounds();
        assert_eq!(start, datetime!(2021-02-28 23:00 UTC).unix_timestamp());
        assert_eq!(end, datetime!(2021-03-31 22:00 UTC).unix_timestamp());
    }

    #[test]
    fn containing_uses_the_local_date() {
        let last_second = datetime!(2021-07-31 21:59:59 UTC).unix_timestamp();
        assert_eq!(BillingMonth::containing(last_second).to_string(), "2021-07");
        assert_eq!(
            BillingMonth::containing(last_second + 1).to_string(),
            "2021-08"
        );
    }

    #[test]
    fn has_ended_after_the_grace_period() {
        let month = BillingMonth::parse("2021-07").unwrap();
        let end = month.bounds().1;
        assert!(!month.has_ended(end + 3599, 3600));
        assert!(month.has_ended(end + 3600, 3600));
    }
}
