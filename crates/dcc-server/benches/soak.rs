//! Soak benchmark of the issuing service: first the maximum rate (C closed-loop keep-alive
//! mutual-TLS clients, as in `issue_load`), then a long run at half that rate, paced, with the
//! process's resident memory sampled every 10 s. It reports errors, latency, and RSS at the
//! start and end of the soak (issue #8: no errors, no memory growth beyond 10 %), then checks
//! that every 200 left one ledger row and that the audit chain is intact.
//!
//! Run with `cargo bench -p dcc-server --bench soak -- --soak 600`. The portal, the in-process
//! certificate server and the load generator share this process, so the RSS is theirs
//! together (the database server of the PostgreSQL run is not counted).
//!
//! | env                  | argument        | default |
//! |----------------------|-----------------|---------|
//! | `DCC_SOAK_SECONDS`   | `--soak N`      | 120     |
//! | `DCC_SOAK_PROBE`     | `--probe N`     | 10 (seconds at full rate) |
//! | `DCC_SOAK_RATE`      | `--rate N`      | half the probed rate |
//! | `DCC_SOAK_CLIENTS`   | `--clients N`   | 32      |
//! | `DCC_SOAK_BACKEND`   | `sqlite` / `postgres` | sqlite |
//!
//! Exit status: 0 when every request answered 200, RSS grew by at most 10 % and the durability
//! checks hold; 1 otherwise.

// A benchmark is a harness: failing loudly on a broken fixture is what it should do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dcc_pki::dev_pki::DevPki;
use dcc_pki::institution_request::InstitutionRequest;
use dcc_pki::layout::Overwrite;
use dcc_pki::telematik_id::TelematikId;
use dcc_server::config::Config;
use dcc_server::server::{certificate_server, connect_store, start_portal};
use time::OffsetDateTime;

#[path = "common/allocator.rs"]
mod allocator;
#[path = "common/latency.rs"]
mod latency;
#[path = "common/load_config.rs"]
mod load_config;
#[path = "common/memory.rs"]
mod memory;
#[path = "common/operator.rs"]
mod operator;
#[path = "common/pharmacy.rs"]
mod pharmacy;
use latency::Histogram;
use memory::{rss_kib, rss_parts};

const BODY: &str = r#"{"nam":{"fn":"Müller","gn":"Jürgen"},"dob":"1964-08-12","v":[{"tg":"840539006","vp":"1119349007","mp":"EU/1/20/1528","ma":"ORG-100030215","dn":2,"sd":2,"dt":"2021-05-29"}]}"#;
/// RSS growth beyond which the soak fails.
const MAX_GROWTH: f64 = 0.10;
/// How often RSS and progress are printed during the soak.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// The issue's latency goal at half load; answers slower than this are counted per interval.
const SLOW: Duration = Duration::from_millis(50);

struct Settings {
    soak: u64,
    probe: u64,
    rate: Option<f64>,
    clients: usize,
    postgres: bool,
}

impl Settings {
    fn read() -> Self {
        let env = |name: &str| std::env::var(name).ok();
        let (mut soak, mut probe, mut rate, mut clients) = (
            env("DCC_SOAK_SECONDS"),
            env("DCC_SOAK_PROBE"),
            env("DCC_SOAK_RATE"),
            env("DCC_SOAK_CLIENTS"),
        );
        let mut postgres = env("DCC_SOAK_BACKEND").is_some_and(|b| b.starts_with("postgres"));
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--soak" => soak = args.next(),
                "--probe" => probe = args.next(),
                "--rate" => rate = args.next(),
                "--clients" => clients = args.next(),
                "postgres" => postgres = true,
                "sqlite" => postgres = false,
                // `cargo bench` passes `--bench`.
                _ => {}
            }
        }
        let number = |value: Option<String>, default: u64| {
            value.and_then(|v| v.parse().ok()).unwrap_or(default)
        };
        Self {
            soak: number(soak, 120).max(10),
            probe: number(probe, 10).max(1),
            rate: rate.and_then(|v| v.parse().ok()),
            clients: usize::try_from(number(clients, 32)).unwrap().max(1),
            postgres,
        }
    }
}

#[expect(clippy::disallowed_methods, reason = "a benchmark measures time")]
fn instant_now() -> Instant {
    Instant::now()
}

#[expect(
    clippy::disallowed_methods,
    reason = "the bench PKI and certificates are valid from now"
)]
fn wall_now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn main() -> ExitCode {
    let settings = Settings::read();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if runtime.block_on(run(&settings)) {
        ExitCode::SUCCESS
    } else {
        println!("FAILED: see above");
        ExitCode::FAILURE
    }
}

async fn run(settings: &Settings) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let mut config = load_config::load_config(dir.path());
    let admin = std::env::var("DCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let database = format!("dcc_soak_{}", uuid::Uuid::new_v4().simple());
    if settings.postgres {
        config.database_url = dcc_store::provision::create_postgres_database(&admin, &database)
            .await
            .unwrap();
    }
    let ok = soak(settings, &config, dir.path()).await;
    if settings.postgres {
        dcc_store::provision::drop_postgres_database(&admin, &database)
            .await
            .unwrap();
    }
    ok
}

