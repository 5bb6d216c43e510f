//! `GET /health/ready`: whether this portal can issue now, hop by hop, with each hop's latency,
//! so that an operator sees where a request would get stuck (issue #8 "where is it stuck?").
//!
//! Hops: `database` (one round trip) and `signer` (in the process: its keys are loaded;
//! separate: its `/health/live` over mutual TLS). 200 when every hop answers, 503 otherwise;
//! the body is the same either way: `{"ready": bool, "hops": {name: {"ok", "latency_ms",
//! "code"?}}}`.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::portal::PortalState;

/// How long a hop may take before it counts as down.
pub const HOP_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health/ready`.
pub async fn ready_get(State(state): State<PortalState>) -> Response {
    let database = hop("store_unavailable", state.store.ping()).await;
    let signer = hop("signer_unavailable", state.signer.ready()).await;
    let ready = database.0 && signer.0;
    let mut hops = Map::new();
    hops.insert("database".to_owned(), database.1);
    hops.insert("signer".to_owned(), signer.1);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({"ready": ready, "hops": hops}))).into_response()
}

/// Runs one hop with [`HOP_TIMEOUT`]; `(ok, report)`.
async fn hop<E>(code: &str, check: impl Future<Output = Result<(), E>>) -> (bool, Value) {
    #[expect(
        clippy::disallowed_methods,
        reason = "latency measurement for the readiness report, not a decision input"
    )]
    let start = Instant::now();
    let outcome = tokio::time::timeout(HOP_TIMEOUT, check).await;
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    let latency_ms = (latency_ms * 100.0).round() / 100.0;
    match outcome {
        Ok(Ok(())) => (true, json!({"ok": true, "latency_ms": latency_ms})),
        _ => (
            false,
            json!({"ok": false, "latency_ms": latency_ms, "code": code}),
        ),
    }
}
