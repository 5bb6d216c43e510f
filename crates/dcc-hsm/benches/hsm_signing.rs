//! Certificates per second signed with a SoftHSM2 key next to the same work with a file key,
//! in the same run: the whole HCERT encoding (CWT, COSE_Sign1, zlib, Base45) with each
//! signer, on one thread and on four threads (the PKCS#11 signer with a pool of four
//! sessions), printed with the ratio HSM / file.
//!
//! `cargo bench -p dcc-hsm --bench hsm_signing`. Without `SOFTHSM2_CONF` it runs itself again
//! with a private token folder.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use dcc_core::dsc::Dsc;
use dcc_core::hcert::{self, cwt::IssueClaims};
use dcc_core::model::Dcc;
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::signer::Signer;
use dcc_hsm::key::{self, KeySelector};
use dcc_hsm::signer::{Pkcs11KeySpec, Pkcs11Signer};
use dcc_hsm::softhsm;
use dcc_hsm::token::{Pin, Token};
use dcc_pki::dcc_signing::issue_dsc_for_p256_point;
use dcc_pki::dev_pki::DevPki;
use dcc_pki::file_signer::FileSigner;

const THREADS: usize = 4;
const RUN: Duration = Duration::from_secs(3);

fn main() {
    if std::env::var_os("SOFTHSM2_CONF").is_none() {
        let dir = tempfile::tempdir().unwrap();
        let conf = softhsm::write_conf(dir.path()).unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(std::env::args().skip(1))
            .env("SOFTHSM2_CONF", &conf)
            .status()
            .unwrap();
        assert!(status.success());
        return;
    }
    #[expect(clippy::disallowed_methods, reason = "bench PKI valid from now")]
    let now = time::OffsetDateTime::now_utc();
    let pki = DevPki::generate(now).unwrap();

    let file_dsc = pki.dsc(CertificateType::Vaccination);
    let file_signer: Arc<dyn Signer> = Arc::new(
        FileSigner::from_pem(
            file_dsc.certificate_pem().as_bytes(),
            &file_dsc.private_key_pem(),
        )
        .unwrap(),
    );

    let conf = std::path::PathBuf::from(std::env::var_os("SOFTHSM2_CONF").unwrap());
    softhsm::init_token(&conf, "bench", "1234", "5678").unwrap();
    let token = Token::open(&softhsm::module_path(), "bench").unwrap();
    let session = token.session(&Pin::new("5678")).unwrap();
    let public = key::generate_p256(&session, "dsc-v", &[1]).unwrap();
    let certificate = issue_dsc_for_p256_point(
        pki.csca(),
        CertificateType::Vaccination,
        now,
        public.point(),
    )
    .unwrap();
    let hsm_dsc = Dsc::from_der(certificate.der()).unwrap();
    let hsm_signer: Arc<dyn Signer> = Arc::new(
        Pkcs11Signer::open(
            &Pkcs11KeySpec {
                module: softhsm::module_path(),
                token_label: "bench".into(),
                pin: Pin::new("5678"),
                key: KeySelector::Label("dsc-v".into()),
                sessions: THREADS,
            },
            &hsm_dsc,
        )
        .unwrap(),
    );

    let dcc = Arc::new(vaccination());
    let claims = Arc::new(IssueClaims {
        issuer: "DE".into(),
        issued_at: now.unix_timestamp(),
        expires_at: now.unix_timestamp() + 365 * 86_400,
    });
    println!("HCERT signing, certificates per second ({RUN:?} per measurement)");
    println!(
        "{:<10} {:>12} {:>12} {:>8}",
        "threads", "file key", "SoftHSM2", "ratio"
    );
    for threads in [1, THREADS] {
        let file = rate(&file_signer, &dcc, &claims, threads);
        let hsm = rate(&hsm_signer, &dcc, &claims, threads);
        println!("{threads:<10} {file:>12.0} {hsm:>12.0} {:>8.3}", hsm / file);
    }
}

/// Certificates per second with `threads` threads signing for [`RUN`].
fn rate(
    signer: &Arc<dyn Signer>,
    dcc: &Arc<Dcc>,
    claims: &Arc<IssueClaims>,
    threads: usize,
) -> f64 {
    #[expect(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (signer, dcc, claims) = (Arc::clone(signer), Arc::clone(dcc), Arc::clone(claims));
            std::thread::spawn(move || {
                let mut count = 0u64;
                while start.elapsed() < RUN {
                    let hc1 = hcert::encode(&dcc, &claims, signer.as_ref()).unwrap();
                    assert!(hc1.starts_with("HC1:"));
                    count += 1;
                }
                count
            })
        })
        .collect();
    let total: u64 = handles
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .sum();
    total as f64 / start.elapsed().as_secs_f64()
}

fn vaccination() -> Dcc {
    Dcc::from_json(&serde_json::json!({
        "ver": "1.3.0",
        "nam": {"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gn": "Erika", "gnt": "ERIKA"},
        "dob": "1964-08-12",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
               "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-06-01", "co": "DE",
               "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:APO1/BENCH#X"}]
    }))
    .unwrap()
}
