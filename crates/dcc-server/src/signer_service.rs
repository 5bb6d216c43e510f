//! The certificate server as a process of its own (german-context.md §3.2: the portal called
//! a certificate server run for the public-health institute), served behind [`crate::tls`]
//! with the service CA as the only client trust anchor.
//!
//! `POST /sign` takes `{"payload": <the complete DCC JSON>}` and nothing else: no hash, no COSE
//! structure, no claims. The certificate server reads its own clock, builds the CWT and the
//! `Sig_structure` itself and answers `{hc1, kid, issued_at, expires_at, signature}`, so its
//! keys can only sign what it assembled (the "sign this hash" API of §3.3 is not offered).
//!
//! rustls checks that the client certificate chains to the service CA; on top of that only the
//! portal's identity (subject CN [`PORTAL_CLIENT_COMMON_NAME`]) is served. Another service
//! holding a certificate of the same CA gets 403 `not_the_portal`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dcc_core::model::{Dcc, ModelError};
use dcc_issuance::signing::{CertificateServer, SignedCertificate, SigningError};
use dcc_pki::service::PORTAL_CLIENT_COMMON_NAME;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;
use x509_cert::Certificate;
use x509_cert::der::Decode as _;
use x509_cert::der::oid::db::rfc4519::COMMON_NAME;

use crate::clock;

/// Who is calling the certificate server, decided once per connection from the verified
/// client certificate (the chain to the service CA was checked by rustls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServicePeer {
    /// The pharmacy portal: the subject has exactly one CN, [`PORTAL_CLIENT_COMMON_NAME`].
    Portal,
    /// Another holder of a service certificate, or a subject that cannot be read.
    Other,
}

impl ServicePeer {
    /// Reads the subject CN of the verified leaf certificate.
    pub fn from_certificate(leaf_der: &[u8]) -> Self {
        match single_common_name(leaf_der) {
            Some(name) if name == PORTAL_CLIENT_COMMON_NAME => Self::Portal,
            _ => Self::Other,
        }
    }
}

/// The subject CN of a service certificate (DER), when the subject has exactly one: a subject
/// that names a service among other CNs is not that service's certificate.
pub fn single_common_name(leaf_der: &[u8]) -> Option<String> {
    let certificate = Certificate::from_der(leaf_der).ok()?;
    let subject = certificate.tbs_certificate().subject();
    if subject
        .iter()
        .filter(|attribute| attribute.oid == COMMON_NAME)
        .count()
        != 1
    {
        return None;
    }
    match subject.common_name() {
        Ok(Some(name)) => Some(name.value().into_owned()),
        _ => None,
    }
}

/// The body of `POST /sign`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// The complete DCC payload (`hcert[1]`) as JSON.
    pub payload: serde_json::Value,
}

/// The answer of `POST /sign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignResponse {
    /// The `HC1:` text.
    pub hc1: String,
    /// The kid of the signing DSC, base64.
    pub kid: String,
    /// `iat`, seconds since 1970.
    pub issued_at: i64,
    /// `exp`, seconds since 1970.
    pub expires_at: i64,
    /// The raw COSE signature, base64.
    pub signature: String,
}

impl From<&SignedCertificate> for SignResponse {
    fn from(signed: &SignedCertificate) -> Self {
        Self {
            hc1: signed.hc1.clone(),
            kid: signed.kid.to_base64(),
            issued_at: signed.issued_at,
            expires_at: signed.expires_at,
            signature: BASE64.encode(&signed.signature),
        }
    }
}

/// The certificate server's routes. Served behind [`crate::tls::serve`] with
/// [`ServicePeer::from_certificate`] as the connection identity; every route answers only the
/// portal.
pub fn app(server: Arc<CertificateServer>) -> Router {
    Router::new()
        .route("/sign", post(certificates_sign))
        .route("/health/live", get(|| async { "ok" }))
        .route("/health/ready", get(crate::health::signer_ready_get))
        .layer(middleware::from_fn(require_portal))
        .layer(middleware::from_fn(crate::request_id::assign))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(server)
}

/// An error answer of the certificate server's API: status, stable code, message.
#[derive(Debug)]
pub enum SignerApiError {
    /// The client certificate is from the service CA but is not the portal's.
    NotThePortal,
    /// The body is not `{"payload": …}` or the payload does not fit the DCC model.
    UnreadablePayload(UnreadablePayload),
    /// The certificate server refused to sign (422 `signer_refused`).
    Refused(SigningError),
}

/// Why a `/sign` body could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnreadablePayload {
    /// Not JSON, not an object with exactly the field `payload`.
    #[error("the body must be {{\"payload\": <DCC JSON>}} and nothing else: {0}")]
    Body(#[source] serde_json::Error),
    /// The payload does not fit the DCC model.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The payload holds fields the model does not carry, which would silently not be signed.
    #[error("the payload holds fields that are not part of the DCC model")]
    UnknownFields,
}

