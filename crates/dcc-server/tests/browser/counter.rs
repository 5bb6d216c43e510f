//! The counter's main path in the browser: sign in, issue, QR, PDF, list of the day, sign out.

use std::process::Command;

use dcc_auth::role::Role;
use dcc_auth::totp::TotpSecret;
use dcc_core::trust_list::TrustList;
use dcc_core::verify;

use crate::accounts::{PASSWORD, account, code};
use crate::browser::{Browser, exclusive};
use crate::support::{Backend, PHARMACY, TestPortal, now};

/// Signs in on the login page the browser shows.
pub async fn sign_in(browser: &Browser, username: &str, totp: &str) {
    browser.fill("#username", username).await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#totp", totp).await;
    browser.click("#login-submit").await;
}

/// A browser of the pharmacy signed in as a new enrolled operator `username` of `role`.
pub async fn signed_in(portal: &TestPortal, username: &str, role: Role) -> Browser {
    let secret = account(&portal.store, PHARMACY, username, role, true)
        .await
        .unwrap();
    let browser = Browser::launch(portal, PHARMACY).await;
    browser.open("/login").await;
    sign_in(&browser, username, &code(&secret)).await;
    browser.wait_for_path("/counter").await;
    browser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_sign_in_issue_a_vaccination_see_the_qr_download_the_pdf_and_sign_out() {
    let _turn = exclusive().await;
    let portal = TestPortal::start(Backend::Sqlite).await;
    // A new owner without a second factor: the first sign-in enrols it.
    account(&portal.store, PHARMACY, "anna", Role::Owner, false).await;
    let browser = Browser::launch(&portal, PHARMACY).await;

    browser.open("/counter").await;
    browser.wait_for_path("/login").await;
    assert_eq!(browser.text("label[for=username]").await, "Benutzername");
    browser.screenshot("01-login").await;
    sign_in(&browser, "anna", "").await;
    let secret_text = browser.text("#totp-secret").await;
    browser.screenshot("02-enrol").await;
    // The QR code on the page is the provisioning URI of the secret shown as text.
    let qr = browser
        .client
        .find(fantoccini::Locator::Css("#totp-qr"))
        .await
        .unwrap()
        .screenshot()
        .await
        .unwrap();
    let uri = zbarimg(&qr);
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret_text}")), "{uri}");
    let secret = TotpSecret::from_base32(&secret_text).unwrap();
    browser.fill("#totp", "000000").await;
    browser.click("#enrol-submit").await;
    assert_eq!(
        browser.text("#enrol-error").await,
        "Der Code ist falsch oder abgelaufen."
    );
    browser.fill("#totp", &code(&secret)).await;
    browser.click("#enrol-submit").await;
    // The answer is a redirect; the browser may report the old address for a moment.
    browser.wait_for_path("/counter").await;
    assert_eq!(browser.text("#operator").await, "anna");
    browser.text("#today-empty").await;
    browser.screenshot("03-counter").await;

    browser.click("#new-vaccination").await;
    browser.wait_for_path("/counter/vaccination").await;
    browser.fill("#fn", "Müller-Lüdenscheidt").await;
    browser.fill("#gn", "Jürgen").await;
    // The standardised names appear as typed (htmx fragment from dcc_core::transliterate).
    browser.wait_for_text("#fnt", "MUELLER<LUEDENSCHEIDT").await;
    browser.wait_for_text("#gnt", "JUERGEN").await;
    browser.fill("#dob", "12.08.1964").await;
    browser.choose("#vp", "1119349007").await;
    browser.choose("#mp", "EU/1/20/1528").await;
    browser.choose("#ma", "ORG-100030215").await;
    browser.fill("#dn", "3").await;
    browser.fill("#sd", "2").await;
    // Dose above the series is warned about while typing.
    browser
        .wait_for_text(
            "#live-warnings",
            "Dosis 3 ist höher als die Zahl der Dosen der Serie (2)",
        )
        .await;
    browser.screenshot("04-vaccination-form-warning").await;
    browser.fill("#dn", "2").await;
    browser
        .wait_for_text("#no-warnings", "Keine Auffälligkeiten")
        .await;
    browser.click("#issue").await;

    browser.text("#uvci").await;
    browser.wait_for_path_prefix("/counter/issued/").await;
    let uvci = browser.text("#uvci").await;
    assert!(uvci.starts_with("URN:UVCI:01:DE:APO1/"), "{uvci}");
    assert_eq!(browser.text("#issued-type").await, "Impfzertifikat");
    browser.screenshot("05-issued").await;

    // The QR as the browser shows it decodes to a certificate that verifies and is this one.
    let qr = browser
        .client
        .find(fantoccini::Locator::Css("#qr"))
        .await
        .unwrap()
        .screenshot()
        .await
        .unwrap();
    let hc1 = zbarimg(&qr);
    let trust = trust(&portal);
    let verification = verify::verify(&hc1, &trust, now().unix_timestamp()).unwrap();
    assert!(verification.is_valid(), "{verification:?}");
    let payload = &verification.hcert.payload;
    assert_eq!(payload["v"][0]["ci"], uvci.as_str());
    assert_eq!(payload["v"][0]["dn"], 2);
    assert_eq!(payload["nam"]["fnt"], "MUELLER<LUEDENSCHEIDT");

    // The PDF downloads and names the certificate.
    browser.click("#download-pdf").await;
    let pdf = browser.downloaded("certificate.pdf").await;
    assert!(pdf.starts_with(b"%PDF"), "not a PDF");
    let text = pdftotext(&pdf);
    assert!(text.contains(&uvci), "{text}");

    // The list of the day shows it, without names.
    browser.open("/counter").await;
    let today = browser.text("#today").await;
    assert!(today.contains(&uvci), "{today}");
    assert!(
        today.contains("Impfzertifikat") && today.contains("anna"),
        "{today}"
    );
    assert!(
        !today.contains("Müller") && !today.contains("MUELLER"),
        "{today}"
    );
    assert_eq!(portal.ledger_count(PHARMACY).await, 1);

    browser.click("#logout").await;
    browser.wait_for_path("/login").await;
    browser.text("#login-notice").await;
    browser.open("/counter").await;
    browser.wait_for_path("/login").await;

    browser.close().await;
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_are_confirmed_before_issuing_and_field_errors_sit_by_their_field() {
    let _turn = exclusive().await;
    let portal = TestPortal::start(Backend::Sqlite).await;
    let browser = signed_in(&portal, "pharmacist", Role::Pharmacist).await;
    browser.open("/counter/recovery?lang=en").await;
    browser.click("#issue").await;
    // Nothing filled in: each required field says so, in English.
    assert_eq!(browser.text("#error-fn").await, "Required.");
    assert_eq!(browser.text("#error-dob").await, "Required.");
    assert_eq!(browser.text("#error-fr").await, "Required.");
    browser.screenshot("06-recovery-field-errors-en").await;

    browser.fill("#fn", "Nowak").await;
    browser.fill("#dob", "1970-01-01").await;
    // Days are counted in the pharmacy's time (Europe/Berlin), as the page counts them.
    let recent = dcc_calendar::berlin::local_date(now().unix_timestamp()) - time::Duration::days(3);
    browser.fill("#fr", &recent.to_string()).await;
    browser.click("#issue").await;
    // Too early for a recovery certificate: the confirm step lists the warning.
    let warnings = browser.text("#confirm-warnings").await;
    assert!(warnings.contains("only 3 days ago"), "{warnings}");
    assert_eq!(portal.ledger_count(PHARMACY).await, 0);
    browser.screenshot("07-recovery-confirm-en").await;
    // A double submit: the same form posted once by script and once by the button gives one
    // certificate (the idempotency key comes from the form's token).
    browser
        .client
        .execute(
            "const form = document.getElementById('certificate-form');
             const data = new URLSearchParams(new FormData(form));
             data.set('confirm', '1');
             return fetch(form.action, {method: 'POST', body: data, redirect: 'manual'})
                 .then(answer => answer.type);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(portal.ledger_count(PHARMACY).await, 1);
    browser.click("#issue-anyway").await;
    let uvci = browser.text("#uvci").await;
    assert!(uvci.starts_with("URN:UVCI:01:DE:APO1/"), "{uvci}");
    assert_eq!(browser.text("#issued-type").await, "Recovery certificate");
    assert_eq!(portal.ledger_count(PHARMACY).await, 1);

    browser.close().await;
    portal.stop().await;
}

fn trust(portal: &TestPortal) -> TrustList {
    let mut trust = TrustList::new();
    for kind in ["v", "t", "r"] {
        let pem = std::fs::read(portal.dir.path().join(format!("pki/dcc/dsc-{kind}.pem"))).unwrap();
        trust.extend(TrustList::from_certificates(&pem).unwrap().iter().cloned());
    }
    trust
}

/// The one code zbarimg finds in an image (it may report the same symbol more than once).
fn zbarimg(png: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qr.png");
    std::fs::write(&path, png).unwrap();
    let output = tool(
        "zbarimg",
        "zbar-tools",
        &["-q", "--raw", path.to_str().unwrap()],
    );
    let mut symbols: Vec<&str> = output.lines().filter(|line| !line.is_empty()).collect();
    symbols.dedup();
    assert_eq!(symbols.len(), 1, "{output}");
    symbols[0].to_owned()
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("certificate.pdf");
    std::fs::write(&path, pdf).unwrap();
    tool("pdftotext", "poppler-utils", &[path.to_str().unwrap(), "-"])
}

fn tool(name: &str, package: &str, args: &[&str]) -> String {
    let output = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{name} is needed (Debian package {package}): {error}"));
    assert!(
        output.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
