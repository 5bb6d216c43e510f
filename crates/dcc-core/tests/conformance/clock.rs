//! The validation clocks of the vectors come in many shapes (dcc-spec.md §8.5 item 1):
//! no zone (UTC), `Z`, `+hh:mm`, `+hhmm`, and fractions of 3 to 9 digits.

/// Parses a vector's date-time into seconds since 1970, or `None`.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once(['T', ' '])?;
    let mut date_parts = date.split('-');
    let year: i32 = date_parts.next()?.parse().ok()?;
    let month: u8 = date_parts.next()?.parse().ok()?;
    let day: u8 = date_parts.next()?.parse().ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;

    // Split off the zone: `Z`, or the last `+`/`-`.
    let (clock, offset_seconds) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else if let Some(index) = time.rfind(['+', '-']) {
        let (clock, zone) = time.split_at(index);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
        let (hours, minutes) = match digits.len() {
            1 | 2 => (digits.parse::<i64>().ok()?, 0),
            3 | 4 => {
                let split = digits.len() - 2;
                (
                    digits[..split].parse::<i64>().ok()?,
                    digits[split..].parse::<i64>().ok()?,
                )
            }
            _ => return None,
        };
        (clock, sign * (hours * 3600 + minutes * 60))
    } else {
        (time, 0)
    };
    let clock = clock.split('.').next()?;
    let mut clock_parts = clock.split(':');
    let hour: u8 = clock_parts.next()?.parse().ok()?;
    let minute: u8 = clock_parts.next()?.parse().ok()?;
    let second: u8 = clock_parts.next().map_or(Some(0), |s| s.parse().ok())?;
    let time = time::Time::from_hms(hour, minute, second).ok()?;
    Some(date.with_time(time).assume_utc().unix_timestamp() - offset_seconds)
}

#[test]
fn clock_shapes() {
    let base = 1_622_570_400; // 2021-06-01T18:00:00Z
    for text in [
        "2021-06-01T18:00:00Z",
        "2021-06-01T20:00:00+02:00",
        "2021-06-01T20:00:00+0200",
        "2021-06-01T18:00:00",
        "2021-06-01T18:00:00.123456789Z",
        "2021-06-01T16:00:00.1234567-02:00",
    ] {
        assert_eq!(parse(text), Some(base), "{text}");
    }
    assert_eq!(parse("2021-06-01"), None);
}
