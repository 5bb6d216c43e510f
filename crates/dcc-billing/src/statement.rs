//! One pharmacy's statement for one month: counts per category and fee tier by creation date,
//! amounts in cents, corrections for earlier months, and the lines of the paper form.
//!
//! The statement is the format-independent content that is stored (as JSON) and hashed when a
//! month is closed; the CSV, JSON and PDF renderings are made from it on demand. It carries no
//! names, no dates of birth and no UVCIs: only counts.

use std::collections::BTreeMap;

use aws_lc_rs::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::BillingError;
use crate::classify::{BillingRow, Category, Classification, NotBillableReason, classify_all};
use crate::month::BillingMonth;
use crate::schedule::{Fee, FeeSchedule};
use dcc_calendar::berlin;

/// A closed month's statement for one pharmacy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Content format version.
    pub version: u32,
    /// The pharmacy (operating site).
    pub telematik_id: String,
    /// The billing month.
    pub month: BillingMonth,
    /// Last day of the month (*Abgabemonat Ende*), `YYYY-MM-DD`.
    pub period_end: String,
    /// Certificates in the ledger issued in this month (idempotent retries are one row).
    pub issued: u64,
    /// Certificates of this month that are not paid.
    pub not_billable: NotBillableCounts,
    /// Certificates of this month that are paid: `issued − not_billable`.
    pub billed: u64,
    /// Paid certificates by creation date (Berlin), category and fee.
    pub days: Vec<DayLine>,
    /// Paid certificates by category and fee.
    pub tiers: Vec<TierLine>,
    /// Certificates billed in an earlier, closed month and since revoked as fraudulent.
    pub corrections: Vec<CorrectionLine>,
    /// The lines for the paper form: per special PZN at most 9999 per line.
    pub form_lines: Vec<FormLine>,
    /// Amount of this month's tiers plus the (negative) corrections, in cents.
    pub total_cents: i64,
}

/// Counts of not-billable certificates by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotBillableCounts {
    /// Revoked as fraudulent before the month was closed.
    pub fraud: u64,
    /// No fee on that day for that type (tests, early recoveries).
    pub no_fee: u64,
}

impl NotBillableCounts {
    /// All not-billable certificates.
    pub fn total(&self) -> u64 {
        self.fraud + self.no_fee
    }
}

/// Paid certificates of one creation date, category and fee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayLine {
    /// Creation date (Berlin), `YYYY-MM-DD`.
    pub date: String,
    /// The category.
    pub category: Category,
    /// Fee per certificate in cents.
    pub unit_cents: i64,
    /// The special PZN.
    pub pzn: String,
    /// How many.
    pub count: u64,
    /// `unit_cents × count`.
    pub amount_cents: i64,
}

/// Paid certificates of one category and fee in the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierLine {
    /// The category.
    pub category: Category,
    /// Fee per certificate in cents.
    pub unit_cents: i64,
    /// The special PZN.
    pub pzn: String,
    /// How many.
    pub count: u64,
    /// `unit_cents × count`.
    pub amount_cents: i64,
}

/// Certificates billed earlier and since revoked as fraud, taken back in this statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionLine {
    /// The month in which they were billed.
    pub billed_month: BillingMonth,
    /// Their creation date (Berlin), `YYYY-MM-DD`.
    pub date: String,
    /// The category they were billed in.
    pub category: Category,
    /// The fee they earned, in cents.
    pub unit_cents: i64,
    /// The special PZN.
    pub pzn: String,
    /// How many.
    pub count: u64,
    /// `−unit_cents × count`.
    pub amount_cents: i64,
}

/// One line of the *Sonderbeleg*: special PZN, factor (count, at most 9999) and amount in
/// cents (*Anzahl* on the form). A negative factor takes corrections back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormLine {
    /// The special PZN.
    pub pzn: String,
    /// Fee per certificate in cents.
    pub unit_cents: i64,
    /// Number of certificates on this line (−9999 … 9999).
    pub factor: i64,
    /// `unit_cents × factor`.
    pub amount_cents: i64,
}

/// A certificate to take back: billed in `billed_month`, since revoked as fraud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// The month it was billed in.
    pub billed_month: BillingMonth,
    /// Its creation date (Berlin).
    pub date: Date,
    /// The category it was billed in.
    pub category: Category,
    /// The fee it earned.
    pub fee: Fee,
}

impl Correction {
    /// What the fraudulent certificate `rows[index]` earned when its month was closed (it was
    /// not yet revoked then): `rows` are its pharmacy's rows of the same-visit window before
    /// it, itself included. `None` when it earned nothing.
    pub fn for_row(
        rows: &[BillingRow],
        index: usize,
        schedule: &FeeSchedule,
        window_seconds: i64,
    ) -> Option<Self> {
        let as_billed: Vec<BillingRow> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| BillingRow {
                fraud: row.fraud && i != index,
                ..row.clone()
            })
            .collect();
        let row = as_billed.get(index)?;
        match classify_all(&as_billed, schedule, window_seconds).get(index)? {
            Classification::Billable { category, fee } => Some(Self {
                billed_month: BillingMonth::containing(row.issued_at),
                date: berlin::local_date(row.issued_at),
                category: *category,
                fee: fee.clone(),
            }),
            Classification::NotBillable(_) => None,
        }
    }
}

