//! A registered pharmacy issues all three types; idempotent retries; response formats.

use dcc_core::trust_list::TrustList;
use dcc_core::verify;
use serde_json::{Value, json};

use super::support::{Backend, PHARMACY, TestPortal, now};

fn vaccination() -> Value {
    json!({"nam": {"fn": "Müller", "gn": "Jürgen"}, "dob": "1964-08-12",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-05-29"}]})
}

fn test_result() -> Value {
    let collected = (now() - time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    json!({"nam": {"fn": "Dießner", "gn": "Erika Dörte"}, "dob": "1980",
           "t": [{"tg": "840539006", "tt": "LP217198-3", "ma": "1232", "sc": collected,
                  "tr": "260415000", "tc": "Apotheke am Dev-Markt"}]})
}

fn recovery() -> Value {
    let positive = (now() - time::Duration::days(40)).date().to_string();
    json!({"nam": {"gn": "Anna"}, "dob": "1990-01", "r": [{"tg": "840539006", "fr": positive}]})
}

fn trust(portal: &TestPortal) -> TrustList {
    let mut trust = TrustList::new();
    for kind in ["v", "t", "r"] {
        let pem = std::fs::read(portal.dir.path().join(format!("pki/dcc/dsc-{kind}.pem"))).unwrap();
        trust.extend(TrustList::from_certificates(&pem).unwrap().iter().cloned());
    }
    trust
}

fn official_schema() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../dcc-core/testdata/eu-dcc/schema/DCC.combined-schema.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

async fn issues_every_type(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_for(PHARMACY);
    let trust = trust(&portal);
    let schema = official_schema();
    for (body, kind) in [
        (vaccination(), "v"),
        (test_result(), "t"),
        (recovery(), "r"),
    ] {
        let response = client
            .post(portal.url("/api/certify/v2/issue"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "{kind}: {:?}",
            response.text().await
        );
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        let uvci_header = response.headers()["x-dgc-id"].to_str().unwrap().to_owned();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["certificate_type"], kind);
        assert_eq!(answer["uvci"], uvci_header);
        assert!(
            uvci_header.starts_with("URN:UVCI:01:DE:APO1/"),
            "{uvci_header}"
        );
        let hc1 = answer["hc1"].as_str().unwrap();
        let verification = verify::verify(hc1, &trust, now().unix_timestamp()).unwrap();
        assert!(verification.is_valid(), "{kind}: {verification:?}");
        assert!(
            schema.is_valid(&verification.hcert.payload),
            "{}",
            verification.hcert.payload
        );
        assert_eq!(verification.hcert.payload[kind][0]["ci"], uvci_header);
        assert_eq!(verification.hcert.payload[kind][0]["co"], "DE");
        let ledger = dcc_store::ledger::find_by_uvci(portal.store.pool(), &uvci_header)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ledger.telematik_id, PHARMACY);
        assert_eq!(ledger.certificate_type.as_str(), kind);
    }
    assert_eq!(portal.ledger_count(PHARMACY).await, 3);
    let kinds = portal.audit_kinds().await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| k.starts_with("certificate_issued"))
            .count(),
        3
    );
    let report = dcc_store::audit::verify_chain(&portal.store).await.unwrap();
    assert_eq!(report.first_broken, None);
    portal.stop().await;
}

async fn idempotent_retry_returns_the_same_certificate(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_for(PHARMACY);
    let send = |body: Value| {
        client
            .post(portal.url("/api/certify/v2/issue"))
            .header("Idempotency-Key", "visit-4711")
            .json(&body)
            .send()
    };
    let first: Value = send(vaccination()).await.unwrap().json().await.unwrap();
    let again = send(vaccination()).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["hc1"], first["hc1"]);
    assert_eq!(portal.ledger_count(PHARMACY).await, 1);

    let other = send(recovery()).await.unwrap();
    assert_eq!(other.status(), 409);
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["code"], "idempotency_key_reused");
    assert_eq!(portal.ledger_count(PHARMACY).await, 1);
    portal.stop().await;
}

async fn base45_format_and_not_acceptable(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_for(PHARMACY);
    let response = client
        .post(portal.url("/api/certify/v2/issue"))
        .header("Accept", "application/cbor+base45")
        .json(&vaccination())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/cbor+base45"
    );
    assert!(response.text().await.unwrap().starts_with("HC1:"));
    let refused = client
        .post(portal.url("/api/certify/v2/issue"))
        .header("Accept", "text/html")
        .json(&vaccination())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 406);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["code"],
        "not_acceptable"
    );
    assert_eq!(portal.ledger_count(PHARMACY).await, 1);
    portal.stop().await;
}

/// The served description is the repository's file, names the issuing path and every code
/// the portal answers with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_is_served() {
    let portal = TestPortal::start(Backend::Sqlite).await;
    let response = portal
        .client_for(PHARMACY)
        .get(portal.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let served: Value = response.json().await.unwrap();
    let file =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap();
    assert_eq!(served, serde_json::from_str::<Value>(&file).unwrap());
    let responses = &served["paths"]["/api/certify/v2/issue"]["post"]["responses"];
    for status in ["200", "400", "403", "406", "409", "410", "422", "503"] {
        assert!(
            responses.get(status).is_some(),
            "status {status} undocumented"
        );
    }
    let codes = served["components"]["responses"]["Error"]["description"]
        .as_str()
        .unwrap();
    for code in [
        "unreadable_json",
        "wrong_certificate_profile",
        "profession_not_allowed",
        "pharmacy_not_registered",
        "pharmacy_suspended",
        "wrong_data_model",
        "not_acceptable",
        "idempotency_key_reused",
        "invalid_fields",
        "signer_unavailable",
        "store_unavailable",
    ] {
        assert!(codes.contains(code), "code {code} undocumented");
    }
    portal.stop().await;
}

on_both_backends!(
    issues_every_type,
    idempotent_retry_returns_the_same_certificate,
    base45_format_and_not_acceptable,
);
