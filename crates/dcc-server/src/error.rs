//! The one mapping from domain errors to HTTP: a status, a stable code and a message naming
//! the problem (style.md rule 15). 5xx bodies carry no internal detail.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dcc_auth::password::PasswordError;
use dcc_issuance::alerts::AlertError;
use dcc_issuance::billing::StatementError;
use dcc_issuance::issue::{IssueError, SignServiceError};
use dcc_issuance::kill_switch::KillSwitchError;
use dcc_issuance::operators::AuthError;
use dcc_issuance::payload::PayloadError;
use dcc_issuance::registry::RegistryError;
use dcc_issuance::request::RequestError;
use dcc_issuance::violation::FieldViolation;
use dcc_store::StoreError;
use serde_json::json;

use crate::identity::IdentityRejection;
use crate::trust_list::TrustListPublishError;

/// An error answer of the portal API.
#[derive(Debug)]
pub enum ApiError {
    /// The use case refused or failed.
    Issue(IssueError),
    /// The client certificate does not qualify.
    Identity(IdentityRejection),
    /// No client certificate (only when served without the TLS layer).
    NoClientCertificate,
    /// The `Accept` header names no format this API produces.
    NotAcceptable,
    /// The operating system's random generator failed (no UVCI can be made).
    RandomUnavailable,
    /// A billing use case refused or failed.
    Billing(StatementError),
    /// A month in the path is not `YYYY-MM`.
    InvalidMonth,
    /// The `Accept` header names no statement format.
    StatementNotAcceptable,
    /// A trust list could not be built.
    TrustList(TrustListPublishError),
    /// The revocation list could not be read (the database failed).
    RevocationList,
    /// Too many issuance requests at once: answered 503 with `Retry-After` at once.
    Overloaded,
    /// Signing in, a session or an account operation was refused.
    Auth(AuthError),
    /// The request body of an account operation is not the expected JSON; names the field.
    InvalidBody(String),
    /// The database failed repeatedly and is not asked for a moment (its circuit breaker is
    /// open): answered 503 `store_unavailable` with `Retry-After` at once.
    StoreUnavailable {
        /// How long the breaker stays open.
        retry_after: std::time::Duration,
    },
    /// A pharmacy registry change was refused or failed (admin API).
    Registry(RegistryError),
    /// A lock could not be set or lifted (admin API).
    KillSwitch(KillSwitchError),
    /// An alert could not be listed or acknowledged (admin API).
    Alert(AlertError),
    /// A read of the database failed (admin API: the audit log).
    Store(StoreError),
    /// A query parameter is malformed or unknown (400 `invalid_query`, naming it).
    InvalidQuery {
        /// The parameter.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A body field is well-formed JSON but its value is refused (422 `invalid_field`).
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The client certificate is the service CA's but not an administrator's (admin listener).
    NotAnAdministrator,
    /// The certificate was issued but its PNG/SVG/PDF form could not be rendered (a defect:
    /// every issued HC1 string renders). A retry with the same idempotency key gets it.
    Render,
}

impl From<StatementError> for ApiError {
    fn from(error: StatementError) -> Self {
        Self::Billing(error)
    }
}

impl From<TrustListPublishError> for ApiError {
    fn from(error: TrustListPublishError) -> Self {
        Self::TrustList(error)
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        Self::Registry(error)
    }
}

impl From<KillSwitchError> for ApiError {
    fn from(error: KillSwitchError) -> Self {
        Self::KillSwitch(error)
    }
}

impl From<AlertError> for ApiError {
    fn from(error: AlertError) -> Self {
        Self::Alert(error)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self::Auth(error)
    }
}

impl From<IssueError> for ApiError {
    fn from(error: IssueError) -> Self {
        Self::Issue(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, violations): (StatusCode, &str, String, &[FieldViolation]) =
            match &self {
                Self::Identity(rejection) => (
                    StatusCode::FORBIDDEN,
                    rejection.code(),
                    rejection.message().to_owned(),
                    &[],
                ),
                Self::NoClientCertificate => (
                    StatusCode::UNAUTHORIZED,
                    "no_client_certificate",
                    "an institution certificate is required".to_owned(),
                    &[],
                ),
                Self::RandomUnavailable => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "random_unavailable",
                    "the service cannot issue certificates right now; try again later".to_owned(),
                    &[],
                ),
                Self::TrustList(TrustListPublishError::NotConfigured) => (
                    StatusCode::NOT_FOUND,
                    "trust_list_not_configured",
                    "this service publishes no trust list (no trust-list signing key)".to_owned(),
                    &[],
                ),
                Self::Overloaded => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "the portal is serving as many requests as it can; retry in a second"
                        .to_owned(),
                    &[],
                ),
                Self::StoreUnavailable { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the service cannot issue certificates right now; try again later".to_owned(),
                    &[],
                ),
                Self::RevocationList => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the revocation list cannot be read right now; try again later".to_owned(),
                    &[],
                ),
                Self::TrustList(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "trust_list_unavailable",
                    "the trust list cannot be built right now; try again later".to_owned(),
                    &[],
                ),
                Self::NotAcceptable => (
                    StatusCode::NOT_ACCEPTABLE,
                    "not_acceptable",
                    "Accept must allow application/json, application/cbor+base45, image/png, \
                     image/svg+xml or application/pdf"
                        .to_owned(),
                    &[],
                ),
                Self::Render => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "render_failed",
                    "the certificate was issued but could not be rendered; retry with the same \
                     Idempotency-Key or ask for application/json"
                        .to_owned(),
                    &[],
                ),
                Self::InvalidMonth => (
                    StatusCode::BAD_REQUEST,
                    "invalid_month",
                    "a month is written YYYY-MM, e.g. 2021-07".to_owned(),
                    &[],
                ),
                Self::StatementNotAcceptable => (
                    StatusCode::NOT_ACCEPTABLE,
                    "not_acceptable",
                    "Accept must allow application/pdf, text/csv or application/json".to_owned(),
                    &[],
                ),
                Self::Auth(error) => {
                    let status = auth_status(error);
                    let message = if status.is_server_error() {
                        "signing in is unavailable right now; try again later".to_owned()
                    } else {
                        error.to_string()
                    };
                    (status, error.code(), message, &[])
                }
                Self::InvalidBody(message) => (
                    StatusCode::BAD_REQUEST,
                    "invalid_body",
                    message.clone(),
                    &[],
                ),
                Self::Registry(error) => {
                    let status = registry_status(error);
                    (status, error.code(), admin_message(status, error), &[])
                }
                Self::KillSwitch(error) => {
                    let status = kill_switch_status(error);
                    (status, error.code(), admin_message(status, error), &[])
                }
                Self::Alert(error) => {
                    let status = alert_status(error);
                    (status, error.code(), admin_message(status, error), &[])
                }
                Self::Store(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the database cannot be read right now; try again later".to_owned(),
                    &[],
                ),
                Self::InvalidQuery { message, .. } => (
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    message.clone(),
                    &[],
                ),
                Self::InvalidField { message, .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_field",
                    message.clone(),
                    &[],
                ),
                Self::NotAnAdministrator => (
                    StatusCode::FORBIDDEN,
                    "not_an_administrator",
                    "only an association administrator's client certificate (CN dcc-admin) may \
                     use this listener"
                        .to_owned(),
                    &[],
                ),
                Self::Billing(error) => {
                    let status = billing_status(error);
                    let message = if status.is_server_error() {
                        "statements are unavailable right now; try again later".to_owned()
                    } else {
                        error.to_string()
                    };
                    (status, error.code(), message, &[])
                }
                Self::Issue(error) => {
                    let status = issue_status(error);
                    let message = if status.is_server_error() {
                        "the service cannot issue certificates right now; try again later"
                            .to_owned()
                    } else {
                        error.to_string()
                    };
                    let violations: &[FieldViolation] = match error {
                        IssueError::Request(RequestError::Invalid(list))
                        | IssueError::Payload(PayloadError::Invalid(list)) => list,
                        _ => &[],
                    };
                    (status, error.code(), message, violations)
                }
            };
        // Overload and an open breaker are counted in the metrics (and the breaker logs when it
        // opens); one log line per refused request would flood.
        if status.is_server_error()
            && !matches!(self, Self::Overloaded | Self::StoreUnavailable { .. })
        {
            tracing::error!(code, error = ?self, "request failed");
        }
        let mut body = if violations.is_empty() {
            json!({"code": code, "message": message})
        } else {
            json!({"code": code, "message": message, "violations": violations})
        };
        let mut retry_after = None;
        match &self {
            Self::Issue(IssueError::Locked { reason }) => {
                if let Some(fields) = body.as_object_mut() {
                    fields.insert("reason".to_owned(), json!(reason));
                }
            }
            Self::Issue(IssueError::RateLimited(exceeded)) => {
                retry_after = Some(exceeded.retry_after());
                if let Some(fields) = body.as_object_mut() {
                    fields.insert("limit".to_owned(), json!(exceeded.window()));
                }
            }
            Self::Overloaded => retry_after = Some(OVERLOAD_RETRY_AFTER_SECONDS),
            Self::InvalidQuery { field, .. } => {
                if let Some(fields) = body.as_object_mut() {
                    fields.insert("field".to_owned(), json!(field));
                }
            }
            Self::InvalidField { field, .. } => {
                if let Some(fields) = body.as_object_mut() {
                    fields.insert("field".to_owned(), json!(field));
                }
            }
            Self::Alert(AlertError::CommentRequired | AlertError::InvalidComment) => {
                if let Some(fields) = body.as_object_mut() {
                    fields.insert("field".to_owned(), json!("comment"));
                }
            }
            Self::Auth(AuthError::AccountLocked { until }) => {
                if let Some(fields) = body.as_object_mut() {
                    fields.insert("locked_until".to_owned(), json!(until));
                }
            }
            Self::StoreUnavailable {
                retry_after: open_for,
            } => {
                retry_after = Some(open_for.as_secs().max(1));
            }
            Self::Issue(IssueError::Store(_)) => retry_after = Some(STORE_RETRY_AFTER_SECONDS),
            _ => {}
        }
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn auth_status(error: &AuthError) -> StatusCode {
    match error {
        AuthError::InvalidCredentials
        | AuthError::TotpInvalid
        | AuthError::SessionRequired
        | AuthError::SessionExpired => StatusCode::UNAUTHORIZED,
        AuthError::SessionBindingMismatch
        | AuthError::OperatorDisabled
        | AuthError::ForbiddenRole { .. }
        | AuthError::ForbiddenScope => StatusCode::FORBIDDEN,
        AuthError::AccountLocked { .. } => StatusCode::LOCKED,
        AuthError::Password(PasswordError::TooShort | PasswordError::TooLong)
        | AuthError::InvalidUsername
        | AuthError::RoleScopeMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        AuthError::UsernameTaken => StatusCode::CONFLICT,
        AuthError::UnknownOperator | AuthError::UnknownPharmacy(_) => StatusCode::NOT_FOUND,
        AuthError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn registry_status(error: &RegistryError) -> StatusCode {
    match error {
        RegistryError::NotFound { .. } => StatusCode::NOT_FOUND,
        RegistryError::AlreadyRegistered { .. } | RegistryError::SegmentTaken { .. } => {
            StatusCode::CONFLICT
        }
        RegistryError::InvalidSegment { .. } | RegistryError::InvalidTelematikId { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        RegistryError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn alert_status(error: &AlertError) -> StatusCode {
    match error {
        AlertError::CommentRequired | AlertError::InvalidComment | AlertError::InvalidBy => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        AlertError::NotFound(_) => StatusCode::NOT_FOUND,
        AlertError::AlreadyAcknowledged(_) => StatusCode::CONFLICT,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn kill_switch_status(error: &KillSwitchError) -> StatusCode {
    match error {
        KillSwitchError::InvalidReason(_)
        | KillSwitchError::InvalidComment
        | KillSwitchError::InvalidTarget(_) => StatusCode::UNPROCESSABLE_ENTITY,
        KillSwitchError::UnknownOperator(_) => StatusCode::NOT_FOUND,
        KillSwitchError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The message of an admin API refusal; a server error's detail stays in the log.
fn admin_message(status: StatusCode, error: &dyn std::fmt::Display) -> String {
    if status.is_server_error() {
        "the association's data cannot be changed right now; try again later".to_owned()
    } else {
        error.to_string()
    }
}

fn billing_status(error: &StatementError) -> StatusCode {
    match error {
        // Not closed yet is, for the pharmacy, the same as no statement.
        StatementError::NotFound { .. }
        | StatementError::NotClosed(_)
        | StatementError::NotEnded(_) => StatusCode::NOT_FOUND,
        StatementError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn issue_status(error: &IssueError) -> StatusCode {
    match error {
        IssueError::NotRegistered(_) | IssueError::Suspended(_) => StatusCode::FORBIDDEN,
        IssueError::Locked { .. } => StatusCode::LOCKED,
        IssueError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        IssueError::Request(RequestError::Unreadable(_)) => StatusCode::BAD_REQUEST,
        IssueError::Request(RequestError::WrongModel(_)) => StatusCode::NOT_ACCEPTABLE,
        IssueError::Request(_) | IssueError::Payload(PayloadError::Invalid(_)) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        IssueError::InvalidIdempotencyKey => StatusCode::BAD_REQUEST,
        IssueError::IdempotencyKeyReused => StatusCode::CONFLICT,
        IssueError::ResponseExpired { .. } => StatusCode::GONE,
        IssueError::Signing(SignServiceError::Unavailable(_))
        | IssueError::Store(_)
        | IssueError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        // Like an in-process refusal: the service is misconfigured, not the request.
        IssueError::Signing(SignServiceError::RemoteRefused { .. }) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `Retry-After` of an `overloaded` answer: a second is enough for in-flight requests to finish.
const OVERLOAD_RETRY_AFTER_SECONDS: u64 = 1;

/// `Retry-After` of a `store_unavailable` answer from a failed database call: about the time a
/// circuit breaker stays open before the database is tried again.
const STORE_RETRY_AFTER_SECONDS: u64 = 2;
