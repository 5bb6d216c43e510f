//! The error type shared by every store function.

use sqlx::error::ErrorKind;

/// What a store operation failed on.
///
/// "Not found" is never an error: lookups return `Ok(None)`. Everything in here means the
/// database refused or failed the operation, or returned something this crate cannot trust.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The connection URL names a scheme other than `sqlite:` or `postgres:`/`postgresql:`.
    #[error("unsupported database URL scheme (expected sqlite: or postgres:)")]
    UnsupportedUrl,
    /// A database name for provisioning is not lowercase letters, digits and `_`.
    #[error("invalid database name {0:?} (lowercase letters, digits and _ only)")]
    InvalidDatabaseName(String),
    /// The pool could not connect, or a per-connection setting could not be applied.
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    /// Applying the migration with this version failed; the migration was rolled back.
    #[error("migration {version} failed")]
    Migrate {
        /// Version of the migration that failed.
        version: i64,
        /// The database error.
        #[source]
        source: sqlx::Error,
    },
    /// An applied migration differs from the one compiled into this binary. Migrations are never
    /// edited once released, so the service refuses to start rather than guess.
    #[error("applied migration {version} has a different checksum than the embedded one")]
    ChecksumMismatch {
        /// Version of the changed migration.
        version: i64,
    },
    /// The database has a migration applied that this binary does not know (it was migrated by
    /// a newer release); running against it could corrupt data.
    #[error("database has unknown migration {version} applied")]
    UnknownMigration {
        /// Version of the unknown migration.
        version: i64,
    },
    /// A statement failed for a reason other than a unique-key conflict.
    #[error("database query failed")]
    Query(#[source] sqlx::Error),
    /// A unique key (or primary key) already holds the value being inserted.
    #[error("conflict: {what} already exists")]
    Conflict {
        /// Which unique key was violated.
        what: ConflictTarget,
    },
    /// A row holds a value this crate never writes (for example an unknown status); the row
    /// was changed outside this crate.
    #[error("corrupt row in {table}.{column}")]
    Corrupt {
        /// Table of the bad row.
        table: &'static str,
        /// Column holding the unexpected value.
        column: &'static str,
    },
    /// A batch holds more rows than a statement can number.
    #[error("batch too large")]
    BatchTooLarge,
    /// An audit detail could not be serialised to JSON text.
    #[error("audit detail is not serialisable JSON")]
    Detail(#[source] serde_json::Error),
    /// The database did not answer in time, or a write shared a transaction that could not
    /// reach it (the cause is logged once where it happened, not repeated per write).
    #[error("the database is unavailable")]
    Unavailable,
}

impl StoreError {
    /// Whether this failure says the database is unreachable or not answering (connection
    /// refused or lost, pool timeout, server shutting down), rather than that one statement
    /// was refused. Only such failures count towards opening a circuit breaker.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable => true,
            Self::Connect(error) | Self::Query(error) => unreachable_database(error),
            _ => false,
        }
    }
}

/// Whether a driver error means the database cannot be reached or has gone away.
fn unreachable_database(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database_error) => {
            let code = database_error.code();
            let code = code.as_deref().unwrap_or("");
            // PostgreSQL: class 08 connection exceptions, 53300 too_many_connections,
            // 57P01..57P03 admin/crash shutdown and cannot_connect_now, 55000 for a database
            // that does not accept connections. SQLite (numeric result codes, the extended
            // ones carrying the primary code in the low byte): 10 IOERR, 13 FULL, 14 CANTOPEN.
            code.starts_with("08")
                || matches!(code, "53300" | "57P01" | "57P02" | "57P03" | "55000")
                || code
                    .parse::<u32>()
                    .is_ok_and(|number| matches!(number & 0xff, 10 | 13 | 14))
        }
        _ => false,
    }
}

/// The unique key named by [`StoreError::Conflict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConflictTarget {
    /// A pharmacy with this Telematik-ID is already registered.
    PharmacyTelematikId,
    /// Another pharmacy already uses this UVCI issuer segment.
    PharmacyIssuerSegment,
    /// A ledger entry with this UVCI already exists.
    Uvci,
    /// This pharmacy already used this idempotency key.
    IdempotencyKey,
    /// A stored response for this UVCI already exists.
    IssuedResponse,
    /// The pharmacy (or the association) already has an operator with this username.
    OperatorUsername,
}

impl std::fmt::Display for ConflictTarget {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Self::PharmacyTelematikId => "pharmacy Telematik-ID",
            Self::PharmacyIssuerSegment => "pharmacy issuer segment",
            Self::Uvci => "UVCI",
            Self::IdempotencyKey => "idempotency key",
            Self::IssuedResponse => "issued response",
            Self::OperatorUsername => "operator username",
        };
        formatter.write_str(text)
    }
}

/// How a unique-key violation is recognised on each backend: PostgreSQL reports the constraint
/// name, SQLite only a message such as `UNIQUE constraint failed: pharmacies.issuer_segment`.
pub(crate) struct UniqueKey {
    pub(crate) target: ConflictTarget,
    /// Constraint name as declared in `migrations/postgres`.
    pub(crate) postgres_constraint: &'static str,
    /// `table.column` fragment of the SQLite message (the last column of the key).
    pub(crate) sqlite_column: &'static str,
}

/// Maps an error from a plain query.
pub(crate) fn query_error(error: sqlx::Error) -> StoreError {
    StoreError::Query(error)
}

/// Maps an error from an insert, turning violations of one of `keys` into
/// [`StoreError::Conflict`]. A unique violation of an unlisted key stays a `Query` error.
pub(crate) fn insert_error(error: sqlx::Error, keys: &[UniqueKey]) -> StoreError {
    if let sqlx::Error::Database(database_error) = &error
        && database_error.kind() == ErrorKind::UniqueViolation
    {
        let constraint = database_error.constraint();
        let message = database_error.message();
        let found = keys.iter().find(|key| match constraint {
            Some(name) => name == key.postgres_constraint,
            None => message.contains(key.sqlite_column),
        });
        if let Some(key) = found {
            return StoreError::Conflict { what: key.target };
        }
    }
    StoreError::Query(error)
}
