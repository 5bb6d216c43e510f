use dcc_store::Backend;
use dcc_store::audit::{self, AuditEntry, AuditRecord, BrokenLink, BrokenReason, ChainReport};
use serde_json::json;
use sqlx::AssertSqlSafe;

use crate::support::{PHARMACY_A, T0, TestDb};

fn record(index: i64) -> AuditRecord<'static> {
    AuditRecord {
        at: T0 + index,
        kind: if index % 2 == 0 {
            "pharmacy.suspended"
        } else {
            "certificate.issued"
        },
        telematik_id: if index % 3 == 0 {
            None
        } else {
            Some(PHARMACY_A)
        },
        uvci: if index % 2 == 0 {
            None
        } else {
            Some("URN:UVCI:01:DE:APO1/1")
        },
        detail: json!({ "index": index }),
    }
}

/// Appends `count` entries, all in one transaction.
async fn append_many(db: &TestDb, count: i64) -> Vec<AuditEntry> {
    let mut tx = db.store.begin().await.unwrap();
    let mut entries = Vec::new();
    for index in 1..=count {
        entries.push(audit::append(&mut tx, &record(index)).await.unwrap());
    }
    tx.commit().await.unwrap();
    entries
}

/// Removes an append-only trigger, as an attacker with DDL rights could.
async fn drop_trigger(db: &TestDb, trigger: &str) {
    let sql = match db.backend {
        Backend::Sqlite => format!("DROP TRIGGER {trigger}"),
        _ => format!("DROP TRIGGER {trigger} ON audit_log"),
    };
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(db.store.pool())
        .await
        .unwrap();
}

fn broken(entries: u64, seq: i64, reason: BrokenReason) -> ChainReport {
    ChainReport {
        entries,
        first_broken: Some(BrokenLink { seq, reason }),
    }
}

pub async fn audit_append_builds_valid_chain(db: TestDb) {
    let mut entries = append_many(&db, 3).await;
    for index in 4..=5 {
        let mut tx = db.store.begin().await.unwrap();
        entries.push(audit::append(&mut tx, &record(index)).await.unwrap());
        tx.commit().await.unwrap();
    }

    let seqs: Vec<i64> = entries.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(entries[0].prev_hash, "0".repeat(64));
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    assert_eq!(entries[2].telematik_id, None);
    assert_eq!(entries[1].uvci, None);
    assert_eq!(entries[3].detail, r#"{"index":4}"#);
    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(
        report,
        ChainReport {
            entries: 5,
            first_broken: None
        }
    );
}

pub async fn audit_update_and_delete_are_rejected(db: TestDb) {
    let entries = append_many(&db, 3).await;
    let pool = db.store.pool();

    let update = sqlx::query("UPDATE audit_log SET detail = $1 WHERE seq = 2")
        .bind("{}")
        .execute(pool)
        .await;
    let delete = sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(pool)
        .await;
    let delete_head = sqlx::query("DELETE FROM audit_head").execute(pool).await;

    assert!(update.is_err(), "UPDATE was accepted");
    assert!(delete.is_err(), "DELETE was accepted");
    assert!(delete_head.is_err(), "DELETE on audit_head was accepted");
    let message = update.unwrap_err().to_string();
    assert!(message.contains("append-only"), "{message}");
    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(report.entries, 3);
    assert_eq!(report.first_broken, None);
    let detail: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE seq = 2")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(detail, entries[1].detail);
}

pub async fn audit_tampered_detail_is_detected(db: TestDb) {
    append_many(&db, 5).await;
    drop_trigger(&db, "audit_log_no_update").await;

    let changed = sqlx::query("UPDATE audit_log SET detail = $1 WHERE seq = 3")
        .bind(r#"{"index":333}"#)
        .execute(db.store.pool())
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 1);

    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(report, broken(3, 3, BrokenReason::HashMismatch));
}

pub async fn audit_deleted_entry_is_a_gap(db: TestDb) {
    append_many(&db, 5).await;
    drop_trigger(&db, "audit_log_no_delete").await;

    sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(db.store.pool())
        .await
        .unwrap();

    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(report, broken(3, 4, BrokenReason::SequenceGap));
}

pub async fn audit_cut_tail_is_a_head_mismatch(db: TestDb) {
    append_many(&db, 5).await;
    drop_trigger(&db, "audit_log_no_delete").await;

    sqlx::query("DELETE FROM audit_log WHERE seq = 5")
        .execute(db.store.pool())
        .await
        .unwrap();

    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(report, broken(4, 5, BrokenReason::HeadMismatch));
}

pub async fn audit_verify_walks_many_pages(db: TestDb) {
    // More than two pages of the verifier, so paging itself is exercised.
    append_many(&db, 1_100).await;
    let intact = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(
        intact,
        ChainReport {
            entries: 1_100,
            first_broken: None
        }
    );
    drop_trigger(&db, "audit_log_no_update").await;

    // Swap the links of 1_001 for those of another chain: its own hash still matches its
    // fields, but it no longer follows entry 1_000.
    sqlx::query("UPDATE audit_log SET prev_hash = $1 WHERE seq = 1001")
        .bind("f".repeat(64))
        .execute(db.store.pool())
        .await
        .unwrap();

    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(report, broken(1_001, 1_001, BrokenReason::PrevHashMismatch));
}

pub async fn audit_concurrent_appenders_make_one_chain(db: TestDb) {
    const TASKS: i64 = 8;
    const APPENDS: i64 = 25;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = db.store.clone();
        handles.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for index in 0..APPENDS {
                let mut tx = store.begin().await.unwrap();
                let entry = audit::append(&mut tx, &record(task * APPENDS + index))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                seqs.push(entry.seq);
            }
            seqs
        }));
    }
    let mut seqs = Vec::new();
    for handle in handles {
        seqs.extend(handle.await.unwrap());
    }

    seqs.sort_unstable();
    let expected: Vec<i64> = (1..=TASKS * APPENDS).collect();
    assert_eq!(seqs, expected);
    let report = audit::verify_chain(&db.store).await.unwrap();
    assert_eq!(
        report,
        ChainReport {
            entries: 200,
            first_broken: None
        }
    );
}
