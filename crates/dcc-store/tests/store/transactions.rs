use dcc_store::audit::{self, AuditRecord, ChainReport};
use dcc_store::ledger;
use serde_json::json;

use crate::support::{PHARMACY_A, T0, TestDb, add_pharmacy, vaccination};

fn issued<'a>(uvci: &'a str) -> AuditRecord<'a> {
    AuditRecord {
        at: T0 + 60,
        kind: "certificate.issued",
        telematik_id: Some(PHARMACY_A),
        uvci: Some(uvci),
        detail: json!({ "type": "v", "dn": 2 }),
    }
}

pub async fn rollback_leaves_nothing(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let entry = vaccination("URN:UVCI:01:DE:APO1/1", PHARMACY_A, Some("k"));

    let mut tx = db.store.begin().await.unwrap();
    ledger::insert(&mut tx, &entry).await.unwrap();
    ledger::insert_response(&mut tx, &entry.uvci, "HC1:X", T0 + 100)
        .await
        .unwrap();
    let appended = audit::append(&mut tx, &issued(&entry.uvci)).await.unwrap();
    assert_eq!(appended.seq, 1);
    tx.rollback().await.unwrap();

    let pool = db.store.pool();
    assert_eq!(ledger::find_by_uvci(pool, &entry.uvci).await.unwrap(), None);
    assert_eq!(
        ledger::find_by_idempotency_key(pool, PHARMACY_A, "k")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        ledger::find_response(pool, &entry.uvci, T0).await.unwrap(),
        None
    );
    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(
        report,
        ChainReport {
            entries: 0,
            first_broken: None
        }
    );
    // The head was rolled back too: the next entry reuses seq 1 and the genesis hash.
    let mut tx = db.store.begin().await.unwrap();
    let next = audit::append(&mut tx, &issued(&entry.uvci)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(next.seq, 1);
    assert_eq!(next.prev_hash, "0".repeat(64));
}

pub async fn commit_keeps_action_and_audit_together(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let entry = vaccination("URN:UVCI:01:DE:APO1/1", PHARMACY_A, Some("k"));

    let mut tx = db.store.begin().await.unwrap();
    ledger::insert(&mut tx, &entry).await.unwrap();
    let appended = audit::append(&mut tx, &issued(&entry.uvci)).await.unwrap();
    tx.commit().await.unwrap();

    let stored = ledger::find_by_uvci(db.store.pool(), &entry.uvci)
        .await
        .unwrap();
    assert_eq!(stored, Some(entry));
    let detail: serde_json::Value = serde_json::from_str(&appended.detail).unwrap();
    assert_eq!(detail, serde_json::json!({"dn": 2, "type": "v"}));
    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(report.entries, 1);
    assert_eq!(report.first_broken, None);
}

/// A second write transaction of the same process waits while the first is open (on SQLite for
/// the one writer connection, on PostgreSQL for the audit head's row lock) and goes on as soon
/// as the first commits: both entries are in the chain, in order.
pub async fn concurrent_writers_queue_and_both_commit(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let mut first = db.store.begin().await.unwrap();
    let appended = audit::append(&mut first, &issued("URN:UVCI:01:DE:APO1/1"))
        .await
        .unwrap();
    assert_eq!(appended.seq, 1);

    let store = db.store.clone();
    let (done, finished) = tokio::sync::oneshot::channel();
    let second = tokio::spawn(async move {
        let mut tx = store.begin().await.unwrap();
        let appended = audit::append(&mut tx, &issued("URN:UVCI:01:DE:APO1/2"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let _ = done.send(());
        appended.seq
    });
    // The second cannot finish while the first holds the writer.
    let waited = tokio::time::timeout(std::time::Duration::from_millis(300), finished).await;
    assert!(
        waited.is_err(),
        "the second writer finished while the first was open"
    );
    let committed_at = tokio::time::Instant::now();
    first.commit().await.unwrap();
    let second_seq = second.await.unwrap();
    // It goes on promptly once the first has committed.
    assert!(
        committed_at.elapsed() < std::time::Duration::from_millis(500),
        "{:?}",
        committed_at.elapsed()
    );
    assert_eq!(second_seq, 2);
    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(
        report,
        ChainReport {
            entries: 2,
            first_broken: None
        }
    );
}
