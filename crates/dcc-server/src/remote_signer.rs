//! The portal's client of the separate certificate server ([`crate::signer_service`]):
//! reqwest over mutual TLS with the portal's service identity and the service CA as the only
//! root, one pooled client for the portal's lifetime.
//!
//! The portal does not take the answer on trust. It decodes the returned HC1, verifies it
//! against the DSCs it has configured (signature, DSC validity around `iat..exp`, key usage,
//! schema), checks that the signed payload is exactly the one it sent and that the reported
//! kid, dates and signature are those of the HC1. A certificate that fails any of this is
//! refused as [`SignServiceError::Unavailable`], so nothing is recorded or handed out.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dcc_core::hcert::{self, DecodeError};
use dcc_core::model::Dcc;
use dcc_core::trust_list::TrustList;
use dcc_core::verify::{self, KeyUsageCheck, SignatureCheck, ValidityCheck, Verification};
use dcc_issuance::issue::{SignService, SignServiceError};
use dcc_issuance::signing::SignedCertificate;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tracing::instrument;

use crate::circuit_breaker::{BreakerSettings, CircuitBreaker};
use crate::signer_service::{SIGNER_REFUSED, SignRequest, SignResponse};

/// How long one call to the certificate server may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long establishing the TCP connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How far the signer's `iat` may lie from the portal's clock.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// The certificate server reached over mutual TLS.
pub struct RemoteSigner {
    client: reqwest::Client,
    sign_url: Url,
    health_url: Url,
    breaker: CircuitBreaker,
    configured: TrustList,
    trust: std::sync::RwLock<std::sync::Arc<TrustList>>,
    issuer: String,
}

/// What [`RemoteSigner::new`] needs.
pub struct RemoteSignerSettings<'a> {
    /// The certificate server's base URL, e.g. `https://localhost:8444`.
    pub url: &'a str,
    /// The service CA (PEM): the only root trusted for the signer's TLS certificate.
    pub service_ca_pem: &'a [u8],
    /// The portal's client certificate followed by its PKCS#8 key (PEM).
    pub identity_pem: &'a [u8],
    /// The DSCs the returned certificates must verify against.
    pub dscs: TrustList,
    /// The expected CWT `iss` (the configured country).
    pub issuer: String,
}

/// Why the remote signer client could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteSignerSetupError {
    /// The URL is not an `https://` URL with a host.
    #[error("the certificate server URL {url:?} is not an https:// URL")]
    Url {
        /// The URL as given.
        url: String,
    },
    /// The service CA, the identity or the TLS client is unusable.
    #[error("cannot set up mutual TLS towards the certificate server: {0}")]
    Tls(#[source] reqwest::Error),
    /// No DSC is configured, so no returned certificate could be checked.
    #[error("no DSC is configured to check the certificate server's certificates against")]
    NoDscs,
}

/// Why a call to the certificate server gave no usable certificate. The portal reports all
/// of these as `signer_unavailable`; the variant says what went wrong for the operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteSignerError {
    /// The request did not reach the signer or its answer did not arrive in time.
    #[error("the certificate server cannot be reached: {0}")]
    Transport(#[source] reqwest::Error),
    /// The signer failed several times in a row; it is not asked again for a moment.
    #[error("the certificate server failed repeatedly; calls are paused for a moment")]
    CircuitOpen,
    /// The signer answered with a server error.
    #[error("the certificate server failed with HTTP {status}")]
    ServerError {
        /// The HTTP status.
        status: u16,
    },
    /// The signer answered with a status this client does not expect (e.g. 403
    /// `not_the_portal` when the portal's identity is misconfigured).
    #[error("the certificate server answered HTTP {status} ({})", code.as_deref().unwrap_or("no code"))]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// The error code in the body, when there is one.
        code: Option<String>,
    },
    /// A successful answer is not the documented JSON.
    #[error("the certificate server's answer cannot be read: {0}")]
    UnreadableAnswer(#[source] serde_json::Error),
    /// The returned HC1 does not decode.
    #[error("the certificate server returned an HC1 that does not decode: {0}")]
    Decode(#[source] DecodeError),
    /// The returned certificate lacks `iat` or `exp`.
    #[error("the certificate server returned a certificate without iat or exp")]
    IncompleteClaims,
    /// The returned certificate does not verify against the configured DSCs.
    #[error("the certificate server returned a certificate that does not verify ({code})")]
    NotVerified {
        /// The first failed check's code (`bad_signature`, `unknown_kid`, `wrong_key_usage`…).
        code: &'static str,
    },
    /// The signed payload is not the payload that was sent.
    #[error("the certificate server signed a payload other than the one sent")]
    PayloadMismatch,
    /// A reported field (`kid`, `issued_at`, `expires_at`, `signature`, `iss`) does not match
    /// the returned HC1 or the configuration.
    #[error("the certificate server's {field} does not match the certificate it returned")]
    FieldMismatch {
        /// The field.
        field: &'static str,
    },
    /// The signer's clock is too far from the portal's.
    #[error(
        "the certificate server's iat {issued_at} is more than {MAX_CLOCK_SKEW_SECONDS} s from the portal's clock {now}"
    )]
    ClockSkew {
        /// The certificate's `iat`.
        issued_at: i64,
        /// The portal's clock.
        now: i64,
    },
}

