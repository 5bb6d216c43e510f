//! The storage suite: every test below runs once on SQLite (a temp file) and once on PostgreSQL
//! (a fresh database named by UUID), as `sqlite::<name>` and `postgres::<name>`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)]

mod anomaly;
mod audit;
mod availability;
mod batch;
mod billing;
mod ledger;
mod migrations;
mod operators;
mod pharmacies;
mod signing_keys;
mod support;
mod transactions;

/// Generates one `#[tokio::test]` per backend for each `module::test` listed.
macro_rules! backend_suite {
    ($($module:ident :: $test:ident),* $(,)?) => {
        backend_suite!(@backend sqlite, Sqlite, $($module::$test),*);
        backend_suite!(@backend postgres, Postgres, $($module::$test),*);
    };
    (@backend $name:ident, $backend:ident, $($module:ident :: $test:ident),*) => {
        mod $name {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    crate::support::run(dcc_store::Backend::$backend, crate::$module::$test).await;
                }
            )*
        }
    };
}

backend_suite! {
    migrations::migrations_apply_twice,
    migrations::migrations_refuse_changed_checksum,
    migrations::migrations_refuse_unknown_version,
    migrations::connection_settings_are_applied,
    pharmacies::pharmacy_insert_and_find,
    pharmacies::pharmacy_duplicates_conflict,
    pharmacies::pharmacy_suspend_and_reactivate,
    pharmacies::pharmacy_list_is_sorted,
    ledger::ledger_insert_and_find,
    ledger::ledger_duplicate_uvci_conflicts,
    ledger::ledger_idempotency_key_is_unique_per_pharmacy,
    ledger::ledger_rejects_unknown_pharmacy,
    ledger::ledger_count_by_pharmacy,
    ledger::ledger_issued_by_pharmacy,
    ledger::ledger_revoke,
    ledger::responses_insert_find_purge,
    transactions::rollback_leaves_nothing,
    transactions::commit_keeps_action_and_audit_together,
    transactions::concurrent_writers_queue_and_both_commit,
    audit::audit_append_builds_valid_chain,
    audit::audit_update_and_delete_are_rejected,
    audit::audit_tampered_detail_is_detected,
    audit::audit_deleted_entry_is_a_gap,
    audit::audit_cut_tail_is_a_head_mismatch,
    audit::audit_verify_walks_many_pages,
    audit::audit_concurrent_appenders_make_one_chain,
    batch::ledger_insert_batch_skips_taken_keys,
    batch::responses_insert_in_batches,
    batch::audit_append_batch_continues_the_chain,
    batch::pharmacies_active_among,
    billing::billing_ledger_keeps_holder_key_and_reads_rows_in_order,
    billing::billing_fraud_is_pending_until_adjusted,
    billing::billing_statements_are_written_once_and_immutable,
    billing::billing_fetches_are_recorded_and_append_only,
    signing_keys::signing_keys_bootstrap_then_rotate,
    signing_keys::signing_keys_allow_one_active_per_type,
    signing_keys::signing_keys_latest_expiry_per_kid,
    anomaly::alerts_are_raised_refreshed_acknowledged_and_raised_again,
    anomaly::acknowledged_alerts_are_final_and_alerts_are_kept,
    anomaly::concurrent_instances_raise_one_alert,
    anomaly::alerts_are_paged_by_state_and_pharmacy,
    anomaly::throttles_hold_until_their_time,
    anomaly::activity_counts_windows_spans_and_same_hours,
    anomaly::activity_groups_a_holders_certificates,
    operators::operators_are_unique_per_scope,
    operators::a_totp_step_is_accepted_once,
    operators::sessions_end_on_logout_and_disable,
    operators::ledger_records_the_operator_and_lists_the_day,
}
