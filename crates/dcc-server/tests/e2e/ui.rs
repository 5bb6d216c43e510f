//! The staff pages over real mutual TLS without a browser: security headers, redirects to the
//! login, CSRF refusals (403, translated) and the live preview fragment.

use dcc_auth::role::Role;
use dcc_server::ui::headers::CONTENT_SECURITY_POLICY;
use dcc_server::ui::path_segment;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};

use super::accounts::{PASSWORD, account, code};
use super::support::{Backend, Extra, PHARMACY, TestPortal, institution, register};

/// A URL-encoded form body (reqwest is built without its `form` feature).
trait FormBody {
    fn form_body(self, fields: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, fields: &[(&str, &str)]) -> Self {
        let body: Vec<String> = fields
            .iter()
            .map(|(key, value)| format!("{}={}", path_segment(key), path_segment(value)))
            .collect();
        self.header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.join("&"))
    }
}

/// A client of the pharmacy that does not follow redirects.
fn client(portal: &TestPortal) -> Client {
    client_of(portal, PHARMACY)
}

/// A client of `telematik_id` that does not follow redirects.
fn client_of(portal: &TestPortal, telematik_id: &str) -> Client {
    let identity = portal.identity_of(telematik_id);
    let ca = std::fs::read(portal.dir.path().join("pki/service/ca.pem")).unwrap();
    Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|line| {
            let (pair, _) = line.split_once(';').unwrap_or((line, ""));
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Signs in a new technician and returns the session cookie and its CSRF token.
async fn sign_in(portal: &TestPortal, client: &Client) -> (String, String) {
    sign_in_at(portal, client, PHARMACY).await
}

/// Signs in a new technician of `telematik_id`.
async fn sign_in_at(portal: &TestPortal, client: &Client, telematik_id: &str) -> (String, String) {
    let secret = account(&portal.store, telematik_id, "pta", Role::Technician, true)
        .await
        .unwrap();
    let totp = code(&secret);
    let page = client.get(portal.url("/login")).send().await.unwrap();
    let login_cookie = set_cookie(&page, "dcc_login_csrf").unwrap();
    let token = hidden(&page.text().await.unwrap(), "csrf");
    assert_eq!(token, login_cookie);
    let response = client
        .post(portal.url("/login"))
        .header(COOKIE, format!("dcc_login_csrf={login_cookie}"))
        .form_body(&[
            ("csrf", token.as_str()),
            ("username", "pta"),
            ("password", PASSWORD),
            ("totp", totp.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/counter");
    let session = set_cookie(&response, "dcc_session").unwrap();
    let counter = client
        .get(portal.url("/counter"))
        .header(COOKIE, format!("dcc_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(counter.status(), StatusCode::OK);
    let csrf = hidden(&counter.text().await.unwrap(), "csrf");
    (session, csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_the_security_headers_and_no_inline_code() {
    let portal = TestPortal::start(Backend::Sqlite).await;
    let client = client(&portal);
    let response = client.get(portal.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-security-policy"], CONTENT_SECURITY_POLICY);
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    assert!(CONTENT_SECURITY_POLICY.contains("form-action 'self'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8");
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"de\">"));
    // No inline script or style for the policy to block.
    for script in html.split("<script").skip(1) {
        assert!(
            script.trim_start().starts_with("src="),
            "inline script: {script}"
        );
    }
    assert!(
        !html.contains(" style=") && !html.contains("<style"),
        "inline style"
    );

    let script_path = html
        .split("<script src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let script = client.get(portal.url(script_path)).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(script.headers()["x-content-type-options"], "nosniff");
    assert!(script.bytes().await.unwrap().starts_with(b"var htmx="));
    let missing = client
        .get(portal.url("/static/nothing.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // The API keeps its own answers: no page headers there.
    let api = client.get(portal.url("/health/live")).send().await.unwrap();
    assert!(api.headers().get("content-security-policy").is_none());
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_without_a_session_send_to_the_login() {
    let portal = TestPortal::start(Backend::Sqlite).await;
    let client = client(&portal);
    for path in ["/", "/counter", "/counter/vaccination", "/counter/issued/x"] {
        let response = client.get(portal.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(
            location == "/login" || location == "/counter",
            "{path}: {location}"
        );
    }
    let htmx = client
        .post(portal.url("/counter/test/preview"))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(htmx.headers()["hx-redirect"], "/login");
    let stale = client
        .get(portal.url("/counter"))
        .header(COOKIE, "dcc_session=0123")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.headers()[LOCATION], "/login");
    assert_eq!(set_cookie(&stale, "dcc_session").as_deref(), Some(""));
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_the_right_csrf_token_are_refused_in_the_chosen_language() {
    let portal = TestPortal::start(Backend::Sqlite).await;
    let client = client(&portal);
    // The login form without its double-submit cookie.
    let refused = client
        .post(portal.url("/login"))
        .form_body(&[("csrf", "abc"), ("username", "pta"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Das Formular ist abgelaufen")
    );
    let refused = client
        .post(portal.url("/login"))
        .header(COOKIE, "lang=en; dcc_login_csrf=abc")
        .form_body(&[("csrf", "abd"), ("username", "pta"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("The form has expired")
    );

    let (session, csrf) = sign_in(&portal, &client).await;
    let cookie = format!("dcc_session={session}");
    let form = [
        ("fn", "Weber"),
        ("dob", "1990-01-01"),
        ("form_token", "0a1b"),
    ];
    for token in ["", "wrong"] {
        let mut fields = form.to_vec();
        fields.push(("csrf", token));
        let response = client
            .post(portal.url("/counter/vaccination"))
            .header(COOKIE, &cookie)
            .form_body(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.text().await.unwrap().contains("csrf_invalid"));
    }
    let preview = client
        .post(portal.url("/counter/vaccination/preview"))
        .header(COOKIE, &cookie)
        .form_body(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), StatusCode::FORBIDDEN);
    let preview = client
        .post(portal.url("/counter/vaccination/preview"))
        .header(COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .form_body(&[
            ("fn", "Weber-Ölçek"),
            ("dn", "4"),
            ("sd", "2"),
            ("dt", "01.06.2021"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), StatusCode::OK);
    let fragment = preview.text().await.unwrap();
    assert!(fragment.contains("WEBER&#60;OELCEK"), "{fragment}");
    assert!(fragment.contains("Dosis 4 ist höher"), "{fragment}");
    assert!(!fragment.contains("<html"), "a fragment, not a page");
    let logout = client
        .post(portal.url("/logout"))
        .header(COOKIE, &cookie)
        .form_body(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    let still = client
        .get(portal.url("/counter"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK);
    assert_eq!(portal.ledger_count(PHARMACY).await, 0);
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn violations_of_the_use_case_are_shown_next_to_their_field() {
    let portal = TestPortal::start(Backend::Sqlite).await;
    let client = client(&portal);
    let (session, csrf) = sign_in(&portal, &client).await;
    let cookie = format!("dcc_session={session}; lang=en");
    let form = client
        .get(portal.url("/counter/vaccination"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form_token = hidden(&form, "form_token");
    assert_eq!(form_token.len(), 32);
    // A product code that is not in the value set passes the form but not the use case.
    let response = client
        .post(portal.url("/counter/vaccination"))
        .header(COOKIE, &cookie)
        .form_body(&[
            ("csrf", csrf.as_str()),
            ("form_token", form_token.as_str()),
            ("fn", "Weber"),
            ("dob", "01.01.1990"),
            ("tg", "840539006"),
            ("vp", "1119349007"),
            ("mp", "EU/1/99/9999"),
            ("ma", "ORG-100030215"),
            ("dn", "1"),
            ("sd", "2"),
            ("dt", "01.06.2021"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains(
            "<p class=\"field-error\" id=\"error-mp\">Not in the official value set.</p>"
        ),
        "{page}"
    );
    assert!(page.contains("Please correct the marked fields."));
    // What was typed stays in the form.
    assert!(page.contains("value=\"Weber\""));
    assert_eq!(portal.ledger_count(PHARMACY).await, 0);
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_result_and_its_files_are_the_issuing_pharmacys_only() {
    const OTHER: &str = "3-SMC-B-Testkarte-883110000116999";
    let extra = Extra {
        request: institution(OTHER),
        revoked: false,
    };
    let portal = TestPortal::start_with(Backend::Sqlite, vec![extra]).await;
    register(&portal.store, OTHER, "APO2").await;
    let client = client(&portal);
    let (session, csrf) = sign_in(&portal, &client).await;
    let cookie = format!("dcc_session={session}");
    let response = client
        .post(portal.url("/counter/test"))
        .header(COOKIE, &cookie)
        .form_body(&[
            ("csrf", csrf.as_str()),
            ("form_token", "00112233445566778899aabbccddeeff"),
            ("fn", "Weber"),
            ("dob", "1990"),
            ("tg", "840539006"),
            ("tt", "LP217198-3"),
            ("ma", "1232"),
            ("sc", "01.06.2021 09:30"),
            ("tr", "260415000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let result = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        result.starts_with("/counter/issued/URN%3AUVCI%3A01%3ADE%3AAPO1%2F"),
        "{result}"
    );
    let page = client
        .get(portal.url(&result))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("URN:UVCI:01:DE:APO1/"));
    let svg = client
        .get(portal.url(&format!("{result}/qr.svg")))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(svg.headers()[CONTENT_TYPE], "image/svg+xml");
    assert_eq!(svg.headers()[CACHE_CONTROL], "no-store");
    let pdf = client
        .get(portal.url(&format!("{result}/certificate.pdf")))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pdf.headers()["content-disposition"],
        "attachment; filename=\"certificate.pdf\""
    );
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));

    // Another pharmacy's operator learns nothing about it.
    let other = client_of(&portal, OTHER);
    let (other_session, _) = sign_in_at(&portal, &other, OTHER).await;
    for path in [result.clone(), format!("{result}/certificate.pdf")] {
        let refused = other
            .get(portal.url(&path))
            .header(COOKIE, format!("dcc_session={other_session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            refused
                .text()
                .await
                .unwrap()
                .contains("certificate_not_kept")
        );
    }
    portal.stop().await;
}

/// A closed July 2021 with three vaccination certificates of the pharmacy, 6 € each (after the
/// 8 July tier change).
async fn closed_july(portal: &TestPortal) {
    let at = time::macros::datetime!(2021-07-10 10:00 +2).unix_timestamp();
    let entries: Vec<dcc_store::ledger::LedgerEntry> = (0..3)
        .map(|n| dcc_store::ledger::LedgerEntry {
            uvci: format!("URN:UVCI:01:DE:APO1/STATEMENT{n}#A"),
            telematik_id: PHARMACY.to_owned(),
            certificate_type: dcc_store::ledger::CertificateType::Vaccination,
            product: "EU/1/20/1528".to_owned(),
            dose_number: Some(1),
            total_doses: Some(2),
            event_date: "2021-07-10".to_owned(),
            kid: "DEsVUSvpFAE=".to_owned(),
            uci_hash: "a".repeat(64),
            issued_at: at + n,
            expires_at: at + 365 * 86_400,
            idempotency_key: None,
            request_hash: "b".repeat(64),
            revoked_at: None,
            revocation_reason: None,
            holder_key: None,
            country_code_uci_hash: None,
            signature_hash: None,
            operator_id: None,
        })
        .collect();
    let mut tx = portal.store.begin().await.unwrap();
    dcc_store::billing::insert_ledger_bulk(&mut tx, &entries)
        .await
        .unwrap();
    dcc_store::commit(tx).await.unwrap();
    let settings = dcc_issuance::billing::BillingSettings::default();
    let billing = dcc_issuance::billing::Billing {
        store: &portal.store,
        settings: &settings,
    };
    let after = time::macros::datetime!(2021-08-02 01:00 +2).unix_timestamp();
    billing
        .close_month(
            dcc_billing::month::BillingMonth::parse("2021-07").unwrap(),
            after,
            &|_, _| {},
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statements_page_lists_and_hands_out_the_pharmacys_own_statements() {
    let portal = TestPortal::start(Backend::Sqlite).await;
    let client = client(&portal);
    let (session, _) = sign_in(&portal, &client).await;
    let cookie = format!("dcc_session={session}; lang=en");
    let get = |path: &str| client.get(portal.url(path)).header(COOKIE, &cookie).send();
    let empty = get("/statements").await.unwrap();
    assert_eq!(empty.status(), StatusCode::OK);
    assert!(
        empty
            .text()
            .await
            .unwrap()
            .contains("There is no closed monthly statement yet.")
    );

    closed_july(&portal).await;
    let page = get("/statements").await.unwrap().text().await.unwrap();
    assert!(
        page.contains("<td>2021-07</td><td>3</td><td>3</td><td>€18.00</td>"),
        "{page}"
    );
    assert!(page.contains("href=\"/statements/2021-07/pdf\""), "{page}");

    let pdf = get("/statements/2021-07/pdf").await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()[CONTENT_TYPE], "application/pdf");
    assert_eq!(
        pdf.headers()["content-disposition"],
        "attachment; filename=\"abrechnung-2021-07.pdf\""
    );
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    let csv = get("/statements/2021-07/csv").await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    // Each download is recorded like a fetch over the API.
    let fetches = dcc_store::billing::fetches(portal.store.pool(), "2021-07")
        .await
        .unwrap();
    let formats: Vec<&str> = fetches.iter().map(|fetch| fetch.format.as_str()).collect();
    assert_eq!(formats, ["pdf", "csv"]);

    // A month without a statement, a malformed month, an unknown format.
    let missing = get("/statements/2021-08/pdf").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(
        missing
            .text()
            .await
            .unwrap()
            .contains("There is no statement for this month.")
    );
    assert_eq!(
        get("/statements/2021-13/pdf").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get("/statements/2021-07/xls").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Without a session: to the login.
    let anonymous = client.get(portal.url("/statements")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()[LOCATION], "/login");
    portal.stop().await;
}
