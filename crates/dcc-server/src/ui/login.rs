//! Signing in and out: `GET /login`, `POST /login`, `POST /enrol` (the first sign-in sets up
//! the TOTP second factor: its QR code, its secret as text, and the first code), `POST /logout`.
//!
//! The login and enrolment forms have no session yet, so their CSRF token is a double-submit
//! cookie made when the login form is shown. The sign-in rules (argon2id, TOTP, lock-out,
//! sessions bound to the client certificate) are `dcc_issuance::sign_in`'s.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use axum::extract::State;
use dcc_issuance::sign_in::{
    self, EnrolmentConfirmation, NewSession, SessionKind, SignInAttempt, SignInOutcome,
};

use crate::clock;
use crate::identity::PharmacyIdentity;
use crate::operator_session::{self, sign_in_random};
use crate::portal::PortalState;
use crate::ui::csrf;
use crate::ui::enrol_qr::qr_svg;
use crate::ui::i18n::{Lang, Msg};
use crate::ui::locale::Locale;
use crate::ui::page::{Chrome, UiError, render};
use crate::ui::session::{self, CounterSession};

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// The frame.
    pub chrome: Chrome,
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
#[template(path = "enrol.html")]
pub struct EnrolPage {
    /// The frame.
    pub chrome: Chrome,
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

/// The enrolment form.
#[derive(Debug, Deserialize)]
pub struct EnrolForm {
    csrf: String,
    enrolment_token: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    uri: String,
    #[serde(default)]
    totp: String,
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
    csrf: String,
    username: String,
    password: String,
    #[serde(default)]
    totp: String,
}

/// The logout form.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `GET /`: to the counter (which sends to the login when needed).
pub async fn view_root_get() -> Redirect {
    Redirect::to("/counter")
}

/// `GET /login`.
pub async fn view_login_get(Locale(lang): Locale, Query(query): Query<LoginQuery>) -> Response {
    let (message, is_error) = match (query.e, query.m) {
        (Some(code), _) if Msg::for_code(&code).is_some() => (Some(code), true),
        (_, Some(code)) if code == "logged_out" => (Some(code), false),
        _ => (None, false),
    };
    login_page(lang, String::new(), message, is_error, StatusCode::OK)
}

/// `POST /login`.
pub async fn view_login_post(
    State(state): State<PortalState>,
    Locale(lang): Locale,
    pharmacy: PharmacyIdentity,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if csrf::verify_login(&headers, &form.csrf).is_err() {
        return UiError::csrf(lang).into_response();
    }
    let Ok(random) = sign_in_random() else {
        return UiError::new(lang, StatusCode::SERVICE_UNAVAILABLE, "random_unavailable")
            .into_response();
    };
    let totp = form.totp.trim();
    let attempt = SignInAttempt {
        telematik_id: &pharmacy.telematik_id,
        username: form.username.trim(),
        password: &form.password,
        totp_code: (!totp.is_empty()).then_some(totp),
        binding: &pharmacy.certificate_binding,
        kind: SessionKind::Browser,
    };
    let now = clock::now().unix_timestamp();
    match sign_in::sign_in(&state.store, &state.sign_in, &attempt, now, &random).await {
        Ok(SignInOutcome::SignedIn(session)) => signed_in(&session, now),
        Ok(SignInOutcome::EnrolmentRequired(enrolment)) => render(&EnrolPage {
            chrome: Chrome::anonymous(lang, "/login"),
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
    State(state): State<PortalState>,
    Locale(lang): Locale,
    pharmacy: PharmacyIdentity,
    headers: HeaderMap,
    Form(form): Form<EnrolForm>,
) -> Response {
    if csrf::verify_login(&headers, &form.csrf).is_err() {
        return UiError::csrf(lang).into_response();
    }
    let Ok(random) = sign_in_random() else {
        return UiError::new(lang, StatusCode::SERVICE_UNAVAILABLE, "random_unavailable")
            .into_response();
    };
    let confirmation = EnrolmentConfirmation {
        enrolment_token: &form.enrolment_token,
        totp_code: form.totp.trim(),
        binding: &pharmacy.certificate_binding,
        kind: SessionKind::Browser,
    };
    let now = clock::now().unix_timestamp();
    match sign_in::confirm_enrolment(&state.store, &state.sign_in, &confirmation, now, &random)
        .await
    {
        Ok(session) => signed_in(&session, now),
        // A wrong first code: the same QR again (the secret stays until the enrolment expires).
        Err(error) if error.code() == "totp_invalid" && !form.uri.is_empty() => {
            let mut response = render(&EnrolPage {
                chrome: Chrome::anonymous(lang, "/login"),
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
    State(state): State<PortalState>,
    session: CounterSession,
    Form(form): Form<LogoutForm>,
) -> Response {
    if csrf::verify(session.csrf_token(), Some(&form.csrf)).is_err() {
        return UiError::csrf(session.lang).into_response();
    }
    let token = &session.signed_in.token;
    if let Err(error) = sign_in::sign_out(&state.store, token, clock::now().unix_timestamp()).await
    {
        tracing::error!(code = error.code(), "sign-out failed");
        return UiError::new(
            session.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
        )
        .into_response();
    }
    state.sessions.forget(token);
    let mut response = Redirect::to("/login?m=logged_out").into_response();
    append_cookie(&mut response, &session::clear_cookie());
    response
}

/// The answer of a successful sign-in: the session cookie and on to the counter.
pub fn signed_in(session: &NewSession, now: i64) -> Response {
    let mut response = Redirect::to("/counter").into_response();
    let max_age = (session.expires_at - now).max(0);
    append_cookie(
        &mut response,
        &operator_session::session_cookie(&session.token, max_age),
    );
    response
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
        return UiError::new(lang, StatusCode::SERVICE_UNAVAILABLE, "random_unavailable")
            .into_response();
    };
    let token = hex::encode(random);
    let page = LoginPage {
        chrome: Chrome::anonymous(lang, "/login"),
        login_csrf: token.clone(),
        username,
        message,
        is_error,
    };
    let mut response = render(&page);
    *response.status_mut() = status;
    append_cookie(&mut response, &csrf::login_cookie(&token));
    response
}

/// Adds a `Set-Cookie` header.
pub fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
