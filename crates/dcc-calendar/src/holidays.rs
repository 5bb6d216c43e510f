//! The public holidays observed in every German state.
//!
//! Public holidays are state law; nine of them are kept in all sixteen states: New Year's Day,
//! Good Friday, Easter Monday, Labour Day, Ascension Day, Whit Monday, German Unity Day and the
//! two days of Christmas. The movable ones follow Easter Sunday (Good Friday −2 days, Easter
//! Monday +1, Ascension +39, Whit Monday +50). State holidays (Epiphany, Corpus Christi,
//! Reformation Day, …) are left to per-pharmacy configuration, and so is the one-off nationwide
//! Reformation Day of 2017, which lies before any certificate this service sees.
//!
//! Pharmacies close on these days except for the emergency duty (Notdienst), so issuing on them
//! is as unusual as issuing on a Sunday.

use time::{Date, Duration, Month};

/// A nationwide public holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holiday {
    /// 1 January (Neujahr).
    NewYear,
    /// Two days before Easter Sunday (Karfreitag).
    GoodFriday,
    /// The day after Easter Sunday (Ostermontag).
    EasterMonday,
    /// 1 May (Tag der Arbeit).
    LabourDay,
    /// 39 days after Easter Sunday, a Thursday (Christi Himmelfahrt).
    Ascension,
    /// 50 days after Easter Sunday (Pfingstmontag).
    WhitMonday,
    /// 3 October (Tag der Deutschen Einheit).
    GermanUnity,
    /// 25 December (1. Weihnachtstag).
    ChristmasDay,
    /// 26 December (2. Weihnachtstag).
    SecondChristmasDay,
}

impl Holiday {
    /// A stable code, used in alert evidence.
    pub fn code(self) -> &'static str {
        match self {
            Self::NewYear => "new_year",
            Self::GoodFriday => "good_friday",
            Self::EasterMonday => "easter_monday",
            Self::LabourDay => "labour_day",
            Self::Ascension => "ascension",
            Self::WhitMonday => "whit_monday",
            Self::GermanUnity => "german_unity",
            Self::ChristmasDay => "christmas_day",
            Self::SecondChristmasDay => "second_christmas_day",
        }
    }
}

