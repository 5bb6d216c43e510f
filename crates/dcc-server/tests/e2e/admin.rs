//! The association administrators' listener over real mutual TLS: only administrator
//! certificates of the service CA get in, only association accounts sign in (password and
//! TOTP), a session is bound to its admin certificate, and the registry, accounts, locks and
//! audit log are managed through it with every change audited.

use dcc_auth::role::Role;
use dcc_auth::totp::TotpSecret;
use dcc_issuance::operators::{self, Actor, NewAccount};
use dcc_pki::certificate::IssuedCertificate;
use dcc_pki::dev_pki::DevPki;
use dcc_server::server::{RunningServer, start_admin};
use dcc_store::operators::ASSOCIATION_SCOPE;
use serde_json::{Value, json};

use super::support::{Backend, PHARMACY, TestPortal, now};

pub(super) const PASSWORD: &str = "correct horse battery staple";

on_both_backends!(
    an_administrator_suspends_a_pharmacy_and_reads_the_audit_log,
    an_administrator_manages_accounts_and_locks,
    only_administrator_certificates_reach_the_admin_listener,
    pharmacy_credentials_do_not_open_the_admin_door,
    an_admin_session_is_bound_to_its_certificate,
);

pub(super) struct Admin {
    pub(super) portal: TestPortal,
    pub(super) listener: RunningServer,
}

impl Admin {
    /// A portal with its admin listener; the listener also trusts `extra_ca` (PEM), the
    /// service CA of a second dev PKI, so that tests have a second administrator certificate.
    pub(super) async fn start(backend: Backend, extra_ca: Option<String>) -> Self {
        let portal = TestPortal::start(backend).await;
        let mut config = portal.config.clone();
        if let Some(extra_ca) = extra_ca {
            let roots = portal.dir.path().join("pki/admin-roots.pem");
            let service_ca =
                std::fs::read_to_string(config.resolve(&config.signer.client_ca)).unwrap();
            std::fs::write(&roots, format!("{service_ca}{extra_ca}")).unwrap();
            config.signer.client_ca = roots;
        }
        let listener = start_admin(
            &config,
            portal.store.clone(),
            Some(([127, 0, 0, 1], 0).into()),
        )
        .await
        .unwrap();
        Self { portal, listener }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!(
            "https://localhost:{}{path}",
            self.listener.local_addr.port()
        )
    }

    /// A client presenting `issued` (a service certificate and key).
    pub(super) fn client(&self, issued: &IssuedCertificate) -> reqwest::Client {
        let identity = format!("{}{}", issued.certificate_pem(), issued.private_key_pem());
        self.portal.client(Some(identity))
    }

    /// A client presenting the dev PKI's administrator certificate.
    pub(super) fn admin_client(&self) -> reqwest::Client {
        self.client(self.portal.pki.admin_client())
    }

    pub(super) async fn stop(self) {
        self.listener.stop().await;
        self.portal.stop().await;
    }
}

pub(super) async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

pub(super) async fn get(client: &reqwest::Client, url: &str, token: &str) -> (u16, Value) {
    call(client, reqwest::Method::GET, url, Some(token), None).await
}

pub(super) async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    call(client, reqwest::Method::POST, url, Some(token), Some(body)).await
}

/// Creates an account with an enrolled second factor, as `dcc init` or `dcc operator add`
/// would, and returns its secret.
pub(super) async fn account(
    portal: &TestPortal,
    scope: &str,
    username: &str,
    role: Role,
) -> TotpSecret {
    let secret = TotpSecret::from_bytes([username.len() as u8 + 40; 20]);
    operators::create(
        &portal.store,
        &Actor::CommandLine,
        &NewAccount {
            scope,
            username,
            role,
            password: PASSWORD,
            totp_secret: Some(&secret),
        },
        now().unix_timestamp(),
        [7; 16],
    )
    .await
    .unwrap();
    secret
}

pub(super) async fn login(
    admin: &Admin,
    client: &reqwest::Client,
    username: &str,
    secret: &TotpSecret,
) -> (u16, Value) {
    let body = json!({"username": username, "password": PASSWORD,
                      "totp": secret.code_at(now().unix_timestamp())});
    call(
        client,
        reqwest::Method::POST,
        &admin.url("/api/admin/login"),
        None,
        Some(&body),
    )
    .await
}

