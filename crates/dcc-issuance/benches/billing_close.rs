//! Closing a billing month at the 2021 scale: 1,000,000 ledger rows across 18,000 pharmacies.
//!
//! A plain program (`cargo bench -p dcc-issuance --bench billing_close`): it seeds the ledger
//! of July 2021 with a fast multi-row bulk insert, measures a baseline in the same run (reading
//! every row of the month once through the same batched store query, no classification and no
//! writes), then closes the month and prints the time and its ratio to the baseline. Backends:
//! `DCC_BENCH_BACKENDS=sqlite,postgres` (default `sqlite`); PostgreSQL uses
//! `DCC_TEST_POSTGRES_URL` and a fresh database. Sizes: `DCC_BENCH_ROWS`,
//! `DCC_BENCH_PHARMACIES`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::time::{Duration, Instant};

use dcc_billing::month::BillingMonth;
use dcc_issuance::billing::{Billing, BillingSettings, CloseOutcome};
use dcc_store::Store;
use dcc_store::billing::{self, FRAUD_REASON};
use dcc_store::ledger::{CertificateType, LedgerEntry};
use dcc_store::pharmacies::{self, NewPharmacy};

fn main() {
    let rows = env_number("DCC_BENCH_ROWS", 1_000_000);
    let pharmacy_count = env_number("DCC_BENCH_PHARMACIES", 18_000);
    let backends = std::env::var("DCC_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for backend in backends.split(',') {
        runtime.block_on(run(backend.trim(), rows, pharmacy_count));
    }
}

async fn run(backend: &str, rows: usize, pharmacy_count: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (url, postgres) = match backend {
        "sqlite" => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
        "postgres" => {
            let admin = std::env::var("DCC_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let name = format!("dcc_bench_{}", std::process::id());
            let url = dcc_store::provision::create_postgres_database(&admin, &name)
                .await
                .unwrap();
            (url, Some((admin, name)))
        }
        other => panic!("unknown backend {other}"),
    };
    let store = Store::connect(&url).await.unwrap();
    let month = BillingMonth::parse("2021-07").unwrap();
    let (start, end) = month.bounds();

    let seeding = stopwatch();
    let pharmacies = seed_pharmacies(&store, pharmacy_count).await;
    seed_ledger(&store, &pharmacies, rows, start, end).await;
    let seeded = seeding.elapsed();

    let baseline = stopwatch();
    let mut read = 0usize;
    for batch in pharmacies.chunks(500) {
        let (first, last) = (&batch[0], &batch[batch.len() - 1]);
        read += billing::rows_in_range(store.pool(), first, last, start - 7200, end)
            .await
            .unwrap()
            .len();
    }
    let baseline = baseline.elapsed();
    assert_eq!(read, rows);

    let settings = BillingSettings::default();
    let billing = Billing {
        store: &store,
        settings: &settings,
    };
    let closing = stopwatch();
    let outcome = billing
        .close_month(month, end + 3600, &|_, _| {})
        .await
        .unwrap();
    let closed = closing.elapsed();
    let CloseOutcome::Closed { month: summary, .. } = outcome else {
        panic!("the month was closed before");
    };
    assert_eq!(
        usize::try_from(summary.statements).unwrap(),
        pharmacies.len()
    );
    let check = stopwatch();
    let report = billing.check_month(month).await.unwrap();
    let checked = check.elapsed();
    assert_eq!(report.mismatches().count(), 0);

    println!(
        "{backend}: {rows} rows, {} pharmacies, total {} cents",
        pharmacies.len(),
        summary.total_cents
    );
    println!("  seed (bulk insert)       {:>8.2} s", seeded.as_secs_f64());
    println!(
        "  baseline: read the month {:>8.2} s",
        baseline.as_secs_f64()
    );
    println!(
        "  close the month          {:>8.2} s  ({:.2} × baseline){}",
        closed.as_secs_f64(),
        ratio(closed, baseline),
        if closed < Duration::from_secs(60) {
            ""
        } else {
            "  OVER ONE MINUTE"
        }
    );
    println!(
        "  check the month          {:>8.2} s  ({:.2} × baseline)",
        checked.as_secs_f64(),
        ratio(checked, baseline)
    );
    store.close().await;
    if let Some((admin, name)) = postgres {
        dcc_store::provision::drop_postgres_database(&admin, &name)
            .await
            .unwrap();
    }
}

async fn seed_pharmacies(store: &Store, count: usize) -> Vec<String> {
    let ids: Vec<String> = (0..count)
        .map(|i| format!("3-SMC-B-Bench-{i:06}"))
        .collect();
    let mut tx = store.begin().await.unwrap();
    for (index, id) in ids.iter().enumerate() {
        pharmacies::insert(
            &mut tx,
            &NewPharmacy {
                telematik_id: id,
                name: "Bench-Apotheke",
                address: "Benchstraße 1, 10115 Berlin",
                issuer_segment: &format!("B{index}"),
                now: 0,
            },
        )
        .await
        .unwrap();
    }
    dcc_store::commit(tx).await.unwrap();
    ids
}

/// Rows spread evenly over the month and the pharmacies: 85 % vaccinations (pairs of doses
/// with one holder key, five minutes apart), 10 % tests, 5 % recoveries, 0.1 % revoked as
/// fraud. Inserted in 50,000-row transactions.
async fn seed_ledger(store: &Store, pharmacies: &[String], rows: usize, start: i64, end: i64) {
    let span = end - start;
    let mut batch = Vec::with_capacity(50_000);
    for index in 0..rows {
        let pharmacy = &pharmacies[index % pharmacies.len()];
        let slot = i64::try_from(index / 2).unwrap();
        let issued_at =
            start + (slot * 7919) % (span - 600) + i64::try_from(index % 2).unwrap() * 300;
        let (certificate_type, dose) = match index % 20 {
            0 | 1 => (CertificateType::Test, None),
            2 => (CertificateType::Recovery, None),
            _ => (
                CertificateType::Vaccination,
                Some(1 + i64::try_from(index % 2).unwrap()),
            ),
        };
        let fraud = index % 1000 == 999;
        batch.push(LedgerEntry {
            uvci: format!("URN:UVCI:01:DE:BENCH/{index:08}"),
            telematik_id: pharmacy.clone(),
            certificate_type,
            product: "EU/1/20/1528".into(),
            dose_number: dose,
            total_doses: dose.map(|_| 2),
            event_date: "2021-07-01".into(),
            kid: "DEsVUSvpFAE=".into(),
            uci_hash: format!("{index:064x}"),
            issued_at,
            expires_at: issued_at + 365 * 86_400,
            idempotency_key: None,
            request_hash: "b".repeat(64),
            revoked_at: fraud.then_some(end - 10),
            revocation_reason: fraud.then(|| FRAUD_REASON.to_owned()),
            holder_key: Some(format!("{:064x}", index / 2)),
            country_code_uci_hash: None,
            signature_hash: None,
            operator_id: None,
        });
        if batch.len() == batch.capacity() {
            insert(store, &batch).await;
            batch.clear();
        }
    }
    insert(store, &batch).await;
}

async fn insert(store: &Store, entries: &[LedgerEntry]) {
    let mut tx = store.begin().await.unwrap();
    billing::insert_ledger_bulk(&mut tx, entries).await.unwrap();
    dcc_store::commit(tx).await.unwrap();
}

fn ratio(subject: Duration, baseline: Duration) -> f64 {
    subject.as_secs_f64() / baseline.as_secs_f64().max(f64::EPSILON)
}

#[expect(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
fn stopwatch() -> Instant {
    Instant::now()
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}
