//! The association's side of anomaly alerts: list them, and acknowledge one with a comment
//! (audited in the same transaction). Acknowledging closes the alert; the same pattern later
//! raises a new one. It does not lift a lock or a throttle: `dcc unlock` does that, after the
//! alert has been looked into.

use dcc_store::alerts::{self, Alert};
use dcc_store::{Store, StoreError};

use crate::audit::{self, AuditEvent};

/// Longest comment.
pub const MAX_COMMENT_LEN: usize = 500;

/// Longest name of who acknowledges.
pub const MAX_BY_LEN: usize = 128;

/// Why alerts could not be listed or acknowledged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlertError {
    /// No comment, or only whitespace.
    #[error("a comment is required to acknowledge an alert (--comment): say what was found")]
    CommentRequired,
    /// The comment is too long or has control characters.
    #[error("the comment must be at most {MAX_COMMENT_LEN} characters without control characters")]
    InvalidComment,
    /// Who acknowledges is empty, too long or has control characters.
    #[error(
        "the acknowledging person (--by) must be 1 to {MAX_BY_LEN} characters without control characters"
    )]
    InvalidBy,
    /// No alert has this number.
    #[error("there is no alert {0}")]
    NotFound(i64),
    /// The alert was acknowledged before.
    #[error("alert {0} was acknowledged already")]
    AlreadyAcknowledged(i64),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AlertError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::CommentRequired => "comment_required",
            Self::InvalidComment => "invalid_comment",
            Self::InvalidBy => "invalid_acknowledged_by",
            Self::NotFound(_) => "alert_not_found",
            Self::AlreadyAcknowledged(_) => "alert_already_acknowledged",
            Self::Store(_) => "store_unavailable",
        }
    }
}

/// Alerts, newest first (at most `limit`); only open ones when `open_only`.
pub async fn list(store: &Store, open_only: bool, limit: i64) -> Result<Vec<Alert>, AlertError> {
    Ok(alerts::list(store.pool(), open_only, limit).await?)
}

/// Open alerts per rule (for `/metrics`).
pub async fn open_by_rule(store: &Store) -> Result<Vec<(String, u64)>, AlertError> {
    Ok(alerts::open_by_rule(store.pool()).await?)
}

/// Acknowledges alert `id` with a comment; records [`AuditEvent::AnomalyAlertAcknowledged`] in
/// the same transaction. Refused (and nothing changed) without a comment.
pub async fn acknowledge(
    store: &Store,
    id: i64,
    by: &str,
    comment: Option<&str>,
    now: i64,
) -> Result<Alert, AlertError> {
    let comment = comment.map(str::trim).unwrap_or_default();
    if comment.is_empty() {
        return Err(AlertError::CommentRequired);
    }
    if comment.chars().count() > MAX_COMMENT_LEN || comment.chars().any(char::is_control) {
        return Err(AlertError::InvalidComment);
    }
    let by = by.trim();
    if by.is_empty() || by.chars().count() > MAX_BY_LEN || by.chars().any(char::is_control) {
        return Err(AlertError::InvalidBy);
    }
    let mut tx = store.begin().await?;
    let Some(alert) = alerts::acknowledge(&mut tx, id, by, comment, now).await? else {
        return Err(match alerts::find(&mut *tx, id).await? {
            Some(_) => AlertError::AlreadyAcknowledged(id),
            None => AlertError::NotFound(id),
        });
    };
    let event = AuditEvent::AnomalyAlertAcknowledged {
        alert_id: alert.id,
        rule: alert.rule.clone(),
        telematik_id: alert.telematik_id.clone(),
        by: by.to_owned(),
    };
    audit::record(&mut tx, &event, now).await?;
    dcc_store::commit(tx).await?;
    Ok(alert)
}
