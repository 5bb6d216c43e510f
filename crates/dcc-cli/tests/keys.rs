//! The published trust lists and key rotation through the real `dcc` binary: `dcc init`,
//! `dcc serve`, the portal's `GET /trust-list` and `GET /trust-list/de`,
//! `dcc trust-list export`, `dcc keys rotate` and `dcc verify --trust <list>`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{DataDir, ServeChild, assert_exit, dcc_in, free_port, issue, issue_at, text};
use dcc_server::config::Config;
use serde_json::Value;

/// The kid (base64) in an HC1's protected header, as `dcc decode --json` reports it.
fn kid_of(data: &DataDir, hc1: &str) -> String {
    let output = dcc_in(&data.data, &["decode", hc1]);
    assert_exit(&output, 0);
    let decoded: Value = serde_json::from_slice(&output.stdout).unwrap();
    decoded["cose"]["protected"]["kid"]
        .as_str()
        .unwrap_or_else(|| panic!("no kid in {decoded}"))
        .to_owned()
}

fn kids_in_gateway_json(body: &[u8]) -> Vec<String> {
    let entries: Vec<Value> = serde_json::from_slice(body).unwrap();
    entries
        .iter()
        .map(|entry| entry["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_the_server_verifies_against_both_published_lists() {
    let data = DataDir::init();
    let serve = ServeChild::start(&data).await;
    let client = data.client();
    let hc1 = issue(&client, &data).await.unwrap();

    // Served by the portal.
    let served = client.get(data.url("/trust-list")).send().await.unwrap();
    assert_eq!(served.status(), 200, "{}", serve.output());
    assert_eq!(served.headers()["content-type"], "application/json");
    let served_json = served.bytes().await.unwrap();
    assert_eq!(kids_in_gateway_json(&served_json).len(), 3);
    let served_de = client.get(data.url("/trust-list/de")).send().await.unwrap();
    assert_eq!(served_de.status(), 200);
    let served_de = served_de.bytes().await.unwrap();
    assert_eq!(served_de.iter().filter(|&&byte| byte == b'\n').count(), 1);

    let list_key = data.path("pki/trust-list/signer.pub");
    let list_key = list_key.to_string_lossy().into_owned();
    for (name, body) in [("served.json", &served_json), ("served-de.txt", &served_de)] {
        std::fs::write(data.path(name), body).unwrap();
        let output = data.verify(&hc1, &data.path(name), &["--dsc-list-key", &list_key]);
        assert_exit(&output, 0);
    }

    // Exported by the CLI, both formats.
    let eu = data.path("eu.json");
    let de = data.path("de.txt");
    assert_exit(
        &data.dcc(&["trust-list", "export", "-o", &eu.to_string_lossy()]),
        0,
    );
    assert_exit(
        &data.dcc(&[
            "trust-list",
            "export",
            "--format",
            "de",
            "-o",
            &de.to_string_lossy(),
        ]),
        0,
    );
    let output = data.verify(&hc1, &eu, &[]);
    assert_exit(&output, 0);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], true, "{report}");
    assert_exit(&data.verify(&hc1, &de, &["--dsc-list-key", &list_key]), 0);
    // The German list without its key is refused, and with another key it does not verify.
    assert_exit(&data.verify(&hc1, &de, &[]), 2);
    let other_key = data.path("other.pub");
    std::fs::write(
        &other_key,
        pem_public_key_of(&data.read("pki/service/ca.pem")),
    )
    .unwrap();
    assert_exit(
        &data.verify(&hc1, &de, &["--dsc-list-key", &other_key.to_string_lossy()]),
        2,
    );
    // No private key in what is published.
    for body in [
        &served_json[..],
        &served_de[..],
        &std::fs::read(&eu).unwrap(),
    ] {
        assert!(!text(body).contains("PRIVATE KEY"));
    }
    drop(serve);
}

/// The SubjectPublicKeyInfo of a P-256 certificate (PEM), as PEM `PUBLIC KEY`.
fn pem_public_key_of(certificate_pem: &str) -> String {
    let dscs = dcc_core::dsc::from_pem_or_der(certificate_pem.as_bytes()).unwrap();
    let dcc_core::public_key::PublicKey::EcP256(key) = dscs[0].public_key() else {
        panic!("not a P-256 key");
    };
    let point = key.as_bytes().to_vec();
    assert_eq!(point.len(), 65);
    let mut spki = P256_SPKI_PREFIX.to_vec();
    spki.extend(point);
    dcc_pki::pem::encode("PUBLIC KEY", &spki)
}

/// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (65 bytes + unused-bits) }.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The kid `dcc keys rotate|generate` reports: "new <type> DSC <kid> (<file>)".
fn new_kid(output: &Output) -> String {
    let stdout = text(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.split(" DSC ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no new kid in:\n{stdout}"))
        .to_owned()
}

/// Issues on `workers` concurrent connections until `stop`; returns every outcome in order.
fn load(
    data: &DataDir,
    port: u16,
    workers: usize,
    stop: &std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Result<String, String>>>> {
    (0..workers)
        .map(|_| {
            let client = data.client();
            let url = format!("https://localhost:{port}/api/certify/v2/issue");
            let stop = std::sync::Arc::clone(stop);
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    outcomes.push(issue_at(&client, &url).await);
                }
                outcomes
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_under_load_fails_no_request_and_switches_to_the_new_kid() {
    let data = DataDir::init();
    let serve = ServeChild::start(&data).await;
    rotation_under_load(&data, &serve, &[data.port]).await;
}

/// The same with the certificate server in a process of its own: both processes re-read the
/// registry, and the portal's check of the signer's certificates follows the published list.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_under_load_with_a_separate_signer_process() {
    let data = DataDir::init();
    let signer_port = free_port();
    let mut config = Config::load(&data.path("dcc.toml")).unwrap();
    config.signer.listen = ([127, 0, 0, 1], signer_port).into();
    std::fs::write(data.path("dcc.toml"), config.to_toml().unwrap()).unwrap();
    let _signer = ServeChild::start_role(&data, &[], "signer", &[], signer_port).await;
    let url = format!("https://localhost:{signer_port}");
    let portal =
        ServeChild::start_role(&data, &[], "portal", &["--signer-url", &url], data.port).await;
    rotation_under_load(&data, &portal, &[data.port]).await;
}

/// Two instances (portal and certificate server each) on one PostgreSQL database: one
/// `dcc keys rotate` switches both, with load on both, and both publish the same list.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_under_load_reaches_two_instances_on_one_postgresql() {
    let admin = std::env::var("DCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    #[expect(clippy::disallowed_methods, reason = "a unique database name per run")]
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("dcc_keys_{}_{nanos}", std::process::id());
    let url = dcc_store::provision::create_postgres_database(&admin, &name)
        .await
        .unwrap_or_else(|error| {
            panic!("PostgreSQL at {admin} is not usable ({error}); start it (scripts/test.sh does)")
        });
    let mut data = DataDir::init();
    let second_port = free_port();
    let mut config = Config::load(&data.path("dcc.toml")).unwrap();
    config.database_url = url;
    std::fs::write(data.path("dcc.toml"), config.to_toml().unwrap()).unwrap();
    config.portal.listen = ([127, 0, 0, 1], second_port).into();
    std::fs::write(data.path("dcc-2.toml"), config.to_toml().unwrap()).unwrap();
    assert_exit(
        &data.dcc(&[
            "pharmacy",
            "add",
            "--telematik-id",
            "3-SMC-B-Testkarte-883110000116873",
            "--name",
            "Apotheke am Dev-Markt",
            "--address",
            "Dev-Markt 1, 10115 Berlin",
        ]),
        0,
    );
    data.add_demo_operator();
    let first = ServeChild::start_config(&data, "dcc.toml", &[], "all", &[], data.port).await;
    let _second = ServeChild::start_config(&data, "dcc-2.toml", &[], "all", &[], second_port).await;
    rotation_under_load(&data, &first, &[data.port, second_port]).await;
    drop(first);
    drop(_second);
    dcc_store::provision::drop_postgres_database(&admin, &name)
        .await
        .unwrap();
}

async fn rotation_under_load(data: &DataDir, serve: &ServeChild, ports: &[u16]) {
    let client = data.client();
    let before = issue(&client, data).await.unwrap();
    let old_kid = kid_of(data, &before);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = ports
        .iter()
        .flat_map(|&port| {
            load(data, port, 4 / ports.len(), &stop)
                .into_iter()
                .map(move |worker| (port, worker))
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let config = data.path("dcc.toml").to_string_lossy().into_owned();
    let cwd = data.data.clone();
    let rotated = tokio::task::spawn_blocking(move || {
        dcc_in(
            &cwd,
            &["keys", "rotate", "--type", "v", "--config", &config],
        )
    })
    .await
    .unwrap();
    assert_exit(&rotated, 0);
    let new_kid = new_kid(&rotated);
    assert_ne!(new_kid, old_kid);
    // The servers re-read the registry every 2 s and sign with a new DSC 5 s after it was
    // published; keep the load on across the switch.
    let mut switched = false;
    for _ in 0..80 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let hc1 = issue(&client, data).await.unwrap();
        if kid_of(data, &hc1) == new_kid {
            switched = true;
            break;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut outcomes = Vec::new();
    let mut by_port: std::collections::BTreeMap<u16, Vec<(String, i64)>> = Default::default();
    for (port, worker) in workers {
        let results = worker.await.unwrap();
        for hc1 in results.iter().flatten() {
            by_port.entry(port).or_default().push(kid_and_iat(hc1));
        }
        outcomes.extend(results);
    }
    assert!(
        switched,
        "no certificate with the new kid:\n{}",
        serve.output()
    );
    let failures: Vec<_> = outcomes.iter().filter(|outcome| outcome.is_err()).collect();
    assert!(outcomes.len() > 20, "too little load: {}", outcomes.len());
    assert!(
        failures.is_empty(),
        "{} of {} failed: {:?}",
        failures.len(),
        outcomes.len(),
        failures
    );

    // Certificates after the switch carry the new kid: on each instance, every certificate of
    // the load signed in a later second than its first one with the new kid; and, once every
    // instance has re-read the registry, every certificate issued on any instance.
    for (port, certificates) in &by_port {
        let Some(switch_iat) = certificates
            .iter()
            .filter(|(kid, _)| *kid == new_kid)
            .map(|(_, iat)| *iat)
            .min()
        else {
            continue;
        };
        let late_old: Vec<_> = certificates
            .iter()
            .filter(|(kid, iat)| *iat > switch_iat && *kid != new_kid)
            .collect();
        assert!(
            late_old.is_empty(),
            "port {port} signed with the old DSC after the switch: {late_old:?}"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let mut after = String::new();
    for port in ports {
        after = issue_at(
            &client,
            &format!("https://localhost:{port}/api/certify/v2/issue"),
        )
        .await
        .unwrap();
        assert_eq!(kid_and_iat(&after).0, new_kid, "port {port}");
    }
    let last = &after;

    // Both DSCs are published: the old one signed certificates that are still valid.
    let served = client.get(data.url("/trust-list")).send().await.unwrap();
    let kids = kids_in_gateway_json(&served.bytes().await.unwrap());
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );
    assert_eq!(kids.len(), 4);
    let eu = data.path("eu.json");
    assert_exit(
        &data.dcc(&["trust-list", "export", "-o", &eu.to_string_lossy()]),
        0,
    );
    for hc1 in [&before, &after, last] {
        assert_exit(&data.verify(hc1, &eu, &[]), 0);
    }
    let listed = text(&data.dcc(&["keys", "list"]).stdout);
    assert!(
        listed.contains(&format!("{old_kid} v retired published")),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("{new_kid} v active published")),
        "{listed}"
    );

    // The new file key is private to its owner.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key_files: Vec<_> = std::fs::read_dir(data.path("pki/dcc"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                path.extension().is_some_and(|extension| extension == "key")
                    && path.to_string_lossy().contains("dsc-v-")
            })
            .collect();
        assert_eq!(key_files.len(), 1);
        let mode = std::fs::metadata(&key_files[0])
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!serve.output().contains("PRIVATE KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pkcs11_key_signs_certificates_that_verify_against_the_published_list() {
    let data = DataDir::init();
    let hsm_dir = tempfile::tempdir().unwrap();
    let conf = dcc_hsm::softhsm::write_conf(hsm_dir.path()).unwrap();
    dcc_hsm::softhsm::init_token(&conf, "dcc", "1234", "5678").unwrap();
    let conf = conf.to_string_lossy().into_owned();
    let envs = [
        ("SOFTHSM2_CONF", conf.as_str()),
        ("DCC_TEST_HSM_PIN", "5678"),
    ];

    let generated = data.dcc_env(
        &envs,
        &[
            "keys",
            "generate",
            "--pkcs11",
            "--type",
            "v",
            "--token-label",
            "dcc",
            "--pin-env",
            "DCC_TEST_HSM_PIN",
            "--key-label",
            "dsc-v-hsm",
            "--activate",
        ],
    );
    assert_exit(&generated, 0);
    let hsm_kid = new_kid(&generated);
    let printed = format!("{}{}", text(&generated.stdout), text(&generated.stderr));
    assert!(!printed.contains("5678"), "{printed}");
    // No key file was written for it; its DSC was.
    let stem = format!("pki/dcc/dsc-v-{}", hex_of(&hsm_kid));
    assert!(data.path(&format!("{stem}.pem")).is_file());
    assert!(!data.path(&format!("{stem}.key")).exists());

    let serve = ServeChild::start_env(&data, &envs).await;
    let client = data.client();
    // A new DSC signs 5 s after it was published.
    let mut hc1 = issue(&client, &data).await.unwrap();
    for _ in 0..60 {
        if kid_of(&data, &hc1) == hsm_kid {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        hc1 = issue(&client, &data).await.unwrap();
    }
    assert_eq!(kid_of(&data, &hc1), hsm_kid, "{}", serve.output());
    let de = data.path("de.txt");
    assert_exit(
        &data.dcc(&[
            "trust-list",
            "export",
            "--format",
            "de",
            "-o",
            &de.to_string_lossy(),
        ]),
        0,
    );
    let list_key = data
        .path("pki/trust-list/signer.pub")
        .to_string_lossy()
        .into_owned();
    assert_exit(&data.verify(&hc1, &de, &["--dsc-list-key", &list_key]), 0);
    assert!(!serve.output().contains("5678"));

    // A wrong PIN is refused before anything is registered, and the PIN is not echoed.
    let refused = data.dcc_env(
        &[
            ("SOFTHSM2_CONF", conf.as_str()),
            ("DCC_TEST_HSM_PIN", "0000"),
        ],
        &[
            "keys",
            "rotate",
            "--pkcs11",
            "--type",
            "v",
            "--token-label",
            "dcc",
            "--pin-env",
            "DCC_TEST_HSM_PIN",
        ],
    );
    assert_exit(&refused, 2);
    assert!(
        !text(&refused.stderr).contains("0000"),
        "{}",
        text(&refused.stderr)
    );
}

/// The kid (base64) and `iat` of an HC1, decoded in process.
fn kid_and_iat(hc1: &str) -> (String, i64) {
    let decoded = dcc_core::hcert::decode(hc1).unwrap();
    let kid = decoded.cose.protected.kid.as_deref().unwrap();
    (
        dcc_core::kid::Kid::from_slice(kid).unwrap().to_base64(),
        decoded.claims.issued_at.unwrap(),
    )
}

fn hex_of(kid_base64: &str) -> String {
    dcc_core::kid::Kid::from_base64(kid_base64)
        .unwrap()
        .to_hex()
}

#[test]
fn init_force_retires_the_old_dscs_and_registers_the_new_ones() {
    let data = DataDir::init();
    assert_exit(&data.dcc(&["keys", "list"]), 0);
    let parent = data.data.parent().unwrap().to_path_buf();
    assert_exit(&dcc_in(&parent, &["init", "--data", "data", "--force"]), 0);
    let listed = text(&data.dcc(&["keys", "list"]).stdout);
    let mut statuses: Vec<_> = listed
        .lines()
        .map(|line| {
            let fields: Vec<_> = line.split_whitespace().collect();
            format!("{} {}", fields[1], fields[2])
        })
        .collect();
    statuses.sort();
    let expected = [
        "r active",
        "r retired",
        "t active",
        "t retired",
        "v active",
        "v retired",
    ];
    assert_eq!(statuses, expected, "{listed}");
    let new_v = Config::load(&data.path("dcc.toml")).unwrap();
    let pem = std::fs::read(new_v.resolve(&new_v.signer.vaccination.certificate)).unwrap();
    let kid = dcc_core::dsc::from_pem_or_der(&pem).unwrap()[0]
        .kid()
        .to_base64();
    assert!(listed.contains(&format!("{kid} v active")), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pkcs11_key_in_the_configuration_signs_from_the_first_start() {
    let data = DataDir::init();
    let hsm_dir = tempfile::tempdir().unwrap();
    let conf = dcc_hsm::softhsm::write_conf(hsm_dir.path()).unwrap();
    dcc_hsm::softhsm::init_token(&conf, "dcc", "1234", "5678").unwrap();
    let conf = conf.to_string_lossy().into_owned();
    std::fs::write(data.path("hsm.pin"), "5678\n").unwrap();
    let envs = [("SOFTHSM2_CONF", conf.as_str())];
    let generated = data.dcc_env(
        &envs,
        &[
            "keys",
            "generate",
            "--pkcs11",
            "--type",
            "v",
            "--token-label",
            "dcc",
            "--pin-file",
            "hsm.pin",
            "--key-label",
            "dsc-v",
        ],
    );
    assert_exit(&generated, 0);
    let hsm_kid = new_kid(&generated);

    let mut config = Config::load(&data.path("dcc.toml")).unwrap();
    config.signer.vaccination.certificate =
        format!("pki/dcc/dsc-v-{}.pem", hex_of(&hsm_kid)).into();
    config.signer.vaccination.key = PathBuf::new();
    config.signer.vaccination.pkcs11 = Some(dcc_server::config::Pkcs11KeyConfig {
        module: dcc_hsm::softhsm::module_path(),
        token_label: "dcc".into(),
        pin: dcc_server::config::PinSource::File("hsm.pin".into()),
        key_label: Some("dsc-v".into()),
        key_id: None,
    });
    let text_config = config.to_toml().unwrap();
    assert!(!text_config.contains("5678"));
    std::fs::write(data.path("dcc.toml"), text_config).unwrap();

    let serve = ServeChild::start_env(&data, &envs).await;
    let client = data.client();
    let hc1 = issue(&client, &data).await.unwrap();
    assert_eq!(kid_of(&data, &hc1), hsm_kid, "{}", serve.output());
    // Readiness asks the token, and reports how long that took.
    let ready = client.get(data.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["hops"]["hsm"]["ok"], true, "{ready}");
    let latency_ms = ready["hops"]["hsm"]["latency_ms"].as_f64().unwrap();
    assert!((0.0..1000.0).contains(&latency_ms), "{ready}");
    let metrics = client
        .get(data.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l == "dcc_signer_seconds_count 1"),
        "{metrics}"
    );
    let eu = data.path("eu.json");
    assert_exit(
        &data.dcc(&["trust-list", "export", "-o", &eu.to_string_lossy()]),
        0,
    );
    assert_exit(&data.verify(&hc1, &eu, &[]), 0);
}

#[test]
fn generate_with_csr_writes_a_request_signed_in_the_token() {
    let data = DataDir::init();
    let hsm_dir = tempfile::tempdir().unwrap();
    let conf = dcc_hsm::softhsm::write_conf(hsm_dir.path()).unwrap();
    dcc_hsm::softhsm::init_token(&conf, "dcc", "1234", "5678").unwrap();
    let conf = conf.to_string_lossy().into_owned();
    let csr = data.path("dsc-t.csr");
    let output = data.dcc_env(
        &[
            ("SOFTHSM2_CONF", conf.as_str()),
            ("DCC_TEST_HSM_PIN", "5678"),
        ],
        &[
            "keys",
            "generate",
            "--pkcs11",
            "--type",
            "t",
            "--token-label",
            "dcc",
            "--pin-env",
            "DCC_TEST_HSM_PIN",
            "--key-label",
            "dsc-t",
            "--csr",
            &csr.to_string_lossy(),
        ],
    );
    assert_exit(&output, 0);
    let pem = std::fs::read_to_string(&csr).unwrap();
    assert!(
        pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{pem}"
    );
    // OpenSSL checks the request's signature (made in the token) against its public key.
    let checked = Command::new("openssl")
        .args(["req", "-verify", "-noout", "-subject", "-in"])
        .arg(&csr)
        .output()
        .expect("openssl is needed to check the request");
    let said = format!("{}{}", text(&checked.stdout), text(&checked.stderr));
    assert!(checked.status.success(), "{said}");
    assert!(said.contains("DCC DSC test DEV"), "{said}");
    // Nothing was registered.
    let listed = text(&data.dcc(&["keys", "list"]).stdout);
    assert!(
        !listed.contains("t active published\n") || listed.lines().count() == 3,
        "{listed}"
    );
}
