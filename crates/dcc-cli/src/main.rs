//! The `dcc` command line: verify and decode EU Digital COVID Certificates, and set up and
//! administer a development issuing system (data folder, dev PKI, pharmacy registry, audit log).
//!
//! Thin by design: it parses arguments, reads files and the clock, and calls `dcc-core`,
//! `dcc-pki` and the `dcc-issuance` use cases.

/// mimalloc instead of glibc's allocator: the issuing path allocates per request in many
/// threads, and glibc's malloc and free were ~12 % of its CPU samples (BENCHMARKS.md, session 6).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod alerts;
mod audit;
mod billing;
mod clock;
mod decode;
mod demo;
mod doctor;
mod init;
mod input;
mod keys;
mod lock;
mod operator;
mod pharmacy;
mod pki;
mod render;
mod report;
mod revoke;
mod serve;
mod telemetry;
mod trust;
mod trust_list;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use dcc_server::config::Config;
use dcc_store::Store;

/// Issue, verify and inspect EU Digital COVID Certificates (HCERT, "HC1:" codes).
#[derive(Debug, Parser)]
#[command(name = "dcc", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify a certificate: signature, validity window, key usage, schema and value sets.
    ///
    /// Exit status: 0 valid, 1 invalid (including input that is not a decodable HC1 code),
    /// 2 unreadable input (missing file, image without QR code) or wrong usage.
    Verify(verify::VerifyArgs),
    /// Print the layers of a certificate (COSE headers, CWT claims, payload) without verifying.
    Decode(decode::DecodeArgs),
    /// Render a certificate offline: its QR code as PNG or SVG, or the printable A4 PDF.
    ///
    /// Exit status: 0 written, 1 not a renderable HC1 code, 2 unreadable input or output.
    Render(render::RenderArgs),
    /// Run the whole issuing path once on this machine: data folder, portal and certificate
    /// server, one certificate issued through mutual TLS, verified; then keep serving.
    Demo(demo::DemoArgs),
    /// Run the pharmacy portal and/or the certificate server until Ctrl-C or SIGTERM
    /// (`--role all|portal|signer`).
    Serve(serve::ServeArgs),
    /// Create a development data folder: dev PKI, configuration, database, default pharmacy
    /// and its demo operator.
    Init(init::InitArgs),
    /// Issue and revoke institution (SMC-B) certificates of the development PKI.
    #[command(subcommand)]
    Pki(pki::PkiCommand),
    /// Register, suspend, reactivate and list the pharmacies allowed to issue.
    #[command(subcommand)]
    Pharmacy(pharmacy::PharmacyCommand),
    /// Operator accounts: add, list, disable, reset (per pharmacy or association).
    #[command(subcommand)]
    Operator(operator::OperatorCommand),
    /// Check the hash-chained audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Lock issuance (the kill switch) for everyone, one pharmacy or one operator; effective
    /// on the next request on every instance. Locked requests get 423 with the reason.
    Lock(lock::LockArgs),
    /// Lift a lock set with `dcc lock`.
    Unlock(lock::UnlockArgs),
    /// List the locks in force.
    Locks(lock::LocksArgs),
    /// Anomaly alerts: list them, acknowledge one with a comment (audited).
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Revoke certificates: by UVCI, from a CSV file, or one pharmacy's in a time window,
    /// with a reason; audited; published in the revocation list until they expire.
    Revoke(revoke::RevokeArgs),
    /// Export the published revocation list (EU batch format).
    #[command(subcommand)]
    Revocation(revoke::RevocationCommand),
    /// Monthly statements per pharmacy: close, check, show, fetches.
    #[command(subcommand)]
    Billing(billing::BillingCommand),
    /// Rotate, generate (PKCS#11) and list the DSC signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Export the published trust list (EU gateway JSON or German signed DSC list).
    #[command(subcommand)]
    TrustList(trust_list::TrustListCommand),
    /// Check, with a pharmacy's institution certificate, every hop to the portal (DNS, TCP,
    /// mutual TLS, registration, readiness, a dry-run issuance); name the first that fails
    /// and what to do.
    ///
    /// Exit status: 0 every hop works, 1 a hop fails, 2 unreadable files or wrong usage.
    Doctor(doctor::DoctorArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify(args) => verify::run(&args),
        Command::Decode(args) => decode::run(&args),
        Command::Render(args) => render::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Pki(command) => pki::run(&command),
        Command::Pharmacy(command) => pharmacy::run(&command),
        Command::Operator(command) => operator::run(&command),
        Command::Audit(command) => audit::run(&command),
        Command::Lock(args) => lock::lock(&args),
        Command::Unlock(args) => lock::unlock(&args),
        Command::Locks(args) => lock::list(&args),
        Command::Alerts(command) => alerts::run(&command),
        Command::Revoke(args) => revoke::revoke(&args),
        Command::Revocation(command) => revoke::run(&command),
        Command::Billing(command) => billing::run(&command),
        Command::Keys(command) => keys::run(&command),
        Command::TrustList(command) => trust_list::run(&command),
        Command::Doctor(args) => doctor::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dcc: error: {}", describe(&error));
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

/// The error and its causes on one line. A cause whose text the message already contains
/// (error types that print their source themselves) is not repeated.
fn describe(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.is_empty() {
            message = text;
        } else if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
    }
    message
}

/// `--config`, shared by the commands that work on a configured data folder.
#[derive(Debug, Args)]
struct ConfigArgs {
    /// The configuration file written by `dcc init`.
    #[arg(
        long,
        value_name = "FILE",
        env = "DCC_CONFIG",
        default_value = "dcc.toml"
    )]
    config: PathBuf,
}

impl ConfigArgs {
    /// Loads the configuration and opens its database (applying pending migrations). A SQLite
    /// database file must exist already: a mistyped path should not create an empty registry.
    async fn open_store(&self) -> anyhow::Result<Store> {
        let config = Config::load(&self.config)?;
        if let Some(path) = sqlite_file(&config.database_url)
            && !path.exists()
        {
            anyhow::bail!(
                "the database {} named in {} does not exist; create it with `dcc init`",
                path.display(),
                self.config.display()
            );
        }
        Store::connect(&config.database_url)
            .await
            .with_context(|| format!("opening the database named in {}", self.config.display()))
    }
}

/// The file of a `sqlite://` URL, unless it is an in-memory database.
fn sqlite_file(url: &str) -> Option<&Path> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    let in_memory = path.is_empty() || path.contains(":memory:") || url.contains("mode=memory");
    (!in_memory).then(|| Path::new(path))
}

/// Runs `future` to completion on a runtime for this one command.
fn block_on<F: Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    Ok(runtime.block_on(future))
}

/// Exit status for a valid certificate, or a passed check.
const EXIT_VALID: u8 = 0;
/// Exit status for an invalid certificate, or a failed check.
const EXIT_INVALID: u8 = 1;
/// Exit status for unreadable input, unusable setup or wrong usage (clap uses 2 for usage
/// errors too).
const EXIT_UNREADABLE: u8 = 2;
