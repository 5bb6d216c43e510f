//! Containment over real mutual TLS: the kill switch holds on every instance sharing the
//! database from the next request on, and rate limits answer 429 with `Retry-After`.

use dcc_issuance::kill_switch;
use dcc_issuance::limits::RateLimits;
use dcc_issuance::operators::Actor;
use dcc_store::Store;
use dcc_store::locks::LockScope;
use serde_json::{Value, json};

use super::support::{Backend, PHARMACY, TestPortal, now};

fn body(dose: u8) -> Value {
    json!({"nam": {"fn": "Muster"}, "dob": "1964",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": dose, "sd": 2, "dt": "2021-05-29"}]})
}

async fn issue(client: &reqwest::Client, url: &str) -> (u16, Option<String>, Value) {
    let response = client.post(url).json(&body(1)).send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    let answer = response.json().await.unwrap();
    (status, retry_after, answer)
}

pub(super) async fn lock_holds_on_every_instance(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let second = portal.another_instance().await;
    let client = portal.client_for(PHARMACY);
    let first_url = portal.url("/api/certify/v2/issue");
    let second_url = format!(
        "https://localhost:{}/api/certify/v2/issue",
        second.local_addr.port()
    );
    assert_eq!(issue(&client, &first_url).await.0, 200);
    assert_eq!(issue(&client, &second_url).await.0, 200);

    // The association locks through a third connection pool, as `dcc lock` would.
    let admin = Store::connect(&portal.config.database_url).await.unwrap();
    kill_switch::lock(
        &admin,
        &Actor::CommandLine,
        LockScope::Pharmacy(PHARMACY.to_owned()),
        "fraud_suspected",
        "night issuing",
        now().unix_timestamp(),
    )
    .await
    .unwrap();
    for url in [&first_url, &second_url] {
        let (status, _, answer) = issue(&client, url).await;
        assert_eq!(status, 423, "{answer}");
        assert_eq!(answer["code"], "issuance_locked");
        assert_eq!(answer["reason"], "fraud_suspected");
        assert!(
            !answer.to_string().contains("night issuing"),
            "the comment is for the association only: {answer}"
        );
    }
    assert_eq!(portal.ledger_count(PHARMACY).await, 2);

    kill_switch::unlock(
        &admin,
        &Actor::CommandLine,
        LockScope::Pharmacy(PHARMACY.to_owned()),
        now().unix_timestamp(),
    )
    .await
    .unwrap();
    assert_eq!(issue(&client, &second_url).await.0, 200);
    assert_eq!(issue(&client, &first_url).await.0, 200);
    assert_eq!(portal.ledger_count(PHARMACY).await, 4);
    let kinds = portal.audit_kinds().await;
    assert!(kinds.contains(&r#"issuance_rejected {"code":"issuance_locked"}"#.to_owned()));
    admin.close().await;
    second.stop().await;
    portal.stop().await;
}

pub(super) async fn rate_limit_answers_429_with_retry_after(backend: Backend) {
    let portal = TestPortal::start_configured(backend, Vec::new(), |config| {
        config.limits = RateLimits {
            pharmacy_per_day: 100,
            pharmacy_burst: 2,
            burst_window_seconds: 900,
            ..RateLimits::unlimited()
        };
    })
    .await;
    let client = portal.client_for(PHARMACY);
    let url = portal.url("/api/certify/v2/issue");
    assert_eq!(issue(&client, &url).await.0, 200);
    assert_eq!(issue(&client, &url).await.0, 200);
    let (status, retry_after, answer) = issue(&client, &url).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(retry_after.as_deref(), Some("900"));
    assert_eq!(answer["code"], "rate_limited");
    assert_eq!(answer["limit"], "burst");
    assert_eq!(portal.ledger_count(PHARMACY).await, 2);
    let kinds = portal.audit_kinds().await;
    assert!(kinds.contains(&r#"issuance_rejected {"code":"rate_limited"}"#.to_owned()));
    portal.stop().await;
}

pub(super) async fn metrics_count_requests_certificates_and_refusals(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_for(PHARMACY);
    let url = portal.url("/api/certify/v2/issue");
    assert_eq!(issue(&client, &url).await.0, 200);
    assert_eq!(issue(&client, &url).await.0, 200);
    let invalid = client
        .post(&url)
        .json(&json!({"nam": {"fn": "Muster"}, "dob": "1964", "v": [{"dn": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    // A connection without a client certificate is refused in the handshake.
    assert!(portal.client(None).get(&url).send().await.is_err());

    // The refused handshake is counted by the accept loop, which may finish just after the
    // client saw the alert: read until it shows (bounded).
    let mut text = String::new();
    for _ in 0..50 {
        let response = client.get(portal.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        text = response.text().await.unwrap();
        if text.contains("dcc_tls_handshake_failures_total{") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for line in [
        "dcc_requests_total{route=\"/api/certify/v2/issue\",status=\"200\"} 2",
        "dcc_requests_total{route=\"/api/certify/v2/issue\",status=\"422\"} 1",
        "dcc_certificates_issued_total{type=\"v\"} 2",
        "dcc_issuance_seconds_count 2",
        "dcc_tls_handshake_failures_total{reason=\"no_client_certificate\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let jobs: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("dcc_writer_jobs_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(jobs >= 3, "2 certificates and the audited refusal: {jobs}");
    // The signer was called for the two certificates (the 422 never reached it); each call
    // and each writer transaction took more than nothing and less than a second.
    assert!(
        text.lines().any(|l| l == "dcc_signer_seconds_count 2"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l == "dcc_signer_seconds_bucket{le=\"1\"} 2"),
        "{text}"
    );
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .parse()
            .unwrap()
    };
    let signer_sum = value("dcc_signer_seconds_sum");
    assert!(signer_sum > 0.0 && signer_sum < 1.0, "{signer_sum}");
    let transactions = value("dcc_store_transaction_seconds_count");
    assert!(
        transactions >= 2.0,
        "at least the two certificates' commits: {transactions}"
    );
    let transaction_sum = value("dcc_store_transaction_seconds_sum");
    assert!(
        transaction_sum > 0.0 && transaction_sum < transactions,
        "{transaction_sum} s for {transactions} transactions"
    );
    assert!(
        text.lines()
            .any(|l| l == "dcc_circuit_open{dependency=\"store\"} 0"),
        "{text}"
    );
    portal.stop().await;
}

/// Stopping under load: every request answered 200 has its certificate in the ledger and the
/// audit chain, nothing else was recorded, and afterwards no request is served.
pub(super) async fn a_graceful_stop_loses_no_answered_certificate(backend: Backend) {
    let mut portal = TestPortal::start_configured(backend, Vec::new(), |config| {
        config.limits = RateLimits::unlimited();
    })
    .await;
    let url = portal.url("/api/certify/v2/issue");
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let client = portal.client_for(PHARMACY);
            let url = url.clone();
            tokio::spawn(async move {
                let mut answered = Vec::new();
                loop {
                    let Ok(response) = client.post(&url).json(&body(1)).send().await else {
                        break;
                    };
                    assert_eq!(response.status(), 200);
                    let Ok(answer) = response.json::<Value>().await else {
                        break;
                    };
                    answered.push(answer["uvci"].as_str().unwrap().to_owned());
                }
                answered
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    portal.portal.take().unwrap().stop().await;
    let mut answered = Vec::new();
    for worker in workers {
        answered.extend(worker.await.unwrap());
    }
    assert!(!answered.is_empty());
    for uvci in &answered {
        let entry = dcc_store::ledger::find_by_uvci(portal.store.pool(), uvci)
            .await
            .unwrap();
        assert!(
            entry.is_some(),
            "{uvci} was answered but is not in the ledger"
        );
    }
    assert_eq!(
        portal.ledger_count(PHARMACY).await,
        u64::try_from(answered.len()).unwrap()
    );
    let chain = dcc_store::audit::verify_chain(&portal.store).await.unwrap();
    assert_eq!(chain.first_broken, None);
    assert!(
        portal
            .client_for(PHARMACY)
            .post(&url)
            .json(&body(1))
            .send()
            .await
            .is_err(),
        "a stopped portal must not answer"
    );
    portal.stop().await;
}

/// Admission control: beyond `max_in_flight` requests the portal answers 503 `overloaded` with
/// `Retry-After` at once and records nothing (here the limit is 0, so every request is over it).
pub(super) async fn overload_is_answered_at_once_with_retry_after(backend: Backend) {
    let portal = TestPortal::start_configured(backend, Vec::new(), |config| {
        config.portal.max_in_flight = 0;
    })
    .await;
    let client = portal.client_for(PHARMACY);
    let url = portal.url("/api/certify/v2/issue");
    // A generous bound: the point is that the answer does not wait for capacity.
    let answer = tokio::time::timeout(std::time::Duration::from_secs(5), issue(&client, &url))
        .await
        .expect("an overloaded portal must answer at once, not queue");
    let (status, retry_after, body) = answer;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "overloaded");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(portal.ledger_count(PHARMACY).await, 0);
    // Other routes are not limited.
    let health = client
        .get(portal.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    portal.stop().await;
}

on_both_backends!(
    lock_holds_on_every_instance,
    rate_limit_answers_429_with_retry_after,
    metrics_count_requests_certificates_and_refusals,
    a_graceful_stop_loses_no_answered_certificate,
    overload_is_answered_at_once_with_retry_after,
);
