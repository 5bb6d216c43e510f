//! Association administrators on the admin listener: who is connecting ([`AdminPeer`], from
//! the client certificate of the service CA), the [`AdminSignedIn`] extractor every admin route
//! requires, and `POST /api/admin/login|enrol|logout`.
//!
//! The pharmacy portal admits only institution (SMC-B) certificates, which administrators do
//! not hold; they come in through a listener of their own whose client certificates chain to
//! the service CA and name `dcc-admin` (or `dcc-admin:<device>`). On top of that certificate
//! an administrator signs in with password and TOTP like any operator, but only accounts of
//! the association's scope (`*`) can sign in here, and the session is bound to the admin
//! certificate of the connection that opened it. Sessions are API tokens presented as
//! `Authorization: Bearer`; no cookie is read, so no other site can ride on a browser's
//! session.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use dcc_issuance::operators::{Actor, AuthError, OperatorRef};
use dcc_issuance::sessions::Sessions;
use dcc_issuance::sign_in::{
    self, EnrolmentConfirmation, SessionKind, SignInAttempt, SignInPolicy,
};
use dcc_pki::service::ADMIN_CLIENT_COMMON_NAME;
use dcc_store::Store;
use dcc_store::operators::ASSOCIATION_SCOPE;
use serde_json::json;

use crate::clock;
use crate::error::ApiError;
use crate::operator_session::{
    EnrolBody, LoginBody, bearer_token, parse_body, session_answer, sign_in_answer, sign_in_random,
};
use crate::signer_service::single_common_name;

/// What the admin listener's handlers share.
#[derive(Clone)]
pub struct AdminState {
    /// The database.
    pub store: Store,
    /// Administrator sessions, checked with a short per-process memory.
    pub sessions: Arc<Sessions>,
    /// Lock-out and session lifetimes.
    pub sign_in: SignInPolicy,
}

/// Who is connecting to the admin listener, decided once per connection from the verified
/// client certificate (the chain to the service CA was checked by rustls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminPeer {
    /// An administrator's certificate: exactly one CN, `dcc-admin` or `dcc-admin:<device>`.
    Administrator {
        /// Hex SHA-256 of the certificate (DER): what admin sessions are bound to.
        certificate_binding: String,
    },
    /// Another holder of a service certificate (the portal, a signer), or an unreadable subject.
    Other,
}

impl AdminPeer {
    /// Reads the subject CN of the verified leaf certificate.
    pub fn from_certificate(leaf_der: &[u8]) -> Self {
        match single_common_name(leaf_der) {
            Some(name) if is_administrator_name(&name) => Self::Administrator {
                certificate_binding: dcc_auth::session::certificate_binding(leaf_der),
            },
            _ => Self::Other,
        }
    }
}

/// Whether a certificate CN names an administrator.
fn is_administrator_name(common_name: &str) -> bool {
    common_name == ADMIN_CLIENT_COMMON_NAME
        || common_name
            .strip_prefix(ADMIN_CLIENT_COMMON_NAME)
            .is_some_and(|rest| rest.starts_with(':'))
}

/// The administrator certificate of the connection (its binding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminCertificate {
    /// Hex SHA-256 of the certificate.
    pub certificate_binding: String,
}

impl<S: Send + Sync> FromRequestParts<S> for AdminCertificate {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<AdminPeer>() {
            Some(AdminPeer::Administrator {
                certificate_binding,
            }) => Ok(Self {
                certificate_binding: certificate_binding.clone(),
            }),
            // `None` only when the router runs without the TLS layer: no identity, no access.
            Some(AdminPeer::Other) | None => Err(ApiError::NotAnAdministrator),
        }
    }
}

/// Refuses every request of a connection whose certificate is not an administrator's, before
/// any route (including the unknown ones) answers.
pub async fn require_administrator(
    peer: Option<Extension<AdminPeer>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    match peer {
        Some(Extension(AdminPeer::Administrator { .. })) => Ok(next.run(request).await),
        Some(Extension(AdminPeer::Other)) | None => {
            tracing::info!(
                code = "not_an_administrator",
                "admin listener refused a client"
            );
            Err(ApiError::NotAnAdministrator)
        }
    }
}

/// A signed-in administrator on the connection's admin certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSignedIn {
    /// The administrator.
    pub operator: OperatorRef,
    /// The token, to sign out with.
    pub token: String,
}

