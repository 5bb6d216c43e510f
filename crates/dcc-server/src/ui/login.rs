//! Signing in and out: `GET /login`, `POST /login`, `POST /logout`.
//!
//! The login form has no session yet, so its CSRF token is a double-submit cookie made when
//! the form is shown.

use askama::Template;
use axum::Form;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::clock;
use crate::identity::PharmacyIdentity;
use crate::ui::csrf;
use crate::ui::dev_session;
use crate::ui::i18n::{Lang, Msg};
use crate::ui::locale::{self, Locale};
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
    Locale(lang): Locale,
    pharmacy: PharmacyIdentity,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if csrf::verify_login(&headers, &form.csrf).is_err() {
        return UiError::csrf(lang).into_response();
    }
    match dev_session::login(
        &pharmacy.telematik_id,
        &pharmacy.telematik_id,
        form.username.trim(),
        &form.password,
        form.totp.trim(),
    ) {
        Ok(token) => signed_in(&token),
        Err(code) => login_page(
            lang,
            form.username,
            Some(code.to_owned()),
            true,
            StatusCode::UNAUTHORIZED,
        ),
    }
}

/// `POST /logout`.
pub async fn view_logout_post(
    session: CounterSession,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if csrf::verify(session.csrf_token(), Some(&form.csrf)).is_err() {
        return UiError::csrf(session.lang).into_response();
    }
    if let Some(token) = locale::cookie(&headers, session::COOKIE) {
        dev_session::logout(&token);
    }
    let mut response = Redirect::to("/login?m=logged_out").into_response();
    append_cookie(&mut response, &session::clear_cookie());
    response
}

/// The answer of a successful sign-in: the session cookie and on to the counter.
pub fn signed_in(token: &str) -> Response {
    let mut response = Redirect::to("/counter").into_response();
    append_cookie(&mut response, &session::session_cookie(token));
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
