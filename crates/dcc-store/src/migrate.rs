//! A small migration runner for the SQL files embedded at compile time.
//!
//! Each backend has its own numbered files under `migrations/<backend>/`. Applied versions are
//! recorded in `schema_migrations` together with the hex SHA-256 of the file. At start-up the
//! runner refuses to continue when an applied file's checksum changed or when the database knows
//! a version this binary does not; otherwise it applies the missing versions in order. All of it
//! happens in one transaction, so a failed migration leaves the schema as it was.

use aws_lc_rs::digest;
use sqlx::Row;

use crate::db::{Backend, Store};
use crate::error::{StoreError, query_error};

/// One embedded migration.
struct Migration {
    version: i64,
    description: &'static str,
    sql: &'static str,
}

/// Applies pending migrations for the store's backend.
pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let (migrations, create_table) = match store.backend() {
        Backend::Sqlite => (SQLITE_MIGRATIONS, SQLITE_CREATE_TABLE),
        Backend::Postgres => (POSTGRES_MIGRATIONS, POSTGRES_CREATE_TABLE),
    };
    // `begin()` is BEGIN IMMEDIATE on SQLite, so concurrent starters queue on the write lock;
    // on PostgreSQL an advisory lock held until commit does the same.
    let mut tx = store.begin().await?;
    if store.backend() == Backend::Postgres {
        sqlx::raw_sql(POSTGRES_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(query_error)?;
    }
    sqlx::raw_sql(create_table)
        .execute(&mut *tx)
        .await
        .map_err(query_error)?;
    let applied = sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *tx)
        .await
        .map_err(query_error)?;
    let mut applied_versions = Vec::with_capacity(applied.len());
    for row in &applied {
        let version: i64 = row.try_get("version").map_err(query_error)?;
        let checksum: String = row.try_get("checksum").map_err(query_error)?;
        let known = migrations
            .iter()
            .find(|migration| migration.version == version)
            .ok_or(StoreError::UnknownMigration { version })?;
        if checksum != checksum_of(known.sql) {
            return Err(StoreError::ChecksumMismatch { version });
        }
        applied_versions.push(version);
    }
    for migration in migrations {
        if applied_versions.contains(&migration.version) {
            continue;
        }
        let failed = |source| StoreError::Migrate {
            version: migration.version,
            source,
        };
        sqlx::raw_sql(migration.sql)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, description, checksum) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.description)
        .bind(checksum_of(migration.sql))
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
    }
    tx.commit().await.map_err(query_error)
}

/// Hex SHA-256 of a migration's text.
fn checksum_of(sql: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, sql.as_bytes()))
}

/// The embedded migrations of both backends: one list of `(version, description, file)`, the
/// file read from `migrations/sqlite/` and `migrations/postgres/` alike.
macro_rules! migrations {
    ($($version:literal, $description:literal, $file:literal;)*) => {
        const SQLITE_MIGRATIONS: &[Migration] = &[$(Migration {
            version: $version,
            description: $description,
            sql: include_str!(concat!("../migrations/sqlite/", $file)),
        }),*];

        const POSTGRES_MIGRATIONS: &[Migration] = &[$(Migration {
            version: $version,
            description: $description,
            sql: include_str!(concat!("../migrations/postgres/", $file)),
        }),*];
    };
}

migrations! {
    1, "initial", "0001_initial.sql";
    2, "billing", "0002_billing.sql";
    3, "signing_keys", "0003_signing_keys.sql";
    4, "issuance_locks", "0004_issuance_locks.sql";
    5, "revocation_hashes", "0005_revocation_hashes.sql";
    6, "operators", "0006_operators.sql";
    7, "anomaly_alerts", "0007_anomaly_alerts.sql";
    8, "lock_actor", "0008_lock_actor.sql";
    9, "drop_uci_hash_index", "0009_drop_uci_hash_index.sql";
}

// `applied_at` is filled by the database clock: it is bookkeeping for operators, never an input
// to any decision of this crate.
const SQLITE_CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT";

const POSTGRES_CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at BIGINT NOT NULL DEFAULT (floor(extract(epoch FROM now()))::BIGINT)
)";

/// Serialises concurrent migrators on PostgreSQL. `pg_advisory_xact_lock` returns `void`, a type
/// the `Any` driver cannot decode, so it runs inside a DO block that returns no rows.
const POSTGRES_LOCK: &str = "DO $$ BEGIN PERFORM pg_advisory_xact_lock(7243011); END $$";
