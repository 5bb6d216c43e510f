//! Anomaly detection through the group-commit writer, on both backends: findings become stored
//! alerts (one per pattern, also across two writers on one database), new alerts take their
//! action through the real locks and throttles, everything is audited, and the association
//! acknowledges alerts with a comment.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::sync::Arc;

use dcc_anomaly::settings::AnomalySettings;
use dcc_issuance::alerts::{self, Acknowledger, AlertError};
use dcc_issuance::anomaly::AnomalyDetection;
use dcc_issuance::limits::{LimitExceeded, RateLimits};
use dcc_issuance::operators::OperatorRef;
use dcc_issuance::recorder::{IssuedRecord, RecordOutcome, RecordPolicy, Recorder};
use dcc_store::ledger::{self, CertificateType, LedgerEntry};
use dcc_store::locks::{self, LockScope};
use dcc_store::pharmacies::{self, NewPharmacy};
use dcc_store::throttles;
use dcc_store::{Backend, Store};
use time::PrimitiveDateTime;
use time::macros::datetime;

/// The command line acknowledging as "verband".
const VERBAND: Acknowledger<'static> = Acknowledger::CommandLine { name: "verband" };

const PHARMACY: &str = "3-SMC-B-Testkarte-883110000095954";
const OTHER: &str = "3-SMC-B-Testkarte-883110000129068";

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::with_store(false, super::$name).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::with_store(true, super::$name).await })*
        }
    };
}

on_both_backends!(
    night_issuing_warns_then_locks_the_pharmacy,
    two_writers_on_one_database_make_one_alert_per_pattern,
    a_burst_throttles_the_pharmacy,
    volume_is_compared_with_the_ledgers_same_hours,
    holder_history_is_read_from_the_ledger,
    one_holder_many_times_is_one_alert,
    lock_operator_stops_the_operator_not_the_colleague,
    a_night_pattern_locks_the_operator_it_is_attributed_to,
    alerts_are_acknowledged_with_a_comment_only,
);

