//! How the store reports a database it cannot reach: within the configured acquire timeout,
//! as a failure that `is_unavailable` recognises (what the server's circuit breaker counts).

use std::time::{Duration, Instant};

use dcc_store::{ConflictTarget, Store, StoreError, StoreOptions};

const SHORT: StoreOptions = StoreOptions {
    acquire_timeout: Duration::from_millis(300),
};

#[tokio::test]
async fn nothing_listening_fails_within_the_acquire_timeout_as_unavailable() {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    #[expect(clippy::disallowed_methods, reason = "the test measures the wait")]
    let started = Instant::now();
    let error = Store::connect_with(&format!("postgres://postgres@127.0.0.1:{port}/none"), SHORT)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(error.is_unavailable(), "{error:?}");
}

#[tokio::test]
async fn a_pool_with_no_free_connection_times_out_as_unavailable() {
    // An in-memory SQLite store has exactly one connection.
    let store = Store::connect_with("sqlite::memory:", SHORT).await.unwrap();
    let held = store.begin().await.unwrap();
    #[expect(clippy::disallowed_methods, reason = "the test measures the wait")]
    let started = Instant::now();
    let error = store.begin().await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert!(error.is_unavailable(), "{error:?}");
    drop(held);
    store.ping().await.unwrap();
}

#[test]
fn refusals_of_one_statement_are_not_unavailability() {
    let conflict = StoreError::Conflict {
        what: ConflictTarget::Uvci,
    };
    assert!(!conflict.is_unavailable());
    assert!(!StoreError::BatchTooLarge.is_unavailable());
    assert!(StoreError::Unavailable.is_unavailable());
    assert!(StoreError::Query(sqlx::Error::PoolTimedOut).is_unavailable());
    assert!(!StoreError::Query(sqlx::Error::RowNotFound).is_unavailable());
}
