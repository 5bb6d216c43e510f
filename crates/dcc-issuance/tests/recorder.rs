//! The group-commit writer on both backends: concurrent certificates share transactions, each
//! gets its own outcome, and the ledger and the audit chain hold exactly what was answered.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;

use dcc_issuance::audit::AuditEvent;
use dcc_issuance::recorder::{IssuedRecord, RecordOutcome, Recorder};
use dcc_store::ledger::{self, CertificateType, LedgerEntry};
use dcc_store::pharmacies::{self, NewPharmacy, PharmacyStatus};
use dcc_store::{Backend, Store};

const ACTIVE: &str = "3-SMC-B-Testkarte-883110000095954";
const SUSPENDED: &str = "3-SMC-B-Testkarte-883110000129068";
const T0: i64 = 1_767_225_600;
const JOBS: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_records_share_batches() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    concurrent_records_share_batches(Store::connect(&url).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_records_share_batches() {
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
    let outcome = tokio::spawn(concurrent_records_share_batches(store.clone())).await;
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
    let recorder = Recorder::start(store.clone());

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
        let mut pair_outcomes = [outcomes[&pair[0]], outcomes[&pair[1]]];
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
