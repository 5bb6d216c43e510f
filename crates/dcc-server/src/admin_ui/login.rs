//! Administrators signing in and out of the pages: `GET /login`, `POST /login`, `POST /enrol`
//! (the first sign-in sets up the TOTP second factor), `POST /logout`.
//!
//! The same sign-in use case as `POST /api/admin/login` (`dcc_issuance::sign_in`, scope `*`
//! only), opening a browser session bound to the connection's admin certificate. The login and
//! enrolment forms have no session yet, so their CSRF token is a double-submit cookie of their
//! own ([`LOGIN_CSRF_COOKIE`]; the pharmacy pages' cookie of another port on the same host is
//! never taken for it).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use dcc_issuance::sign_in::{
    self, EnrolmentConfirmation, NewSession, SessionKind, SignInAttempt, SignInOutcome,
};
use dcc_store::operators::ASSOCIATION_SCOPE;
use serde::Deserialize;

use crate::admin_session::{AdminCertificate, AdminState};
use crate::admin_ui::i18n::AdminMsg;
use crate::admin_ui::page::{AdminChrome, AdminUiError};
use crate::admin_ui::session::{self, AdminPage};
use crate::clock;
use crate::operator_session::sign_in_random;
use crate::ui::csrf;
use crate::ui::enrol_qr::qr_svg;
use crate::ui::i18n::Lang;
use crate::ui::locale::{self, Locale};
use crate::ui::login::append_cookie;
use crate::ui::page::render;

/// The pre-session CSRF cookie of the admin login and enrolment forms.
pub const LOGIN_CSRF_COOKIE: &str = "dcc_admin_login_csrf";

/// The login page.
#[derive(Template)]
#[template(path = "admin/login.html")]
pub struct AdminLoginPage {
    /// The frame.
    pub chrome: AdminChrome,
    /// The pre-session CSRF token.
    pub login_csrf: String,
    /// The username typed before (kept after a failed attempt).
    pub username: String,
    /// A message code to show (error or notice).
    pub message: Option<String>,
    /// Whether the message is an error.
    pub is_error: bool,
}

/// The enrolment page: the second factor's QR code and secret, and the first code.
#[derive(Template)]
#[template(path = "admin/enrol.html")]
pub struct AdminEnrolPage {
    /// The frame.
    pub chrome: AdminChrome,
    /// The pre-session CSRF token (the login form's).
    pub login_csrf: String,
    /// The token of this enrolment.
    pub enrolment_token: String,
    /// The secret, base32, for manual entry.
    pub secret: String,
    /// The provisioning URI (kept in the form to show the page again after a wrong code).
    pub uri: String,
    /// The QR code of the URI, inline SVG.
    pub qr_svg: String,
    /// An error code to show.
    pub error: Option<String>,
}

/// `?e=` (an error code) or `?m=` (a notice code) on the login page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    e: Option<String>,
    m: Option<String>,
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
}

/// The enrolment form.
#[derive(Debug, Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enrolment_token: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    uri: String,
    #[serde(default)]
    totp: String,
}

/// A form that carries only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
}

/// `GET /`: to the alerts (which send to the login when needed).
pub async fn view_root_get() -> Redirect {
    Redirect::to("/alerts")
}

/// `GET /login`.
pub async fn view_login_get(Locale(lang): Locale, Query(query): Query<LoginQuery>) -> Response {
    let (message, is_error) = match (query.e, query.m) {
        (Some(code), _) if AdminMsg::for_code(&code).is_some() => (Some(code), true),
        (_, Some(code)) if code == "logged_out" => (Some(code), false),
        _ => (None, false),
    };
    login_page(lang, String::new(), message, is_error, StatusCode::OK)
}

/// `POST /login`.
pub async fn view_login_post(
    State(state): State<AdminState>,
    Locale(lang): Locale,
    certificate: AdminCertificate,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if verify_login_csrf(&headers, &form.csrf).is_err() {
        return AdminUiError::csrf(lang).into_response();
    }
    let Ok(random) = sign_in_random() else {
        return AdminUiError::new(lang, StatusCode::SERVICE_UNAVAILABLE, "random_unavailable")
            .into_response();
    };
    let totp = form.totp.trim();
    let attempt = SignInAttempt {
        telematik_id: ASSOCIATION_SCOPE,
        username: form.username.trim(),
        password: &form.password,
        totp_code: (!totp.is_empty()).then_some(totp),
        binding: &certificate.certificate_binding,
        kind: SessionKind::Browser,
    };
    let now = clock::now().unix_timestamp();
    match sign_in::sign_in(&state.store, &state.sign_in, &attempt, now, &random).await {
        Ok(SignInOutcome::SignedIn(session)) => signed_in(&session, now),
        Ok(SignInOutcome::EnrolmentRequired(enrolment)) => render(&AdminEnrolPage {
            chrome: AdminChrome::anonymous(lang, "/login"),
            login_csrf: form.csrf,
            qr_svg: qr_svg(&enrolment.provisioning_uri).unwrap_or_default(),
            enrolment_token: enrolment.enrolment_token,
            secret: enrolment.secret_base32,
            uri: enrolment.provisioning_uri,
            error: None,
        }),
        Err(error) => login_page(
            lang,
            form.username,
            Some(error.code().to_owned()),
            true,
            StatusCode::UNAUTHORIZED,
        ),
    }
}

