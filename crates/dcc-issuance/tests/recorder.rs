//! The group-commit writer on both backends: concurrent certificates share transactions, each
//! gets its own outcome, and the ledger and the audit chain hold exactly what was answered.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dcc_issuance::audit::AuditEvent;
use dcc_issuance::kill_switch::{self, KillSwitchError};
use dcc_issuance::limits::{LimitExceeded, RateLimits};
use dcc_issuance::operators::{Actor, OperatorRef};
use dcc_issuance::recorder::{
    IssuedRecord, RecordError, RecordOutcome, RecordPolicy, Recorder, WriteTiming, WriterSettings,
};
use dcc_store::ledger::{self, CertificateType, LedgerEntry};
use dcc_store::locks::LockScope;
use dcc_store::pharmacies::{self, NewPharmacy, PharmacyStatus};
use dcc_store::{Backend, Store, StoreOptions};

const ACTIVE: &str = "3-SMC-B-Testkarte-883110000095954";
const SUSPENDED: &str = "3-SMC-B-Testkarte-883110000129068";
const T0: i64 = 1_767_225_600;
const JOBS: usize = 300;

/// One `#[tokio::test]` per backend for each scenario.
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
    concurrent_records_share_batches,
    locks_stop_exactly_their_scope,
    rate_limits_count_the_ledger_and_the_batch,
);

