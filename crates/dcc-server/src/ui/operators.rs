//! `GET|POST /operators`: the pharmacy's owner manages its operators — list them, add one
//! with a role and a first password (the second factor is enrolled at the first sign-in),
//! disable one, reset one (new password, second factor enrolled again). The rules (who may
//! manage whom, password policy, audit) are `dcc_issuance::operators`'.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use dcc_auth::role::Role;
use dcc_issuance::operators::{self, Actor, AuthError, NewAccount, OperatorSummary};
use serde::Deserialize;

use crate::clock;
use crate::portal::PortalState;
use crate::ui::csrf;
use crate::ui::i18n::{Lang, Msg};
use crate::ui::page::{Chrome, UiError, render};
use crate::ui::session::CounterSession;

/// The management page.
#[derive(Template)]
#[template(path = "operators.html")]
pub struct OperatorsPage {
    /// The frame.
    pub chrome: Chrome,
    /// The pharmacy's operators.
    pub operators: Vec<OperatorLine>,
    /// The roles an owner can give: (code, label).
    pub roles: Vec<(&'static str, &'static str)>,
    /// An error code to show.
    pub error: Option<String>,
    /// A notice to show (translated).
    pub notice: Option<&'static str>,
}

/// One operator as listed.
#[derive(Debug, Clone)]
pub struct OperatorLine {
    /// Database id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Translated role.
    pub role: &'static str,
    /// Translated status.
    pub status: &'static str,
    /// Whether the buttons are shown (not for oneself).
    pub manageable: bool,
}

/// The add form.
#[derive(Debug, Deserialize)]
pub struct AddForm {
    csrf: String,
    username: String,
    role: String,
    password: String,
}

/// The disable and reset forms.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    #[serde(default)]
    password: String,
}

/// `?done=added|disabled|reset` after a change.
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /operators`.
pub async fn view_operators_get(
    State(state): State<PortalState>,
    session: CounterSession,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = match query.done.as_deref() {
        Some("added") => Some(Msg::OperatorAdded),
        Some("disabled") => Some(Msg::OperatorDisabled),
        Some("reset") => Some(Msg::OperatorReset),
        _ => None,
    };
    page(&state, &session, None, notice.map(|m| m.text(session.lang))).await
}

/// `POST /operators`: adds an operator.
pub async fn view_operators_post(
    State(state): State<PortalState>,
    session: CounterSession,
    Form(form): Form<AddForm>,
) -> Response {
    if csrf::verify(session.csrf_token(), Some(&form.csrf)).is_err() {
        return UiError::csrf(session.lang).into_response();
    }
    let Ok(role) = Role::parse(&form.role) else {
        return page(&state, &session, Some("forbidden_role"), None).await;
    };
    let Ok(salt) = clock::random() else {
        return unavailable(session.lang);
    };
    let account = NewAccount {
        scope: session.telematik_id(),
        username: form.username.trim(),
        role,
        password: &form.password,
        totp_secret: None,
    };
    let now = clock::now().unix_timestamp();
    match operators::create(&state.store, &actor(&session), &account, now, salt).await {
        Ok(_) => Redirect::to("/operators?done=added").into_response(),
        Err(error) => refused(&state, &session, &error).await,
    }
}

/// `POST /operators/{id}/disable`.
pub async fn view_operator_disable_post(
    State(state): State<PortalState>,
    session: CounterSession,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if csrf::verify(session.csrf_token(), Some(&form.csrf)).is_err() {
        return UiError::csrf(session.lang).into_response();
    }
    let now = clock::now().unix_timestamp();
    match operators::disable(&state.store, &actor(&session), id, now).await {
        Ok(()) => Redirect::to("/operators?done=disabled").into_response(),
        Err(error) => refused(&state, &session, &error).await,
    }
}

/// `POST /operators/{id}/reset`.
pub async fn view_operator_reset_post(
    State(state): State<PortalState>,
    session: CounterSession,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    if csrf::verify(session.csrf_token(), Some(&form.csrf)).is_err() {
        return UiError::csrf(session.lang).into_response();
    }
    let Ok(salt) = clock::random() else {
        return unavailable(session.lang);
    };
    let now = clock::now().unix_timestamp();
    match operators::reset(
        &state.store,
        &actor(&session),
        id,
        &form.password,
        now,
        salt,
    )
    .await
    {
        Ok(()) => Redirect::to("/operators?done=reset").into_response(),
        Err(error) => refused(&state, &session, &error).await,
    }
}

fn actor(session: &CounterSession) -> Actor {
    Actor::Operator {
        operator: session.signed_in.operator.clone(),
        scope: session.telematik_id().to_owned(),
    }
}

async fn refused(state: &PortalState, session: &CounterSession, error: &AuthError) -> Response {
    let status = match error {
        AuthError::ForbiddenRole { .. } | AuthError::ForbiddenScope => StatusCode::FORBIDDEN,
        AuthError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut response = page(state, session, Some(error.code()), None).await;
    *response.status_mut() = status;
    response
}

fn unavailable(lang: Lang) -> Response {
    UiError::new(lang, StatusCode::SERVICE_UNAVAILABLE, "random_unavailable").into_response()
}

async fn page(
    state: &PortalState,
    session: &CounterSession,
    error: Option<&str>,
    notice: Option<&'static str>,
) -> Response {
    let lang = session.lang;
    let listed = match operators::list(&state.store, &actor(session), session.telematik_id()).await
    {
        Ok(listed) => listed,
        Err(error) => {
            let status = if matches!(error, AuthError::Store(_)) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::FORBIDDEN
            };
            return UiError::new(lang, status, error.code()).into_response();
        }
    };
    let own_id = session.signed_in.operator.id;
    let operators = listed
        .into_iter()
        .map(|summary| line(lang, summary, own_id))
        .collect();
    let roles = [Role::Pharmacist, Role::Technician, Role::Owner]
        .into_iter()
        .map(|role| (role.as_str(), role_name(role).text(lang)))
        .collect();
    render(&OperatorsPage {
        chrome: session.chrome("/operators"),
        operators,
        roles,
        error: error.map(str::to_owned),
        notice,
    })
}

fn line(lang: Lang, summary: OperatorSummary, own_id: i64) -> OperatorLine {
    let status = if summary.disabled_at.is_some() {
        Msg::StatusDisabled
    } else if !summary.totp_enrolled {
        Msg::StatusEnrolmentPending
    } else {
        Msg::StatusActive
    };
    OperatorLine {
        id: summary.operator.id,
        manageable: summary.operator.id != own_id && summary.disabled_at.is_none(),
        role: role_name(summary.operator.role).text(lang),
        status: status.text(lang),
        username: summary.operator.username,
    }
}

/// The translated name of a role.
pub fn role_name(role: Role) -> Msg {
    match role {
        Role::Owner => Msg::RoleOwner,
        Role::Pharmacist => Msg::RolePharmacist,
        Role::Technician => Msg::RoleTechnician,
        Role::Administrator => Msg::RoleAdministrator,
    }
}
