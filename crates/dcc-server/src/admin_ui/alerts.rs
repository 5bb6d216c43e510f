//! The alerts page: `GET /alerts` (open alerts; `?show=acknowledged` for the acknowledged
//! ones) and `POST /alerts/{id}/ack` (acknowledge with a required comment, through the same
//! use case as `dcc alerts ack` and the admin API).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dcc_issuance::alerts::{self, Acknowledger, AlertError};
use dcc_issuance::audit::ChangedBy;
use dcc_store::alerts::{Alert, AlertPage, AlertState};
use serde::Deserialize;
use serde_json::Value;

use crate::admin_session::AdminState;
use crate::admin_ui::i18n::AdminMsg;
use crate::admin_ui::page::{AdminChrome, AdminUiError, local_time};
use crate::admin_ui::session::AdminPage;
use crate::clock;
use crate::ui::csrf;
use crate::ui::i18n::Lang;
use crate::ui::page::render;

/// The alerts page.
#[derive(Template)]
#[template(path = "admin/alerts.html")]
pub struct AlertsPage {
    /// The frame.
    pub chrome: AdminChrome,
    /// Whether the acknowledged alerts are shown (else the open ones).
    pub acknowledged: bool,
    /// The alerts.
    pub alerts: Vec<AlertLine>,
    /// A notice code to show.
    pub notice: Option<String>,
    /// An error code to show above the list.
    pub error: Option<String>,
}

/// One alert as the page shows it.
#[derive(Debug, Clone)]
pub struct AlertLine {
    /// Its number.
    pub id: i64,
    /// The rule's code.
    pub rule: String,
    /// The rule's code.
    pub severity: String,
    /// The pharmacy.
    pub telematik_id: String,
    /// The operator's id, or a dash.
    pub operator: String,
    /// First and last instant of the evidence, local time.
    pub window: String,
    /// Raised, local time.
    pub first_seen: String,
    /// Last refreshed, local time.
    pub last_seen: String,
    /// Occurrences.
    pub occurrences: i64,
    /// The evidence as `name: value` pairs.
    pub evidence: Vec<(String, String)>,
    /// The action taken.
    pub action: String,
    /// Who acknowledged, when and why.
    pub acknowledgement: Option<(String, String, String)>,
    /// The comment typed (kept after a refusal).
    pub comment: String,
    /// The refusal of this alert's comment.
    pub comment_error: Option<String>,
}

/// `?show=acknowledged`, `?m=` (a notice code).
#[derive(Debug, Deserialize)]
pub struct AlertsQuery {
    show: Option<String>,
    m: Option<String>,
}

/// The acknowledgement form.
#[derive(Debug, Deserialize)]
pub struct AckForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    comment: String,
}

/// `GET /alerts`.
pub async fn view_alerts_get(
    State(state): State<AdminState>,
    page: AdminPage,
    Query(query): Query<AlertsQuery>,
) -> Response {
    let acknowledged = query.show.as_deref() == Some("acknowledged");
    let notice = query
        .m
        .filter(|code| code == "acknowledged" && AdminMsg::for_code(code).is_some());
    alerts_page(&state, &page, acknowledged, notice, None, None).await
}

