//! Anomaly alerts: one row per alert, found by anomaly detection and acknowledged by the
//! association with a comment.
//!
//! While an alert is open its `open_key` (rule, pharmacy, operator and subject joined) is
//! unique, so one ongoing pattern is one alert even when several instances on one PostgreSQL
//! detect it at once: [`raise_or_refresh`] inserts a new alert or, when the key is open
//! already, refreshes its window, evidence and occurrence count. [`acknowledge`] closes it
//! (the key becomes NULL), after which the same pattern raises a new alert. Acknowledged alerts
//! are final and no alert is ever deleted (triggers refuse both). The evidence is JSON without
//! personal data; the caller sees to that.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

use crate::error::{StoreError, query_error};

/// An alert to raise, or to refresh while one with its key is open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewAlert<'a> {
    /// The rule's code (`off_hours_repeated`).
    pub rule: &'a str,
    /// `warning`, `high` or `critical`.
    pub severity: &'a str,
    /// The pharmacy.
    pub telematik_id: &'a str,
    /// The operator, once operators are recorded.
    pub operator_id: Option<&'a str>,
    /// What tells parallel alerts of one rule and pharmacy apart (may be empty).
    pub subject: &'a str,
    /// The open alert's unique key.
    pub open_key: &'a str,
    /// First instant the evidence covers, unix seconds.
    pub window_start: i64,
    /// Last instant the evidence covers, unix seconds.
    pub window_end: i64,
    /// Counts, times and identifiers; no personal data.
    pub evidence: &'a serde_json::Value,
    /// The action configured for the rule (`warn`, `throttle`, `lock_operator`,
    /// `lock_pharmacy`), taken when the alert is raised.
    pub action: &'a str,
    /// Occurrences this write adds (at least 1).
    pub occurrences: i64,
    /// When, unix seconds.
    pub at: i64,
}

/// What [`raise_or_refresh`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertWrite {
    /// A new alert with this id: its action is to be taken.
    Raised(i64),
    /// The open alert with this id was refreshed.
    Refreshed(i64),
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Its number.
    pub id: i64,
    /// The rule's code.
    pub rule: String,
    /// `warning`, `high` or `critical`.
    pub severity: String,
    /// The pharmacy.
    pub telematik_id: String,
    /// The operator, when known.
    pub operator_id: Option<String>,
    /// The subject (may be empty).
    pub subject: String,
    /// First instant the evidence covers.
    pub window_start: i64,
    /// Last instant the evidence covers.
    pub window_end: i64,
    /// The latest evidence.
    pub evidence: serde_json::Value,
    /// The action taken when it was raised.
    pub action_taken: String,
    /// How many occurrences it gathered while open.
    pub occurrences: i64,
    /// When it was raised.
    pub created_at: i64,
    /// When it was last refreshed.
    pub updated_at: i64,
    /// When it was acknowledged.
    pub acknowledged_at: Option<i64>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// The acknowledgement's comment.
    pub comment: Option<String>,
}

impl Alert {
    /// Whether it still waits for an acknowledgement.
    pub fn is_open(&self) -> bool {
        self.acknowledged_at.is_none()
    }
}

/// Raises the alert, or refreshes the open one with the same key (window widened, evidence
/// replaced, occurrences added).
pub async fn raise_or_refresh(
    tx: &mut Transaction<'_, Any>,
    alert: &NewAlert<'_>,
) -> Result<AlertWrite, StoreError> {
    let evidence = serde_json::to_string(alert.evidence).map_err(StoreError::Detail)?;
    // On PostgreSQL a concurrent insert of the same key makes this wait for its transaction
    // and then do nothing; the update below then sees the committed row. If the open alert is
    // acknowledged between the two statements, the second insert raises a new one.
    for _ in 0..2 {
        let inserted = sqlx::query(INSERT)
            .bind(alert.rule)
            .bind(alert.severity)
            .bind(alert.telematik_id)
            .bind(alert.operator_id)
            .bind(alert.subject)
            .bind(alert.open_key)
            .bind(alert.window_start)
            .bind(alert.window_end)
            .bind(evidence.as_str())
            .bind(alert.action)
            .bind(alert.occurrences)
            .bind(alert.at)
            .fetch_optional(&mut **tx)
            .await
            .map_err(query_error)?;
        if let Some(row) = inserted {
            return Ok(AlertWrite::Raised(row.try_get("id").map_err(query_error)?));
        }
        let refreshed = sqlx::query(REFRESH)
            .bind(alert.open_key)
            .bind(alert.window_start)
            .bind(alert.window_end)
            .bind(evidence.as_str())
            .bind(alert.occurrences)
            .bind(alert.at)
            .fetch_optional(&mut **tx)
            .await
            .map_err(query_error)?;
        if let Some(row) = refreshed {
            return Ok(AlertWrite::Refreshed(
                row.try_get("id").map_err(query_error)?,
            ));
        }
    }
    Err(StoreError::Corrupt {
        table: "anomaly_alerts",
        column: "open_key",
    })
}

