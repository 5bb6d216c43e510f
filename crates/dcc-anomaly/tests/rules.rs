//! Each rule at its threshold: just below it nothing fires, at it the finding carries the
//! configured action and the evidence; run through `StreamDetector`, the same plan/facts path
//! the service takes with the ledger.

// Test code: helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use dcc_anomaly::action::Action;
use dcc_anomaly::detector::Detector;
use dcc_anomaly::event::{Content, Issuance};
use dcc_anomaly::finding::{Finding, Rule};
use dcc_anomaly::settings::AnomalySettings;
use dcc_anomaly::stream::StreamDetector;
use time::macros::{date, datetime};
use time::{Date, PrimitiveDateTime};

const PHARMACY: &str = "3-SMC-B-Testkarte-883110000116873";

/// Local May 2021 wall-clock time (CEST) as unix seconds.
fn local(at: PrimitiveDateTime) -> i64 {
    at.assume_utc().unix_timestamp() - 7200
}

fn vaccination(at: i64, n: usize) -> Issuance {
    Issuance {
        at,
        telematik_id: PHARMACY.into(),
        operator: None,
        uvci: format!("URN:UVCI:01:DE:APO1/{n:08}#X"),
        holder_key: Some(format!("holder-{n}")),
        content: Content::Vaccination {
            product: "EU/1/20/1528".into(),
            dose_number: 2,
            total_doses: 2,
            date: Some(date!(2021 - 05 - 01)),
        },
    }
}

fn dose(at: i64, n: usize, pharmacy: &str, dose_number: u32, day: Date) -> Issuance {
    Issuance {
        telematik_id: pharmacy.into(),
        holder_key: Some("same-holder".into()),
        content: Content::Vaccination {
            product: "EU/1/20/1528".into(),
            dose_number,
            total_doses: 2,
            date: Some(day),
        },
        ..vaccination(at, n)
    }
}

fn stream() -> StreamDetector {
    StreamDetector::new(Detector::new(AnomalySettings::default()).unwrap())
}

fn rules(findings: &[Finding]) -> Vec<Rule> {
    findings.iter().map(|finding| finding.rule).collect()
}

#[test]
fn issuing_during_opening_hours_raises_nothing() {
    let mut detector = stream();
    // Wednesday 12 May 2021, 40 certificates between 08:00 and 19:40 and one at 20:20 (grace).
    let start = local(datetime!(2021-05-12 08:00));
    for n in 0..40 {
        let findings = detector.record(&vaccination(start + n as i64 * 1050, n));
        assert_eq!(findings, Vec::new(), "certificate {n}");
    }
    let late = vaccination(local(datetime!(2021-05-12 20:20)), 99);
    assert_eq!(detector.record(&late), Vec::new());
}

#[test]
fn one_sunday_certificate_warns_and_the_fifth_night_certificate_locks() {
    let mut detector = stream();
    let sunday = detector.record(&vaccination(local(datetime!(2021-05-16 11:00)), 0));
    assert_eq!(rules(&sunday), [Rule::OffHours]);
    assert_eq!(sunday[0].action, Action::Warn);
    assert_eq!(sunday[0].evidence["closed"], "sunday");
    assert_eq!(sunday[0].evidence["local_time"], "2021-05-16T11:00");

    // Tuesday night 18 May, 22:00 on, one every ten minutes; the Sunday one is > 24 h back.
    let night = local(datetime!(2021-05-18 22:00));
    for n in 1..=4 {
        let findings = detector.record(&vaccination(night + (n as i64 - 1) * 600, n));
        assert_eq!(rules(&findings), [Rule::OffHours], "certificate {n}");
        assert_eq!(findings[0].evidence["closed"], "outside_hours");
    }
    let fifth = detector.record(&vaccination(night + 4 * 600, 5));
    assert_eq!(rules(&fifth), [Rule::OffHours, Rule::OffHoursRepeated]);
    let repeated = &fifth[1];
    assert_eq!(repeated.action, Action::LockPharmacy);
    assert_eq!(repeated.evidence["certificates"], 5);
    assert_eq!(repeated.evidence["first"], "2021-05-18T22:00");
    assert_eq!(repeated.evidence["last"], "2021-05-18T22:40");
    assert_eq!(
        (repeated.window_start, repeated.window_end),
        (night, night + 2400)
    );
    assert_eq!(repeated.operator, None);
}