/// Runs `scenario` on a fresh SQLite file or PostgreSQL database, with the database's URL (to
/// open a second pool on it, as another instance would).
async fn with_store<F, Fut>(postgres: bool, scenario: F)
where
    F: FnOnce(Store, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if !postgres {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        scenario(Store::connect(&url).await.unwrap(), url).await;
        return;
    }
    let admin_url = std::env::var("DCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("dcc_test_{}", uuid::Uuid::new_v4().simple());
    let url = dcc_store::provision::create_postgres_database(&admin_url, &name)
        .await
        .unwrap_or_else(|error| {
            panic!("PostgreSQL is needed at {admin_url} (DCC_TEST_POSTGRES_URL): {error}")
        });
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    let outcome = tokio::spawn(scenario(store.clone(), url)).await;
    store.close().await;
    dcc_store::provision::drop_postgres_database(&admin_url, &name)
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// Local winter time (CET, UTC+1) as unix seconds; March 2026 before the switch.
fn local(at: PrimitiveDateTime) -> i64 {
    at.assume_utc().unix_timestamp() - 3600
}

async fn register(store: &Store, telematik_id: &str, segment: &str) {
    let mut tx = store.begin().await.unwrap();
    pharmacies::insert(
        &mut tx,
        &NewPharmacy {
            telematik_id,
            name: "Test-Apotheke",
            address: "Teststraße 1, 80331 München",
            issuer_segment: segment,
            now: 0,
        },
    )
    .await
    .unwrap();
    dcc_store::commit(tx).await.unwrap();
}

fn detection(settings: AnomalySettings) -> Arc<AnomalyDetection> {
    Arc::new(AnomalyDetection::new(settings).unwrap())
}

fn recorder(store: &Store, settings: AnomalySettings) -> Recorder {
    Recorder::start(
        store.clone(),
        RecordPolicy {
            limits: RateLimits::unlimited(),
            anomaly: Some(detection(settings)),
        },
    )
}

fn entry(n: usize, telematik_id: &str, at: i64) -> LedgerEntry {
    LedgerEntry {
        uvci: format!("URN:UVCI:01:DE:APO1/A{n:05}#X"),
        telematik_id: telematik_id.to_owned(),
        certificate_type: CertificateType::Vaccination,
        product: "EU/1/20/1528".to_owned(),
        dose_number: Some(2),
        total_doses: Some(2),
        event_date: "2026-02-01".to_owned(),
        kid: "DEsVUSvpFAE=".to_owned(),
        uci_hash: format!("{n:064x}"),
        issued_at: at,
        expires_at: at + 86_400,
        idempotency_key: None,
        request_hash: format!("{n:064x}"),
        revoked_at: None,
        revocation_reason: None,
        holder_key: Some(format!("{n:064}")),
        country_code_uci_hash: None,
        signature_hash: None,
        operator_id: None,
    }
}

fn record(entry: LedgerEntry) -> IssuedRecord {
    IssuedRecord {
        hc1: format!("HC1:{}", entry.uvci),
        keep_until: entry.issued_at + 3600,
        at: entry.issued_at,
        entry,
    }
}

async fn audit_kinds(store: &Store) -> Vec<String> {
    dcc_store::audit::entries(store.pool(), 0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| format!("{} {}", entry.kind, entry.detail))
        .filter(|line| !line.starts_with("certificate_issued"))
        .collect()
}

async fn night_issuing_warns_then_locks_the_pharmacy(store: Store, _url: String) {
    register(&store, PHARMACY, "APO1").await;
    let recorder = recorder(&store, AnomalySettings::default());
    // Tuesday 10 March 2026, from 22:10, one every ten minutes.
    let night = local(datetime!(2026-03-10 22:10));
    for n in 0..5 {
        let outcome = recorder
            .issued(record(entry(n, PHARMACY, night + n as i64 * 600)))
            .await
            .unwrap();
        assert_eq!(outcome, RecordOutcome::Recorded, "certificate {n}");
    }
    // Once detection has evaluated the fifth, the sixth is locked.
    recorder.settled().await.unwrap();
    let sixth = recorder
        .issued(record(entry(5, PHARMACY, night + 3000)))
        .await
        .unwrap();
    assert_eq!(
        sixth,
        RecordOutcome::Locked {
            reason: "anomaly_off_hours_repeated".into()
        }
    );
    let open = alerts::list(&store, true, 10).await.unwrap();
    let rules: Vec<(&str, &str, &str)> = open
        .iter()
        .map(|a| {
            (
                a.rule.as_str(),
                a.severity.as_str(),
                a.action_taken.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("off_hours_repeated", "critical", "lock_pharmacy"),
            ("off_hours", "warning", "warn"),
        ]
    );
    assert_eq!(open[0].evidence["certificates"], 5);
    assert_eq!(open[0].evidence["first"], "2026-03-10T22:10");
    assert_eq!(open[0].operator_id, None);
    let lock = locks::list(store.pool()).await.unwrap();
    assert_eq!(lock.len(), 1);
    assert_eq!(lock[0].scope, LockScope::Pharmacy(PHARMACY.into()));
    assert_eq!(lock[0].comment, format!("alert {}", open[0].id));
    let kinds = audit_kinds(&store).await;
    assert_eq!(
        kinds,
        [
            format!(
                r#"anomaly_alert_raised {{"alert_id":{},"rule":"off_hours","action":"warn","operator":null}}"#,
                open[1].id
            ),
            format!(
                r#"anomaly_alert_raised {{"alert_id":{},"rule":"off_hours_repeated","action":"lock_pharmacy","operator":null}}"#,
                open[0].id
            ),
            r#"issuance_locked {"scope":"pharmacy","reason":"anomaly_off_hours_repeated","by":"anomaly_detection"}"#
                .to_owned(),
        ]
    );
    let stats = recorder.anomaly().unwrap().stats();
    assert!(stats.raised.contains(&("off_hours_repeated", 1)));
    assert!(stats.actions.contains(&("lock_pharmacy", 1)));
    assert_eq!(stats.failures, 0);
    let chain = dcc_store::audit::verify_chain(&store).await.unwrap();
    assert_eq!(chain.first_broken, None);
}

async fn two_writers_on_one_database_make_one_alert_per_pattern(store: Store, url: String) {
    register(&store, PHARMACY, "APO1").await;
    let second_store = Store::connect(&url).await.unwrap();
    let settings = AnomalySettings {
        refresh_seconds: 0,
        ..AnomalySettings::default()
    };
    let writers = [
        recorder(&store, settings.clone()),
        recorder(&second_store, settings),
    ];
    // Sunday 8 March 2026 afternoon: four certificates through alternating writers, each
    // an off-hours occurrence; below the repeated threshold.
    let sunday = local(datetime!(2026-03-08 15:00));
    for n in 0..4 {
        let outcome = writers[n % 2]
            .issued(record(entry(n, PHARMACY, sunday + n as i64 * 60)))
            .await
            .unwrap();
        assert_eq!(outcome, RecordOutcome::Recorded);
    }
    for writer in &writers {
        writer.settled().await.unwrap();
    }
    let all = alerts::list(&store, false, 10).await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].rule, "off_hours");
    assert_eq!(all[0].occurrences, 4);
    assert_eq!(all[0].evidence["closed"], "sunday");
    let raised = audit_kinds(&store)
        .await
        .iter()
        .filter(|line| line.starts_with("anomaly_alert_raised"))
        .count();
    assert_eq!(raised, 1);
    second_store.close().await;
}

async fn a_burst_throttles_the_pharmacy(store: Store, _url: String) {
    register(&store, PHARMACY, "APO1").await;
    let recorder = recorder(&store, AnomalySettings::default());
    // Wednesday 11 March 2026, 10:00: ten certificates within 90 seconds.
    let start = local(datetime!(2026-03-11 10:00));
    for n in 0..10 {
        let outcome = recorder
            .issued(record(entry(n, PHARMACY, start + n as i64 * 10)))
            .await
            .unwrap();
        assert_eq!(outcome, RecordOutcome::Recorded);
    }
    // Once detection has evaluated the tenth, the throttle is in force.
    recorder.settled().await.unwrap();
    let next = recorder
        .issued(record(entry(10, PHARMACY, start + 100)))
        .await
        .unwrap();
    assert_eq!(
        next,
        RecordOutcome::RateLimited(LimitExceeded::Burst { retry_after: 600 })
    );
    let open = alerts::list(&store, true, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].rule.as_str(), open[0].action_taken.as_str()),
        ("burst", "throttle")
    );
    let mut tx = store.begin().await.unwrap();
    let throttle = throttles::in_force(&mut tx, &[PHARMACY], start + 100)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(throttle[PHARMACY].until, start + 90 + 3600);
    assert!(
        audit_kinds(&store)
            .await
            .iter()
            .any(|line| line.starts_with("pharmacy_throttled"))
    );
    // An hour later the throttle is over.
    let later = recorder
        .issued(record(entry(11, PHARMACY, start + 90 + 3600)))
        .await
        .unwrap();
    assert_eq!(later, RecordOutcome::Recorded);
}

