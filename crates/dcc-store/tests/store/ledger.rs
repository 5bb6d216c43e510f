use dcc_store::ledger::{self, CertificateType, LedgerEntry};
use dcc_store::{ConflictTarget, StoreError};

use crate::support::{PHARMACY_A, PHARMACY_B, T0, TestDb, add_pharmacy, vaccination};

async fn insert_committed(db: &TestDb, entry: &LedgerEntry) -> Result<(), StoreError> {
    let mut tx = db.store.begin().await.unwrap();
    let result = ledger::insert(&mut tx, entry).await;
    if result.is_ok() {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
    result
}

pub async fn ledger_insert_and_find(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let vaccine = vaccination("URN:UVCI:01:DE:APO1/V1#X", PHARMACY_A, Some("key-1"));
    let test = LedgerEntry {
        uvci: "URN:UVCI:01:DE:APO1/T1#Y".to_owned(),
        certificate_type: CertificateType::Test,
        product: "LP6464-4".to_owned(),
        dose_number: None,
        total_doses: None,
        event_date: "2026-01-01T08:00:00Z".to_owned(),
        idempotency_key: None,
        ..vaccination("", PHARMACY_A, None)
    };

    insert_committed(&db, &vaccine).await.unwrap();
    insert_committed(&db, &test).await.unwrap();

    let found = ledger::find_by_uvci(db.store.pool(), &vaccine.uvci)
        .await
        .unwrap();
    assert_eq!(found, Some(vaccine));
    let found = ledger::find_by_uvci(db.store.pool(), &test.uvci)
        .await
        .unwrap();
    assert_eq!(found, Some(test));
    let missing = ledger::find_by_uvci(db.store.pool(), "URN:UVCI:01:DE:NOPE")
        .await
        .unwrap();
    assert_eq!(missing, None);
}

pub async fn ledger_duplicate_uvci_conflicts(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let entry = vaccination("URN:UVCI:01:DE:APO1/V1#X", PHARMACY_A, Some("key-1"));
    insert_committed(&db, &entry).await.unwrap();

    let again = LedgerEntry {
        idempotency_key: Some("key-2".to_owned()),
        ..entry.clone()
    };
    let result = insert_committed(&db, &again).await;

    assert!(
        matches!(
            result,
            Err(StoreError::Conflict {
                what: ConflictTarget::Uvci
            })
        ),
        "{result:?}"
    );
    let stored = ledger::find_by_uvci(db.store.pool(), &entry.uvci)
        .await
        .unwrap();
    assert_eq!(stored.unwrap().idempotency_key.as_deref(), Some("key-1"));
}

pub async fn ledger_idempotency_key_is_unique_per_pharmacy(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    add_pharmacy(&db.store, PHARMACY_B, "APO2").await;
    let first = vaccination("URN:UVCI:01:DE:APO1/1", PHARMACY_A, Some("retry-me"));
    insert_committed(&db, &first).await.unwrap();

    let reused = vaccination("URN:UVCI:01:DE:APO1/2", PHARMACY_A, Some("retry-me"));
    let reused_result = insert_committed(&db, &reused).await;
    let other_pharmacy = vaccination("URN:UVCI:01:DE:APO2/1", PHARMACY_B, Some("retry-me"));
    let other_result = insert_committed(&db, &other_pharmacy).await;
    // Entries without a key never collide.
    insert_committed(&db, &vaccination("URN:UVCI:01:DE:APO1/3", PHARMACY_A, None))
        .await
        .unwrap();
    insert_committed(&db, &vaccination("URN:UVCI:01:DE:APO1/4", PHARMACY_A, None))
        .await
        .unwrap();

    assert!(
        matches!(
            reused_result,
            Err(StoreError::Conflict {
                what: ConflictTarget::IdempotencyKey
            })
        ),
        "{reused_result:?}"
    );
    other_result.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    let in_a = ledger::find_by_idempotency_key(&mut *tx, PHARMACY_A, "retry-me")
        .await
        .unwrap();
    let in_b = ledger::find_by_idempotency_key(&mut *tx, PHARMACY_B, "retry-me")
        .await
        .unwrap();
    let unknown = ledger::find_by_idempotency_key(&mut *tx, PHARMACY_A, "other")
        .await
        .unwrap();
    assert_eq!(in_a, Some(first));
    assert_eq!(in_b, Some(other_pharmacy));
    assert_eq!(unknown, None);
    assert_eq!(
        ledger::find_by_uvci(&mut *tx, &reused.uvci).await.unwrap(),
        None
    );
}

pub async fn ledger_rejects_unknown_pharmacy(db: TestDb) {
    let orphan = vaccination("URN:UVCI:01:DE:X/1", PHARMACY_A, None);

    let result = insert_committed(&db, &orphan).await;

    assert!(matches!(result, Err(StoreError::Query(_))), "{result:?}");
    assert_eq!(
        ledger::find_by_uvci(db.store.pool(), &orphan.uvci)
            .await
            .unwrap(),
        None
    );
}

pub async fn ledger_count_by_pharmacy(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    add_pharmacy(&db.store, PHARMACY_B, "APO2").await;
    for (index, issued_at) in [T0, T0 + 10, T0 + 20].into_iter().enumerate() {
        let entry = LedgerEntry {
            issued_at,
            ..vaccination(&format!("URN:UVCI:01:DE:APO1/{index}"), PHARMACY_A, None)
        };
        insert_committed(&db, &entry).await.unwrap();
    }
    insert_committed(&db, &vaccination("URN:UVCI:01:DE:APO2/0", PHARMACY_B, None))
        .await
        .unwrap();

    let pool = db.store.pool();
    assert_eq!(
        ledger::count_by_pharmacy(pool, PHARMACY_A, T0, T0 + 21)
            .await
            .unwrap(),
        3
    );
    // Half-open window: the upper bound is excluded.
    assert_eq!(
        ledger::count_by_pharmacy(pool, PHARMACY_A, T0, T0 + 20)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        ledger::count_by_pharmacy(pool, PHARMACY_A, T0 + 10, T0 + 11)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        ledger::count_by_pharmacy(pool, PHARMACY_B, 0, i64::MAX)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        ledger::count_by_pharmacy(pool, "3-unknown", 0, i64::MAX)
            .await
            .unwrap(),
        0
    );
}

pub async fn ledger_issued_by_pharmacy(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    add_pharmacy(&db.store, PHARMACY_B, "APO2").await;
    for (index, issued_at) in [T0, T0 + 10, T0 + 20].into_iter().enumerate() {
        let entry = LedgerEntry {
            issued_at,
            ..vaccination(&format!("URN:UVCI:01:DE:APO1/{index}"), PHARMACY_A, None)
        };
        insert_committed(&db, &entry).await.unwrap();
    }
    insert_committed(&db, &vaccination("URN:UVCI:01:DE:APO2/0", PHARMACY_B, None))
        .await
        .unwrap();

    let pool = db.store.pool();
    let lines = ledger::issued_by_pharmacy(pool, PHARMACY_A, T0, T0 + 20, 10)
        .await
        .unwrap();
    // Newest first, half-open window, only this pharmacy's.
    let uvcis: Vec<&str> = lines.iter().map(|line| line.uvci.as_str()).collect();
    assert_eq!(uvcis, ["URN:UVCI:01:DE:APO1/1", "URN:UVCI:01:DE:APO1/0"]);
    assert_eq!(lines[0].certificate_type, CertificateType::Vaccination);
    assert_eq!(lines[0].issued_at, T0 + 10);
    assert_eq!(lines[0].operator_username, None);
    assert!(!lines[0].revoked);
    let limited = ledger::issued_by_pharmacy(pool, PHARMACY_A, 0, i64::MAX, 1)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].uvci, "URN:UVCI:01:DE:APO1/2");
    assert!(
        ledger::issued_by_pharmacy(pool, "3-unknown", 0, i64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn ledger_revoke(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let entry = vaccination("URN:UVCI:01:DE:APO1/1", PHARMACY_A, None);
    insert_committed(&db, &entry).await.unwrap();

    let mut tx = db.store.begin().await.unwrap();
    let revoked = ledger::revoke(&mut tx, &entry.uvci, "misissued", T0 + 100)
        .await
        .unwrap();
    let twice = ledger::revoke(&mut tx, &entry.uvci, "other", T0 + 200)
        .await
        .unwrap();
    let missing = ledger::revoke(&mut tx, "URN:UVCI:01:DE:NOPE", "x", T0)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let revoked = revoked.unwrap();
    assert_eq!(revoked.revoked_at, Some(T0 + 100));
    assert_eq!(revoked.revocation_reason.as_deref(), Some("misissued"));
    assert_eq!(twice, Some(revoked.clone()));
    assert_eq!(missing, None);
    let stored = ledger::find_by_uvci(db.store.pool(), &entry.uvci)
        .await
        .unwrap();
    assert_eq!(stored, Some(revoked));
}

pub async fn responses_insert_find_purge(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let short = vaccination("URN:UVCI:01:DE:APO1/1", PHARMACY_A, Some("k1"));
    let long = vaccination("URN:UVCI:01:DE:APO1/2", PHARMACY_A, Some("k2"));
    let mut tx = db.store.begin().await.unwrap();
    ledger::insert(&mut tx, &short).await.unwrap();
    ledger::insert(&mut tx, &long).await.unwrap();
    ledger::insert_response(&mut tx, &short.uvci, "HC1:SHORT", T0 + 100)
        .await
        .unwrap();
    ledger::insert_response(&mut tx, &long.uvci, "HC1:LONG", T0 + 200)
        .await
        .unwrap();
    let duplicate = ledger::insert_response(&mut tx, &short.uvci, "HC1:AGAIN", T0 + 300).await;
    assert!(
        matches!(
            duplicate,
            Err(StoreError::Conflict {
                what: ConflictTarget::IssuedResponse
            })
        ),
        "{duplicate:?}"
    );
    tx.rollback().await.unwrap();
    // PostgreSQL aborts a transaction after an error, so redo the writes without the duplicate.
    let mut tx = db.store.begin().await.unwrap();
    ledger::insert(&mut tx, &short).await.unwrap();
    ledger::insert(&mut tx, &long).await.unwrap();
    ledger::insert_response(&mut tx, &short.uvci, "HC1:SHORT", T0 + 100)
        .await
        .unwrap();
    ledger::insert_response(&mut tx, &long.uvci, "HC1:LONG", T0 + 200)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let pool = db.store.pool();

    assert_eq!(
        ledger::find_response(pool, &short.uvci, T0 + 50)
            .await
            .unwrap()
            .as_deref(),
        Some("HC1:SHORT")
    );
    assert_eq!(
        ledger::find_response(pool, &short.uvci, T0 + 100)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        ledger::find_response(pool, "URN:UVCI:01:DE:NOPE", T0)
            .await
            .unwrap(),
        None
    );

    let mut tx = db.store.begin().await.unwrap();
    assert_eq!(ledger::purge_responses(&mut tx, T0 + 150).await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert_eq!(
        ledger::find_response(pool, &short.uvci, T0).await.unwrap(),
        None
    );
    assert_eq!(
        ledger::find_response(pool, &long.uvci, T0 + 150)
            .await
            .unwrap()
            .as_deref(),
        Some("HC1:LONG")
    );

    let mut tx = db.store.begin().await.unwrap();
    assert_eq!(ledger::purge_responses(&mut tx, T0 + 200).await.unwrap(), 1);
    assert_eq!(ledger::purge_responses(&mut tx, T0 + 200).await.unwrap(), 0);
    tx.commit().await.unwrap();
    assert_eq!(
        ledger::find_response(pool, &long.uvci, T0).await.unwrap(),
        None
    );
    // The ledger entries outlive their responses.
    assert!(
        ledger::find_by_uvci(pool, &short.uvci)
            .await
            .unwrap()
            .is_some()
    );
}