#[test]
fn a_night_pattern_names_the_operator_who_issued_most_of_it() {
    let mut detector = stream();
    // One colleague's certificate at 21:00, then the insider's four: the pattern is counted for
    // the pharmacy (borrowed accounts do not hide it) and attributed to the insider.
    let night = local(datetime!(2021-05-18 21:00));
    let by = |at: i64, n: usize, operator: &str| Issuance {
        operator: Some(operator.into()),
        ..vaccination(at, n)
    };
    detector.record(&by(night, 0, "colleague"));
    for n in 1..=3 {
        detector.record(&by(night + n as i64 * 600, n, "insider"));
    }
    let fifth = detector.record(&by(night + 4 * 600, 4, "insider"));
    assert_eq!(rules(&fifth), [Rule::OffHours, Rule::OffHoursRepeated]);
    let repeated = &fifth[1];
    assert_eq!(repeated.operator, None);
    assert_eq!(repeated.attributed_operator.as_deref(), Some("insider"));
    assert_eq!(repeated.responsible_operator(), Some("insider"));
    assert_eq!(repeated.evidence["attributed_operator"], "insider");
    assert_eq!(
        repeated.evidence["operators"],
        serde_json::json!([
            {"operator": "insider", "certificates": 4},
            {"operator": "colleague", "certificates": 1},
        ])
    );
    // The single off-hours finding names its own certificate's operator.
    assert_eq!(fifth[0].operator.as_deref(), Some("insider"));
    assert_eq!(fifth[0].attributed_operator, None);
}

#[test]
fn a_burst_shared_by_colleagues_names_no_one() {
    let mut detector = stream();
    let start = local(datetime!(2021-05-12 10:00));
    let mut last = Vec::new();
    for n in 0..10 {
        let operator = if n % 2 == 0 { "anna" } else { "ben" };
        last = detector.record(&Issuance {
            operator: Some(operator.into()),
            ..vaccination(start + n as i64 * 10, n)
        });
    }
    assert_eq!(rules(&last), [Rule::Burst]);
    assert_eq!(last[0].attributed_operator, None);
    assert_eq!(last[0].responsible_operator(), None);
    assert_eq!(
        last[0].evidence["operators"],
        serde_json::json!([
            {"operator": "anna", "certificates": 5},
            {"operator": "ben", "certificates": 5},
        ])
    );
}

#[test]
fn a_holiday_is_closed_and_says_which() {
    let mut detector = stream();
    let findings = detector.record(&vaccination(local(datetime!(2021-05-13 10:00)), 0));
    assert_eq!(rules(&findings), [Rule::OffHours]);
    assert_eq!(findings[0].evidence["closed"], "holiday");
    assert_eq!(findings[0].evidence["holiday"], "ascension");
}

#[test]
fn a_burst_is_ten_within_two_minutes() {
    let mut detector = stream();
    let start = local(datetime!(2021-05-12 10:00));
    for n in 0..9 {
        assert_eq!(
            detector.record(&vaccination(start + n as i64 * 13, n)),
            Vec::new()
        );
    }
    let tenth = detector.record(&vaccination(start + 9 * 13, 9));
    assert_eq!(rules(&tenth), [Rule::Burst]);
    assert_eq!(tenth[0].action, Action::Throttle);
    assert_eq!(tenth[0].evidence["certificates"], 10);
    assert_eq!(tenth[0].evidence["window_seconds"], 120);
}

#[test]
fn volume_is_judged_against_the_pharmacys_own_busiest_hour() {
    let quiet_day = |detector: &mut StreamDetector, day: i64, per_hour: i64, first: usize| {
        let hour = local(datetime!(2021-05-01 11:00)) + day * 86_400;
        for n in 0..per_hour {
            detector.record(&vaccination(hour + n * 3600 / per_hour, first + n as usize));
        }
    };
    // Fourteen days of 5 an hour at 11:00, then 30 an hour (≥ floor, ≥ 4 × 5) on 17 May.
    let mut detector = stream();
    for day in 2..16 {
        quiet_day(&mut detector, day, 5, day as usize * 100);
    }
    let spike_start = local(datetime!(2021-05-17 11:00));
    let mut last = Vec::new();
    for n in 0..30 {
        last = detector.record(&vaccination(spike_start + n * 119, 10_000 + n as usize));
    }
    assert_eq!(rules(&last), [Rule::VolumeSpike]);
    assert_eq!(last[0].evidence["last_hour"], 30);
    assert_eq!(last[0].evidence["baseline_busiest"], 5);

    // The same hour in a pharmacy whose busiest same hour was 10: 30 < 4 × 10.
    let mut busy = stream();
    for day in 2..16 {
        quiet_day(&mut busy, day, 10, day as usize * 100);
    }
    for n in 0..30 {
        let findings = busy.record(&vaccination(spike_start + n * 119, 10_000 + n as usize));
        assert_eq!(findings, Vec::new(), "certificate {n}");
    }
}

