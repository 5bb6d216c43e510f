//! `dcc serve`: the pharmacy portal and the certificate server, until Ctrl-C or SIGTERM. They
//! run in one process (`--role all`) or as two (`--role signer` and `--role portal`), the
//! portal then reaching the certificate server over mutual TLS with its service identity.
//! Where the portal runs, the association administrators' listener runs too (`[admin]`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use dcc_issuance::issue::SignService;
use dcc_server::config::Config;
use dcc_server::server::{
    RunningPortal, RunningServer, connect_store, follow_published_dscs,
    registry_certificate_server, remote_signer, start_admin, start_portal, start_signer,
};

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
    /// What to run: the portal with the certificate server in the same process (`all`), the
    /// certificate server alone on `signer.listen` (`signer`), or the portal calling a
    /// separate certificate server (`portal`).
    #[arg(long, value_enum, default_value_t = Role::All)]
    role: Role,
    /// With `--role portal`: where the certificate server listens
    /// [default: https://localhost:<port of signer.listen>].
    #[arg(long, value_name = "URL")]
    signer_url: Option<String>,
}

/// What `dcc serve` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// The portal with the certificate server in the same process.
    All,
    /// The portal, calling the certificate server at `--signer-url`.
    Portal,
    /// The certificate server alone, accepting only the portal's service identity.
    Signer,
}

/// Runs `dcc serve`.
pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    crate::telemetry::init();
    let config = Config::load(&args.config)?;
    if args.signer_url.is_some() && args.role != Role::Portal {
        bail!("--signer-url is only used with --role portal");
    }
    runtime()?.block_on(async {
        let mut admin = None;
        let server = match args.role {
            Role::All => {
                let portal = start(&config, None).await?;
                println!(
                    "portal listening on https://{} with the certificate server in-process",
                    portal.local_addr
                );
                admin = Some(start_admin_listener(&config).await?);
                portal
            }
            Role::Signer => {
                let signer = start_signer(&config, None).await?;
                println!(
                    "certificate server listening on https://{} (only the portal's service identity is served)",
                    signer.local_addr
                );
                signer
            }
            Role::Portal => {
                let url = args
                    .signer_url
                    .clone()
                    .unwrap_or_else(|| default_signer_url(&config));
                let portal = start_with_remote_signer(&config, &url, None).await?;
                println!(
                    "portal listening on https://{}, signing through the certificate server at {url}",
                    portal.local_addr
                );
                admin = Some(start_admin_listener(&config).await?);
                portal
            }
        };
        println!("Ctrl-C stops it");
        shutdown_signal().await;
        println!("stopping");
        if let Some(admin) = admin {
            admin.stop().await;
        }
        server.stop().await;
        Ok(ExitCode::from(EXIT_VALID))
    })
}

/// Starts the association administrators' listener (`[admin] listen`) on a database pool of
/// its own, so that administration never waits behind the issuing path's connections.
async fn start_admin_listener(config: &Config) -> anyhow::Result<RunningServer> {
    let store = connect_store(config)
        .await
        .with_context(|| format!("opening the database {}", config.database_url))?;
    let admin = start_admin(config, store, None).await?;
    println!(
        "admin listener on https://{} (administrator client certificates of the service CA only)",
        admin.local_addr
    );
    Ok(admin)
}

/// Opens the database, loads the signing keys and starts the portal with the certificate
/// server in the same process.
pub async fn start(
    config: &Config,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<RunningPortal> {
    let store = connect_store(config)
        .await
        .with_context(|| format!("opening the database {}", config.database_url))?;
    let signer = registry_certificate_server(config, &store).await?;
    spawn_billing_close(config, &store)?;
    Ok(start_portal(config, store, signer, listen).await?)
}

/// Opens the database and starts the portal calling the certificate server at `signer_url`
/// over mutual TLS.
pub async fn start_with_remote_signer(
    config: &Config,
    signer_url: &str,
    listen: Option<std::net::SocketAddr>,
) -> anyhow::Result<RunningPortal> {
    let remote = Arc::new(remote_signer(config, signer_url)?);
    let store = connect_store(config)
        .await
        .with_context(|| format!("opening the database {}", config.database_url))?;
    spawn_billing_close(config, &store)?;
    follow_published_dscs(config, &store, &remote);
    let signer: Arc<dyn SignService> = remote;
    Ok(start_portal(config, store, signer, listen).await?)
}

/// Closes ended billing months now and then hourly, in the background.
fn spawn_billing_close(config: &Config, store: &dcc_store::Store) -> anyhow::Result<()> {
    let settings = config
        .billing
        .settings()
        .context("reading the billing configuration")?;
    dcc_server::billing_close::spawn(
        store.clone(),
        Arc::new(settings),
        config.billing.close_grace_minutes.saturating_mul(60),
    );
    Ok(())
}

/// `https://localhost:<port of signer.listen>`: the signer's dev certificate names
/// `localhost`.
fn default_signer_url(config: &Config) -> String {
    format!("https://localhost:{}", config.signer.listen.port())
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