async fn soak(settings: &Settings, config: &Config, dir: &std::path::Path) -> bool {
    let now = wall_now();
    let mut pki = DevPki::generate(now).unwrap();
    let ids: Vec<String> = (0..settings.clients)
        .map(|i| format!("3-SMC-B-Testkarte-8831100002{i:05}"))
        .collect();
    for id in &ids {
        let telematik_id = TelematikId::parse(id).unwrap();
        let request = InstitutionRequest::pharmacy("Dauer-Apotheke", telematik_id.clone());
        let issued = pki.issue_institution(&request, now).unwrap();
        pki.insert_institution(telematik_id, issued);
    }
    pki.write_to(&dir.join("pki"), Overwrite::Refuse).unwrap();
    let store = connect_store(config).await.unwrap();
    for (i, id) in ids.iter().enumerate() {
        pharmacy::register(
            &store,
            id,
            &format!("SOAK{i}"),
            "Dauer-Apotheke",
            wall_now().unix_timestamp(),
        )
        .await;
    }
    let signer = Arc::new(certificate_server(config).unwrap());
    let portal = start_portal(
        config,
        store.clone(),
        signer,
        Some(([127, 0, 0, 1], 0).into()),
    )
    .await
    .unwrap();
    let base = format!("https://localhost:{}", portal.local_addr.port());
    let url = format!("{base}/api/certify/v2/issue");
    let service_ca = std::fs::read(dir.join("pki/service/ca.pem")).unwrap();
    let connections: Vec<reqwest::Client> = ids
        .iter()
        .map(|id| {
            let issued = pki
                .institutions()
                .iter()
                .find(|(telematik_id, _)| telematik_id.as_str() == id)
                .map(|(_, issued)| issued)
                .unwrap();
            let identity = format!(
                "{}{}{}",
                issued.certificate_pem(),
                pki.smcb_ca().certificate().to_pem(),
                issued.private_key_pem()
            );
            reqwest::Client::builder()
                .tls_certs_only([reqwest::Certificate::from_pem(&service_ca).unwrap()])
                .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
                .build()
                .unwrap()
        })
        .collect();
    // Every certificate is issued by a signed-in operator: one per client.
    let mut clients: Vec<(reqwest::Client, String)> = Vec::with_capacity(connections.len());
    for (index, (client, id)) in connections.into_iter().zip(&ids).enumerate() {
        let now = wall_now().unix_timestamp();
        let token = operator::sign_in_operator(&store, &client, &base, id, index, now).await;
        clients.push((client, format!("Bearer {token}")));
    }
    let backend = if settings.postgres {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "soak: {backend}, {} clients (one keep-alive mTLS connection each), portal + certificate \
         server + load generator in this process",
        settings.clients
    );

    // The maximum rate, closed loop, after a 2 s warm-up.
    let probed = phase(&clients, &url, None, Duration::from_secs(2), settings.probe).await;
    let max_rate = probed.ok as f64 / settings.probe as f64;
    let rate = settings.rate.unwrap_or(max_rate / 2.0);
    println!(
        "probe: {max_rate:.0} certificates/s closed loop over {} s ({} non-200)",
        settings.probe, probed.errors
    );

    // The soak, paced at `rate`.
    let rss_start = rss_kib();
    println!(
        "soak: {rate:.0}/s for {} s; RSS at start {} MiB",
        settings.soak,
        rss_start / 1024
    );
    let soaked = phase(&clients, &url, Some(rate), Duration::ZERO, settings.soak).await;
    let rss_end = rss_kib();
    portal.stop().await;

    let latencies = &soaked.latencies;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let growth = (rss_end as f64 - rss_start as f64) / rss_start.max(1) as f64;
    println!(
        "soak result: {} answered 200 ({:.0}/s), {} non-200 or failed{}",
        soaked.ok,
        soaked.ok as f64 / settings.soak as f64,
        soaked.errors,
        soaked
            .sample_error
            .as_deref()
            .map(|e| format!(" (e.g. {e})"))
            .unwrap_or_default()
    );
    println!(
        "  latency ms: p50 {:.2}  p99 {:.2}  max {:.2}",
        ms(latencies.percentile(0.50)),
        ms(latencies.percentile(0.99)),
        ms(latencies.max())
    );
    println!(
        "  RSS: start {} MiB, end {} MiB, highest sample {} MiB, peak of the process {} MiB; \
         growth {:+.1} % (limit {:.0} %)",
        rss_start / 1024,
        rss_end / 1024,
        soaked.rss_max / 1024,
        memory::peak_rss_kib() / 1024,
        growth * 100.0,
        MAX_GROWTH * 100.0
    );

    let total_ok = probed.ok_total + soaked.ok_total;
    let ledger: u64 = {
        let mut sum = 0;
        for id in &ids {
            sum += dcc_store::ledger::count_by_pharmacy(store.pool(), id, 0, i64::MAX)
                .await
                .unwrap();
        }
        sum
    };
    let chain = dcc_store::audit::verify_chain(&store).await.unwrap();
    store.close().await;
    let durable = ledger == total_ok && chain.first_broken.is_none();
    println!(
        "durability: {ledger} ledger rows for {total_ok} answers, audit chain of {} entries {}: {}",
        chain.entries,
        if chain.first_broken.is_none() {
            "intact"
        } else {
            "BROKEN"
        },
        if durable { "ok" } else { "FAILED" }
    );
    soaked.errors == 0 && growth <= MAX_GROWTH && durable
}

