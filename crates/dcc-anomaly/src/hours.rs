//! Opening hours: when a pharmacy is expected to issue, in Europe/Berlin wall-clock time.
//!
//! A week of time ranges per pharmacy (the default is Monday to Saturday 08:00–20:00, the
//! longest hours most pharmacies keep), closed on the nationwide public holidays unless
//! configured otherwise, and a grace period around every range so that the last customer of
//! the day does not look like an intruder. The Munich insider of 2021 issued between 22:00
//! and 01:00 and on Sundays (german-context.md §2.2): far outside any grace.
//!
//! Two views of the same hours: [`OpeningHours::closed_reason`] says why one instant is
//! outside them, and [`OpeningHours::closed_intervals`] lists the closed spans of a window as
//! instants, so that a database can count the certificates issued in them.

use dcc_calendar::berlin;
use dcc_calendar::holidays::{Holiday, holiday_on};
use serde::{Deserialize, Serialize};
use time::{Date, PrimitiveDateTime, Time, Weekday};

/// Local wall-clock minutes `start..end` within one day; written `HH:MM-HH:MM`, the end may be
/// `24:00`. Ranges across midnight are written as two ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeRange {
    start: u32,
    end: u32,
}

/// Why a time range could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeRangeError {
    /// Not `HH:MM-HH:MM` with the end after the start and at most `24:00`.
    #[error("{0:?} is not a time range HH:MM-HH:MM with the end after the start (at most 24:00)")]
    Invalid(String),
}

impl TimeRange {
    /// The range from `start` to `end` minutes after local midnight.
    pub fn new(start: u32, end: u32) -> Option<Self> {
        (start < end && end <= MINUTES_PER_DAY).then_some(Self { start, end })
    }

    /// Minutes after midnight where the range starts.
    pub fn start(self) -> u32 {
        self.start
    }

    /// Minutes after midnight where the range ends (exclusive).
    pub fn end(self) -> u32 {
        self.end
    }
}

impl TryFrom<String> for TimeRange {
    type Error = TimeRangeError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let invalid = || TimeRangeError::Invalid(text.clone());
        let (start, end) = text.trim().split_once('-').ok_or_else(invalid)?;
        let start = minutes(start).ok_or_else(invalid)?;
        let end = minutes(end).ok_or_else(invalid)?;
        Self::new(start, end).ok_or_else(invalid)
    }
}

impl From<TimeRange> for String {
    fn from(range: TimeRange) -> Self {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            range.start / 60,
            range.start % 60,
            range.end / 60,
            range.end % 60
        )
    }
}

fn minutes(text: &str) -> Option<u32> {
    let (hours, minutes) = text.trim().split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u32 = hours.parse().ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    (minutes < 60 && (hours < 24 || (hours == 24 && minutes == 0))).then_some(hours * 60 + minutes)
}

/// A pharmacy's week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// Monday's ranges.
    #[serde(default)]
    pub monday: Vec<TimeRange>,
    /// Tuesday's ranges.
    #[serde(default)]
    pub tuesday: Vec<TimeRange>,
    /// Wednesday's ranges.
    #[serde(default)]
    pub wednesday: Vec<TimeRange>,
    /// Thursday's ranges.
    #[serde(default)]
    pub thursday: Vec<TimeRange>,
    /// Friday's ranges.
    #[serde(default)]
    pub friday: Vec<TimeRange>,
    /// Saturday's ranges.
    #[serde(default)]
    pub saturday: Vec<TimeRange>,
    /// Sunday's ranges (none by default).
    #[serde(default)]
    pub sunday: Vec<TimeRange>,
    /// Closed on the nationwide public holidays, whatever the weekday says.
    #[serde(default = "closed_on_holidays_default")]
    pub closed_on_holidays: bool,
}

fn closed_on_holidays_default() -> bool {
    true
}

impl Default for OpeningHours {
    /// Monday to Saturday 08:00–20:00, closed on Sundays and public holidays.
    fn default() -> Self {
        let day = vec![TimeRange {
            start: 8 * 60,
            end: 20 * 60,
        }];
        Self {
            monday: day.clone(),
            tuesday: day.clone(),
            wednesday: day.clone(),
            thursday: day.clone(),
            friday: day.clone(),
            saturday: day,
            sunday: Vec::new(),
            closed_on_holidays: true,
        }
    }
}

/// Why an instant lies outside the opening hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedReason {
    /// A Sunday without opening hours.
    Sunday,
    /// A nationwide public holiday.
    Holiday(Holiday),
    /// A weekday, before opening or after closing (or a day without hours).
    OutsideHours,
}

