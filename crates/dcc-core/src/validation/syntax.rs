//! Hand-written matchers for the schema's patterns and formats (spec §2.1–§2.5).
//!
//! JSON Schema patterns are ECMA-262 regular expressions, in which `\d` means `[0-9]` and `.`
//! matches any character except a line terminator; the matchers follow those semantics. Formats
//! follow RFC 3339 §5.6, which JSON Schema 2020-12 §7.3.1 names for `date` and `date-time`.

use serde_json::Number;

/// `^\d+.\d+.\d+$`, the `ver` pattern (§2.1; the unescaped `.` matches any character).
pub(super) const VERSION_PATTERN: &str = r"^\d+.\d+.\d+$";

/// `^[A-Z<]*$`, the pattern of `fnt` and `gnt` (§2.2).
pub(super) const STANDARDISED_NAME_PATTERN: &str = "^[A-Z<]*$";

/// `[A-Z]{1,10}`, the unanchored pattern of `co` (§2.3, §2.7).
pub(super) const COUNTRY_PATTERN: &str = "[A-Z]{1,10}";

/// Whether a JSON number is an integer in the sense of draft 2020-12 (no fractional part).
pub(super) fn is_integer(number: &Number) -> bool {
    number.is_i64()
        || number.is_u64()
        || number
            .as_f64()
            .is_some_and(|value| value.is_finite() && value.fract() == 0.0)
}

/// Whether `text` matches [`VERSION_PATTERN`].
pub(super) fn matches_version_pattern(text: &str) -> bool {
    // The pattern is `d+ X d+ Y d+` where the separators X and Y may be any character but a
    // line terminator, digits included. So at most two characters may be non-digits, and each
    // of them must be able to serve as a separator with non-empty digit runs around it.
    let characters: Vec<char> = text.chars().collect();
    let last = characters.len().saturating_sub(1);
    let mut others = characters
        .iter()
        .enumerate()
        .filter(|(_, character)| !character.is_ascii_digit());
    let first = others.next();
    let second = others.next();
    if others.next().is_some() || characters.len() < 5 {
        return false;
    }
    if [first, second]
        .iter()
        .flatten()
        .any(|(_, character)| is_line_terminator(**character))
    {
        return false;
    }
    match (first, second) {
        (None, _) => true,
        // A lone non-digit is either the first separator (more than two characters follow)
        // or the second one (more than two characters precede it, one follows).
        (Some((index, _)), None) => {
            (index >= 1 && index + 3 <= last) || (index >= 3 && index < last)
        }
        (Some((first, _)), Some((second, _))) => first >= 1 && second >= first + 2 && second < last,
    }
}

/// Whether `text` matches [`STANDARDISED_NAME_PATTERN`].
pub(super) fn matches_standardised_name(text: &str) -> bool {
    text.bytes()
        .all(|byte| byte.is_ascii_uppercase() || byte == b'<')
}

/// Whether `text` matches [`COUNTRY_PATTERN`], i.e. contains an ASCII capital letter.
pub(super) fn matches_country_pattern(text: &str) -> bool {
    text.bytes().any(|byte| byte.is_ascii_uppercase())
}

/// Whether `text` contains `(19|20)\d{2}-\d{2}-\d{2}` (the unanchored 1.0.x `dob` pattern).
pub(super) fn contains_full_date_shape(text: &str) -> bool {
    // The pattern is pure ASCII, so scanning bytes cannot match inside a multi-byte character.
    text.as_bytes()
        .windows(10)
        .any(|window| century_ok(window) && shape_ok(window, &[2, 3, 5, 6, 8, 9], &[4, 7]))
}

/// Whether `text` is `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a year 19xx or 20xx, the anchored
/// shape of `dob` since 1.1.0 (not checking that month or day exist).
pub(super) fn is_partial_date_shape(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape = match bytes.len() {
        4 => shape_ok(bytes, &[2, 3], &[]),
        7 => shape_ok(bytes, &[2, 3, 5, 6], &[4]),
        10 => shape_ok(bytes, &[2, 3, 5, 6, 8, 9], &[4, 7]),
        _ => false,
    };
    shape && century_ok(bytes)
}

/// Whether a `dob` of the partial-date shape names a month and day that exist; an empty or
/// year-only `dob` trivially does.
pub(super) fn is_existing_partial_date(text: &str) -> bool {
    match text.len() {
        7 => text
            .get(5..7)
            .and_then(|month| month.parse::<u8>().ok())
            .is_some_and(|month| (1..=12).contains(&month)),
        10 => is_full_date(text),
        _ => true,
    }
}

/// Whether `text` is an RFC 3339 `full-date` (`YYYY-MM-DD`, a day that exists).
pub(super) fn is_full_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || !shape_ok(bytes, &[0, 1, 2, 3, 5, 6, 8, 9], &[4, 7]) {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (
        number_at(bytes, 0, 4),
        number_at(bytes, 5, 2),
        number_at(bytes, 8, 2),
    ) else {
        return false;
    };
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => return false,
    };
    (1..=month_days).contains(&day)
}

