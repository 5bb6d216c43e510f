//! Prometheus metrics of the portal, served at `GET /metrics` in the text exposition format:
//! requests by route and status, issuance latency, certificates by type, signer latency, the
//! group-commit writer's queue, batches and transaction time (the database latency on the
//! issuing path), the circuit breakers, refused TLS handshakes by reason, and anomaly detection
//! (alerts raised and actions taken by this process, open alerts in the database by rule).
//! Counters only go up; the values carry identifiers and codes, never personal data.

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

/// Upper bounds of the signer latency histogram, seconds: an in-process signature takes tens
/// of microseconds, a certificate server over the network a millisecond or more.
pub const SIGNER_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Upper bounds of the group-commit transaction histogram, seconds.
pub const TRANSACTION_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 2.5, 10.0,
];

/// The portal's counters.
#[derive(Debug)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    certificates: Mutex<BTreeMap<&'static str, u64>>,
    handshake_failures: Mutex<BTreeMap<&'static str, u64>>,
    issuance: Histogram,
    signer: Histogram,
    transactions: Histogram,
}

/// What the metrics read from other parts at scrape time.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    /// Writes waiting for the group-commit writer.
    pub queue_depth: usize,
    /// Transactions the writer committed.
    pub batches: u64,
    /// Writes in them.
    pub jobs: u64,
    /// Each circuit breaker's dependency and whether it is open.
    pub circuits: Vec<(&'static str, bool)>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty set of counters.
    pub fn new() -> Self {
        Self {
            requests: Mutex::default(),
            certificates: Mutex::default(),
            handshake_failures: Mutex::default(),
            issuance: Histogram::new(&LATENCY_BUCKETS),
            signer: Histogram::new(&SIGNER_BUCKETS),
            transactions: Histogram::new(&TRANSACTION_BUCKETS),
        }
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
        self.issuance.observe(latency);
    }

    /// Records how long one call to the certificate server took (answered or not).
    pub fn signed(&self, latency: Duration) {
        self.signer.observe(latency);
    }

    /// Records how long one group-commit transaction took (committed or not).
    pub fn transaction(&self, latency: Duration) {
        self.transactions.observe(latency);
    }

    /// Counts a refused TLS handshake or connection identity by its stable code.
    pub fn handshake_failure(&self, reason: &'static str) {
        *lock(&self.handshake_failures).entry(reason).or_default() += 1;
    }

    /// The text exposition, with the figures read at scrape time added.
    pub fn render(&self, gauges: &Gauges) -> String {
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
        self.issuance.render(
            &mut out,
            "dcc_issuance_seconds",
            "Time from request to committed certificate.",
        );
        self.signer.render(
            &mut out,
            "dcc_signer_seconds",
            "Time of one call to the certificate server (in the process or over the network).",
        );
        self.transactions.render(
            &mut out,
            "dcc_store_transaction_seconds",
            "Time of one group-commit transaction, connection included (database latency).",
        );
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
        let _ = writeln!(out, "dcc_writer_queue_depth {}", gauges.queue_depth);
        out.push_str("# HELP dcc_writer_batches_total Transactions committed by the writer.\n");
        out.push_str("# TYPE dcc_writer_batches_total counter\n");
        let _ = writeln!(out, "dcc_writer_batches_total {}", gauges.batches);
        out.push_str("# HELP dcc_writer_jobs_total Writes committed by the writer.\n");
        out.push_str("# TYPE dcc_writer_jobs_total counter\n");
        let _ = writeln!(out, "dcc_writer_jobs_total {}", gauges.jobs);
        out.push_str(
            "# HELP dcc_circuit_open Whether calls to a dependency fail at once (1) or go out (0).\n",
        );
        out.push_str("# TYPE dcc_circuit_open gauge\n");
        for (dependency, open) in &gauges.circuits {
            let _ = writeln!(
                out,
                "dcc_circuit_open{{dependency=\"{dependency}\"}} {}",
                u8::from(*open)
            );
        }
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

/// A Prometheus histogram with fixed bucket bounds (seconds).
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(self.bounds) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bucket, bound) in self.buckets.iter().zip(self.bounds) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
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
    let mut body = state.metrics.render(&Gauges {
        queue_depth: state.recorder.queue_depth(),
        batches: stats.batches,
        jobs: stats.jobs,
        circuits: vec![(
            state.store_breaker.dependency(),
            state.store_breaker.is_open(),
        )],
    });
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
        metrics.signed(Duration::from_micros(300));
        metrics.transaction(Duration::from_millis(3));
        metrics.handshake_failure("unknown_ca");
        let text = metrics.render(&Gauges {
            queue_depth: 3,
            batches: 5,
            jobs: 9,
            circuits: vec![("store", true)],
        });
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
            "dcc_signer_seconds_bucket{le=\"0.00025\"} 0",
            "dcc_signer_seconds_bucket{le=\"0.0005\"} 1",
            "dcc_signer_seconds_sum 0.0003",
            "dcc_store_transaction_seconds_bucket{le=\"0.0025\"} 0",
            "dcc_store_transaction_seconds_bucket{le=\"0.005\"} 1",
            "dcc_store_transaction_seconds_count 1",
            "dcc_circuit_open{dependency=\"store\"} 1",
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
