use dcc_store::Backend;
use dcc_store::billing::{
    self, ClosedMonth, FRAUD_REASON, Fetch, FraudAdjustment, StoredStatement,
};
use dcc_store::ledger::{self, CertificateType};

use crate::support::{PHARMACY_A, PHARMACY_B, T0, TestDb, add_pharmacy, vaccination};

fn statement(telematik_id: &str, month: &str) -> StoredStatement {
    StoredStatement {
        telematik_id: telematik_id.to_owned(),
        month: month.to_owned(),
        content: "{\"v\":1}".to_owned(),
        content_hash: "c".repeat(64),
        issued: 3,
        billed: 2,
        total_cents: 1200,
        closed_at: T0,
    }
}

pub async fn billing_ledger_keeps_holder_key_and_reads_rows_in_order(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    add_pharmacy(&db.store, PHARMACY_B, "APO2").await;
    let mut entries = Vec::new();
    for (index, (pharmacy, at)) in [
        (PHARMACY_B, 5),
        (PHARMACY_A, 9),
        (PHARMACY_A, 1),
        (PHARMACY_A, 500),
    ]
    .into_iter()
    .enumerate()
    {
        let mut entry = vaccination(&format!("URN:UVCI:01:DE:X/{index}"), pharmacy, None);
        entry.issued_at = T0 + at;
        entry.holder_key = Some(format!("{index:064}"));
        entries.push(entry);
    }
    let mut tx = db.store.begin().await.unwrap();
    billing::insert_ledger_bulk(&mut tx, &entries)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let found = ledger::find_by_uvci(db.store.pool(), "URN:UVCI:01:DE:X/2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.holder_key.as_deref(),
        Some(format!("{:064}", 2).as_str())
    );

    let rows = billing::rows_in_range(db.store.pool(), PHARMACY_A, PHARMACY_B, T0, T0 + 100)
        .await
        .unwrap();
    let order: Vec<(&str, i64)> = rows
        .iter()
        .map(|r| (r.telematik_id.as_str(), r.issued_at - T0))
        .collect();
    assert_eq!(order, [(PHARMACY_A, 1), (PHARMACY_A, 9), (PHARMACY_B, 5)]);
    assert!(
        rows.iter()
            .all(|r| r.certificate_type == CertificateType::Vaccination)
    );
    assert_eq!(
        billing::month_pharmacies(db.store.pool(), T0, T0 + 100)
            .await
            .unwrap(),
        [PHARMACY_A, PHARMACY_B]
    );
    assert_eq!(
        billing::issued_counts(db.store.pool(), T0, T0 + 100)
            .await
            .unwrap(),
        [(PHARMACY_A.to_owned(), 2), (PHARMACY_B.to_owned(), 1)]
    );
    assert_eq!(
        billing::first_issued_at(db.store.pool()).await.unwrap(),
        Some(T0 + 1)
    );
}

pub async fn billing_fraud_is_pending_until_adjusted(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let mut tx = db.store.begin().await.unwrap();
    ledger::insert(
        &mut tx,
        &vaccination("URN:UVCI:01:DE:F/1", PHARMACY_A, None),
    )
    .await
    .unwrap();
    ledger::insert(
        &mut tx,
        &vaccination("URN:UVCI:01:DE:F/2", PHARMACY_A, Some("k")),
    )
    .await
    .unwrap();
    ledger::revoke(&mut tx, "URN:UVCI:01:DE:F/1", FRAUD_REASON, T0 + 100)
        .await
        .unwrap();
    ledger::revoke(&mut tx, "URN:UVCI:01:DE:F/2", "lost", T0 + 100)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let pending = billing::pending_fraud(db.store.pool(), T0 + 1000)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].uvci, "URN:UVCI:01:DE:F/1");
    assert!(pending[0].fraud);
    // Issued at T0 + 60: not before T0 + 60.
    assert!(
        billing::pending_fraud(db.store.pool(), T0 + 60)
            .await
            .unwrap()
            .is_empty()
    );

    let mut tx = db.store.begin().await.unwrap();
    billing::insert_adjustment(
        &mut tx,
        "URN:UVCI:01:DE:F/1",
        PHARMACY_A,
        "2026-01",
        FraudAdjustment::Excluded,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(
        billing::pending_fraud(db.store.pool(), T0 + 1000)
            .await
            .unwrap()
            .is_empty()
    );
    let rows = billing::rows_in_range(db.store.pool(), PHARMACY_A, PHARMACY_A, T0, T0 + 1000)
        .await
        .unwrap();
    let adjustments: Vec<_> = rows.iter().map(|r| (r.fraud, r.adjustment)).collect();
    assert_eq!(
        adjustments,
        [(true, Some(FraudAdjustment::Excluded)), (false, None)]
    );
}

pub async fn billing_statements_are_written_once_and_immutable(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let mut tx = db.store.begin().await.unwrap();
    assert!(
        billing::insert_statement(&mut tx, &statement(PHARMACY_A, "2021-07"))
            .await
            .unwrap()
    );
    let mut changed = statement(PHARMACY_A, "2021-07");
    changed.total_cents = 1;
    assert!(!billing::insert_statement(&mut tx, &changed).await.unwrap());
    let month = ClosedMonth {
        month: "2021-07".into(),
        closed_at: T0,
        statements: 1,
        total_cents: 1200,
    };
    assert!(billing::insert_month(&mut tx, &month).await.unwrap());
    assert!(!billing::insert_month(&mut tx, &month).await.unwrap());
    tx.commit().await.unwrap();

    let stored = billing::find_statement(db.store.pool(), PHARMACY_A, "2021-07")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, statement(PHARMACY_A, "2021-07"));
    assert_eq!(
        billing::month_statements_summary(db.store.pool(), "2021-07")
            .await
            .unwrap(),
        (1, 1200)
    );
    assert_eq!(
        billing::find_month(db.store.pool(), "2021-07")
            .await
            .unwrap(),
        Some(month)
    );
    assert!(
        billing::find_statement(db.store.pool(), PHARMACY_B, "2021-07")
            .await
            .unwrap()
            .is_none()
    );

    for sql in [
        "UPDATE billing_statements SET total_cents = 0",
        "DELETE FROM billing_statements",
        "UPDATE billing_months SET total_cents = 0",
        "DELETE FROM billing_months",
    ] {
        let result = sqlx::query(sql).execute(db.store.pool()).await;
        assert!(result.is_err(), "{sql} was allowed on {:?}", db.backend);
    }
    if db.backend == Backend::Postgres {
        let result = sqlx::query("TRUNCATE billing_statements")
            .execute(db.store.pool())
            .await;
        assert!(result.is_err());
    }
}

pub async fn billing_fetches_are_recorded_and_append_only(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let fetch = Fetch {
        telematik_id: PHARMACY_A.into(),
        month: "2021-07".into(),
        format: "pdf".into(),
        fetched_at: T0,
    };
    let mut tx = db.store.begin().await.unwrap();
    billing::insert_fetch(&mut tx, &fetch).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        billing::fetches(db.store.pool(), "2021-07").await.unwrap(),
        [fetch]
    );
    assert!(
        billing::fetches(db.store.pool(), "2021-08")
            .await
            .unwrap()
            .is_empty()
    );
    let result = sqlx::query("DELETE FROM billing_fetches")
        .execute(db.store.pool())
        .await;
    assert!(result.is_err());
}
