use dcc_store::pharmacies::{self, NewPharmacy, PharmacyStatus};
use dcc_store::{ConflictTarget, StoreError};

use crate::support::{PHARMACY_A, PHARMACY_B, T0, TestDb, add_pharmacy};

pub async fn pharmacy_insert_and_find(db: TestDb) {
    let inserted = add_pharmacy(&db.store, PHARMACY_A, "APO1").await;

    assert_eq!(inserted.telematik_id, PHARMACY_A);
    assert_eq!(inserted.name, "Löwen-Apotheke");
    assert_eq!(inserted.address, "Hauptstraße 1, 10115 Berlin");
    assert_eq!(inserted.issuer_segment, "APO1");
    assert_eq!(inserted.status, PharmacyStatus::Active);
    assert_eq!((inserted.created_at, inserted.updated_at), (T0, T0));
    let through_pool = pharmacies::find(db.store.pool(), PHARMACY_A).await.unwrap();
    assert_eq!(through_pool.as_ref(), Some(&inserted));
    let mut tx = db.store.begin().await.unwrap();
    let through_tx = pharmacies::find(&mut *tx, PHARMACY_A).await.unwrap();
    assert_eq!(through_tx, Some(inserted));
    assert_eq!(pharmacies::find(&mut *tx, PHARMACY_B).await.unwrap(), None);
}

pub async fn pharmacy_duplicates_conflict(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;

    let same_id = try_insert(&db, PHARMACY_A, "APO2").await;
    let same_segment = try_insert(&db, PHARMACY_B, "APO1").await;

    assert!(
        matches!(
            same_id,
            Err(StoreError::Conflict {
                what: ConflictTarget::PharmacyTelematikId
            })
        ),
        "{same_id:?}"
    );
    assert!(
        matches!(
            same_segment,
            Err(StoreError::Conflict {
                what: ConflictTarget::PharmacyIssuerSegment
            })
        ),
        "{same_segment:?}"
    );
    let all = pharmacies::list(db.store.pool()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].issuer_segment, "APO1");
}

async fn try_insert(
    db: &TestDb,
    telematik_id: &str,
    issuer_segment: &str,
) -> Result<pharmacies::Pharmacy, StoreError> {
    let mut tx = db.store.begin().await.unwrap();
    let result = pharmacies::insert(
        &mut tx,
        &NewPharmacy {
            telematik_id,
            name: "Zweite Apotheke",
            address: "Nebenweg 2",
            issuer_segment,
            now: T0 + 5,
        },
    )
    .await;
    tx.rollback().await.unwrap();
    result
}

pub async fn pharmacy_suspend_and_reactivate(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;

    let mut tx = db.store.begin().await.unwrap();
    let suspended = pharmacies::set_status(&mut tx, PHARMACY_A, PharmacyStatus::Suspended, T0 + 10)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(suspended.status, PharmacyStatus::Suspended);
    assert_eq!((suspended.created_at, suspended.updated_at), (T0, T0 + 10));
    let stored = pharmacies::find(db.store.pool(), PHARMACY_A).await.unwrap();
    assert_eq!(stored.unwrap().status, PharmacyStatus::Suspended);

    let mut tx = db.store.begin().await.unwrap();
    let active = pharmacies::set_status(&mut tx, PHARMACY_A, PharmacyStatus::Active, T0 + 20)
        .await
        .unwrap()
        .unwrap();
    let unknown = pharmacies::set_status(&mut tx, PHARMACY_B, PharmacyStatus::Suspended, T0 + 20)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(active.status, PharmacyStatus::Active);
    assert_eq!(active.updated_at, T0 + 20);
    assert_eq!(unknown, None);
    let stored = pharmacies::find(db.store.pool(), PHARMACY_A).await.unwrap();
    assert_eq!(stored, Some(active));
}

pub async fn pharmacy_list_is_sorted(db: TestDb) {
    assert!(pharmacies::list(db.store.pool()).await.unwrap().is_empty());
    add_pharmacy(&db.store, "3-C", "APO3").await;
    add_pharmacy(&db.store, "3-A", "APO1").await;
    add_pharmacy(&db.store, "3-B", "APO2").await;

    let all = pharmacies::list(db.store.pool()).await.unwrap();

    let ids: Vec<&str> = all.iter().map(|p| p.telematik_id.as_str()).collect();
    assert_eq!(ids, ["3-A", "3-B", "3-C"]);
    let segments: Vec<&str> = all.iter().map(|p| p.issuer_segment.as_str()).collect();
    assert_eq!(segments, ["APO1", "APO2", "APO3"]);
}
