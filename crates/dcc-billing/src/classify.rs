//! From ledger rows to billing categories and fees.
//!
//! A row carries only what billing needs: the type, the dose number, the issue instant, the
//! holder key (an HMAC of the standardised names and date of birth, never the data itself) and
//! whether the certificate was revoked as fraudulent. Tiers are fixed by the Europe/Berlin date
//! of the issue instant.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::schedule::{Fee, FeeSchedule};
use dcc_calendar::berlin;

/// The certificate type of a ledger row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateKind {
    /// Vaccination.
    Vaccination,
    /// Test.
    Test,
    /// Recovery.
    Recovery,
}

/// One ledger row as billing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingRow {
    /// The certificate type.
    pub kind: CertificateKind,
    /// `dn` of a vaccination.
    pub dose_number: Option<i64>,
    /// Issue instant, unix seconds.
    pub issued_at: i64,
    /// Hex HMAC identifying the holder without personal data, when recorded.
    pub holder_key: Option<String>,
    /// Revoked as fraudulent (not billable).
    pub fraud: bool,
}

/// A billing category: the line a certificate is counted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A vaccination certificate (first issue, re-issue, or any dose once tiers merged).
    Vaccination,
    /// "Impfzertifikat II": the next dose's certificate made by the same pharmacy in the same
    /// visit as the previous dose's.
    SecondDoseSameVisit,
    /// A recovery certificate.
    Recovery,
    /// A test certificate.
    Test,
}

impl Category {
    /// The German label used in statements.
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Vaccination => "Impfzertifikat",
            Self::SecondDoseSameVisit => "Impfzertifikat II (Folgeimpfung, gleicher Besuch)",
            Self::Recovery => "Genesenenzertifikat",
            Self::Test => "Testzertifikat",
        }
    }
}

/// The outcome for one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// Paid: the category whose tier applied, and its fee.
    Billable {
        /// The category.
        category: Category,
        /// The fee.
        fee: Fee,
    },
    /// Not paid, and why.
    NotBillable(NotBillableReason),
}

/// Why a certificate is not paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotBillableReason {
    /// Revoked as fraudulent.
    Fraud,
    /// The schedule pays nothing for this type on this day (tests; recoveries before 20 Aug
    /// 2021; anything before 7 Jun 2021).
    NoFee,
}

/// Classifies every row; the result has one entry per row, in the same order.
///
/// `rows` are one pharmacy's rows; pass the rows of the `window_seconds` before the billing
/// period too, so that a second dose just after midnight finds its first dose. A vaccination
/// with `dn ≥ 2` is a same-visit second dose when the same holder got the `dn − 1` vaccination
/// certificate from these rows within `window_seconds` before it.
pub fn classify_all(
    rows: &[BillingRow],
    schedule: &FeeSchedule,
    window_seconds: i64,
) -> Vec<Classification> {
    let mut earlier_doses: HashMap<(&str, i64), Vec<i64>> = HashMap::new();
    for row in rows {
        if let (CertificateKind::Vaccination, Some(key), Some(dose)) =
            (row.kind, row.holder_key.as_deref(), row.dose_number)
        {
            earlier_doses
                .entry((key, dose))
                .or_default()
                .push(row.issued_at);
        }
    }
    rows.iter()
        .map(|row| {
            let same_visit = match (row.kind, row.holder_key.as_deref(), row.dose_number) {
                (CertificateKind::Vaccination, Some(key), Some(dose)) if dose >= 2 => {
                    earlier_doses.get(&(key, dose - 1)).is_some_and(|times| {
                        times
                            .iter()
                            .any(|&at| at <= row.issued_at && row.issued_at - at <= window_seconds)
                    })
                }
                _ => false,
            };
            classify(row, same_visit, schedule)
        })
        .collect()
}

