//! The `dcc` binary, run as a user would: exit codes, human and JSON output, every input
//! form and every trust-list form.

// Test code: helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use serde_json::Value;

const AT: &str = "2021-06-01T18:00:00Z";

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

fn sample(name: &str) -> String {
    samples().join(name).to_string_lossy().into_owned()
}

fn dcc(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcc"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dcc-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sample_dsc_der() -> Vec<u8> {
    let pem = std::fs::read_to_string(samples().join("de-test-dsc.pem")).unwrap();
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

#[test]
fn sample_verifies_as_valid() {
    let output = dcc(
        &[
            "verify",
            "--trust",
            &sample("de-test-dsc.pem"),
            "--at",
            AT,
            &sample("de-vaccination.hc1"),
        ],
        None,
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("VALID (checked at 2021-06-01T18:00:00Z)"),
        "{text}"
    );
    assert!(
        text.contains("URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W"),
        "{text}"
    );
}

#[test]
fn json_output_has_every_check() {
    let output = dcc(
        &[
            "verify",
            "--json",
            "--trust",
            &sample("de-test-dsc.pem"),
            "--at",
            AT,
            &sample("de-vaccination.hc1"),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0));
    let report = json(&output);
    assert_eq!(report["valid"], true);
    for check in [
        "decode",
        "signature",
        "validity",
        "key_usage",
        "schema",
        "value_sets",
    ] {
        assert_eq!(report["checks"][check], "ok", "{check}");
    }
    assert_eq!(report["kid"], "DEsVUSvpFAE=");
    assert_eq!(
        report["uvci"],
        "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W"
    );
    assert_eq!(report["certificate_type"], "vaccination");
    assert_eq!(report["payload"]["nam"]["fnt"], "MUSTERMANN");
}

#[test]
fn png_and_stdin_inputs() {
    let png = dcc(
        &[
            "verify",
            "--json",
            "--trust",
            &sample("de-test-dsc.pem"),
            "--at",
            AT,
            &sample("de-vaccination.png"),
        ],
        None,
    );
    assert_eq!(
        png.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&png.stderr)
    );
    let hc1 = std::fs::read_to_string(samples().join("de-vaccination.hc1")).unwrap();
    let stdin = dcc(
        &[
            "verify",
            "--json",
            "--trust",
            &sample("de-test-dsc.pem"),
            "--at",
            AT,
        ],
        Some(&hc1),
    );
    assert_eq!(stdin.status.code(), Some(0));
    assert_eq!(json(&stdin)["kid"], json(&png)["kid"]);
    let argument = dcc(
        &[
            "verify",
            "--json",
            "--trust",
            &sample("de-test-dsc.pem"),
            "--at",
            AT,
            hc1.trim(),
        ],
        None,
    );
    assert_eq!(json(&argument)["valid"], true);
}