/// Acknowledges an open alert. Returns it as it now stands, or `None` when no open alert has
/// this id (look it up with [`find`] to tell "unknown" from "acknowledged already").
pub async fn acknowledge(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    by: &str,
    comment: &str,
    at: i64,
) -> Result<Option<Alert>, StoreError> {
    sqlx::query(ACKNOWLEDGE)
        .bind(id)
        .bind(at)
        .bind(by)
        .bind(comment)
        .fetch_optional(&mut **tx)
        .await
        .map_err(query_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The alert with this id.
pub async fn find<'e, E>(executor: E, id: i64) -> Result<Option<Alert>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(FIND)
        .bind(id)
        .fetch_optional(executor)
        .await
        .map_err(query_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Alerts, newest first, at most `limit`; only the open ones when `open_only`.
pub async fn list<'e, E>(executor: E, open_only: bool, limit: i64) -> Result<Vec<Alert>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let sql = if open_only { LIST_OPEN } else { LIST };
    sqlx::query(sql)
        .bind(limit)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(from_row)
        .collect()
}

/// Which alerts a page holds, by acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// Not yet acknowledged.
    Open,
    /// Acknowledged.
    Acknowledged,
    /// Both.
    All,
}

impl AlertState {
    /// The state's name (`open`, `acknowledged`, `all`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::All => "all",
        }
    }
}

/// One page of alerts: those with an id above `after`, oldest first, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertPage<'a> {
    /// Open, acknowledged or all.
    pub state: AlertState,
    /// Only this pharmacy's alerts.
    pub telematik_id: Option<&'a str>,
    /// Alerts with a larger id than this.
    pub after: i64,
    /// At most this many.
    pub limit: i64,
}

/// A page of alerts in id order (the admin listing; paged like the audit log).
pub async fn page<'e, E>(executor: E, page: &AlertPage<'_>) -> Result<Vec<Alert>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(PAGE)
        .bind(page.after)
        .bind(page.state.as_str())
        .bind(page.telematik_id.unwrap_or(""))
        .bind(page.limit)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(from_row)
        .collect()
}

/// Open alerts per rule code, sorted by rule (for `/metrics`).
pub async fn open_by_rule<'e, E>(executor: E) -> Result<Vec<(String, u64)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(OPEN_BY_RULE)
        .fetch_all(executor)
        .await
        .map_err(query_error)?;
    let mut counts = Vec::with_capacity(rows.len());
    for row in &rows {
        let count: i64 = row.try_get("open_count").map_err(query_error)?;
        counts.push((
            row.try_get("rule").map_err(query_error)?,
            u64::try_from(count).unwrap_or(0),
        ));
    }
    Ok(counts)
}