/// Signs in an administrator named `username` on `client` and returns the bearer token.
pub(super) async fn signed_in_admin(
    admin: &Admin,
    client: &reqwest::Client,
    username: &str,
) -> String {
    let secret = account(
        &admin.portal,
        ASSOCIATION_SCOPE,
        username,
        Role::Administrator,
    )
    .await;
    let (status, answer) = login(admin, client, username, &secret).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["operator"]["role"], "administrator");
    answer["token"].as_str().unwrap().to_owned()
}

/// The operator id of the administrator `username`.
pub(super) async fn admin_id(admin: &Admin, username: &str) -> i64 {
    dcc_store::operators::find_by_username(admin.portal.store.pool(), ASSOCIATION_SCOPE, username)
        .await
        .unwrap()
        .unwrap()
        .id
}

pub(super) fn issue_body() -> Value {
    json!({"nam": {"fn": "Muster"}, "dob": "1964",
           "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                  "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29"}]})
}

pub(super) async fn an_administrator_suspends_a_pharmacy_and_reads_the_audit_log(backend: Backend) {
    let admin = Admin::start(backend, None).await;
    let client = admin.admin_client();
    let token = signed_in_admin(&admin, &client, "ada").await;

    let (status, listed) = get(&client, &admin.url("/api/admin/pharmacies"), &token).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["pharmacies"][0]["telematik_id"], PHARMACY);
    assert_eq!(listed["pharmacies"][0]["status"], "active");

    // The pharmacy issues until it is suspended, and is refused afterwards.
    let pharmacy = admin.portal.client_for(PHARMACY);
    let issue_url = admin.portal.url("/api/certify/v2/issue");
    let issued = pharmacy
        .post(&issue_url)
        .json(&issue_body())
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 200);
    let suspend = admin.url(&format!("/api/admin/pharmacies/{PHARMACY}/suspend"));
    let (status, suspended) = post(&client, &suspend, &token, &json!({})).await;
    assert_eq!(status, 200, "{suspended}");
    assert_eq!(suspended["status"], "suspended");
    let refused = pharmacy
        .post(&issue_url)
        .json(&issue_body())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["code"], "pharmacy_suspended", "{refused}");
    let unknown = admin.url("/api/admin/pharmacies/3-unknown/suspend");
    let (status, answer) = post(&client, &unknown, &token, &json!({})).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (404, Some("pharmacy_not_registered"))
    );

    // The audit log, page by page, holds the sign-in and the suspension.
    let (status, page) = get(&client, &admin.url("/api/admin/audit?limit=1000"), &token).await;
    assert_eq!(status, 200, "{page}");
    let entries = page["entries"].as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for expected in [
        "operator_signed_in",
        "certificate_issued",
        "pharmacy_status_changed",
    ] {
        assert!(kinds.contains(&expected), "{expected} in {kinds:?}");
    }
    let suspension = entries
        .iter()
        .find(|entry| entry["kind"] == "pharmacy_status_changed")
        .unwrap();
    assert_eq!(suspension["telematik_id"], PHARMACY);
    // The administrator is the actor of the suspension.
    let ada = admin_id(&admin, "ada").await;
    assert_eq!(
        suspension["detail"],
        json!({"status": "suspended", "by": ada})
    );
    assert_eq!(page["next_after"], entries.last().unwrap()["seq"]);
    let (_, second) = get(
        &client,
        &admin.url("/api/admin/audit?after=1&limit=1"),
        &token,
    )
    .await;
    assert_eq!(second["entries"].as_array().unwrap().len(), 1);
    assert_eq!(second["entries"][0]["seq"], 2);
    assert_eq!(second["entries"][0]["prev_hash"], entries[0]["hash"]);

    let verification = admin.url("/api/admin/audit/verification");
    let (status, chain) = get(&client, &verification, &token).await;
    assert_eq!(status, 200, "{chain}");
    assert_eq!(chain["intact"], true);
    assert_eq!(chain["entries"], json!(entries.len()));
    assert_eq!(chain["first_broken"], Value::Null);

    for (query, field) in [
        ("limit=1001", "limit"),
        ("after=x", "after"),
        ("page=2", "page"),
    ] {
        let url = admin.url(&format!("/api/admin/audit?{query}"));
        let (status, refused) = get(&client, &url, &token).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (400, Some("invalid_query")),
            "{query}"
        );
        assert_eq!(refused["field"], field, "{refused}");
    }
    admin.stop().await;
}