#[test]
fn expired_at_wall_clock_time() {
    let output = dcc(
        &[
            "verify",
            "--json",
            "--trust",
            &sample("de-test-dsc.pem"),
            &sample("de-vaccination.hc1"),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(report["checks"]["validity"], "expired");
    assert_eq!(report["checks"]["signature"], "ok");
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("expired at 2022-01-28T07:47:53Z; checked at"),
        "{message}"
    );
}

#[test]
fn unknown_kid_without_trust() {
    let output = dcc(
        &[
            "verify",
            "--json",
            "--at",
            AT,
            &sample("de-vaccination.hc1"),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(report["checks"]["signature"], "unknown_kid");
    assert_eq!(report["checks"]["key_usage"], "no_signer");
    assert_eq!(
        report["errors"][0]["message"],
        "no trusted DSC has the kid DEsVUSvpFAE="
    );
}

#[test]
fn undecodable_input_is_invalid_with_a_specific_code() {
    let output = dcc(&["verify", "--json", "HC1:abc"], None);
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(report["checks"]["decode"], "bad_base45");
    assert_eq!(report["checks"]["signature"], "not_checked");
    assert_eq!(
        report["errors"][0]["message"],
        "invalid Base45: character 'a' at position 0 is not in the Base45 alphabet"
    );
    let output = dcc(&["verify", "HC2:ABC"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("[not_hc1]"));
}

#[test]
fn unreadable_input_and_bad_usage_exit_2() {
    let missing = dcc(&["verify", "/nonexistent/file.hc1"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("reading /nonexistent/file.hc1"));
    let bad_time = dcc(
        &["verify", "--at", "yesterday", &sample("de-vaccination.hc1")],
        None,
    );
    assert_eq!(bad_time.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad_time.stderr)
            .contains("--at \"yesterday\" is not an RFC 3339 time")
    );
    let bad_flag = dcc(&["verify", "--no-such-flag"], None);
    assert_eq!(bad_flag.status.code(), Some(2));
    let empty = dcc(&["verify"], Some(""));
    assert_eq!(empty.status.code(), Some(2));
}

#[test]
fn trust_from_a_folder_and_from_der() {
    let dir = scratch_dir("folder");
    std::fs::write(dir.join("dsc.der"), sample_dsc_der()).unwrap();
    // Keys and notes beside the certificates are ignored.
    std::fs::write(dir.join("dsc.key"), "-----BEGIN PRIVATE KEY-----\n").unwrap();
    std::fs::write(dir.join("README.txt"), "test DSCs").unwrap();
    let output = dcc(
        &[
            "verify",
            "--json",
            "--trust",
            dir.to_str().unwrap(),
            "--at",
            AT,
            &sample("de-vaccination.hc1"),
        ],
        None,
    );
    assert_eq!(json(&output)["valid"], true);

    let empty = scratch_dir("empty-folder");
    std::fs::write(empty.join("dsc.key"), "not a certificate").unwrap();
    let output = dcc(
        &[
            "verify",
            "--trust",
            empty.to_str().unwrap(),
            &sample("de-vaccination.hc1"),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("holds no certificate to trust"));
}

#[test]
fn trust_from_an_eu_gateway_list() {
    let der = sample_dsc_der();
    let list = serde_json::json!([{
        "kid": "DEsVUSvpFAE=",
        "timestamp": "2021-05-12T21:48:50+00:00",
        "country": "DE",
        "certificateType": "DSC",
        "thumbprint": hex_sha256(&der),
        "signature": "",
        "rawData": base64::engine::general_purpose::STANDARD.encode(&der),
    }]);
    let dir = scratch_dir("gateway");
    let path = dir.join("trust-list.json");
    std::fs::write(&path, list.to_string()).unwrap();
    let output = dcc(
        &[
            "verify",
            "--json",
            "--trust",
            path.to_str().unwrap(),
            "--at",
            AT,
            &sample("de-vaccination.hc1"),
        ],
        None,
    );
    assert_eq!(
        json(&output)["valid"],
        true,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn trust_from_a_signed_german_list() {
    let der = sample_dsc_der();
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let body = serde_json::json!({"certificates": [{
        "certificateType": "DSC", "country": "DE", "kid": "DEsVUSvpFAE=",
        "rawData": base64::engine::general_purpose::STANDARD.encode(&der),
        "signature": "", "thumbprint": hex_sha256(&der), "timestamp": "2021-05-12T21:48:50.583Z"
    }]})
    .to_string();
    let signature = key.sign(&rng, body.as_bytes()).unwrap();
    let list = format!(
        "{}\n{body}",
        base64::engine::general_purpose::STANDARD.encode(signature.as_ref())
    );
    let dir = scratch_dir("german");
    std::fs::write(dir.join("dsc-list"), &list).unwrap();
    std::fs::write(
        dir.join("list-key.pem"),
        spki_pem(key.public_key().as_ref()),
    )
    .unwrap();
    let list_path = dir.join("dsc-list");
    let key_path = dir.join("list-key.pem");
    let args = |key: Option<&Path>| {
        let mut args = vec!["verify".to_owned(), "--json".into(), "--trust".into()];
        args.push(list_path.to_string_lossy().into());
        if let Some(key) = key {
            args.push("--dsc-list-key".into());
            args.push(key.to_string_lossy().into());
        }
        args.extend(["--at".into(), AT.into(), sample("de-vaccination.hc1")]);
        args
    };
    let with_key: Vec<String> = args(Some(&key_path));
    let output = dcc(
        &with_key.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    );
    assert_eq!(
        json(&output)["valid"],
        true,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let without_key: Vec<String> = args(None);
    let output = dcc(
        &without_key.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--dsc-list-key"));

    // A tampered list is refused before any certificate in it is used.
    std::fs::write(&list_path, list.replace("\"DE\"", "\"AT\"")).unwrap();
    let output = dcc(
        &with_key.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    );
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn decode_prints_the_layers() {
    let output = dcc(&["decode", &sample("de-vaccination.hc1")], None);
    assert_eq!(output.status.code(), Some(0));
    let layers = json(&output);
    assert_eq!(layers["cose"]["protected"]["alg"], -7);
    assert_eq!(layers["cose"]["unprotected"]["kid"], "DEsVUSvpFAE=");
    assert_eq!(layers["claims"]["iss"], "DE");
    assert_eq!(layers["claims"]["iat"], 1_622_316_073);
    assert_eq!(layers["payload"]["v"][0]["dn"], 2);
    let broken = dcc(&["decode", "HC1:%%%"], None);
    assert_eq!(broken.status.code(), Some(1));
}

fn hex_sha256(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SubjectPublicKeyInfo PEM for an uncompressed P-256 point.
fn spki_pem(point: &[u8]) -> String {
    // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING point }
    let mut der = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08,
        0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    der.extend_from_slice(point);
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der)
    )
}
