//! The association's side of anomaly alerts: list them, and acknowledge one with a comment
//! (audited in the same transaction). Acknowledging closes the alert; the same pattern later
//! raises a new one. It does not lift a lock or a throttle: `dcc unlock` or the admin
//! listener does that, after the alert has been looked into.
//!
//! `dcc alerts ack` and `POST /api/admin/alerts/{id}/ack` (and the admin pages) all call
//! [`acknowledge`]; only who acknowledges differs ([`Acknowledger`]).

use dcc_store::alerts::{self, Alert, AlertPage};
use dcc_store::{Store, StoreError};

use crate::audit::{self, AuditEvent, ChangedBy, OPERATOR_PREFIX};
use crate::operators::OperatorRef;

/// Who acknowledges an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acknowledger<'a> {
    /// The command line on the server, with the name given (`--by`, else the login name).
    CommandLine {
        /// The name recorded with the alert.
        name: &'a str,
    },
    /// A signed-in administrator: the alert records `operator:<id>`.
    Administrator(&'a OperatorRef),
}

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
    /// Who acknowledges is empty, too long, has control characters or takes the form of an
    /// administrator's record (`operator:<id>`).
    #[error(
        "the acknowledging person (--by) must be 1 to {MAX_BY_LEN} characters without control \
         characters, not beginning with \"operator:\""
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

/// A page of alerts in id order (the admin listing): see [`AlertPage`].
pub async fn page(store: &Store, page: &AlertPage<'_>) -> Result<Vec<Alert>, AlertError> {
    Ok(alerts::page(store.pool(), page).await?)
}

/// The administrator who acknowledged `alert`, when one did (rather than the command line).
pub fn acknowledging_operator(alert: &Alert) -> Option<i64> {
    match ChangedBy::from_label(alert.acknowledged_by.as_deref()?) {
        Some(ChangedBy::Operator(id)) => Some(id),
        _ => None,
    }
}

/// Acknowledges alert `id` with a comment; records [`AuditEvent::AnomalyAlertAcknowledged`] in
/// the same transaction. Refused (and nothing changed) without a comment.
pub async fn acknowledge(
    store: &Store,
    id: i64,
    by: Acknowledger<'_>,
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
    let (recorded, changed_by, name) = match by {
        Acknowledger::CommandLine { name } => {
            let name = name.trim();
            if name.is_empty()
                || name.chars().count() > MAX_BY_LEN
                || name.chars().any(char::is_control)
                || name.starts_with(OPERATOR_PREFIX)
            {
                return Err(AlertError::InvalidBy);
            }
            (
                name.to_owned(),
                ChangedBy::CommandLine,
                Some(name.to_owned()),
            )
        }
        Acknowledger::Administrator(operator) => {
            let by = ChangedBy::Operator(operator.id);
            (by.label(), by, None)
        }
    };
    let mut tx = store.begin().await?;
    let Some(alert) = alerts::acknowledge(&mut tx, id, &recorded, comment, now).await? else {
        return Err(match alerts::find(&mut *tx, id).await? {
            Some(_) => AlertError::AlreadyAcknowledged(id),
            None => AlertError::NotFound(id),
        });
    };
    let event = AuditEvent::AnomalyAlertAcknowledged {
        alert_id: alert.id,
        rule: alert.rule.clone(),
        telematik_id: alert.telematik_id.clone(),
        by: changed_by,
        name,
    };
    audit::record(&mut tx, &event, now).await?;
    dcc_store::commit(tx).await?;
    Ok(alert)
}
