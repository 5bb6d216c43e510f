//! `dcc verify`.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use dcc_core::hcert;
use dcc_core::revocation_list::RevocationList;
use dcc_core::verify::verify_decoded;

use crate::report::Report;
use crate::{EXIT_INVALID, EXIT_VALID, clock, input, trust};

/// Arguments of `dcc verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Trusted DSCs: a certificate (PEM or DER), a folder of them, an EU gateway trust-list
    /// JSON, or a German DSC list (with --dsc-list-key). May be given several times.
    #[arg(long = "trust", value_name = "PATH")]
    trust: Vec<String>,
    /// The public key (SubjectPublicKeyInfo, PEM or DER) that signs a German DSC list.
    #[arg(long, value_name = "PATH")]
    dsc_list_key: Option<String>,
    /// A revocation list (EU batch JSON, as `dcc revocation export` writes and
    /// `GET /revocation-list` serves): a listed certificate is invalid (`revoked`).
    #[arg(long, value_name = "FILE")]
    revocation: Option<String>,
    /// Verify as of this time (RFC 3339, e.g. 2021-06-01T18:00:00Z); default: now.
    #[arg(long, value_name = "RFC3339-TIME")]
    at: Option<String>,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    json: bool,
    /// An HC1 string, a file holding one, or a PNG/JPEG image of the QR code; `-` or
    /// nothing reads standard input.
    input: Option<String>,
}

/// Runs `dcc verify`.
pub fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let clock = match &args.at {
        Some(text) => parse_time(text)?,
        None => clock::now(),
    };
    let trust = trust::load(&args.trust, args.dsc_list_key.as_deref())?;
    let revocation = match &args.revocation {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
            Some(
                RevocationList::from_json(&bytes)
                    .with_context(|| format!("--revocation {path}"))?,
            )
        }
        None => None,
    };
    let text = input::read_hc1(args.input.as_deref())?;
    let report = match hcert::decode(&text) {
        Ok(decoded) => {
            let verification = verify_decoded(decoded, &trust, clock);
            let mut report = Report::from_verification(&verification, clock);
            if let Some(list) = &revocation {
                report.add_revocation(list.check(&verification.hcert));
            }
            report
        }
        Err(error) => Report::from_decode_error(&error, clock),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!("{}", report.to_human());
    }
    Ok(ExitCode::from(if report.valid {
        EXIT_VALID
    } else {
        EXIT_INVALID
    }))
}

fn parse_time(text: &str) -> anyhow::Result<i64> {
    let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!("--at {text:?} is not an RFC 3339 time such as 2021-06-01T18:00:00Z")
        })?;
    Ok(time.unix_timestamp())
}