impl IntoResponse for SignerApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::NotThePortal => (StatusCode::FORBIDDEN, "not_the_portal"),
            Self::UnreadablePayload(_) => (StatusCode::BAD_REQUEST, "unreadable_payload"),
            Self::Refused(_) => (StatusCode::UNPROCESSABLE_ENTITY, SIGNER_REFUSED),
        };
        let message = match &self {
            Self::NotThePortal => {
                "only the portal's service identity may use the certificate server".to_owned()
            }
            Self::UnreadablePayload(error) => error.to_string(),
            Self::Refused(error) => error.to_string(),
        };
        let body = match &self {
            Self::Refused(SigningError::InvalidPayload(violations)) => {
                json!({"code": code, "message": message, "violations": violations})
            }
            _ => json!({"code": code, "message": message}),
        };
        (status, Json(body)).into_response()
    }
}

/// Refuses every request of a connection whose client certificate is not the portal's.
async fn require_portal(
    peer: Option<Extension<ServicePeer>>,
    request: Request,
    next: Next,
) -> Result<Response, SignerApiError> {
    match peer {
        Some(Extension(ServicePeer::Portal)) => Ok(next.run(request).await),
        // `None` only when the router runs without the TLS layer: no identity, no access.
        Some(Extension(ServicePeer::Other)) | None => {
            tracing::info!(
                code = "not_the_portal",
                "certificate server refused a client"
            );
            Err(SignerApiError::NotThePortal)
        }
    }
}

/// `POST /sign`.
#[instrument(skip_all)]
async fn certificates_sign(
    State(server): State<Arc<CertificateServer>>,
    body: Bytes,
) -> Result<Json<SignResponse>, SignerApiError> {
    let dcc = parse_payload(&body).map_err(SignerApiError::UnreadablePayload)?;
    let signed = server
        .sign(&dcc, clock::now().unix_timestamp())
        .map_err(SignerApiError::Refused)?;
    tracing::info!(uvci = dcc.certificate_id(), kid = %signed.kid.to_base64(), "signed");
    Ok(Json(SignResponse::from(&signed)))
}

/// Reads the body into the typed model, refusing a payload the model would not carry whole.
fn parse_payload(body: &[u8]) -> Result<Dcc, UnreadablePayload> {
    let request: SignRequest = serde_json::from_slice(body).map_err(UnreadablePayload::Body)?;
    let dcc = Dcc::from_json(&request.payload)?;
    // What is signed is the model's JSON; a payload that does not survive the model unchanged
    // would be signed as something other than what was sent.
    if dcc.to_json() != request.payload {
        return Err(UnreadablePayload::UnknownFields);
    }
    Ok(dcc)
}

/// The code of a refusal to sign (422), which the portal maps to its own `signer_refused`.
pub const SIGNER_REFUSED: &str = "signer_refused";

/// The largest `/sign` body accepted; a DCC payload is well below 4 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> serde_json::Value {
        json!({
            "ver": "1.3.0",
            "nam": {"fn": "Muster", "fnt": "MUSTER"},
            "dob": "1964",
            "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                   "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29", "co": "DE",
                   "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:APO1/X1#F"}]
        })
    }

    #[test]
    fn reads_exactly_a_payload() {
        let body = serde_json::to_vec(&json!({"payload": payload()})).unwrap();
        let dcc = parse_payload(&body).unwrap();
        assert_eq!(dcc.certificate_id(), "URN:UVCI:01:DE:APO1/X1#F");
    }

    #[test]
    fn refuses_hashes_claims_and_extra_payload_fields() {
        let with_hash = json!({"payload": payload(), "hash": "AAAA"});
        assert!(matches!(
            parse_payload(&serde_json::to_vec(&with_hash).unwrap()),
            Err(UnreadablePayload::Body(_))
        ));
        let only_hash = json!({"hash": "AAAA"});
        assert!(matches!(
            parse_payload(&serde_json::to_vec(&only_hash).unwrap()),
            Err(UnreadablePayload::Body(_))
        ));
        let mut extra = payload();
        extra["v"][0]["note"] = json!("not in the model");
        let body = serde_json::to_vec(&json!({"payload": extra})).unwrap();
        assert!(matches!(
            parse_payload(&body),
            Err(UnreadablePayload::UnknownFields | UnreadablePayload::Model(_))
        ));
        let not_a_dcc = json!({"payload": {"nam": {"fn": "A"}}});
        assert!(matches!(
            parse_payload(&serde_json::to_vec(&not_a_dcc).unwrap()),
            Err(UnreadablePayload::Model(_))
        ));
    }

    #[test]
    fn only_the_portal_common_name_is_the_portal() {
        let pki = dcc_pki::dev_pki::DevPki::generate(time::macros::datetime!(2021-06-01 0:00 UTC))
            .unwrap();
        assert_eq!(
            ServicePeer::from_certificate(pki.portal_client().certificate_der()),
            ServicePeer::Portal
        );
        // Same CA, another CN.
        assert_eq!(
            ServicePeer::from_certificate(pki.portal_server().certificate_der()),
            ServicePeer::Other
        );
        let (_, pharmacy) = pki.institutions().iter().next().unwrap();
        assert_eq!(
            ServicePeer::from_certificate(pharmacy.certificate_der()),
            ServicePeer::Other
        );
        assert_eq!(
            ServicePeer::from_certificate(b"not DER"),
            ServicePeer::Other
        );
    }
}
