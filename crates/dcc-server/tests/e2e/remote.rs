//! The certificate server as a service of its own: portal and signer each on port 0 in this
//! process, talking real mutual TLS over loopback (SQLite only; the storage paths are covered
//! on both backends elsewhere).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use dcc_core::trust_list::TrustList;
use dcc_pki::dev_pki::DevPki;
use dcc_pki::layout::Overwrite;
use dcc_server::config::Config;
use dcc_server::server::{RunningSigner, remote_signer, start_portal, start_signer};
use dcc_store::Store;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::{Value, json};

use super::support::{PHARMACY, TestPortal, now, register};

/// Portal and separate signer, the signer started first.
struct Remote {
    portal: TestPortal,
    signer: Option<RunningSigner>,
    signer_url: String,
    config: Config,
}

impl Remote {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// `portal_config` adjusts the portal's copy of the configuration (the signer keeps the
    /// original).
    async fn start_with(portal_config: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::generate(now()).unwrap();
        pki.write_to(&dir.path().join("pki"), Overwrite::Refuse)
            .unwrap();
        let config = Config::development(dir.path());
        let store = Store::connect(&config.database_url).await.unwrap();
        register(&store, PHARMACY, "APO1").await;
        let signer = start_signer(&config, Some(LOOPBACK_ANY_PORT.into()))
            .await
            .unwrap();
        let signer_url = format!("https://localhost:{}", signer.local_addr.port());
        let mut for_portal = config.clone();
        portal_config(&mut for_portal);
        let remote = remote_signer(&for_portal, &signer_url).unwrap();
        let portal = start_portal(
            &for_portal,
            store.clone(),
            Arc::new(remote),
            Some(LOOPBACK_ANY_PORT.into()),
        )
        .await
        .unwrap();
        Self {
            portal: TestPortal::from_parts(portal, store, for_portal, pki, dir).await,
            signer: Some(signer),
            signer_url,
            config,
        }
    }

    /// A client presenting the portal's service identity (dcc-portal).
    fn as_portal(&self) -> reqwest::Client {
        let client = self.portal.pki.portal_client();
        self.portal.client(Some(format!(
            "{}{}",
            client.certificate_pem(),
            client.private_key_pem()
        )))
    }

    fn signer_url(&self, path: &str) -> String {
        format!("{}{path}", self.signer_url)
    }

