//! Anomaly alerts and the administrator as the actor on the admin listener, over real mutual
//! TLS: alerts are paged and filtered, acknowledged with a required comment through the same
//! use case as `dcc alerts ack`, and every registry and lock change names the administrator
//! in its audit entry.

use dcc_store::alerts::{self, AlertWrite, NewAlert};
use serde_json::{Value, json};

use super::admin::{Admin, admin_id, get, post, signed_in_admin};
use super::support::{Backend, PHARMACY, TestPortal, now, register};

on_both_backends!(
    an_administrator_pages_and_acknowledges_alerts,
    registry_and_lock_changes_name_the_administrator,
    the_admin_pages_carry_the_security_headers_and_need_a_session,
);

const OTHER: &str = "3-SMC-B-Testkarte-883110000129068";

/// Stores an open alert as anomaly detection would; returns its id.
async fn seed_alert(portal: &TestPortal, rule: &str, telematik_id: &str, at: i64) -> i64 {
    let evidence = json!({"certificates": 21, "closed_from": "20:00", "window_hours": 24});
    let open_key = format!("{rule}|{telematik_id}||");
    let mut tx = portal.store.begin().await.unwrap();
    let written = alerts::raise_or_refresh(
        &mut tx,
        &NewAlert {
            rule,
            severity: "critical",
            telematik_id,
            operator_id: Some("17"),
            subject: "",
            open_key: &open_key,
            window_start: at - 3600,
            window_end: at,
            evidence: &evidence,
            action: "lock_pharmacy",
            occurrences: 3,
            at,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    match written {
        AlertWrite::Raised(id) => id,
        other => panic!("{other:?}"),
    }
}

async fn ids(client: &reqwest::Client, admin: &Admin, query: &str, token: &str) -> Vec<i64> {
    let (status, page) = get(
        client,
        &admin.url(&format!("/api/admin/alerts{query}")),
        token,
    )
    .await;
    assert_eq!(status, 200, "{query}: {page}");
    page["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| alert["id"].as_i64().unwrap())
        .collect()
}

pub(super) async fn an_administrator_pages_and_acknowledges_alerts(backend: Backend) {
    let admin = Admin::start(backend, None).await;
    register(&admin.portal.store, OTHER, "APO2").await;
    let client = admin.admin_client();
    let token = signed_in_admin(&admin, &client, "ada").await;
    let ada = admin_id(&admin, "ada").await;
    let at = now().unix_timestamp();
    let first = seed_alert(&admin.portal, "off_hours_repeated", PHARMACY, at).await;
    let second = seed_alert(&admin.portal, "burst", PHARMACY, at + 1).await;
    let third = seed_alert(&admin.portal, "volume", OTHER, at + 2).await;

    // Open alerts by default, oldest first, with everything the association needs to judge.
    let (status, page) = get(&client, &admin.url("/api/admin/alerts"), &token).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["state"], "open");
    assert_eq!(page["next_after"], third);
    let listed = &page["alerts"][0];
    assert_eq!(
        *listed,
        json!({
            "id": first,
            "rule": "off_hours_repeated",
            "severity": "critical",
            "telematik_id": PHARMACY,
            "operator_id": "17",
            "subject": "",
            "state": "open",
            "window_start": at - 3600,
            "window_end": at,
            "first_seen": at,
            "last_seen": at,
            "occurrences": 3,
            "evidence": {"certificates": 21, "closed_from": "20:00", "window_hours": 24},
            "action_taken": "lock_pharmacy",
            "acknowledgement": null,
        })
    );
    // Filtered by pharmacy, and paged like the audit log.
    assert_eq!(
        ids(
            &client,
            &admin,
            &format!("?telematik_id={PHARMACY}"),
            &token
        )
        .await,
        [first, second]
    );
    assert_eq!(
        ids(&client, &admin, "?limit=2", &token).await,
        [first, second]
    );
    assert_eq!(
        ids(&client, &admin, &format!("?after={second}&limit=2"), &token).await,
        [third]
    );
    for (query, field) in [
        ("state=closed", "state"),
        ("limit=0", "limit"),
        ("after=x", "after"),
        ("telematik_id=", "telematik_id"),
        ("rule=burst", "rule"),
    ] {
        let url = admin.url(&format!("/api/admin/alerts?{query}"));
        let (status, refused) = get(&client, &url, &token).await;
        assert_eq!(
            (status, refused["code"].as_str(), refused["field"].as_str()),
            (400, Some("invalid_query"), Some(field)),
            "{query}: {refused}"
        );
    }

    // Without a comment nothing changes: 422 naming the field.
    let audit_length = admin.portal.audit_kinds().await.len();
    let ack = admin.url(&format!("/api/admin/alerts/{first}/ack"));
    for body in [json!({}), json!({"comment": ""}), json!({"comment": "   "})] {
        let (status, refused) = post(&client, &ack, &token, &body).await;
        assert_eq!(
            (status, refused["code"].as_str(), refused["field"].as_str()),
            (422, Some("comment_required"), Some("comment")),
            "{body}: {refused}"
        );
    }
    let long = "x".repeat(501);
    let (status, refused) = post(&client, &ack, &token, &json!({"comment": long})).await;
    assert_eq!(
        (status, refused["code"].as_str(), refused["field"].as_str()),
        (422, Some("invalid_comment"), Some("comment"))
    );
    let (status, refused) = post(&client, &ack, &token, &json!({"comment": 5})).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("invalid_body"))
    );
    assert!(
        refused["message"].as_str().unwrap().contains("comment"),
        "{refused}"
    );
    for path in ["/api/admin/alerts/999999/ack", "/api/admin/alerts/x/ack"] {
        let body = json!({"comment": "geprüft"});
        let (status, refused) = post(&client, &admin.url(path), &token, &body).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (404, Some("alert_not_found")),
            "{path}"
        );
    }
    assert_eq!(admin.portal.audit_kinds().await.len(), audit_length);
    assert_eq!(
        ids(&client, &admin, "", &token).await,
        [first, second, third]
    );

    // Acknowledged by the administrator, recorded with the operator id and audited.
    let body = json!({"comment": "Notdienst, Inhaberin bestätigt"});
    let (status, acknowledged) = post(&client, &ack, &token, &body).await;
    assert_eq!(status, 200, "{acknowledged}");
    assert_eq!(acknowledged["state"], "acknowledged");
    let acknowledgement = &acknowledged["acknowledgement"];
    assert_eq!(acknowledgement["by"], format!("operator:{ada}"));
    assert_eq!(acknowledgement["operator_id"], ada);
    assert_eq!(acknowledgement["comment"], "Notdienst, Inhaberin bestätigt");
    assert!(acknowledgement["at"].as_i64().unwrap() >= at);
    let (status, refused) = post(&client, &ack, &token, &body).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("alert_already_acknowledged"))
    );
    assert_eq!(ids(&client, &admin, "", &token).await, [second, third]);
    assert_eq!(
        ids(&client, &admin, "?state=acknowledged", &token).await,
        [first]
    );
    assert_eq!(
        ids(&client, &admin, "?state=all", &token).await,
        [first, second, third]
    );
    let kinds = admin.portal.audit_kinds().await;
    assert_eq!(
        kinds[audit_length..],
        [format!(
            r#"anomaly_alert_acknowledged {{"alert_id":{first},"rule":"off_hours_repeated","by":{ada}}}"#
        )]
    );
    assert!(
        !kinds.iter().any(|kind| kind.contains("Inhaberin")),
        "the comment stays with the alert"
    );

    // The listing and acknowledgement are described.
    let openapi: Value = client
        .get(admin.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(openapi["paths"]["/api/admin/alerts"]["get"].is_object());
    assert!(openapi["paths"]["/api/admin/alerts/{id}/ack"]["post"].is_object());
    admin.stop().await;
}

