//! `dcc doctor`: checks, from a pharmacy's side and with its institution certificate, every
//! hop to the portal (name, TCP, mutual TLS, registration, readiness, a dry-run issuance) and
//! says which one fails, why, and what to do. The hops live in `dcc_server::doctor`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use dcc_server::doctor::{DoctorReport, DoctorSettings, HopStatus, examine};

use crate::{EXIT_INVALID, EXIT_VALID};

/// Arguments of `dcc doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The portal, e.g. https://portal.example:8443.
    #[arg(long, value_name = "URL")]
    portal: String,
    /// The institution certificate (PEM), optionally followed by its CA chain.
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// Its private key (PKCS#8 PEM).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The CA that issued the portal's server certificate (PEM); default: the system's trust
    /// store.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    json: bool,
}

/// Runs `dcc doctor`: exit 0 when every hop works, 1 when one fails.
pub fn run(args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let read =
        |path: &PathBuf| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let settings = DoctorSettings {
        portal: args.portal.clone(),
        certificate_pem: read(&args.cert)?,
        key_pem: read(&args.key)?,
        ca_pem: args.ca.as_ref().map(read).transpose()?,
    };
    let report = crate::serve::runtime()?.block_on(examine(&settings))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::from(if report.ok {
        EXIT_VALID
    } else {
        EXIT_INVALID
    }))
}

fn print_report(report: &DoctorReport) {
    println!("dcc doctor: {}", report.portal);
    for hop in &report.hops {
        let status = match hop.status {
            HopStatus::Ok => "ok",
            HopStatus::Failed => "FAILED",
            HopStatus::NotChecked => "-",
        };
        let elapsed = hop
            .elapsed_ms
            .map(|ms| format!(" ({ms} ms)"))
            .unwrap_or_default();
        println!(
            "  {status:<7} {:<13} {}{elapsed}",
            hop.hop.name(),
            hop.detail
        );
        if let (Some(code), Some(what_to_do)) = (hop.code, hop.what_to_do) {
            println!("  {:<7} {:<13} [{code}] what to do: {what_to_do}", "", "");
        }
    }
    match report
        .hops
        .iter()
        .find(|hop| hop.status == HopStatus::Failed)
    {
        Some(hop) => println!("first failing hop: {}", hop.hop.name()),
        None => println!("every hop works"),
    }
}
