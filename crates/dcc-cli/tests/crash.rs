//! Crash safety: `dcc serve` is killed with SIGKILL at 20 moments under load and restarted.
//! Every request carries its own idempotency key. Afterwards every certificate answered 200 is
//! in the ledger, a retry of every request that got no answer returns its certificate (the
//! one recorded before the crash, or a fresh one when nothing was recorded), the ledger then
//! holds exactly one certificate per request, the audit chain is intact, and billing counts
//! equal ledger counts (the run's month closed as after its end, then reconciled). On SQLite
//! and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{DataDir, ServeChild, assert_exit, text};
use dcc_server::config::Config;
use serde_json::Value;

const KILLS: usize = 20;
const CLIENTS: usize = 4;
const PHARMACY: &str = "3-SMC-B-Testkarte-883110000116873";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_survives_sigkill_under_load() {
    let data = DataDir::init();
    crash_and_recover(&data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_survives_sigkill_under_load() {
    let admin = std::env::var("DCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("dcc_crash_{}", uuid::Uuid::new_v4().simple());
    let url = dcc_store::provision::create_postgres_database(&admin, &name)
        .await
        .unwrap_or_else(|error| {
            panic!("PostgreSQL at {admin} is not usable ({error}); start it (scripts/test.sh does)")
        });
    let mut data = DataDir::init();
    let mut config = Config::load(&data.path("dcc.toml")).unwrap();
    config.database_url = url;
    std::fs::write(data.path("dcc.toml"), config.to_toml().unwrap()).unwrap();
    assert_exit(
        &data.dcc(&[
            "pharmacy",
            "add",
            "--telematik-id",
            PHARMACY,
            "--name",
            "Apotheke am Dev-Markt",
            "--address",
            "Dev-Markt 1, 10115 Berlin",
        ]),
        0,
    );
    data.add_demo_operator();
    crash_and_recover(&data).await;
    dcc_store::provision::drop_postgres_database(&admin, &name)
        .await
        .unwrap();
}

/// What one request ended as: its idempotency key, and the UVCI if it was answered 200.
type Outcomes = Vec<(String, Option<String>)>;

async fn crash_and_recover(data: &DataDir) {
    let counter = Arc::new(AtomicUsize::new(0));
    let mut outcomes: Outcomes = Vec::new();
    for round in 0..KILLS {
        let mut serve = ServeChild::start(data).await;
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let client = data.client();
                let url = data.url("/api/certify/v2/issue");
                let stop = stop.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut mine = Outcomes::new();
                    while !stop.load(Ordering::SeqCst) {
                        let key = format!("crash-{}", counter.fetch_add(1, Ordering::SeqCst));
                        let answer = issue(&client, &url, &key).await;
                        let failed = answer.is_none();
                        mine.push((key, answer));
                        if failed {
                            break;
                        }
                    }
                    mine
                })
            })
            .collect();
        // A different moment in each round: 60 to 400 ms into the load.
        let delay = 60 + (round as u64 * 137) % 340;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        serve.child.kill().unwrap(); // SIGKILL on Unix
        serve.child.wait().unwrap();
        stop.store(true, Ordering::SeqCst);
        for worker in workers {
            outcomes.extend(worker.await.unwrap());
        }
        drop(serve);
    }

    // Recovery: restart once more and retry every request that got no answer.
    let serve = ServeChild::start(data).await;
    let client = data.client();
    let url = data.url("/api/certify/v2/issue");
    let answered: BTreeSet<String> = outcomes
        .iter()
        .filter_map(|(_, uvci)| uvci.clone())
        .collect();
    assert!(
        answered.len() >= KILLS,
        "the load should have issued certificates in most rounds: {}",
        answered.len()
    );
    let mut by_key: BTreeMap<String, String> = BTreeMap::new();
    for (key, uvci) in &outcomes {
        let uvci = match uvci {
            Some(uvci) => uvci.clone(),
            None => issue(&client, &url, key)
                .await
                .unwrap_or_else(|| panic!("retry of {key} failed:\n{}", serve.output())),
        };
        by_key.insert(key.clone(), uvci);
    }
    // Answered certificates come back unchanged for their key.
    for (key, uvci) in outcomes.iter().filter_map(|(k, u)| Some((k, u.as_ref()?))) {
        let again = issue(&client, &url, key).await.unwrap();
        assert_eq!(&again, uvci, "{key}");
    }
    let distinct: BTreeSet<&String> = by_key.values().collect();
    assert_eq!(distinct.len(), by_key.len(), "one certificate per request");

    // The ledger holds exactly these certificates: none lost, none doubled.
    let expected: BTreeSet<String> = by_key.values().cloned().collect();
    assert_ledger_is(data, &expected).await;
    drop(serve);
    assert_billing_counts_ledger(data, expected.len()).await;

    let audit = data.dcc(&["audit", "verify"]);
    assert_exit(&audit, 0);
    assert!(
        text(&audit.stdout).starts_with("audit chain intact"),
        "{}",
        text(&audit.stdout)
    );
}

