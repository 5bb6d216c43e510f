//! The association's administration pages in a real browser holding the dev PKI's
//! administrator certificate (CN dcc-admin), on the admin listener: sign in, acknowledge an
//! alert, lock and unlock a pharmacy (its issuing API answers 423 meanwhile), suspend and
//! reactivate it; a pharmacy's certificate does not get in, and a forged form is refused.

use dcc_auth::role::Role;
use dcc_server::server::{RunningServer, start_admin};
use dcc_store::alerts::{self, AlertWrite, NewAlert};
use dcc_store::operators::ASSOCIATION_SCOPE;
use serde_json::{Value, json};

use crate::accounts::{account, code};
use crate::browser::{Browser, Holder, exclusive};
use crate::support::{Backend, PHARMACY, TestPortal, now};

/// A portal with its admin listener on a port of its own.
async fn start() -> (TestPortal, RunningServer) {
    let portal = TestPortal::start(Backend::Sqlite).await;
    let listener = start_admin(
        &portal.config,
        portal.store.clone(),
        Some(([127, 0, 0, 1], 0).into()),
    )
    .await
    .unwrap();
    (portal, listener)
}

/// An administrator's browser on the admin listener, signed in as a new administrator.
async fn signed_in_administrator(
    portal: &TestPortal,
    listener: &RunningServer,
    username: &str,
) -> Browser {
    let secret = account(
        &portal.store,
        ASSOCIATION_SCOPE,
        username,
        Role::Administrator,
        true,
    )
    .await
    .unwrap();
    let browser =
        Browser::launch_at(portal, Holder::Administrator, listener.local_addr.port()).await;
    browser.open("/alerts").await;
    browser.wait_for_path("/login").await;
    browser.fill("#username", username).await;
    browser.fill("#password", crate::accounts::PASSWORD).await;
    browser.fill("#totp", &code(&secret)).await;
    browser.click("#login-submit").await;
    browser.wait_for_path("/alerts").await;
    browser
}

