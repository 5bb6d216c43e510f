//! The audit log on the admin listener: `GET /api/admin/audit?after=SEQ&limit=N` pages
//! through the entries in chain order, and `GET /api/admin/audit/verification` recomputes the
//! whole hash chain and names its first broken link.
//!
//! Verification reads every entry, so it has a route of its own rather than running with
//! every page: paging through a long log stays cheap, and checking the chain is one request.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use dcc_store::audit::{self, AuditEntry, BrokenReason};
use serde_json::{Value, json};

use crate::admin_session::{AdminSignedIn, AdminState};
use crate::error::ApiError;

/// `GET /api/admin/audit?after=SEQ&limit=N`: up to `limit` (1–1000, default 100) entries with
/// a sequence number above `after` (default 0), and `next_after` to ask for the next page.
pub async fn audit_entries_list(
    State(state): State<AdminState>,
    _admin: AdminSignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let page = AuditPage::parse(query.as_deref())?;
    let entries = audit::entries(state.store.pool(), page.after, page.limit).await?;
    let next_after = entries.last().map_or(page.after, |entry| entry.seq);
    let entries: Vec<Value> = entries.iter().map(entry_json).collect();
    Ok(Json(json!({ "entries": entries, "next_after": next_after })).into_response())
}

/// `GET /api/admin/audit/verification`: whether the hash chain is intact.
pub async fn audit_chain_verify(
    State(state): State<AdminState>,
    _admin: AdminSignedIn,
) -> Result<Response, ApiError> {
    let report = audit::verify_chain(&state.store).await?;
    let first_broken = report
        .first_broken
        .map(|link| json!({"seq": link.seq, "reason": broken_reason(link.reason)}));
    Ok(Json(json!({
        "intact": first_broken.is_none(),
        "entries": report.entries,
        "first_broken": first_broken,
    }))
    .into_response())
}

/// One page of the audit log as asked for in the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AuditPage {
    after: i64,
    limit: i64,
}

impl AuditPage {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut page = Self {
            after: 0,
            limit: DEFAULT_LIMIT,
        };
        for (name, value) in query_pairs(query) {
            match name {
                "after" => page.after = integer("after", value, 0, i64::MAX)?,
                "limit" => page.limit = integer("limit", value, 1, MAX_LIMIT)?,
                other => return Err(unknown_parameter(other)),
            }
        }
        Ok(page)
    }
}

/// The `name=value` pairs of a query string (a name without `=` has an empty value).
pub(crate) fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// The refusal of a query parameter this route does not take.
pub(crate) fn unknown_parameter(name: &str) -> ApiError {
    ApiError::InvalidQuery {
        field: name.to_owned(),
        message: format!("unknown query parameter {name:?}"),
    }
}

/// An integer query parameter from `min` to `max`.
pub(crate) fn integer(
    field: &'static str,
    value: &str,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|number| (min..=max).contains(number))
        .ok_or_else(|| ApiError::InvalidQuery {
            field: field.to_owned(),
            message: format!("{field} must be an integer from {min} to {max}"),
        })
}

fn entry_json(entry: &AuditEntry) -> Value {
    // `detail` is stored as JSON text; it is handed out as JSON, or as the text should a
    // stored entry ever not parse (the hash covers the text, not its parsed form).
    let detail = serde_json::from_str::<Value>(&entry.detail)
        .unwrap_or_else(|_| Value::String(entry.detail.clone()));
    json!({
        "seq": entry.seq,
        "at": entry.at,
        "kind": entry.kind,
        "telematik_id": entry.telematik_id,
        "uvci": entry.uvci,
        "detail": detail,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    })
}

fn broken_reason(reason: BrokenReason) -> &'static str {
    match reason {
        BrokenReason::HashMismatch => "hash_mismatch",
        BrokenReason::PrevHashMismatch => "prev_hash_mismatch",
        BrokenReason::SequenceGap => "sequence_gap",
        BrokenReason::HeadMismatch => "head_mismatch",
        _ => "broken",
    }
}

/// Entries per page when `limit` is not given.
const DEFAULT_LIMIT: i64 = 100;

/// The most entries per page.
const MAX_LIMIT: i64 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_field(query: &str) -> String {
        match AuditPage::parse(Some(query)) {
            Err(ApiError::InvalidQuery { field, .. }) => field,
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn pages_default_and_are_bounded() {
        assert_eq!(
            AuditPage::parse(None).unwrap(),
            AuditPage {
                after: 0,
                limit: 100
            }
        );
        assert_eq!(
            AuditPage::parse(Some("after=42&limit=1000")).unwrap(),
            AuditPage {
                after: 42,
                limit: 1000
            }
        );
        assert_eq!(refused_field("limit=1001"), "limit");
        assert_eq!(refused_field("limit=0"), "limit");
        assert_eq!(refused_field("after=-1"), "after");
        assert_eq!(refused_field("after=ten"), "after");
        assert_eq!(refused_field("after=1&offset=3"), "offset");
    }
}
