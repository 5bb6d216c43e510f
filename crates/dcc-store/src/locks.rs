//! The kill switch: locks on issuance for everyone, one pharmacy or one operator.
//!
//! A lock is a row; unlocking deletes it (the audit log keeps the history). Every instance reads
//! the locks in the transaction that records certificates, so a lock set through one instance
//! holds on all of them for every certificate committed after it.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

use crate::batch::{in_list, padded_len};
use crate::error::{StoreError, query_error};

/// What a lock covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LockScope {
    /// Every pharmacy and operator.
    All,
    /// One pharmacy, by Telematik-ID.
    Pharmacy(String),
    /// One operator, by id.
    Operator(String),
}

impl LockScope {
    fn columns(&self) -> (&'static str, &str) {
        match self {
            Self::All => ("all", ""),
            Self::Pharmacy(telematik_id) => ("pharmacy", telematik_id),
            Self::Operator(id) => ("operator", id),
        }
    }

    fn from_columns(scope: &str, target: String) -> Result<Self, StoreError> {
        match scope {
            "all" => Ok(Self::All),
            "pharmacy" => Ok(Self::Pharmacy(target)),
            "operator" => Ok(Self::Operator(target)),
            _ => Err(StoreError::Corrupt {
                table: "issuance_locks",
                column: "scope",
            }),
        }
    }
}

/// A lock in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuanceLock {
    /// What it covers.
    pub scope: LockScope,
    /// Why: a short code of lowercase letters, digits and `_` (`fraud_suspected`), shown to the
    /// locked pharmacy.
    pub reason: String,
    /// Free text for the association; never shown to pharmacies, never personal data.
    pub comment: String,
    /// When it was set, unix seconds.
    pub locked_at: i64,
    /// Who set it: `cli`, `operator:<id>` or `anomaly_detection` (empty for locks older than
    /// the column).
    pub locked_by: String,
}

/// Sets a lock, or replaces the reason, comment and time of the lock already on that scope.
pub async fn lock(tx: &mut Transaction<'_, Any>, lock: &IssuanceLock) -> Result<(), StoreError> {
    let (scope, target) = lock.scope.columns();
    sqlx::query(UPSERT)
        .bind(scope)
        .bind(target)
        .bind(lock.reason.as_str())
        .bind(lock.comment.as_str())
        .bind(lock.locked_at)
        .bind(lock.locked_by.as_str())
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(())
}

/// Sets a lock unless its scope is locked already (an automatic lock must not replace the
/// reason of a lock someone set by hand); returns whether it was set.
pub async fn lock_if_absent(
    tx: &mut Transaction<'_, Any>,
    lock: &IssuanceLock,
) -> Result<bool, StoreError> {
    let (scope, target) = lock.scope.columns();
    let result = sqlx::query(INSERT_IF_ABSENT)
        .bind(scope)
        .bind(target)
        .bind(lock.reason.as_str())
        .bind(lock.comment.as_str())
        .bind(lock.locked_at)
        .bind(lock.locked_by.as_str())
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(result.rows_affected() == 1)
}

/// Lifts the lock on a scope; returns it, or `None` when there was none.
pub async fn unlock(
    tx: &mut Transaction<'_, Any>,
    scope: &LockScope,
) -> Result<Option<IssuanceLock>, StoreError> {
    let (scope, target) = scope.columns();
    sqlx::query(DELETE)
        .bind(scope)
        .bind(target)
        .fetch_optional(&mut **tx)
        .await
        .map_err(query_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Every lock in force, `all` first, then by scope and target.
pub async fn list<'e, E>(executor: E) -> Result<Vec<IssuanceLock>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(LIST)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(from_row)
        .collect()
}

/// The locks that stop any of these pharmacies: the `all` lock and their own, read inside the
/// caller's transaction (the group-commit writer checks them once per batch).
pub async fn applying_to_pharmacies(
    tx: &mut Transaction<'_, Any>,
    telematik_ids: &[&str],
) -> Result<Vec<IssuanceLock>, StoreError> {
    let mut locks = Vec::new();
    // The `all` lock is read once; the IN lists only carry pharmacy targets.
    for row in sqlx::query(ALL_LOCK)
        .fetch_all(&mut **tx)
        .await
        .map_err(query_error)?
    {
        locks.push(from_row(&row)?);
    }
    for chunk in telematik_ids.chunks(IN_CHUNK) {
        let slots = padded_len(chunk.len());
        let sql = in_list(PHARMACY_LOCKS_PREFIX, 1, slots, "");
        let mut query = sqlx::query(sql);
        for telematik_id in chunk.iter().chain(chunk.last()).cycle().take(slots) {
            query = query.bind(*telematik_id);
        }
        for row in query.fetch_all(&mut **tx).await.map_err(query_error)? {
            locks.push(from_row(&row)?);
        }
    }
    Ok(locks)
}

/// Every operator lock, read inside the caller's transaction. Locks are few (they are set by
/// hand or by anomaly detection), so reading them all is cheaper than a list per batch.
pub async fn operator_locks(
    tx: &mut Transaction<'_, Any>,
) -> Result<Vec<IssuanceLock>, StoreError> {
    sqlx::query(OPERATOR_LOCKS)
        .fetch_all(&mut **tx)
        .await
        .map_err(query_error)?
        .iter()
        .map(from_row)
        .collect()
}

fn from_row(row: &AnyRow) -> Result<IssuanceLock, StoreError> {
    let scope: String = row.try_get("scope").map_err(query_error)?;
    let target: String = row.try_get("target").map_err(query_error)?;
    Ok(IssuanceLock {
        scope: LockScope::from_columns(&scope, target)?,
        reason: row.try_get("reason").map_err(query_error)?,
        comment: row.try_get("comment").map_err(query_error)?,
        locked_at: row.try_get("locked_at").map_err(query_error)?,
        locked_by: row.try_get("locked_by").map_err(query_error)?,
    })
}

/// Telematik-IDs per `IN (…)` list.
const IN_CHUNK: usize = 512;

const UPSERT: &str = "INSERT INTO issuance_locks (scope, target, reason, comment, locked_at, \
     locked_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, target) \
     DO UPDATE SET reason = excluded.reason, comment = excluded.comment, \
     locked_at = excluded.locked_at, locked_by = excluded.locked_by";

const INSERT_IF_ABSENT: &str = "INSERT INTO issuance_locks (scope, target, reason, comment, \
     locked_at, locked_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scope, target) DO NOTHING";

const DELETE: &str = "DELETE FROM issuance_locks WHERE scope = $1 AND target = $2 \
     RETURNING scope, target, reason, comment, locked_at, locked_by";

const LIST: &str = "SELECT scope, target, reason, comment, locked_at, locked_by FROM issuance_locks \
     ORDER BY CASE scope WHEN 'all' THEN 0 ELSE 1 END, scope, target";

const ALL_LOCK: &str = "SELECT scope, target, reason, comment, locked_at, locked_by FROM issuance_locks \
     WHERE scope = 'all'";

const PHARMACY_LOCKS_PREFIX: &str = "SELECT scope, target, reason, comment, locked_at, \
     locked_by FROM issuance_locks WHERE scope = 'pharmacy' AND target IN ";

const OPERATOR_LOCKS: &str = "SELECT scope, target, reason, comment, locked_at, \
     locked_by FROM issuance_locks WHERE scope = 'operator'";
