//! What `dcc doctor` asks the portal: `GET /api/pharmacy/registration` (may this pharmacy
//! issue, read from the registry now) and `POST /api/certify/v2/dry-run` (every check of an
//! issuance request, nothing signed, recorded or audited).

use dcc_issuance::kill_switch;
use dcc_issuance::operators::Actor;
use dcc_store::locks::LockScope;
use dcc_store::pharmacies::{self, PharmacyStatus};
use serde_json::{Value, json};

use super::support::{Backend, Extra, PHARMACY, TestPortal, institution, now};

const UNREGISTERED: &str = "3-SMC-B-Testkarte-883110000000005";

fn body() -> Value {
    json!({"nam": {"fn": "Muster"}, "dob": "1964",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29"}]})
}

async fn get(portal: &TestPortal, telematik_id: &str, path: &str) -> (u16, Value) {
    let response = portal
        .client_for(telematik_id)
        .get(portal.url(path))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn dry_run(portal: &TestPortal, telematik_id: &str, body: &Value) -> (u16, Value) {
    let response = portal
        .client_for(telematik_id)
        .post(portal.url("/api/certify/v2/dry-run"))
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

pub(super) async fn registration_reports_active_unregistered_and_suspended(backend: Backend) {
    let extras = vec![Extra {
        request: institution(UNREGISTERED),
        revoked: false,
    }];
    let portal = TestPortal::start_with(backend, extras).await;
    let path = "/api/pharmacy/registration";
    let (status, answer) = get(&portal, PHARMACY, path).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"telematik_id": PHARMACY, "status": "active"})
    );

    let (status, answer) = get(&portal, UNREGISTERED, path).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("pharmacy_not_registered"))
    );
    assert!(answer["message"].as_str().unwrap().contains(UNREGISTERED));

    let mut tx = portal.store.begin().await.unwrap();
    pharmacies::set_status(&mut tx, PHARMACY, PharmacyStatus::Suspended, 0)
        .await
        .unwrap();
    dcc_store::commit(tx).await.unwrap();
    let (status, answer) = get(&portal, PHARMACY, path).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("pharmacy_suspended"))
    );
    portal.stop().await;
}

pub(super) async fn a_dry_run_checks_everything_and_records_nothing(backend: Backend) {
    let extras = vec![Extra {
        request: institution(UNREGISTERED),
        revoked: false,
    }];
    let portal = TestPortal::start_with(backend, extras).await;
    let audit_before = portal.audit_kinds().await.len();

    let (status, answer) = dry_run(&portal, PHARMACY, &body()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"dry_run": true, "certificate_type": "v"}));

    let mut invalid = body();
    invalid["v"][0]["dn"] = json!(0);
    let (status, answer) = dry_run(&portal, PHARMACY, &invalid).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (422, Some("invalid_fields"))
    );
    assert_eq!(answer["violations"][0]["path"], "/v/0/dn", "{answer}");

    let (status, answer) = dry_run(&portal, UNREGISTERED, &body()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("pharmacy_not_registered"))
    );

    kill_switch::lock(
        &portal.store,
        &Actor::CommandLine,
        LockScope::Pharmacy(PHARMACY.to_owned()),
        "fraud_suspected",
        "checked by the test",
        now().unix_timestamp(),
    )
    .await
    .unwrap();
    let audit_locked = portal.audit_kinds().await.len();
    let (status, answer) = dry_run(&portal, PHARMACY, &body()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (423, Some("issuance_locked"))
    );
    assert_eq!(answer["reason"], "fraud_suspected");

    // Nothing signed, recorded or audited by any of them (the lock audited itself).
    assert_eq!(portal.ledger_count(PHARMACY).await, 0);
    assert_eq!(audit_locked, audit_before + 1);
    assert_eq!(portal.audit_kinds().await.len(), audit_locked);
    portal.stop().await;
}

on_both_backends!(
    registration_reports_active_unregistered_and_suspended,
    a_dry_run_checks_everything_and_records_nothing,
);