#[derive(Default)]
struct Phase {
    /// 200 answers after the warm-up.
    ok: u64,
    /// 200 answers, warm-up included (each is a ledger row).
    ok_total: u64,
    errors: u64,
    /// Latencies of the 200 answers after the warm-up (fixed size: the bookkeeping must not
    /// grow the process it measures).
    latencies: Histogram,
    sample_error: Option<String>,
    rss_max: u64,
}

/// Runs the clients for `seconds` after `warmup`: closed loop (`rate` `None`) or each client
/// paced to its share of `rate`. Counts what completed after the warm-up.
async fn phase(
    clients: &[(reqwest::Client, String)],
    url: &str,
    rate: Option<f64>,
    warmup: Duration,
    seconds: u64,
) -> Phase {
    let start = instant_now();
    let measure_from = start + warmup;
    let end = measure_from + Duration::from_secs(seconds);
    let period = rate.map(|rate| Duration::from_secs_f64(clients.len() as f64 / rate.max(1.0)));
    let progress = Arc::new(AtomicU64::new(0));
    // Per progress interval: the slowest answer (µs) and how many took longer than the goal.
    let slowest = Arc::new(AtomicU64::new(0));
    let slow = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(index, (client, bearer))| {
            let (client, bearer) = (client.clone(), bearer.clone());
            let (url, progress) = (url.to_owned(), progress.clone());
            let (slowest, slow) = (slowest.clone(), slow.clone());
            // Clients start spread over one period, so the paced load is even.
            let offset = period.map_or(Duration::ZERO, |p| p * index as u32 / clients.len() as u32);
            tokio::spawn(async move {
                let mut mine = Phase::default();
                let mut next = start + offset;
                while instant_now() < end {
                    // Paced: latency counts from when the request was due, so a slow answer
                    // that delays the next ones is not hidden (no coordinated omission).
                    let sent = match period {
                        Some(period) => {
                            tokio::time::sleep_until(next.into()).await;
                            next += period;
                            next - period
                        }
                        None => instant_now(),
                    };
                    let answer = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("authorization", &bearer)
                        .body(BODY)
                        .send()
                        .await;
                    let outcome = match answer {
                        Ok(response) if response.status() == 200 => response
                            .bytes()
                            .await
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                        Ok(response) => Err(format!("HTTP {}", response.status())),
                        Err(error) => Err(error.to_string()),
                    };
                    if outcome.is_ok() {
                        mine.ok_total += 1;
                    }
                    if sent < measure_from {
                        continue;
                    }
                    match outcome {
                        Ok(()) => {
                            mine.ok += 1;
                            let latency = sent.elapsed();
                            mine.latencies.record(latency);
                            let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                            slowest.fetch_max(micros, Ordering::Relaxed);
                            if latency > SLOW {
                                slow.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(error) => {
                            mine.errors += 1;
                            mine.sample_error.get_or_insert(error);
                        }
                    }
                    progress.fetch_add(1, Ordering::Relaxed);
                }
                mine
            })
        })
        .collect();
    let mut rss_max = rss_kib();
    if rate.is_some() {
        let mut ticks = tokio::time::interval_at((start + SAMPLE_EVERY).into(), SAMPLE_EVERY);
        while instant_now() + SAMPLE_EVERY <= end {
            ticks.tick().await;
            let rss = rss_kib();
            rss_max = rss_max.max(rss);
            println!(
                "  t={:>4.0} s  requests {:>8}  slowest {:>7.1} ms, {:>4} over {} ms  RSS {} MiB ({})",
                start.elapsed().as_secs_f64(),
                progress.load(Ordering::Relaxed),
                slowest.swap(0, Ordering::Relaxed) as f64 / 1000.0,
                slow.swap(0, Ordering::Relaxed),
                SLOW.as_millis(),
                rss / 1024,
                rss_parts()
            );
        }
    }
    let mut phase = Phase::default();
    for handle in handles {
        let mine = handle.await.unwrap();
        phase.ok += mine.ok;
        phase.ok_total += mine.ok_total;
        phase.errors += mine.errors;
        phase.latencies.merge(&mine.latencies);
        if phase.sample_error.is_none() {
            phase.sample_error = mine.sample_error;
        }
    }
    phase.rss_max = rss_max.max(rss_kib());
    phase
}