impl AdminSignedIn {
    /// The administrator as the actor of an account change.
    pub fn actor(&self) -> Actor {
        Actor::Operator {
            operator: self.operator.clone(),
            scope: ASSOCIATION_SCOPE.to_owned(),
        }
    }
}

impl FromRequestParts<AdminState> for AdminSignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let certificate = AdminCertificate::from_request_parts(parts, state).await?;
        let token = bearer_token(parts).ok_or(AuthError::SessionRequired)?;
        let signed_in = state
            .sessions
            .authenticate(
                &state.store,
                &token,
                &certificate.certificate_binding,
                clock::now().unix_timestamp(),
            )
            .await?;
        // Sign-in here admits only the association's accounts, and the binding ties the
        // session to an admin certificate; both are checked again in case a session of another
        // door ever carried an admin certificate's binding.
        if signed_in.scope != ASSOCIATION_SCOPE {
            return Err(AuthError::SessionBindingMismatch.into());
        }
        if !signed_in.operator.role.is_administrator() {
            return Err(AuthError::ForbiddenRole {
                role: signed_in.operator.role,
            }
            .into());
        }
        Ok(Self {
            operator: signed_in.operator,
            token,
        })
    }
}

/// `POST /api/admin/login` `{username, password, totp}`: an API token for 60 minutes, or, at
/// the first sign-in, the TOTP secret to enrol (`status: enrolment_required`). Only accounts
/// of the association (scope `*`) are found.
pub async fn admin_sessions_create(
    State(state): State<AdminState>,
    certificate: AdminCertificate,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: LoginBody = parse_body(&body)?;
    let attempt = SignInAttempt {
        telematik_id: ASSOCIATION_SCOPE,
        username: &body.username,
        password: &body.password,
        totp_code: body.totp.as_deref(),
        binding: &certificate.certificate_binding,
        kind: SessionKind::Api,
    };
    let now = clock::now().unix_timestamp();
    let random = sign_in_random()?;
    let outcome = sign_in::sign_in(&state.store, &state.sign_in, &attempt, now, &random).await?;
    Ok(sign_in_answer(outcome))
}

/// `POST /api/admin/enrol` `{enrolment_token, totp}`: confirms the second factor with its
/// first code and answers like a sign-in.
pub async fn admin_enrolments_confirm(
    State(state): State<AdminState>,
    certificate: AdminCertificate,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: EnrolBody = parse_body(&body)?;
    let confirmation = EnrolmentConfirmation {
        enrolment_token: &body.enrolment_token,
        totp_code: &body.totp,
        binding: &certificate.certificate_binding,
        kind: SessionKind::Api,
    };
    let now = clock::now().unix_timestamp();
    let random = sign_in_random()?;
    let session =
        sign_in::confirm_enrolment(&state.store, &state.sign_in, &confirmation, now, &random)
            .await?;
    Ok(session_answer(&session))
}

/// `POST /api/admin/logout`: ends the presented session.
pub async fn admin_sessions_delete(
    State(state): State<AdminState>,
    signed_in: AdminSignedIn,
) -> Result<Response, ApiError> {
    let now = clock::now().unix_timestamp();
    sign_in::sign_out(&state.store, &signed_in.token, now).await?;
    state.sessions.forget(&signed_in.token);
    Ok(Json(json!({"status": "signed_out"})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_common_names_are_administrators() {
        assert!(is_administrator_name("dcc-admin"));
        assert!(is_administrator_name("dcc-admin:laptop-7"));
        assert!(!is_administrator_name("dcc-admin2"));
        assert!(!is_administrator_name("dcc-administrator"));
        assert!(!is_administrator_name("dcc-portal"));
        assert!(!is_administrator_name("x-dcc-admin"));
    }

    #[test]
    fn the_dev_pki_admin_certificate_is_an_administrator_and_the_portal_is_not() {
        let pki = dcc_pki::dev_pki::DevPki::generate(time::macros::datetime!(2021-06-01 0:00 UTC))
            .unwrap();
        let admin = pki.admin_client().certificate_der();
        assert_eq!(
            AdminPeer::from_certificate(admin),
            AdminPeer::Administrator {
                certificate_binding: dcc_auth::session::certificate_binding(admin)
            }
        );
        for other in [
            pki.portal_client().certificate_der(),
            pki.portal_server().certificate_der(),
            b"not DER".as_slice(),
        ] {
            assert_eq!(AdminPeer::from_certificate(other), AdminPeer::Other);
        }
    }
}