/// Easter Sunday of `year` in the Gregorian calendar, or `None` outside the years `time`
/// represents.
///
/// The anonymous Gregorian computus (Meeus/Jones/Butcher): the Paschal full moon is found from
/// the year's position in the 19-year Metonic cycle with the century's solar and lunar
/// corrections, and Easter is the Sunday after it.
pub fn easter_sunday(year: i32) -> Option<Date> {
    let golden = year.rem_euclid(19);
    let century = year.div_euclid(100);
    let year_of_century = year.rem_euclid(100);
    let leap_centuries = century / 4;
    let century_rest = century % 4;
    let moon_correction = (century + 8) / 25;
    let solar_correction = (century - moon_correction + 1) / 3;
    let epact = (19 * golden + century - leap_centuries - solar_correction + 15).rem_euclid(30);
    let leap_years = year_of_century / 4;
    let year_rest = year_of_century % 4;
    let weekday_shift = (32 + 2 * century_rest + 2 * leap_years - epact - year_rest).rem_euclid(7);
    let late_correction = (golden + 11 * epact + 22 * weekday_shift) / 451;
    let position = epact + weekday_shift - 7 * late_correction + 114;
    let month = Month::try_from(u8::try_from(position / 31).ok()?).ok()?;
    let day = u8::try_from(position % 31 + 1).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// The nationwide public holidays of `year`, in calendar order.
pub fn holidays(year: i32) -> Vec<(Date, Holiday)> {
    let fixed = |month, day, holiday| {
        Date::from_calendar_date(year, month, day)
            .ok()
            .map(|date| (date, holiday))
    };
    let after_easter = |days: i64, holiday| {
        easter_sunday(year)
            .and_then(|easter| easter.checked_add(Duration::days(days)))
            .map(|date| (date, holiday))
    };
    let mut days: Vec<(Date, Holiday)> = [
        fixed(Month::January, 1, Holiday::NewYear),
        after_easter(-2, Holiday::GoodFriday),
        after_easter(1, Holiday::EasterMonday),
        fixed(Month::May, 1, Holiday::LabourDay),
        after_easter(39, Holiday::Ascension),
        after_easter(50, Holiday::WhitMonday),
        fixed(Month::October, 3, Holiday::GermanUnity),
        fixed(Month::December, 25, Holiday::ChristmasDay),
        fixed(Month::December, 26, Holiday::SecondChristmasDay),
    ]
    .into_iter()
    .flatten()
    .collect();
    days.sort();
    days
}

/// The nationwide public holiday on `date`, if it is one.
pub fn holiday_on(date: Date) -> Option<Holiday> {
    // Called for every certificate by anomaly detection: decide from the date without
    // building the year's list.
    let fixed = match (date.month(), date.day()) {
        (Month::January, 1) => Some(Holiday::NewYear),
        (Month::May, 1) => Some(Holiday::LabourDay),
        (Month::October, 3) => Some(Holiday::GermanUnity),
        (Month::December, 25) => Some(Holiday::ChristmasDay),
        (Month::December, 26) => Some(Holiday::SecondChristmasDay),
        _ => None,
    };
    // Easter-based holidays fall between 20 March and 14 June.
    if fixed.is_some()
        || !matches!(
            date.month(),
            Month::March | Month::April | Month::May | Month::June
        )
    {
        return fixed;
    }
    let easter = easter_sunday(date.year())?;
    match (date - easter).whole_days() {
        -2 => Some(Holiday::GoodFriday),
        1 => Some(Holiday::EasterMonday),
        39 => Some(Holiday::Ascension),
        50 => Some(Holiday::WhitMonday),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use time::Weekday;
    use time::macros::date;

    use super::*;

    #[test]
    fn easter_sundays_of_known_years() {
        // Including both ends of the possible range (22 March, 25 April).
        for (year, easter) in [
            (2000, date!(2000 - 04 - 23)),
            (2019, date!(2019 - 04 - 21)),
            (2021, date!(2021 - 04 - 04)),
            (2022, date!(2022 - 04 - 17)),
            (2023, date!(2023 - 04 - 09)),
            (2024, date!(2024 - 03 - 31)),
            (2025, date!(2025 - 04 - 20)),
            (2038, date!(2038 - 04 - 25)),
            (2285, date!(2285 - 03 - 22)),
        ] {
            assert_eq!(easter_sunday(year), Some(easter), "{year}");
        }
    }

    #[test]
    fn every_easter_is_a_sunday_between_22_march_and_25_april() {
        for year in 1900..=2200 {
            let easter = easter_sunday(year).unwrap();
            assert_eq!(easter.weekday(), Weekday::Sunday, "{year}");
            assert!(
                easter >= Date::from_calendar_date(year, Month::March, 22).unwrap()
                    && easter <= Date::from_calendar_date(year, Month::April, 25).unwrap(),
                "{easter}"
            );
        }
    }

    #[test]
    fn the_nine_holidays_of_2021() {
        assert_eq!(
            holidays(2021),
            vec![
                (date!(2021 - 01 - 01), Holiday::NewYear),
                (date!(2021 - 04 - 02), Holiday::GoodFriday),
                (date!(2021 - 04 - 05), Holiday::EasterMonday),
                (date!(2021 - 05 - 01), Holiday::LabourDay),
                (date!(2021 - 05 - 13), Holiday::Ascension),
                (date!(2021 - 05 - 24), Holiday::WhitMonday),
                (date!(2021 - 10 - 03), Holiday::GermanUnity),
                (date!(2021 - 12 - 25), Holiday::ChristmasDay),
                (date!(2021 - 12 - 26), Holiday::SecondChristmasDay),
            ]
        );
    }

    #[test]
    fn holiday_on_agrees_with_the_yearly_list() {
        for year in 2020..=2040 {
            let listed = holidays(year);
            let mut day = Date::from_calendar_date(year, Month::January, 1).unwrap();
            while day.year() == year {
                let expected = listed.iter().find(|(d, _)| *d == day).map(|(_, h)| *h);
                assert_eq!(holiday_on(day), expected, "{day}");
                day = day.next_day().unwrap();
            }
        }
    }

    #[test]
    fn holiday_on_a_date() {
        assert_eq!(holiday_on(date!(2022 - 05 - 26)), Some(Holiday::Ascension));
        assert_eq!(holiday_on(date!(2022 - 06 - 06)), Some(Holiday::WhitMonday));
        assert_eq!(holiday_on(date!(2022 - 06 - 07)), None);
        // Corpus Christi is a state holiday only.
        assert_eq!(holiday_on(date!(2021 - 06 - 03)), None);
        assert_eq!(Holiday::GoodFriday.code(), "good_friday");
    }
}
