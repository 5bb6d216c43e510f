//! The pharmacy portal's API: `POST /api/certify/v2/issue`, shaped like the German issuer API
//! (german-context.md §3.3), the billing statements ([`crate::billing_api`]), the published
//! trust lists (`GET /trust-list`, `GET /trust-list/de`, see [`crate::trust_list`]), plus health.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dcc_billing::holder::HolderKeySecret;
use dcc_issuance::active_pharmacies::ActivePharmacies;
use dcc_issuance::billing::BillingSettings;
use dcc_issuance::issue::{Issuance, IssueError, Issued, SignService};
use dcc_issuance::recorder::Recorder;
use dcc_issuance::sessions::Sessions;
use dcc_issuance::sign_in::SignInPolicy;
use dcc_render::Format;
use dcc_store::Store;
use serde_json::json;

use crate::circuit_breaker::CircuitBreaker;
use crate::error::ApiError;
use crate::identity::PharmacyIdentity;
use crate::operator_session::SignedIn;
use crate::trust_list::TrustListPublisher;
use crate::{billing_api, clock, operator_session};

/// What the portal's handlers share.
#[derive(Clone)]
pub struct PortalState {
    /// The database, for reads.
    pub store: Store,
    /// The group-commit writer (one per process).
    pub recorder: Recorder,
    /// Registry lookups remembered per pharmacy.
    pub pharmacies: Arc<ActivePharmacies>,
    /// The certificate server (in-process or remote).
    pub signer: Arc<dyn SignService>,
    /// `co` and CWT `iss`.
    pub country: String,
    /// The `is` text.
    pub issuer_name: String,
    /// Fee schedule and same-visit window.
    pub billing: Arc<BillingSettings>,
    /// The holder-key secret, when configured.
    pub holder_key_secret: Option<Arc<HolderKeySecret>>,
    /// The published trust lists.
    pub trust_lists: Arc<TrustListPublisher>,
    /// The counters behind `GET /metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Admission control: one permit per issuance request being served.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Where issuing takes "now" from.
    pub clock: crate::clock::Clock,
    /// Operator sessions, checked with a short per-process memory.
    pub sessions: Arc<Sessions>,
    /// Lock-out and session lifetimes.
    pub sign_in: SignInPolicy,
    /// Stops asking a database that keeps failing: issuance then fails at once.
    pub store_breaker: Arc<CircuitBreaker>,
}

/// The portal's routes. Served behind [`crate::tls::serve`], which adds the connection
/// identity every handler extracts.
pub fn app(state: PortalState) -> Router {
    Router::new()
        .route("/api/certify/v2/issue", post(certificates_issue))
        .route("/api/auth/login", post(operator_session::sessions_create))
        .route(
            "/api/auth/enrol",
            post(operator_session::enrolments_confirm),
        )
        .route("/api/auth/logout", post(operator_session::sessions_delete))
        .route("/api/certify/v2/dry-run", post(certificates_dry_run))
        .route("/api/pharmacy/registration", get(registration_get))
        .route("/api/billing/statements", get(billing_api::statements_list))
        .route(
            "/api/billing/statements/{month}",
            get(billing_api::statements_get),
        )
        .route("/trust-list", get(trust_list_get))
        .route("/trust-list/de", get(trust_list_de_get))
        .route(
            "/revocation-list",
            get(crate::revocation_api::revocation_list_get),
        )
        .route("/health/live", get(|| async { "ok" }))
        .route("/health/ready", get(crate::health::ready_get))
        .route("/metrics", get(crate::metrics::metrics_get))
        .route("/openapi.json", get(openapi_get))
        .merge(crate::ui::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::count_requests,
        ))
        .layer(axum::middleware::from_fn(crate::request_id::assign))
        .with_state(state)
}

/// `POST /api/certify/v2/issue`.
async fn certificates_issue(
    State(state): State<PortalState>,
    pharmacy: PharmacyIdentity,
    signed_in: Result<SignedIn, ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Overload is answered at once rather than queued, so clients can back off.
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        return Err(ApiError::Overloaded);
    };
    // A database that keeps failing is not asked again for a moment: fail at once.
    let Some(store_permit) = state.store_breaker.permit() else {
        return Err(ApiError::StoreUnavailable {
            retry_after: state.store_breaker.open_for(),
        });
    };
    let format = ResponseFormat::from_accept(headers.get(header::ACCEPT))?;
    let signed_in = match signed_in {
        Ok(signed_in) => signed_in,
        Err(error) => {
            // Which pharmacy comes before who: an unregistered or suspended pharmacy hears
            // that (and it is audited), not "sign in first".
            state
                .issuance()
                .check_pharmacy(&pharmacy.telematik_id, clock::now())
                .await?;
            return Err(error);
        }
    };
    let idempotency_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let started = clock::instant();
    let outcome = state
        .issuance()
        .issue(
            &pharmacy.telematik_id,
            Some(signed_in.operator.id),
            &body,
            idempotency_key,
            state.clock.now(),
            clock::random().map_err(|_| ApiError::RandomUnavailable)?,
        )
        .await;
    // Only a certificate recorded or read back proves the database answered; a refused
    // request may not have reached it, so it says nothing either way.
    match &outcome {
        Ok(_) => store_permit.succeeded(),
        Err(IssueError::Store(error)) if error.is_unavailable() => store_permit.failed(),
        Err(_) => drop(store_permit),
    }
    let issued = outcome?;
    if !issued.replayed {
        state
            .metrics
            .issued(issued.certificate_type.key(), started.elapsed());
    }
    format.respond(issued).await
}