/// Runs `scenario` on a fresh SQLite file or PostgreSQL database.
async fn with_store<F, Fut>(postgres: bool, scenario: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if !postgres {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        scenario(Store::connect(&url).await.unwrap()).await;
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
    let outcome = tokio::spawn(scenario(store.clone())).await;
    store.close().await;
    dcc_store::provision::drop_postgres_database(&admin_url, &name)
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// `JOBS` certificates at once: every tenth for a suspended pharmacy, two pairs sharing an
/// idempotency key, and an audit-only event among them.
async fn concurrent_records_share_batches(store: Store) {
    register(&store, ACTIVE, "APO1", PharmacyStatus::Active).await;
    register(&store, SUSPENDED, "APO2", PharmacyStatus::Suspended).await;
    let policy = RecordPolicy::limits_only(RateLimits::unlimited());
    let recorder = Recorder::start(store.clone(), policy);

    let mut tasks = Vec::new();
    for n in 0..JOBS {
        let recorder = recorder.clone();
        tasks.push(tokio::spawn(async move {
            let outcome = recorder.issued(record(n)).await.unwrap();
            (n, outcome)
        }));
    }
    let event = AuditEvent::IssuanceRejected {
        telematik_id: Some(ACTIVE.to_owned()),
        code: "invalid_fields",
    };
    recorder.audit(event, T0).await.unwrap();
    let mut outcomes = HashMap::new();
    for task in tasks {
        let (n, outcome) = task.await.unwrap();
        outcomes.insert(n, outcome);
    }

    let mut recorded = 0;
    for n in (0..JOBS).filter(|n| !(1..=4).contains(n)) {
        let expected = if n.is_multiple_of(10) {
            RecordOutcome::PharmacyNotActive
        } else {
            RecordOutcome::Recorded
        };
        assert_eq!(outcomes[&n], expected, "job {n}");
        recorded += usize::from(expected == RecordOutcome::Recorded);
    }
    for pair in [[1, 2], [3, 4]] {
        let mut pair_outcomes = [outcomes[&pair[0]].clone(), outcomes[&pair[1]].clone()];
        pair_outcomes.sort_by_key(|outcome| *outcome != RecordOutcome::Recorded);
        assert_eq!(
            pair_outcomes,
            [RecordOutcome::Recorded, RecordOutcome::Conflict],
            "jobs {pair:?} share an idempotency key"
        );
        recorded += 1;
    }

    // The ledger holds exactly the recorded ones, each with its kept response.
    for n in 0..JOBS {
        let entry = record(n).entry;
        let stored = ledger::find_by_uvci(store.pool(), &entry.uvci)
            .await
            .unwrap();
        let kept = ledger::find_response(store.pool(), &entry.uvci, T0)
            .await
            .unwrap();
        if outcomes[&n] == RecordOutcome::Recorded {
            assert_eq!(stored, Some(entry), "job {n}");
            assert_eq!(kept, Some(format!("HC1:{n}")), "job {n}");
        } else {
            assert_eq!(stored, None, "job {n}");
            assert_eq!(kept, None, "job {n}");
        }
    }
    // One audit entry per recorded certificate plus the rejection, in one intact chain.
    let report = dcc_store::audit::verify_chain(&store).await.unwrap();
    assert_eq!(report.first_broken, None);
    assert_eq!(report.entries, u64::try_from(recorded + 1).unwrap());

    // Concurrent requests shared transactions.
    let stats = recorder.stats();
    assert_eq!(stats.jobs, u64::try_from(JOBS + 1).unwrap());
    assert!(
        stats.batches < stats.jobs / 2,
        "{} jobs in {} batches: the writer did not group them",
        stats.jobs,
        stats.batches
    );
    assert!(stats.largest_batch > 1);
}

fn record(n: usize) -> IssuedRecord {
    let telematik_id = if n.is_multiple_of(10) {
        SUSPENDED
    } else {
        ACTIVE
    };
    let idempotency_key = match n {
        1 | 2 => Some("pair-a".to_owned()),
        3 | 4 => Some("pair-b".to_owned()),
        _ => None,
    };
    IssuedRecord {
        entry: LedgerEntry {
            uvci: format!("URN:UVCI:01:DE:APO1/R{n:05}#X"),
            telematik_id: telematik_id.to_owned(),
            certificate_type: CertificateType::Vaccination,
            product: "EU/1/20/1528".to_owned(),
            dose_number: Some(1),
            total_doses: Some(2),
            event_date: "2021-06-01".to_owned(),
            kid: "DEsVUSvpFAE=".to_owned(),
            uci_hash: format!("{n:064x}"),
            issued_at: T0,
            expires_at: T0 + 86_400,
            idempotency_key,
            request_hash: format!("{:064x}", n / 2),
            revoked_at: None,
            revocation_reason: None,
            holder_key: None,
            country_code_uci_hash: None,
            signature_hash: None,
            operator_id: None,
        },
        hc1: format!("HC1:{n}"),
        keep_until: T0 + 3600,
        at: T0,
    }
}

async fn register(store: &Store, telematik_id: &str, segment: &str, status: PharmacyStatus) {
    let mut tx = store.begin().await.unwrap();
    pharmacies::insert(
        &mut tx,
        &NewPharmacy {
            telematik_id,
            name: "Apotheke",
            address: "Hauptstraße 1, 10115 Berlin",
            issuer_segment: segment,
            now: T0,
        },
    )
    .await
    .unwrap();
    pharmacies::set_status(&mut tx, telematik_id, status, T0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// A lock on one pharmacy stops only that pharmacy; a lock on all stops everyone; unlocking
/// lets them issue again. Locks are set through the use case, as `dcc lock` does.
async fn locks_stop_exactly_their_scope(store: Store) {
    const OTHER: &str = "3-SMC-B-Testkarte-883110000000003";
    register(&store, ACTIVE, "APO1", PharmacyStatus::Active).await;
    register(&store, OTHER, "APO3", PharmacyStatus::Active).await;
    let recorder = Recorder::start(
        store.clone(),
        RecordPolicy::limits_only(RateLimits::unlimited()),
    );
    let for_pharmacy = |n: usize, telematik_id: &str| {
        let mut record = record(n);
        record.entry.telematik_id = telematik_id.to_owned();
        record
    };
    let locked = |reason: &str| RecordOutcome::Locked {
        reason: reason.to_owned(),
    };

    // The command line locks one pharmacy, an administrator everyone.
    let administrator = Actor::Operator {
        operator: OperatorRef {
            id: 5,
            username: "ada".into(),
            role: dcc_auth::role::Role::Administrator,
        },
        scope: "*".into(),
    };
    kill_switch::lock(
        &store,
        &Actor::CommandLine,
        LockScope::Pharmacy(ACTIVE.to_owned()),
        "fraud_suspected",
        "night issuing",
        T0,
    )
    .await
    .unwrap();
    assert_eq!(
        recorder.issued(for_pharmacy(1, ACTIVE)).await.unwrap(),
        locked("fraud_suspected")
    );
    assert_eq!(
        recorder.issued(for_pharmacy(2, OTHER)).await.unwrap(),
        RecordOutcome::Recorded
    );

    kill_switch::lock(
        &store,
        &administrator,
        LockScope::All,
        "maintenance",
        "",
        T0 + 1,
    )
    .await
    .unwrap();
    assert_eq!(
        recorder.issued(for_pharmacy(3, OTHER)).await.unwrap(),
        locked("maintenance")
    );
    let listed = kill_switch::list(&store).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|lock| lock.scope.clone())
            .collect::<Vec<_>>(),
        [LockScope::All, LockScope::Pharmacy(ACTIVE.to_owned())]
    );
    assert_eq!(
        listed
            .iter()
            .map(|lock| lock.locked_by.as_str())
            .collect::<Vec<_>>(),
        ["operator:5", "cli"]
    );

    let lifted = kill_switch::unlock(&store, &administrator, LockScope::All, T0 + 2)
        .await
        .unwrap();
    assert_eq!(
        lifted.map(|lock| lock.reason),
        Some("maintenance".to_owned())
    );
    assert_eq!(
        kill_switch::unlock(&store, &administrator, LockScope::All, T0 + 3)
            .await
            .unwrap(),
        None
    );
    kill_switch::unlock(
        &store,
        &Actor::CommandLine,
        LockScope::Pharmacy(ACTIVE.to_owned()),
        T0 + 4,
    )
    .await
    .unwrap();
    assert_eq!(
        recorder.issued(for_pharmacy(4, ACTIVE)).await.unwrap(),
        RecordOutcome::Recorded
    );
    assert!(matches!(
        kill_switch::lock(
            &store,
            &Actor::CommandLine,
            LockScope::All,
            "Fraud!",
            "",
            T0
        )
        .await,
        Err(KillSwitchError::InvalidReason(_))
    ));

    // Nothing of the locked ones reached the ledger; every change that changed something is in
    // the audit chain (the second unlock of `all` lifted nothing and recorded nothing).
    for n in [1, 3] {
        let uvci = record(n).entry.uvci;
        assert_eq!(
            ledger::find_by_uvci(store.pool(), &uvci).await.unwrap(),
            None
        );
    }
    let entries = dcc_store::audit::entries(store.pool(), 0, 100)
        .await
        .unwrap();
    let kinds: Vec<&str> = entries.iter().map(|entry| entry.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "issuance_locked",
            "certificate_issued",
            "issuance_locked",
            "issuance_unlocked",
            "issuance_unlocked",
            "certificate_issued",
        ]
    );
    assert_eq!(entries[0].telematik_id.as_deref(), Some(ACTIVE));
    assert_eq!(
        entries[0].detail,
        r#"{"scope":"pharmacy","reason":"fraud_suspected","by":"cli"}"#
    );
    assert_eq!(
        entries[2].detail,
        r#"{"scope":"all","reason":"maintenance","by":5}"#
    );
    assert_eq!(
        entries[3].detail,
        r#"{"scope":"all","reason":"maintenance","by":5}"#
    );
}

/// The burst ceiling counts certificates already in the ledger and those accepted earlier in
/// the same batch; the daily ceiling counts the last 24 hours only.
async fn rate_limits_count_the_ledger_and_the_batch(store: Store) {
    register(&store, ACTIVE, "APO1", PharmacyStatus::Active).await;
    let recorder = Recorder::start(
        store.clone(),
        RecordPolicy::limits_only(RateLimits {
            pharmacy_per_day: 5,
            pharmacy_burst: 3,
            burst_window_seconds: 600,
            ..RateLimits::unlimited()
        }),
    );
    let at = |n: usize, time: i64| {
        let mut record = record(n);
        record.entry.telematik_id = ACTIVE.to_owned();
        record.entry.idempotency_key = None;
        record.at = time;
        record.entry.issued_at = time;
        record
    };
    // Two days ago: outside both windows.
    for n in 30..33 {
        assert_eq!(
            recorder.issued(at(n, T0 - 2 * 86_400)).await.unwrap(),
            RecordOutcome::Recorded
        );
    }
    // Five at once at T0: three fit the burst window, whichever batch they land in.
    let tasks: Vec<_> = (10..15)
        .map(|n| {
            let recorder = recorder.clone();
            tokio::spawn(async move { recorder.issued(at(n, T0)).await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let recorded = outcomes
        .iter()
        .filter(|outcome| **outcome == RecordOutcome::Recorded)
        .count();
    assert_eq!(recorded, 3, "{outcomes:?}");
    assert!(outcomes.iter().all(|outcome| matches!(
        outcome,
        RecordOutcome::Recorded
            | RecordOutcome::RateLimited(LimitExceeded::Burst { retry_after: 600 })
    )));
    // After the burst window two more fit the day, then the daily ceiling holds.
    assert_eq!(
        recorder.issued(at(20, T0 + 601)).await.unwrap(),
        RecordOutcome::Recorded
    );
    assert_eq!(
        recorder.issued(at(21, T0 + 602)).await.unwrap(),
        RecordOutcome::Recorded
    );
    assert_eq!(
        recorder.issued(at(22, T0 + 1_300)).await.unwrap(),
        RecordOutcome::RateLimited(LimitExceeded::Daily { retry_after: 3_600 })
    );
}

#[expect(clippy::disallowed_methods, reason = "the tests measure waits")]
fn instant() -> Instant {
    Instant::now()
}

/// Writer settings that count transactions, bounded by `write_timeout`.
fn counted(write_timeout: Duration) -> (WriterSettings, Arc<AtomicUsize>) {
    let transactions = Arc::new(AtomicUsize::new(0));
    let counter = transactions.clone();
    let settings = WriterSettings {
        write_timeout: Some(write_timeout),
        timing: Some(WriteTiming {
            now: instant,
            observe: Arc::new(move |_, _| {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        }),
    };
    (settings, transactions)
}

/// Submits `count` records at once; every outcome.
async fn submit_all(recorder: &Recorder, count: usize) -> Vec<Result<RecordOutcome, RecordError>> {
    let handles: Vec<_> = (1..=count)
        .map(|n| {
            let recorder = recorder.clone();
            tokio::spawn(async move { recorder.issued(record(n * 10 + 1)).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    outcomes
}

/// With no connection to be had, a batch fails as a whole after one acquire wait, instead of
/// retrying its jobs one wait at a time; once a connection is free again, writes succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_fails_the_whole_batch_after_one_wait() {
    // An in-memory SQLite store has exactly one connection; a held transaction takes it.
    let options = StoreOptions {
        acquire_timeout: Duration::from_millis(300),
    };
    let store = Store::connect_with("sqlite::memory:", options)
        .await
        .unwrap();
    register(&store, ACTIVE, "APO1", PharmacyStatus::Active).await;
    let (settings, transactions) = counted(Duration::from_secs(10));
    let recorder = Recorder::start_with(store.clone(), policy(), settings);
    let held = store.begin().await.unwrap();
    let started = instant();
    let outcomes = submit_all(&recorder, 8).await;
    let waited = started.elapsed();
    for outcome in &outcomes {
        match outcome {
            Err(RecordError::Store(error)) => assert!(error.is_unavailable(), "{error:?}"),
            other => panic!("expected store unavailable, got {other:?}"),
        }
    }
    // One by one, eight jobs would wait 8 × 300 ms.
    assert!(waited < Duration::from_millis(1500), "{waited:?}");
    let failed_transactions = transactions.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&failed_transactions),
        "{failed_transactions}"
    );
    drop(held);
    assert_eq!(
        recorder.issued(record(1)).await.unwrap(),
        RecordOutcome::Recorded
    );
    assert_eq!(
        ledger::count_by_pharmacy(store.pool(), ACTIVE, 0, i64::MAX)
            .await
            .unwrap(),
        1
    );
}

/// A transaction that does not finish (here: waiting for a write lock held elsewhere, as a
/// database that stops answering would make it wait) is abandoned after the write timeout;
/// nothing of it remains and the next write succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_transaction_is_abandoned_after_the_write_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = Store::connect(&url).await.unwrap();
    register(&store, ACTIVE, "APO1", PharmacyStatus::Active).await;
    let (settings, transactions) = counted(Duration::from_millis(300));
    let recorder = Recorder::start_with(store.clone(), policy(), settings);
    // `BEGIN IMMEDIATE` takes SQLite's write lock; the writer's own waits for it.
    let held = store.begin().await.unwrap();
    let started = instant();
    let outcome = recorder.issued(record(1)).await;
    let waited = started.elapsed();
    assert!(
        matches!(&outcome, Err(RecordError::Store(error)) if error.is_unavailable()),
        "{outcome:?}"
    );
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(transactions.load(Ordering::SeqCst), 1);
    held.rollback().await.unwrap();
    assert_eq!(
        ledger::count_by_pharmacy(store.pool(), ACTIVE, 0, i64::MAX)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        recorder.issued(record(11)).await.unwrap(),
        RecordOutcome::Recorded
    );
}

fn policy() -> RecordPolicy {
    RecordPolicy::limits_only(RateLimits::unlimited())
}

/// On a SQLite file the writer takes SQLite's checkpoints out of its commits; the write-ahead
/// log must still start again from its beginning while writers keep it busy, instead of
/// growing for as long as the load lasts. The log's header counts those restarts (its
/// checkpoint sequence number, bytes 12..16), and every certificate answered is in the ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_starts_again_under_sustained_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    register(&store, ACTIVE, "APO1", PharmacyStatus::Active).await;
    let recorder = Recorder::start(
        store.clone(),
        RecordPolicy::limits_only(RateLimits::unlimited()),
    );
    let restarts = || {
        let header = std::fs::read(path.with_extension("db-wal")).unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    };
    let before = restarts();

    // Numbers from 11 on: no shared idempotency keys; multiples of ten (the suspended
    // pharmacy's) are skipped.
    let next = Arc::new(AtomicUsize::new(11));
    let until = instant() + Duration::from_secs(4);
    let writers: Vec<_> = (0..16)
        .map(|_| {
            let (recorder, next) = (recorder.clone(), next.clone());
            tokio::spawn(async move {
                let mut recorded = 0_u64;
                while instant() < until {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n.is_multiple_of(10) {
                        continue;
                    }
                    let outcome = recorder.issued(record(n)).await.unwrap();
                    assert_eq!(outcome, RecordOutcome::Recorded, "record {n}");
                    recorded += 1;
                }
                recorded
            })
        })
        .collect();
    let mut recorded = 0;
    for writer in writers {
        recorded += writer.await.unwrap();
    }
    recorder.settled().await.unwrap();

    let after = restarts();
    assert!(
        after >= before + 2,
        "the log started again {} times in 4 s of writing",
        after - before
    );
    assert!(recorded > 100, "{recorded}");
    assert_eq!(
        ledger::count_by_pharmacy(store.pool(), ACTIVE, 0, i64::MAX)
            .await
            .unwrap(),
        recorded
    );
}
