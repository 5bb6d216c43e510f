//! `GET /health/ready`: whether this portal can issue now, hop by hop, with each hop's latency,
//! so that an operator sees where a request would get stuck (issue #8 "where is it stuck?").
//!
//! Hops: `database` (one round trip) and `signer` (in the process: its keys are loaded;
//! separate: its `/health/ready` over mutual TLS), and `hsm` when a key of this process is in
//! a PKCS#11 token (one session-state query on an idle pooled session, see
//! `Pkcs11Signer::ping`). 200 when every hop answers, 503 otherwise; the body is the same
//! either way: `{"ready": bool, "hops": {name: {"ok", "latency_ms", "code"?}}}`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dcc_issuance::issue::SignService;
use dcc_issuance::signing::CertificateServer;
use serde_json::{Map, Value, json};

use crate::portal::PortalState;

/// How long a hop may take before it counts as down.
pub const HOP_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health/ready`.
pub async fn ready_get(State(state): State<PortalState>) -> Response {
    let mut hops = Map::new();
    let database = hop("store_unavailable", state.store.ping()).await;
    let signer = hop("signer_unavailable", state.signer.ready()).await;
    let mut ready = database.0 && signer.0;
    hops.insert("database".to_owned(), database.1);
    hops.insert("signer".to_owned(), signer.1);
    if let Some(hsm) = hsm_hop(state.signer.as_ref()).await {
        ready &= hsm.0;
        hops.insert("hsm".to_owned(), hsm.1);
    }
    answer(ready, hops)
}

/// 200 or 503 with the hop reports.
fn answer(ready: bool, hops: Map<String, Value>) -> Response {
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({"ready": ready, "hops": hops}))).into_response()
}

/// `GET /health/ready` of the certificate server in a process of its own: its `hsm` hop when
/// its keys are in a token (the portal's `signer` hop asks this).
pub async fn signer_ready_get(State(server): State<Arc<CertificateServer>>) -> Response {
    let mut hops = Map::new();
    let mut ready = true;
    if let Some(hsm) = hsm_hop(server.as_ref()).await {
        ready = hsm.0;
        hops.insert("hsm".to_owned(), hsm.1);
    }
    answer(ready, hops)
}

/// The `hsm` hop, when the signer's keys are in a token. The probe is one synchronous
/// PKCS#11 call of microseconds on a local token, so it runs in place.
pub async fn hsm_hop(signer: &dyn SignService) -> Option<(bool, Value)> {
    let started = crate::clock::instant();
    let outcome = signer.probe_hsm()?;
    if let Err(error) = &outcome {
        tracing::warn!(%error, "the HSM does not answer");
    }
    Some(hop_report(started, "hsm_unavailable", outcome.is_ok()))
}

/// Runs one hop with [`HOP_TIMEOUT`]; `(ok, report)`.
async fn hop<E>(code: &str, check: impl Future<Output = Result<(), E>>) -> (bool, Value) {
    let start = crate::clock::instant();
    let outcome = tokio::time::timeout(HOP_TIMEOUT, check).await;
    hop_report(start, code, matches!(outcome, Ok(Ok(()))))
}

/// `(ok, {"ok", "latency_ms", "code"?})` for a hop that started at `start`.
fn hop_report(start: std::time::Instant, code: &str, ok: bool) -> (bool, Value) {
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    // Microseconds: an HSM round trip on a local token takes a few.
    let latency_ms = (latency_ms * 1000.0).round() / 1000.0;
    if ok {
        (true, json!({"ok": true, "latency_ms": latency_ms}))
    } else {
        (
            false,
            json!({"ok": false, "latency_ms": latency_ms, "code": code}),
        )
    }
}
