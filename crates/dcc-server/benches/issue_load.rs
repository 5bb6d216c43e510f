//! Load benchmark of the issuing service: C concurrent keep-alive mutual-TLS clients against the
//! running portal with the in-process certificate server, on SQLite and on PostgreSQL.
//!
//! Run with `cargo bench -p dcc-server --bench issue_load`. For each backend it generates a dev
//! PKI, registers N pharmacies (each with its own institution certificate), starts the portal on
//! 127.0.0.1:0, and lets C clients (one reqwest client, so one keep-alive connection, each)
//! issue vaccination certificates for a fixed time after a warm-up, recording every latency.
//! Afterwards it checks that every `200` left exactly one ledger row and that the audit chain
//! is intact and long enough. Before the load phase it measures, in the same run, the raw
//! ECDSA P-256 sign rate of aws-lc-rs on one thread and the ceilings of the parts a request
//! goes through (signing, the store transaction, the use case without HTTP), and prints the
//! load figures as ratios against them: machines are noisy, ratios travel.
//!
//! Settings (environment or arguments):
//!
//! | env                       | argument          | default          |
//! |---------------------------|-------------------|------------------|
//! | `DCC_LOAD_SECONDS`        | `--seconds N`     | 10               |
//! | `DCC_LOAD_WARMUP_SECONDS` | `--warmup N`      | 2                |
//! | `DCC_LOAD_CLIENTS`        | `--clients N`     | 32               |
//! | `DCC_LOAD_PHARMACIES`     | `--pharmacies N`  | 32               |
//! | `DCC_LOAD_BACKENDS`       | `sqlite` / `postgres` | both         |
//! | `DCC_LOAD_HOLDER_KEYS`    |                   | off (`1`: holder keys in the ledger, read by the holder rules) |
//! | `DCC_LOAD_HTTP1`          |                   | off: HTTP/2 (`1`: the load clients speak HTTP/1.1 keep-alive) |
//! | `DCC_TEST_POSTGRES_URL`   |                   | `postgres://postgres@127.0.0.1:5432/postgres` (admin URL) |
//!
//! Exit status: 0 when every request answered 200 and the durability checks hold; 1 otherwise;
//! 2 when PostgreSQL is not reachable.

// A benchmark is a harness: failing loudly on a broken fixture is what it should do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use dcc_core::model::Dcc;
use dcc_issuance::active_pharmacies::ActivePharmacies;
use dcc_issuance::anomaly::AnomalyDetection;
use dcc_issuance::issue::{Issuance, RESPONSE_RETENTION_SECONDS};
use dcc_issuance::payload::{IssuerContext, build_payload, opaque_from_random};
use dcc_issuance::recorder::{IssuedRecord, RecordError, RecordOutcome, RecordPolicy, Recorder};
use dcc_issuance::request::IssueRequest;
use dcc_issuance::signing::CertificateServer;
use dcc_pki::dev_pki::DevPki;
use dcc_pki::institution_request::InstitutionRequest;
use dcc_pki::layout::Overwrite;
use dcc_pki::telematik_id::TelematikId;
use dcc_server::config::Config;
use dcc_server::server::{certificate_server, start_portal};
use dcc_store::Store;
use dcc_store::ledger::{self, LedgerEntry};
use time::OffsetDateTime;

#[path = "common/allocator.rs"]
mod allocator;
#[path = "common/load_config.rs"]
mod load_config;
#[path = "common/memory.rs"]
mod memory;
#[path = "common/operator.rs"]
mod operator;
#[path = "common/pharmacy.rs"]
mod pharmacy;

const ISSUE_PATH: &str = "/api/certify/v2/issue";
const COUNTRY: &str = "DE";
const ISSUER_NAME: &str = "Robert Koch-Institut";
/// The pharmacy the single-threaded baselines write as; not one of the load pharmacies, so the
/// ledger rows of the load phase can be counted apart.
const BENCH_PHARMACY: &str = "3-SMC-B-Testkarte-883110000099999";
const BENCH_SEGMENT: &str = "BENCH";
/// How long each baseline measurement runs.
const BASELINE: Duration = Duration::from_secs(1);

const BODY: &str = r#"{"nam":{"fn":"Müller","gn":"Jürgen"},"dob":"1964-08-12","v":[{"tg":"840539006","vp":"1119349007","mp":"EU/1/20/1528","ma":"ORG-100030215","dn":2,"sd":2,"dt":"2021-05-29"}]}"#;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Clone)]
struct Settings {
    seconds: u64,
    warmup: u64,
    clients: usize,
    pharmacies: usize,
    backends: Vec<Backend>,
    holder_keys: bool,
    http1: bool,
}