#[test]
fn holders_are_recognised_across_certificates_and_pharmacies() {
    let mut detector = stream();
    let day = local(datetime!(2021-05-12 10:00));
    let first = dose(day, 1, PHARMACY, 1, date!(2021 - 04 - 10));
    let second = dose(day + 600, 2, "3-SMC-B-B", 2, date!(2021 - 05 - 08));
    assert_eq!(detector.record(&first), Vec::new());
    assert_eq!(detector.record(&second), Vec::new());
    // A test certificate of the same holder does not count.
    let test = Issuance {
        content: Content::Test {
            sampled: Some(date!(2021 - 05 - 12)),
        },
        ..dose(day + 900, 3, "3-SMC-B-C", 1, date!(2021 - 05 - 08))
    };
    assert_eq!(detector.record(&test), Vec::new());
    // A reissue of dose 2 at a third pharmacy: three pharmacies in 30 days.
    let third = dose(day + 1200, 4, "3-SMC-B-C", 2, date!(2021 - 05 - 08));
    let findings = detector.record(&third);
    assert_eq!(rules(&findings), [Rule::HolderPharmacies]);
    assert_eq!(
        findings[0].evidence["pharmacies"],
        serde_json::json!(["3-SMC-B-B", "3-SMC-B-C", PHARMACY])
    );
    assert_eq!(findings[0].subject, "URN:UVCI:01:DE:APO1/00000001#X");
    // A fourth certificate: four in 30 days as well.
    let fourth = dose(day + 1500, 5, "3-SMC-B-C", 2, date!(2021 - 05 - 08));
    let findings = detector.record(&fourth);
    assert_eq!(
        rules(&findings),
        [Rule::HolderPharmacies, Rule::HolderRepeated]
    );
    assert_eq!(findings[1].evidence["certificates"], 4);
    assert!(
        !findings[1].evidence.to_string().contains("same-holder"),
        "the holder key stays out of the evidence"
    );
}

#[test]
fn contradicting_doses_and_implausible_content() {
    let mut detector = stream();
    let day = local(datetime!(2021-07-05 10:00));
    assert_eq!(
        detector.record(&dose(day, 1, PHARMACY, 2, date!(2021 - 06 - 01))),
        Vec::new()
    );
    // dn=1 dated after dn=2.
    let findings = detector.record(&dose(day + 60, 2, PHARMACY, 1, date!(2021 - 07 - 01)));
    assert_eq!(rules(&findings), [Rule::DoseSequence]);
    assert_eq!(
        findings[0].evidence["conflicting_uvcis"],
        serde_json::json!(["URN:UVCI:01:DE:APO1/00000001#X"])
    );

    // Comirnaty before its authorisation, and a vaccination in the future.
    for (day_of_vaccination, code) in [
        (date!(2020 - 11 - 30), "vaccination_before_authorisation"),
        (date!(2021 - 07 - 20), "vaccination_in_future"),
    ] {
        let mut event = vaccination(day + 120, 7);
        event.content = Content::Vaccination {
            product: "EU/1/20/1528".into(),
            dose_number: 1,
            total_doses: 2,
            date: Some(day_of_vaccination),
        };
        let findings = stream().record(&event);
        assert_eq!(rules(&findings), [Rule::ImplausibleContent], "{code}");
        assert_eq!(findings[0].evidence["warnings"], serde_json::json!([code]));
    }
}

#[test]
fn a_batch_gives_one_finding_per_pattern() {
    let mut detector = stream();
    let night = local(datetime!(2021-05-18 23:00));
    let batch: Vec<Issuance> = (0..3)
        .map(|n| vaccination(night + n * 30, n as usize))
        .collect();
    let findings = detector.record_batch(&batch);
    assert_eq!(rules(&findings), [Rule::OffHours]);
    assert_eq!(findings[0].occurrences, 3);
    assert_eq!(
        (findings[0].window_start, findings[0].window_end),
        (night, night + 60)
    );
}

#[test]
fn own_opening_hours_replace_the_default() {
    let mut settings = AnomalySettings::default();
    let mut station = settings.opening_hours.clone();
    station.sunday = station.monday.clone();
    station.closed_on_holidays = false;
    settings.pharmacy_hours.insert(PHARMACY.into(), station);
    let mut detector = StreamDetector::new(Detector::new(settings).unwrap());
    let sunday = vaccination(local(datetime!(2021-05-16 11:00)), 0);
    assert_eq!(detector.record(&sunday), Vec::new());
    let other = Issuance {
        telematik_id: "3-SMC-B-other".into(),
        ..vaccination(local(datetime!(2021-05-16 11:00)), 1)
    };
    assert_eq!(rules(&detector.record(&other)), [Rule::OffHours]);
}