impl RemoteSigner {
    /// A client for the certificate server at `settings.url`.
    pub fn new(settings: RemoteSignerSettings<'_>) -> Result<Self, RemoteSignerSetupError> {
        let invalid_url = || RemoteSignerSetupError::Url {
            url: settings.url.to_owned(),
        };
        let base = Url::parse(settings.url).map_err(|_| invalid_url())?;
        if base.scheme() != "https" || base.host().is_none() {
            return Err(invalid_url());
        }
        let sign_url = base.join("/sign").map_err(|_| invalid_url())?;
        let health_url = base.join("/health/ready").map_err(|_| invalid_url())?;
        if settings.dscs.is_empty() {
            return Err(RemoteSignerSetupError::NoDscs);
        }
        let roots = reqwest::Certificate::from_pem_bundle(settings.service_ca_pem)
            .map_err(RemoteSignerSetupError::Tls)?;
        let identity = reqwest::Identity::from_pem(settings.identity_pem)
            .map_err(RemoteSignerSetupError::Tls)?;
        let client = reqwest::Client::builder()
            .tls_certs_only(roots)
            .identity(identity)
            .https_only(true)
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(RemoteSignerSetupError::Tls)?;
        Ok(Self {
            client,
            sign_url,
            health_url,
            breaker: CircuitBreaker::new("signer", BreakerSettings::default()),
            trust: std::sync::RwLock::new(std::sync::Arc::new(settings.dscs.clone())),
            configured: settings.dscs,
            issuer: settings.issuer,
        })
    }

    /// Sets the DSCs returned certificates must verify against to the configured ones plus
    /// `published` (the published list, which after a key rotation holds the new DSC).
    pub fn set_published(&self, published: impl IntoIterator<Item = dcc_core::dsc::Dsc>) {
        let mut trust = self.configured.clone();
        trust.extend(published);
        *self
            .trust
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = std::sync::Arc::new(trust);
    }