/// `GET /enrol`: enrolment starts at the login.
pub async fn view_enrol_get() -> Redirect {
    Redirect::to("/login")
}

/// `POST /enrol`: the first code confirms the second factor and opens the session.
pub async fn view_enrol_post(
    State(state): State<AdminState>,
    Locale(lang): Locale,
    certificate: AdminCertificate,
    headers: HeaderMap,
    Form(form): Form<EnrolForm>,
) -> Response {
    if verify_login_csrf(&headers, &form.csrf).is_err() {
        return AdminUiError::csrf(lang).into_response();
    }
    let Ok(random) = sign_in_random() else {
        return AdminUiError::new(lang, StatusCode::SERVICE_UNAVAILABLE, "random_unavailable")
            .into_response();
    };
    let confirmation = EnrolmentConfirmation {
        enrolment_token: &form.enrolment_token,
        totp_code: form.totp.trim(),
        binding: &certificate.certificate_binding,
        kind: SessionKind::Browser,
    };
    let now = clock::now().unix_timestamp();
    match sign_in::confirm_enrolment(&state.store, &state.sign_in, &confirmation, now, &random)
        .await
    {
        Ok(session) => signed_in(&session, now),
        Err(error) if error.code() == "totp_invalid" && !form.uri.is_empty() => {
            let mut response = render(&AdminEnrolPage {
                chrome: AdminChrome::anonymous(lang, "/login"),
                login_csrf: form.csrf,
                qr_svg: qr_svg(&form.uri).unwrap_or_default(),
                enrolment_token: form.enrolment_token,
                secret: form.secret,
                uri: form.uri,
                error: Some(error.code().to_owned()),
            });
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        }
        Err(error) => login_page(
            lang,
            String::new(),
            Some(error.code().to_owned()),
            true,
            StatusCode::UNAUTHORIZED,
        ),
    }
}

/// `POST /logout`.
pub async fn view_logout_post(
    State(state): State<AdminState>,
    page: AdminPage,
    Form(form): Form<CsrfForm>,
) -> Response {
    if csrf::verify(&page.csrf_token, Some(&form.csrf)).is_err() {
        return AdminUiError::csrf(page.lang).into_response();
    }
    if let Err(error) =
        sign_in::sign_out(&state.store, &page.token, clock::now().unix_timestamp()).await
    {
        tracing::error!(code = error.code(), "admin sign-out failed");
        return AdminUiError::store(page.lang).into_response();
    }
    state.sessions.forget(&page.token);
    let mut response = Redirect::to("/login?m=logged_out").into_response();
    append_cookie(&mut response, &session::clear_cookie());
    response
}

/// The answer of a successful sign-in: the session cookie and on to the alerts.
fn signed_in(session: &NewSession, now: i64) -> Response {
    let mut response = Redirect::to("/alerts").into_response();
    let max_age = (session.expires_at - now).max(0);
    append_cookie(
        &mut response,
        &session::session_cookie(&session.token, max_age),
    );
    response
}

/// Checks the login form's field against its double-submit cookie.
fn verify_login_csrf(headers: &HeaderMap, presented: &str) -> Result<(), csrf::CsrfRefused> {
    let expected = locale::cookie(headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    csrf::verify(&expected, Some(presented))
}

/// The login page with a fresh pre-session token in its cookie.
fn login_page(
    lang: Lang,
    username: String,
    message: Option<String>,
    is_error: bool,
    status: StatusCode,
) -> Response {
    let Ok(random) = clock::random() else {
        return AdminUiError::new(lang, StatusCode::SERVICE_UNAVAILABLE, "random_unavailable")
            .into_response();
    };
    let token = hex::encode(random);
    let page = AdminLoginPage {
        chrome: AdminChrome::anonymous(lang, "/login"),
        login_csrf: token.clone(),
        username,
        message,
        is_error,
    };
    let mut response = render(&page);
    *response.status_mut() = status;
    append_cookie(
        &mut response,
        &format!(
            "{LOGIN_CSRF_COOKIE}={token}; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Strict"
        ),
    );
    response
}