impl ClosedReason {
    /// The stable code, used in alert evidence.
    pub fn code(self) -> &'static str {
        match self {
            Self::Sunday => "sunday",
            Self::Holiday(_) => "holiday",
            Self::OutsideHours => "outside_hours",
        }
    }
}

impl OpeningHours {
    /// The ranges of a weekday.
    pub fn ranges(&self, weekday: Weekday) -> &[TimeRange] {
        match weekday {
            Weekday::Monday => &self.monday,
            Weekday::Tuesday => &self.tuesday,
            Weekday::Wednesday => &self.wednesday,
            Weekday::Thursday => &self.thursday,
            Weekday::Friday => &self.friday,
            Weekday::Saturday => &self.saturday,
            Weekday::Sunday => &self.sunday,
        }
    }

    /// The ranges in force on a local date (none on a holiday the pharmacy keeps).
    fn ranges_on(&self, date: Date) -> &[TimeRange] {
        if self.closed_on_holidays && holiday_on(date).is_some() {
            return &[];
        }
        self.ranges(date.weekday())
    }

    /// Why `unix` lies outside these hours widened by `grace_minutes` on both sides, or `None`
    /// when the pharmacy is open then.
    pub fn closed_reason(&self, unix: i64, grace_minutes: u32) -> Option<ClosedReason> {
        if self.is_open(unix, i64::from(grace_minutes) * 60) {
            return None;
        }
        let date = berlin::local_date(unix);
        if self.closed_on_holidays
            && let Some(holiday) = holiday_on(date)
        {
            return Some(ClosedReason::Holiday(holiday));
        }
        if date.weekday() == Weekday::Sunday && self.sunday.is_empty() {
            return Some(ClosedReason::Sunday);
        }
        Some(ClosedReason::OutsideHours)
    }

    /// Whether `unix` lies in a range (widened by `grace` seconds) of its local day or of the
    /// day on either side, compared in local wall-clock seconds. Checked for every certificate,
    /// so without building the spans; it agrees with [`Self::closed_intervals`] except inside
    /// the hour a summer-time switch skips or repeats.
    fn is_open(&self, unix: i64, grace: i64) -> bool {
        let local = berlin::local_datetime(unix);
        let date = local.date();
        let second = i64::from(local.hour()) * 3600
            + i64::from(local.minute()) * 60
            + i64::from(local.second());
        [
            (date.previous_day(), -DAY_SECONDS),
            (Some(date), 0),
            (date.next_day(), DAY_SECONDS),
        ]
        .into_iter()
        .filter_map(|(day, shift)| day.map(|day| (day, shift)))
        .any(|(day, shift)| {
            self.ranges_on(day).iter().any(|range| {
                let start = shift + i64::from(range.start) * 60 - grace;
                let end = shift + i64::from(range.end) * 60 + grace;
                (start..end).contains(&second)
            })
        })
    }

    /// The closed spans within the window `from < t <= until`, as half-open instants
    /// `[start, end)`, in order. Certificates issued in them are exactly those for which
    /// [`Self::closed_reason`] (with the same grace) is `Some`.
    pub fn closed_intervals(&self, from: i64, until: i64, grace_minutes: u32) -> Vec<(i64, i64)> {
        let (window_start, window_end) = (from.saturating_add(1), until.saturating_add(1));
        if window_start >= window_end {
            return Vec::new();
        }
        let grace = i64::from(grace_minutes) * 60;
        let open = self.open_intervals(
            berlin::local_date(window_start),
            berlin::local_date(until),
            grace,
        );
        let mut closed = Vec::new();
        let mut cursor = window_start;
        for (start, end) in open {
            if end <= cursor {
                continue;
            }
            if start >= window_end {
                break;
            }
            if start > cursor {
                closed.push((cursor, start));
            }
            cursor = cursor.max(end);
        }
        if cursor < window_end {
            closed.push((cursor, window_end));
        }
        closed
    }

