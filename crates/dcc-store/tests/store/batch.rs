//! Group-commit writes: multi-row ledger and response inserts, batched audit appends, and the
//! status check of several pharmacies at once.

use std::collections::HashSet;

use dcc_store::audit::{self, AuditRecord};
use dcc_store::ledger::{self, KeptResponse, LedgerEntry};
use dcc_store::pharmacies::{self, PharmacyStatus};
use serde_json::json;

use crate::support::{PHARMACY_A, PHARMACY_B, T0, TestDb, add_pharmacy, vaccination};

fn numbered(n: usize, key: Option<String>) -> LedgerEntry {
    LedgerEntry {
        idempotency_key: key,
        uci_hash: format!("{n:064x}"),
        ..vaccination(&format!("URN:UVCI:01:DE:APO1/B{n:05}#X"), PHARMACY_A, None)
    }
}

pub async fn ledger_insert_batch_skips_taken_keys(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    // Committed earlier: one UVCI and one idempotency key the batch will collide with.
    let mut tx = db.store.begin().await.unwrap();
    ledger::insert(&mut tx, &numbered(0, Some("taken".to_owned())))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // 150 rows cross the 64-row chunk size twice.
    let mut batch: Vec<LedgerEntry> = (1..=150).map(|n| numbered(n, None)).collect();
    batch[10].uvci = numbered(0, None).uvci; // UVCI taken
    batch[20].idempotency_key = Some("taken".to_owned()); // key taken before
    batch[30].idempotency_key = Some("twice".to_owned()); // key twice in the batch:
    batch[140].idempotency_key = Some("twice".to_owned()); // the first one wins
    let mut tx = db.store.begin().await.unwrap();
    let inserted = ledger::insert_batch(&mut tx, &batch).await.unwrap();
    tx.commit().await.unwrap();

    let skipped: HashSet<&str> = [10, 20, 140]
        .iter()
        .map(|&i| batch[i].uvci.as_str())
        .collect();
    let expected: HashSet<String> = batch
        .iter()
        .map(|entry| entry.uvci.clone())
        .filter(|uvci| !skipped.contains(uvci.as_str()))
        .collect();
    assert_eq!(inserted.len(), 147);
    assert_eq!(inserted, expected);
    for entry in &batch {
        let stored = ledger::find_by_uvci(db.store.pool(), &entry.uvci)
            .await
            .unwrap();
        if entry.uvci == batch[10].uvci {
            assert_eq!(stored, Some(numbered(0, Some("taken".to_owned()))));
        } else if skipped.contains(entry.uvci.as_str()) {
            assert_eq!(stored, None, "{} must not be stored", entry.uvci);
        } else {
            assert_eq!(stored.as_ref(), Some(entry));
        }
    }
}

pub async fn responses_insert_in_batches(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let entries: Vec<LedgerEntry> = (1..=130).map(|n| numbered(n, None)).collect();
    let texts: Vec<String> = (1..=130).map(|n| format!("HC1:TEXT{n}")).collect();
    let responses: Vec<KeptResponse<'_>> = entries
        .iter()
        .zip(&texts)
        .map(|(entry, hc1)| KeptResponse {
            uvci: &entry.uvci,
            hc1,
            keep_until: T0 + 100,
        })
        .collect();
    let mut tx = db.store.begin().await.unwrap();
    ledger::insert_batch(&mut tx, &entries).await.unwrap();
    ledger::insert_responses(&mut tx, &responses).await.unwrap();
    tx.commit().await.unwrap();

    for (entry, hc1) in entries.iter().zip(&texts) {
        let kept = ledger::find_response(db.store.pool(), &entry.uvci, T0)
            .await
            .unwrap();
        assert_eq!(kept.as_deref(), Some(hc1.as_str()));
    }
}

pub async fn audit_append_batch_continues_the_chain(db: TestDb) {
    let detail = |n: i64| json!({ "n": n });
    let record = |n: i64| AuditRecord {
        at: T0 + n,
        kind: "certificate_issued",
        telematik_id: (n % 2 == 0).then_some(PHARMACY_A),
        uvci: None,
        detail: detail(n),
    };
    let mut tx = db.store.begin().await.unwrap();
    let first = audit::append(&mut tx, &record(1)).await.unwrap();
    // 250 entries cross the 100-row chunk size twice.
    let batch: Vec<AuditRecord<'_>> = (2..=251).map(record).collect();
    let appended = audit::append_batch(&mut tx, &batch).await.unwrap();
    let last = audit::append(&mut tx, &record(252)).await.unwrap();
    assert!(audit::append_batch(&mut tx, &[]).await.unwrap().is_empty());
    tx.commit().await.unwrap();

    assert_eq!(first.seq, 1);
    let seqs: Vec<i64> = appended.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, (2..=251).collect::<Vec<_>>());
    assert_eq!(appended[0].prev_hash, first.hash);
    assert_eq!(last.seq, 252);
    assert_eq!(last.prev_hash, appended[249].hash);
    let stored = audit::entries(db.store.pool(), 1, 250).await.unwrap();
    assert_eq!(stored, appended);
    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(report.entries, 252);
    assert_eq!(report.first_broken, None);
}

pub async fn pharmacies_active_among(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    add_pharmacy(&db.store, PHARMACY_B, "APO2").await;
    add_pharmacy(&db.store, "3-SMC-B-Testkarte-883110000000003", "APO3").await;
    let mut tx = db.store.begin().await.unwrap();
    pharmacies::set_status(&mut tx, PHARMACY_B, PharmacyStatus::Suspended, T0 + 1)
        .await
        .unwrap();
    let active = pharmacies::active_among(
        &mut tx,
        &[
            PHARMACY_A,
            PHARMACY_B,
            "3-SMC-B-unknown",
            "3-SMC-B-Testkarte-883110000000003",
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let expected: HashSet<String> = [PHARMACY_A, "3-SMC-B-Testkarte-883110000000003"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(active, expected);
}