/// Classifies one row, given whether it is a same-visit second dose.
pub fn classify(row: &BillingRow, same_visit: bool, schedule: &FeeSchedule) -> Classification {
    if row.fraud {
        return Classification::NotBillable(NotBillableReason::Fraud);
    }
    let category = match row.kind {
        CertificateKind::Vaccination if same_visit => Category::SecondDoseSameVisit,
        CertificateKind::Vaccination => Category::Vaccination,
        CertificateKind::Recovery => Category::Recovery,
        CertificateKind::Test => Category::Test,
    };
    match schedule.fee(category, berlin::local_date(row.issued_at)) {
        Some((category, fee)) => Classification::Billable {
            category,
            fee: fee.clone(),
        },
        None => Classification::NotBillable(NotBillableReason::NoFee),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn vaccination(dose: i64, at: time::OffsetDateTime, key: Option<&str>) -> BillingRow {
        BillingRow {
            kind: CertificateKind::Vaccination,
            dose_number: Some(dose),
            issued_at: at.unix_timestamp(),
            holder_key: key.map(str::to_owned),
            fraud: false,
        }
    }

    fn cents(classification: &Classification) -> Option<(Category, i64)> {
        match classification {
            Classification::Billable { category, fee } => Some((*category, fee.cents)),
            Classification::NotBillable(_) => None,
        }
    }

    #[test]
    fn tier_changes_at_berlin_midnight_of_8_july() {
        let schedule = FeeSchedule::default_2021();
        let rows = [
            vaccination(1, datetime!(2021-07-07 23:59:59 +2), None),
            vaccination(1, datetime!(2021-07-08 00:00:00 +2), None),
        ];
        let classes = classify_all(&rows, &schedule, 7200);
        assert_eq!(cents(&classes[0]), Some((Category::Vaccination, 1800)));
        assert_eq!(cents(&classes[1]), Some((Category::Vaccination, 600)));
    }

    #[test]
    fn second_dose_in_the_same_visit_is_impfzertifikat_ii() {
        let schedule = FeeSchedule::default_2021();
        let rows = [
            vaccination(1, datetime!(2021-06-20 10:00 +2), Some("aa")),
            vaccination(2, datetime!(2021-06-20 10:01 +2), Some("aa")),
            // Another holder's second dose, and one made long after the first.
            vaccination(2, datetime!(2021-06-20 10:02 +2), Some("bb")),
            vaccination(1, datetime!(2021-06-21 09:00 +2), Some("cc")),
            vaccination(2, datetime!(2021-06-21 12:00 +2), Some("cc")),
            // No holder key recorded: cannot be recognised.
            vaccination(2, datetime!(2021-06-21 12:00 +2), None),
        ];
        let classes: Vec<_> = classify_all(&rows, &schedule, 7200)
            .iter()
            .map(cents)
            .collect();
        assert_eq!(
            classes,
            [
                Some((Category::Vaccination, 1800)),
                Some((Category::SecondDoseSameVisit, 600)),
                Some((Category::Vaccination, 1800)),
                Some((Category::Vaccination, 1800)),
                Some((Category::Vaccination, 1800)),
                Some((Category::Vaccination, 1800)),
            ]
        );
    }

    #[test]
    fn tests_fraud_and_early_recoveries_are_not_billable() {
        let schedule = FeeSchedule::default_2021();
        let mut fraud = vaccination(1, datetime!(2021-07-10 10:00 +2), None);
        fraud.fraud = true;
        let test = BillingRow {
            kind: CertificateKind::Test,
            dose_number: None,
            issued_at: datetime!(2021-07-10 10:00 +2).unix_timestamp(),
            holder_key: None,
            fraud: false,
        };
        let early_recovery = BillingRow {
            kind: CertificateKind::Recovery,
            ..test.clone()
        };
        let classes = classify_all(&[fraud, test, early_recovery], &schedule, 7200);
        assert_eq!(
            classes,
            [
                Classification::NotBillable(NotBillableReason::Fraud),
                Classification::NotBillable(NotBillableReason::NoFee),
                Classification::NotBillable(NotBillableReason::NoFee),
            ]
        );
    }
}
