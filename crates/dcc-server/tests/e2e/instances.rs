//! Several instances on one PostgreSQL: three portals (one with the certificate server in its
//! process, two each talking to their own separate certificate server) issue concurrently for
//! the same pharmacy. UVCIs stay unique, every answer is one ledger row, the audit chain is one
//! intact chain, and an idempotent retry through another portal returns the same certificate.

use std::collections::HashSet;
use std::sync::Arc;

use dcc_issuance::limits::RateLimits;
use dcc_server::server::{remote_signer, start_portal, start_signer};
use dcc_store::Store;
use serde_json::{Value, json};

use super::support::{Backend, PHARMACY, TestPortal};

const PER_CLIENT: usize = 15;
const CLIENTS_PER_PORTAL: usize = 3;

fn body() -> Value {
    json!({"nam": {"fn": "Muster"}, "dob": "1964",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_portals_and_two_signers_share_one_postgresql() {
    let portal = TestPortal::start_configured(Backend::Postgres, Vec::new(), |config| {
        config.limits = RateLimits::unlimited();
    })
    .await;
    let config = portal.config.clone();
    let any_port = || Some(([127, 0, 0, 1], 0).into());
    let mut signers = Vec::new();
    let mut portals = Vec::new();
    for _ in 0..2 {
        let signer = start_signer(&config, any_port()).await.unwrap();
        let url = format!("https://localhost:{}", signer.local_addr.port());
        let store = Store::connect(&config.database_url).await.unwrap();
        let remote = Arc::new(remote_signer(&config, &url).unwrap());
        portals.push(
            start_portal(&config, store, remote, any_port())
                .await
                .unwrap(),
        );
        signers.push(signer);
    }
    let mut urls = vec![portal.url("/api/certify/v2/issue")];
    urls.extend(portals.iter().map(|running| {
        format!(
            "https://localhost:{}/api/certify/v2/issue",
            running.local_addr.port()
        )
    }));

    // The same idempotency key through two different portals at once: one certificate.
    let (first, second) = tokio::join!(
        portal
            .client_for(PHARMACY)
            .post(&urls[1])
            .header("idempotency-key", "across-instances")
            .json(&body())
            .send(),
        portal
            .client_for(PHARMACY)
            .post(&urls[2])
            .header("idempotency-key", "across-instances")
            .json(&body())
            .send(),
    );
    let first: Value = first.unwrap().json().await.unwrap();
    let second: Value = second.unwrap().json().await.unwrap();
    assert_eq!(first["uvci"], second["uvci"], "{first} {second}");
    assert_eq!(first["hc1"], second["hc1"]);

    let mut workers = Vec::new();
    for url in &urls {
        for _ in 0..CLIENTS_PER_PORTAL {
            let client = portal.client_for(PHARMACY);
            let url = url.clone();
            workers.push(tokio::spawn(async move {
                let mut uvcis = Vec::new();
                for _ in 0..PER_CLIENT {
                    let response = client.post(&url).json(&body()).send().await.unwrap();
                    assert_eq!(response.status(), 200);
                    let answer: Value = response.json().await.unwrap();
                    uvcis.push(answer["uvci"].as_str().unwrap().to_owned());
                }
                uvcis
            }));
        }
    }
    let mut uvcis = Vec::new();
    for worker in workers {
        uvcis.extend(worker.await.unwrap());
    }
    let expected = urls.len() * CLIENTS_PER_PORTAL * PER_CLIENT;
    assert_eq!(uvcis.len(), expected);
    let unique: HashSet<&String> = uvcis.iter().collect();
    assert_eq!(
        unique.len(),
        expected,
        "UVCIs must be unique across instances"
    );
    assert_eq!(
        portal.ledger_count(PHARMACY).await,
        u64::try_from(expected + 1).unwrap()
    );
    let chain = dcc_store::audit::verify_chain(&portal.store).await.unwrap();
    assert_eq!(chain.first_broken, None);
    assert!(chain.entries >= u64::try_from(expected + 1).unwrap());

    for running in portals {
        running.stop().await;
    }
    for signer in signers {
        signer.stop().await;
    }
    portal.stop().await;
}