/// Stores an open alert as anomaly detection would (night issuing, pharmacy locked).
async fn seed_alert(portal: &TestPortal) -> i64 {
    let at = now().unix_timestamp();
    let evidence = json!({"certificates": 21, "closed_from": "20:00", "window_hours": 24});
    let open_key = format!("off_hours_repeated|{PHARMACY}||");
    let mut tx = portal.store.begin().await.unwrap();
    let written = alerts::raise_or_refresh(
        &mut tx,
        &NewAlert {
            rule: "off_hours_repeated",
            severity: "critical",
            telematik_id: PHARMACY,
            operator_id: Some("17"),
            subject: "",
            open_key: &open_key,
            window_start: at - 7200,
            window_end: at,
            evidence: &evidence,
            action: "lock_pharmacy",
            occurrences: 4,
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

/// What the pharmacy's issuing API answers now: status and code.
async fn issue(portal: &TestPortal) -> (u16, Value) {
    let body = json!({"nam": {"fn": "Muster"}, "dob": "1964",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
               "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-05-29"}]});
    let response = portal
        .client_for(PHARMACY)
        .post(portal.url("/api/certify/v2/issue"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The element id part of a Telematik-ID (as the pages make it).
fn key(telematik_id: &str) -> String {
    telematik_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_acknowledges_an_alert_locks_and_suspends_a_pharmacy() {
    let _turn = exclusive().await;
    let (portal, listener) = start().await;
    let alert_id = seed_alert(&portal).await;
    let browser =
        Browser::launch_at(&portal, Holder::Administrator, listener.local_addr.port()).await;

    // Signing in: the pages need a session, German by default.
    browser.open("/alerts").await;
    browser.wait_for_path("/login").await;
    assert_eq!(browser.text("h1").await, "Anmeldung für Administratoren");
    browser.screenshot("admin-01-login").await;
    browser.close().await;
    let browser = signed_in_administrator(&portal, &listener, "ada").await;
    let ada = dcc_store::operators::find_by_username(portal.store.pool(), "*", "ada")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(browser.text("#administrator").await, "ada");

    // The open alert with what anomaly detection found.
    let card = format!("#alert-{alert_id}");
    assert_eq!(
        browser.text(&format!("{card} .rule")).await,
        "Wiederholte Ausgabe außerhalb der Öffnungszeiten"
    );
    assert_eq!(browser.text(&format!("{card} .pharmacy")).await, PHARMACY);
    assert_eq!(browser.text(&format!("{card} .operator")).await, "17");
    assert_eq!(browser.text(&format!("{card} .count")).await, "4");
    assert_eq!(
        browser.text(&format!("{card} .action")).await,
        "Apotheke gesperrt"
    );
    let evidence = browser.text(&format!("{card} .evidence")).await;
    assert!(
        evidence.contains("certificates: 21") && evidence.contains("closed_from: 20:00"),
        "{evidence}"
    );
    browser.screenshot("admin-02-alerts").await;

    // Acknowledging needs a comment: the refusal is shown next to the field, nothing changes.
    browser.click(&format!("#ack-{alert_id}")).await;
    assert_eq!(
        browser.text(&format!("#ack-error-{alert_id}")).await,
        "Ein Kommentar ist erforderlich: Was wurde festgestellt?"
    );
    let stored = alerts::find(portal.store.pool(), alert_id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.is_open());
    browser.screenshot("admin-03-comment-required").await;
    browser
        .fill(
            &format!("#ack-comment-{alert_id}"),
            "Notdienst, Inhaberin bestätigt",
        )
        .await;
    browser.click(&format!("#ack-{alert_id}")).await;
    browser
        .wait_for_text("#alerts-notice", "Die Warnung wurde bestätigt.")
        .await;
    assert!(
        browser
            .text("#alerts-empty")
            .await
            .contains("Keine offenen")
    );
    let stored = alerts::find(portal.store.pool(), alert_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.acknowledged_by.as_deref(),
        Some(format!("operator:{ada}").as_str())
    );
    assert_eq!(
        stored.comment.as_deref(),
        Some("Notdienst, Inhaberin bestätigt")
    );
    browser.click("#show-acknowledged").await;
    let acknowledgement = browser.text(&format!("{card} .acknowledgement")).await;
    assert!(
        acknowledgement.contains("Notdienst, Inhaberin bestätigt")
            && acknowledgement.contains(&format!("Administrator-Konto #{ada}")),
        "{acknowledgement}"
    );

    // Locking the pharmacy: its issuing API answers 423 until the lock is lifted.
    assert_eq!(issue(&portal).await.0, 200);
    browser.click("#nav-locks").await;
    browser.wait_for_path("/locks").await;
    assert!(browser.text("#locks-empty").await.contains("Keine Sperren"));
    browser.choose("#lock-scope", "pharmacy").await;
    browser.fill("#lock-target", "").await;
    browser.click("#lock-submit").await;
    assert_eq!(
        browser.text("#lock-target-error").await,
        "Für eine Apotheke oder ein Konto ist das Ziel anzugeben."
    );
    browser.choose("#lock-scope", "pharmacy").await;
    browser.fill("#lock-target", PHARMACY).await;
    browser.fill("#lock-reason", "Not A Code").await;
    browser.click("#lock-submit").await;
    assert!(
        browser
            .text("#lock-reason-error")
            .await
            .starts_with("Der Grund ist ein Code")
    );
    assert!(
        dcc_store::locks::list(portal.store.pool())
            .await
            .unwrap()
            .is_empty()
    );
    browser.fill("#lock-reason", "fraud_suspected").await;
    browser.fill("#lock-comment", "Nachtausstellung").await;
    browser.click("#lock-submit").await;
    browser
        .wait_for_text("#locks-notice", "ab der nächsten Anfrage")
        .await;
    let row = format!("#lock-pharmacy-{}", key(PHARMACY));
    assert_eq!(
        browser.text(&format!("{row} .reason")).await,
        "fraud_suspected"
    );
    assert_eq!(
        browser.text(&format!("{row} .by")).await,
        format!("Administrator-Konto #{ada}")
    );
    browser.screenshot("admin-04-locks").await;
    let (status, refused) = issue(&portal).await;
    assert_eq!(
        (status, refused["code"].as_str(), refused["reason"].as_str()),
        (423, Some("issuance_locked"), Some("fraud_suspected")),
        "{refused}"
    );
    browser
        .click(&format!("#lift-pharmacy-{}", key(PHARMACY)))
        .await;
    browser
        .wait_for_text("#locks-notice", "Die Sperre wurde aufgehoben.")
        .await;
    assert_eq!(issue(&portal).await.0, 200);

    // Suspending and reactivating the pharmacy.
    browser.click("#nav-pharmacies").await;
    browser.wait_for_path("/pharmacies").await;
    let pharmacy_row = format!("#pharmacy-{}", key(PHARMACY));
    assert_eq!(
        browser.text(&format!("{pharmacy_row} .status")).await,
        "Aktiv"
    );
    browser.click(&format!("#suspend-{}", key(PHARMACY))).await;
    browser
        .wait_for_text(&format!("{pharmacy_row} .status"), "Suspendiert")
        .await;
    browser.screenshot("admin-05-pharmacies").await;
    let (status, refused) = issue(&portal).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("pharmacy_suspended"))
    );
    browser
        .click(&format!("#reactivate-{}", key(PHARMACY)))
        .await;
    browser
        .wait_for_text(&format!("{pharmacy_row} .status"), "Aktiv")
        .await;
    assert_eq!(issue(&portal).await.0, 200);

    // Every change names the administrator in the audit log.
    let kinds = portal.audit_kinds().await;
    for expected in [
        format!(
            r#"anomaly_alert_acknowledged {{"alert_id":{alert_id},"rule":"off_hours_repeated","by":{ada}}}"#
        ),
        format!(r#"issuance_locked {{"scope":"pharmacy","reason":"fraud_suspected","by":{ada}}}"#),
        format!(
            r#"issuance_unlocked {{"scope":"pharmacy","reason":"fraud_suspected","by":{ada}}}"#
        ),
        format!(r#"pharmacy_status_changed {{"status":"suspended","by":{ada}}}"#),
        format!(r#"pharmacy_status_changed {{"status":"active","by":{ada}}}"#),
    ] {
        assert!(kinds.contains(&expected), "{expected} in {kinds:?}");
    }

    // In English on request.
    browser.open("/pharmacies?lang=en").await;
    assert_eq!(browser.text("h1").await, "Pharmacies");
    assert_eq!(
        browser.text(&format!("{pharmacy_row} .status")).await,
        "Active"
    );
    browser.screenshot("admin-06-pharmacies-en").await;
    browser.open("/alerts?lang=de").await;

    // Signing out ends the session.
    browser.click("#logout").await;
    browser.wait_for_path("/login").await;
    assert_eq!(
        browser.text("#login-notice").await,
        "Sie wurden abgemeldet."
    );
    browser.open("/locks").await;
    browser.wait_for_path("/login").await;
    browser.close().await;
    listener.stop().await;
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pharmacy_certificate_cannot_reach_the_admin_pages_and_forged_forms_are_refused() {
    let _turn = exclusive().await;
    let (portal, listener) = start().await;
    let port = listener.local_addr.port();

    // A pharmacy's SMC-B certificate does not chain to the service CA: no page at all.
    let pharmacy = Browser::launch_at(&portal, Holder::Pharmacy(PHARMACY), port).await;
    let _ = pharmacy
        .client
        .goto(&format!("https://localhost:{port}/login"))
        .await;
    let source = pharmacy.source().await;
    assert!(
        !source.contains("login-form") && !source.contains("Verbandsverwaltung"),
        "{source}"
    );
    pharmacy.screenshot("admin-07-pharmacy-refused").await;
    pharmacy.close().await;

    // A form without its CSRF token is refused and changes nothing.
    let browser = signed_in_administrator(&portal, &listener, "ada").await;
    browser.open("/pharmacies").await;
    browser
        .client
        .execute(
            "document.querySelectorAll('input[name=csrf]').forEach(e => e.remove());",
            vec![],
        )
        .await
        .unwrap();
    browser.click(&format!("#suspend-{}", key(PHARMACY))).await;
    assert_eq!(browser.text("#error-code").await, "csrf_invalid");
    assert!(
        browser
            .text("#error-message")
            .await
            .starts_with("Das Formular ist abgelaufen")
    );
    browser.screenshot("admin-08-csrf-refused").await;
    let pharmacy = dcc_store::pharmacies::find(portal.store.pool(), PHARMACY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pharmacy.status.as_str(), "active");

    // A session cookie this listener never issued leads to the login.
    let mut cookie = fantoccini::cookies::Cookie::new("dcc_admin_session", "not-a-session");
    cookie.set_path("/");
    cookie.set_domain("localhost");
    cookie.set_secure(true);
    browser.client.delete_all_cookies().await.unwrap();
    browser.client.add_cookie(cookie).await.unwrap();
    browser.open("/locks").await;
    browser.wait_for_path("/login").await;
    browser.close().await;
    listener.stop().await;
    portal.stop().await;
}
