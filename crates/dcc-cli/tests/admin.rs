//! The administrative `dcc` commands, run as an operator would: `init`, `pki`, `pharmacy` and
//! `audit`, each in a fresh temporary data folder.

// Test code: helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dcc_pki::certificate::EncodedCertificate;
use dcc_pki::crl::Crl;
use dcc_pki::institution::InstitutionIdentity;
use dcc_pki::serial::Serial;
use dcc_server::config::Config;
use serde_json::Value;
use time::macros::datetime;

const DEFAULT_ID: &str = "3-SMC-B-Testkarte-883110000116873";
const OTHER_ID: &str = "3-10.3.1234567000.10.999";

/// Files `dcc init` writes (relative to the data folder) and the README documents.
const INIT_FILES: &[&str] = &[
    "dcc.toml",
    "dcc.db",
    "pki/ti/root-ca.pem",
    "pki/ti/smcb-ca.pem",
    "pki/ti/smcb-ca.key",
    "pki/ti/smcb-ca.crl",
    "pki/institutions/3-SMC-B-Testkarte-883110000116873.pem",
    "pki/institutions/3-SMC-B-Testkarte-883110000116873.key",
    "pki/service/ca.pem",
    "pki/service/portal-server.pem",
    "pki/service/portal-server.key",
    "pki/service/signer-server.pem",
    "pki/service/signer-server.key",
    "pki/service/portal-client.pem",
    "pki/service/portal-client.key",
    "pki/service/admin-client.pem",
    "pki/service/admin-client.key",
    "pki/dcc/csca.pem",
    "pki/dcc/dsc-v.pem",
    "pki/dcc/dsc-v.key",
    "pki/dcc/dsc-t.pem",
    "pki/dcc/dsc-t.key",
    "pki/dcc/dsc-r.pem",
    "pki/dcc/dsc-r.key",
    "operators/demo.toml",
    "operators/admin.toml",
];

