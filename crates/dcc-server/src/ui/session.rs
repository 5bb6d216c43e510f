//! The signed-in operator of a page request. Without a session a page redirects to the login;
//! a session presented with another pharmacy's certificate is refused with a translated page
//! and its cookie cleared.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::identity::PharmacyIdentity;
use crate::portal::PortalState;
use crate::ui::dev_session::{self, SignedIn};
use crate::ui::i18n::Lang;
use crate::ui::locale::{self, Locale};
use crate::ui::page::{Chrome, UiError};

/// The session cookie.
pub const COOKIE: &str = "dcc_session";

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
            operator: Some(self.signed_in.username.clone()),
            can_manage: true,
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
        let pharmacy = PharmacyIdentity::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                UiError::new(lang, StatusCode::FORBIDDEN, "no_client_certificate").into_response()
            })?;
        let Some(token) = locale::cookie(&parts.headers, COOKIE) else {
            return Err(to_login(parts, None));
        };
        match dev_session::authenticate(&token, &pharmacy.telematik_id) {
            Ok(signed_in) => Ok(Self { signed_in, lang }),
            Err("session_binding_mismatch") => Err(UiError {
                clear_session: true,
                ..UiError::new(lang, StatusCode::FORBIDDEN, "session_binding_mismatch")
            }
            .into_response()),
            Err(code) => Err(to_login(parts, Some(code))),
        }
    }
}

/// The `Set-Cookie` value of a new session.
pub fn session_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

/// To the login page (htmx requests are told through `HX-Redirect`); a stale cookie is cleared.
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
    if code.is_some()
        && let Ok(value) = HeaderValue::from_str(&clear_cookie())
    {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}
