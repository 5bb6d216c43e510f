//! Operators over real mutual TLS: signing in with password and TOTP (enrolment at the first
//! sign-in), lock-out, sessions bound to the institution certificate, sign-out, the operator
//! recorded with every certificate, and the kill switch for one operator.

use dcc_auth::role::Role;
use dcc_auth::totp::TotpSecret;
use dcc_issuance::kill_switch;
use dcc_issuance::operators::{self, Actor, NewAccount};
use dcc_store::locks::LockScope;
use serde_json::{Value, json};

use super::support::{Backend, Extra, PHARMACY, TestPortal, institution, now};

const OTHER: &str = "3-SMC-B-Testkarte-883110000000077";
const PASSWORD: &str = "correct horse battery staple";

on_both_backends!(
    enrolment_then_sign_in_then_issue_records_the_operator,
    wrong_codes_lock_the_account_and_nothing_is_issued,
    a_session_is_worthless_with_another_certificate,
    signing_out_ends_the_session,
    an_operator_lock_stops_only_that_operator,
    an_operator_rate_limit_stops_only_that_operator,
);

fn body() -> Value {
    json!({"nam": {"fn": "Muster"}, "dob": "1964",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29"}]})
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    token: Option<&str>,
) -> (u16, Value) {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Creates an account as the association's command line would; `enrolled` gives it a secret.
async fn account(portal: &TestPortal, username: &str, enrolled: Option<&TotpSecret>) -> i64 {
    operators::create(
        &portal.store,
        &Actor::CommandLine,
        &NewAccount {
            scope: PHARMACY,
            username,
            role: Role::Pharmacist,
            password: PASSWORD,
            totp_secret: enrolled,
        },
        now().unix_timestamp(),
        [9; 16],
    )
    .await
    .unwrap()
}

fn code(secret: &TotpSecret) -> String {
    secret.code_at(now().unix_timestamp())
}

async fn sign_in(
    portal: &TestPortal,
    client: &reqwest::Client,
    username: &str,
    totp: &str,
) -> (u16, Value) {
    let login = json!({"username": username, "password": PASSWORD, "totp": totp});
    post(client, &portal.url("/api/auth/login"), &login, None).await
}

pub(super) async fn enrolment_then_sign_in_then_issue_records_the_operator(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_without_operator(PHARMACY);
    let id = account(&portal, "anna", None).await;

    // First sign-in: the password is right and the second factor must be enrolled.
    let (status, answer) = post(
        &client,
        &portal.url("/api/auth/login"),
        &json!({"username": "anna", "password": PASSWORD}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "enrolment_required");
    let secret = TotpSecret::from_base32(answer["totp_secret"].as_str().unwrap()).unwrap();
    assert!(
        answer["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/DCC%20Apotheke:"),
        "{answer}"
    );
    let enrolment = json!({"enrolment_token": answer["enrolment_token"], "totp": "000000"});
    let (status, refused) = post(&client, &portal.url("/api/auth/enrol"), &enrolment, None).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (401, Some("totp_invalid")),
        "{refused}"
    );
    let enrolment = json!({"enrolment_token": answer["enrolment_token"], "totp": code(&secret)});
    let (status, signed_in) = post(&client, &portal.url("/api/auth/enrol"), &enrolment, None).await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["operator"]["username"], "anna");
    let token = signed_in["token"].as_str().unwrap().to_owned();

    // The enrolment code cannot be used again for a sign-in (one use per code).
    let (status, replayed) = sign_in(&portal, &client, "anna", &code(&secret)).await;
    assert_eq!(
        (status, replayed["code"].as_str()),
        (401, Some("totp_invalid")),
        "{replayed}"
    );

    // Without a session the API refuses; with it, the certificate records the operator.
    let issue_url = portal.url("/api/certify/v2/issue");
    let (status, answer) = post(&client, &issue_url, &body(), None).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("session_required"))
    );
    let (status, issued) = post(&client, &issue_url, &body(), Some(&token)).await;
    assert_eq!(status, 200, "{issued}");
    let uvci = issued["uvci"].as_str().unwrap();
    let entry = dcc_store::ledger::find_by_uvci(portal.store.pool(), uvci)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.operator_id, Some(id));
    let kinds = portal.audit_kinds().await;
    assert!(
        kinds
            .iter()
            .any(|kind| kind.starts_with("certificate_issued")
                && kind.contains(&format!("\"operator\":{id}"))),
        "{kinds:?}"
    );
    for expected in [
        "operator_created",
        "operator_totp_enrolled",
        "operator_signed_in",
        "operator_sign_in_failed",
    ] {
        assert!(
            kinds.iter().any(|kind| kind.starts_with(expected)),
            "{expected} in {kinds:?}"
        );
    }
    // Neither the password nor the secret is in the audit log.
    let all = kinds.join("\n");
    assert!(!all.contains(PASSWORD) && !all.contains(&secret.to_base32()));
    portal.stop().await;
}

