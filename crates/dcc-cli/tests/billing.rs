//! `dcc billing` run as an operator would, on a data folder made by `dcc init`: close (and
//! close again), check (and detect a back-dated certificate), show, fetches.

// Test code: helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::{Command, Output};

use dcc_server::config::Config;
use dcc_store::Store;
use dcc_store::ledger::{CertificateType, LedgerEntry};
use time::OffsetDateTime;
use time::macros::datetime;

const PHARMACY: &str = "3-SMC-B-Testkarte-883110000116873";

fn dcc(data: &Path, args: &[&str]) -> Output {
    let config = data.join("dcc.toml");
    Command::new(env!("CARGO_BIN_EXE_dcc"))
        .args(args)
        .arg("--config")
        .arg(&config)
        .env_remove("DCC_CONFIG")
        .env_remove("DCC_DATABASE_URL")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn entry(uvci: &str, at: OffsetDateTime) -> LedgerEntry {
    LedgerEntry {
        uvci: uvci.to_owned(),
        telematik_id: PHARMACY.to_owned(),
        certificate_type: CertificateType::Vaccination,
        product: "EU/1/20/1528".to_owned(),
        dose_number: Some(1),
        total_doses: Some(2),
        event_date: "2021-07-01".to_owned(),
        kid: "DEsVUSvpFAE=".to_owned(),
        uci_hash: "a".repeat(64),
        issued_at: at.unix_timestamp(),
        expires_at: at.unix_timestamp() + 86_400,
        idempotency_key: None,
        request_hash: "b".repeat(64),
        revoked_at: None,
        revocation_reason: None,
        holder_key: None,
        country_code_uci_hash: None,
        signature_hash: None,
        operator_id: None,
    }
}

fn seed(data: &Path, entries: &[LedgerEntry]) {
    let config = Config::load(&data.join("dcc.toml")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::connect(&config.database_url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        dcc_store::billing::insert_ledger_bulk(&mut tx, entries)
            .await
            .unwrap();
        dcc_store::commit(tx).await.unwrap();
        store.close().await;
    });
}

#[test]
fn close_check_show_and_fetches() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let init = Command::new(env!("CARGO_BIN_EXE_dcc"))
        .args(["init", "--data"])
        .arg(&data)
        .env_remove("DCC_DATABASE_URL")
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", text(&init));
    let secret = std::fs::metadata(data.join("holder-key.secret")).unwrap();
    assert_eq!(secret.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(secret.permissions().mode() & 0o777, 0o600);
    }

    seed(
        &data,
        &[
            entry("C/1", datetime!(2021-07-07 23:59:59 +2)),
            entry("C/2", datetime!(2021-07-08 00:00:00 +2)),
        ],
    );
    let closed = dcc(&data, &["billing", "close", "--month", "2021-07"]);
    assert!(closed.status.success(), "{}", text(&closed));
    assert!(
        text(&closed).contains("closed 2021-07: 1 statements (1 written now), total 2400 cents"),
        "{}",
        text(&closed)
    );
    let again = dcc(&data, &["billing", "close", "--month", "2021-07"]);
    assert!(again.status.success());
    assert!(
        text(&again).contains("2021-07 was already closed"),
        "{}",
        text(&again)
    );

    let check = dcc(&data, &["billing", "check", "--month", "2021-07"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    assert!(text(&check).contains("1 pharmacies, 2 issued, 2 billed, 0 mismatches"));

    let pdf = dir.path().join("juli.pdf");
    let show = dcc(
        &data,
        &[
            "billing",
            "show",
            "--month",
            "2021-07",
            "--telematik-id",
            PHARMACY,
            "--format",
            "pdf",
            "-o",
            pdf.to_str().unwrap(),
        ],
    );
    assert!(show.status.success(), "{}", text(&show));
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-1.4"));
    let csv = dcc(
        &data,
        &[
            "billing",
            "show",
            "--month",
            "2021-07",
            "--telematik-id",
            PHARMACY,
            "--format",
            "csv",
        ],
    );
    assert!(String::from_utf8_lossy(&csv.stdout).ends_with("gesamt;2021-07;;;;;;2400\n"));

    let fetches = dcc(&data, &["billing", "fetches", "--month", "2021-07"]);
    assert!(
        text(&fetches).contains("0 of 1 pharmacies fetched"),
        "{}",
        text(&fetches)
    );

    // A certificate dated into the closed month afterwards: check must fail.
    seed(&data, &[entry("C/LATE", datetime!(2021-07-20 10:00 +2))]);
    let check = dcc(&data, &["billing", "check", "--month", "2021-07"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(
        text(&check).contains(&format!(
            "MISMATCH {PHARMACY}: ledger issued 3, not billable 0, expected billed 3; statement issued 2, billed 2"
        )),
        "{}",
        text(&check)
    );

    let not_ended = dcc(&data, &["billing", "close", "--month", "2999-01"]);
    assert_eq!(not_ended.status.code(), Some(2));
    assert!(
        text(&not_ended).contains("has not ended"),
        "{}",
        text(&not_ended)
    );
}
