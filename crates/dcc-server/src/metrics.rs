//! Prometheus metrics of the portal, served at `GET /metrics` in the text exposition format:
//! requests by route and status, issuance latency, certificates by type, the group-commit
//! writer's queue and batches, refused TLS handshakes by reason, and anomaly detection (alerts
//! raised and actions taken by this process, open alerts in the database by rule). Counters
//! only go up; the values carry identifiers and codes, never personal data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dcc_anomaly::finding::Rule;
use dcc_issuance::anomaly::AnomalyStats;

use crate::portal::PortalState;

/// Upper bounds of the issuance latency histogram, seconds.
pub const LATENCY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// The portal's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    certificates: Mutex<BTreeMap<&'static str, u64>>,
    handshake_failures: Mutex<BTreeMap<&'static str, u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    /// An empty set of counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a request answered with `status` on `route` (the matched route pattern).
    pub fn request(&self, route: &str, status: u16) {
        *lock(&self.requests)
            .entry((route.to_owned(), status))
            .or_default() += 1;
    }

    /// Counts an issued certificate of type `kind` (`v`, `t`, `r`) and its latency.
    pub fn issued(&self, kind: &'static str, latency: Duration) {
        *lock(&self.certificates).entry(kind).or_default() += 1;
        let seconds = latency.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts a refused TLS handshake or connection identity by its stable code.
    pub fn handshake_failure(&self, reason: &'static str) {
        *lock(&self.handshake_failures).entry(reason).or_default() += 1;
    }

    /// The text exposition, with the writer's figures added.
    pub fn render(&self, queue_depth: usize, batches: u64, jobs: u64) -> String {
        let mut out = String::new();
        out.push_str("# HELP dcc_requests_total Requests answered, by route and status.\n");
        out.push_str("# TYPE dcc_requests_total counter\n");
        for ((route, status), count) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "dcc_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str("# HELP dcc_certificates_issued_total Certificates issued, by type.\n");
        out.push_str("# TYPE dcc_certificates_issued_total counter\n");
        for (kind, count) in lock(&self.certificates).iter() {
            let _ = writeln!(
                out,
                "dcc_certificates_issued_total{{type=\"{kind}\"}} {count}"
            );
        }
        out.push_str("# HELP dcc_issuance_seconds Time from request to committed certificate.\n");
        out.push_str("# TYPE dcc_issuance_seconds histogram\n");
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "dcc_issuance_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "dcc_issuance_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "dcc_issuance_seconds_sum {sum}");
        let _ = writeln!(out, "dcc_issuance_seconds_count {count}");
        out.push_str("# HELP dcc_tls_handshake_failures_total Refused connections, by reason.\n");
        out.push_str("# TYPE dcc_tls_handshake_failures_total counter\n");
        for (reason, count) in lock(&self.handshake_failures).iter() {
            let _ = writeln!(
                out,
                "dcc_tls_handshake_failures_total{{reason=\"{reason}\"}} {count}"
            );
        }
        out.push_str("# HELP dcc_writer_queue_depth Writes waiting for the group-commit writer.\n");
        out.push_str("# TYPE dcc_writer_queue_depth gauge\n");
        let _ = writeln!(out, "dcc_writer_queue_depth {queue_depth}");
        out.push_str("# HELP dcc_writer_batches_total Transactions committed by the writer.\n");
        out.push_str("# TYPE dcc_writer_batches_total counter\n");
        let _ = writeln!(out, "dcc_writer_batches_total {batches}");
        out.push_str("# HELP dcc_writer_jobs_total Writes committed by the writer.\n");
        out.push_str("# TYPE dcc_writer_jobs_total counter\n");
        let _ = writeln!(out, "dcc_writer_jobs_total {jobs}");
        out
    }
}

