//! `dcc revoke` and `dcc revocation export`: revoke exactly the bad certificates (by UVCI, from
//! a CSV file, or one pharmacy's or one operator's certificates in a time window) and export the published list.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use dcc_issuance::revocation::{self, RevocationReason, Selection};
use dcc_server::config::Config;

use crate::{ConfigArgs, EXIT_VALID, block_on, clock};

/// Arguments of `dcc revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    window: WindowArgs,
    /// Why: fraud (also not billable), error or duplicate.
    #[arg(long, value_name = "REASON", value_parser = ["fraud", "error", "duplicate"])]
    reason: String,
}

/// Which certificates: exactly one way of naming them.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SelectionArgs {
    /// A certificate's UVCI; may be given several times.
    #[arg(long, value_name = "UVCI")]
    uvci: Vec<String>,
    /// A CSV file with one UVCI per line in its first column (a header `uvci` is skipped).
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// A pharmacy's Telematik-ID: revoke its certificates issued from --from to --until.
    #[arg(long, value_name = "ID", requires_all = ["from", "until"])]
    pharmacy: Option<String>,
    /// An operator's id (see `dcc operator list`): revoke the certificates they issued from
    /// --from to --until.
    #[arg(long, value_name = "ID", requires_all = ["from", "until"])]
    operator: Option<i64>,
}

/// The time window of `--pharmacy` and `--operator`.
#[derive(Debug, Args)]
pub struct WindowArgs {
    /// Start of the window (RFC 3339), with --pharmacy or --operator.
    #[arg(long, value_name = "RFC3339-TIME")]
    from: Option<String>,
    /// End of the window (RFC 3339, included), with --pharmacy or --operator.
    #[arg(long, value_name = "RFC3339-TIME")]
    until: Option<String>,
}

/// The `dcc revocation` subcommands.
#[derive(Debug, Subcommand)]
pub enum RevocationCommand {
    /// Write the published revocation list (EU batch format) as JSON.
    Export(ExportArgs),
}

/// Arguments of `dcc revocation export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Runs `dcc revoke`.
pub fn revoke(args: &RevokeArgs) -> anyhow::Result<ExitCode> {
    let reason = RevocationReason::parse(&args.reason)
        .with_context(|| format!("unknown reason {:?}", args.reason))?;
    let selection = selection(&args.selection, &args.window)?;
    block_on(async {
        let store = args.config.open_store().await?;
        let result = revocation::revoke(&store, &selection, reason, clock::now()).await;
        store.close().await;
        let outcome = result?;
        println!(
            "revoked {} certificate(s) (reason {})",
            outcome.revoked.len(),
            reason.as_str()
        );
        for uvci in &outcome.revoked {
            println!("  {uvci}");
        }
        if !outcome.already_revoked.is_empty() {
            println!(
                "{} were revoked before and stay as they were",
                outcome.already_revoked.len()
            );
        }
        Ok(ExitCode::from(EXIT_VALID))
    })?
}

/// Runs a `dcc revocation` subcommand.
pub fn run(command: &RevocationCommand) -> anyhow::Result<ExitCode> {
    match command {
        RevocationCommand::Export(args) => export(args),
    }
}

fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config.config)?;
    block_on(async {
        let store = args.config.open_store().await?;
        let result = revocation::published(&store, &config.issuer.country, clock::now()).await;
        store.close().await;
        let (batches, _) = result?;
        let text = serde_json::to_string_pretty(&serde_json::json!({ "batches": batches }))?;
        match &args.output {
            Some(path) => {
                std::fs::write(path, format!("{text}\n"))
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("{} batch(es) written to {}", batches.len(), path.display());
            }
            None => println!("{text}"),
        }
        Ok(ExitCode::from(EXIT_VALID))
    })?
}

fn selection(args: &SelectionArgs, window: &WindowArgs) -> anyhow::Result<Selection> {
    let parse = |name: &str, text: &Option<String>| -> anyhow::Result<i64> {
        let text = text.as_deref().unwrap_or_default();
        let time = time::OffsetDateTime::parse(
            text,
            &time::format_description::well_known::Rfc3339,
        )
        .with_context(|| {
            format!("--{name} {text:?} is not an RFC 3339 time such as 2021-10-03T22:00:00+02:00")
        })?;
        Ok(time.unix_timestamp())
    };
    if args.pharmacy.is_none()
        && args.operator.is_none()
        && (window.from.is_some() || window.until.is_some())
    {
        anyhow::bail!("--from and --until need --pharmacy or --operator");
    }
    if let Some(operator_id) = args.operator {
        return Ok(Selection::OperatorWindow {
            operator_id,
            from: parse("from", &window.from)?,
            until: parse("until", &window.until)?,
        });
    }
    if let Some(telematik_id) = &args.pharmacy {
        return Ok(Selection::PharmacyWindow {
            telematik_id: telematik_id.clone(),
            from: parse("from", &window.from)?,
            until: parse("until", &window.until)?,
        });
    }
    if let Some(path) = &args.csv {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(Selection::Certificates(uvcis_from_csv(&text)));
    }
    Ok(Selection::Certificates(args.uvci.clone()))
}

/// The first column of every non-empty line, unquoted; a header `uvci` is skipped.
fn uvcis_from_csv(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let first = line
                .split([',', ';'])
                .next()?
                .trim()
                .trim_matches('"')
                .trim();
            (!first.is_empty() && !first.eq_ignore_ascii_case("uvci")).then(|| first.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_takes_the_first_column_and_skips_the_header() {
        let text = "uvci;reason\n\"URN:UVCI:01:DE:A/1#X\";x\n\nURN:UVCI:01:DE:A/2#Y,z\n";
        assert_eq!(
            uvcis_from_csv(text),
            ["URN:UVCI:01:DE:A/1#X", "URN:UVCI:01:DE:A/2#Y"]
        );
    }
}
