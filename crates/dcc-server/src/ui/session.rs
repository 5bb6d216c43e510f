//! The signed-in operator of a page request. Without a session a page redirects to the login;
//! a session presented with another pharmacy's certificate is refused with a translated page
//! and its cookie cleared.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use dcc_issuance::operators::AuthError;

use crate::error::ApiError;
use crate::operator_session::{self, SignedIn};
use crate::portal::PortalState;
use crate::ui::i18n::Lang;
use crate::ui::locale::Locale;
use crate::ui::page::{Chrome, UiError};

/// The session cookie.
pub const COOKIE: &str = operator_session::COOKIE;

/// A page request by a signed-in operator.
#[derive(Debug, Clone)]
pub struct CounterSession {
    /// The operator and session.
    pub signed_in: SignedIn,
    /// The page language.
    pub lang: Lang,
}

impl CounterSession {
    /// The frame of a page at `path`.
    pub fn chrome(&self, path: &str) -> Chrome {
        Chrome {
            lang: self.lang,
            csrf: self.signed_in.csrf_token.clone(),
            operator: Some(self.signed_in.operator.username.clone()),
            can_manage: self.signed_in.operator.role.can_manage_operators(),
            path: path.to_owned(),
        }
    }

    /// The pharmacy the session belongs to.
    pub fn telematik_id(&self) -> &str {
        &self.signed_in.telematik_id
    }

    /// The CSRF token forms and htmx requests must carry.
    pub fn csrf_token(&self) -> &str {
        &self.signed_in.csrf_token
    }
}

impl FromRequestParts<PortalState> for CounterSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(Locale(lang)) = Locale::from_request_parts(parts, state).await;
        match SignedIn::from_request_parts(parts, state).await {
            Ok(signed_in) => Ok(Self { signed_in, lang }),
            Err(ApiError::Auth(AuthError::SessionRequired)) => Err(to_login(parts, None)),
            Err(ApiError::Auth(AuthError::SessionExpired)) => {
                Err(to_login(parts, Some("session_expired")))
            }
            Err(rejection) => {
                let (status, code) = match &rejection {
                    ApiError::Auth(error) => (StatusCode::FORBIDDEN, error.code()),
                    ApiError::Identity(refusal) => (StatusCode::FORBIDDEN, refusal.code()),
                    ApiError::NoClientCertificate => {
                        (StatusCode::UNAUTHORIZED, "no_client_certificate")
                    }
                    _ => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
                };
                // A session that failed for any other reason (another pharmacy's certificate,
                // a disabled account, a role that cannot issue) must not be tried again.
                Err(UiError {
                    clear_session: true,
                    ..UiError::new(lang, status, code)
                }
                .into_response())
            }
        }
    }
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    operator_session::clear_session_cookie()
}

/// To the login page (htmx requests are told through `HX-Redirect`); a stale session cookie
/// is cleared.
fn to_login(parts: &Parts, code: Option<&str>) -> Response {
    let target = match code {
        Some(code) => format!("/login?e={code}"),
        None => "/login".to_owned(),
    };
    let mut response = if parts.headers.contains_key("hx-request") {
        let mut response = StatusCode::OK.into_response();
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert("hx-redirect", value);
        }
        response
    } else {
        Redirect::to(&target).into_response()
    };
    if operator_session::cookie(parts, COOKIE).is_some()
        && let Ok(value) = HeaderValue::from_str(&clear_cookie())
    {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}
