//! Every refusal: at the TLS layer (no certificate, unknown CA, expired, revoked) and after it
//! (wrong profile, wrong profession, not registered, suspended, bad input). Each asserts the
//! status or TLS failure, the stable code, the audit entry, and that the ledger stayed empty.

use std::time::Duration;

use dcc_pki::institution_request::Profile;
use dcc_store::pharmacies::{self, PharmacyStatus};
use serde_json::{Value, json};

use super::support::{Backend, Extra, PHARMACY, TestPortal, institution, now, other_profile};

const EXPIRED: &str = "3-SMC-B-Testkarte-883110000000001";
const REVOKED: &str = "3-SMC-B-Testkarte-883110000000002";
const NO_ADMISSION: &str = "3-SMC-B-Testkarte-883110000000003";
const PHYSICIAN: &str = "1-SMC-B-Testkarte-883110000000004";
const UNREGISTERED: &str = "3-SMC-B-Testkarte-883110000000005";

fn body() -> Value {
    json!({"nam": {"fn": "Muster"}, "dob": "1964",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29"}]})
}

fn extras() -> Vec<Extra> {
    let mut expired = institution(EXPIRED);
    expired.not_before = Some(now() - time::Duration::days(30));
    expired.not_after = Some(now() - time::Duration::days(1));
    let mut physician = institution(PHYSICIAN);
    physician.profession_oid = "1.2.276.0.76.4.50".parse().unwrap();
    physician.profession_item = "Betriebsstätte Arzt".into();
    vec![
        Extra {
            request: expired,
            revoked: false,
        },
        Extra {
            request: institution(REVOKED),
            revoked: true,
        },
        Extra {
            request: other_profile(NO_ADMISSION, Profile::WithoutAdmission),
            revoked: false,
        },
        Extra {
            request: physician,
            revoked: false,
        },
        Extra {
            request: institution(UNREGISTERED),
            revoked: false,
        },
    ]
}

/// Waits (bounded) for an audit entry written off the request path.
async fn audited(portal: &TestPortal, wanted: &str) {
    for _ in 0..200 {
        if portal
            .audit_kinds()
            .await
            .iter()
            .any(|entry| entry.contains(wanted))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no audit entry {wanted}: {:?}", portal.audit_kinds().await);
}

async fn issue(
    portal: &TestPortal,
    client: &reqwest::Client,
) -> Result<(u16, Value), reqwest::Error> {
    let response = client
        .post(portal.url("/api/certify/v2/issue"))
        .json(&body())
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn tls_layer_refusals(backend: Backend) {
    let portal = TestPortal::start_with(backend, extras()).await;
    // Every institution below is registered, so only the certificate decides.
    for id in [EXPIRED, REVOKED] {
        super::support::register(&portal.store, id, &format!("S{}", &id[id.len() - 3..])).await;
    }
    assert!(
        issue(&portal, &portal.client(None)).await.is_err(),
        "no certificate accepted"
    );
    audited(&portal, "\"code\":\"no_client_certificate\"").await;

    let stranger = dcc_pki::dev_pki::DevPki::generate(now()).unwrap();
    let (_, foreign) = stranger.institutions().iter().next().unwrap();
    let identity = format!(
        "{}{}{}",
        foreign.certificate_pem(),
        stranger.smcb_ca().certificate().to_pem(),
        foreign.private_key_pem()
    );
    assert!(
        issue(&portal, &portal.client(Some(identity)))
            .await
            .is_err(),
        "foreign CA accepted"
    );
    audited(&portal, "\"code\":\"unknown_ca\"").await;

    assert!(
        issue(&portal, &portal.client_for(EXPIRED)).await.is_err(),
        "expired accepted"
    );
    audited(&portal, "\"code\":\"certificate_expired\"").await;

    assert!(
        issue(&portal, &portal.client_for(REVOKED)).await.is_err(),
        "revoked accepted"
    );
    audited(&portal, "\"code\":\"certificate_revoked\"").await;

    for id in [PHARMACY, EXPIRED, REVOKED] {
        assert_eq!(portal.ledger_count(id).await, 0);
    }
    portal.stop().await;
}

async fn identity_refusals(backend: Backend) {
    let portal = TestPortal::start_with(backend, extras()).await;
    for (id, status, code) in [
        (NO_ADMISSION, 403, "wrong_certificate_profile"),
        (PHYSICIAN, 403, "profession_not_allowed"),
        (UNREGISTERED, 403, "pharmacy_not_registered"),
    ] {
        let (got_status, answer) = issue(&portal, &portal.client_for(id)).await.unwrap();
        assert_eq!(
            (got_status, answer["code"].as_str().unwrap()),
            (status, code),
            "{id}"
        );
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
        audited(&portal, &format!("\"code\":\"{code}\"")).await;
        assert_eq!(portal.ledger_count(id).await, 0);
    }
    portal.stop().await;
}

async fn suspension_takes_effect_without_restart(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_for(PHARMACY);
    set_status(&portal, PharmacyStatus::Suspended).await;
    let (status, answer) = issue(&portal, &client).await.unwrap();
    assert_eq!(
        (status, answer["code"].as_str().unwrap()),
        (403, "pharmacy_suspended")
    );
    assert_eq!(portal.ledger_count(PHARMACY).await, 0);
    set_status(&portal, PharmacyStatus::Active).await;
    let (status, _) = issue(&portal, &client).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(portal.ledger_count(PHARMACY).await, 1);
    portal.stop().await;
}

async fn set_status(portal: &TestPortal, status: PharmacyStatus) {
    let mut tx = portal.store.begin().await.unwrap();
    pharmacies::set_status(&mut tx, PHARMACY, status, now().unix_timestamp())
        .await
        .unwrap();
    dcc_store::commit(tx).await.unwrap();
}

async fn bad_input_is_refused_and_not_recorded(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_for(PHARMACY);
    let url = portal.url("/api/certify/v2/issue");
    let unreadable = client.post(&url).body("{not json").send().await.unwrap();
    assert_eq!(unreadable.status(), 400);
    assert_eq!(
        unreadable.json::<Value>().await.unwrap()["code"],
        "unreadable_json"
    );

    let two_types = json!({"nam": {"fn": "A"}, "dob": "1990", "v": [{}], "t": [{}]});
    let model = client.post(&url).json(&two_types).send().await.unwrap();
    assert_eq!(model.status(), 406);
    assert_eq!(
        model.json::<Value>().await.unwrap()["code"],
        "wrong_data_model"
    );

    let mut invalid = body();
    invalid["v"][0]["dn"] = json!(0);
    invalid["v"][0]["mp"] = json!("EU/9/99/9999");
    invalid["v"][0]["ci"] = json!("URN:UVCI:01:DE:MINE/1#A");
    let refused = client.post(&url).json(&invalid).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["code"], "invalid_fields");
    let paths: Vec<&str> = answer["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/v/0/ci"], "server-set fields are refused first");

    invalid["v"][0].as_object_mut().unwrap().remove("ci");
    let refused = client.post(&url).json(&invalid).send().await.unwrap();
    let answer: Value = refused.json().await.unwrap();
    let paths: Vec<&str> = answer["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/v/0/dn", "/v/0/mp"]);
    assert!(
        answer["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("/v/0/dn")
    );

    assert_eq!(portal.ledger_count(PHARMACY).await, 0);
    audited(&portal, "\"code\":\"invalid_fields\"").await;
    portal.stop().await;
}

on_both_backends!(
    tls_layer_refusals,
    identity_refusals,
    suspension_takes_effect_without_restart,
    bad_input_is_refused_and_not_recorded,
);
