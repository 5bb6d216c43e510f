use time::macros::datetime;

use super::*;
use crate::classify::CertificateKind;

fn row(kind: CertificateKind, dose: Option<i64>, at: time::OffsetDateTime) -> BillingRow {
    BillingRow {
        kind,
        dose_number: dose,
        issued_at: at.unix_timestamp(),
        holder_key: None,
        fraud: false,
    }
}

fn july() -> BillingMonth {
    BillingMonth::parse("2021-07").unwrap()
}

#[test]
fn month_boundaries_and_the_8_july_tier_change() {
    let rows = [
        // 30 June 23:59:59 local belongs to June; 1 July 00:00:00 to July.
        row(
            CertificateKind::Vaccination,
            Some(1),
            datetime!(2021-06-30 23:59:59 +2),
        ),
        row(
            CertificateKind::Vaccination,
            Some(1),
            datetime!(2021-07-01 00:00:00 +2),
        ),
        row(
            CertificateKind::Vaccination,
            Some(1),
            datetime!(2021-07-07 23:59:59 +2),
        ),
        row(
            CertificateKind::Vaccination,
            Some(1),
            datetime!(2021-07-08 00:00:00 +2),
        ),
        row(
            CertificateKind::Test,
            None,
            datetime!(2021-07-08 00:00:00 +2),
        ),
        row(
            CertificateKind::Vaccination,
            Some(2),
            datetime!(2021-07-31 23:59:59 +2),
        ),
        row(
            CertificateKind::Vaccination,
            Some(2),
            datetime!(2021-08-01 00:00:00 +2),
        ),
    ];
    let statement = Statement::assemble(
        "3-SMC-B-1",
        july(),
        &rows,
        &[],
        &FeeSchedule::default(),
        7200,
    );
    assert_eq!(statement.issued, 5);
    assert_eq!(statement.billed, 4);
    assert_eq!(statement.not_billable.no_fee, 1);
    let days: Vec<(&str, i64, u64)> = statement
        .days
        .iter()
        .map(|d| (d.date.as_str(), d.unit_cents, d.count))
        .collect();
    assert_eq!(
        days,
        [
            ("2021-07-01", 1800, 1),
            ("2021-07-07", 1800, 1),
            ("2021-07-08", 600, 1),
            ("2021-07-31", 600, 1)
        ]
    );
    assert_eq!(statement.total_cents, 2 * 1800 + 2 * 600);
    assert_eq!(statement.period_end, "2021-07-31");
    let form: Vec<(&str, i64, i64)> = statement
        .form_lines
        .iter()
        .map(|l| (l.pzn.as_str(), l.factor, l.amount_cents))
        .collect();
    assert_eq!(form, [("06461469", 2, 3600), ("06461475", 2, 1200)]);
}

#[test]
fn more_than_9999_certificates_split_across_form_lines() {
    let at = datetime!(2021-07-20 12:00 +2);
    let rows = vec![row(CertificateKind::Vaccination, Some(1), at); 20_001];
    let statement = Statement::assemble(
        "3-SMC-B-1",
        july(),
        &rows,
        &[],
        &FeeSchedule::default(),
        7200,
    );
    let factors: Vec<i64> = statement.form_lines.iter().map(|l| l.factor).collect();
    assert_eq!(factors, [9999, 9999, 3]);
    assert_eq!(statement.total_cents, 20_001 * 600);
    assert_eq!(
        statement
            .form_lines
            .iter()
            .map(|l| l.amount_cents)
            .sum::<i64>(),
        statement.total_cents
    );
}

#[test]
fn a_correction_takes_back_what_the_certificate_earned() {
    let first = row(
        CertificateKind::Vaccination,
        Some(1),
        datetime!(2021-06-20 10:00 +2),
    );
    let mut second = row(
        CertificateKind::Vaccination,
        Some(2),
        datetime!(2021-06-20 10:05 +2),
    );
    let mut first_keyed = first.clone();
    first_keyed.holder_key = Some("k".into());
    second.holder_key = Some("k".into());
    second.fraud = true;
    let schedule = FeeSchedule::default();
    let correction = Correction::for_row(&[first_keyed, second], 1, &schedule, 7200).unwrap();
    assert_eq!(correction.category, Category::SecondDoseSameVisit);
    assert_eq!(correction.fee.cents, 600);
    assert_eq!(correction.billed_month.to_string(), "2021-06");

    let july_row = row(
        CertificateKind::Vaccination,
        Some(1),
        datetime!(2021-07-05 10:00 +2),
    );
    let statement = Statement::assemble(
        "3-SMC-B-1",
        july(),
        &[july_row],
        &[correction],
        &schedule,
        7200,
    );
    assert_eq!(statement.corrections.len(), 1);
    assert_eq!(statement.corrections[0].amount_cents, -600);
    assert_eq!(statement.total_cents, 1800 - 600);
    let form: Vec<(&str, i64)> = statement
        .form_lines
        .iter()
        .map(|l| (l.pzn.as_str(), l.factor))
        .collect();
    assert_eq!(form, [("06461469", 1), ("06461475", -1)]);
    // Untouched by the correction: what happened this month.
    assert_eq!(statement.issued, 1);
    assert_eq!(statement.billed, 1);
    let _ = first;
}

#[test]
fn content_round_trips_and_hashes_stably() {
    let rows = [row(
        CertificateKind::Recovery,
        None,
        datetime!(2021-08-20 00:00 +2),
    )];
    let august = BillingMonth::parse("2021-08").unwrap();
    let statement = Statement::assemble("3-X", august, &rows, &[], &FeeSchedule::default(), 7200);
    assert_eq!(statement.billed, 1);
    let content = statement.to_content().unwrap();
    assert_eq!(Statement::from_content(&content).unwrap(), statement);
    assert_eq!(
        Statement::content_hash(&content),
        Statement::content_hash(&content)
    );
    assert_eq!(Statement::content_hash(&content).len(), 64);
    assert!(!content.contains("uvci"));
}
