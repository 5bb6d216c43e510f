//! The database goes away under load and comes back (PostgreSQL): the portal reaches it
//! through a TCP proxy the test controls. Cutting the proxy severs every open connection and
//! leaves new ones unanswered, as a database behind a failed network link would. The portal
//! must answer `store_unavailable` quickly (at once while its breaker is open), record nothing
//! half-written, and issue again by itself once the database is back.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::support::{Backend, PHARMACY, TestPortal, admin_url};

/// A TCP proxy to one upstream address that the test can cut and restore.
struct CuttableProxy {
    port: u16,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttableProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, _) = watch::channel(true);
        let watch_up = up.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(relay(client, upstream, watch_up.subscribe()));
            }
        });
        Self { port, up, task }
    }

    /// Severs every open connection; new ones are accepted and never answered.
    fn cut(&self) {
        self.up.send_replace(false);
    }

    /// New connections reach the upstream again; the unanswered ones are closed.
    fn restore(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr, mut up: watch::Receiver<bool>) {
    if !*up.borrow_and_update() {
        let _ = up.wait_for(|up| *up).await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = up.wait_for(|up| !*up) => {}
    }
}

/// The address of the PostgreSQL server a URL names.
fn server_address(url: &str) -> SocketAddr {
    let parsed = reqwest::Url::parse(url).unwrap();
    let host = parsed.host_str().unwrap().to_owned();
    let port = parsed.port().unwrap_or(5432);
    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .unwrap()
        .next()
        .unwrap()
}

/// The URL with its host and port replaced by the proxy's.
fn through_proxy(url: &str, proxy_port: u16) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    parsed.set_host(Some("127.0.0.1")).unwrap();
    parsed.set_port(Some(proxy_port)).unwrap();
    parsed.to_string()
}

