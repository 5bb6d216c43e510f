//! The association administrators' API on the admin listener (issue #5): the pharmacy
//! registry, operator accounts of every scope, issuance locks, anomaly alerts
//! ([`crate::admin_alerts`]) and the audit log ([`crate::admin_audit`]). Every route but the sign-in requires an [`AdminSignedIn`]; every
//! handler is a thin call into a `dcc_issuance` use case, which audits each change in the
//! transaction that makes it.
//!
//! The listener's TLS and peer check are in [`crate::server::start_admin`] and
//! [`crate::admin_session`]; the OpenAPI description is `openapi-admin.json`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use dcc_auth::role::Role;
use dcc_issuance::operators::{self, AuthError, NewAccount, OperatorSummary};
use dcc_issuance::{kill_switch, registry};
use dcc_pki::telematik_id::TelematikId;
use dcc_store::locks::{IssuanceLock, LockScope};
use dcc_store::pharmacies::Pharmacy;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin_session::{self, AdminSignedIn, AdminState};
use crate::error::ApiError;
use crate::operator_session::parse_body;
use crate::{admin_alerts, admin_audit, clock};

/// The admin listener's routes. Served behind [`crate::tls::serve`] with
/// [`admin_session::AdminPeer::from_certificate`] as the connection identity; every route
/// answers only administrator certificates.
pub fn app(state: AdminState) -> Router {
    Router::new()
        .route(
            "/api/admin/login",
            post(admin_session::admin_sessions_create),
        )
        .route(
            "/api/admin/enrol",
            post(admin_session::admin_enrolments_confirm),
        )
        .route(
            "/api/admin/logout",
            post(admin_session::admin_sessions_delete),
        )
        .route(
            "/api/admin/pharmacies",
            get(pharmacies_list).post(pharmacies_create),
        )
        .route(
            "/api/admin/pharmacies/{telematik_id}/suspend",
            post(pharmacies_suspend),
        )
        .route(
            "/api/admin/pharmacies/{telematik_id}/reactivate",
            post(pharmacies_reactivate),
        )
        .route(
            "/api/admin/operators",
            get(operators_list).post(operators_create),
        )
        .route("/api/admin/operators/{id}/disable", post(operators_disable))
        .route("/api/admin/operators/{id}/reset", post(operators_reset))
        .route("/api/admin/locks", get(locks_list).post(locks_create))
        .route("/api/admin/locks/lift", post(locks_delete))
        .route("/api/admin/alerts", get(admin_alerts::alerts_list))
        .route(
            "/api/admin/alerts/{id}/ack",
            post(admin_alerts::alerts_acknowledge),
        )
        .route("/api/admin/audit", get(admin_audit::audit_entries_list))
        .route(
            "/api/admin/audit/verification",
            get(admin_audit::audit_chain_verify),
        )
        .route("/openapi.json", get(openapi_get))
        .merge(crate::admin_ui::routes())
        .layer(middleware::from_fn(admin_session::require_administrator))
        .layer(middleware::from_fn(crate::request_id::assign))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPharmacyBody {
    telematik_id: String,
    name: String,
    address: String,
    issuer_segment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOperatorBody {
    scope: String,
    username: String,
    role: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockBody {
    scope: String,
    target: Option<String>,
    reason: String,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiftBody {
    scope: String,
    target: Option<String>,
}

/// `GET /api/admin/pharmacies`: every registered pharmacy, by Telematik-ID.
async fn pharmacies_list(
    State(state): State<AdminState>,
    _admin: AdminSignedIn,
) -> Result<Response, ApiError> {
    let pharmacies = registry::list(&state.store).await?;
    let pharmacies: Vec<Value> = pharmacies.iter().map(pharmacy_json).collect();
    Ok(Json(json!({ "pharmacies": pharmacies })).into_response())
}

/// `POST /api/admin/pharmacies` `{telematik_id, name, address, issuer_segment?}`: registers
/// an active pharmacy (201).
async fn pharmacies_create(
    State(state): State<AdminState>,
    admin: AdminSignedIn,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: NewPharmacyBody = parse_body(&body)?;
    let telematik_id =
        TelematikId::parse(&body.telematik_id).map_err(|error| ApiError::InvalidField {
            field: "telematik_id",
            message: format!("telematik_id: {error}"),
        })?;
    check_text("name", &body.name)?;
    check_text("address", &body.address)?;
    let now = clock::now().unix_timestamp();
    let segment = body.issuer_segment.as_deref();
    let pharmacy = registry::register(
        &state.store,
        &admin.actor(),
        telematik_id.as_str(),
        &body.name,
        &body.address,
        segment,
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(pharmacy_json(&pharmacy))).into_response())
}

/// `POST /api/admin/pharmacies/{telematik_id}/suspend`: the pharmacy may no longer issue.
async fn pharmacies_suspend(
    State(state): State<AdminState>,
    admin: AdminSignedIn,
    Path(telematik_id): Path<String>,
) -> Result<Response, ApiError> {
    let now = clock::now().unix_timestamp();
    let pharmacy = registry::suspend(&state.store, &admin.actor(), &telematik_id, now).await?;
    Ok(Json(pharmacy_json(&pharmacy)).into_response())
}

/// `POST /api/admin/pharmacies/{telematik_id}/reactivate`: the pharmacy may issue again.
async fn pharmacies_reactivate(
    State(state): State<AdminState>,
    admin: AdminSignedIn,
    Path(telematik_id): Path<String>,
) -> Result<Response, ApiError> {
    let now = clock::now().unix_timestamp();
    let pharmacy = registry::reactivate(&state.store, &admin.actor(), &telematik_id, now).await?;
    Ok(Json(pharmacy_json(&pharmacy)).into_response())
}

/// `GET /api/admin/operators?scope=<Telematik-ID or *>`: the accounts of one scope.
async fn operators_list(
    State(state): State<AdminState>,
    admin: AdminSignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let scope = scope_parameter(query.as_deref())?;
    let accounts = operators::list(&state.store, &admin.actor(), &scope).await?;
    let accounts: Vec<Value> = accounts.iter().map(operator_json).collect();
    Ok(Json(json!({ "scope": scope, "operators": accounts })).into_response())
}

/// `POST /api/admin/operators` `{scope, username, role, password}`: a new account (201); the
/// operator enrols the second factor at the first sign-in.
async fn operators_create(
    State(state): State<AdminState>,
    admin: AdminSignedIn,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: NewOperatorBody = parse_body(&body)?;
    let role = Role::parse(&body.role).map_err(|_| ApiError::InvalidField {
        field: "role",
        message: "role must be owner, pharmacist, technician or administrator".to_owned(),
    })?;
    let account = NewAccount {
        scope: &body.scope,
        username: &body.username,
        role,
        password: &body.password,
        totp_secret: None,
    };
    let now = clock::now().unix_timestamp();
    let id = operators::create(&state.store, &admin.actor(), &account, now, salt()?).await?;
    let answer =
        json!({"id": id, "scope": body.scope, "username": body.username, "role": role.as_str()});
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `POST /api/admin/operators/{id}/disable`: the account can no longer sign in; its sessions end.
async fn operators_disable(
    State(state): State<AdminState>,
    admin: AdminSignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = operator_id(&id)?;
    let now = clock::now().unix_timestamp();
    operators::disable(&state.store, &admin.actor(), id, now).await?;
    Ok(Json(json!({"id": id, "status": "disabled"})).into_response())
}

/// `POST /api/admin/operators/{id}/reset` `{password}`: a new password; the second factor is
/// enrolled again at the next sign-in, lock-out and disablement are lifted.
async fn operators_reset(
    State(state): State<AdminState>,
    admin: AdminSignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = operator_id(&id)?;
    let body: ResetBody = parse_body(&body)?;
    let now = clock::now().unix_timestamp();
    operators::reset(
        &state.store,
        &admin.actor(),
        id,
        &body.password,
        now,
        salt()?,
    )
    .await?;
    Ok(Json(json!({"id": id, "status": "reset"})).into_response())
}

/// `GET /api/admin/locks`: every lock in force.
async fn locks_list(
    State(state): State<AdminState>,
    _admin: AdminSignedIn,
) -> Result<Response, ApiError> {
    let locks = kill_switch::list(&state.store).await?;
    let locks: Vec<Value> = locks.iter().map(lock_json).collect();
    Ok(Json(json!({ "locks": locks })).into_response())
}

/// `POST /api/admin/locks` `{scope, target?, reason, comment?}`: locks issuance (201).
async fn locks_create(
    State(state): State<AdminState>,
    admin: AdminSignedIn,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: LockBody = parse_body(&body)?;
    let scope = lock_scope(&body.scope, body.target)?;
    let now = clock::now().unix_timestamp();
    let actor = admin.actor();
    let lock = kill_switch::lock(
        &state.store,
        &actor,
        scope,
        &body.reason,
        &body.comment,
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(lock_json(&lock))).into_response())
}

/// `POST /api/admin/locks/lift` `{scope, target?}`: lifts a lock; `lifted` is `null` when
/// there was none.
async fn locks_delete(
    State(state): State<AdminState>,
    admin: AdminSignedIn,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: LiftBody = parse_body(&body)?;
    let scope = lock_scope(&body.scope, body.target)?;
    let now = clock::now().unix_timestamp();
    let lifted = kill_switch::unlock(&state.store, &admin.actor(), scope, now).await?;
    Ok(Json(json!({ "lifted": lifted.as_ref().map(lock_json) })).into_response())
}

/// `GET /openapi.json`: the admin API's description (`openapi-admin.json`).
async fn openapi_get() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

fn pharmacy_json(pharmacy: &Pharmacy) -> Value {
    json!({
        "telematik_id": pharmacy.telematik_id,
        "name": pharmacy.name,
        "address": pharmacy.address,
        "issuer_segment": pharmacy.issuer_segment,
        "status": pharmacy.status.as_str(),
        "created_at": pharmacy.created_at,
        "updated_at": pharmacy.updated_at,
    })
}

fn operator_json(summary: &OperatorSummary) -> Value {
    json!({
        "id": summary.operator.id,
        "username": summary.operator.username,
        "role": summary.operator.role.as_str(),
        "totp_enrolled": summary.totp_enrolled,
        "locked_until": summary.locked_until,
        "disabled_at": summary.disabled_at,
    })
}

fn lock_json(lock: &IssuanceLock) -> Value {
    let (scope, target) = match &lock.scope {
        LockScope::All => ("all", None),
        LockScope::Pharmacy(telematik_id) => ("pharmacy", Some(telematik_id)),
        LockScope::Operator(id) => ("operator", Some(id)),
    };
    json!({
        "scope": scope,
        "target": target,
        "reason": lock.reason,
        "comment": lock.comment,
        "locked_at": lock.locked_at,
        "locked_by": lock.locked_by,
    })
}

/// A lock's scope from the body's `scope` and `target`.
pub(crate) fn lock_scope(scope: &str, target: Option<String>) -> Result<LockScope, ApiError> {
    let invalid = |field, message: &str| ApiError::InvalidField {
        field,
        message: message.to_owned(),
    };
    match (scope, target) {
        ("all", None) => Ok(LockScope::All),
        ("all", Some(_)) => Err(invalid("target", "target must be absent for scope all")),
        ("pharmacy", Some(target)) => Ok(LockScope::Pharmacy(target)),
        ("operator", Some(target)) => Ok(LockScope::Operator(target)),
        ("pharmacy" | "operator", None) => Err(invalid(
            "target",
            "target (a Telematik-ID or an operator id) is required for this scope",
        )),
        _ => Err(invalid("scope", "scope must be all, pharmacy or operator")),
    }
}

/// The `scope` query parameter of the operator list (required; `*` for administrators).
fn scope_parameter(query: Option<&str>) -> Result<String, ApiError> {
    let mut scope = None;
    for (name, value) in admin_audit::query_pairs(query) {
        match name {
            // `*` may arrive percent-encoded.
            "scope" => scope = Some(value.replace("%2A", "*").replace("%2a", "*")),
            other => return Err(admin_audit::unknown_parameter(other)),
        }
    }
    scope
        .filter(|scope| !scope.is_empty())
        .ok_or(ApiError::InvalidQuery {
            field: "scope".to_owned(),
            message: "scope (a Telematik-ID, or * for administrators) is required".to_owned(),
        })
}

/// An operator id from the path; anything but an integer names no operator.
fn operator_id(text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::Auth(AuthError::UnknownOperator))
}

/// A name or address: 1 to [`MAX_TEXT_LEN`] characters, no control characters.
fn check_text(field: &'static str, text: &str) -> Result<(), ApiError> {
    let length = text.trim().chars().count();
    if length == 0 || length > MAX_TEXT_LEN || text.chars().any(char::is_control) {
        return Err(ApiError::InvalidField {
            field,
            message: format!(
                "{field} must be 1 to {MAX_TEXT_LEN} characters without control characters"
            ),
        });
    }
    Ok(())
}

/// A password salt from the system's generator.
fn salt() -> Result<[u8; 16], ApiError> {
    clock::random().map_err(|_| ApiError::RandomUnavailable)
}

const OPENAPI: &str = include_str!("../openapi-admin.json");

/// The longest pharmacy name or address.
const MAX_TEXT_LEN: usize = 200;

/// The largest request body; admin requests are small JSON objects.
const MAX_BODY_BYTES: usize = 16 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_scopes_need_a_target_except_all() {
        assert_eq!(lock_scope("all", None).unwrap(), LockScope::All);
        assert_eq!(
            lock_scope("operator", Some("7".into())).unwrap(),
            LockScope::Operator("7".into())
        );
        for (scope, target, field) in [
            ("all", Some("x".to_owned()), "target"),
            ("pharmacy", None, "target"),
            ("everyone", None, "scope"),
        ] {
            assert!(
                matches!(lock_scope(scope, target), Err(ApiError::InvalidField { field: f, .. }) if f == field),
                "{scope}"
            );
        }
    }

    #[test]
    fn the_operator_list_needs_exactly_a_scope() {
        assert_eq!(scope_parameter(Some("scope=%2A")).unwrap(), "*");
        assert_eq!(scope_parameter(Some("scope=3-abc")).unwrap(), "3-abc");
        assert!(matches!(
            scope_parameter(None),
            Err(ApiError::InvalidQuery { field, .. }) if field == "scope"
        ));
        assert!(matches!(
            scope_parameter(Some("scope=*&role=owner")),
            Err(ApiError::InvalidQuery { field, .. }) if field == "role"
        ));
    }
}