async fn volume_is_compared_with_the_ledgers_same_hours(store: Store, _url: String) {
    register(&store, PHARMACY, "APO1").await;
    register(&store, OTHER, "APO2").await;
    let spike = local(datetime!(2026-03-20 11:00));
    // Fourteen days of three certificates in the 10:00–11:00 hour, written directly.
    let mut history = Vec::new();
    for day in 1..=14i64 {
        for k in 0..3i64 {
            let n = 1000 + (day * 10 + k) as usize;
            history.push(entry(
                n,
                PHARMACY,
                spike - day * 86_400 + 3600 - 600 * (k + 1),
            ));
        }
    }
    let mut tx = store.begin().await.unwrap();
    ledger::insert_batch(&mut tx, &history).await.unwrap();
    tx.commit().await.unwrap();
    let recorder = recorder(&store, AnomalySettings::default());
    // 30 certificates between 11:00 and 11:58 (never 10 within two minutes).
    for n in 0..30 {
        recorder
            .issued(record(entry(n, PHARMACY, spike + n as i64 * 120)))
            .await
            .unwrap();
    }
    recorder.settled().await.unwrap();
    let open = alerts::list(&store, true, 10).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].rule, "volume_spike");
    assert_eq!(open[0].evidence["last_hour"], 30);
    assert_eq!(open[0].evidence["baseline_busiest"], 3);
}