impl Settings {
    fn read() -> Self {
        let env = |name: &str| std::env::var(name).ok();
        let mut seconds = env("DCC_LOAD_SECONDS");
        let mut warmup = env("DCC_LOAD_WARMUP_SECONDS");
        let mut clients = env("DCC_LOAD_CLIENTS");
        let mut pharmacies = env("DCC_LOAD_PHARMACIES");
        let mut backends: Vec<Backend> = env("DCC_LOAD_BACKENDS")
            .map(|list| parse_backends(&list))
            .unwrap_or_default();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => seconds = args.next(),
                "--warmup" => warmup = args.next(),
                "--clients" => clients = args.next(),
                "--pharmacies" => pharmacies = args.next(),
                "sqlite" | "postgres" => backends.extend(parse_backends(&arg)),
                // `cargo bench` passes `--bench`; anything else is ignored as well.
                _ => {}
            }
        }
        let number = |value: Option<String>, default: u64| -> u64 {
            value.and_then(|v| v.parse().ok()).unwrap_or(default)
        };
        if backends.is_empty() {
            backends = vec![Backend::Sqlite, Backend::Postgres];
        }
        backends.dedup();
        Self {
            seconds: number(seconds, 10).max(1),
            warmup: number(warmup, 2),
            clients: usize::try_from(number(clients, 32)).unwrap().max(1),
            pharmacies: usize::try_from(number(pharmacies, 32)).unwrap().max(1),
            backends,
            holder_keys: env("DCC_LOAD_HOLDER_KEYS").is_some_and(|value| value == "1"),
            http1: env("DCC_LOAD_HTTP1").is_some_and(|value| value == "1"),
        }
    }
}

fn parse_backends(list: &str) -> Vec<Backend> {
    list.split(',')
        .filter_map(|name| match name.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" | "pg" => Some(Backend::Postgres),
            _ => None,
        })
        .collect()
}

#[expect(
    clippy::disallowed_methods,
    reason = "a benchmark measures time and issues certificates valid from now"
)]
fn wall_now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[expect(clippy::disallowed_methods, reason = "a benchmark measures time")]
fn instant_now() -> Instant {
    Instant::now()
}