pub(super) async fn wrong_codes_lock_the_account_and_nothing_is_issued(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_without_operator(PHARMACY);
    let secret = TotpSecret::from_bytes([3; 20]);
    account(&portal, "bert", Some(&secret)).await;
    let wrong = if code(&secret) == "123456" {
        "654321"
    } else {
        "123456"
    };
    for attempt in 1..=4 {
        let (status, answer) = sign_in(&portal, &client, "bert", wrong).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (401, Some("totp_invalid")),
            "attempt {attempt}"
        );
    }
    let (status, answer) = post(
        &client,
        &portal.url("/api/auth/login"),
        &json!({"username": "bert", "password": "not the password", "totp": code(&secret)}),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (423, Some("account_locked")),
        "{answer}"
    );
    assert!(answer["locked_until"].as_i64().unwrap() > now().unix_timestamp() + 800);
    // Locked: even the right password and code are refused now.
    let (status, answer) = sign_in(&portal, &client, "bert", &code(&secret)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (423, Some("account_locked"))
    );
    // Unknown users and malformed bodies get their own answers and change nothing.
    let (status, answer) = sign_in(&portal, &client, "nobody", &code(&secret)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, answer) = post(
        &client,
        &portal.url("/api/auth/login"),
        &json!({"user": "x"}),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("invalid_body"))
    );
    assert!(
        answer["message"].as_str().unwrap().contains("user"),
        "{answer}"
    );
    assert_eq!(portal.ledger_count(PHARMACY).await, 0);
    let kinds = portal.audit_kinds().await;
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| kind.starts_with("operator_locked_out"))
            .count(),
        1,
        "{kinds:?}"
    );
    portal.stop().await;
}

pub(super) async fn a_session_is_worthless_with_another_certificate(backend: Backend) {
    let portal = TestPortal::start_with(
        backend,
        vec![Extra {
            request: institution(OTHER),
            revoked: false,
        }],
    )
    .await;
    super::support::register(&portal.store, OTHER, "APO2").await;
    let secret = TotpSecret::from_bytes([4; 20]);
    account(&portal, "carla", Some(&secret)).await;
    let own = portal.client_without_operator(PHARMACY);
    let (status, answer) = sign_in(&portal, &own, "carla", &code(&secret)).await;
    assert_eq!(status, 200, "{answer}");
    let token = answer["token"].as_str().unwrap();
    // The same token on a connection with another pharmacy's certificate.
    let other = portal.client_without_operator(OTHER);
    let issue_url = portal.url("/api/certify/v2/issue");
    let (status, answer) = post(&other, &issue_url, &body(), Some(token)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("session_binding_mismatch")),
        "{answer}"
    );
    // … and as a cookie.
    let response = other
        .post(&issue_url)
        .header("cookie", format!("dcc_session={token}"))
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(portal.ledger_count(OTHER).await, 0);
    // An unregistered pharmacy hears that first, not "sign in".
    let unregistered = TestPortal::start_with(
        backend,
        vec![Extra {
            request: institution(OTHER),
            revoked: false,
        }],
    )
    .await;
    let (status, answer) = post(
        &unregistered.client_without_operator(OTHER),
        &unregistered.url("/api/certify/v2/issue"),
        &body(),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("pharmacy_not_registered"))
    );
    unregistered.stop().await;
    portal.stop().await;
}

