//! The kill switch's use cases: lock issuance for everyone, one pharmacy or one operator, with
//! a reason, and unlock it again; each change is audited in its own transaction, naming who
//! made it (an administrator's operator id, or `cli`), and a lock keeps who set it.
//!
//! A lock takes effect for every certificate committed after it, on every instance: the
//! group-commit writer reads the locks in the transaction that would record a certificate
//! ([`crate::recorder`]). Locked requests are answered 423 with the lock's reason code.

use dcc_store::locks::{self, IssuanceLock, LockScope};
use dcc_store::{Store, StoreError};

use crate::audit::{self, AuditEvent, ChangedBy};
use crate::operators::Actor;

/// Longest reason code.
pub const MAX_REASON_LEN: usize = 64;

/// Longest comment.
pub const MAX_COMMENT_LEN: usize = 500;

/// Why a kill-switch change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KillSwitchError {
    /// The reason is not 1 to 64 characters from `a–z`, `0–9` and `_`.
    #[error(
        "the reason {0:?} must be 1 to {MAX_REASON_LEN} characters from a-z, 0-9 and _ \
         (for example fraud_suspected)"
    )]
    InvalidReason(String),
    /// The comment is longer than 500 characters or has control characters.
    #[error("the comment must be at most {MAX_COMMENT_LEN} characters without control characters")]
    InvalidComment,
    /// The pharmacy or operator id is empty or has whitespace.
    #[error("{0:?} is not a valid target (1 to 128 characters, no whitespace)")]
    InvalidTarget(String),
    /// No operator account has this id.
    #[error("no operator has the id {0:?} (see dcc operator list)")]
    UnknownOperator(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl KillSwitchError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidReason(_) => "invalid_reason",
            Self::InvalidComment => "invalid_comment",
            Self::InvalidTarget(_) => "invalid_target",
            Self::UnknownOperator(_) => "unknown_operator",
            Self::Store(_) => "store_unavailable",
        }
    }
}

/// Locks issuance for `scope` and records [`AuditEvent::IssuanceLocked`] in the same
/// transaction. Locking a locked scope replaces its reason and comment.
pub async fn lock(
    store: &Store,
    actor: &Actor,
    scope: LockScope,
    reason: &str,
    comment: &str,
    now: i64,
) -> Result<IssuanceLock, KillSwitchError> {
    check_scope(&scope)?;
    let by = ChangedBy::from(actor);
    if let LockScope::Operator(target) = &scope {
        let id: i64 = target
            .parse()
            .map_err(|_| KillSwitchError::UnknownOperator(target.clone()))?;
        if dcc_store::operators::find(store.pool(), id)
            .await?
            .is_none()
        {
            return Err(KillSwitchError::UnknownOperator(target.clone()));
        }
    }
    if reason.is_empty()
        || reason.len() > MAX_REASON_LEN
        || !reason
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(KillSwitchError::InvalidReason(reason.to_owned()));
    }
    if comment.chars().count() > MAX_COMMENT_LEN || comment.chars().any(char::is_control) {
        return Err(KillSwitchError::InvalidComment);
    }
    let lock = IssuanceLock {
        scope,
        reason: reason.to_owned(),
        comment: comment.to_owned(),
        locked_at: now,
        locked_by: by.label(),
    };
    let mut tx = store.begin().await?;
    locks::lock(&mut tx, &lock).await?;
    let event = AuditEvent::IssuanceLocked {
        scope: lock.scope.clone(),
        reason: lock.reason.clone(),
        by,
    };
    audit::record(&mut tx, &event, now).await?;
    dcc_store::commit(tx).await?;
    Ok(lock)
}

/// Lifts the lock on `scope` and records [`AuditEvent::IssuanceUnlocked`] in the same
/// transaction. Returns the lifted lock, or `None` (and records nothing) when there was none.
pub async fn unlock(
    store: &Store,
    actor: &Actor,
    scope: LockScope,
    now: i64,
) -> Result<Option<IssuanceLock>, KillSwitchError> {
    check_scope(&scope)?;
    let mut tx = store.begin().await?;
    let Some(lifted) = locks::unlock(&mut tx, &scope).await? else {
        return Ok(None);
    };
    let event = AuditEvent::IssuanceUnlocked {
        scope: lifted.scope.clone(),
        reason: lifted.reason.clone(),
        by: actor.into(),
    };
    audit::record(&mut tx, &event, now).await?;
    dcc_store::commit(tx).await?;
    Ok(Some(lifted))
}

/// Every lock in force.
pub async fn list(store: &Store) -> Result<Vec<IssuanceLock>, KillSwitchError> {
    Ok(locks::list(store.pool()).await?)
}

fn check_scope(scope: &LockScope) -> Result<(), KillSwitchError> {
    match scope {
        LockScope::Pharmacy(target) | LockScope::Operator(target)
            if target.is_empty()
                || target.len() > 128
                || target.chars().any(char::is_whitespace) =>
        {
            Err(KillSwitchError::InvalidTarget(target.clone()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_spaced_targets_are_refused() {
        assert!(check_scope(&LockScope::All).is_ok());
        assert!(check_scope(&LockScope::Pharmacy("3-SMC-B-1".into())).is_ok());
        assert!(matches!(
            check_scope(&LockScope::Pharmacy(String::new())),
            Err(KillSwitchError::InvalidTarget(_))
        ));
        assert!(matches!(
            check_scope(&LockScope::Operator("a b".into())),
            Err(KillSwitchError::InvalidTarget(_))
        ));
    }
}
