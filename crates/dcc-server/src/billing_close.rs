//! The automatic close of billing months by `dcc serve`: at start-up and then hourly, every
//! month that ended (midnight Europe/Berlin) more than the grace period ago and is not closed
//! yet is closed. The grace period lets requests in flight at midnight reach the ledger first.

use std::sync::Arc;
use std::time::Duration;

use dcc_issuance::billing::{Billing, BillingSettings, CloseOutcome};
use dcc_store::Store;
use tokio::task::JoinHandle;

use crate::clock;

/// Starts the closing loop on a task of its own; it runs until the runtime stops.
pub fn spawn(store: Store, settings: Arc<BillingSettings>, grace_seconds: i64) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            close_ended(&store, &settings, grace_seconds).await;
            tokio::time::sleep(INTERVAL).await;
        }
    })
}

/// One pass: closes what is due and logs the outcome (errors are logged and retried on the
/// next pass; a partly closed month resumes where it stopped).
pub async fn close_ended(store: &Store, settings: &BillingSettings, grace_seconds: i64) {
    let billing = Billing { store, settings };
    let now = clock::now().unix_timestamp();
    match billing.close_ended_months(now, grace_seconds).await {
        Ok(outcomes) => {
            for (month, outcome) in outcomes {
                if let CloseOutcome::Closed { month: closed, .. } = outcome {
                    tracing::info!(
                        %month,
                        statements = closed.statements,
                        total_cents = closed.total_cents,
                        "billing month closed"
                    );
                }
            }
        }
        Err(error) => {
            tracing::error!(code = error.code(), %error, "closing billing months failed");
        }
    }
}

/// How often the loop looks for months to close.
const INTERVAL: Duration = Duration::from_secs(3600);