    /// Asks the certificate server to sign `dcc` and checks what comes back. The signer reads
    /// its own clock; `now` (the portal's) bounds the clock skew.
    #[instrument(skip_all, fields(uvci = dcc.certificate_id()))]
    async fn sign_remote(
        &self,
        dcc: &Dcc,
        now: i64,
    ) -> Result<SignedCertificate, SignServiceError> {
        let payload = dcc.to_json();
        let mut request = self.client.post(self.sign_url.clone());
        if let Some(id) = crate::request_id::current() {
            request = request.header(crate::request_id::HEADER, id);
        }
        let response = request
            .json(&SignRequest {
                payload: payload.clone(),
            })
            .send()
            .await
            .map_err(|error| unavailable(RemoteSignerError::Transport(error)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| unavailable(RemoteSignerError::Transport(error)))?;
        if status.is_success() {
            let answer: SignResponse = serde_json::from_slice(&body)
                .map_err(|error| unavailable(RemoteSignerError::UnreadableAnswer(error)))?;
            return self.check(&payload, &answer, now).map_err(unavailable);
        }
        if status.is_server_error() {
            return Err(unavailable(RemoteSignerError::ServerError {
                status: status.as_u16(),
            }));
        }
        let error: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        match error {
            Some(ErrorBody { code, message })
                if status == StatusCode::UNPROCESSABLE_ENTITY && code == SIGNER_REFUSED =>
            {
                Err(SignServiceError::RemoteRefused { code, message })
            }
            other => Err(unavailable(RemoteSignerError::UnexpectedStatus {
                status: status.as_u16(),
                code: other.map(|body| body.code),
            })),
        }
    }

    /// Verifies the returned certificate and builds the ledger's view of it from the HC1
    /// itself, after checking the reported fields against it.
    fn check(
        &self,
        sent: &serde_json::Value,
        answer: &SignResponse,
        now: i64,
    ) -> Result<SignedCertificate, RemoteSignerError> {
        let decoded = hcert::decode(&answer.hc1).map_err(RemoteSignerError::Decode)?;
        if &decoded.payload != sent {
            return Err(RemoteSignerError::PayloadMismatch);
        }
        if decoded.claims.issuer.as_deref() != Some(self.issuer.as_str()) {
            return Err(RemoteSignerError::FieldMismatch { field: "iss" });
        }
        let (Some(issued_at), Some(expires_at)) =
            (decoded.claims.issued_at, decoded.claims.expires_at)
        else {
            return Err(RemoteSignerError::IncompleteClaims);
        };
        let signature = decoded.cose.signature.clone();
        // Verified at its own `iat`: the signature, the DSC's validity around `iat..exp`, the
        // DSC's key usage for this type, and the schema. The skew check below ties `iat` to
        // the portal's clock.
        let trust = std::sync::Arc::clone(
            &self
                .trust
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let verification = verify::verify_decoded(decoded, &trust, issued_at);
        if !verification.is_valid() {
            return Err(RemoteSignerError::NotVerified {
                code: failed_check(&verification),
            });
        }
        let kid = verification
            .kid()
            .ok_or(RemoteSignerError::FieldMismatch { field: "kid" })?;
        for (field, matches) in [
            ("kid", answer.kid == kid.to_base64()),
            ("issued_at", answer.issued_at == issued_at),
            ("expires_at", answer.expires_at == expires_at),
            ("signature", answer.signature == BASE64.encode(&signature)),
        ] {
            if !matches {
                return Err(RemoteSignerError::FieldMismatch { field });
            }
        }
        if (issued_at - now).abs() > MAX_CLOCK_SKEW_SECONDS {
            return Err(RemoteSignerError::ClockSkew { issued_at, now });
        }
        Ok(SignedCertificate {
            hc1: answer.hc1.clone(),
            kid,
            issued_at,
            expires_at,
            signature,
        })
    }
}

impl SignService for RemoteSigner {
    fn sign<'a>(
        &'a self,
        dcc: &'a Dcc,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = Result<SignedCertificate, SignServiceError>> + Send + 'a>>
    {
        Box::pin(async move {
            // A signer that is down is not asked again until the breaker lets a call through.
            let Some(permit) = self.breaker.permit() else {
                return Err(unavailable(RemoteSignerError::CircuitOpen));
            };
            let outcome = self.sign_remote(dcc, now).await;
            match &outcome {
                Err(SignServiceError::Unavailable(_)) => permit.failed(),
                _ => permit.succeeded(),
            }
            outcome
        })
    }

    fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), SignServiceError>> + Send + '_>> {
        Box::pin(async {
            let response = self
                .client
                .get(self.health_url.clone())
                .send()
                .await
                .map_err(|error| unavailable(RemoteSignerError::Transport(error)))?;
            match response.status() {
                status if status.is_success() => Ok(()),
                status => Err(unavailable(RemoteSignerError::UnexpectedStatus {
                    status: status.as_u16(),
                    code: None,
                })),
            }
        })
    }
}

/// The error body of the certificate server's API.
#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

fn unavailable(error: RemoteSignerError) -> SignServiceError {
    SignServiceError::Unavailable(Box::new(error))
}

/// The code of the first failed verification step.
fn failed_check(verification: &Verification<'_>) -> &'static str {
    if verification.signature != SignatureCheck::Valid {
        verification.signature.code()
    } else if verification.validity != ValidityCheck::Valid {
        verification.validity.code()
    } else if verification.key_usage != KeyUsageCheck::Allowed {
        verification.key_usage.code()
    } else if !verification.schema.is_empty() {
        "schema_violation"
    } else {
        "value_set"
    }
}