impl Statement {
    /// Assembles the statement of `telematik_id` for `month`.
    ///
    /// `rows` are the pharmacy's ledger rows from `window_seconds` before the month start to
    /// the month end (the earlier ones only serve to recognise same-visit second doses);
    /// `corrections` are the certificates to take back.
    pub fn assemble(
        telematik_id: &str,
        month: BillingMonth,
        rows: &[BillingRow],
        corrections: &[Correction],
        schedule: &FeeSchedule,
        window_seconds: i64,
    ) -> Self {
        let (start, end) = month.bounds();
        let classes = classify_all(rows, schedule, window_seconds);
        let mut issued = 0u64;
        let mut not_billable = NotBillableCounts::default();
        let mut days: BTreeMap<(Date, Category, Fee), u64> = BTreeMap::new();
        for (row, class) in rows.iter().zip(&classes) {
            if !(start..end).contains(&row.issued_at) {
                continue;
            }
            issued += 1;
            match class {
                Classification::Billable { category, fee } => {
                    *days
                        .entry((berlin::local_date(row.issued_at), *category, fee.clone()))
                        .or_default() += 1;
                }
                Classification::NotBillable(NotBillableReason::Fraud) => not_billable.fraud += 1,
                Classification::NotBillable(NotBillableReason::NoFee) => not_billable.no_fee += 1,
            }
        }
        let mut tiers: BTreeMap<(Category, Fee), u64> = BTreeMap::new();
        for ((_, category, fee), count) in &days {
            *tiers.entry((*category, fee.clone())).or_default() += count;
        }
        let mut grouped: BTreeMap<(BillingMonth, Date, Category, Fee), u64> = BTreeMap::new();
        for correction in corrections {
            *grouped
                .entry((
                    correction.billed_month,
                    correction.date,
                    correction.category,
                    correction.fee.clone(),
                ))
                .or_default() += 1;
        }
        let mut net: BTreeMap<(String, i64), i64> = BTreeMap::new();
        for ((_, fee), count) in &tiers {
            *net.entry((fee.pzn.clone(), fee.cents)).or_default() += to_i64(*count);
        }
        for ((_, _, _, fee), count) in &grouped {
            *net.entry((fee.pzn.clone(), fee.cents)).or_default() -= to_i64(*count);
        }
        let days: Vec<DayLine> = days
            .into_iter()
            .map(|((date, category, fee), count)| DayLine {
                date: iso_date(date),
                category,
                unit_cents: fee.cents,
                amount_cents: fee.cents * to_i64(count),
                pzn: fee.pzn,
                count,
            })
            .collect();
        let tiers: Vec<TierLine> = tiers
            .into_iter()
            .map(|((category, fee), count)| TierLine {
                category,
                unit_cents: fee.cents,
                amount_cents: fee.cents * to_i64(count),
                pzn: fee.pzn,
                count,
            })
            .collect();
        let corrections: Vec<CorrectionLine> = grouped
            .into_iter()
            .map(
                |((billed_month, date, category, fee), count)| CorrectionLine {
                    billed_month,
                    date: iso_date(date),
                    category,
                    unit_cents: fee.cents,
                    amount_cents: -(fee.cents * to_i64(count)),
                    pzn: fee.pzn,
                    count,
                },
            )
            .collect();
        let form_lines = form_lines(&net);
        let total_cents = tiers.iter().map(|t| t.amount_cents).sum::<i64>()
            + corrections.iter().map(|c| c.amount_cents).sum::<i64>();
        Self {
            version: CONTENT_VERSION,
            telematik_id: telematik_id.to_owned(),
            month,
            period_end: iso_date(month.last_day()),
            issued,
            billed: issued - not_billable.total(),
            not_billable,
            days,
            tiers,
            corrections,
            form_lines,
            total_cents,
        }
    }

    /// The stored content: compact JSON with a fixed field order.
    pub fn to_content(&self) -> Result<String, BillingError> {
        serde_json::to_string(self).map_err(|_| BillingError::InvalidContent)
    }

    /// Reads stored content back.
    pub fn from_content(content: &str) -> Result<Self, BillingError> {
        serde_json::from_str(content).map_err(|_| BillingError::InvalidContent)
    }

    /// Hex SHA-256 of the stored content.
    pub fn content_hash(content: &str) -> String {
        digest(&SHA256, content.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn form_lines(net: &BTreeMap<(String, i64), i64>) -> Vec<FormLine> {
    let mut lines = Vec::new();
    for ((pzn, unit_cents), count) in net {
        let sign = count.signum();
        let mut left = count.abs();
        while left > 0 {
            let factor = left.min(MAX_FACTOR);
            left -= factor;
            lines.push(FormLine {
                pzn: pzn.clone(),
                unit_cents: *unit_cents,
                factor: sign * factor,
                amount_cents: sign * factor * unit_cents,
            });
        }
    }
    lines
}

fn to_i64(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// `YYYY-MM-DD`.
pub(crate) fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The largest *Faktor* one form line takes (four digits).
pub const MAX_FACTOR: i64 = 9999;

/// Version of the stored content format.
pub const CONTENT_VERSION: u32 = 1;

#[cfg(test)]
mod tests;