fn admin_url() -> String {
    std::env::var("DCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn main() -> ExitCode {
    let settings = Settings::read();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "issue_load: {} clients (one keep-alive mTLS connection each), {} pharmacies, \
         {} s measured after {} s warm-up, {} cores, portal + certificate server + load \
         generator in one {}-worker tokio runtime",
        settings.clients, settings.pharmacies, settings.seconds, settings.warmup, cores, cores
    );
    let mut failed = false;
    for &backend in &settings.backends {
        match runtime.block_on(run_backend(backend, &settings, cores)) {
            Ok(ok) => failed |= !ok,
            Err(Unreachable(message)) => {
                println!("\n== {}: NOT RUN\n{message}", backend.name());
                return ExitCode::from(2);
            }
        }
    }
    if failed {
        println!("\nFAILED: see the checks above");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

struct Unreachable(String);

/// Runs one backend end to end; `Ok(false)` when a check failed.
async fn run_backend(
    backend: Backend,
    settings: &Settings,
    cores: usize,
) -> Result<bool, Unreachable> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = load_config::load_config(dir.path());
    if settings.holder_keys {
        std::fs::write(dir.path().join("holder.key"), [0x5a; 32]).unwrap();
        config.billing.holder_key_secret = Some("holder.key".into());
    }
    let mut postgres_database = None;
    if backend == Backend::Postgres {
        let name = format!("dcc_load_{}", uuid::Uuid::new_v4().simple());
        let url = dcc_store::provision::create_postgres_database(&admin_url(), &name)
            .await
            .map_err(|error| {
                Unreachable(format!(
                    "PostgreSQL at {} is not reachable or not usable: {error}\n\
                     start it (scripts/test.sh does) or set DCC_TEST_POSTGRES_URL to an admin URL",
                    admin_url()
                ))
            })?;
        config.database_url = url;
        postgres_database = Some(name);
    }
    // In its own task so that a panic still drops the PostgreSQL database below.
    let (settings, base) = (settings.clone(), dir.path().to_owned());
    let ok = tokio::spawn(async move { run_on(backend, &settings, cores, &config, &base).await })
        .await
        .unwrap_or_else(|join_error| {
            println!("the {} run failed: {join_error}", backend.name());
            false
        });
    if let Some(name) = postgres_database
        && let Err(error) = dcc_store::provision::drop_postgres_database(&admin_url(), &name).await
    {
        println!("could not drop the PostgreSQL database {name}: {error}");
    }
    Ok(ok)
}

async fn run_on(
    backend: Backend,
    settings: &Settings,
    cores: usize,
    config: &Config,
    dir: &std::path::Path,
) -> bool {
    // Dev PKI with one institution certificate per load pharmacy.
    let now = wall_now();
    let mut pki = DevPki::generate(now).unwrap();
    let pharmacy_ids: Vec<String> = (0..settings.pharmacies)
        .map(|i| format!("3-SMC-B-Testkarte-8831100001{i:05}"))
        .collect();
    for id in &pharmacy_ids {
        let telematik_id = TelematikId::parse(id).unwrap();
        let request = InstitutionRequest::pharmacy("Last-Apotheke", telematik_id.clone());
        let issued = pki.issue_institution(&request, now).unwrap();
        pki.insert_institution(telematik_id, issued);
    }
    pki.write_to(&dir.join("pki"), Overwrite::Refuse).unwrap();

    let store = Store::connect(&config.database_url).await.unwrap();
    pharmacy::register(
        &store,
        BENCH_PHARMACY,
        BENCH_SEGMENT,
        "Last-Apotheke",
        wall_now().unix_timestamp(),
    )
    .await;
    for (i, id) in pharmacy_ids.iter().enumerate() {
        pharmacy::register(
            &store,
            id,
            &format!("LOAD{i}"),
            "Last-Apotheke",
            wall_now().unix_timestamp(),
        )
        .await;
    }
    let durability = durability_setting(&store, backend).await;
    let signer = Arc::new(certificate_server(config).unwrap());

    println!(
        "\n== {} ({durability}), {} clients, {} pharmacies, anomaly detection {} (actions: warn), holder keys {}",
        backend.name(),
        settings.clients,
        settings.pharmacies,
        if config.anomaly.enabled { "on" } else { "off" },
        if settings.holder_keys { "on" } else { "off" },
    );

    // Baselines, before the load phase.
    let raw_sign = raw_ecdsa_sign_rate();
    let fsync = fsync_rate(dir);
    let sample = sample_dcc(now);
    let (sign_one, hc1_sample) = certificate_server_sign_rate(&signer, &sample);
    let sign_all = certificate_server_sign_rate_parallel(&signer, &sample, cores);
    let uvci_counter = Arc::new(AtomicU64::new(0));
    let policy = RecordPolicy::limits_only(config.limits);
    let recorder = Recorder::start(store.clone(), policy);
    let store_one = store_transaction_rate(&recorder, &hc1_sample, &uvci_counter, 1).await;
    let store_many =
        store_transaction_rate(&recorder, &hc1_sample, &uvci_counter, settings.clients).await;
    let in_process =
        in_process_issue_rate(&store, &recorder, &signer, &uvci_counter, settings.clients).await;
    let detection =
        detection_overhead(&store, config, &hc1_sample, &uvci_counter, settings.clients).await;
    let bench_rows = ledger_count(&store, &[BENCH_PHARMACY.to_owned()]).await;

    let ratio = |rate: f64| rate / raw_sign;
    println!("single thread, same run:");
    println!("  raw ECDSA P-256 sign (aws-lc-rs)          {raw_sign:>9.0} /s   = 1.00");
    println!(
        "  CertificateServer::sign (payload -> HC1)  {sign_one:>9.0} /s   = {:.2} x raw sign",
        ratio(sign_one)
    );
    println!(
        "  record ledger+response+audit, 1 writer    {:>9.0} /s   = {:.3} x raw sign   ({:.2} ms each){}",
        store_one.rate,
        ratio(store_one.rate),
        1000.0 / store_one.rate,
        store_one.cpu()
    );
    println!(
        "  append 4 KiB + fdatasync in the temp dir  {fsync:>9.0} /s   = {:.3} x raw sign   ({:.2} ms each)",
        ratio(fsync),
        1000.0 / fsync
    );
    println!("ceilings under concurrency, same run:");
    println!(
        "  CertificateServer::sign, {cores} threads        {sign_all:>9.0} /s   = {:.2} x raw sign",
        ratio(sign_all)
    );
    println!(
        "  record, {:>3} tasks (group commit)         {:>9.0} /s   = {:.3} x raw sign   = {:.2} x fdatasync{}",
        settings.clients,
        store_many.rate,
        ratio(store_many.rate),
        store_many.rate / fsync,
        failures(store_many.failures)
    );
    println!("{:>44}{}", "", store_many.cpu());
    println!(
        "  issue use case in-process (no HTTP/TLS), {:>3} tasks {:>9.0} /s   = {:.3} x raw sign{}",
        settings.clients,
        in_process.rate,
        ratio(in_process.rate),
        failures(in_process.failures)
    );
    println!("{:>44}{}", "", in_process.cpu());
    println!(
        "  record, {:>3} tasks, with anomaly detection {:>9.0} /s vs {:.0} /s without: {:.2} x (interleaved, median of {DETECTION_ROUNDS} rounds)",
        settings.clients, detection.1, detection.0, detection.2
    );

    // The load phase.
    let portal = start_portal(
        config,
        store.clone(),
        signer.clone(),
        Some(SocketAddr::from(([127, 0, 0, 1], 0))),
    )
    .await
    .unwrap();
    let url = format!("https://localhost:{}{ISSUE_PATH}", portal.local_addr.port());
    let service_ca = std::fs::read(dir.join("pki/service/ca.pem")).unwrap();
    // Every load pharmacy signs in once, as an operator would, with password and TOTP.
    let base = format!("https://localhost:{}", portal.local_addr.port());
    let mut tokens = std::collections::HashMap::new();
    let mut metrics_client = None;
    for (i, id) in pharmacy_ids.iter().enumerate() {
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
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&service_ca).unwrap()])
            .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
            .build()
            .unwrap();
        let token =
            operator::sign_in_operator(&store, &client, &base, id, i, wall_now().unix_timestamp())
                .await;
        tokens.insert(id.clone(), token);
        metrics_client = Some(client);
    }
    let metrics_client = metrics_client.unwrap();
    let clients: Vec<reqwest::Client> = (0..settings.clients)
        .map(|i| {
            let id = &pharmacy_ids[i % pharmacy_ids.len()];
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
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", tokens[id]).parse().unwrap(),
            );
            let builder = match settings.http1 {
                true => reqwest::Client::builder().http1_only(),
                false => reqwest::Client::builder(),
            };
            builder
                .default_headers(headers)
                .tls_certs_only([reqwest::Certificate::from_pem(&service_ca).unwrap()])
                .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
                .build()
                .unwrap()
        })
        .collect();
    let writer_before = portal.writer_stats().unwrap();
    let load = run_load(clients, &url, settings).await;
    let writer_after = portal.writer_stats().unwrap();
    let metrics = metrics_client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    portal.stop().await;

    // Durability: every 200 is one ledger row; the audit chain is intact and holds them all.
    let ledger_rows = ledger_count(&store, &pharmacy_ids).await;
    let chain = dcc_store::audit::verify_chain(&store).await.unwrap();
    store.close().await;

    let measured = load.measured.len();
    let rate = measured as f64 / settings.seconds as f64;
    let mut latencies: Vec<Duration> = load.measured.clone();
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "load, {} s after {} s warm-up:",
        settings.seconds, settings.warmup
    );
    println!(
        "  requests: {} in the window ({} in all incl. warm-up and tail), {} answered non-200{}",
        measured,
        load.ok_total + load.errors,
        load.errors,
        load.http_version
            .as_deref()
            .map(|v| format!(", protocol {v}"))
            .unwrap_or_default()
    );
    println!(
        "  inside the portal (whole run, /metrics): issuance {:.2} ms on average (use case from registry lookup to commit), group-commit transaction {:.2} ms",
        histogram_mean_ms(&metrics, "dcc_issuance_seconds"),
        histogram_mean_ms(&metrics, "dcc_store_transaction_seconds"),
    );
    let batches = writer_after.batches - writer_before.batches;
    let jobs = writer_after.jobs - writer_before.jobs;
    println!(
        "  group commit (warm-up and tail included): {batches} transactions, {:.1} jobs each on average, largest batch so far {}",
        jobs as f64 / batches.max(1) as f64,
        writer_after.largest_batch
    );
    for sample in &load.error_samples {
        println!("    non-200: {sample}");
    }
    println!(
        "  certificates/s                            {rate:>9.0} /s   = {:.3} x raw sign   (first target >= 2000/s: {})",
        ratio(rate),
        if rate >= 2000.0 { "met" } else { "NOT met" }
    );
    println!(
        "    = {:.2} x CertificateServer::sign {cores} threads, {:.2} x store txn {} tasks, {:.2} x in-process use case",
        rate / sign_all,
        rate / store_many.rate,
        settings.clients,
        rate / in_process.rate
    );
    println!(
        "  latency ms: p50 {:.2}  p99 {:.2}  max {:.2}",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    println!(
        "  memory: RSS now {} MiB ({}), peak since the program started {} MiB",
        memory::rss_kib() / 1024,
        memory::rss_parts(),
        memory::peak_rss_kib() / 1024
    );
    let per_certificate = |busy_cores: f64| {
        if measured == 0 {
            0.0
        } else {
            busy_cores * settings.seconds as f64 * 1e6 / measured as f64
        }
    };
    let machine_cores = load.cpu.machine_busy * cores as f64;
    let process_cores = load.cpu.process * cores as f64;
    println!(
        "  CPU during the window: {machine_cores:.2} of {cores} cores busy machine-wide \
         (this process {process_cores:.2}; the rest is the database server, the OS and \
         anything else running); CPU per certificate {:.0} us here, {:.0} us machine-wide",
        per_certificate(process_cores),
        per_certificate(machine_cores),
    );

    let ledger_ok = ledger_rows == load.ok_total;
    let chain_ok = chain.first_broken.is_none() && chain.entries >= load.ok_total + bench_rows;
    println!(
        "durability: ledger rows of the load pharmacies {ledger_rows} {} 200 answers {}: {}",
        if ledger_ok { "==" } else { "!=" },
        load.ok_total,
        if ledger_ok { "ok" } else { "FAILED" }
    );
    println!(
        "            audit chain: {} entries (>= {} answers + {} baseline certificates), {}: {}",
        chain.entries,
        load.ok_total,
        bench_rows,
        match chain.first_broken {
            None => "no broken link".to_owned(),
            Some(link) => format!("broken at seq {} ({:?})", link.seq, link.reason),
        },
        if chain_ok { "ok" } else { "FAILED" }
    );

    print_limit(
        backend,
        &LimitFigures {
            rate,
            machine_busy: load.cpu.machine_busy,
            process_busy: load.cpu.process,
            sign_all,
            store_many: store_many.rate,
            fsync,
            in_process: in_process.rate,
            clients: settings.clients,
        },
    );
    load.errors == 0
        && ledger_ok
        && chain_ok
        && store_many.failures == 0
        && in_process.failures == 0
}