    /// The open spans (widened by `grace` seconds) of the local days `first ..= last` and of
    /// the day on either side (a widened range may reach across midnight), as sorted, merged,
    /// half-open instants.
    fn open_intervals(&self, first: Date, last: Date, grace: i64) -> Vec<(i64, i64)> {
        let mut spans = Vec::new();
        let mut day = first.previous_day().unwrap_or(first);
        let end_day = last.next_day().unwrap_or(last);
        loop {
            for range in self.ranges_on(day) {
                let start = instant_of(day, i64::from(range.start) * 60 - grace);
                let end = instant_of(day, i64::from(range.end) * 60 + grace);
                if start < end {
                    spans.push((start, end));
                }
            }
            if day >= end_day {
                break;
            }
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        spans.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

/// The instant of the Europe/Berlin wall-clock time `seconds` after the local midnight of
/// `date` (negative or beyond a day reaches into the neighbouring days). In the hour that is
/// skipped in spring the winter offset is used; in the hour that repeats in autumn, the first.
fn instant_of(date: Date, seconds: i64) -> i64 {
    let naive = PrimitiveDateTime::new(date, Time::MIDNIGHT)
        .assume_utc()
        .unix_timestamp()
        .saturating_add(seconds);
    let summer = naive - SUMMER_OFFSET;
    if berlin::offset_seconds(summer) == SUMMER_OFFSET {
        return summer;
    }
    naive - WINTER_OFFSET
}

const MINUTES_PER_DAY: u32 = 24 * 60;
const DAY_SECONDS: i64 = 86_400;
const WINTER_OFFSET: i64 = 3600;
const SUMMER_OFFSET: i64 = 7200;

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn at(local: PrimitiveDateTime) -> i64 {
        // Test instants are given in local summer time (May 2021, CEST).
        local.assume_utc().unix_timestamp() - SUMMER_OFFSET
    }

    #[test]
    fn ranges_parse_and_print() {
        let range = TimeRange::try_from("08:30-18:00".to_owned()).unwrap();
        assert_eq!((range.start(), range.end()), (510, 1080));
        assert_eq!(String::from(range), "08:30-18:00");
        assert!(TimeRange::try_from("00:00-24:00".to_owned()).is_ok());
        for bad in [
            "18:00-08:00",
            "8:00-18:00",
            "08:00",
            "08:60-09:00",
            "24:30-25:00",
            "",
        ] {
            assert!(TimeRange::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_week_is_monday_to_saturday_eight_to_eight() {
        let hours = OpeningHours::default();
        // Wednesday 12 May 2021.
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-12 12:00)), 0),
            None
        );
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-12 20:00)), 0),
            Some(ClosedReason::OutsideHours)
        );
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-12 20:29)), 30),
            None
        );
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-12 20:30)), 30),
            Some(ClosedReason::OutsideHours)
        );
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-12 07:31)), 30),
            None
        );
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-12 23:00)), 30),
            Some(ClosedReason::OutsideHours)
        );
        // Sunday 16 May, Ascension Thursday 13 May.
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-16 12:00)), 30),
            Some(ClosedReason::Sunday)
        );
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-13 12:00)), 30),
            Some(ClosedReason::Holiday(Holiday::Ascension))
        );
    }

    #[test]
    fn a_pharmacy_open_on_holidays_is_judged_by_its_weekday() {
        let hours = OpeningHours {
            closed_on_holidays: false,
            sunday: vec![TimeRange::new(10 * 60, 18 * 60).unwrap()],
            ..OpeningHours::default()
        };
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-13 12:00)), 0),
            None
        );
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-16 12:00)), 0),
            None
        );
        assert_eq!(
            hours.closed_reason(at(datetime!(2021-05-16 19:00)), 0),
            Some(ClosedReason::OutsideHours)
        );
    }

    #[test]
    fn closed_intervals_agree_with_closed_reason() {
        let hours = OpeningHours::default();
        // A week around a holiday, in winter and across the October switch.
        for (from, until) in [
            (
                at(datetime!(2021-05-10 00:00)),
                at(datetime!(2021-05-17 00:00)),
            ),
            (
                datetime!(2021-10-29 12:00).assume_utc().unix_timestamp(),
                datetime!(2021-11-02 12:00).assume_utc().unix_timestamp(),
            ),
        ] {
            let closed = hours.closed_intervals(from, until, 30);
            let mut t = from + 1;
            while t <= until {
                let in_closed = closed.iter().any(|&(s, e)| (s..e).contains(&t));
                assert_eq!(
                    in_closed,
                    hours.closed_reason(t, 30).is_some(),
                    "{}",
                    berlin::local_datetime(t)
                );
                t += 293;
            }
        }
    }

    #[test]
    fn one_night_is_one_closed_span() {
        let hours = OpeningHours::default();
        let from = at(datetime!(2021-05-11 21:00));
        let until = at(datetime!(2021-05-12 06:00));
        assert_eq!(
            hours.closed_intervals(from, until, 30),
            vec![(from + 1, until + 1)]
        );
        let until = at(datetime!(2021-05-12 09:00));
        assert_eq!(
            hours.closed_intervals(from, until, 30),
            vec![(from + 1, at(datetime!(2021-05-12 07:30)))]
        );
    }
}
