use dcc_store::ledger::{self, CertificateType};
use dcc_store::signing_keys::{self, NewSigningKey, SigningKeyStatus};

use crate::support::{PHARMACY_A, TestDb, add_pharmacy, vaccination};

fn key<'a>(kid: &'a str, der: &'a [u8], now: i64) -> NewSigningKey<'a> {
    NewSigningKey {
        kid,
        certificate_type: CertificateType::Vaccination,
        certificate_der: der,
        key_ref: r#"{"file":"pki/dcc/dsc-v.key"}"#,
        now,
    }
}

pub async fn signing_keys_bootstrap_then_rotate(db: TestDb) {
    let mut tx = db.store.begin().await.unwrap();
    assert!(
        signing_keys::register_if_first(&mut tx, &key("a", b"\x30\x01", 100))
            .await
            .unwrap()
    );
    // A second configured key for the same type does not replace the active one.
    assert!(
        !signing_keys::register_if_first(&mut tx, &key("b", b"\x30\x02", 101))
            .await
            .unwrap()
    );
    let retired = signing_keys::activate(&mut tx, &key("c", b"\x30\x03", 200))
        .await
        .unwrap();
    assert_eq!(retired.as_deref(), Some("a"));
    dcc_store::commit(tx).await.unwrap();

    let keys = signing_keys::list(db.store.pool()).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].kid, "a");
    assert_eq!(keys[0].status, SigningKeyStatus::Retired);
    assert_eq!(keys[0].retired_at, Some(200));
    assert_eq!(keys[0].certificate_der, b"\x30\x01");
    assert_eq!(keys[1].kid, "c");
    assert_eq!(keys[1].status, SigningKeyStatus::Active);
    assert_eq!(keys[1].activated_at, 200);
    assert_eq!(keys[1].retired_at, None);

    let mut tx = db.store.begin().await.unwrap();
    assert_eq!(signing_keys::retire_all(&mut tx, 300).await.unwrap(), 1);
    dcc_store::commit(tx).await.unwrap();
    let keys = signing_keys::list(db.store.pool()).await.unwrap();
    assert!(
        keys.iter()
            .all(|key| key.status == SigningKeyStatus::Retired)
    );
    assert_eq!(keys[1].retired_at, Some(300));
}

pub async fn signing_keys_allow_one_active_per_type(db: TestDb) {
    let mut tx = db.store.begin().await.unwrap();
    signing_keys::activate(&mut tx, &key("a", b"\x30\x01", 100))
        .await
        .unwrap();
    dcc_store::commit(tx).await.unwrap();
    // Bypassing `activate` (as a racing instance would) hits the partial unique index.
    let duplicate = sqlx::query(
        "INSERT INTO signing_keys (kid, certificate_type, certificate, key_ref, status, \
         created_at, activated_at) VALUES ('x', 'v', '30', '{}', 'active', 1, 1)",
    )
    .execute(db.store.pool())
    .await;
    assert!(duplicate.is_err());
}

pub async fn signing_keys_latest_expiry_per_kid(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    assert_eq!(
        signing_keys::latest_expiry(db.store.pool(), "kid-a")
            .await
            .unwrap(),
        None
    );
    let mut tx = db.store.begin().await.unwrap();
    for (uvci, expires_at) in [("U1", 500), ("U2", 900), ("U3", 700)] {
        let mut entry = vaccination(uvci, PHARMACY_A, None);
        entry.kid = "kid-a".into();
        entry.expires_at = expires_at;
        ledger::insert(&mut tx, &entry).await.unwrap();
    }
    dcc_store::commit(tx).await.unwrap();
    assert_eq!(
        signing_keys::latest_expiry(db.store.pool(), "kid-a")
            .await
            .unwrap(),
        Some(900)
    );
}