/// `POST /api/certify/v2/dry-run`: the checks of an issuance request (registration, locks,
/// request, payload) without signing or recording anything; for `dcc doctor`.
async fn certificates_dry_run(
    State(state): State<PortalState>,
    pharmacy: PharmacyIdentity,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        return Err(ApiError::Overloaded);
    };
    if state.store_breaker.is_open() {
        return Err(ApiError::StoreUnavailable {
            retry_after: state.store_breaker.open_for(),
        });
    }
    let random = clock::random().map_err(|_| ApiError::RandomUnavailable)?;
    let certificate_type = state
        .issuance()
        .dry_run(&pharmacy.telematik_id, &body, clock::now(), random)
        .await?;
    let answer = json!({"dry_run": true, "certificate_type": certificate_type.key()});
    Ok(Json(answer).into_response())
}

/// `GET /api/pharmacy/registration`: whether the connecting pharmacy may issue, read from
/// the registry now; 403 with the code an issuance request would get otherwise.
async fn registration_get(
    State(state): State<PortalState>,
    pharmacy: PharmacyIdentity,
) -> Result<Response, ApiError> {
    state
        .issuance()
        .registration(&pharmacy.telematik_id)
        .await?;
    let answer = json!({"telematik_id": pharmacy.telematik_id, "status": "active"});
    Ok(Json(answer).into_response())
}

impl PortalState {
    /// The issuing use case over this portal's parts.
    pub fn issuance(&self) -> Issuance<'_> {
        Issuance {
            store: &self.store,
            recorder: &self.recorder,
            pharmacies: &self.pharmacies,
            signer: self.signer.as_ref(),
            country: &self.country,
            issuer_name: &self.issuer_name,
            holder_key_secret: self.holder_key_secret.as_deref(),
        }
    }
}

/// `GET /trust-list`: the published DSCs in the EU gateway JSON shape.
async fn trust_list_get(State(state): State<PortalState>) -> Result<Response, ApiError> {
    let body = state
        .trust_lists
        .eu_gateway_json(clock::now().unix_timestamp())
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /trust-list/de`: the published DSCs as the German two-line signed DSC list.
async fn trust_list_de_get(State(state): State<PortalState>) -> Result<Response, ApiError> {
    let body = state
        .trust_lists
        .german_dsc_list(clock::now().unix_timestamp())
        .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

/// `GET /openapi.json`: the API description kept in the repository (`openapi.json`).
async fn openapi_get() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

const OPENAPI: &str = include_str!("../openapi.json");

/// The answer formats: those of the German API, and the rendered code or certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseFormat {
    /// `application/json`: HC1, UVCI, expiry and type.
    Json,
    /// `application/cbor+base45`: the HC1 text alone.
    Base45,
    /// `image/png`, `image/svg+xml` or `application/pdf`, rendered by `dcc-render`.
    Rendered(Format),
}

impl ResponseFormat {
    fn from_accept(accept: Option<&HeaderValue>) -> Result<Self, ApiError> {
        let Some(accept) = accept.and_then(|value| value.to_str().ok()) else {
            return Ok(Self::Json);
        };
        for media_type in accept
            .split(',')
            .map(|part| part.split(';').next().unwrap_or("").trim())
        {
            match media_type {
                "application/json" | "application/*" | "*/*" => return Ok(Self::Json),
                "application/cbor+base45" => return Ok(Self::Base45),
                other => {
                    if let Some(format) = Format::from_media_type(other) {
                        return Ok(Self::Rendered(format));
                    }
                }
            }
        }
        Err(ApiError::NotAcceptable)
    }

    /// The answer for an issued certificate. Rendering is CPU work of about a millisecond for
    /// the PDF, so it runs on the blocking pool rather than on the async workers.
    async fn respond(self, issued: Issued) -> Result<Response, ApiError> {
        let mut response = match self {
            Self::Json => Json(json!({
                "hc1": issued.hc1,
                "uvci": issued.uvci,
                "certificate_type": issued.certificate_type.key(),
                "expires_at": dcc_core::verify::format_time(issued.expires_at),
            }))
            .into_response(),
            Self::Base45 => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/cbor+base45")],
                issued.hc1.clone(),
            )
                .into_response(),
            Self::Rendered(format) => {
                let hc1 = issued.hc1.clone();
                let bytes = tokio::task::spawn_blocking(move || dcc_render::render(&hc1, format))
                    .await
                    .map_err(|_| ApiError::Render)?
                    .map_err(|error| {
                        tracing::error!(uvci = %issued.uvci, code = error.code(), "render failed");
                        ApiError::Render
                    })?;
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, format.media_type())],
                    bytes,
                )
                    .into_response()
            }
        };
        if let Ok(uvci) = HeaderValue::from_str(&issued.uvci) {
            response.headers_mut().insert("x-dgc-id", uvci);
        }
        if issued.replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        Ok(response)
    }
}
