//! The dated fee schedule: which certificate earns how many cents on which (Berlin) day, and
//! the special PZN the pharmacy writes on the paper form for it (german-context.md §4).

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use crate::BillingError;
use crate::classify::Category;

/// One fee: the amount and the special PZN of the paper form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// Amount in euro cents, VAT included.
    pub cents: i64,
    /// The special PZN (8 digits) for the *Sonderbeleg*.
    pub pzn: String,
}

/// One period of the schedule as written in the configuration (TOML `[[billing.fees]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeePeriodConfig {
    /// First day (Europe/Berlin, `YYYY-MM-DD`) on which this period applies; it ends where
    /// the next period starts.
    pub from: String,
    /// Every vaccination certificate (first, re-issued, any dose), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vaccination: Option<Fee>,
    /// A second-dose certificate made in the same visit as the first-dose one by the same
    /// pharmacy ("Impfzertifikat II"), when set; otherwise such a certificate earns
    /// `vaccination`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_dose_same_visit: Option<Fee>,
    /// Recovery certificates, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Fee>,
    /// Test certificates, when set (never paid to pharmacies in 2021).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Fee>,
}

/// A validated schedule: periods in increasing order of their start dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeSchedule {
    periods: Vec<FeePeriod>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FeePeriod {
    from: Date,
    config: FeePeriodConfig,
}

impl FeeSchedule {
    /// Validates a configured schedule.
    pub fn from_config(periods: &[FeePeriodConfig]) -> Result<Self, BillingError> {
        let mut parsed: Vec<FeePeriod> = Vec::with_capacity(periods.len());
        for config in periods {
            let from = Date::parse(&config.from, format_description!("[year]-[month]-[day]"))
                .map_err(|_| BillingError::InvalidDate)?;
            if parsed.last().is_some_and(|last| last.from >= from) {
                return Err(BillingError::UnorderedPeriods);
            }
            let fees = [
                &config.vaccination,
                &config.second_dose_same_visit,
                &config.recovery,
                &config.test,
            ];
            if fees.into_iter().flatten().any(|fee| !is_pzn(&fee.pzn)) {
                return Err(BillingError::InvalidPzn);
            }
            parsed.push(FeePeriod {
                from,
                config: config.clone(),
            });
        }
        Ok(Self { periods: parsed })
    }

    /// The 2021 rules (CoronaImpfV §9(3), its amendment of 6 Jul 2021, TestV of 18 Aug 2021):
    /// from 7 Jun 18 € per vaccination certificate and 6 € for a second-dose certificate of
    /// the same visit; from 8 Jul 6 € per vaccination certificate; from 20 Aug also 6 € per
    /// recovery certificate. PZN 06461469 marks 18 €, 06461475 marks 6 €.
    pub fn default_2021() -> Self {
        let eighteen = || Fee {
            cents: 1800,
            pzn: PZN_18_EURO.to_owned(),
        };
        let six = || Fee {
            cents: 600,
            pzn: PZN_6_EURO.to_owned(),
        };
        let periods = vec![
            FeePeriodConfig {
                from: "2021-06-07".into(),
                vaccination: Some(eighteen()),
                second_dose_same_visit: Some(six()),
                recovery: None,
                test: None,
            },
            FeePeriodConfig {
                from: "2021-07-08".into(),
                vaccination: Some(six()),
                second_dose_same_visit: None,
                recovery: None,
                test: None,
            },
            FeePeriodConfig {
                from: "2021-08-20".into(),
                vaccination: Some(six()),
                second_dose_same_visit: None,
                recovery: Some(six()),
                test: None,
            },
        ];
        Self::from_config(&periods).unwrap_or(Self {
            periods: Vec::new(),
        })
    }

    /// The schedule in its configuration form.
    pub fn to_config(&self) -> Vec<FeePeriodConfig> {
        self.periods.iter().map(|p| p.config.clone()).collect()
    }

    /// The fee of `category` on the Berlin date `date`, or `None` when nothing is paid.
    /// A same-visit second dose falls back to the vaccination fee when the period has no
    /// tier of its own; the returned category says which tier applied.
    pub fn fee(&self, category: Category, date: Date) -> Option<(Category, &Fee)> {
        let period = self.periods.iter().rev().find(|p| p.from <= date)?;
        let config = &period.config;
        match category {
            Category::SecondDoseSameVisit => match &config.second_dose_same_visit {
                Some(fee) => Some((Category::SecondDoseSameVisit, fee)),
                None => config
                    .vaccination
                    .as_ref()
                    .map(|fee| (Category::Vaccination, fee)),
            },
            Category::Vaccination => config
                .vaccination
                .as_ref()
                .map(|fee| (Category::Vaccination, fee)),
            Category::Recovery => config
                .recovery
                .as_ref()
                .map(|fee| (Category::Recovery, fee)),
            Category::Test => config.test.as_ref().map(|fee| (Category::Test, fee)),
        }
    }
}

impl Default for FeeSchedule {
    fn default() -> Self {
        Self::default_2021()
    }
}

fn is_pzn(text: &str) -> bool {
    text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Special PZN "Impfzertifikate I" (18 €) of the *Sonderbeleg*.
pub const PZN_18_EURO: &str = "06461469";

/// Special PZN "Impfzertifikate II" (6 €) of the *Sonderbeleg*.
pub const PZN_6_EURO: &str = "06461475";

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn default_schedule_reproduces_2021() {
        let schedule = FeeSchedule::default_2021();
        let cents = |category, day| schedule.fee(category, day).map(|(c, fee)| (c, fee.cents));
        assert_eq!(cents(Category::Vaccination, date!(2021 - 06 - 06)), None);
        assert_eq!(
            cents(Category::Vaccination, date!(2021 - 06 - 07)),
            Some((Category::Vaccination, 1800))
        );
        assert_eq!(
            cents(Category::SecondDoseSameVisit, date!(2021 - 07 - 07)),
            Some((Category::SecondDoseSameVisit, 600))
        );
        assert_eq!(
            cents(Category::Vaccination, date!(2021 - 07 - 08)),
            Some((Category::Vaccination, 600))
        );
        assert_eq!(
            cents(Category::SecondDoseSameVisit, date!(2021 - 07 - 08)),
            Some((Category::Vaccination, 600))
        );
        assert_eq!(cents(Category::Recovery, date!(2021 - 08 - 19)), None);
        assert_eq!(
            cents(Category::Recovery, date!(2021 - 08 - 20)),
            Some((Category::Recovery, 600))
        );
        assert_eq!(cents(Category::Test, date!(2021 - 08 - 20)), None);
    }

    #[test]
    fn configuration_round_trips_and_is_validated() {
        let config = FeeSchedule::default_2021().to_config();
        assert_eq!(
            FeeSchedule::from_config(&config).unwrap(),
            FeeSchedule::default_2021()
        );
        let mut unordered = config.clone();
        unordered.swap(0, 1);
        assert_eq!(
            FeeSchedule::from_config(&unordered),
            Err(BillingError::UnorderedPeriods)
        );
        let mut bad_date = config.clone();
        bad_date[0].from = "7.6.2021".into();
        assert_eq!(
            FeeSchedule::from_config(&bad_date),
            Err(BillingError::InvalidDate)
        );
        let mut bad_pzn = config;
        bad_pzn[0].recovery = Some(Fee {
            cents: 600,
            pzn: "123".into(),
        });
        assert_eq!(
            FeeSchedule::from_config(&bad_pzn),
            Err(BillingError::InvalidPzn)
        );
    }
}