fn failures(count: u64) -> String {
    if count == 0 {
        String::new()
    } else {
        format!("   ({count} FAILED)")
    }
}

/// Names the bottleneck from the figures of this run: the lower of the two ceilings measured
/// apart (the store's durable commits with C writers, signing on every core), and how close
/// the load came to it.
fn print_limit(backend: Backend, figures: &LimitFigures) {
    let LimitFigures {
        rate,
        machine_busy,
        process_busy,
        sign_all,
        store_many,
        fsync,
        in_process,
        clients: _,
    } = *figures;
    let lock = match backend {
        Backend::Sqlite => {
            "SQLite's single write lock (BEGIN IMMEDIATE) held through the WAL fsync"
        }
        Backend::Postgres => {
            "the audit_head row lock, held from the audit append through COMMIT's WAL flush"
        }
    };
    // The store is the limit only when the load came close to what the store alone sustains.
    if rate >= STORE_BOUND_SHARE * store_many {
        println!(
            "limit: the store. Commits are serialised by {lock}, and the writer puts the \
             certificates waiting at each commit into one transaction; with {} tasks the store \
             alone manages {store_many:.0}/s ({:.2} x the disk's {fsync:.0} fdatasync/s) and \
             the load reached {:.0}% of that.",
            figures.clients,
            store_many / fsync,
            rate / store_many * 100.0,
        );
    } else {
        println!(
            "limit: CPU. The store alone sustains {store_many:.0}/s with group commit and signing \
             on every core {sign_all:.0}/s; the load reached {:.0}% of the store's ceiling and \
             {:.0}% of the in-process use case ({in_process:.0}/s) with the cores {:.0}% busy \
             (this process {:.0}%): TLS, HTTP/2, JSON parsing and the load generator itself \
             share the two cores.",
            rate / store_many * 100.0,
            rate / in_process * 100.0,
            machine_busy * 100.0,
            process_busy * 100.0,
        );
    }
}

