//! `Pkcs11Signer` against a real SoftHSM2 token in a private folder.
//!
//! The module reads `SOFTHSM2_CONF` once per process, so a test that finds it unset runs
//! itself again as a child process with a fresh token folder (and fails if the child fails);
//! with it set (as `scripts/test.sh` does) the test runs in place, on a token of its own.
//! Without SoftHSM2 installed every test fails with a message saying so.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::sync::Arc;

use dcc_core::algorithm::Algorithm;
use dcc_core::dsc::Dsc;
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::signer::Signer;
use dcc_hsm::HsmError;
use dcc_hsm::key::{self, KeySelector};
use dcc_hsm::signer::{Pkcs11KeySpec, Pkcs11Signer};
use dcc_hsm::softhsm;
use dcc_hsm::token::{Pin, Token};
use dcc_pki::dcc_signing::issue_dsc_for_p256_point;
use dcc_pki::dev_pki::DevPki;

const PIN: &str = "5678";

/// Runs the test body in a process whose `SOFTHSM2_CONF` is set; `None` means the body ran
/// in a child process (and passed).
fn softhsm(test: &str) -> Option<()> {
    if std::env::var_os("SOFTHSM2_CONF").is_some() {
        return Some(());
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = softhsm::write_conf(dir.path()).unwrap();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} failed in its SoftHSM2 process:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    None
}

/// Fresh tokens with these labels (all made before the module is first initialised in this
/// process: SoftHSM2 lists the tokens it found then), and the first of them opened.
fn token(labels: &[&str]) -> Token {
    let conf = PathBuf::from(std::env::var_os("SOFTHSM2_CONF").unwrap());
    for label in labels {
        softhsm::init_token(&conf, label, "1234", PIN).unwrap();
    }
    Token::open(&softhsm::module_path(), labels[0]).unwrap()
}

fn now() -> time::OffsetDateTime {
    #[expect(clippy::disallowed_methods, reason = "test PKI valid from now")]
    time::OffsetDateTime::now_utc()
}

/// A key generated in the token and its DSC, issued by a fresh dev CSCA.
fn key_and_dsc(token: &Token, label: &str, id: &[u8]) -> Dsc {
    let session = token.session(&Pin::new(PIN)).unwrap();
    let public = key::generate_p256(&session, label, id).unwrap();
    let pki = DevPki::generate(now()).unwrap();
    let certificate = issue_dsc_for_p256_point(
        pki.csca(),
        CertificateType::Vaccination,
        now(),
        public.point(),
    )
    .unwrap();
    Dsc::from_der(certificate.der()).unwrap()
}

fn spec(token: &Token, key: KeySelector, sessions: usize) -> Pkcs11KeySpec {
    Pkcs11KeySpec {
        module: softhsm::module_path(),
        token_label: token.label().to_owned(),
        pin: Pin::new(PIN),
        key,
        sessions,
    }
}

#[test]
fn a_key_generated_in_the_token_is_sensitive_and_signs_verifiable_es256() {
    let Some(()) = softhsm("a_key_generated_in_the_token_is_sensitive_and_signs_verifiable_es256")
    else {
        return;
    };
    let token = token(&["sign"]);
    let dsc = key_and_dsc(&token, "dsc-v", &[1]);
    let session = token.session(&Pin::new(PIN)).unwrap();
    let selector = KeySelector::Label("dsc-v".into());
    assert!(key::is_protected(&session, &selector).unwrap());

    for selector in [selector, KeySelector::Id(vec![1])] {
        let signer = Pkcs11Signer::open(&spec(&token, selector, 2), &dsc).unwrap();
        assert_eq!(signer.algorithm(), Algorithm::Es256);
        assert_eq!(signer.kid(), dsc.kid());
        let signature = signer.sign(b"Sig_structure bytes").unwrap();
        assert_eq!(signature.len(), 64);
        dsc.public_key()
            .verify(Algorithm::Es256, b"Sig_structure bytes", &signature)
            .unwrap();
        assert!(
            dsc.public_key()
                .verify(Algorithm::Es256, b"other bytes", &signature)
                .is_err()
        );
        let debug = format!("{signer:?}");
        assert!(debug.contains("sign") && !debug.contains(PIN), "{debug}");
        assert!(
            matches!(signer.probe(), Some(Ok(()))),
            "a logged-in pool answers the probe"
        );
    }
}