pub(super) async fn signing_out_ends_the_session(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_without_operator(PHARMACY);
    let secret = TotpSecret::from_bytes([5; 20]);
    account(&portal, "dora", Some(&secret)).await;
    let (_, answer) = sign_in(&portal, &client, "dora", &code(&secret)).await;
    let token = answer["token"].as_str().unwrap().to_owned();
    let issue_url = portal.url("/api/certify/v2/issue");
    assert_eq!(
        post(&client, &issue_url, &body(), Some(&token)).await.0,
        200
    );
    let (status, answer) = post(
        &client,
        &portal.url("/api/auth/logout"),
        &json!({}),
        Some(&token),
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("signed_out"))
    );
    let (status, answer) = post(&client, &issue_url, &body(), Some(&token)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("session_expired")),
        "{answer}"
    );
    // A second instance on the same database refuses it too.
    let second = portal.another_instance().await;
    let second_url = format!(
        "https://localhost:{}/api/certify/v2/issue",
        second.local_addr.port()
    );
    let (status, _) = post(&client, &second_url, &body(), Some(&token)).await;
    assert_eq!(status, 401);
    second.stop().await;
    assert_eq!(portal.ledger_count(PHARMACY).await, 1);
    portal.stop().await;
}

pub(super) async fn an_operator_lock_stops_only_that_operator(backend: Backend) {
    let portal = TestPortal::start(backend).await;
    let client = portal.client_without_operator(PHARMACY);
    let secret = TotpSecret::from_bytes([6; 20]);
    let id = account(&portal, "emil", Some(&secret)).await;
    let (_, answer) = sign_in(&portal, &client, "emil", &code(&secret)).await;
    let token = answer["token"].as_str().unwrap().to_owned();
    kill_switch::lock(
        &portal.store,
        &Actor::CommandLine,
        LockScope::Operator(id.to_string()),
        "fraud_suspected",
        "",
        now().unix_timestamp(),
    )
    .await
    .unwrap();
    let issue_url = portal.url("/api/certify/v2/issue");
    let (status, answer) = post(&client, &issue_url, &body(), Some(&token)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (423, Some("issuance_locked")),
        "{answer}"
    );
    // The pharmacy's other operator (the suite's) still issues.
    let (status, _) = post(&portal.client_for(PHARMACY), &issue_url, &body(), None).await;
    assert_eq!(status, 200);
    // An unknown operator id cannot be locked.
    let unknown = kill_switch::lock(
        &portal.store,
        &Actor::CommandLine,
        LockScope::Operator("999999".into()),
        "fraud_suspected",
        "",
        now().unix_timestamp(),
    )
    .await;
    assert!(matches!(
        unknown,
        Err(kill_switch::KillSwitchError::UnknownOperator(_))
    ));
    portal.stop().await;
}

pub(super) async fn an_operator_rate_limit_stops_only_that_operator(backend: Backend) {
    let portal = TestPortal::start_configured(backend, Vec::new(), |config| {
        config.limits = dcc_issuance::limits::RateLimits {
            operator_burst: 2,
            burst_window_seconds: 900,
            ..dcc_issuance::limits::RateLimits::unlimited()
        };
    })
    .await;
    let client = portal.client_without_operator(PHARMACY);
    let secret = TotpSecret::from_bytes([7; 20]);
    account(&portal, "fritz", Some(&secret)).await;
    let (_, answer) = sign_in(&portal, &client, "fritz", &code(&secret)).await;
    let token = answer["token"].as_str().unwrap().to_owned();
    let issue_url = portal.url("/api/certify/v2/issue");
    for _ in 0..2 {
        assert_eq!(
            post(&client, &issue_url, &body(), Some(&token)).await.0,
            200
        );
    }
    let response = client
        .post(&issue_url)
        .bearer_auth(&token)
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "900");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        (answer["code"].as_str(), answer["limit"].as_str()),
        (Some("rate_limited"), Some("operator_burst"))
    );
    // A colleague at the same pharmacy is not slowed down.
    let (status, _) = post(&portal.client_for(PHARMACY), &issue_url, &body(), None).await;
    assert_eq!(status, 200);
    assert_eq!(portal.ledger_count(PHARMACY).await, 3);
    portal.stop().await;
}
