//! All SQL of the DCC issuance service.
//!
//! One code path serves SQLite and PostgreSQL through sqlx's `Any` driver; only the migrations
//! (`migrations/sqlite`, `migrations/postgres`) and a few transaction statements differ.
//!
//! - [`Store`] connects, applies the embedded migrations and starts transactions.
//! - [`pharmacies`]: the registry of pharmacies allowed to issue.
//! - [`ledger`]: issued certificates without personal data, plus the short-lived HC1 store for
//!   idempotent retries (the only personal data kept).
//! - [`audit`]: the append-only, hash-chained audit log.
//! - [`locks`]: the kill switch (issuance locked for everyone, a pharmacy or an operator).
//! - [`alerts`]: anomaly alerts, one open alert per ongoing pattern, acknowledged with a comment.
//! - [`throttles`]: pharmacies whose rate limits anomaly detection lowered for a while.
//! - [`activity`]: the ledger aggregates anomaly detection reads (recent counts, closed hours,
//!   same hour on trailing days, a holder's certificates).
//! - [`billing`]: closed monthly statements, fraud adjustments and statement fetches.
//! - [`signing_keys`]: the DSC/key registry (which DSCs are published, which one signs).
//!
//! Write functions take `&mut Transaction<'_, Any>`, so the use case decides where the
//! transaction ends. Read functions take any executor: `&mut *tx` or `store.pool()`. "Not
//! found" is `Ok(None)`; a database failure is `Err`. Times are unix seconds passed in by the
//! caller: nothing here reads the clock.

pub mod activity;
pub mod alerts;
pub mod audit;
mod batch;
pub mod billing;
mod db;
mod error;
pub mod ledger;
pub mod locks;
mod migrate;
pub mod operators;
pub mod pharmacies;
pub mod provision;
pub mod revocation;
pub mod signing_keys;
pub mod throttles;

pub use db::{Backend, DEFAULT_ACQUIRE_TIMEOUT, Store, StoreOptions};
pub use error::{ConflictTarget, StoreError};

/// A database transaction on either backend; store functions take `&mut Tx` so that the use
/// case decides where the transaction ends.
pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// The connection pool, for reads outside a transaction.
pub type Pool = sqlx::AnyPool;

/// Commits a transaction, mapping the driver's error.
pub async fn commit(tx: Tx<'_>) -> Result<(), StoreError> {
    tx.commit().await.map_err(StoreError::Query)
}