#[test]
fn the_probe_reports_a_token_that_logged_the_pool_out() {
    let Some(()) = softhsm("the_probe_reports_a_token_that_logged_the_pool_out") else {
        return;
    };
    let token = token(&["probe"]);
    let dsc = key_and_dsc(&token, "dsc-v", &[3]);
    let signer =
        Pkcs11Signer::open(&spec(&token, KeySelector::Label("dsc-v".into()), 1), &dsc).unwrap();
    signer.ping().unwrap();
    // Login state belongs to the application, not the session: logging out one session logs
    // out the pool's sessions too, as a token reset would.
    let other = token.session(&Pin::new(PIN)).unwrap();
    other.logout().unwrap();
    let error = signer.ping().unwrap_err();
    assert!(matches!(error, HsmError::LoggedOut { .. }), "{error}");
    assert!(matches!(signer.probe(), Some(Err(_))));
    assert!(!error.to_string().contains(PIN));
}

#[test]
fn the_session_pool_serves_many_threads() {
    let Some(()) = softhsm("the_session_pool_serves_many_threads") else {
        return;
    };
    let token = token(&["pool"]);
    let dsc = key_and_dsc(&token, "dsc-v", &[2]);
    let signer = Arc::new(
        Pkcs11Signer::open(&spec(&token, KeySelector::Label("dsc-v".into()), 2), &dsc).unwrap(),
    );
    let threads: Vec<_> = (0..8)
        .map(|thread| {
            let signer = Arc::clone(&signer);
            let dsc = dsc.clone();
            std::thread::spawn(move || {
                for round in 0..25 {
                    let message = format!("{thread}/{round}");
                    let signature = signer.sign(message.as_bytes()).unwrap();
                    dsc.public_key()
                        .verify(Algorithm::Es256, message.as_bytes(), &signature)
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn wrong_key_wrong_dsc_and_wrong_pin_are_refused_without_the_pin() {
    let Some(()) = softhsm("wrong_key_wrong_dsc_and_wrong_pin_are_refused_without_the_pin") else {
        return;
    };
    let token = token(&["refuse", "refuse-pin"]);
    let dsc = key_and_dsc(&token, "dsc-v", &[3]);
    let other_dsc = key_and_dsc(&token, "dsc-t", &[4]);

    let missing = Pkcs11Signer::open(&spec(&token, KeySelector::Label("nope".into()), 1), &dsc);
    assert!(matches!(
        missing,
        Err(HsmError::KeyNotFound { found: 0, .. })
    ));
    let mismatch = Pkcs11Signer::open(
        &spec(&token, KeySelector::Label("dsc-v".into()), 1),
        &other_dsc,
    );
    assert!(matches!(mismatch, Err(HsmError::KeyMismatch)));

    let missing_token = Token::open(&softhsm::module_path(), "no such token");
    assert!(matches!(missing_token, Err(HsmError::TokenNotFound(_))));

    // A fresh token with no session logged in yet, opened with a wrong PIN.
    let fresh = Token::open(&softhsm::module_path(), "refuse-pin").unwrap();
    let error = fresh.session(&Pin::new("99999999")).unwrap_err();
    assert!(matches!(error, HsmError::Login { .. }), "{error:?}");
    assert!(!error.to_string().contains("99999999"));
    assert_eq!(format!("{:?}", Pin::new("99999999")), "Pin(<redacted>)");
}