pub(super) async fn an_administrator_manages_accounts_and_locks(backend: Backend) {
    let admin = Admin::start(backend, None).await;
    let client = admin.admin_client();
    let token = signed_in_admin(&admin, &client, "ada").await;
    let audit_length = admin.portal.audit_kinds().await.len();

    // Refused input names the field and changes nothing.
    let operators_url = admin.url("/api/admin/operators");
    let bad_role =
        json!({"scope": PHARMACY, "username": "tom", "role": "boss", "password": PASSWORD});
    let (status, refused) = post(&client, &operators_url, &token, &bad_role).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("invalid_field"))
    );
    assert_eq!(refused["field"], "role");
    let missing = json!({"scope": PHARMACY, "username": "tom", "role": "technician"});
    let (status, refused) = post(&client, &operators_url, &token, &missing).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("invalid_body"))
    );
    assert!(
        refused["message"].as_str().unwrap().contains("password"),
        "{refused}"
    );
    let bad_lock = json!({"scope": "all", "reason": "Not A Code"});
    let locks_url = admin.url("/api/admin/locks");
    let (status, refused) = post(&client, &locks_url, &token, &bad_lock).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("invalid_reason"))
    );
    let no_target = json!({"scope": "pharmacy", "reason": "fraud_suspected"});
    let (status, refused) = post(&client, &locks_url, &token, &no_target).await;
    assert_eq!((status, refused["field"].as_str()), (422, Some("target")));
    let bad_pharmacy = json!({"telematik_id": "not a telematik id", "name": "A", "address": "B"});
    let pharmacies_url = admin.url("/api/admin/pharmacies");
    let (status, refused) = post(&client, &pharmacies_url, &token, &bad_pharmacy).await;
    assert_eq!(
        (status, refused["field"].as_str()),
        (422, Some("telematik_id"))
    );
    assert_eq!(admin.portal.audit_kinds().await.len(), audit_length);

    // An account of a pharmacy: created, listed, disabled, reset.
    let tom =
        json!({"scope": PHARMACY, "username": "tom", "role": "technician", "password": PASSWORD});
    let (status, created) = post(&client, &operators_url, &token, &tom).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let listed_url = admin.url(&format!("/api/admin/operators?scope={PHARMACY}"));
    let (status, listed) = get(&client, &listed_url, &token).await;
    assert_eq!(status, 200, "{listed}");
    let tom_listed = listed["operators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|operator| operator["username"] == "tom")
        .unwrap()
        .clone();
    assert_eq!(tom_listed["totp_enrolled"], false);
    let disable = admin.url(&format!("/api/admin/operators/{id}/disable"));
    let (status, _) = post(&client, &disable, &token, &json!({})).await;
    assert_eq!(status, 200);
    let (_, listed) = get(&client, &listed_url, &token).await;
    assert!(listed.to_string().contains("disabled_at"));
    let stored = dcc_store::operators::find(admin.portal.store.pool(), id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.disabled_at.is_some());
    let reset = admin.url(&format!("/api/admin/operators/{id}/reset"));
    let (status, _) = post(
        &client,
        &reset,
        &token,
        &json!({"password": "another long password"}),
    )
    .await;
    assert_eq!(status, 200);
    let stored = dcc_store::operators::find(admin.portal.store.pool(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.disabled_at, None);
    let (status, refused) = post(
        &client,
        &admin.url("/api/admin/operators/x/disable"),
        &token,
        &json!({}),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (404, Some("unknown_operator"))
    );

    // A lock for everyone: set, listed, lifted.
    let lock = json!({"scope": "all", "reason": "maintenance", "comment": "database move"});
    let (status, locked) = post(&client, &locks_url, &token, &lock).await;
    assert_eq!(status, 201, "{locked}");
    let (_, locks) = get(&client, &locks_url, &token).await;
    assert_eq!(locks["locks"][0]["reason"], "maintenance");
    assert_eq!(locks["locks"][0]["target"], Value::Null);
    assert_eq!(
        locks["locks"][0]["locked_by"],
        format!("operator:{}", admin_id(&admin, "ada").await)
    );
    let lift = admin.url("/api/admin/locks/lift");
    let (status, lifted) = post(&client, &lift, &token, &json!({"scope": "all"})).await;
    assert_eq!(status, 200, "{lifted}");
    assert_eq!(lifted["lifted"]["reason"], "maintenance");
    let (_, locks) = get(&client, &locks_url, &token).await;
    assert_eq!(locks["locks"], json!([]));

    // Each change is in the audit log, the account changes with the administrator's id.
    let kinds = admin.portal.audit_kinds().await;
    let new: Vec<&String> = kinds.iter().skip(audit_length).collect();
    let admin_id = admin_id(&admin, "ada").await;
    for expected in ["operator_created", "operator_disabled", "operator_reset"] {
        assert!(
            new.iter()
                .any(|kind| kind.starts_with(expected)
                    && kind.contains(&format!("\"by\":{admin_id}"))),
            "{expected} by {admin_id} in {new:?}"
        );
    }
    for expected in ["issuance_locked", "issuance_unlocked"] {
        assert!(
            new.iter().any(|kind| **kind
                == format!(
                    r#"{expected} {{"scope":"all","reason":"maintenance","by":{admin_id}}}"#
                )),
            "{expected} by {admin_id} in {new:?}"
        );
    }
    admin.stop().await;
}

pub(super) async fn only_administrator_certificates_reach_the_admin_listener(backend: Backend) {
    let admin = Admin::start(backend, None).await;
    let url = admin.url("/api/admin/pharmacies");
    // A pharmacy's SMC-B certificate does not chain to the service CA: the handshake fails.
    let pharmacy = admin.portal.client_without_operator(PHARMACY);
    assert!(pharmacy.get(&url).send().await.is_err());
    // Neither does a client without a certificate get through.
    assert!(admin.portal.client(None).get(&url).send().await.is_err());
    // The portal's service identity chains to the service CA but is not an administrator.
    let portal_identity = admin.client(admin.portal.pki.portal_client());
    for path in [
        "/api/admin/pharmacies",
        "/api/admin/login",
        "/openapi.json",
        "/nowhere",
    ] {
        let response = portal_identity.get(admin.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 403, "{path}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["code"], "not_an_administrator", "{path}");
    }
    // An administrator's certificate reaches it, and still needs to sign in.
    let client = admin.admin_client();
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["code"], "session_required");
    let openapi: Value = client
        .get(admin.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        openapi["paths"]["/api/admin/login"].is_object(),
        "{openapi}"
    );
    admin.stop().await;
}

pub(super) async fn pharmacy_credentials_do_not_open_the_admin_door(backend: Backend) {
    let admin = Admin::start(backend, None).await;
    let client = admin.admin_client();
    // The pharmacy's owner, right password and code: the admin door knows only `*` accounts.
    let secret = account(&admin.portal, PHARMACY, "olga", Role::Owner).await;
    let (status, answer) = login(&admin, &client, "olga", &secret).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("invalid_credentials")),
        "{answer}"
    );
    // And an administrator cannot sign in at the pharmacy portal.
    let secret = account(&admin.portal, ASSOCIATION_SCOPE, "ada", Role::Administrator).await;
    let body = json!({"username": "ada", "password": PASSWORD,
                      "totp": secret.code_at(now().unix_timestamp())});
    let pharmacy = admin.portal.client_without_operator(PHARMACY);
    let response = pharmacy
        .post(admin.portal.url("/api/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let kinds = admin.portal.audit_kinds().await;
    assert!(
        !kinds
            .iter()
            .any(|kind| kind.starts_with("operator_signed_in")),
        "{kinds:?}"
    );
    admin.stop().await;
}

pub(super) async fn an_admin_session_is_bound_to_its_certificate(backend: Backend) {
    let other_pki = DevPki::generate(now()).unwrap();
    let admin = Admin::start(backend, Some(other_pki.service_ca().to_pem())).await;
    let client = admin.admin_client();
    let token = signed_in_admin(&admin, &client, "ada").await;
    let url = admin.url("/api/admin/pharmacies");
    assert_eq!(get(&client, &url, &token).await.0, 200);

    // Another administrator certificate (trusted, CN dcc-admin) cannot use this token.
    let other = admin.client(other_pki.admin_client());
    let (status, answer) = get(&other, &url, &token).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (403, Some("session_binding_mismatch"))
    );
    // A pharmacy operator's session is no admin session either, whatever it is bound to.
    let (status, answer) = get(&client, &url, &admin.portal.tokens[PHARMACY]).await;
    assert_eq!(status / 100, 4, "{answer}");

    // Signing out ends the session.
    let (status, _) = post(&client, &admin.url("/api/admin/logout"), &token, &json!({})).await;
    assert_eq!(status, 200);
    let (status, answer) = get(&client, &url, &token).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("session_expired"))
    );
    admin.stop().await;
}