/// Share of the store's own ceiling above which the store, not the CPU, is named the limit.
const STORE_BOUND_SHARE: f64 = 0.8;

#[derive(Clone, Copy)]
struct LimitFigures {
    rate: f64,
    machine_busy: f64,
    process_busy: f64,
    sign_all: f64,
    store_many: f64,
    fsync: f64,
    in_process: f64,
    clients: usize,
}

async fn ledger_count(store: &Store, telematik_ids: &[String]) -> u64 {
    let mut total = 0;
    for id in telematik_ids {
        total += ledger::count_by_pharmacy(store.pool(), id, 0, i64::MAX)
            .await
            .unwrap();
    }
    total
}

/// What makes a commit durable on this backend, as the database reports it.
async fn durability_setting(store: &Store, backend: Backend) -> String {
    use sqlx::Row;
    match backend {
        Backend::Sqlite => {
            let journal: String = sqlx::query("PRAGMA journal_mode")
                .fetch_one(store.pool())
                .await
                .and_then(|row| row.try_get(0))
                .unwrap_or_else(|_| "?".into());
            let synchronous: i64 = sqlx::query("PRAGMA synchronous")
                .fetch_one(store.pool())
                .await
                .and_then(|row| row.try_get(0))
                .unwrap_or(-1);
            let synchronous = match synchronous {
                0 => "OFF",
                1 => "NORMAL",
                2 => "FULL",
                3 => "EXTRA",
                _ => "?",
            };
            format!("journal_mode={journal}, synchronous={synchronous}")
        }
        Backend::Postgres => {
            let mut parts = Vec::new();
            for setting in ["fsync", "synchronous_commit", "server_version"] {
                let value: String = sqlx::query(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
                    .fetch_one(store.pool())
                    .await
                    .and_then(|row| row.try_get(0))
                    .unwrap_or_else(|_| "?".into());
                parts.push(format!("{setting}={value}"));
            }
            parts.join(", ")
        }
    }
}

/// A complete payload as the portal builds it, for the signing baselines.
fn sample_dcc(now: OffsetDateTime) -> Dcc {
    let request = IssueRequest::parse(BODY.as_bytes()).unwrap();
    let context = IssuerContext {
        country: COUNTRY.into(),
        issuer: ISSUER_NAME.into(),
        issuer_segment: BENCH_SEGMENT.into(),
    };
    build_payload(&request, &context, &opaque_from_random(&[7; 16]), now).unwrap()
}

/// Runs `step` on this thread for [`BASELINE`]; returns operations per second.
fn rate_on_this_thread(mut step: impl FnMut()) -> f64 {
    // Warm caches and lazily built tables first.
    for _ in 0..50 {
        step();
    }
    let start = instant_now();
    let mut done: u64 = 0;
    loop {
        for _ in 0..20 {
            step();
        }
        done += 20;
        let elapsed = start.elapsed();
        if elapsed >= BASELINE {
            return done as f64 / elapsed.as_secs_f64();
        }
    }
}

fn raw_ecdsa_sign_rate() -> f64 {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    // About the size of a COSE Sig_structure of a vaccination certificate.
    let message = vec![0x5A; 300];
    rate_on_this_thread(|| {
        std::hint::black_box(key.sign(&rng, std::hint::black_box(&message)).unwrap());
    })
}

/// Appends 4 KiB and waits for `fdatasync`, on the file system of the SQLite database: the
/// floor under one durable commit.
fn fsync_rate(dir: &std::path::Path) -> f64 {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = [0x5A_u8; 4096];
    let rate = rate_on_this_thread(|| {
        file.write_all(&block).unwrap();
        file.sync_data().unwrap();
    });
    drop(file);
    let _ = std::fs::remove_file(path);
    rate
}

fn certificate_server_sign_rate(signer: &CertificateServer, dcc: &Dcc) -> (f64, String) {
    let now = wall_now().unix_timestamp();
    let hc1 = signer.sign(dcc, now).unwrap().hc1;
    let rate = rate_on_this_thread(|| {
        std::hint::black_box(signer.sign(std::hint::black_box(dcc), now).unwrap());
    });
    (rate, hc1)
}

fn certificate_server_sign_rate_parallel(
    signer: &CertificateServer,
    dcc: &Dcc,
    threads: usize,
) -> f64 {
    let now = wall_now().unix_timestamp();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    rate_on_this_thread(|| {
                        std::hint::black_box(signer.sign(std::hint::black_box(dcc), now).unwrap());
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

struct Throughput {
    rate: f64,
    failures: u64,
    /// CPU per successful step: (this process, machine-wide) in microseconds.
    cpu_us: (f64, f64),
}

impl Throughput {
    fn cpu(&self) -> String {
        format!(
            "   CPU/op {:.0} us here, {:.0} us machine-wide",
            self.cpu_us.0, self.cpu_us.1
        )
    }
}

/// What the portal's writer does for one certificate (ledger row, kept response, audit entry,
/// commit), without signing: `tasks` tasks for [`BASELINE`] (twice that when concurrent). One
/// task gets one transaction per certificate; concurrent tasks share group commits.
async fn store_transaction_rate(
    recorder: &Recorder,
    hc1: &str,
    counter: &Arc<AtomicU64>,
    tasks: usize,
) -> Throughput {
    let duration = if tasks == 1 { BASELINE } else { BASELINE * 2 };
    record_rate(recorder, hc1, counter, tasks, duration).await
}

/// Rounds of [`detection_overhead`].
const DETECTION_ROUNDS: usize = 8;

/// What anomaly detection costs the group-commit writer: the same recording (all certificates
/// of the bench pharmacy, so the worst case of one pharmacy at full speed) through a writer
/// without and one with detection (the portal's settings), alternating in rounds of half a
/// second. Returns (without, with, median ratio with ÷ without).
async fn detection_overhead(
    store: &Store,
    config: &Config,
    hc1: &str,
    counter: &Arc<AtomicU64>,
    tasks: usize,
) -> (f64, f64, f64) {
    let plain = Recorder::start(store.clone(), RecordPolicy::limits_only(config.limits));
    let detection = AnomalyDetection::new(config.anomaly.clone()).unwrap();
    let detecting = Recorder::start(
        store.clone(),
        RecordPolicy {
            limits: config.limits,
            anomaly: Some(Arc::new(detection)),
        },
    );
    let round = Duration::from_millis(500);
    let (mut without, mut with, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for index in 0..DETECTION_ROUNDS {
        let (first, second) = if index % 2 == 0 {
            (&plain, &detecting)
        } else {
            (&detecting, &plain)
        };
        let a = record_rate(first, hc1, counter, tasks, round).await.rate;
        let b = record_rate(second, hc1, counter, tasks, round).await.rate;
        let (plain_rate, detecting_rate) = if index % 2 == 0 { (a, b) } else { (b, a) };
        without.push(plain_rate);
        with.push(detecting_rate);
        ratios.push(detecting_rate / plain_rate);
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    (median(&mut without), median(&mut with), median(&mut ratios))
}

async fn record_rate(
    recorder: &Recorder,
    hc1: &str,
    counter: &Arc<AtomicU64>,
    tasks: usize,
    duration: Duration,
) -> Throughput {
    let recorder = recorder.clone();
    let hc1: Arc<str> = Arc::from(hc1);
    let counter = counter.clone();
    run_tasks(tasks, duration, move || {
        let recorder = recorder.clone();
        let hc1 = hc1.clone();
        let n = counter.fetch_add(1, Ordering::Relaxed);
        async move {
            matches!(
                store_transaction(&recorder, &hc1, n).await,
                Ok(RecordOutcome::Recorded)
            )
        }
    })
    .await
}

async fn store_transaction(
    recorder: &Recorder,
    hc1: &str,
    n: u64,
) -> Result<RecordOutcome, RecordError> {
    let now = wall_now().unix_timestamp();
    let uvci = format!("URN:UVCI:01:DE:{BENCH_SEGMENT}/STORE{n:020}#0");
    let entry = LedgerEntry {
        uvci: uvci.clone(),
        telematik_id: BENCH_PHARMACY.into(),
        certificate_type: ledger::CertificateType::Vaccination,
        product: "EU/1/20/1528".into(),
        dose_number: Some(2),
        total_doses: Some(2),
        event_date: "2021-05-29".into(),
        kid: "AAAAAAAAAAA=".into(),
        uci_hash: format!("{n:064x}"),
        issued_at: now,
        expires_at: now + 365 * 86_400,
        idempotency_key: None,
        request_hash: format!("{n:064x}"),
        revoked_at: None,
        revocation_reason: None,
        holder_key: None,
        country_code_uci_hash: None,
        signature_hash: None,
        operator_id: None,
    };
    recorder
        .issued(IssuedRecord {
            entry,
            hc1: hc1.to_owned(),
            keep_until: now + RESPONSE_RETENTION_SECONDS,
            at: now,
        })
        .await
}

/// The whole use case (registry lookup, payload, signing, transaction) without HTTP and TLS.
async fn in_process_issue_rate(
    store: &Store,
    recorder: &Recorder,
    signer: &Arc<CertificateServer>,
    counter: &Arc<AtomicU64>,
    tasks: usize,
) -> Throughput {
    let store = store.clone();
    let recorder = recorder.clone();
    let pharmacies = Arc::new(ActivePharmacies::new());
    let signer = signer.clone();
    let counter = counter.clone();
    run_tasks(tasks, BASELINE * 2, move || {
        let store = store.clone();
        let recorder = recorder.clone();
        let pharmacies = pharmacies.clone();
        let signer = signer.clone();
        let n = counter.fetch_add(1, Ordering::Relaxed);
        async move {
            let mut random = [0u8; 16];
            random[..8].copy_from_slice(&n.to_be_bytes());
            let issuance = Issuance {
                store: &store,
                recorder: &recorder,
                pharmacies: &pharmacies,
                signer: signer.as_ref(),
                country: COUNTRY,
                issuer_name: ISSUER_NAME,
                holder_key_secret: None,
            };
            issuance
                .issue(
                    BENCH_PHARMACY,
                    None,
                    BODY.as_bytes(),
                    None,
                    wall_now(),
                    random,
                )
                .await
                .is_ok()
        }
    })
    .await
}

/// Runs `tasks` closed-loop tasks, each repeating `step()` until `duration` has passed;
/// returns successful steps per second.
async fn run_tasks<F, Fut>(tasks: usize, duration: Duration, step: F) -> Throughput
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let ticks = cpu_ticks();
    let start = instant_now();
    let end = start + duration;
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let step = step.clone();
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u64, 0u64);
                while instant_now() < end {
                    if step().await {
                        ok += 1;
                    } else {
                        failed += 1;
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let (mut ok, mut failed) = (0, 0);
    for handle in handles {
        let (o, f) = handle.await.unwrap();
        ok += o;
        failed += f;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let share = cpu_share(ticks, cpu_ticks());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let per_op = |fraction: f64| {
        if ok == 0 {
            0.0
        } else {
            fraction * cores * elapsed * 1e6 / ok as f64
        }
    };
    Throughput {
        rate: ok as f64 / elapsed,
        failures: failed,
        cpu_us: (per_op(share.process), per_op(share.machine_busy)),
    }
}

/// CPU use over an interval, from `/proc` (Linux); zero elsewhere.
#[derive(Clone, Copy, Default)]
struct CpuShare {
    /// Busy fraction of all cores, every process (the database server included).
    machine_busy: f64,
    /// Fraction of all cores this process used.
    process: f64,
}

#[derive(Clone, Copy, Default)]
struct CpuTicks {
    total: u64,
    idle: u64,
    process: u64,
}

fn cpu_ticks() -> CpuTicks {
    let machine: Vec<u64> = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|text| text.lines().next().map(str::to_owned))
        .map(|line| {
            line.split_whitespace()
                .skip(1)
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total = machine.iter().take(8).sum();
    let idle = machine.get(3).copied().unwrap_or(0) + machine.get(4).copied().unwrap_or(0);
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|text| {
            let after = text.rsplit_once(')')?.1.to_owned();
            let fields: Vec<u64> = after
                .split_whitespace()
                .map(|v| v.parse().unwrap_or(0))
                .collect();
            // Fields 14 and 15 of the file (utime, stime); `after` starts at field 3.
            Some(fields.get(11)? + fields.get(12)?)
        })
        .unwrap_or(0);
    CpuTicks {
        total,
        idle,
        process,
    }
}

fn cpu_share(before: CpuTicks, after: CpuTicks) -> CpuShare {
    let total = after.total.saturating_sub(before.total);
    if total == 0 {
        return CpuShare::default();
    }
    let idle = after.idle.saturating_sub(before.idle);
    CpuShare {
        machine_busy: total.saturating_sub(idle) as f64 / total as f64,
        process: after.process.saturating_sub(before.process) as f64 / total as f64,
    }
}

struct LoadResult {
    /// Latencies of the requests that completed inside the measured window.
    measured: Vec<Duration>,
    /// All 200 answers, warm-up and tail included.
    ok_total: u64,
    /// All other answers and transport errors.
    errors: u64,
    error_samples: Vec<String>,
    http_version: Option<String>,
    cpu: CpuShare,
}

struct ClientResult {
    measured: Vec<Duration>,
    ok: u64,
    errors: u64,
    error_samples: Vec<String>,
    http_version: Option<String>,
}

/// The mean of a Prometheus histogram in `exposition`, in milliseconds (0 when it is empty).
fn histogram_mean_ms(exposition: &str, name: &str) -> f64 {
    let value = |suffix: &str| -> f64 {
        let key = format!("{name}_{suffix} ");
        exposition
            .lines()
            .find_map(|line| line.strip_prefix(&key))
            .and_then(|number| number.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let count = value("count");
    if count == 0.0 {
        return 0.0;
    }
    value("sum") / count * 1000.0
}

/// C closed-loop clients: each sends its next request when the previous answer is read.
async fn run_load(clients: Vec<reqwest::Client>, url: &str, settings: &Settings) -> LoadResult {
    let start = instant_now();
    let window_start = start + Duration::from_secs(settings.warmup);
    let window_end = window_start + Duration::from_secs(settings.seconds);
    let handles: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let url = url.to_owned();
            tokio::spawn(async move {
                let mut result = ClientResult {
                    measured: Vec::new(),
                    ok: 0,
                    errors: 0,
                    error_samples: Vec::new(),
                    http_version: None,
                };
                while instant_now() < window_end {
                    let sent = instant_now();
                    let outcome = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(BODY)
                        .send()
                        .await;
                    let (ok, problem) = match outcome {
                        Ok(response) => {
                            let status = response.status();
                            if result.http_version.is_none() {
                                result.http_version = Some(format!("{:?}", response.version()));
                            }
                            match response.bytes().await {
                                Ok(_) if status == 200 => (true, None),
                                Ok(body) => (
                                    false,
                                    Some(format!(
                                        "{status}: {}",
                                        String::from_utf8_lossy(&body[..body.len().min(200)])
                                    )),
                                ),
                                Err(error) => (false, Some(format!("{status}: body: {error}"))),
                            }
                        }
                        Err(error) => (false, Some(format!("transport: {error}"))),
                    };
                    let done = instant_now();
                    if ok {
                        result.ok += 1;
                        if done >= window_start && done < window_end {
                            result.measured.push(done - sent);
                        }
                    } else {
                        result.errors += 1;
                        if result.error_samples.len() < 3 {
                            result.error_samples.extend(problem);
                        }
                    }
                }
                result
            })
        })
        .collect();
    // CPU over the measured window only.
    tokio::time::sleep_until(window_start.into()).await;
    let before = cpu_ticks();
    tokio::time::sleep_until(window_end.into()).await;
    let cpu = cpu_share(before, cpu_ticks());

    let mut load = LoadResult {
        measured: Vec::new(),
        ok_total: 0,
        errors: 0,
        error_samples: Vec::new(),
        http_version: None,
        cpu,
    };
    for handle in handles {
        let client = handle.await.unwrap();
        load.measured.extend(client.measured);
        load.ok_total += client.ok;
        load.errors += client.errors;
        if load.error_samples.len() < 5 {
            load.error_samples.extend(client.error_samples);
        }
        if load.http_version.is_none() {
            load.http_version = client.http_version;
        }
    }
    load
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
