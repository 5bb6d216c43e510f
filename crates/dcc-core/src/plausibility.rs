//! Plausibility of what a pharmacy is about to certify: facts that are valid by the schema but
//! unlikely to be true, shown to the operator as warnings before issuing and used by anomaly
//! detection as evidence. Nothing here refuses a certificate: a clinical-trial participant may
//! have been vaccinated before a product's authorisation, and a late recovery certificate may be
//! wanted on purpose.
//!
//! Authorisation dates are the days the European Commission granted the (conditional) marketing
//! authorisation of the centrally authorised products in the `vaccine-medicinal-product` value
//! set, from the Union Register of medicinal products. Products without an EU authorisation have
//! no date here and are not checked against one.

use time::{Date, Month};

/// Recovery certificates are valid from 28 days after the first positive test.
pub const RECOVERY_EARLIEST_DAYS: i64 = 28;

/// … and at most until 180 days after it.
pub const RECOVERY_LATEST_DAYS: i64 = 180;

/// A reason to look twice before issuing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlausibilityWarning {
    /// The dose number is above the number of doses in the series (`dn` > `sd`).
    DoseAboveSeries {
        /// `dn`.
        dose_number: u32,
        /// `sd`.
        total_doses: u32,
    },
    /// The vaccination date lies after today.
    VaccinationInFuture,
    /// The vaccination date lies before the product's EU authorisation.
    VaccinationBeforeAuthorisation {
        /// The day of the authorisation.
        authorised: Date,
    },
    /// The test was taken after today.
    TestInFuture,
    /// The positive test lies after today.
    PositiveTestInFuture,
    /// Today is less than 28 days after the positive test: the certificate is not valid yet.
    RecoveryTooEarly {
        /// Days since the positive test.
        days: i64,
    },
    /// Today is more than 180 days after the positive test: the certificate would be expired.
    RecoveryTooLate {
        /// Days since the positive test.
        days: i64,
    },
}

impl PlausibilityWarning {
    /// The stable code, used for translations and in alerts.
    pub fn code(self) -> &'static str {
        match self {
            Self::DoseAboveSeries { .. } => "dose_above_series",
            Self::VaccinationInFuture => "vaccination_in_future",
            Self::VaccinationBeforeAuthorisation { .. } => "vaccination_before_authorisation",
            Self::TestInFuture => "test_in_future",
            Self::PositiveTestInFuture => "positive_test_in_future",
            Self::RecoveryTooEarly { .. } => "recovery_too_early",
            Self::RecoveryTooLate { .. } => "recovery_too_late",
        }
    }
}

/// The day the EU authorised the product `mp`, when it is centrally authorised.
pub fn authorisation_date(product: &str) -> Option<Date> {
    let (year, month, day) = match product {
        "EU/1/20/1528" => (2020, Month::December, 21), // Comirnaty
        "EU/1/20/1507" => (2021, Month::January, 6),   // Spikevax
        "EU/1/21/1529" => (2021, Month::January, 29),  // Vaxzevria
        "EU/1/20/1525" => (2021, Month::March, 11),    // Jcovden
        "EU/1/21/1618" => (2021, Month::December, 20), // Nuvaxovid
        "EU/1/21/1624" => (2022, Month::June, 24),     // COVID-19 Vaccine Valneva
        "EU/1/21/1580" => (2022, Month::November, 10), // VidPrevtyn Beta
        "EU/1/22/1709" => (2023, Month::March, 30),    // Bimervax
        _ => return None,
    };
    Date::from_calendar_date(year, month, day).ok()
}

/// Warnings for a vaccination of `product`, dose `dose_number` of `total_doses`, on `date`,
/// issued `today`.
pub fn vaccination(
    product: &str,
    dose_number: u32,
    total_doses: u32,
    date: Date,
    today: Date,
) -> Vec<PlausibilityWarning> {
    let mut warnings = Vec::new();
    if dose_number > total_doses {
        warnings.push(PlausibilityWarning::DoseAboveSeries {
            dose_number,
            total_doses,
        });
    }
    if date > today {
        warnings.push(PlausibilityWarning::VaccinationInFuture);
    }
    if let Some(authorised) = authorisation_date(product)
        && date < authorised
    {
        warnings.push(PlausibilityWarning::VaccinationBeforeAuthorisation { authorised });
    }
    warnings
}

