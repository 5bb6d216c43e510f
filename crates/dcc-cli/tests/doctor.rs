//! `dcc doctor` against a real `dcc serve` on loopback, with certificates made by
//! `dcc pki issue-institution` and revoked by `dcc pki revoke-institution`: every hop ok,
//! nothing listening, the wrong CA for the portal, a revoked institution certificate, and a
//! pharmacy the portal does not know. Each names the failing hop, its code and what to do,
//! in the human report and in `--json`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::Output;

use common::{DataDir, ServeChild, assert_exit, dcc_in, free_port, text};
use serde_json::Value;

const PHARMACY: &str = "3-SMC-B-Testkarte-883110000116873";
const REVOKED: &str = "3-SMC-B-Testkarte-883110000000031";
const UNREGISTERED: &str = "3-SMC-B-Testkarte-883110000000032";

/// A data folder with extra institution certificates (registered and revoked as asked),
/// made before `dcc serve` starts so that it loads the CRL with them.
async fn portal(revoked: &[&str], unregistered: &[&str]) -> (DataDir, ServeChild) {
    let data = DataDir::init();
    let folder = data.data.to_string_lossy().into_owned();
    for id in revoked.iter().chain(unregistered) {
        assert_exit(
            &dcc_in(
                &data.data,
                &[
                    "pki",
                    "issue-institution",
                    "--data",
                    &folder,
                    "--telematik-id",
                    id,
                ],
            ),
            0,
        );
    }
    for id in revoked {
        assert_exit(
            &data.dcc(&[
                "pharmacy",
                "add",
                "--telematik-id",
                id,
                "--name",
                "Apotheke am Widerruf",
                "--address",
                "Widerrufweg 1, 10115 Berlin",
            ]),
            0,
        );
        assert_exit(
            &dcc_in(
                &data.data,
                &[
                    "pki",
                    "revoke-institution",
                    "--data",
                    &folder,
                    "--telematik-id",
                    id,
                ],
            ),
            0,
        );
    }
    let serve = ServeChild::start(&data).await;
    (data, serve)
}

/// `dcc doctor` as the pharmacy `telematik_id` (its certificate followed by the SMC-B CA),
/// trusting `ca` for the portal.
fn doctor(data: &DataDir, port: u16, telematik_id: &str, ca: &str, json: bool) -> Output {
    let chain = data.path(&format!("{telematik_id}-chain.pem"));
    std::fs::write(
        &chain,
        format!(
            "{}{}",
            data.read(&format!("pki/institutions/{telematik_id}.pem")),
            data.read("pki/ti/smcb-ca.pem")
        ),
    )
    .unwrap();
    let portal = format!("https://localhost:{port}");
    let key = data.path(&format!("pki/institutions/{telematik_id}.key"));
    let ca = data.path(ca);
    let mut args = vec![
        "doctor".to_owned(),
        "--portal".to_owned(),
        portal,
        "--cert".to_owned(),
        chain.to_string_lossy().into_owned(),
        "--key".to_owned(),
        key.to_string_lossy().into_owned(),
        "--ca".to_owned(),
        ca.to_string_lossy().into_owned(),
    ];
    if json {
        args.push("--json".to_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    dcc_in(&data.data, &args)
}

/// The hops of a `--json` report by name: (status, code).
fn hops(output: &Output) -> Vec<(String, String, Option<String>)> {
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", text(&output.stdout)));
    report["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hop| {
            (
                hop["hop"].as_str().unwrap().to_owned(),
                hop["status"].as_str().unwrap().to_owned(),
                hop["code"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Asserts that `failing` failed with `code`, every hop before it passed and every hop after
/// it was not checked.
fn assert_fails_at(output: &Output, failing: &str, code: &str) {
    assert_exit(output, 1);
    let hops = hops(output);
    let position = hops.iter().position(|(hop, ..)| hop == failing).unwrap();
    for (index, (hop, status, found)) in hops.iter().enumerate() {
        let expected = match index.cmp(&position) {
            std::cmp::Ordering::Less => "ok",
            std::cmp::Ordering::Equal => "failed",
            std::cmp::Ordering::Greater => "not_checked",
        };
        assert_eq!(status, expected, "{hop}: {hops:?}");
        if index == position {
            assert_eq!(found.as_deref(), Some(code), "{hops:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hop_works_for_a_registered_pharmacy() {
    let (data, _serve) = portal(&[], &[]).await;
    let output = doctor(&data, data.port, PHARMACY, "pki/service/ca.pem", false);
    assert_exit(&output, 0);
    let said = text(&output.stdout);
    for hop in ["dns", "tcp", "tls", "registration", "readiness", "dry_run"] {
        assert!(
            said.lines().any(|line| line.trim_start().starts_with("ok")
                && line.split_whitespace().nth(1) == Some(hop)),
            "{hop} not ok in:\n{said}"
        );
    }
    assert!(said.contains(PHARMACY), "{said}");
    assert!(said.contains("every hop works"), "{said}");

    let json = doctor(&data, data.port, PHARMACY, "pki/service/ca.pem", true);
    assert_exit(&json, 0);
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert!(hops(&json).iter().all(|(_, status, _)| status == "ok"));
    // The dry run issued nothing: the dev pharmacy's ledger is still empty.
    let config = dcc_server::config::Config::load(&data.path("dcc.toml")).unwrap();
    let store = dcc_store::Store::connect(&config.database_url)
        .await
        .unwrap();
    let issued = dcc_store::ledger::count_by_pharmacy(store.pool(), PHARMACY, 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(issued, 0);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_listening_fails_at_tcp() {
    let data = DataDir::init();
    let output = doctor(&data, free_port(), PHARMACY, "pki/service/ca.pem", true);
    assert_fails_at(&output, "tcp", "connection_refused");
    let human = doctor(&data, free_port(), PHARMACY, "pki/service/ca.pem", false);
    assert_exit(&human, 1);
    let said = text(&human.stdout);
    assert!(said.contains("FAILED  tcp"), "{said}");
    assert!(said.contains("what to do: Nothing listens there"), "{said}");
    assert!(said.contains("first failing hop: tcp"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_ca_for_the_portal_fails_at_tls() {
    let (data, _serve) = portal(&[], &[]).await;
    // The TI root signs institution certificates, not the portal's server certificate.
    let output = doctor(&data, data.port, PHARMACY, "pki/ti/root-ca.pem", true);
    assert_fails_at(&output, "tls", "server_not_trusted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_institution_certificate_fails_at_tls() {
    let (data, _serve) = portal(&[REVOKED], &[]).await;
    let output = doctor(&data, data.port, REVOKED, "pki/service/ca.pem", true);
    assert_fails_at(&output, "tls", "client_certificate_revoked");
    let human = doctor(&data, data.port, REVOKED, "pki/service/ca.pem", false);
    let said = text(&human.stdout);
    assert!(said.contains("it has been revoked"), "{said}");
    assert!(said.contains("contact your card issuer"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_pharmacy_fails_at_registration() {
    let (data, _serve) = portal(&[], &[UNREGISTERED]).await;
    let output = doctor(&data, data.port, UNREGISTERED, "pki/service/ca.pem", true);
    assert_fails_at(&output, "registration", "pharmacy_not_registered");
    let human = doctor(&data, data.port, UNREGISTERED, "pki/service/ca.pem", false);
    let said = text(&human.stdout);
    assert!(said.contains(UNREGISTERED), "{said}");
    assert!(said.contains("ask the operator to register"), "{said}");
}
