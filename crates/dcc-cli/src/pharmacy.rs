//! `dcc pharmacy`: the registry of pharmacies allowed to issue, through the `dcc-issuance`
//! registry use cases (each change is audited in the same transaction).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use dcc_core::verify::format_time;
use dcc_issuance::operators::Actor;
use dcc_issuance::registry;
use dcc_store::pharmacies::Pharmacy;
use serde_json::{Value, json};

use crate::{ConfigArgs, EXIT_VALID, block_on, clock, pki};

/// The `dcc pharmacy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PharmacyCommand {
    /// Register a pharmacy; it may issue at once.
    Add(AddArgs),
    /// Suspend a pharmacy: it may no longer issue; its certificates stay valid.
    Suspend(StatusArgs),
    /// Let a suspended pharmacy issue again.
    Reactivate(StatusArgs),
    /// List the registered pharmacies.
    List(ListArgs),
}

/// Arguments of `dcc pharmacy add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The Telematik-ID from the pharmacy's SMC-B certificate.
    #[arg(long, value_name = "ID")]
    telematik_id: String,
    /// The pharmacy's name.
    #[arg(long)]
    name: String,
    /// The postal address, one line.
    #[arg(long, value_name = "ADDRESS")]
    address: String,
    /// The UVCI issuer segment (1 to 16 of A-Z, 0-9); default: derived from the Telematik-ID.
    #[arg(long, value_name = "SEGMENT")]
    issuer_segment: Option<String>,
}

/// Arguments of `dcc pharmacy suspend` and `dcc pharmacy reactivate`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The pharmacy's Telematik-ID.
    #[arg(long, value_name = "ID")]
    telematik_id: String,
}

/// Arguments of `dcc pharmacy list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs a `dcc pharmacy` subcommand.
pub fn run(command: &PharmacyCommand) -> anyhow::Result<ExitCode> {
    block_on(async {
        match command {
            PharmacyCommand::Add(args) => add(args).await,
            PharmacyCommand::Suspend(args) => set_status(args, Change::Suspend).await,
            PharmacyCommand::Reactivate(args) => set_status(args, Change::Reactivate).await,
            PharmacyCommand::List(args) => list(args).await,
        }
    })?
}

async fn add(args: &AddArgs) -> anyhow::Result<ExitCode> {
    let telematik_id = pki::parse_telematik_id(&args.telematik_id)?;
    let store = args.config.open_store().await?;
    let result = registry::register(
        &store,
        &Actor::CommandLine,
        telematik_id.as_str(),
        &args.name,
        &args.address,
        args.issuer_segment.as_deref(),
        clock::now(),
    )
    .await;
    store.close().await;
    let pharmacy = result?;
    println!(
        "registered {} \"{}\", issuer segment {}, {}",
        pharmacy.telematik_id,
        pharmacy.name,
        pharmacy.issuer_segment,
        pharmacy.status.as_str()
    );
    Ok(ExitCode::from(EXIT_VALID))
}

enum Change {
    Suspend,
    Reactivate,
}

async fn set_status(args: &StatusArgs, change: Change) -> anyhow::Result<ExitCode> {
    let store = args.config.open_store().await?;
    let now = clock::now();
    let result = match change {
        Change::Suspend => {
            registry::suspend(&store, &Actor::CommandLine, &args.telematik_id, now).await
        }
        Change::Reactivate => {
            registry::reactivate(&store, &Actor::CommandLine, &args.telematik_id, now).await
        }
    };
    store.close().await;
    let pharmacy = result?;
    println!(
        "{} \"{}\" is {}",
        pharmacy.telematik_id,
        pharmacy.name,
        pharmacy.status.as_str()
    );
    Ok(ExitCode::from(EXIT_VALID))
}

async fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let store = args.config.open_store().await?;
    let result = registry::list(&store).await;
    store.close().await;
    let pharmacies = result?;
    if args.json {
        let items: Vec<Value> = pharmacies.iter().map(to_json).collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else {
        print!("{}", table(&pharmacies));
    }
    Ok(ExitCode::from(EXIT_VALID))
}

fn to_json(pharmacy: &Pharmacy) -> Value {
    json!({
        "telematik_id": pharmacy.telematik_id,
        "issuer_segment": pharmacy.issuer_segment,
        "status": pharmacy.status.as_str(),
        "name": pharmacy.name,
        "address": pharmacy.address,
        "created_at": format_time(pharmacy.created_at),
        "updated_at": format_time(pharmacy.updated_at),
    })
}

fn table(pharmacies: &[Pharmacy]) -> String {
    let id_width = pharmacies
        .iter()
        .map(|pharmacy| pharmacy.telematik_id.chars().count())
        .chain([ID_HEADER.len()])
        .max()
        .unwrap_or_default();
    let segment_width = pharmacies
        .iter()
        .map(|pharmacy| pharmacy.issuer_segment.len())
        .chain([SEGMENT_HEADER.len()])
        .max()
        .unwrap_or_default();
    let mut out = format!(
        "{ID_HEADER:<id_width$}  {SEGMENT_HEADER:<segment_width$}  {STATUS_HEADER:<9}  NAME\n"
    );
    for pharmacy in pharmacies {
        out.push_str(&format!(
            "{:<id_width$}  {:<segment_width$}  {:<9}  {}\n",
            pharmacy.telematik_id,
            pharmacy.issuer_segment,
            pharmacy.status.as_str(),
            pharmacy.name
        ));
    }
    out
}

const ID_HEADER: &str = "TELEMATIK-ID";
const SEGMENT_HEADER: &str = "SEGMENT";
const STATUS_HEADER: &str = "STATUS";