/// Whether `text` is an RFC 3339 `date-time`: `full-date "T" partial-time time-offset`, with
/// `T`/`Z` in either case (RFC 3339 §5.6 note) and a leap second only at 23:59 UTC (§5.7).
pub(super) fn is_date_time(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(date), Some(separator), Some(time)) = (text.get(..10), bytes.get(10), text.get(11..))
    else {
        return false;
    };
    if !is_full_date(date) || !matches!(separator, b'T' | b't') {
        return false;
    }
    let time = time.as_bytes();
    if time.len() < 9 || !shape_ok(time, &[0, 1, 3, 4, 6, 7], &[]) {
        return false;
    }
    if time.get(2) != Some(&b':') || time.get(5) != Some(&b':') {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) = (
        number_at(time, 0, 2),
        number_at(time, 3, 2),
        number_at(time, 6, 2),
    ) else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = time.get(8..).unwrap_or_default();
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if digits == 0 {
            return false;
        }
        rest = fraction.get(digits..).unwrap_or_default();
    }
    // The offset in minutes east of UTC, to locate a leap second in UTC.
    let offset_minutes = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let offset = [*h1, *h2, b':', *m1, *m2];
            let (Some(offset_hour), Some(offset_minute)) =
                (number_at(&offset, 0, 2), number_at(&offset, 3, 2))
            else {
                return false;
            };
            if offset_hour > 23 || offset_minute > 59 {
                return false;
            }
            let minutes = i64::from(offset_hour * 60 + offset_minute);
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return false,
    };
    if second == 60 {
        let local = i64::from(hour * 60 + minute);
        let utc = (local - offset_minutes).rem_euclid(24 * 60);
        return utc == 23 * 60 + 59;
    }
    true
}

fn is_leap_year(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn is_line_terminator(character: char) -> bool {
    matches!(character, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// Whether the first two bytes are `19` or `20`.
fn century_ok(bytes: &[u8]) -> bool {
    matches!(bytes.get(..2), Some(b"19" | b"20"))
}

/// Whether the bytes at `digits` are ASCII digits and those at `dashes` are `-`.
fn shape_ok(bytes: &[u8], digits: &[usize], dashes: &[usize]) -> bool {
    digits
        .iter()
        .all(|&index| bytes.get(index).is_some_and(u8::is_ascii_digit))
        && dashes.iter().all(|&index| bytes.get(index) == Some(&b'-'))
}

/// The decimal number in `bytes[start..start + length]`, if those are all ASCII digits.
fn number_at(bytes: &[u8], start: usize, length: usize) -> Option<u32> {
    let digits = bytes.get(start..start.checked_add(length)?)?;
    digits.iter().try_fold(0_u32, |value, byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_pattern_lets_the_dot_match_anything() {
        assert!(matches_version_pattern("1.3.0"));
        assert!(matches_version_pattern("10.20.30"));
        assert!(matches_version_pattern("1x3y0"));
        assert!(matches_version_pattern("12345"));
        assert!(!matches_version_pattern("1.3"));
        assert!(!matches_version_pattern("1.3.0-rc"));
        assert!(!matches_version_pattern("1\n3.0"));
        assert!(!matches_version_pattern("a.b.c"));
    }

    #[test]
    fn standardised_name_pattern() {
        assert!(matches_standardised_name("DCERVENKOVA<PANKLOVA"));
        assert!(matches_standardised_name(""));
        assert!(!matches_standardised_name("Smith"));
        assert!(!matches_standardised_name("SMITH1"));
    }

    #[test]
    fn country_pattern_is_unanchored() {
        assert!(matches_country_pattern("NL"));
        assert!(matches_country_pattern("xXx"));
        assert!(!matches_country_pattern("nl"));
        assert!(!matches_country_pattern(""));
    }

    #[test]
    fn full_date_checks_the_calendar() {
        assert!(is_full_date("2020-02-29"));
        assert!(is_full_date("2000-02-29"));
        assert!(!is_full_date("1900-02-29"));
        assert!(!is_full_date("2021-04-31"));
        assert!(!is_full_date("2021-00-10"));
        assert!(!is_full_date("2021-01-00"));
        assert!(!is_full_date("2021-1-01"));
        assert!(!is_full_date("2021-05-10T00:00:00"));
    }

    #[test]
    fn date_time_needs_an_offset() {
        assert!(is_date_time("2021-05-30T10:12:22Z"));
        assert!(is_date_time("2021-05-30t10:12:22.123+02:00"));
        assert!(is_date_time("2021-12-31T23:59:60Z"));
        assert!(is_date_time("2022-01-01T00:59:60+01:00"));
        assert!(!is_date_time("2021-05-30T10:12:60Z"));
        assert!(!is_date_time("2021-05-30T10:12:22"));
        assert!(!is_date_time("2021-05-30T10:12:22+0200"));
        assert!(!is_date_time("2021-05-30 10:12:22Z"));
        assert!(!is_date_time("2021-05-30T10:12Z"));
        assert!(!is_date_time("2021-05-30T10:12:22.Z"));
        assert!(!is_date_time("2021-05-30T24:00:00Z"));
    }

    #[test]
    fn partial_dates() {
        assert!(is_partial_date_shape("1963-00"));
        assert!(!is_existing_partial_date("1963-00"));
        assert!(is_existing_partial_date("1963-12"));
        assert!(!is_partial_date_shape("1899"));
        assert!(contains_full_date_shape("x2021-01-01x"));
    }

    #[test]
    fn integers_include_whole_floats() {
        assert!(is_integer(&Number::from(3)));
        assert!(Number::from_f64(1.0).is_some_and(|number| is_integer(&number)));
        assert!(!Number::from_f64(1.5).is_some_and(|number| is_integer(&number)));
    }
}
