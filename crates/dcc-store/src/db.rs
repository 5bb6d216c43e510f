//! The connection pool, the backend it talks to, and where transactions start.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Transaction};

use crate::error::StoreError;
use crate::migrate;

/// Which database engine a [`Store`] talks to. SQL is shared; only DDL, triggers and a few
/// transaction statements differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite file database (or `sqlite::memory:` with a single connection).
    Sqlite,
    /// PostgreSQL 15 or newer.
    Postgres,
}

impl Backend {
    /// Picks the backend from the URL scheme.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }
}

/// How a [`Store`] waits for the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long taking a pooled connection (and opening one, if needed) may take before the
    /// operation fails with [`sqlx::Error::PoolTimedOut`]. A server's request path wants this
    /// short, so that a database that is down is reported at once instead of after a long
    /// wait; administration commands can afford the default [`DEFAULT_ACQUIRE_TIMEOUT`].
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
        }
    }
}

/// Handle to the database: a pool plus the backend kind. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `sqlite://…` or `postgres://…` and applies pending migrations.
    ///
    /// SQLite: the file is created when missing (unless the URL sets `mode=` itself), the
    /// journal is switched to WAL, and every connection gets a busy timeout and foreign keys.
    /// Fails with [`StoreError::ChecksumMismatch`] when an applied migration was edited.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    /// Like [`Store::connect`], with the waiting behaviour given by `options`.
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        let store = match backend {
            Backend::Sqlite => Self::connect_sqlite(url, options).await?,
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(options.acquire_timeout)
                    .connect(url)
                    .await
                    .map_err(StoreError::Connect)?;
                Self { pool, backend }
            }
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// Starts a read-write transaction. Store functions take it as `&mut Transaction` and the
    /// caller decides where it ends: `commit()`, or `rollback()`/drop to discard everything.
    ///
    /// On SQLite the transaction is `BEGIN IMMEDIATE`: it takes the write lock up front, so a
    /// read followed by a write (the idempotency check before an insert) can wait for another
    /// writer through the busy timeout instead of failing with `SQLITE_BUSY`.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .map_err(StoreError::Query)
    }

    /// Starts a read-only transaction that sees one consistent snapshot (used to walk the audit
    /// chain while appenders keep running).
    pub(crate) async fn begin_snapshot(&self) -> Result<Transaction<'static, Any>, StoreError> {
        match self.backend {
            // A deferred SQLite transaction keeps the WAL snapshot of its first read until it
            // ends, and it does not block writers.
            Backend::Sqlite => self.pool.begin().await,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await
            }
        }
        .map_err(StoreError::Query)
    }

    /// The pool, for single-statement reads that need no transaction (pass `store.pool()` to
    /// the read functions, which accept any executor).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// One round trip to the database (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(StoreError::Query)
    }

    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes all connections, waiting for checked-out ones to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn connect_sqlite(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        // Every Any connection re-parses the URL, and each parse of an in-memory URL names a
        // fresh database, so an in-memory store must stay on one connection.
        let max_connections = if in_memory { 1 } else { MAX_CONNECTIONS };
        let url = if in_memory || url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(options.acquire_timeout)
            .after_connect(|connection, _metadata| {
                Box::pin(async move {
                    sqlx::raw_sql(SQLITE_CONNECTION_PRAGMAS)
                        .execute(connection)
                        .await
                        .map(|_| ())
                })
            })
            .connect(&url)
            .await
            .map_err(StoreError::Connect)?;
        if !in_memory {
            // The journal mode is stored in the file, so setting it once is enough. It cannot
            // change inside a transaction, hence here rather than in the migration.
            sqlx::raw_sql("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .map_err(StoreError::Connect)?;
        }
        Ok(Self {
            pool,
            backend: Backend::Sqlite,
        })
    }
}

/// Upper bound of pooled connections per store.
const MAX_CONNECTIONS: u32 = 10;

/// How long `begin()` waits for a free pooled connection unless [`StoreOptions`] say otherwise.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Applied to every new SQLite connection. The busy timeout lets writers queue for the single
/// write lock instead of failing; foreign keys are off by default in SQLite. The page cache is
/// 512 KiB per connection (SQLite's default is 2,000 KiB): with ten pooled connections the
/// default lets the process grow by ~20 MiB as the database grows, which a long soak shows as
/// memory growth; the operating system's file cache keeps the pages anyway, and the measured
/// issuing rate does not change (BENCHMARKS.md, soak).
const SQLITE_CONNECTION_PRAGMAS: &str =
    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA cache_size = -512;";
