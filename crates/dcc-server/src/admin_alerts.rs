//! Anomaly alerts on the admin listener: `GET /api/admin/alerts` pages through them (open by
//! default) and `POST /api/admin/alerts/{id}/ack` acknowledges one with a comment, through
//! the same use case as `dcc alerts ack` ([`dcc_issuance::alerts::acknowledge`]), recording
//! the administrator's operator id with the alert and in the audit log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use dcc_issuance::alerts::{self, Acknowledger, AlertError};
use dcc_store::alerts::{Alert, AlertPage, AlertState};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin_audit::{self, query_pairs, unknown_parameter};
use crate::admin_session::{AdminSignedIn, AdminState};
use crate::clock;
use crate::error::ApiError;
use crate::operator_session::parse_body;

/// `GET /api/admin/alerts?state=open|acknowledged|all&telematik_id=…&after=ID&limit=N`: up to
/// `limit` (1–1000, default 100) alerts with an id above `after` (default 0), oldest first,
/// and `next_after` to ask for the next page.
pub async fn alerts_list(
    State(state): State<AdminState>,
    _admin: AdminSignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = AlertQuery::parse(query.as_deref())?;
    let page = query.page();
    let listed = alerts::page(&state.store, &page).await?;
    let next_after = listed.last().map_or(page.after, |alert| alert.id);
    let listed: Vec<Value> = listed.iter().map(alert_json).collect();
    Ok(Json(json!({
        "state": page.state.as_str(),
        "alerts": listed,
        "next_after": next_after,
    }))
    .into_response())
}

/// The body of an acknowledgement.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    /// What was found (required, at most 500 characters); read as any JSON value so that a
    /// wrong type is refused with the field's name.
    comment: Option<Value>,
}

/// `POST /api/admin/alerts/{id}/ack` `{comment}`: acknowledges an open alert (200, the alert
/// as it now stands). No comment: 422 `comment_required`; unknown id: 404
/// `alert_not_found`; acknowledged before: 409 `alert_already_acknowledged`.
pub async fn alerts_acknowledge(
    State(state): State<AdminState>,
    admin: AdminSignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: AckBody = parse_body(&body)?;
    let comment = match &body.comment {
        None | Some(Value::Null) => None,
        Some(Value::String(comment)) => Some(comment.as_str()),
        Some(_) => {
            return Err(ApiError::InvalidBody(
                "comment must be a string (what was found)".to_owned(),
            ));
        }
    };
    let id = alert_id(&id)?;
    let by = Acknowledger::Administrator(&admin.operator);
    let now = clock::now().unix_timestamp();
    let alert = alerts::acknowledge(&state.store, id, by, comment, now).await?;
    Ok(Json(alert_json(&alert)).into_response())
}

/// An alert id from the path; anything but an integer names no alert.
pub fn alert_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::Alert(AlertError::NotFound(0)))
}

/// An alert as the admin API describes it (`openapi-admin.json`, `Alert`).
pub fn alert_json(alert: &Alert) -> Value {
    let acknowledgement = alert.acknowledged_at.map(|at| {
        json!({
            "by": alert.acknowledged_by,
            "operator_id": alerts::acknowledging_operator(alert),
            "at": at,
            "comment": alert.comment,
        })
    });
    json!({
        "id": alert.id,
        "rule": alert.rule,
        "severity": alert.severity,
        "telematik_id": alert.telematik_id,
        "operator_id": alert.operator_id,
        "subject": alert.subject,
        "state": if alert.is_open() { "open" } else { "acknowledged" },
        "window_start": alert.window_start,
        "window_end": alert.window_end,
        "first_seen": alert.created_at,
        "last_seen": alert.updated_at,
        "occurrences": alert.occurrences,
        "evidence": alert.evidence,
        "action_taken": alert.action_taken,
        "acknowledgement": acknowledgement,
    })
}

/// The listing's query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AlertQuery {
    state: AlertState,
    telematik_id: Option<String>,
    after: i64,
    limit: i64,
}

impl AlertQuery {
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut parsed = Self {
            state: AlertState::Open,
            telematik_id: None,
            after: 0,
            limit: DEFAULT_LIMIT,
        };
        for (name, value) in query_pairs(query) {
            match name {
                "state" => parsed.state = state(value)?,
                "telematik_id" => parsed.telematik_id = Some(telematik_id(value)?),
                "after" => parsed.after = admin_audit::integer("after", value, 0, i64::MAX)?,
                "limit" => parsed.limit = admin_audit::integer("limit", value, 1, MAX_LIMIT)?,
                other => return Err(unknown_parameter(other)),
            }
        }
        Ok(parsed)
    }

    fn page(&self) -> AlertPage<'_> {
        AlertPage {
            state: self.state,
            telematik_id: self.telematik_id.as_deref(),
            after: self.after,
            limit: self.limit,
        }
    }
}

fn state(value: &str) -> Result<AlertState, ApiError> {
    match value {
        "open" => Ok(AlertState::Open),
        "acknowledged" => Ok(AlertState::Acknowledged),
        "all" => Ok(AlertState::All),
        _ => Err(ApiError::InvalidQuery {
            field: "state".to_owned(),
            message: "state must be open, acknowledged or all".to_owned(),
        }),
    }
}

/// A Telematik-ID filter: 1 to 128 characters of what Telematik-IDs are made of.
fn telematik_id(value: &str) -> Result<String, ApiError> {
    let valid = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_'));
    if valid {
        Ok(value.to_owned())
    } else {
        Err(ApiError::InvalidQuery {
            field: "telematik_id".to_owned(),
            message: "telematik_id must be 1 to 128 characters from A-Z, a-z, 0-9, '-', '.' \
                      and '_'"
                .to_owned(),
        })
    }
}

/// Alerts per page when `limit` is not given.
const DEFAULT_LIMIT: i64 = 100;

/// The most alerts per page.
const MAX_LIMIT: i64 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_field(query: &str) -> String {
        match AlertQuery::parse(Some(query)) {
            Err(ApiError::InvalidQuery { field, .. }) => field,
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn the_listing_defaults_to_open_alerts_and_checks_its_parameters() {
        let default = AlertQuery::parse(None).unwrap();
        assert_eq!(default.state, AlertState::Open);
        assert_eq!((default.after, default.limit), (0, 100));
        assert_eq!(default.telematik_id, None);
        let parsed =
            AlertQuery::parse(Some("state=all&telematik_id=3-SMC-B.1&after=7&limit=2")).unwrap();
        assert_eq!(parsed.state, AlertState::All);
        assert_eq!(parsed.telematik_id.as_deref(), Some("3-SMC-B.1"));
        assert_eq!((parsed.after, parsed.limit), (7, 2));
        assert_eq!(
            AlertQuery::parse(Some("state=acknowledged")).unwrap().state,
            AlertState::Acknowledged
        );
        assert_eq!(refused_field("state=closed"), "state");
        assert_eq!(refused_field("telematik_id="), "telematik_id");
        assert_eq!(refused_field("telematik_id=a%20b"), "telematik_id");
        assert_eq!(refused_field("limit=0"), "limit");
        assert_eq!(refused_field("after=-1"), "after");
        assert_eq!(refused_field("rule=burst"), "rule");
    }

    #[test]
    fn only_integers_name_alerts() {
        assert_eq!(alert_id("12").unwrap(), 12);
        assert!(matches!(
            alert_id("x"),
            Err(ApiError::Alert(AlertError::NotFound(_)))
        ));
    }
}