/// Warnings for a test taken on `sampled` (the day of `sc`), issued `today`.
pub fn test(sampled: Date, today: Date) -> Vec<PlausibilityWarning> {
    if sampled > today {
        vec![PlausibilityWarning::TestInFuture]
    } else {
        Vec::new()
    }
}

/// Warnings for a recovery after a first positive test on `first_positive`, issued `today`.
pub fn recovery(first_positive: Date, today: Date) -> Vec<PlausibilityWarning> {
    let days = (today - first_positive).whole_days();
    if days < 0 {
        vec![PlausibilityWarning::PositiveTestInFuture]
    } else if days < RECOVERY_EARLIEST_DAYS {
        vec![PlausibilityWarning::RecoveryTooEarly { days }]
    } else if days > RECOVERY_LATEST_DAYS {
        vec![PlausibilityWarning::RecoveryTooLate { days }]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use time::macros::date;

    use super::*;

    #[test]
    fn a_usual_vaccination_has_no_warning() {
        let warnings = vaccination(
            "EU/1/20/1528",
            2,
            2,
            date!(2021 - 06 - 01),
            date!(2021 - 06 - 07),
        );
        assert_eq!(warnings, []);
    }

    #[test]
    fn dose_above_series_future_and_pre_authorisation_are_each_reported() {
        let warnings = vaccination(
            "EU/1/20/1528",
            3,
            2,
            date!(2020 - 12 - 20),
            date!(2020 - 12 - 19),
        );
        assert_eq!(
            warnings,
            [
                PlausibilityWarning::DoseAboveSeries {
                    dose_number: 3,
                    total_doses: 2
                },
                PlausibilityWarning::VaccinationInFuture,
                PlausibilityWarning::VaccinationBeforeAuthorisation {
                    authorised: date!(2020 - 12 - 21)
                },
            ]
        );
    }

    #[test]
    fn the_authorisation_day_itself_is_plausible() {
        let on_the_day = vaccination(
            "EU/1/21/1529",
            1,
            2,
            date!(2021 - 01 - 29),
            date!(2021 - 02 - 01),
        );
        assert_eq!(on_the_day, []);
        let day_before = vaccination(
            "EU/1/21/1529",
            1,
            2,
            date!(2021 - 01 - 28),
            date!(2021 - 02 - 01),
        );
        assert_eq!(day_before[0].code(), "vaccination_before_authorisation");
    }

    #[test]
    fn products_without_eu_authorisation_are_not_dated() {
        assert_eq!(authorisation_date("Sputnik-V"), None);
        let warnings = vaccination(
            "Sputnik-V",
            1,
            2,
            date!(2020 - 01 - 01),
            date!(2021 - 01 - 01),
        );
        assert_eq!(warnings, []);
    }

    #[test]
    fn every_dated_product_is_in_the_official_value_set() {
        let sets = crate::value_sets::ValueSets::official().unwrap();
        let products = sets.get(crate::value_sets::ValueSetKind::VaccineProduct);
        for code in products.codes() {
            if code.starts_with("EU/1/") {
                assert!(authorisation_date(code).is_some(), "{code} has no date");
            }
        }
    }

    #[test]
    fn recovery_window_is_28_to_180_days_inclusive() {
        let positive = date!(2021 - 03 - 01);
        let day = |n: i64| positive + time::Duration::days(n);
        assert_eq!(
            recovery(positive, day(-1)),
            [PlausibilityWarning::PositiveTestInFuture]
        );
        assert_eq!(
            recovery(positive, day(27)),
            [PlausibilityWarning::RecoveryTooEarly { days: 27 }]
        );
        assert_eq!(recovery(positive, day(28)), []);
        assert_eq!(recovery(positive, day(180)), []);
        assert_eq!(
            recovery(positive, day(181)),
            [PlausibilityWarning::RecoveryTooLate { days: 181 }]
        );
    }

    #[test]
    fn a_test_from_tomorrow_is_implausible() {
        assert_eq!(
            test(date!(2021 - 05 - 02), date!(2021 - 05 - 01)),
            [PlausibilityWarning::TestInFuture]
        );
        assert_eq!(test(date!(2021 - 05 - 01), date!(2021 - 05 - 01)), []);
    }
}