pub(super) async fn registry_and_lock_changes_name_the_administrator(backend: Backend) {
    let admin = Admin::start(backend, None).await;
    let client = admin.admin_client();
    let token = signed_in_admin(&admin, &client, "ada").await;
    let ada = admin_id(&admin, "ada").await;
    let audit_length = admin.portal.audit_kinds().await.len();

    let new = json!({"telematik_id": OTHER, "name": "Neue Apotheke", "address": "Markt 2"});
    let (status, created) = post(&client, &admin.url("/api/admin/pharmacies"), &token, &new).await;
    assert_eq!(status, 201, "{created}");
    for change in ["suspend", "reactivate"] {
        let url = admin.url(&format!("/api/admin/pharmacies/{OTHER}/{change}"));
        assert_eq!(post(&client, &url, &token, &json!({})).await.0, 200);
    }
    let lock = json!({"scope": "pharmacy", "target": OTHER, "reason": "fraud_suspected"});
    let (status, locked) = post(&client, &admin.url("/api/admin/locks"), &token, &lock).await;
    assert_eq!(status, 201, "{locked}");
    assert_eq!(locked["locked_by"], format!("operator:{ada}"));
    let lift = json!({"scope": "pharmacy", "target": OTHER});
    let (status, lifted) = post(&client, &admin.url("/api/admin/locks/lift"), &token, &lift).await;
    assert_eq!(status, 200, "{lifted}");

    let segment = created["issuer_segment"].as_str().unwrap();
    let kinds = admin.portal.audit_kinds().await;
    assert_eq!(
        kinds[audit_length..],
        [
            format!(r#"pharmacy_registered {{"issuer_segment":"{segment}","by":{ada}}}"#),
            format!(r#"pharmacy_status_changed {{"status":"suspended","by":{ada}}}"#),
            format!(r#"pharmacy_status_changed {{"status":"active","by":{ada}}}"#),
            format!(
                r#"issuance_locked {{"scope":"pharmacy","reason":"fraud_suspected","by":{ada}}}"#
            ),
            format!(
                r#"issuance_unlocked {{"scope":"pharmacy","reason":"fraud_suspected","by":{ada}}}"#
            ),
        ]
    );
    admin.stop().await;
}

pub(super) async fn the_admin_pages_carry_the_security_headers_and_need_a_session(
    backend: Backend,
) {
    let admin = Admin::start(backend, None).await;
    let client = admin.admin_client();
    let response = client.get(admin.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(
        headers["content-security-policy"],
        dcc_server::ui::headers::CONTENT_SECURITY_POLICY
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    let csrf_cookie = headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|cookie| cookie.starts_with("dcc_admin_login_csrf="))
        .expect("the login form's own CSRF cookie");
    assert!(csrf_cookie.contains("SameSite=Strict") && csrf_cookie.contains("HttpOnly"));
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(html.contains("id=\"login-form\""));
    assert!(!html.contains("style="), "no inline style");
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count(),
        "no inline script"
    );

    // Pages without a session go to the login; a form without the CSRF cookie is refused.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_only([reqwest::Certificate::from_pem(
            &std::fs::read(admin.portal.dir.path().join("pki/service/ca.pem")).unwrap(),
        )
        .unwrap()])
        .identity(
            reqwest::Identity::from_pem(
                format!(
                    "{}{}",
                    admin.portal.pki.admin_client().certificate_pem(),
                    admin.portal.pki.admin_client().private_key_pem()
                )
                .as_bytes(),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    for path in ["/", "/alerts", "/locks", "/pharmacies"] {
        let response = no_redirects.get(admin.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
        let target = if path == "/" { "/alerts" } else { "/login" };
        assert_eq!(response.headers()["location"], target, "{path}");
    }
    let response = no_redirects
        .post(admin.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf=forged&username=ada&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("csrf_invalid"));

    // The portal's service certificate is not an administrator's: no page either.
    let portal_identity = admin.client(admin.portal.pki.portal_client());
    let response = portal_identity
        .get(admin.url("/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    admin.stop().await;
}
