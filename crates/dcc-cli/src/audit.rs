//! `dcc audit`: checks of the hash-chained audit log.

use std::process::ExitCode;

use clap::Subcommand;
use dcc_store::audit::{self, BrokenReason};

use crate::{ConfigArgs, EXIT_INVALID, EXIT_VALID, block_on};

/// The `dcc audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the whole audit chain; exit 0 when intact, 1 when broken.
    Verify(ConfigArgs),
}

/// Runs a `dcc audit` subcommand.
pub fn run(command: &AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify(config) => block_on(verify(config))?,
    }
}

async fn verify(config: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let store = config.open_store().await?;
    let result = audit::verify_chain(&store).await;
    store.close().await;
    let report = result?;
    match report.first_broken {
        None => {
            println!("audit chain intact: {} entries", report.entries);
            Ok(ExitCode::from(EXIT_VALID))
        }
        Some(link) => {
            println!(
                "audit chain broken at entry {}: {}",
                link.seq,
                describe(link.reason)
            );
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}

fn describe(reason: BrokenReason) -> &'static str {
    match reason {
        BrokenReason::HashMismatch => {
            "its hash does not match its contents (the entry was altered)"
        }
        BrokenReason::PrevHashMismatch => {
            "it does not link to the previous entry (entries were replaced or reordered)"
        }
        BrokenReason::SequenceGap => "its sequence number skips entries (entries are missing)",
        BrokenReason::HeadMismatch => {
            "the chain head does not point at the last entry (the tail was cut off)"
        }
        _ => "the link is broken",
    }
}
