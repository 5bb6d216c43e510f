use dcc_store::operators::{self, NewOperator, OperatorSession};
use dcc_store::{ConflictTarget, StoreError, ledger};

use crate::support::{PHARMACY_A, PHARMACY_B, T0, TestDb, add_pharmacy, vaccination};

fn account<'a>(scope: &'a str, username: &'a str) -> NewOperator<'a> {
    NewOperator {
        scope,
        username,
        role: "pharmacist",
        password_hash: "$argon2id$stand-in",
        totp_secret: None,
        created_at: T0,
    }
}

async fn insert(db: &TestDb, operator: &NewOperator<'_>) -> Result<i64, StoreError> {
    let mut tx = db.store.begin().await.unwrap();
    let id = operators::insert(&mut tx, operator).await?;
    dcc_store::commit(tx).await.unwrap();
    Ok(id)
}

fn session(token_hash: &str, operator_id: i64, kind: &str) -> OperatorSession {
    OperatorSession {
        token_hash: token_hash.to_owned(),
        operator_id,
        kind: kind.to_owned(),
        certificate_binding: "ab".repeat(32),
        csrf_token: "csrf".to_owned(),
        pending_totp_secret: None,
        created_at: T0,
        last_seen_at: T0,
        expires_at: T0 + 3600,
        ended_at: None,
    }
}

pub async fn operators_are_unique_per_scope(db: TestDb) {
    let anna = insert(&db, &account(PHARMACY_A, "anna")).await.unwrap();
    // The same name in another pharmacy is another person.
    let other = insert(&db, &account(PHARMACY_B, "anna")).await.unwrap();
    assert_ne!(anna, other);
    let taken = insert(&db, &account(PHARMACY_A, "anna")).await;
    assert!(
        matches!(
            taken,
            Err(StoreError::Conflict {
                what: ConflictTarget::OperatorUsername
            })
        ),
        "{taken:?}"
    );
    // Roles and scopes must fit; names are lowercase.
    let mut admin_in_pharmacy = account(PHARMACY_A, "root");
    admin_in_pharmacy.role = "administrator";
    assert!(insert(&db, &admin_in_pharmacy).await.is_err());
    assert!(insert(&db, &account(PHARMACY_A, "Anna")).await.is_err());
    let found = operators::find_by_username(db.store.pool(), PHARMACY_A, "anna")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.role.as_str(), found.totp_secret.as_deref()),
        (anna, "pharmacist", None)
    );
    let listed = operators::list(db.store.pool(), PHARMACY_A).await.unwrap();
    assert_eq!(listed.len(), 1);
    // Debug output never shows the password hash.
    assert!(!format!("{found:?}").contains("argon2"));
}

pub async fn a_totp_step_is_accepted_once(db: TestDb) {
    let id = insert(&db, &account(PHARMACY_A, "bert")).await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    operators::set_totp(&mut tx, id, "SECRET", 100)
        .await
        .unwrap();
    assert!(!operators::record_success(&mut tx, id, 100).await.unwrap());
    assert!(operators::record_success(&mut tx, id, 101).await.unwrap());
    assert!(!operators::record_success(&mut tx, id, 101).await.unwrap());
    operators::record_failure(&mut tx, id, 5, Some(T0 + 900))
        .await
        .unwrap();
    dcc_store::commit(tx).await.unwrap();
    let stored = operators::find(db.store.pool(), id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.totp_last_step,
            stored.failed_logins,
            stored.locked_until
        ),
        (Some(101), 5, Some(T0 + 900))
    );
    // A reset clears the second factor and the lock.
    let mut tx = db.store.begin().await.unwrap();
    operators::reset(&mut tx, id, "$argon2id$new")
        .await
        .unwrap();
    dcc_store::commit(tx).await.unwrap();
    let stored = operators::find(db.store.pool(), id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.totp_secret,
            stored.totp_last_step,
            stored.locked_until
        ),
        (None, None, None)
    );
    assert_eq!(stored.password_hash, "$argon2id$new");
}

pub async fn sessions_end_on_logout_and_disable(db: TestDb) {
    let id = insert(&db, &account(PHARMACY_A, "carla")).await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    operators::insert_session(&mut tx, &session("h1", id, "browser"))
        .await
        .unwrap();
    operators::insert_session(&mut tx, &session("h2", id, "api"))
        .await
        .unwrap();
    dcc_store::commit(tx).await.unwrap();
    let (found, operator) = operators::find_session(db.store.pool(), "h1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.kind.as_str(), operator.username.as_str()),
        ("browser", "carla")
    );
    let mut tx = db.store.begin().await.unwrap();
    operators::touch_session(&mut tx, "h1", T0 + 60)
        .await
        .unwrap();
    // Touching never moves the last use backwards.
    operators::touch_session(&mut tx, "h1", T0 + 30)
        .await
        .unwrap();
    dcc_store::commit(tx).await.unwrap();
    let (found, _) = operators::find_session(db.store.pool(), "h1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.last_seen_at, T0 + 60);

    let mut tx = db.store.begin().await.unwrap();
    assert!(
        operators::end_session(&mut tx, "h1", T0 + 70)
            .await
            .unwrap()
    );
    assert!(
        !operators::end_session(&mut tx, "h1", T0 + 80)
            .await
            .unwrap()
    );
    operators::disable(&mut tx, id, T0 + 90).await.unwrap();
    dcc_store::commit(tx).await.unwrap();
    let (first, _) = operators::find_session(db.store.pool(), "h1")
        .await
        .unwrap()
        .unwrap();
    let (second, operator) = operators::find_session(db.store.pool(), "h2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.ended_at, second.ended_at),
        (Some(T0 + 70), Some(T0 + 90))
    );
    assert_eq!(operator.disabled_at, Some(T0 + 90));
    assert_eq!(
        operators::find_session(db.store.pool(), "unknown")
            .await
            .unwrap(),
        None
    );
}

pub async fn ledger_records_the_operator_and_lists_the_day(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;
    let id = insert(&db, &account(PHARMACY_A, "dora")).await.unwrap();
    let mut tx = db.store.begin().await.unwrap();
    let mut first = vaccination("URN:UVCI:01:DE:APO1/1", PHARMACY_A, None);
    first.operator_id = Some(id);
    first.issued_at = T0 + 10;
    let mut second = vaccination("URN:UVCI:01:DE:APO1/2", PHARMACY_A, None);
    second.issued_at = T0 + 20;
    let mut outside = vaccination("URN:UVCI:01:DE:APO1/3", PHARMACY_A, None);
    outside.issued_at = T0 + 100;
    ledger::insert_batch(&mut tx, &[first, second, outside])
        .await
        .unwrap();
    dcc_store::commit(tx).await.unwrap();
    let stored = ledger::find_by_uvci(db.store.pool(), "URN:UVCI:01:DE:APO1/1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.operator_id, Some(id));
    let listed = ledger::issued_by_pharmacy(db.store.pool(), PHARMACY_A, T0, T0 + 100, 10)
        .await
        .unwrap();
    let rows: Vec<(&str, Option<&str>)> = listed
        .iter()
        .map(|item| (item.uvci.as_str(), item.operator_username.as_deref()))
        .collect();
    assert_eq!(
        rows,
        [
            ("URN:UVCI:01:DE:APO1/2", None),
            ("URN:UVCI:01:DE:APO1/1", Some("dora"))
        ]
    );
    let other = ledger::issued_by_pharmacy(db.store.pool(), PHARMACY_B, T0, T0 + 100, 10)
        .await
        .unwrap();
    assert!(other.is_empty());
}