async fn holder_history_is_read_from_the_ledger(store: Store, _url: String) {
    register(&store, PHARMACY, "APO1").await;
    register(&store, OTHER, "APO2").await;
    let recorder = recorder(&store, AnomalySettings::default());
    let day = local(datetime!(2026-03-11 10:00));
    let holder = "h".repeat(64);
    let mut second = entry(1, OTHER, day);
    second.holder_key = Some(holder.clone());
    second.event_date = "2026-02-01".into();
    recorder.issued(record(second)).await.unwrap();
    // Dose 1 dated after dose 2, at another pharmacy; and a vaccination in the future.
    let mut first = entry(2, PHARMACY, day + 600);
    first.holder_key = Some(holder);
    first.dose_number = Some(1);
    first.event_date = "2026-03-01".into();
    recorder.issued(record(first)).await.unwrap();
    let mut future = entry(3, PHARMACY, day + 1200);
    future.event_date = "2026-04-01".into();
    recorder.issued(record(future)).await.unwrap();
    recorder.settled().await.unwrap();

    let open = alerts::list(&store, true, 10).await.unwrap();
    let rules: Vec<&str> = open.iter().map(|a| a.rule.as_str()).collect();
    assert_eq!(rules, ["implausible_content", "dose_sequence"]);
    assert_eq!(
        open[1].evidence["conflicting_uvcis"],
        serde_json::json!(["URN:UVCI:01:DE:APO1/A00001#X"])
    );
    assert_eq!(open[1].telematik_id, PHARMACY);
    assert_eq!(
        open[0].evidence["warnings"],
        serde_json::json!(["vaccination_in_future"])
    );
    for alert in &open {
        assert!(
            !alert.evidence.to_string().contains("hhhh"),
            "no holder key in evidence"
        );
    }
}

async fn one_holder_many_times_is_one_alert(store: Store, _url: String) {
    register(&store, PHARMACY, "APO1").await;
    let recorder = recorder(&store, AnomalySettings::default());
    let day = local(datetime!(2026-03-11 10:00));
    for n in 0..8 {
        let mut same = entry(n, PHARMACY, day + n as i64 * 300);
        same.holder_key = Some("s".repeat(64));
        let outcome = recorder.issued(record(same)).await.unwrap();
        assert_eq!(outcome, RecordOutcome::Recorded);
        // One detection round per certificate (a round takes every batch waiting for it, so
        // without this the number of refreshes would follow the timing).
        recorder.settled().await.unwrap();
    }
    let open = alerts::list(&store, true, 10).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].rule, "holder_repeated");
    assert_eq!(open[0].subject, "URN:UVCI:01:DE:APO1/A00000#X");
    // Raised at the fourth, refreshed at the next ones (five minutes apart, beyond
    // refresh_seconds).
    assert_eq!(open[0].occurrences, 5);
    assert_eq!(open[0].evidence["certificates"], 8);
}

async fn operator(store: &Store, username: &str) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let id = dcc_store::operators::insert(
        &mut tx,
        &dcc_store::operators::NewOperator {
            scope: PHARMACY,
            username,
            role: "pharmacist",
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            totp_secret: None,
            created_at: 0,
        },
    )
    .await
    .unwrap();
    dcc_store::commit(tx).await.unwrap();
    id
}