/// `POST /alerts/{id}/ack`.
pub async fn view_alert_ack_post(
    State(state): State<AdminState>,
    page: AdminPage,
    Path(id): Path<String>,
    Form(form): Form<AckForm>,
) -> Response {
    if csrf::verify(&page.csrf_token, Some(&form.csrf)).is_err() {
        return AdminUiError::csrf(page.lang).into_response();
    }
    let Ok(id) = id.parse::<i64>() else {
        return AdminUiError::new(page.lang, StatusCode::NOT_FOUND, "alert_not_found")
            .into_response();
    };
    let by = Acknowledger::Administrator(&page.operator);
    let now = clock::now().unix_timestamp();
    match alerts::acknowledge(&state.store, id, by, Some(&form.comment), now).await {
        Ok(_) => Redirect::to("/alerts?m=acknowledged").into_response(),
        Err(error @ (AlertError::CommentRequired | AlertError::InvalidComment)) => {
            let refusal = (id, form.comment, error.code());
            let mut response = alerts_page(&state, &page, false, None, None, Some(refusal)).await;
            if response.status() == StatusCode::OK {
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            response
        }
        Err(AlertError::Store(_)) => AdminUiError::store(page.lang).into_response(),
        Err(error) => {
            let status = match error {
                AlertError::AlreadyAcknowledged(_) => StatusCode::CONFLICT,
                _ => StatusCode::NOT_FOUND,
            };
            let mut response =
                alerts_page(&state, &page, false, None, Some(error.code()), None).await;
            if response.status() == StatusCode::OK {
                *response.status_mut() = status;
            }
            response
        }
    }
}

/// Renders the page; `refusal` is an alert whose comment was refused, with the typed text.
async fn alerts_page(
    state: &AdminState,
    page: &AdminPage,
    acknowledged: bool,
    notice: Option<String>,
    error: Option<&str>,
    refusal: Option<(i64, String, &str)>,
) -> Response {
    let query = AlertPage {
        state: if acknowledged {
            AlertState::Acknowledged
        } else {
            AlertState::Open
        },
        telematik_id: None,
        after: 0,
        limit: PAGE_SIZE,
    };
    let listed = match alerts::page(&state.store, &query).await {
        Ok(listed) => listed,
        Err(_) => return AdminUiError::store(page.lang).into_response(),
    };
    let mut lines: Vec<AlertLine> = listed
        .iter()
        .map(|alert| alert_line(page.lang, alert))
        .collect();
    if let Some((id, comment, code)) = refusal
        && let Some(line) = lines.iter_mut().find(|line| line.id == id)
    {
        line.comment = comment;
        line.comment_error = Some(code.to_owned());
    }
    render(&AlertsPage {
        chrome: page.chrome(if acknowledged {
            "/alerts?show=acknowledged"
        } else {
            "/alerts"
        }),
        acknowledged,
        alerts: lines,
        notice,
        error: error.map(str::to_owned),
    })
}

fn alert_line(lang: Lang, alert: &Alert) -> AlertLine {
    let acknowledgement = alert.acknowledged_at.map(|at| {
        let by = alert.acknowledged_by.clone().unwrap_or_default();
        let by = match ChangedBy::from_label(&by) {
            Some(ChangedBy::Operator(id)) => {
                format!("{} #{id}", AdminMsg::ByAdministrator.text(lang))
            }
            _ => by,
        };
        (
            by,
            local_time(at),
            alert.comment.clone().unwrap_or_default(),
        )
    });
    AlertLine {
        id: alert.id,
        rule: alert.rule.clone(),
        severity: alert.severity.clone(),
        telematik_id: alert.telematik_id.clone(),
        operator: alert.operator_id.clone().unwrap_or_else(|| "–".to_owned()),
        window: format!(
            "{} – {}",
            local_time(alert.window_start),
            local_time(alert.window_end)
        ),
        first_seen: local_time(alert.created_at),
        last_seen: local_time(alert.updated_at),
        occurrences: alert.occurrences,
        evidence: evidence_summary(&alert.evidence),
        action: alert.action_taken.clone(),
        acknowledgement,
        comment: String::new(),
        comment_error: None,
    }
}

/// The evidence's top-level fields as text (it holds counts, times, identifiers and codes,
/// never personal data).
fn evidence_summary(evidence: &Value) -> Vec<(String, String)> {
    match evidence {
        Value::Object(fields) => fields
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(text) => text.clone(),
                    Value::Array(items) if name == "operators" => operator_breakdown(items),
                    other => other.to_string(),
                };
                (name.clone(), text)
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![(String::new(), other.to_string())],
    }
}

/// The `operators` evidence of a pharmacy-wide pattern (`[{operator, certificates}]`, most
/// first) as `17 × 4, 12 × 1`; certificates without an operator count under `–`.
fn operator_breakdown(items: &[Value]) -> String {
    items
        .iter()
        .map(|item| {
            let operator = match item.get("operator") {
                Some(Value::String(id)) => id.clone(),
                Some(Value::Number(id)) => id.to_string(),
                _ => "–".to_owned(),
            };
            let certificates = item
                .get("certificates")
                .map_or_else(String::new, Value::to_string);
            format!("{operator} × {certificates}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The most alerts one page shows.
const PAGE_SIZE: i64 = 200;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn evidence_is_summarised_field_by_field() {
        assert_eq!(
            evidence_summary(
                &json!({"certificates": 21, "closed_from": "20:00", "hours": [22, 23]})
            ),
            [
                ("certificates".to_owned(), "21".to_owned()),
                ("closed_from".to_owned(), "20:00".to_owned()),
                ("hours".to_owned(), "[22,23]".to_owned()),
            ]
        );
        assert!(evidence_summary(&Value::Null).is_empty());
        assert_eq!(
            evidence_summary(&json!({"operators": [
                {"operator": "17", "certificates": 4},
                {"operator": null, "certificates": 1},
            ]})),
            [("operators".to_owned(), "17 × 4, – × 1".to_owned())]
        );
    }
}