fn from_row(row: &AnyRow) -> Result<Alert, StoreError> {
    let evidence: String = row.try_get("evidence").map_err(query_error)?;
    Ok(Alert {
        id: row.try_get("id").map_err(query_error)?,
        rule: row.try_get("rule").map_err(query_error)?,
        severity: row.try_get("severity").map_err(query_error)?,
        telematik_id: row.try_get("telematik_id").map_err(query_error)?,
        operator_id: row.try_get("operator_id").map_err(query_error)?,
        subject: row.try_get("subject").map_err(query_error)?,
        window_start: row.try_get("window_start").map_err(query_error)?,
        window_end: row.try_get("window_end").map_err(query_error)?,
        evidence: serde_json::from_str(&evidence).map_err(|_| StoreError::Corrupt {
            table: "anomaly_alerts",
            column: "evidence",
        })?,
        action_taken: row.try_get("action_taken").map_err(query_error)?,
        occurrences: row.try_get("occurrences").map_err(query_error)?,
        created_at: row.try_get("created_at").map_err(query_error)?,
        updated_at: row.try_get("updated_at").map_err(query_error)?,
        acknowledged_at: row.try_get("acknowledged_at").map_err(query_error)?,
        acknowledged_by: row.try_get("acknowledged_by").map_err(query_error)?,
        comment: row.try_get("comment").map_err(query_error)?,
    })
}

/// The columns every read returns, in order (checked against the statements below).
#[cfg(test)]
const COLUMNS: &str = "id, rule, severity, telematik_id, operator_id, subject, window_start, \
     window_end, evidence, action_taken, occurrences, created_at, updated_at, acknowledged_at, \
     acknowledged_by, comment";

const INSERT: &str = "INSERT INTO anomaly_alerts (rule, severity, telematik_id, operator_id, \
     subject, open_key, window_start, window_end, evidence, action_taken, occurrences, \
     created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
     ON CONFLICT (open_key) DO NOTHING RETURNING id";

const REFRESH: &str = "UPDATE anomaly_alerts SET \
     window_start = CASE WHEN $2 < window_start THEN $2 ELSE window_start END, \
     window_end = CASE WHEN $3 > window_end THEN $3 ELSE window_end END, \
     evidence = $4, occurrences = occurrences + $5, updated_at = $6 \
     WHERE open_key = $1 RETURNING id";

const ACKNOWLEDGE: &str = "UPDATE anomaly_alerts SET acknowledged_at = $2, acknowledged_by = $3, \
     comment = $4, open_key = NULL WHERE id = $1 AND acknowledged_at IS NULL \
     RETURNING id, rule, severity, telematik_id, operator_id, subject, window_start, \
     window_end, evidence, action_taken, occurrences, created_at, updated_at, acknowledged_at, \
     acknowledged_by, comment";

const FIND: &str = "SELECT id, rule, severity, telematik_id, operator_id, subject, window_start, \
     window_end, evidence, action_taken, occurrences, created_at, updated_at, acknowledged_at, \
     acknowledged_by, comment FROM anomaly_alerts WHERE id = $1";

const LIST: &str = "SELECT id, rule, severity, telematik_id, operator_id, subject, window_start, \
     window_end, evidence, action_taken, occurrences, created_at, updated_at, acknowledged_at, \
     acknowledged_by, comment FROM anomaly_alerts ORDER BY id DESC LIMIT $1";

const LIST_OPEN: &str = "SELECT id, rule, severity, telematik_id, operator_id, subject, \
     window_start, window_end, evidence, action_taken, occurrences, created_at, updated_at, \
     acknowledged_at, acknowledged_by, comment FROM anomaly_alerts \
     WHERE acknowledged_at IS NULL ORDER BY id DESC LIMIT $1";

// One statement for every filter: the state and pharmacy arrive as parameters ('' = any).
const PAGE: &str = "SELECT id, rule, severity, telematik_id, operator_id, subject, window_start, \
     window_end, evidence, action_taken, occurrences, created_at, updated_at, acknowledged_at, \
     acknowledged_by, comment FROM anomaly_alerts WHERE id > $1 \
     AND ($2 = 'all' OR ($2 = 'open' AND acknowledged_at IS NULL) \
     OR ($2 = 'acknowledged' AND acknowledged_at IS NOT NULL)) \
     AND ($3 = '' OR telematik_id = $3) ORDER BY id LIMIT $4";

const OPEN_BY_RULE: &str = "SELECT rule, COUNT(*) AS open_count FROM anomaly_alerts \
     WHERE acknowledged_at IS NULL GROUP BY rule ORDER BY rule";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_select_reads_the_same_columns() {
        for sql in [FIND, LIST, LIST_OPEN, PAGE] {
            assert!(sql.contains(COLUMNS), "{sql}");
        }
        assert!(ACKNOWLEDGE.ends_with(COLUMNS));
    }
}
