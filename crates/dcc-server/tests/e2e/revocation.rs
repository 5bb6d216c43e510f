//! Revocation end to end over mutual TLS: 100 certificates of one pharmacy, 10 of them in a
//! "fraud" window; revoking the window revokes exactly those 10, the published list marks them
//! revoked and leaves the other 90 valid.

use dcc_core::hcert;
use dcc_core::revocation_list::{RevocationCheck, RevocationList};
use dcc_core::trust_list::TrustList;
use dcc_core::verify::verify_decoded;
use dcc_issuance::limits::RateLimits;
use dcc_issuance::revocation::{self, RevocationError, RevocationReason, Selection};
use serde_json::{Value, json};

use super::support::{Backend, PHARMACY, TestPortal, now};

fn body(dose: u8) -> Value {
    json!({"nam": {"fn": "Muster", "gn": "Erika"}, "dob": "1964-08-12",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": dose, "sd": 2, "dt": "2021-05-29"}]})
}

async fn issue_many(portal: &TestPortal, client: &reqwest::Client, count: usize) -> Vec<Value> {
    let mut issued = Vec::with_capacity(count);
    for n in 0..count {
        let response = client
            .post(portal.url("/api/certify/v2/issue"))
            .json(&body(u8::try_from(n % 2).unwrap() + 1))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        issued.push(response.json().await.unwrap());
    }
    issued
}

/// Waits until the wall clock has entered the next second, so that certificates issued
/// before and after fall on different sides of a window boundary.
async fn next_second() -> i64 {
    let start = now().unix_timestamp();
    while now().unix_timestamp() == start {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    now().unix_timestamp()
}

fn trust(portal: &TestPortal) -> TrustList {
    let pem = std::fs::read(portal.dir.path().join("pki/dcc/dsc-v.pem")).unwrap();
    TrustList::from_certificates(&pem).unwrap()
}

pub(super) async fn revoking_a_window_revokes_exactly_its_certificates(backend: Backend) {
    let portal = TestPortal::start_configured(backend, Vec::new(), |config| {
        config.limits = RateLimits::unlimited();
    })
    .await;
    let client = portal.client_for(PHARMACY);
    let mut before = issue_many(&portal, &client, 45).await;
    let from = next_second().await;
    let window = issue_many(&portal, &client, 10).await;
    let until = now().unix_timestamp();
    next_second().await;
    let after = issue_many(&portal, &client, 45).await;

    // An unknown UVCI in a list revokes nothing at all.
    let with_unknown = Selection::Certificates(vec![
        window[0]["uvci"].as_str().unwrap().to_owned(),
        "URN:UVCI:01:DE:NOPE/1#X".to_owned(),
    ]);
    assert!(matches!(
        revocation::revoke(&portal.store, &with_unknown, RevocationReason::Fraud, until).await,
        Err(RevocationError::UnknownCertificates(unknown)) if unknown == ["URN:UVCI:01:DE:NOPE/1#X"]
    ));

    let selection = Selection::PharmacyWindow {
        telematik_id: PHARMACY.to_owned(),
        from,
        until,
    };
    let outcome = revocation::revoke(&portal.store, &selection, RevocationReason::Fraud, until)
        .await
        .unwrap();
    let mut expected: Vec<String> = window
        .iter()
        .map(|issued| issued["uvci"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    assert_eq!(outcome.revoked, expected);

    // The published list, fetched as a verifier would.
    let response = client
        .get(portal.url("/revocation-list"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let last_modified = response
        .headers()
        .get("last-modified")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let list = RevocationList::from_json(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(list.len(), 30, "10 certificates × 3 hash types");
    let trust = trust(&portal);
    let at = now().unix_timestamp();
    let check = |issued: &Value| {
        let decoded = hcert::decode(issued["hc1"].as_str().unwrap()).unwrap();
        let verification = verify_decoded(decoded, &trust, at);
        assert!(verification.is_valid(), "{issued}");
        list.check(&verification.hcert)
    };
    for issued in &window {
        assert!(
            matches!(check(issued), RevocationCheck::Revoked(_)),
            "{issued}"
        );
    }
    before.extend(after);
    assert_eq!(before.len(), 90);
    for issued in &before {
        assert_eq!(check(issued), RevocationCheck::NotRevoked, "{issued}");
    }

    // Unchanged since: 304.
    let response = client
        .get(portal.url("/revocation-list"))
        .header("if-modified-since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);

    // Every revocation is audited; revoking the window again changes nothing.
    let revoked_entries = portal
        .audit_kinds()
        .await
        .iter()
        .filter(|kind| kind.starts_with("certificate_revoked {\"reason\":\"fraud\"}"))
        .count();
    assert_eq!(revoked_entries, 10);
    let again = revocation::revoke(&portal.store, &selection, RevocationReason::Error, until)
        .await
        .unwrap();
    assert!(again.revoked.is_empty());
    portal.stop().await;
}

/// The Munich case: one person of a pharmacy issued fakes while colleagues issued genuine
/// certificates in the same hours. Revoking that operator's window leaves the colleagues'.
pub(super) async fn revoking_an_operator_window_spares_colleagues(backend: Backend) {
    let portal = TestPortal::start_configured(backend, Vec::new(), |config| {
        config.limits = RateLimits::unlimited();
    })
    .await;
    let colleague = portal.client_for(PHARMACY);
    let identity = portal.identity_of(PHARMACY);
    let der = dcc_pki::certificate::EncodedCertificate::from_pem(&identity)
        .unwrap()
        .der()
        .to_vec();
    let token =
        super::support::operator_session_named(&portal.store, PHARMACY, "insider", &der).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let insider = reqwest::Client::builder()
        .default_headers(headers)
        .tls_certs_only([reqwest::Certificate::from_pem(
            &std::fs::read(portal.dir.path().join("pki/service/ca.pem")).unwrap(),
        )
        .unwrap()])
        .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
        .build()
        .unwrap();
    let from = now().unix_timestamp();
    let mut fakes = Vec::new();
    let mut genuine = Vec::new();
    for _ in 0..5 {
        fakes.extend(issue_many(&portal, &insider, 2).await);
        genuine.extend(issue_many(&portal, &colleague, 2).await);
    }
    let until = now().unix_timestamp();
    let insider_id =
        dcc_store::operators::find_by_username(portal.store.pool(), PHARMACY, "insider")
            .await
            .unwrap()
            .unwrap()
            .id;
    let selection = Selection::OperatorWindow {
        operator_id: insider_id,
        from,
        until,
    };
    let outcome = revocation::revoke(&portal.store, &selection, RevocationReason::Fraud, until)
        .await
        .unwrap();
    let mut expected: Vec<String> = fakes
        .iter()
        .map(|issued| issued["uvci"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    assert_eq!(outcome.revoked, expected);
    for issued in &genuine {
        let entry =
            dcc_store::ledger::find_by_uvci(portal.store.pool(), issued["uvci"].as_str().unwrap())
                .await
                .unwrap()
                .unwrap();
        assert_eq!(entry.revoked_at, None, "{issued}");
    }
    let unknown = Selection::OperatorWindow {
        operator_id: 424_242,
        from,
        until,
    };
    assert!(matches!(
        revocation::revoke(&portal.store, &unknown, RevocationReason::Fraud, until).await,
        Err(RevocationError::UnknownOperator(424_242))
    ));
    portal.stop().await;
}

on_both_backends!(
    revoking_a_window_revokes_exactly_its_certificates,
    revoking_an_operator_window_spares_colleagues,
);
