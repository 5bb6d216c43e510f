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

/// Handle to the database: a pool for reads, the connection(s) transactions write on, and the
/// backend kind. Cheap to clone.
///
/// On a SQLite file, every transaction of this process ([`Store::begin`]) runs on one dedicated
/// writer connection. SQLite lets one writer in at a time anyway; queueing for that connection
/// in the process, instead of for SQLite's lock, means a waiting writer is woken the moment the
/// previous one ends (SQLite's busy handler sleeps in steps of up to 100 ms), and the writer's
/// page cache stays valid from one transaction to the next (a connection discards its cache
/// whenever another connection wrote since its last transaction). On PostgreSQL and an
/// in-memory SQLite database the writer is the pool itself.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    writer: AnyPool,
    backend: Backend,
    /// A SQLite file (in WAL mode), whose writer has a connection of its own.
    write_ahead_log: bool,
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
                Self {
                    writer: pool.clone(),
                    pool,
                    backend,
                    write_ahead_log: false,
                }
            }
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// Starts a read-write transaction. Store functions take it as `&mut Transaction` and the
    /// caller decides where it ends: `commit()`, or `rollback()`/drop to discard everything.
    ///
    /// On SQLite the transaction is `BEGIN IMMEDIATE` on the writer connection: it takes the
    /// write lock up front, so a read followed by a write (the idempotency check before an
    /// insert) waits for a writer of another process through the busy timeout instead of
    /// failing with `SQLITE_BUSY`; writers of this process wait for the writer connection.
    /// Never start a second transaction while holding one: on SQLite it waits for the first.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
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

    /// Leaves the checkpoints of a SQLite file's write-ahead log to [`Store::checkpoint`]
    /// from now on: SQLite otherwise copies the log into the database file inside the commit
    /// that fills it past 1,000 pages, with the writer (and every request waiting for it)
    /// held up meanwhile. Whoever calls this must then call [`Store::checkpoint`] regularly
    /// while writing, and [`Store::complete_checkpoint`] now and then so that the log starts
    /// again (the portal's group-commit writer does both). Should the writer connection ever
    /// be replaced, the new one checkpoints by itself again, which is slower but safe.
    /// Returns whether checkpoints are now deferred: never on PostgreSQL and for an in-memory
    /// database, which have no such log.
    pub async fn defer_checkpoints(&self) -> Result<bool, StoreError> {
        if !self.write_ahead_log {
            return Ok(false);
        }
        sqlx::raw_sql("PRAGMA wal_autocheckpoint = 0")
            .execute(&self.writer)
            .await
            .map_err(StoreError::Query)?;
        Ok(true)
    }

    /// Copies what the write-ahead log holds into the SQLite database file, on a read
    /// connection and without waiting for or blocking the writer (a passive checkpoint; pages
    /// a reader still needs stay in the log for the next one). The log keeps growing while
    /// the writer appends to it, though: it starts again from its beginning only after a
    /// checkpoint that copied everything, which is what [`Store::complete_checkpoint`] does.
    /// Nothing to do on PostgreSQL or for an in-memory database.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        self.passive_checkpoint(&self.pool).await
    }

    /// A passive checkpoint on the writer connection: nothing is appended to the log while it
    /// runs, so it copies everything a reader does not still need, and the next write starts
    /// the log from its beginning. Quick when [`Store::checkpoint`] has just copied most of it.
    pub async fn complete_checkpoint(&self) -> Result<(), StoreError> {
        self.passive_checkpoint(&self.writer).await
    }

    async fn passive_checkpoint(&self, pool: &AnyPool) -> Result<(), StoreError> {
        if !self.write_ahead_log {
            return Ok(());
        }
        sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(pool)
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
        self.writer.close().await;
    }

    async fn connect_sqlite(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let url = if in_memory || url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        if in_memory {
            // Every Any connection re-parses the URL, and each parse of an in-memory URL names
            // a fresh database, so an in-memory store stays on one connection, which is the
            // writer too.
            let pool = sqlite_pool(&url, 1, options.acquire_timeout, SQLITE_READ_PRAGMAS).await?;
            return Ok(Self {
                writer: pool.clone(),
                pool,
                backend: Backend::Sqlite,
                write_ahead_log: false,
            });
        }
        // Waiting for the writer connection stands in for SQLite's busy wait on the write lock,
        // so it may last as long; a batch's own bound is the recorder's write timeout.
        let writer_wait = options.acquire_timeout.max(SQLITE_BUSY_TIMEOUT);
        let writer = sqlite_pool(&url, 1, writer_wait, SQLITE_WRITER_PRAGMAS).await?;
        // The journal mode is stored in the file, so setting it once is enough. It cannot
        // change inside a transaction, hence here rather than in the migration, and before the
        // read connections open, so that they find the file in WAL mode.
        sqlx::raw_sql("PRAGMA journal_mode = WAL")
            .execute(&writer)
            .await
            .map_err(StoreError::Connect)?;
        let pool = sqlite_pool(
            &url,
            MAX_CONNECTIONS,
            options.acquire_timeout,
            SQLITE_READ_PRAGMAS,
        )
        .await?;
        Ok(Self {
            pool,
            writer,
            backend: Backend::Sqlite,
            write_ahead_log: true,
        })
    }
}

/// A pool of SQLite connections, each set up with `pragmas`.
async fn sqlite_pool(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    pragmas: &'static str,
) -> Result<AnyPool, StoreError> {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        // A local file needs no ping before each use; it would be one more round trip to the
        // connection's thread for every transaction and every read.
        .test_before_acquire(false)
        .after_connect(move |connection, _metadata| {
            Box::pin(async move { sqlx::raw_sql(pragmas).execute(connection).await.map(|_| ()) })
        })
        .connect(url)
        .await
        .map_err(StoreError::Connect)
}

/// Upper bound of pooled connections per store.
const MAX_CONNECTIONS: u32 = 10;

/// How long `begin()` waits for a free pooled connection unless [`StoreOptions`] say otherwise.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a SQLite connection waits for another process's write lock (`busy_timeout`).
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Applied to every pooled SQLite read connection. The busy timeout lets a write of another
/// process finish instead of failing; foreign keys are off by default in SQLite. The page
/// cache is 256 KiB per connection (SQLite's default is 2,000 KiB): each cache fills lazily up
/// to its bound as the database grows, which a soak shows as memory growth (with the default,
/// ~20 MiB over ten connections; with 512 KiB it was most of a 10 MiB ramp once the process
/// itself had become small); the operating system's file cache keeps the pages anyway, and
/// reads by the pool are not on the issuing path's critical step (BENCHMARKS.md, soak).
const SQLITE_READ_PRAGMAS: &str =
    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA cache_size = -256;";

/// Applied to the SQLite writer connection: as the read connections, with an 8 MiB page cache,
/// which holds the index pages the writer goes through (the upper levels of every index and
/// the leaves new certificates land in) and stays valid between its transactions.
const SQLITE_WRITER_PRAGMAS: &str =
    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192;";