/// With `off_hours` set to `lock_operator`, the operator who issued on a Sunday is locked; a
/// colleague of the same pharmacy issues on.
async fn lock_operator_stops_the_operator_not_the_colleague(store: Store, _url: String) {
    register(&store, PHARMACY, "APO1").await;
    let insider = operator(&store, "pta").await;
    let colleague = operator(&store, "apothekerin").await;
    let mut settings = AnomalySettings::default();
    settings.off_hours.action = dcc_anomaly::action::Action::LockOperator;
    let recorder = recorder(&store, settings);
    let sunday = local(datetime!(2026-03-08 12:00));
    let by = |n: usize, operator_id: i64, at: i64| {
        let mut certificate = entry(n, PHARMACY, at);
        certificate.operator_id = Some(operator_id);
        record(certificate)
    };
    let first = recorder.issued(by(0, insider, sunday)).await.unwrap();
    assert_eq!(first, RecordOutcome::Recorded);
    recorder.settled().await.unwrap();
    let again = recorder.issued(by(1, insider, sunday + 60)).await.unwrap();
    assert_eq!(
        again,
        RecordOutcome::Locked {
            reason: "anomaly_off_hours".into()
        }
    );
    let monday = local(datetime!(2026-03-09 09:00));
    let other = recorder.issued(by(2, colleague, monday)).await.unwrap();
    assert_eq!(other, RecordOutcome::Recorded);
    let in_force = locks::list(store.pool()).await.unwrap();
    assert_eq!(in_force.len(), 1);
    assert_eq!(in_force[0].scope, LockScope::Operator(insider.to_string()));
    let open = alerts::list(&store, true, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].operator_id, Some(insider.to_string()));
    assert_eq!(open[0].evidence["operator"], insider.to_string());
}

/// `off_hours_repeated` counts the pharmacy's night certificates (whoever's account), reads
/// who issued them from the ledger once it fires, and with `lock_operator` locks the operator
/// who issued most of them; the colleague issues on.
async fn a_night_pattern_locks_the_operator_it_is_attributed_to(store: Store, _url: String) {
    register(&store, PHARMACY, "APO1").await;
    let insider = operator(&store, "pta").await;
    let colleague = operator(&store, "apothekerin").await;
    let mut settings = AnomalySettings::default();
    settings.off_hours_repeated.action = dcc_anomaly::action::Action::LockOperator;
    let recorder = recorder(&store, settings);
    let by = |n: usize, operator_id: i64, at: i64| {
        let mut certificate = entry(n, PHARMACY, at);
        certificate.operator_id = Some(operator_id);
        record(certificate)
    };
    // Tuesday 10 March 2026: the colleague's late certificate at 21:05, then the insider's.
    let night = local(datetime!(2026-03-10 21:05));
    let late = recorder.issued(by(0, colleague, night)).await.unwrap();
    assert_eq!(late, RecordOutcome::Recorded);
    for n in 1..=4 {
        let outcome = recorder
            .issued(by(n, insider, night + 3600 + n as i64 * 300))
            .await
            .unwrap();
        assert_eq!(outcome, RecordOutcome::Recorded, "certificate {n}");
    }
    recorder.settled().await.unwrap();
    let next = recorder
        .issued(by(5, insider, night + 3600 + 1800))
        .await
        .unwrap();
    assert_eq!(
        next,
        RecordOutcome::Locked {
            reason: "anomaly_off_hours_repeated".into()
        }
    );
    // The colleague issues on (the next morning, so that the night's pattern is not refreshed),
    // and detection has looked at that batch before the alerts are read.
    let morning = local(datetime!(2026-03-11 09:00));
    let colleague_goes_on = recorder.issued(by(6, colleague, morning)).await.unwrap();
    assert_eq!(colleague_goes_on, RecordOutcome::Recorded);
    recorder.settled().await.unwrap();
    let in_force = locks::list(store.pool()).await.unwrap();
    assert_eq!(in_force.len(), 1);
    assert_eq!(in_force[0].scope, LockScope::Operator(insider.to_string()));
    let open = alerts::list(&store, true, 10).await.unwrap();
    let repeated = open
        .iter()
        .find(|alert| alert.rule == "off_hours_repeated")
        .unwrap();
    assert_eq!(repeated.operator_id, Some(insider.to_string()));
    assert_eq!(
        repeated.evidence["attributed_operator"],
        insider.to_string()
    );
    assert_eq!(
        repeated.evidence["operators"],
        serde_json::json!([
            {"operator": insider.to_string(), "certificates": 4},
            {"operator": colleague.to_string(), "certificates": 1},
        ])
    );
}

