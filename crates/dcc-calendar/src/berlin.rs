//! Local time in Europe/Berlin without a time-zone database.
//!
//! Germany has followed the EU summer-time rule since 1996 (Directive 2000/84/EC and its
//! predecessors): CEST (UTC+2) from the last Sunday of March, 01:00 UTC, to the last Sunday of
//! October, 01:00 UTC; CET (UTC+1) otherwise. The service only sees instants from 2021 on, so
//! the rule is exact for every date it handles. Fee tiers and billing months are fixed by the
//! **local** date (the 2021 ordinance speaks of calendar days in Germany), and a pharmacy's
//! opening hours are local wall-clock times.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, Weekday};

/// The UTC offset of Europe/Berlin at `unix` (seconds since 1970): 3600 or 7200.
pub fn offset_seconds(unix: i64) -> i64 {
    let Ok(instant) = OffsetDateTime::from_unix_timestamp(unix) else {
        return CET;
    };
    let year = instant.year();
    match (summer_start(year), summer_end(year)) {
        (Some(start), Some(end)) if (start..end).contains(&unix) => CEST,
        _ => CET,
    }
}

/// The Europe/Berlin calendar date of `unix`.
pub fn local_date(unix: i64) -> Date {
    let local = unix.saturating_add(offset_seconds(unix));
    OffsetDateTime::from_unix_timestamp(local)
        .map(OffsetDateTime::date)
        .unwrap_or(Date::MIN)
}

/// The Europe/Berlin wall-clock date and time of `unix`.
pub fn local_datetime(unix: i64) -> PrimitiveDateTime {
    let local = unix.saturating_add(offset_seconds(unix));
    OffsetDateTime::from_unix_timestamp(local)
        .map(|instant| PrimitiveDateTime::new(instant.date(), instant.time()))
        .unwrap_or(PrimitiveDateTime::MIN)
}

/// The instant (unix seconds) of local midnight at the start of `date` in Europe/Berlin.
///
/// Midnight never falls inside a switch (they happen at 02:00 and 03:00 local), so exactly one
/// of the two offsets is consistent.
pub fn start_of_day(date: Date) -> i64 {
    let naive = PrimitiveDateTime::new(date, Time::MIDNIGHT)
        .assume_utc()
        .unix_timestamp();
    let as_winter = naive - CET;
    if offset_seconds(as_winter) == CET {
        as_winter
    } else {
        naive - CEST
    }
}

/// Last Sunday of March, 01:00 UTC.
fn summer_start(year: i32) -> Option<i64> {
    last_sunday_0100_utc(year, Month::March)
}

/// Last Sunday of October, 01:00 UTC.
fn summer_end(year: i32) -> Option<i64> {
    last_sunday_0100_utc(year, Month::October)
}

fn last_sunday_0100_utc(year: i32, month: Month) -> Option<i64> {
    let mut day = Date::from_calendar_date(year, month, 31).ok()?;
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day()?;
    }
    Some(
        PrimitiveDateTime::new(day, Time::from_hms(1, 0, 0).ok()?)
            .assume_utc()
            .unix_timestamp(),
    )
}

const CET: i64 = 3600;
const CEST: i64 = 7200;

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    fn unix(at: OffsetDateTime) -> i64 {
        at.unix_timestamp()
    }

    #[test]
    fn switches_to_summer_time_on_the_last_sunday_of_march_2021() {
        let switch = unix(datetime!(2021-03-28 01:00 UTC));
        assert_eq!(offset_seconds(switch - 1), 3600);
        assert_eq!(offset_seconds(switch), 7200);
    }

    #[test]
    fn switches_back_on_the_last_sunday_of_october_2021() {
        let switch = unix(datetime!(2021-10-31 01:00 UTC));
        assert_eq!(offset_seconds(switch - 1), 7200);
        assert_eq!(offset_seconds(switch), 3600);
    }

    #[test]
    fn switch_dates_of_other_years() {
        assert_eq!(
            offset_seconds(unix(datetime!(2022-03-27 00:59:59 UTC))),
            3600
        );
        assert_eq!(offset_seconds(unix(datetime!(2022-03-27 01:00 UTC))), 7200);
        assert_eq!(
            offset_seconds(unix(datetime!(2022-10-30 00:59:59 UTC))),
            7200
        );
        assert_eq!(offset_seconds(unix(datetime!(2022-10-30 01:00 UTC))), 3600);
        assert_eq!(offset_seconds(unix(datetime!(2020-03-29 01:00 UTC))), 7200);
    }

    #[test]
    fn local_date_follows_berlin_midnight() {
        // 7 July 2021 23:59:59 CEST is 21:59:59 UTC; one second later it is 8 July in Berlin.
        assert_eq!(
            local_date(unix(datetime!(2021-07-07 21:59:59 UTC))),
            date!(2021 - 07 - 07)
        );
        assert_eq!(
            local_date(unix(datetime!(2021-07-07 22:00:00 UTC))),
            date!(2021 - 07 - 08)
        );
        // In winter the offset is one hour.
        assert_eq!(
            local_date(unix(datetime!(2021-12-31 22:59:59 UTC))),
            date!(2021 - 12 - 31)
        );
        assert_eq!(
            local_date(unix(datetime!(2021-12-31 23:00:00 UTC))),
            date!(2022 - 01 - 01)
        );
    }

    #[test]
    fn local_datetime_is_the_wall_clock() {
        assert_eq!(
            local_datetime(unix(datetime!(2021-07-07 21:30:15 UTC))),
            datetime!(2021-07-07 23:30:15)
        );
        assert_eq!(
            local_datetime(unix(datetime!(2021-12-31 23:00:00 UTC))),
            datetime!(2022-01-01 00:00:00)
        );
    }

    #[test]
    fn start_of_day_in_summer_and_winter() {
        assert_eq!(
            start_of_day(date!(2021 - 07 - 08)),
            unix(datetime!(2021-07-07 22:00 UTC))
        );
        assert_eq!(
            start_of_day(date!(2021 - 01 - 01)),
            unix(datetime!(2020-12-31 23:00 UTC))
        );
        // The switch days themselves start at midnight in the old offset.
        assert_eq!(
            start_of_day(date!(2021 - 03 - 28)),
            unix(datetime!(2021-03-27 23:00 UTC))
        );
        assert_eq!(
            start_of_day(date!(2021 - 10 - 31)),
            unix(datetime!(2021-10-30 22:00 UTC))
        );
        assert_eq!(
            start_of_day(date!(2021 - 11 - 01)),
            unix(datetime!(2021-10-31 23:00 UTC))
        );
    }
}
