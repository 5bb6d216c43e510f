//! The signed-in administrator of a page request: a browser session in the cookie
//! [`COOKIE`], opened on this listener and bound to the connection's admin certificate.
//!
//! Admin pages read only their own cookie (never the pharmacy portal's `dcc_session`, which a
//! browser on the same host would also send), admit only scope-`*` administrator accounts
//! with a browser session, and check the session's CSRF token on every form. Without a
//! session a page redirects to `/login`; a session that fails for another reason is refused
//! with a translated page and its cookie cleared.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use dcc_issuance::operators::{Actor, AuthError, OperatorRef};
use dcc_issuance::sign_in::SessionKind;
use dcc_store::operators::ASSOCIATION_SCOPE;

use crate::admin_session::{AdminCertificate, AdminState};
use crate::admin_ui::page::{AdminChrome, AdminUiError};
use crate::clock;
use crate::operator_session::cookie;
use crate::ui::i18n::Lang;
use crate::ui::locale::Locale;

/// The admin pages' session cookie.
pub const COOKIE: &str = "dcc_admin_session";

/// A page request by a signed-in administrator.
#[derive(Debug, Clone)]
pub struct AdminPage {
    /// The administrator.
    pub operator: OperatorRef,
    /// The session's anti-CSRF token.
    pub csrf_token: String,
    /// The session token, to sign out with.
    pub token: String,
    /// The page language.
    pub lang: Lang,
}

impl AdminPage {
    /// The frame of a page at `path`.
    pub fn chrome(&self, path: &str) -> AdminChrome {
        AdminChrome {
            lang: self.lang,
            csrf: self.csrf_token.clone(),
            administrator: Some(self.operator.username.clone()),
            path: path.to_owned(),
        }
    }

    /// The administrator as the actor of a change (recorded in its audit entry).
    pub fn actor(&self) -> Actor {
        Actor::Operator {
            operator: self.operator.clone(),
            scope: ASSOCIATION_SCOPE.to_owned(),
        }
    }
}

impl FromRequestParts<AdminState> for AdminPage {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(Locale(lang)) = Locale::from_request_parts(parts, state).await;
        let refused = |code: &'static str| {
            AdminUiError {
                clear_session: true,
                ..AdminUiError::new(lang, StatusCode::FORBIDDEN, code)
            }
            .into_response()
        };
        let certificate = AdminCertificate::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(token) = cookie(parts, COOKIE) else {
            return Err(to_login(parts, None));
        };
        let now = clock::now().unix_timestamp();
        let signed_in = match state
            .sessions
            .authenticate(&state.store, &token, &certificate.certificate_binding, now)
            .await
        {
            Ok(signed_in) => signed_in,
            Err(AuthError::SessionRequired) => return Err(to_login(parts, None)),
            Err(AuthError::SessionExpired) => {
                return Err(to_login(parts, Some("session_expired")));
            }
            Err(AuthError::Store(_)) => return Err(AdminUiError::store(lang).into_response()),
            Err(error) => return Err(refused(error.code())),
        };
        if signed_in.scope != ASSOCIATION_SCOPE || signed_in.kind != SessionKind::Browser {
            return Err(refused("session_binding_mismatch"));
        }
        if !signed_in.operator.role.is_administrator() {
            return Err(refused("forbidden_role"));
        }
        Ok(Self {
            operator: signed_in.operator,
            csrf_token: signed_in.csrf_token,
            token,
            lang,
        })
    }
}

/// The `Set-Cookie` value of an admin browser session (not readable by scripts, sent only
/// over TLS and only by this site's own pages).
pub fn session_cookie(token: &str, max_age_seconds: i64) -> String {
    format!(
        "{COOKIE}={token}; Max-Age={max_age_seconds}; Path=/; Secure; HttpOnly; SameSite=Strict"
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// To the login page; a stale session cookie is cleared.
fn to_login(parts: &Parts, code: Option<&str>) -> Response {
    let target = match code {
        Some(code) => format!("/login?e={code}"),
        None => "/login".to_owned(),
    };
    let mut response = Redirect::to(&target).into_response();
    if cookie(parts, COOKIE).is_some()
        && let Ok(value) = HeaderValue::from_str(&clear_cookie())
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
