//! `dcc lock`, `dcc unlock` and `dcc locks`: the kill switch, through the `dcc-issuance`
//! use cases (each change audited in the same transaction). A lock holds for every portal
//! instance on the database from the next request on; locked requests get 423 with the reason.

use std::process::ExitCode;

use clap::Args;
use dcc_core::verify::format_time;
use dcc_issuance::kill_switch;
use dcc_issuance::operators::Actor;
use dcc_store::locks::{IssuanceLock, LockScope};
use serde_json::{Value, json};

use crate::{ConfigArgs, EXIT_VALID, block_on, clock};

/// Which issuance a lock covers: exactly one of the three.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ScopeArgs {
    /// Every pharmacy and operator.
    #[arg(long)]
    all: bool,
    /// One pharmacy, by Telematik-ID.
    #[arg(long, value_name = "ID")]
    pharmacy: Option<String>,
    /// One operator, by id (see `dcc operator list`).
    #[arg(long, value_name = "ID")]
    operator: Option<String>,
}

impl ScopeArgs {
    fn scope(&self) -> LockScope {
        match (&self.pharmacy, &self.operator) {
            (Some(telematik_id), _) => LockScope::Pharmacy(telematik_id.clone()),
            (None, Some(operator)) => LockScope::Operator(operator.clone()),
            (None, None) => LockScope::All,
        }
    }
}

/// Arguments of `dcc lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Reason code shown to the locked pharmacy: a-z, 0-9 and _ (e.g. fraud_suspected).
    #[arg(long, value_name = "CODE")]
    reason: String,
    /// A note for the association (never shown to pharmacies; no personal data).
    #[arg(long, default_value = "")]
    comment: String,
}

/// Arguments of `dcc unlock`.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    scope: ScopeArgs,
}

/// Arguments of `dcc locks`.
#[derive(Debug, Args)]
pub struct LocksArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `dcc lock`.
pub fn lock(args: &LockArgs) -> anyhow::Result<ExitCode> {
    block_on(async {
        let store = args.config.open_store().await?;
        let result = kill_switch::lock(
            &store,
            &Actor::CommandLine,
            args.scope.scope(),
            &args.reason,
            &args.comment,
            clock::now(),
        )
        .await;
        store.close().await;
        let lock = result?;
        println!(
            "issuance locked for {} (reason {}); effective on the next request",
            describe(&lock.scope),
            lock.reason
        );
        Ok(ExitCode::from(EXIT_VALID))
    })?
}

/// Runs `dcc unlock`.
pub fn unlock(args: &UnlockArgs) -> anyhow::Result<ExitCode> {
    block_on(async {
        let store = args.config.open_store().await?;
        let scope = args.scope.scope();
        let result =
            kill_switch::unlock(&store, &Actor::CommandLine, scope.clone(), clock::now()).await;
        store.close().await;
        match result? {
            Some(lifted) => println!(
                "issuance unlocked for {} (was locked since {}, reason {})",
                describe(&lifted.scope),
                format_time(lifted.locked_at),
                lifted.reason
            ),
            None => println!("{} was not locked; nothing changed", describe(&scope)),
        }
        Ok(ExitCode::from(EXIT_VALID))
    })?
}

/// Runs `dcc locks`.
pub fn list(args: &LocksArgs) -> anyhow::Result<ExitCode> {
    block_on(async {
        let store = args.config.open_store().await?;
        let result = kill_switch::list(&store).await;
        store.close().await;
        let locks = result?;
        if args.json {
            let items: Vec<Value> = locks.iter().map(to_json).collect();
            println!("{}", serde_json::to_string_pretty(&items)?);
        } else if locks.is_empty() {
            println!("no locks: issuance is open");
        } else {
            for lock in &locks {
                println!(
                    "{}  {}  {}  {}",
                    format_time(lock.locked_at),
                    describe(&lock.scope),
                    lock.reason,
                    lock.comment
                );
            }
        }
        Ok(ExitCode::from(EXIT_VALID))
    })?
}

fn describe(scope: &LockScope) -> String {
    match scope {
        LockScope::All => "everyone".to_owned(),
        LockScope::Pharmacy(telematik_id) => format!("pharmacy {telematik_id}"),
        LockScope::Operator(id) => format!("operator {id}"),
    }
}

fn to_json(lock: &IssuanceLock) -> Value {
    let (scope, target) = match &lock.scope {
        LockScope::All => ("all", None),
        LockScope::Pharmacy(telematik_id) => ("pharmacy", Some(telematik_id)),
        LockScope::Operator(id) => ("operator", Some(id)),
    };
    json!({
        "scope": scope,
        "target": target,
        "reason": lock.reason,
        "comment": lock.comment,
        "locked_at": format_time(lock.locked_at),
        "locked_by": lock.locked_by,
    })
}