fn request() -> Value {
    json!({"nam": {"fn": "Müller", "gn": "Jürgen"}, "dob": "1964-08-12",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-05-29"}]})
}

/// One answer: status, error code or UVCI, `Retry-After`, and how long it took.
struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<String>,
    took: Duration,
}

async fn issue(client: &reqwest::Client, url: &str, key: &str) -> Option<Answer> {
    #[expect(clippy::disallowed_methods, reason = "the test measures answer times")]
    let sent = Instant::now();
    let response = client
        .post(url)
        .header("idempotency-key", key)
        .json(&request())
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.json().await.ok()?;
    Some(Answer {
        status,
        body,
        retry_after,
        took: sent.elapsed(),
    })
}

async fn metric(portal: &TestPortal, client: &reqwest::Client, line: &str) -> bool {
    let text = client
        .get(portal.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines().any(|l| l == line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_fails_fast_leaves_nothing_half_written_and_issuance_resumes() {
    // Test databases live on the server the admin URL names.
    let proxy = CuttableProxy::start(server_address(&admin_url())).await;
    let portal = TestPortal::start_routed(
        Backend::Postgres,
        Vec::new(),
        |config| {
            config.limits = dcc_issuance::limits::RateLimits::unlimited();
            config.database.acquire_timeout_ms = 500;
            config.database.write_timeout_ms = 3000;
            config.database.breaker_open_ms = 1000;
        },
        |url| through_proxy(url, proxy.port),
    )
    .await;
    let client = portal.client_for(PHARMACY);
    let url = portal.url("/api/certify/v2/issue");
    let first = issue(&client, &url, "before").await.unwrap();
    assert_eq!(first.status, 200, "{}", first.body);

    // Load from four clients throughout: every request has its own idempotency key.
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (client, url) = (portal.client_for(PHARMACY), url.clone());
            let (stop, counter) = (stop.clone(), counter.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let key = format!("load-{}", counter.fetch_add(1, Ordering::SeqCst));
                    let answer = issue(&client, &url, &key).await;
                    let refused = answer.as_ref().is_none_or(|a| a.status != 200);
                    answers.push((key, answer.map(|a| (a.status, a.body, a.took))));
                    if refused {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    proxy.cut();
    // Requests fail after at most the acquire timeout until the breaker opens.
    let open_line = "dcc_circuit_open{dependency=\"store\"} 1";
    let mut opened = false;
    for _ in 0..100 {
        if metric(&portal, &client, open_line).await {
            opened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(opened, "the store breaker did not open within 5 s");
    // While it is open, the answer comes at once.
    let fast = issue(&client, &url, "while-open").await.unwrap();
    assert_eq!(
        (fast.status, fast.body["code"].as_str()),
        (503, Some("store_unavailable")),
        "{}",
        fast.body
    );
    assert!(
        fast.took < Duration::from_millis(250),
        "took {:?}",
        fast.took
    );
    assert_eq!(fast.retry_after.as_deref(), Some("1"));
    let ready = client
        .get(portal.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(
        ready["hops"]["database"]["code"], "store_unavailable",
        "{ready}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    proxy.restore();
    #[expect(clippy::disallowed_methods, reason = "the test measures the recovery")]
    let restored = Instant::now();
    let mut resumed = None;
    for attempt in 0..100 {
        let answer = issue(&client, &url, &format!("after-{attempt}"))
            .await
            .unwrap();
        if answer.status == 200 {
            resumed = Some(restored.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resumed = resumed.expect("issuance did not resume within 5 s of the database's return");
    assert!(
        resumed < Duration::from_secs(3),
        "resumed after {resumed:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    for worker in workers {
        answers.extend(worker.await.unwrap());
    }
    let codes: BTreeSet<&str> = answers
        .iter()
        .filter_map(|(_, answer)| answer.as_ref())
        .filter(|(status, ..)| *status != 200)
        .map(|(_, body, _)| body["code"].as_str().unwrap())
        .collect();
    // No request waited for more than the acquire timeout plus one bounded transaction.
    let slowest = answers
        .iter()
        .filter_map(|(_, answer)| answer.as_ref().map(|(.., took)| *took))
        .max()
        .unwrap();
    assert!(
        slowest < Duration::from_secs(4),
        "slowest answer {slowest:?}"
    );
    assert_eq!(
        codes,
        BTreeSet::from(["store_unavailable"]),
        "the outage is reported as store_unavailable and nothing else"
    );

    // Every request that got no certificate is retried with its key: it gets the one
    // recorded before the cut, or a new one. Then one certificate per key, none half-written.
    let mut by_key: BTreeMap<String, String> = BTreeMap::new();
    for (key, answer) in &answers {
        let uvci = match answer {
            Some((200, body, _)) => body["uvci"].as_str().unwrap().to_owned(),
            _ => {
                let retry = issue(&client, &url, key).await.unwrap();
                assert_eq!(retry.status, 200, "{key}: {}", retry.body);
                retry.body["uvci"].as_str().unwrap().to_owned()
            }
        };
        by_key.insert(key.clone(), uvci);
    }
    let distinct: BTreeSet<&String> = by_key.values().collect();
    assert_eq!(distinct.len(), by_key.len(), "one certificate per request");
    for uvci in by_key.values() {
        let entry = dcc_store::ledger::find_by_uvci(portal.store.pool(), uvci)
            .await
            .unwrap();
        assert!(
            entry.is_some(),
            "{uvci} was answered but is not in the ledger"
        );
    }
    // `before` and the one `after-n` that succeeded, plus one per load request.
    let ledger = portal.ledger_count(PHARMACY).await;
    assert_eq!(ledger, u64::try_from(by_key.len()).unwrap() + 2);
    let issued_entries = portal
        .audit_kinds()
        .await
        .into_iter()
        .filter(|entry| entry.starts_with("certificate_issued "))
        .count();
    assert_eq!(u64::try_from(issued_entries).unwrap(), ledger);
    let chain = dcc_store::audit::verify_chain(&portal.store).await.unwrap();
    assert_eq!(chain.first_broken, None);
    assert!(metric(&portal, &client, "dcc_circuit_open{dependency=\"store\"} 0").await);
    drop(proxy);
    portal.stop().await;
}