/// Runs `dcc` in `cwd` with `envs`, without inheriting the variables that change its inputs.
fn dcc_in(cwd: &Path, envs: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcc"))
        .args(args)
        .current_dir(cwd)
        .env_remove("DCC_CONFIG")
        .env_remove("DCC_DATABASE_URL")
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Asserts the exit status, showing the output when it differs.
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// A temporary folder holding an initialised data folder `data`.
struct DataDir {
    _temp: tempfile::TempDir,
    data: PathBuf,
}

impl DataDir {
    fn init() -> (Self, Output) {
        let temp = tempfile::tempdir().unwrap();
        let data = temp.path().join("data");
        let output = dcc_in(temp.path(), &[], &["init", "--data", "data"]);
        assert_exit(&output, 0);
        let data = data.canonicalize().unwrap();
        (Self { _temp: temp, data }, output)
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.data.join(relative)
    }

    fn config(&self) -> String {
        self.path("dcc.toml").to_string_lossy().into_owned()
    }

    fn data_arg(&self) -> String {
        self.data.to_string_lossy().into_owned()
    }

    /// Runs `dcc` with `--config <data>/dcc.toml` appended.
    fn dcc(&self, args: &[&str]) -> Output {
        let config = self.config();
        let mut args = args.to_vec();
        args.extend(["--config", &config]);
        dcc_in(&self.data, &[], &args)
    }

    fn pharmacies(&self) -> Vec<Value> {
        let output = self.dcc(&["pharmacy", "list", "--json"]);
        assert_exit(&output, 0);
        serde_json::from_slice::<Value>(&output.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    fn status_of(&self, telematik_id: &str) -> String {
        self.pharmacies()
            .iter()
            .find(|pharmacy| pharmacy["telematik_id"] == telematik_id)
            .unwrap_or_else(|| panic!("{telematik_id} is not listed"))["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// `entries` counts `dcc init`'s three: the pharmacy registered, its demo operator and the
    /// association's administrator created.
    fn assert_audit_intact(&self, entries: u64) {
        let output = self.dcc(&["audit", "verify"]);
        assert_exit(&output, 0);
        assert_eq!(
            stdout(&output),
            format!("audit chain intact: {entries} entries\n")
        );
    }

    /// The details of the audit entries of `kind`, in chain order.
    fn audit_details(&self, kind: &str) -> Vec<Value> {
        let config = Config::load(&self.path("dcc.toml")).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let store = dcc_store::Store::connect(&config.database_url)
                .await
                .unwrap();
            let entries = dcc_store::audit::entries(store.pool(), 0, 10_000)
                .await
                .unwrap();
            store.close().await;
            entries
                .iter()
                .filter(|entry| entry.kind == kind)
                .map(|entry| serde_json::from_str(&entry.detail).unwrap())
                .collect()
        })
    }

    fn issue(&self, extra: &[&str]) -> Output {
        let data = self.data_arg();
        let mut args = vec!["pki", "issue-institution", "--data", &data];
        args.extend_from_slice(extra);
        dcc_in(&self.data, &[], &args)
    }

    fn revoke(&self, telematik_id: &str) -> Output {
        let data = self.data_arg();
        dcc_in(
            &self.data,
            &[],
            &[
                "pki",
                "revoke-institution",
                "--data",
                &data,
                "--telematik-id",
                telematik_id,
            ],
        )
    }

    fn certificate(&self, file_stem: &str) -> EncodedCertificate {
        let path = self.path(&format!("pki/institutions/{file_stem}.pem"));
        EncodedCertificate::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn revoked_serials(&self) -> Vec<Serial> {
        let text = std::fs::read_to_string(self.path("pki/ti/smcb-ca.crl")).unwrap();
        Crl::from_pem(&text).unwrap().revoked_serials().unwrap()
    }
}

#[test]
fn init_writes_the_documented_files_and_a_loadable_config() {
    let (dir, output) = DataDir::init();
    for file in INIT_FILES {
        assert!(dir.path(file).is_file(), "{file} is missing");
    }
    let summary = stdout(&output);
    for file in [
        "dcc.toml",
        "pki/ti/root-ca.pem",
        "pki/ti/smcb-ca.pem",
        "pki/ti/smcb-ca.crl",
        "pki/institutions/3-SMC-B-Testkarte-883110000116873.pem",
        "pki/institutions/3-SMC-B-Testkarte-883110000116873.key",
        "pki/dcc/dsc-v.pem",
        "pki/dcc/dsc-t.pem",
        "pki/dcc/dsc-r.pem",
    ] {
        let path = dir.path(file).display().to_string();
        assert!(summary.contains(&path), "{path} not in:\n{summary}");
    }
    assert!(summary.contains(&format!("sqlite://{}", dir.path("dcc.db").display())));
    assert!(!summary.contains("PRIVATE KEY"), "{summary}");

    let config = Config::load(&dir.path("dcc.toml")).unwrap();
    assert_eq!(
        config.database_url,
        format!("sqlite://{}", dir.path("dcc.db").display())
    );
    assert_eq!(config.base_dir, dir.data);
    assert_eq!(
        config.resolve(&config.portal.client_ca),
        dir.path("pki/ti/root-ca.pem")
    );
    assert_eq!(
        config.resolve(&config.signer.vaccination.key),
        dir.path("pki/dcc/dsc-v.key")
    );

    // The dev PKI's pharmacy is registered and its registration audited.
    let pharmacies = dir.pharmacies();
    assert_eq!(pharmacies.len(), 1);
    assert_eq!(pharmacies[0]["telematik_id"], DEFAULT_ID);
    assert_eq!(pharmacies[0]["name"], "Apotheke am Dev-Markt");
    assert_eq!(pharmacies[0]["address"], "Dev-Markt 1, 10115 Berlin");
    assert_eq!(pharmacies[0]["status"], "active");
    assert_eq!(pharmacies[0]["issuer_segment"], "AQ6IJALY");
    dir.assert_audit_intact(3);
}

#[test]
fn a_second_init_is_refused_unless_forced() {
    let (dir, _) = DataDir::init();
    let watched = ["dcc.toml", "pki/ti/root-ca.pem", "pki/dcc/csca.key"];
    let before: Vec<_> = watched
        .iter()
        .map(|file| {
            let path = dir.path(file);
            (
                std::fs::read(&path).unwrap(),
                std::fs::metadata(&path).unwrap().modified().unwrap(),
            )
        })
        .collect();

    let data = dir.data_arg();
    let output = dcc_in(&dir.data, &[], &["init", "--data", &data]);
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(message.starts_with("dcc: error: "), "{message}");
    assert!(message.contains("already exists"), "{message}");
    assert!(message.contains("--force"), "{message}");
    for (file, (contents, modified)) in watched.iter().zip(&before) {
        let path = dir.path(file);
        assert_eq!(&std::fs::read(&path).unwrap(), contents, "{file} changed");
        assert_eq!(
            &std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified,
            "{file} was touched"
        );
    }

    // --force replaces the PKI but keeps the database with its pharmacy and audit log.
    let output = dcc_in(&dir.data, &[], &["init", "--data", &data, "--force"]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("already registered, kept"));
    assert_ne!(
        std::fs::read(dir.path("pki/ti/root-ca.pem")).unwrap(),
        before[1].0
    );
    assert_eq!(dir.pharmacies().len(), 1);
    dir.assert_audit_intact(3);
}

#[test]
fn pharmacies_are_added_suspended_reactivated_and_listed() {
    let (dir, _) = DataDir::init();
    let output = dir.dcc(&[
        "pharmacy",
        "add",
        "--telematik-id",
        OTHER_ID,
        "--name",
        "Neue Apotheke",
        "--address",
        "Hauptstraße 2, 20095 Hamburg",
        "--issuer-segment",
        "NEU1",
    ]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("issuer segment NEU1"));
    assert_eq!(dir.status_of(OTHER_ID), "active");

    // The default config file is ./dcc.toml; DCC_CONFIG names another.
    let output = dcc_in(
        &dir.data,
        &[],
        &["pharmacy", "suspend", "--telematik-id", OTHER_ID],
    );
    assert_exit(&output, 0);
    assert_eq!(
        stdout(&output),
        format!("{OTHER_ID} \"Neue Apotheke\" is suspended\n")
    );
    assert_eq!(dir.status_of(OTHER_ID), "suspended");
    assert_eq!(dir.status_of(DEFAULT_ID), "active");

    let config = dir.config();
    let output = dcc_in(
        Path::new("/"),
        &[("DCC_CONFIG", &config)],
        &["pharmacy", "reactivate", "--telematik-id", OTHER_ID],
    );
    assert_exit(&output, 0);
    assert_eq!(dir.status_of(OTHER_ID), "active");

    let output = dir.dcc(&["pharmacy", "list"]);
    assert_exit(&output, 0);
    let table = stdout(&output);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["TELEMATIK-ID", "SEGMENT", "STATUS", "NAME"]);
    // Ordered by Telematik-ID.
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row, [OTHER_ID, "NEU1", "active", "Neue", "Apotheke"]);
    assert!(lines[2].starts_with(DEFAULT_ID), "{table}");

    let listed = dir.pharmacies();
    let added = listed
        .iter()
        .find(|pharmacy| pharmacy["telematik_id"] == OTHER_ID)
        .unwrap();
    assert_eq!(added["address"], "Hauptstraße 2, 20095 Hamburg");
    assert_eq!(added["issuer_segment"], "NEU1");

    // init, add, suspend, reactivate.
    dir.assert_audit_intact(6);
}

#[test]
fn a_duplicate_or_unknown_pharmacy_is_refused_with_a_clear_message() {
    let (dir, _) = DataDir::init();
    let output = dir.dcc(&[
        "pharmacy",
        "add",
        "--telematik-id",
        DEFAULT_ID,
        "--name",
        "Zweite Apotheke",
        "--address",
        "Irgendwo 1",
    ]);
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        format!("dcc: error: a pharmacy with Telematik-ID {DEFAULT_ID} is already registered\n")
    );

    let output = dir.dcc(&[
        "pharmacy",
        "add",
        "--telematik-id",
        OTHER_ID,
        "--name",
        "Neue Apotheke",
        "--address",
        "Hauptstraße 2",
        "--issuer-segment",
        "AQ6IJALY",
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("the issuer segment AQ6IJALY is already used"),
        "{}",
        stderr(&output)
    );

    let output = dir.dcc(&[
        "pharmacy",
        "add",
        "--telematik-id",
        "Apotheke Süd",
        "--name",
        "Süd",
        "--address",
        "Süd 1",
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("--telematik-id \"Apotheke Süd\" is not valid"),
        "{}",
        stderr(&output)
    );

    let output = dir.dcc(&["pharmacy", "suspend", "--telematik-id", OTHER_ID]);
    assert_exit(&output, 2);
    assert_eq!(
        stderr(&output),
        format!("dcc: error: no pharmacy with Telematik-ID {OTHER_ID} is registered\n")
    );

    // Nothing was registered or audited.
    assert_eq!(dir.pharmacies().len(), 1);
    dir.assert_audit_intact(3);
}

#[test]
fn a_missing_configuration_or_database_is_reported() {
    let temp = tempfile::tempdir().unwrap();
    let output = dcc_in(temp.path(), &[], &["audit", "verify"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("cannot read the configuration dcc.toml"),
        "{}",
        stderr(&output)
    );

    let (dir, _) = DataDir::init();
    std::fs::remove_file(dir.path("dcc.db")).unwrap();
    let output = dir.dcc(&["pharmacy", "list"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path("dcc.db").exists());
}

#[test]
fn issue_institution_writes_a_certificate_with_the_requested_admission() {
    let (dir, _) = DataDir::init();
    let output = dir.issue(&[
        "--telematik-id",
        OTHER_ID,
        "--name",
        "Krankenhausapotheke Dev",
        "--profession-oid",
        "1.2.276.0.76.4.55",
        "--profession-item",
        "Krankenhausapotheke",
    ]);
    assert_exit(&output, 0);
    let printed = stdout(&output);
    let pem = dir.path(&format!("pki/institutions/{OTHER_ID}.pem"));
    let key = dir.path(&format!("pki/institutions/{OTHER_ID}.key"));
    assert!(printed.contains(&pem.display().to_string()), "{printed}");
    assert!(printed.contains(&key.display().to_string()), "{printed}");
    assert!(!printed.contains("PRIVATE KEY"), "{printed}");
    assert!(key.is_file());

    let certificate = dir.certificate(OTHER_ID);
    let identity = InstitutionIdentity::from_der(certificate.der()).unwrap();
    assert_eq!(identity.telematik_id().as_str(), OTHER_ID);
    assert_eq!(identity.profession_oids(), ["1.2.276.0.76.4.55"]);
    assert_eq!(identity.profession_items(), ["Krankenhausapotheke"]);
    assert_eq!(identity.organisation(), Some("Krankenhausapotheke Dev"));
    assert!(printed.contains(&format!("serial       {}", identity.serial_hex())));

    // The same Telematik-ID again needs --force.
    let output = dir.issue(&["--telematik-id", OTHER_ID]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("--force"), "{}", stderr(&output));
    assert_eq!(dir.certificate(OTHER_ID), certificate);

    // An expired certificate: a start in the past and a short validity.
    let output = dir.issue(&[
        "--telematik-id",
        OTHER_ID,
        "--not-before",
        "2020-01-01T00:00:00Z",
        "--valid-days",
        "2",
        "--force",
    ]);
    assert_exit(&output, 0);
    let identity = InstitutionIdentity::from_der(dir.certificate(OTHER_ID).der()).unwrap();
    assert_eq!(identity.not_before(), datetime!(2020-01-01 00:00 UTC));
    assert_eq!(identity.not_after(), datetime!(2020-01-03 00:00 UTC));
    assert_eq!(identity.profession_oids(), ["1.2.276.0.76.4.54"]);

    // A profile defect: without the Admission the certificate names no Telematik-ID.
    let output = dir.issue(&[
        "--telematik-id",
        "3-ohne-admission",
        "--profile",
        "without-admission",
    ]);
    assert_exit(&output, 0);
    let certificate = dir.certificate("3-ohne-admission");
    assert!(InstitutionIdentity::from_der(certificate.der()).is_err());

    let output = dir.issue(&["--telematik-id", "3-x", "--profession-oid", "pharmacy"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("--profession-oid \"pharmacy\" is not an OID"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn revoke_institution_adds_serials_to_the_crl_and_keeps_earlier_ones() {
    let (dir, _) = DataDir::init();
    assert!(dir.revoked_serials().is_empty());
    assert_exit(&dir.issue(&["--telematik-id", OTHER_ID]), 0);
    let default_serial = dir.certificate(DEFAULT_ID).serial().unwrap();
    let other_serial = dir.certificate(OTHER_ID).serial().unwrap();

    let output = dir.revoke(OTHER_ID);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains(&format!("revoked serial {other_serial} of {OTHER_ID}")),
        "{}",
        stdout(&output)
    );
    assert_eq!(dir.revoked_serials(), std::slice::from_ref(&other_serial));

    assert_exit(&dir.revoke(DEFAULT_ID), 0);
    assert_eq!(
        dir.revoked_serials(),
        [other_serial.clone(), default_serial]
    );

    // Revoking again lists the serial once.
    let output = dir.revoke(OTHER_ID);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("already revoked"));
    assert_eq!(dir.revoked_serials().len(), 2);

    let output = dir.revoke("3-unbekannt");
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("no certificate for Telematik-ID 3-unbekannt"),
        "{}",
        stderr(&output)
    );

    // The PKI commands touch no database, so only init's entry is there.
    dir.assert_audit_intact(3);
}

#[test]
fn every_admin_command_has_help() {
    let cwd = std::env::temp_dir();
    let output = dcc_in(&cwd, &[], &["--help"]);
    assert_exit(&output, 0);
    let help = stdout(&output);
    for command in ["init", "pki", "pharmacy", "audit", "verify", "decode"] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(command)),
            "{command} missing in:\n{help}"
        );
    }
    let cases: &[(&[&str], &[&str])] = &[
        (&["init"], &["--data", "--force"]),
        (
            &["pki", "issue-institution"],
            &[
                "--data",
                "--telematik-id",
                "--name",
                "--profession-oid",
                "--profession-item",
                "--valid-days",
                "--not-before",
                "--profile",
                "without-policy-77",
            ],
        ),
        (
            &["pki", "revoke-institution"],
            &["--data", "--telematik-id"],
        ),
        (
            &["pharmacy", "add"],
            &[
                "--config",
                "DCC_CONFIG",
                "--telematik-id",
                "--name",
                "--address",
                "--issuer-segment",
            ],
        ),
        (&["pharmacy", "suspend"], &["--config", "--telematik-id"]),
        (&["pharmacy", "reactivate"], &["--config", "--telematik-id"]),
        (&["pharmacy", "list"], &["--config", "--json"]),
        (&["audit", "verify"], &["--config"]),
        (&["alerts", "list"], &["--config", "--open", "--json"]),
        (&["alerts", "ack"], &["--config", "--comment", "--by"]),
    ];
    for (command, flags) in cases {
        let mut args = command.to_vec();
        args.push("--help");
        let output = dcc_in(&cwd, &[], &args);
        assert_exit(&output, 0);
        let help = stdout(&output);
        for flag in *flags {
            assert!(
                help.contains(flag),
                "{command:?}: {flag} missing in:\n{help}"
            );
        }
    }
}

#[test]
fn demo_issues_through_mutual_tls_and_the_certificate_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    let data_arg = data.to_str().unwrap();
    let output = dcc_in(dir.path(), &[], &["demo", "--data", data_arg, "--once"]);
    assert_exit(&output, 0);
    let printed = stdout(&output);
    assert!(printed.contains("through mutual TLS"), "{printed}");
    let hc1 = std::fs::read_to_string(data.join("demo/hc1.txt")).unwrap();
    assert!(hc1.starts_with("HC1:"), "{hc1}");

    // The printed check command works and says VALID.
    let dsc = data.join("pki/dcc/dsc-v.pem");
    let hc1_path = data.join("demo/hc1.txt");
    let verify = dcc_in(
        dir.path(),
        &[],
        &[
            "verify",
            "--json",
            "--trust",
            dsc.to_str().unwrap(),
            hc1_path.to_str().unwrap(),
        ],
    );
    assert_exit(&verify, 0);
    let report: Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["payload"]["nam"]["fnt"], "MUSTERFRAU<GOESSINGER");
    let uvci = report["uvci"].as_str().unwrap();
    assert!(printed.contains(uvci), "{printed}");

    // Ledger and audit: registered, operator and administrator created (init), operator signed
    // in, certificate issued (demo); when the demo ran outside the default opening hours, also
    // anomaly detection's off-hours alert (a warning).
    let issued_at = time::OffsetDateTime::parse(
        report["issued_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    let off_hours = dcc_anomaly::hours::OpeningHours::default()
        .closed_reason(issued_at, 30)
        .is_some();
    let entries = if off_hours { 6 } else { 5 };
    let config = data.join("dcc.toml");
    let audit = dcc_in(
        dir.path(),
        &[],
        &["audit", "verify", "--config", config.to_str().unwrap()],
    );
    assert_exit(&audit, 0);
    assert!(
        stdout(&audit).contains(&format!("audit chain intact: {entries} entries")),
        "{}",
        stdout(&audit)
    );

    // A second run on the same folder reuses it and returns the same certificate (the demo
    // request carries an idempotency key).
    let again = dcc_in(dir.path(), &[], &["demo", "--data", data_arg, "--once"]);
    assert_exit(&again, 0);
    assert_eq!(
        std::fs::read_to_string(data.join("demo/hc1.txt")).unwrap(),
        hc1
    );
}

/// A `dcc serve` child process, killed when dropped (also when an assertion fails), with its
/// output in a file for the failure message.
struct ServeChild {
    child: std::process::Child,
    log: PathBuf,
}

impl ServeChild {
    fn spawn(data: &DataDir, role: &str, extra: &[&str]) -> Self {
        let log = data.path(&format!("serve-{role}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_dcc"))
            .args(["serve", "--config", &data.config(), "--role", role])
            .args(extra)
            .current_dir(&data.data)
            .env_remove("DCC_CONFIG")
            .env_remove("DCC_DATABASE_URL")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (at most 10 s) until `port` accepts TCP connections.
    async fn wait_for(&mut self, port: u16) {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("dcc serve exited with {status}:\n{}", self.output());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "dcc serve did not listen on {port} within 10 s:\n{}",
            self.output()
        );
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (bound on port 0 and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_portal_and_signer_as_separate_processes() {
    let (data, _) = DataDir::init();
    let (portal_port, signer_port, admin_port) = (free_port(), free_port(), free_port());
    let mut config = Config::load(&data.path("dcc.toml")).unwrap();
    config.portal.listen = ([127, 0, 0, 1], portal_port).into();
    config.signer.listen = ([127, 0, 0, 1], signer_port).into();
    config.admin.listen = ([127, 0, 0, 1], admin_port).into();
    std::fs::write(data.path("dcc.toml"), config.to_toml().unwrap()).unwrap();

    let mut signer = ServeChild::spawn(&data, "signer", &[]);
    let signer_url = format!("https://localhost:{signer_port}");
    let mut portal = ServeChild::spawn(&data, "portal", &["--signer-url", &signer_url]);
    signer.wait_for(signer_port).await;
    portal.wait_for(portal_port).await;

    // The demo pharmacy, as `dcc demo` calls the portal.
    let read = |relative: &str| std::fs::read_to_string(data.path(relative)).unwrap();
    let identity = format!(
        "{}{}{}",
        read(&format!("pki/institutions/{DEFAULT_ID}.pem")),
        read("pki/ti/smcb-ca.pem"),
        read(&format!("pki/institutions/{DEFAULT_ID}.key")),
    );
    let client = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(read("pki/service/ca.pem").as_bytes()).unwrap(),
        ])
        .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    // Sign in as the demo operator with password and TOTP, as `dcc demo` does.
    let credentials: toml::Value = toml::from_str(&read("operators/demo.toml")).unwrap();
    let secret =
        dcc_auth::totp::TotpSecret::from_base32(credentials["totp_secret"].as_str().unwrap())
            .unwrap();
    let login = client
        .post(format!("https://localhost:{portal_port}/api/auth/login"))
        .json(&serde_json::json!({
            "username": credentials["username"].as_str().unwrap(),
            "password": credentials["password"].as_str().unwrap(),
            "totp": secret.code_at(unix_now()),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let login: Value = login.json().await.unwrap();
    let token = login["token"].as_str().unwrap();
    let response = client
        .post(format!(
            "https://localhost:{portal_port}/api/certify/v2/issue"
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "nam": {"fn": "Musterfrau", "gn": "Erika"}, "dob": "1964-08-12",
            "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                   "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-06-01"}]
        }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        status,
        200,
        "{answer}\nportal:\n{}\nsigner:\n{}",
        portal.output(),
        signer.output()
    );

    let hc1 = answer["hc1"].as_str().unwrap();
    let mut trust = dcc_core::trust_list::TrustList::new();
    for kind in ["v", "t", "r"] {
        let pem = std::fs::read(data.path(&format!("pki/dcc/dsc-{kind}.pem"))).unwrap();
        trust.extend(
            dcc_core::trust_list::TrustList::from_certificates(&pem)
                .unwrap()
                .iter()
                .cloned(),
        );
    }
    let verification = dcc_core::verify::verify(hc1, &trust, unix_now()).unwrap();
    assert!(verification.is_valid(), "{verification:?}");
    assert_eq!(verification.hcert.payload["v"][0]["ci"], answer["uvci"]);

    // The portal process also serves the administrators: `dcc init`'s admin certificate and
    // account sign in there and see the registry.
    portal.wait_for(admin_port).await;
    let admin_identity = format!(
        "{}{}",
        read("pki/service/admin-client.pem"),
        read("pki/service/admin-client.key")
    );
    let admin_client = reqwest::Client::builder()
        .tls_certs_only([
            reqwest::Certificate::from_pem(read("pki/service/ca.pem").as_bytes()).unwrap(),
        ])
        .identity(reqwest::Identity::from_pem(admin_identity.as_bytes()).unwrap())
        .build()
        .unwrap();
    let credentials: toml::Value = toml::from_str(&read("operators/admin.toml")).unwrap();
    let secret =
        dcc_auth::totp::TotpSecret::from_base32(credentials["totp_secret"].as_str().unwrap())
            .unwrap();
    let login: Value = admin_client
        .post(format!("https://localhost:{admin_port}/api/admin/login"))
        .json(&serde_json::json!({
            "username": "admin",
            "password": credentials["password"].as_str().unwrap(),
            "totp": secret.code_at(unix_now()),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(login["operator"]["role"], "administrator", "{login}");
    let registry: Value = admin_client
        .get(format!(
            "https://localhost:{admin_port}/api/admin/pharmacies"
        ))
        .bearer_auth(login["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(registry["pharmacies"][0]["telematik_id"], DEFAULT_ID);

    drop(portal);
    drop(signer);
    // Both said where they listen.
    let portal_log = std::fs::read_to_string(data.path("serve-portal.log")).unwrap();
    assert!(
        portal_log.contains(&format!(
            "portal listening on https://127.0.0.1:{portal_port}"
        )) && portal_log.contains(&signer_url),
        "{portal_log}"
    );
    let signer_log = std::fs::read_to_string(data.path("serve-signer.log")).unwrap();
    assert!(
        signer_log.contains(&format!(
            "certificate server listening on https://127.0.0.1:{signer_port}"
        )),
        "{signer_log}"
    );
}

fn unix_now() -> i64 {
    #[expect(
        clippy::disallowed_methods,
        reason = "the certificate was issued with the real clock"
    )]
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[test]
fn locks_are_set_listed_lifted_and_audited() {
    let (dir, _) = DataDir::init();
    let output = dir.dcc(&["locks"]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "no locks: issuance is open\n");

    let output = dir.dcc(&[
        "lock",
        "--pharmacy",
        DEFAULT_ID,
        "--reason",
        "fraud_suspected",
        "--comment",
        "Sonntagsausstellung",
    ]);
    assert_exit(&output, 0);
    assert_eq!(
        stdout(&output),
        format!(
            "issuance locked for pharmacy {DEFAULT_ID} (reason fraud_suspected); effective on \
             the next request\n"
        )
    );
    let output = dir.dcc(&["lock", "--all", "--reason", "maintenance"]);
    assert_exit(&output, 0);

    let output = dir.dcc(&["locks", "--json"]);
    assert_exit(&output, 0);
    let locks: Value = serde_json::from_slice(&output.stdout).unwrap();
    let summary: Vec<(&str, &str, &str)> = locks
        .as_array()
        .unwrap()
        .iter()
        .map(|lock| {
            (
                lock["scope"].as_str().unwrap(),
                lock["target"].as_str().unwrap_or("-"),
                lock["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("all", "-", "maintenance"),
            ("pharmacy", DEFAULT_ID, "fraud_suspected")
        ]
    );

    // Exactly one scope, and a reason code.
    let output = dir.dcc(&["lock", "--all", "--pharmacy", DEFAULT_ID, "--reason", "x"]);
    assert_exit(&output, 2);
    let output = dir.dcc(&["lock", "--operator", "op-1", "--reason", "fraud_suspected"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("no operator has the id \"op-1\""),
        "{}",
        stderr(&output)
    );
    let output = dir.dcc(&["lock", "--all", "--reason", "Not a code"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("the reason \"Not a code\" must be 1 to 64 characters"),
        "{}",
        stderr(&output)
    );

    let output = dir.dcc(&["unlock", "--all"]);
    assert_exit(&output, 0);
    assert!(stdout(&output).starts_with("issuance unlocked for everyone (was locked since "));
    let output = dir.dcc(&["unlock", "--all"]);
    assert_exit(&output, 0);
    assert_eq!(
        stdout(&output),
        "everyone was not locked; nothing changed\n"
    );
    // init's registration + 2 locks + 1 unlock.
    dir.assert_audit_intact(6);
    // The command line is the actor of each change, in the lock and in the audit log.
    assert_eq!(locks[0]["locked_by"], "cli");
    let changes = [
        dir.audit_details("issuance_locked"),
        dir.audit_details("issuance_unlocked"),
        dir.audit_details("pharmacy_registered"),
    ]
    .concat();
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert!(
        changes.iter().all(|detail| detail["by"] == "cli"),
        "{changes:?}"
    );
}

#[test]
fn a_revoked_certificate_verifies_as_revoked_from_the_exported_list() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    let data_arg = data.to_str().unwrap();
    assert_exit(
        &dcc_in(dir.path(), &[], &["demo", "--data", data_arg, "--once"]),
        0,
    );
    let config = data.join("dcc.toml");
    let config_arg = config.to_str().unwrap();
    let hc1_path = data.join("demo/hc1.txt");
    let dsc = data.join("pki/dcc/dsc-v.pem");
    let list = dir.path().join("revocation.json");
    let verify = |list: &Path| {
        dcc_in(
            dir.path(),
            &[],
            &[
                "verify",
                "--json",
                "--trust",
                dsc.to_str().unwrap(),
                "--revocation",
                list.to_str().unwrap(),
                hc1_path.to_str().unwrap(),
            ],
        )
    };

    // Nothing revoked: an empty list, and the certificate stays valid.
    let export = ["revocation", "export", "--config", config_arg, "-o"];
    let mut args = export.to_vec();
    args.push(list.to_str().unwrap());
    assert_exit(&dcc_in(dir.path(), &[], &args), 0);
    assert_eq!(
        serde_json::from_slice::<Value>(&std::fs::read(&list).unwrap()).unwrap(),
        serde_json::json!({"batches": []})
    );
    let output = verify(&list);
    assert_exit(&output, 0);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let uvci = report["uvci"].as_str().unwrap().to_owned();
    let revocation_check = |report: &Value| report["checks"]["revocation"].clone();
    assert_eq!(revocation_check(&report), "ok");

    // An unknown UVCI is refused and changes nothing; the real one is revoked.
    let refused = dcc_in(
        dir.path(),
        &[],
        &[
            "revoke",
            "--config",
            config_arg,
            "--reason",
            "fraud",
            "--uvci",
            &uvci,
            "--uvci",
            "URN:UVCI:01:DE:NOPE/1#X",
        ],
    );
    assert_exit(&refused, 2);
    assert!(
        stderr(&refused).contains("not issued here (nothing was revoked): URN:UVCI:01:DE:NOPE/1#X"),
        "{}",
        stderr(&refused)
    );
    let revoked = dcc_in(
        dir.path(),
        &[],
        &[
            "revoke", "--config", config_arg, "--reason", "fraud", "--uvci", &uvci,
        ],
    );
    assert_exit(&revoked, 0);
    assert_eq!(
        stdout(&revoked),
        format!("revoked 1 certificate(s) (reason fraud)\n  {uvci}\n")
    );
    assert_exit(&dcc_in(dir.path(), &[], &args), 0);
    let output = verify(&list);
    assert_exit(&output, 1);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert_eq!(revocation_check(&report), "revoked");
}

/// Stores an open `off_hours_repeated` alert for the default pharmacy, as anomaly detection
/// in `dcc serve` would; returns its number.
fn seed_alert(dir: &DataDir) -> i64 {
    let config = Config::load(&dir.path("dcc.toml")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = dcc_store::Store::connect(&config.database_url)
            .await
            .unwrap();
        let evidence = serde_json::json!({"certificates": 5, "window_hours": 24});
        let open_key = format!("off_hours_repeated|{DEFAULT_ID}||");
        let at = unix_now();
        let alert = dcc_store::alerts::NewAlert {
            rule: "off_hours_repeated",
            severity: "critical",
            telematik_id: DEFAULT_ID,
            operator_id: None,
            subject: "",
            open_key: &open_key,
            window_start: at - 600,
            window_end: at,
            evidence: &evidence,
            action: "lock_pharmacy",
            occurrences: 1,
            at,
        };
        let mut tx = store.begin().await.unwrap();
        let written = dcc_store::alerts::raise_or_refresh(&mut tx, &alert)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        store.close().await;
        match written {
            dcc_store::alerts::AlertWrite::Raised(id) => id,
            other => panic!("{other:?}"),
        }
    })
}

#[test]
fn alerts_are_listed_and_acknowledged_with_a_comment_only() {
    let (dir, _) = DataDir::init();
    let output = dir.dcc(&["alerts", "list"]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "no alerts\n");
    let id = seed_alert(&dir);

    let output = dir.dcc(&["alerts", "list"]);
    assert_exit(&output, 0);
    let line = stdout(&output);
    assert!(line.starts_with(&format!("#{id}  ")), "{line}");
    assert!(
        line.contains(&format!(
            "critical  off_hours_repeated    {DEFAULT_ID}  lock_pharmacy  open (1 occurrences)"
        )),
        "{line}"
    );
    let output = dir.dcc(&["alerts", "list", "--open", "--json"]);
    assert_exit(&output, 0);
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["rule"], "off_hours_repeated");
    assert_eq!(listed[0]["evidence"]["certificates"], 5);
    assert_eq!(listed[0]["open"], true);

    // Without a comment: refused, nothing changes.
    let id_arg = id.to_string();
    let output = dir.dcc(&["alerts", "ack", &id_arg, "--by", "verband"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("(comment_required): a comment is required"),
        "{}",
        stderr(&output)
    );
    let output = dir.dcc(&["alerts", "list", "--open", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&output.stdout).unwrap()[0]["id"],
        id
    );

    let output = dir.dcc(&[
        "alerts",
        "ack",
        &id_arg,
        "--comment",
        "Notdienst, vom Inhaber bestätigt",
        "--by",
        "verband",
    ]);
    assert_exit(&output, 0);
    assert_eq!(
        stdout(&output),
        format!(
            "alert #{id} (off_hours_repeated at {DEFAULT_ID}) acknowledged by verband\n\
             its lock stays until `dcc unlock --pharmacy {DEFAULT_ID}`\n"
        )
    );
    let output = dir.dcc(&["alerts", "list", "--open"]);
    assert_eq!(stdout(&output), "no open alerts\n");
    let output = dir.dcc(&["alerts", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listed[0]["comment"], "Notdienst, vom Inhaber bestätigt");
    assert_eq!(listed[0]["acknowledged_by"], "verband");

    let output = dir.dcc(&[
        "alerts",
        "ack",
        &id_arg,
        "--comment",
        "noch mal",
        "--by",
        "verband",
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains(&format!("alert {id} was acknowledged already")),
        "{}",
        stderr(&output)
    );
    let output = dir.dcc(&["alerts", "ack", "999", "--comment", "x", "--by", "verband"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("there is no alert 999"),
        "{}",
        stderr(&output)
    );
    // init's registration, operator and administrator + the acknowledgement.
    dir.assert_audit_intact(4);
}

#[test]
fn operator_accounts_are_managed_from_the_command_line() {
    let (dir, _) = DataDir::init();
    let credentials = dir.path("operators/demo.toml");
    let demo: toml::Value =
        toml::from_str(&std::fs::read_to_string(&credentials).unwrap()).unwrap();
    assert_eq!(demo["username"].as_str(), Some("demo"));
    assert_eq!(demo["scope"].as_str(), Some(DEFAULT_ID));
    // The association's administrator, for the admin listener.
    let admin: toml::Value =
        toml::from_str(&std::fs::read_to_string(dir.path("operators/admin.toml")).unwrap())
            .unwrap();
    assert_eq!(admin["username"].as_str(), Some("admin"));
    assert_eq!(admin["scope"].as_str(), Some("*"));
    assert_eq!(admin["totp_secret"].as_str().map(str::len), Some(32));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&credentials)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A technician with a password from a file; enrols at the first sign-in.
    let password_file = dir.path("pw.txt");
    std::fs::write(&password_file, "a long enough password\n").unwrap();
    let password_arg = password_file.to_string_lossy().into_owned();
    let output = dir.dcc(&[
        "operator",
        "add",
        "--pharmacy",
        DEFAULT_ID,
        "--username",
        "tina",
        "--role",
        "technician",
        "--password-file",
        &password_arg,
    ]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("enrols the second factor"),
        "{}",
        stdout(&output)
    );
    assert!(!stdout(&output).contains("a long enough password"));

    // Taken names, unknown roles, short passwords and misplaced administrators are refused.
    let output = dir.dcc(&[
        "operator",
        "add",
        "--pharmacy",
        DEFAULT_ID,
        "--username",
        "tina",
        "--role",
        "pharmacist",
        "--password-file",
        &password_arg,
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("already taken"),
        "{}",
        stderr(&output)
    );
    let output = dir.dcc(&[
        "operator",
        "add",
        "--pharmacy",
        DEFAULT_ID,
        "--username",
        "x",
        "--role",
        "boss",
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("unknown role \"boss\""),
        "{}",
        stderr(&output)
    );
    std::fs::write(&password_file, "short\n").unwrap();
    let output = dir.dcc(&[
        "operator",
        "add",
        "--pharmacy",
        DEFAULT_ID,
        "--username",
        "paul",
        "--role",
        "pharmacist",
        "--password-file",
        &password_arg,
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("at least 12 characters"),
        "{}",
        stderr(&output)
    );
    let output = dir.dcc(&[
        "operator",
        "add",
        "--pharmacy",
        DEFAULT_ID,
        "--username",
        "root",
        "--role",
        "administrator",
    ]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("administrator belongs to the association"));
    // An administrator of the association gets a generated password, shown once.
    let output = dir.dcc(&[
        "operator",
        "add",
        "--association",
        "--username",
        "admin2",
        "--role",
        "administrator",
    ]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("initial password (shown once): "));

    let output = dir.dcc(&["operator", "list", "--pharmacy", DEFAULT_ID, "--json"]);
    assert_exit(&output, 0);
    let listed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let names: Vec<(&str, &str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["username"].as_str().unwrap(),
                row["role"].as_str().unwrap(),
                row["totp_enrolled"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [("demo", "owner", true), ("tina", "technician", false)]
    );
    let tina = listed[1]["id"].as_i64().unwrap().to_string();

    // Locks and disablement name the operator by id.
    assert_exit(
        &dir.dcc(&["lock", "--operator", &tina, "--reason", "fraud_suspected"]),
        0,
    );
    let output = dir.dcc(&["locks", "--json"]);
    assert!(
        stdout(&output).contains(&format!("\"{tina}\"")),
        "{}",
        stdout(&output)
    );
    assert_exit(&dir.dcc(&["operator", "disable", "--id", &tina]), 0);
    let output = dir.dcc(&["operator", "list", "--pharmacy", DEFAULT_ID]);
    assert!(
        stdout(&output).contains("disabled since"),
        "{}",
        stdout(&output)
    );
    let output = dir.dcc(&["operator", "reset", "--id", &tina]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("new password (shown once): "));
    let output = dir.dcc(&["operator", "disable", "--id", "424242"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("no such operator"),
        "{}",
        stderr(&output)
    );
    // Revocation by operator and window; a window needs --pharmacy or --operator.
    let output = dir.dcc(&[
        "revoke",
        "--reason",
        "fraud",
        "--operator",
        &tina,
        "--from",
        "2021-10-01T22:00:00+02:00",
        "--until",
        "2021-10-02T01:00:00+02:00",
    ]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).starts_with("revoked 0 certificate(s)"),
        "{}",
        stdout(&output)
    );
    let output = dir.dcc(&[
        "revoke",
        "--reason",
        "fraud",
        "--operator",
        "424242",
        "--from",
        "2021-10-01T22:00:00Z",
        "--until",
        "2021-10-02T01:00:00Z",
    ]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("no operator has the id 424242"),
        "{}",
        stderr(&output)
    );
    // Every change is in the audit chain, and it verifies.
    assert_exit(&dir.dcc(&["audit", "verify"]), 0);
}