/// Issues with an idempotency key; the UVCI, or `None` when there was no 200 answer.
async fn issue(client: &reqwest::Client, url: &str, key: &str) -> Option<String> {
    let response = client
        .post(url)
        .header("idempotency-key", key)
        .json(&serde_json::json!({
            "nam": {"fn": "Musterfrau", "gn": "Erika"}, "dob": "1964-08-12",
            "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                   "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-06-01"}]
        }))
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    let answer: Value = response.json().await.ok()?;
    Some(answer["uvci"].as_str()?.to_owned())
}

/// The dev pharmacy's ledger holds exactly `expected`: as many rows, and each of them.
async fn assert_ledger_is(data: &DataDir, expected: &BTreeSet<String>) {
    let config = Config::load(&data.path("dcc.toml")).unwrap();
    let store = dcc_store::Store::connect(&config.database_url)
        .await
        .unwrap();
    let count = dcc_store::ledger::count_by_pharmacy(store.pool(), PHARMACY, 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(count, u64::try_from(expected.len()).unwrap());
    for uvci in expected {
        let entry = dcc_store::ledger::find_by_uvci(store.pool(), uvci)
            .await
            .unwrap();
        assert!(entry.is_some(), "{uvci} is missing from the ledger");
    }
    store.close().await;
}

/// Closes every month of the run as the hourly job would once it has ended, reconciles each
/// closed month with the ledger (`dcc billing check`'s use case), and checks that the dev
/// pharmacy's statements count exactly `expected` certificates.
async fn assert_billing_counts_ledger(data: &DataDir, expected: usize) {
    let config = Config::load(&data.path("dcc.toml")).unwrap();
    let store = dcc_store::Store::connect(&config.database_url)
        .await
        .unwrap();
    let settings = config.billing.settings().unwrap();
    let billing = dcc_issuance::billing::Billing {
        store: &store,
        settings: &settings,
    };
    #[expect(
        clippy::disallowed_methods,
        reason = "the certificates were issued now; billing closes after the month ends"
    )]
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Two months on, the run's month has ended (and the next, had the run straddled midnight
    // at a month's end).
    let closed = billing
        .close_ended_months(now + 62 * 86_400, 0)
        .await
        .unwrap();
    assert!(!closed.is_empty());
    let mut billed_issued = 0;
    for (month, _) in &closed {
        let report = billing.check_month(*month).await.unwrap();
        let mismatches: Vec<_> = report.mismatches().collect();
        assert!(mismatches.is_empty(), "{month}: {mismatches:?}");
        billed_issued += report
            .lines
            .iter()
            .filter(|line| line.telematik_id == PHARMACY)
            .map(|line| line.statement_issued.unwrap_or(0))
            .sum::<i64>();
    }
    assert_eq!(billed_issued, i64::try_from(expected).unwrap());
    store.close().await;
}
