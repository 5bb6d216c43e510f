//! `dcc serve`: the pharmacy portal with its certificate server, until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use dcc_server::config::Config;
use dcc_server::server::{RunningPortal, certificate_server, start_portal};
use dcc_store::Store;

use crate::EXIT_VALID;

/// Arguments of `dcc serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file written by `dcc init`.
    #[arg(
        long,
        env = "DCC_CONFIG",
        default_value = "dcc.toml",
        value_name = "FILE"
    )]
    config: PathBuf,
}

/// Runs `dcc serve`.
pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    crate::telemetry::init();
    let config = Config::load(&args.config)?;
    runtime()?.block_on(async {
        let portal = start(&config, None).await?;
        println!(
            "portal listening on https://{} (Ctrl-C stops it)",
            portal.local_addr
        );
        shutdown_signal().await;
        println!("stopping");
        portal.stop().await;
        Ok(ExitCode::from(EXIT_VALID))
    })
}

/// Opens the database, loads the signing keys and starts the portal with the certificate
/// server in the same process.
pub async fn start(
    config: &Config,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<RunningPortal> {
    let store = Store::connect(&config.database_url)
        .await
        .with_context(|| format!("opening the database {}", config.database_url))?;
    let signer = Arc::new(certificate_server(config)?);
    Ok(start_portal(config, store, signer, listen).await?)
}

/// A multi-threaded runtime for the server commands.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Resolves on Ctrl-C or, on unix, SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
