//! `dcc trust-list export`: the published trust list, as the portal serves it, from the key
//! registry in the configured database.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use dcc_server::config::Config;
use dcc_server::server::trust_list_publisher;

use crate::{ConfigArgs, EXIT_VALID, block_on, clock};

/// `dcc trust-list …`.
#[derive(Debug, Subcommand)]
pub enum TrustListCommand {
    /// Write the published DSCs as an EU gateway trust list (JSON) or a German signed DSC
    /// list (two lines; verify it with the key in pki/trust-list/signer.pub).
    Export(ExportArgs),
}

/// Arguments of `dcc trust-list export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The list format.
    #[arg(long, value_enum, default_value_t = Format::Eu)]
    format: Format,
    /// Where to write the list [default: standard output].
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The published list formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// EU gateway trust-list JSON (`GET /trust-list`).
    Eu,
    /// German two-line signed DSC list (`GET /trust-list/de`).
    De,
}

/// Runs `dcc trust-list …`.
pub fn run(command: &TrustListCommand) -> anyhow::Result<ExitCode> {
    let TrustListCommand::Export(args) = command;
    let body = block_on(async {
        let store = args.config.open_store().await?;
        let config = Config::load(&args.config.config)?;
        let publisher = trust_list_publisher(&config, &store).await?;
        let now = clock::now_utc().unix_timestamp();
        let body = match args.format {
            Format::Eu => publisher.eu_gateway_json(now).await,
            Format::De => publisher.german_dsc_list(now).await,
        };
        store.close().await;
        anyhow::Ok(body.context("building the trust list")?)
    })??;
    match &args.output {
        Some(path) => std::fs::write(path, &body)
            .with_context(|| format!("writing the trust list {}", path.display()))?,
        None => std::io::stdout()
            .write_all(&body)
            .context("writing the trust list")?,
    }
    Ok(ExitCode::from(EXIT_VALID))
}