async fn alerts_are_acknowledged_with_a_comment_only(store: Store, _url: String) {
    register(&store, PHARMACY, "APO1").await;
    let recorder = recorder(&store, AnomalySettings::default());
    let sunday = local(datetime!(2026-03-08 12:00));
    recorder
        .issued(record(entry(0, PHARMACY, sunday)))
        .await
        .unwrap();
    recorder.settled().await.unwrap();
    let open = alerts::list(&store, true, 10).await.unwrap();
    let id = open[0].id;

    for comment in [None, Some(""), Some("   ")] {
        let error = alerts::acknowledge(&store, id, VERBAND, comment, sunday + 60)
            .await
            .unwrap_err();
        assert!(matches!(error, AlertError::CommentRequired), "{error:?}");
        assert_eq!(error.code(), "comment_required");
    }
    let error = alerts::acknowledge(&store, id, VERBAND, Some("a\u{7}b"), sunday + 60)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid_comment");
    for name in [" ", "operator:1"] {
        let by = Acknowledger::CommandLine { name };
        let error = alerts::acknowledge(&store, id, by, Some("ok"), sunday + 60)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_acknowledged_by", "{name}");
    }
    // Nothing changed.
    assert_eq!(alerts::list(&store, true, 10).await.unwrap().len(), 1);

    let acknowledged = alerts::acknowledge(
        &store,
        id,
        VERBAND,
        Some("Notdienst, Inhaber bestätigt"),
        sunday + 120,
    )
    .await
    .unwrap();
    assert_eq!(acknowledged.acknowledged_by.as_deref(), Some("verband"));
    assert_eq!(
        acknowledged.comment.as_deref(),
        Some("Notdienst, Inhaber bestätigt")
    );
    assert!(alerts::list(&store, true, 10).await.unwrap().is_empty());
    assert!(matches!(
        alerts::acknowledge(&store, id, VERBAND, Some("again"), sunday + 180).await,
        Err(AlertError::AlreadyAcknowledged(found)) if found == id
    ));
    assert!(matches!(
        alerts::acknowledge(&store, 9999, VERBAND, Some("x"), sunday + 180).await,
        Err(AlertError::NotFound(9999))
    ));
    let kinds = audit_kinds(&store).await;
    assert_eq!(
        kinds.last().unwrap(),
        &format!(
            r#"anomaly_alert_acknowledged {{"alert_id":{id},"rule":"off_hours","by":"cli","name":"verband"}}"#
        )
    );
    assert!(
        !kinds.iter().any(|line| line.contains("Notdienst")),
        "the comment stays with the alert"
    );
    assert_eq!(alerts::acknowledging_operator(&acknowledged), None);

    // An administrator's acknowledgement records the operator id, in the alert and the log.
    let evidence = serde_json::json!({"certificates": 1});
    let mut tx = store.begin().await.unwrap();
    let written = dcc_store::alerts::raise_or_refresh(
        &mut tx,
        &dcc_store::alerts::NewAlert {
            rule: "burst",
            severity: "high",
            telematik_id: PHARMACY,
            operator_id: None,
            subject: "",
            open_key: "burst|admin-test",
            window_start: sunday,
            window_end: sunday + 60,
            evidence: &evidence,
            action: "warn",
            occurrences: 1,
            at: sunday + 200,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let dcc_store::alerts::AlertWrite::Raised(second) = written else {
        panic!("a new alert: {written:?}");
    };
    let administrator = OperatorRef {
        id: 31,
        username: "ada".into(),
        role: dcc_auth::role::Role::Administrator,
    };
    let acknowledged = alerts::acknowledge(
        &store,
        second,
        Acknowledger::Administrator(&administrator),
        Some("Apotheke angerufen"),
        sunday + 240,
    )
    .await
    .unwrap();
    assert_eq!(acknowledged.acknowledged_by.as_deref(), Some("operator:31"));
    assert_eq!(alerts::acknowledging_operator(&acknowledged), Some(31));
    assert_eq!(
        audit_kinds(&store).await.last().unwrap(),
        &format!(r#"anomaly_alert_acknowledged {{"alert_id":{second},"rule":"burst","by":31}}"#)
    );
}
