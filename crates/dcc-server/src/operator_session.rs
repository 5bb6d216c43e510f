//! Operators on the portal: the [`SignedIn`] extractor every issuing route requires, and the
//! API to sign in and out (`POST /api/auth/login`, `/api/auth/enrol`, `/api/auth/logout`).
//!
//! A session is presented as the cookie [`COOKIE`] (the counter's browser pages) or as
//! `Authorization: Bearer <token>` (API clients). Either way it must have been created on a
//! connection with the same client certificate as the current one; a session of another
//! pharmacy's certificate, or a request without one, is refused.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use dcc_issuance::operators::{AuthError, OperatorRef};
use dcc_issuance::sessions::SignedInOperator;
use dcc_issuance::sign_in::{
    self, EnrolmentConfirmation, NewSession, SessionKind, SignInAttempt, SignInOutcome,
    SignInRandom,
};
use serde::Deserialize;
use serde_json::json;

use crate::clock;
use crate::error::ApiError;
use crate::identity::PharmacyIdentity;
use crate::portal::PortalState;

/// The session cookie of the counter's pages.
pub const COOKIE: &str = "dcc_session";

/// A signed-in operator of the connection's pharmacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The operator.
    pub operator: OperatorRef,
    /// The pharmacy's Telematik-ID.
    pub telematik_id: String,
    /// The session's anti-CSRF token (browser forms).
    pub csrf_token: String,
    /// Browser session or API token.
    pub kind: SessionKind,
    /// The token, to sign out with.
    pub token: String,
}

impl FromRequestParts<PortalState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PortalState,
    ) -> Result<Self, Self::Rejection> {
        let pharmacy = PharmacyIdentity::from_request_parts(parts, state).await?;
        let token = presented_token(parts).ok_or(AuthError::SessionRequired)?;
        let SignedInOperator {
            operator,
            scope,
            csrf_token,
            kind,
        } = state
            .sessions
            .authenticate(
                &state.store,
                &token,
                &pharmacy.certificate_binding,
                clock::now().unix_timestamp(),
            )
            .await?;
        // The binding already ties the session to this certificate, hence to this pharmacy.
        if scope != pharmacy.telematik_id {
            return Err(AuthError::SessionBindingMismatch.into());
        }
        if !operator.role.can_issue() {
            return Err(AuthError::ForbiddenRole {
                role: operator.role,
            }
            .into());
        }
        Ok(Self {
            operator,
            telematik_id: pharmacy.telematik_id,
            csrf_token,
            kind,
            token,
        })
    }
}

/// The bearer token, else the session cookie.
pub fn presented_token(parts: &Parts) -> Option<String> {
    bearer_token(parts).or_else(|| cookie(parts, COOKIE))
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

/// A cookie's value.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value of a browser session (not readable by scripts, sent only over TLS
/// and only by this site's own pages).
pub fn session_cookie(token: &str, max_age_seconds: i64) -> String {
    format!(
        "{COOKIE}={token}; Max-Age={max_age_seconds}; Path=/; Secure; HttpOnly; SameSite=Strict"
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie() -> String {
    format!("{COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// Draws the randomness of one sign-in.
pub fn sign_in_random() -> Result<SignInRandom, ApiError> {
    let random = |_| ApiError::RandomUnavailable;
    Ok(SignInRandom {
        token: clock::random_bytes().map_err(random)?,
        csrf: clock::random_bytes().map_err(random)?,
        totp_secret: clock::random_bytes().map_err(random)?,
    })
}

/// The body of a sign-in: `{username, password, totp}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) totp: Option<String>,
}

/// The body of an enrolment confirmation: `{enrolment_token, totp}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnrolBody {
    pub(crate) enrolment_token: String,
    pub(crate) totp: String,
}

/// The answer to a sign-in: the session, or the second factor to enrol.
pub(crate) fn sign_in_answer(outcome: SignInOutcome) -> Response {
    match outcome {
        SignInOutcome::SignedIn(session) => session_answer(&session),
        SignInOutcome::EnrolmentRequired(enrolment) => Json(json!({
            "status": "enrolment_required",
            "enrolment_token": enrolment.enrolment_token,
            "totp_secret": enrolment.secret_base32,
            "otpauth_uri": enrolment.provisioning_uri,
        }))
        .into_response(),
    }
}

/// The answer for an opened session: the bearer token and who signed in.
pub(crate) fn session_answer(session: &NewSession) -> Response {
    Json(json!({
        "status": "signed_in",
        "token": session.token,
        "expires_at": session.expires_at,
        "operator": {"id": session.operator.id, "username": session.operator.username, "role": session.operator.role.as_str()},
    }))
    .into_response()
}

/// `POST /api/auth/login` `{username, password, totp}`: an API token for 60 minutes, or, at
/// the first sign-in, the TOTP secret to enrol (`status: enrolment_required`).
pub async fn sessions_create(
    State(state): State<PortalState>,
    pharmacy: PharmacyIdentity,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: LoginBody = parse_body(&body)?;
    let attempt = SignInAttempt {
        telematik_id: &pharmacy.telematik_id,
        username: &body.username,
        password: &body.password,
        totp_code: body.totp.as_deref(),
        binding: &pharmacy.certificate_binding,
        kind: SessionKind::Api,
    };
    let now = clock::now().unix_timestamp();
    let outcome = sign_in::sign_in(
        &state.store,
        &state.sign_in,
        &attempt,
        now,
        &sign_in_random()?,
    )
    .await?;
    Ok(sign_in_answer(outcome))
}

/// `POST /api/auth/enrol` `{enrolment_token, totp}`: confirms the second factor with its first
/// code and answers like a sign-in.
pub async fn enrolments_confirm(
    State(state): State<PortalState>,
    pharmacy: PharmacyIdentity,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: EnrolBody = parse_body(&body)?;
    let now = clock::now().unix_timestamp();
    let confirmation = EnrolmentConfirmation {
        enrolment_token: &body.enrolment_token,
        totp_code: &body.totp,
        binding: &pharmacy.certificate_binding,
        kind: SessionKind::Api,
    };
    let session = sign_in::confirm_enrolment(
        &state.store,
        &state.sign_in,
        &confirmation,
        now,
        &sign_in_random()?,
    )
    .await?;
    Ok(session_answer(&session))
}

/// `POST /api/auth/logout`: ends the presented session.
pub async fn sessions_delete(
    State(state): State<PortalState>,
    signed_in: SignedIn,
) -> Result<Response, ApiError> {
    sign_in::sign_out(
        &state.store,
        &signed_in.token,
        clock::now().unix_timestamp(),
    )
    .await?;
    state.sessions.forget(&signed_in.token);
    Ok((
        [(header::SET_COOKIE, clear_session_cookie())],
        Json(json!({"status": "signed_out"})),
    )
        .into_response())
}

/// Reads a JSON body; the error names the field serde stumbled on.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::InvalidBody(format!("the body must be a JSON object: {error}")))
}
