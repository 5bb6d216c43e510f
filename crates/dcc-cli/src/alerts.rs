//! `dcc alerts list` and `dcc alerts ack`: the association works through anomaly alerts. An
//! acknowledgement needs a comment and is audited; it does not lift a lock (`dcc unlock` does).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use dcc_core::verify::format_time;
use dcc_issuance::alerts::{self, Acknowledger, AlertError};
use dcc_store::alerts::Alert;
use serde_json::{Value, json};

use crate::{ConfigArgs, EXIT_UNREADABLE, EXIT_VALID, block_on, clock};

/// `dcc alerts …`.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts, newest first.
    List(ListArgs),
    /// Acknowledge an alert with a comment (audited); the same pattern later raises a new one.
    Ack(AckArgs),
}

/// Arguments of `dcc alerts list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Only alerts not yet acknowledged.
    #[arg(long)]
    open: bool,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
    /// At most this many alerts.
    #[arg(long, default_value_t = 100)]
    limit: i64,
}

/// Arguments of `dcc alerts ack`.
#[derive(Debug, Args)]
pub struct AckArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The alert's number (see `dcc alerts list`).
    id: i64,
    /// What was found (required; no personal data).
    #[arg(long)]
    comment: Option<String>,
    /// Who acknowledges (default: the USER or LOGNAME environment variable).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
}

/// Runs `dcc alerts …`.
pub fn run(command: &AlertsCommand) -> anyhow::Result<ExitCode> {
    match command {
        AlertsCommand::List(args) => list(args),
        AlertsCommand::Ack(args) => ack(args),
    }
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    block_on(async {
        let store = args.config.open_store().await?;
        let result = alerts::list(&store, args.open, args.limit.max(1)).await;
        store.close().await;
        let listed = result?;
        if args.json {
            let items: Vec<Value> = listed.iter().map(to_json).collect();
            println!("{}", serde_json::to_string_pretty(&items)?);
        } else if listed.is_empty() {
            println!(
                "{}",
                if args.open {
                    "no open alerts"
                } else {
                    "no alerts"
                }
            );
        } else {
            for alert in &listed {
                println!(
                    "#{}  {}  {:<8}  {:<20}  {}  {}  {}",
                    alert.id,
                    format_time(alert.created_at),
                    alert.severity,
                    alert.rule,
                    alert.telematik_id,
                    alert.action_taken,
                    status(alert)
                );
            }
        }
        Ok(ExitCode::from(EXIT_VALID))
    })?
}

fn ack(args: &AckArgs) -> anyhow::Result<ExitCode> {
    let by = args
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_default();
    block_on(async {
        let store = args.config.open_store().await?;
        let by = Acknowledger::CommandLine { name: &by };
        let result =
            alerts::acknowledge(&store, args.id, by, args.comment.as_deref(), clock::now()).await;
        store.close().await;
        match result {
            Ok(alert) => {
                println!(
                    "alert #{} ({} at {}) acknowledged by {}",
                    alert.id,
                    alert.rule,
                    alert.telematik_id,
                    alert.acknowledged_by.as_deref().unwrap_or_default()
                );
                if alert.action_taken.starts_with("lock") {
                    println!(
                        "its lock stays until `dcc unlock --pharmacy {}`",
                        alert.telematik_id
                    );
                }
                Ok(ExitCode::from(EXIT_VALID))
            }
            Err(AlertError::Store(error)) => Err(error.into()),
            Err(refused) => {
                eprintln!("dcc: error ({}): {refused}", refused.code());
                Ok(ExitCode::from(EXIT_UNREADABLE))
            }
        }
    })?
}

fn status(alert: &Alert) -> String {
    match (alert.acknowledged_at, &alert.acknowledged_by) {
        (Some(at), Some(by)) => format!("acknowledged {} by {by}", format_time(at)),
        _ => format!("open ({} occurrences)", alert.occurrences),
    }
}

fn to_json(alert: &Alert) -> Value {
    json!({
        "id": alert.id,
        "rule": alert.rule,
        "severity": alert.severity,
        "telematik_id": alert.telematik_id,
        "operator_id": alert.operator_id,
        "subject": alert.subject,
        "window_start": format_time(alert.window_start),
        "window_end": format_time(alert.window_end),
        "evidence": alert.evidence,
        "action_taken": alert.action_taken,
        "occurrences": alert.occurrences,
        "created_at": format_time(alert.created_at),
        "updated_at": format_time(alert.updated_at),
        "open": alert.is_open(),
        "acknowledged_at": alert.acknowledged_at.map(format_time),
        "acknowledged_by": alert.acknowledged_by,
        "comment": alert.comment,
    })
}