    async fn issue(&self) -> (u16, Value) {
        let response = self
            .portal
            .client_for(PHARMACY)
            .post(self.portal.url("/api/certify/v2/issue"))
            .json(&vaccination_request())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn stop(mut self) {
        if let Some(signer) = self.signer.take() {
            signer.stop().await;
        }
        self.portal.stop().await;
    }
}

const LOOPBACK_ANY_PORT: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

fn vaccination_request() -> Value {
    json!({"nam": {"fn": "Müller", "gn": "Jürgen"}, "dob": "1964-08-12",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-05-29"}]})
}

/// A complete payload as the portal sends it to the signer.
fn complete_payload() -> Value {
    json!({
        "ver": "1.3.0",
        "nam": {"fn": "Muster", "fnt": "MUSTER"},
        "dob": "1964",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
               "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29", "co": "DE",
               "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:APO1/X1#F"}]
    })
}

fn dsc_trust(dir: &Path) -> TrustList {
    let mut trust = TrustList::new();
    for kind in ["v", "t", "r"] {
        let pem = std::fs::read(dir.join(format!("pki/dcc/dsc-{kind}.pem"))).unwrap();
        trust.extend(TrustList::from_certificates(&pem).unwrap().iter().cloned());
    }
    trust
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pharmacy_issues_through_a_separate_signer() {
    let remote = Remote::start().await;
    let (status, answer) = remote.issue().await;
    assert_eq!(status, 200, "{answer}");
    let hc1 = answer["hc1"].as_str().unwrap();
    let trust = dsc_trust(remote.portal.dir.path());
    let verification = dcc_core::verify::verify(hc1, &trust, now().unix_timestamp()).unwrap();
    assert!(verification.is_valid(), "{verification:?}");
    assert_eq!(verification.hcert.payload["v"][0]["ci"], answer["uvci"]);
    assert_eq!(verification.hcert.payload["nam"]["fnt"], "MUELLER");
    assert_eq!(remote.portal.ledger_count(PHARMACY).await, 1);
    let ledger = dcc_store::ledger::find_by_uvci(
        remote.portal.store.pool(),
        answer["uvci"].as_str().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        Some(ledger.kid),
        verification.kid().map(|kid| kid.to_base64())
    );
    assert_eq!(
        ledger.expires_at,
        verification.hcert.claims.expires_at.unwrap()
    );
    remote.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signer_signs_a_payload_and_nothing_else() {
    let remote = Remote::start().await;
    let portal = remote.as_portal();
    let health = portal
        .get(remote.signer_url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let signed = portal
        .post(remote.signer_url("/sign"))
        .json(&json!({"payload": complete_payload()}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);
    let answer: Value = signed.json().await.unwrap();
    let trust = dsc_trust(remote.portal.dir.path());
    let hc1 = answer["hc1"].as_str().unwrap();
    let verification = dcc_core::verify::verify(hc1, &trust, now().unix_timestamp()).unwrap();
    assert!(verification.is_valid(), "{verification:?}");
    assert_eq!(verification.hcert.payload, complete_payload());
    assert_eq!(
        answer["kid"].as_str(),
        verification.kid().map(|kid| kid.to_base64()).as_deref()
    );
    assert_eq!(
        answer["issued_at"].as_i64(),
        verification.hcert.claims.issued_at
    );
    assert_eq!(
        answer["expires_at"].as_i64(),
        verification.hcert.claims.expires_at
    );
    assert_eq!(answer["signature"].as_str().map(str::len), Some(88));

    for refused in [
        json!({"payload": complete_payload(), "hash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}),
        json!({"hash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}),
        json!({"payload": complete_payload(), "claims": {"iat": 0, "exp": 1}}),
        json!({"payload": {"nam": {"fn": "Muster"}}}),
    ] {
        let response = portal
            .post(remote.signer_url("/sign"))
            .json(&refused)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{refused}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "unreadable_payload", "{refused}");
    }
    remote.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pharmacy_certificate_cannot_reach_the_signer() {
    let remote = Remote::start().await;
    let pharmacy = remote.portal.client_for(PHARMACY);
    let sign = pharmacy
        .post(remote.signer_url("/sign"))
        .json(&json!({"payload": complete_payload()}))
        .send()
        .await;
    let error = sign.expect_err("an institution certificate reached the signer");
    assert!(error.status().is_none(), "{error:?}");
    assert!(
        pharmacy
            .get(remote.signer_url("/health/live"))
            .send()
            .await
            .is_err()
    );
    // Nor does a client without a certificate get through.
    assert!(
        remote
            .portal
            .client(None)
            .get(remote.signer_url("/health/live"))
            .send()
            .await
            .is_err()
    );
    remote.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_service_identity_gets_403_not_the_portal() {
    // The dev PKI discards its service CA key, so this test makes a service CA of its own
    // and runs a signer that trusts it: both clients below chain to it; only the CN differs.
    let remote = Remote::start().await;
    let service = ServicePki::generate();
    let dir = remote.portal.dir.path().join("pki/other-service");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).unwrap();
        dir.join(name)
    };
    let mut config = remote.config.clone();
    config.signer.client_ca = write("ca.pem", &service.ca_pem);
    config.signer.tls_certificate = write("signer.pem", &service.signer.0);
    config.signer.tls_key = write("signer.key", &service.signer.1);
    let signer = start_signer(&config, Some(LOOPBACK_ANY_PORT.into()))
        .await
        .unwrap();
    let url = |path: &str| format!("https://localhost:{}{path}", signer.local_addr.port());
    let client = |(certificate, key): &(String, String)| {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(service.ca_pem.as_bytes()).unwrap()])
            .identity(
                reqwest::Identity::from_pem(format!("{certificate}{key}").as_bytes()).unwrap(),
            )
            .build()
            .unwrap()
    };

    let billing = client(&service.billing);
    for response in [
        billing.get(url("/health/live")).send().await.unwrap(),
        billing
            .post(url("/sign"))
            .json(&json!({"payload": complete_payload()}))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), 403);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_the_portal");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // The same CA with the portal's CN is served: the CN alone decided.
    let portal = client(&service.portal);
    let health = portal.get(url("/health/live")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    signer.stop().await;
    remote.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signer_down_answers_503_quickly_and_records_nothing() {
    let mut remote = Remote::start().await;
    remote.signer.take().unwrap().stop().await;
    // Well below the client's 10 s request timeout: a closed port fails at once.
    let (status, answer) = tokio::time::timeout(Duration::from_secs(5), remote.issue())
        .await
        .expect("the portal did not answer within 5 s");
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("signer_unavailable"))
    );
    assert_eq!(remote.portal.ledger_count(PHARMACY).await, 0);
    let audit = remote.portal.audit_kinds().await;
    assert!(
        audit
            .iter()
            .any(|entry| entry.starts_with("issuance_rejected")
                && entry.contains("signer_unavailable")),
        "{audit:?}"
    );
    assert!(
        !audit
            .iter()
            .any(|entry| entry.starts_with("certificate_issued"))
    );
    remote.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_that_is_down_is_paused_and_service_resumes_by_itself() {
    let mut remote = Remote::start().await;
    let port = remote.signer.as_ref().unwrap().local_addr.port();
    remote.signer.take().unwrap().stop().await;
    for _ in 0..dcc_server::circuit_breaker::FAILURES_TO_OPEN {
        let (status, answer) = remote.issue().await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (503, Some("signer_unavailable"))
        );
    }
    // The signer is back at once, but the open breaker does not ask it yet.
    let signer = start_signer(&remote.config, Some(([127, 0, 0, 1], port).into()))
        .await
        .unwrap();
    remote.signer = Some(signer);
    let (status, answer) = remote.issue().await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("signer_unavailable"))
    );
    // Within a few seconds it lets a call through and service resumes.
    let mut resumed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if remote.issue().await.0 == 200 {
            resumed = true;
            break;
        }
    }
    assert!(
        resumed,
        "service did not resume within 5 s of the signer's return"
    );
    assert_eq!(remote.portal.ledger_count(PHARMACY).await, 1);
    remote.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_id_follows_a_certificate_from_portal_to_signer() {
    super::support::capture_logs();
    let remote = Remote::start().await;
    let client = remote.portal.client_for(PHARMACY);
    let response = client
        .post(remote.portal.url("/api/certify/v2/issue"))
        .header("x-request-id", "e2e-req-4711")
        .json(&json!({"nam": {"fn": "Muster"}, "dob": "1964",
               "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                      "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "e2e-req-4711");
    // The certificate server logged its signature inside a span with the portal's id.
    let logs = super::support::captured_logs();
    assert!(
        logs.lines()
            .any(|line| line.contains("\"signed\"") && line.contains("e2e-req-4711")),
        "no signer log line with the request id in:\n{logs}"
    );
    // A request without an id, or with a malformed one, gets a fresh one.
    let response = client
        .get(remote.portal.url("/health/live"))
        .header("x-request-id", "<not an id>")
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    remote.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_each_hop_and_names_the_signer_when_it_is_down() {
    let mut remote = Remote::start().await;
    let client = remote.portal.client_for(PHARMACY);
    let ready = |client: reqwest::Client, url: String| async move {
        let response = client.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };
    let url = remote.portal.url("/health/ready");
    let (status, body) = ready(client.clone(), url.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    for hop in ["database", "signer"] {
        assert_eq!(body["hops"][hop]["ok"], true, "{body}");
        assert!(body["hops"][hop]["latency_ms"].as_f64().unwrap() >= 0.0);
    }
    assert!(
        body["hops"].get("hsm").is_none(),
        "file keys have no HSM hop: {body}"
    );

    // The signer goes away; its open connections close with it.
    remote.signer.take().unwrap().stop().await;
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), ready(client, url))
        .await
        .expect("readiness did not answer within 5 s");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["hops"]["database"]["ok"], true, "{body}");
    assert_eq!(body["hops"]["signer"]["ok"], false, "{body}");
    assert_eq!(body["hops"]["signer"]["code"], "signer_unavailable");
    remote.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signer_refuses_a_payload_that_fails_the_issuing_schema() {
    let remote = Remote::start().await;
    let mut invalid = complete_payload();
    // The standardised name must be upper case (ICAO 9303); the model accepts it, the
    // issuing schema does not.
    invalid["nam"]["fnt"] = json!("muster");
    let response = remote
        .as_portal()
        .post(remote.signer_url("/sign"))
        .json(&json!({"payload": invalid}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "signer_refused");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("the payload is invalid")),
        "{body}"
    );
    let violations = body["violations"].as_array().unwrap();
    assert!(violations.iter().any(|v| v["path"] == "/nam/fnt"), "{body}");
    remote.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_refuses_a_certificate_that_does_not_verify_against_its_dscs() {
    // The portal is configured with the DSCs of another PKI: whatever the signer returns
    // carries an unknown kid, so the portal hands out nothing and records nothing.
    let foreign = tempfile::tempdir().unwrap();
    DevPki::generate(now())
        .unwrap()
        .write_to(foreign.path(), Overwrite::Refuse)
        .unwrap();
    let foreign_dir = foreign.path().to_owned();
    let remote = Remote::start_with(move |config| {
        for (key, kind) in [
            (&mut config.signer.vaccination, "v"),
            (&mut config.signer.test, "t"),
            (&mut config.signer.recovery, "r"),
        ] {
            key.certificate = foreign_dir.join(format!("dcc/dsc-{kind}.pem"));
        }
    })
    .await;
    let (status, answer) = remote.issue().await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("signer_unavailable"))
    );
    assert!(answer.get("hc1").is_none());
    assert_eq!(remote.portal.ledger_count(PHARMACY).await, 0);
    remote.stop().await;
}

/// A service CA made in the test, with a signer TLS certificate and two client identities
/// (certificate PEM, key PEM): the portal's CN and another service's.
struct ServicePki {
    ca_pem: String,
    signer: (String, String),
    portal: (String, String),
    billing: (String, String),
}

impl ServicePki {
    fn generate() -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Test Service CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |common_name: &str, sans: Vec<String>, usage: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(sans).unwrap();
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(DnType::CommonName, common_name);
            params.extended_key_usages = vec![usage];
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            let certificate = params.signed_by(&key, &issuer).unwrap();
            (certificate.pem(), key.serialize_pem())
        };
        Self {
            signer: leaf(
                "dcc-signer-server",
                vec!["localhost".into()],
                ExtendedKeyUsagePurpose::ServerAuth,
            ),
            portal: leaf(
                dcc_pki::service::PORTAL_CLIENT_COMMON_NAME,
                Vec::new(),
                ExtendedKeyUsagePurpose::ClientAuth,
            ),
            billing: leaf(
                "dcc-billing",
                Vec::new(),
                ExtendedKeyUsagePurpose::ClientAuth,
            ),
            ca_pem,
        }
    }
}
