//! What the counter refuses, seen in the browser: a wrong TOTP code, another pharmacy's
//! session cookie, a form without its CSRF token; and the language switch.

use dcc_auth::role::Role;
use fantoccini::cookies::Cookie;

use crate::accounts::account;
use crate::browser::{Browser, exclusive};
use crate::counter::{sign_in, signed_in};
use crate::support::{Backend, Extra, PHARMACY, TestPortal, institution, register};

const OTHER_PHARMACY: &str = "3-SMC-B-Testkarte-883110000116999";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_totp_code_is_refused() {
    let _turn = exclusive().await;
    let portal = TestPortal::start(Backend::Sqlite).await;
    account(&portal.store, PHARMACY, "pta", Role::Technician, true).await;
    let browser = Browser::launch(&portal, PHARMACY).await;
    browser.open("/login").await;
    sign_in(&browser, "pta", "000000").await;
    browser.wait_for_path("/login").await;
    assert_eq!(
        browser.text("#login-error").await,
        "Der Code ist falsch oder abgelaufen."
    );
    // The username stays, the password does not.
    let username = browser
        .client
        .find(fantoccini::Locator::Css("#username"))
        .await
        .unwrap();
    assert_eq!(
        username.prop("value").await.unwrap().as_deref(),
        Some("pta")
    );
    browser.screenshot("08-login-wrong-totp").await;
    browser.open("/counter").await;
    browser.wait_for_path("/login").await;
    browser.close().await;
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_presented_with_another_pharmacys_certificate_is_refused() {
    let _turn = exclusive().await;
    let portal = TestPortal::start_with(
        Backend::Sqlite,
        vec![Extra {
            request: institution(OTHER_PHARMACY),
            revoked: false,
        }],
    )
    .await;
    register(&portal.store, OTHER_PHARMACY, "APO2").await;
    let owner = signed_in(&portal, "owner", Role::Owner).await;
    let stolen = owner.client.get_named_cookie("dcc_session").await.unwrap();
    assert!(stolen.http_only().unwrap_or(false));

    let other = Browser::launch(&portal, OTHER_PHARMACY).await;
    other.open("/login").await;
    let mut cookie = Cookie::new("dcc_session", stolen.value().to_owned());
    cookie.set_path("/");
    cookie.set_domain("localhost");
    cookie.set_secure(true);
    other.client.add_cookie(cookie).await.unwrap();
    other.open("/counter").await;
    assert_eq!(other.text("#error-code").await, "session_binding_mismatch");
    assert!(
        other
            .text("#error-message")
            .await
            .contains("anderen Apotheke"),
        "{}",
        other.source().await
    );
    other.screenshot("09-foreign-session-refused").await;
    // The cookie is cleared; the owner's session is untouched.
    assert!(other.client.get_named_cookie("dcc_session").await.is_err());
    owner.open("/counter").await;
    owner.wait_for_path("/counter").await;

    other.close().await;
    owner.close().await;
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_csrf_token_is_refused_with_403() {
    let _turn = exclusive().await;
    let portal = TestPortal::start(Backend::Sqlite).await;
    let browser = signed_in(&portal, "pta", Role::Technician).await;
    browser.open("/counter/test").await;
    browser
        .client
        .execute(
            "document.querySelector('#certificate-form input[name=csrf]').remove();",
            vec![],
        )
        .await
        .unwrap();
    browser.fill("#fn", "Weber").await;
    browser.click("#issue").await;
    assert_eq!(browser.text("#error-code").await, "csrf_invalid");
    assert!(
        browser
            .text("#error-message")
            .await
            .starts_with("Das Formular ist abgelaufen")
    );
    browser.screenshot("10-csrf-refused").await;
    assert_eq!(portal.ledger_count(PHARMACY).await, 0);
    browser.close().await;
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_changes_the_labels_and_is_remembered() {
    let _turn = exclusive().await;
    let portal = TestPortal::start(Backend::Sqlite).await;
    let browser = Browser::launch(&portal, PHARMACY).await;
    browser.open("/login").await;
    assert_eq!(browser.text("h1").await, "Anmelden");
    assert_eq!(browser.text("#lang-switch").await, "English");
    browser.click("#lang-switch").await;
    assert_eq!(browser.text("h1").await, "Sign in");
    assert_eq!(browser.text("label[for=password]").await, "Password");
    let lang = browser.client.get_named_cookie("lang").await.unwrap();
    assert_eq!(lang.value(), "en");
    browser.open("/login").await;
    assert_eq!(browser.text("label[for=username]").await, "Username");
    browser.screenshot("11-login-en").await;
    browser.click("#lang-switch").await;
    assert_eq!(browser.text("h1").await, "Anmelden");
    browser.close().await;
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_adds_and_disables_operators_a_technician_cannot() {
    let _turn = exclusive().await;
    let portal = TestPortal::start(Backend::Sqlite).await;
    let owner = signed_in(&portal, "owner", Role::Owner).await;
    owner.click("header nav a[href='/operators']").await;
    owner.wait_for_path("/operators").await;
    owner.fill("#new-username", "ben").await;
    owner.choose("#new-role", "technician").await;
    owner.fill("#new-password", "short").await;
    owner.click("#add-submit").await;
    assert!(owner.text("#operators-error").await.contains("zu kurz"));
    owner.fill("#new-username", "ben").await;
    owner.choose("#new-role", "technician").await;
    owner.fill("#new-password", "a-long-first-password").await;
    owner.click("#add-submit").await;
    owner.text("#operators-notice").await;
    let row = owner.text("#operator-ben").await;
    assert!(
        row.contains("PTA") && row.contains("noch nicht eingerichtet"),
        "{row}"
    );
    owner.screenshot("12-operators").await;
    owner.click("#disable-ben").await;
    owner.wait_for_text("#operator-ben", "deaktiviert").await;
    owner.close().await;

    // A technician sees no management and is refused it.
    let technician = signed_in(&portal, "pta", Role::Technician).await;
    assert!(
        technician
            .client
            .find(fantoccini::Locator::Css("header nav a[href='/operators']"))
            .await
            .is_err()
    );
    technician.open("/operators").await;
    assert_eq!(technician.text("#error-code").await, "forbidden_role");
    technician.close().await;
    portal.stop().await;
}