/// The anomaly section: alerts raised and actions taken by this process, failed evaluations,
/// and the open alerts per rule in the database (`None` when they could not be read).
pub fn render_anomaly(stats: &AnomalyStats, open: Option<&[(String, u64)]>) -> String {
    let mut out = String::new();
    out.push_str(
        "# HELP dcc_anomaly_alerts_total Anomaly alerts raised by this process, by rule.\n",
    );
    out.push_str("# TYPE dcc_anomaly_alerts_total counter\n");
    for (rule, count) in &stats.raised {
        let _ = writeln!(out, "dcc_anomaly_alerts_total{{rule=\"{rule}\"}} {count}");
    }
    out.push_str("# HELP dcc_anomaly_actions_total Automatic actions of new alerts, by action.\n");
    out.push_str("# TYPE dcc_anomaly_actions_total counter\n");
    for (action, count) in &stats.actions {
        let _ = writeln!(
            out,
            "dcc_anomaly_actions_total{{action=\"{action}\"}} {count}"
        );
    }
    out.push_str(
        "# HELP dcc_anomaly_evaluation_failures_total Batches anomaly detection could not evaluate.\n",
    );
    out.push_str("# TYPE dcc_anomaly_evaluation_failures_total counter\n");
    let _ = writeln!(
        out,
        "dcc_anomaly_evaluation_failures_total {}",
        stats.failures
    );
    if let Some(open) = open {
        out.push_str(
            "# HELP dcc_anomaly_open_alerts Unacknowledged alerts in the database, by rule.\n",
        );
        out.push_str("# TYPE dcc_anomaly_open_alerts gauge\n");
        for rule in Rule::ALL {
            let count = open
                .iter()
                .find(|(code, _)| code == rule.code())
                .map_or(0, |(_, count)| *count);
            let _ = writeln!(
                out,
                "dcc_anomaly_open_alerts{{rule=\"{}\"}} {count}",
                rule.code()
            );
        }
    }
    out
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Middleware: counts every answered request by its route pattern and status.
pub async fn count_requests(
    State(state): State<PortalState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.request(&route, response.status().as_u16());
    response
}

/// `GET /metrics`.
pub async fn metrics_get(State(state): State<PortalState>) -> Response {
    let stats = state.recorder.stats();
    let mut body = state
        .metrics
        .render(state.recorder.queue_depth(), stats.batches, stats.jobs);
    if let Some(anomaly) = state.recorder.anomaly() {
        let open = match dcc_issuance::alerts::open_by_rule(&state.store).await {
            Ok(open) => Some(open),
            Err(error) => {
                tracing::warn!(%error, "could not count the open alerts");
                None
            }
        };
        body.push_str(&render_anomaly(&anomaly.stats(), open.as_deref()));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_what_happened() {
        let metrics = Metrics::new();
        metrics.request("/api/certify/v2/issue", 200);
        metrics.request("/api/certify/v2/issue", 200);
        metrics.request("/api/certify/v2/issue", 422);
        metrics.issued("v", Duration::from_millis(20));
        metrics.handshake_failure("unknown_ca");
        let text = metrics.render(3, 5, 9);
        for line in [
            "dcc_requests_total{route=\"/api/certify/v2/issue\",status=\"200\"} 2",
            "dcc_requests_total{route=\"/api/certify/v2/issue\",status=\"422\"} 1",
            "dcc_certificates_issued_total{type=\"v\"} 1",
            "dcc_issuance_seconds_bucket{le=\"0.01\"} 0",
            "dcc_issuance_seconds_bucket{le=\"0.025\"} 1",
            "dcc_issuance_seconds_bucket{le=\"+Inf\"} 1",
            "dcc_issuance_seconds_count 1",
            "dcc_tls_handshake_failures_total{reason=\"unknown_ca\"} 1",
            "dcc_writer_queue_depth 3",
            "dcc_writer_batches_total 5",
            "dcc_writer_jobs_total 9",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn the_anomaly_section_lists_every_rule_and_action() {
        let stats = AnomalyStats {
            raised: vec![("off_hours", 2), ("burst", 0)],
            actions: vec![("warn", 2), ("lock_pharmacy", 0)],
            failures: 1,
        };
        let open = [("off_hours".to_owned(), 1)];
        let text = render_anomaly(&stats, Some(&open));
        for line in [
            "dcc_anomaly_alerts_total{rule=\"off_hours\"} 2",
            "dcc_anomaly_actions_total{action=\"warn\"} 2",
            "dcc_anomaly_evaluation_failures_total 1",
            "dcc_anomaly_open_alerts{rule=\"off_hours\"} 1",
            "dcc_anomaly_open_alerts{rule=\"dose_sequence\"} 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(!render_anomaly(&stats, None).contains("dcc_anomaly_open_alerts"));
    }
}
