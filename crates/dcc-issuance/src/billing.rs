//! Billing use cases: closing a month into immutable statements, reconciling them with the
//! ledger, and handing a pharmacy its statement (recorded as a fetch).
//!
//! The rules are `dcc-billing`'s (pure); the SQL is `dcc-store::billing`'s. Closing reads the
//! ledger pharmacy by pharmacy in batches ordered by Telematik-ID and writes each batch's
//! statements, fraud adjustments and progress in one transaction, so an interrupted close
//! resumes where it stopped and never writes a statement twice.

use std::collections::{BTreeMap, BTreeSet};

use dcc_billing::classify::{BillingRow, CertificateKind};
use dcc_billing::month::BillingMonth;
use dcc_billing::render::{self, Format};
use dcc_billing::schedule::FeeSchedule;
use dcc_billing::statement::{Correction, Statement};
use dcc_store::billing::{
    self, BillingLedgerRow, ClosedMonth, Fetch, FraudAdjustment, StoredStatement,
};
use dcc_store::ledger::CertificateType;
use dcc_store::{Store, StoreError};

use crate::audit::{self, AuditEvent};

/// What billing is configured with.
#[derive(Debug, Clone)]
pub struct BillingSettings {
    /// The fee tiers.
    pub schedule: FeeSchedule,
    /// How long after a dose's certificate the next dose's still counts as the same visit.
    pub same_visit_window_seconds: i64,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            schedule: FeeSchedule::default_2021(),
            same_visit_window_seconds: DEFAULT_SAME_VISIT_WINDOW_SECONDS,
        }
    }
}

/// Billing over a store.
pub struct Billing<'a> {
    /// The database.
    pub store: &'a Store,
    /// Schedule and window.
    pub settings: &'a BillingSettings,
}

/// What closing a month did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    /// The month was closed before; nothing changed.
    AlreadyClosed(ClosedMonth),
    /// The month is now closed.
    Closed {
        /// The month as recorded.
        month: ClosedMonth,
        /// Statements written by this run (fewer than `month.statements` when an interrupted
        /// run is resumed).
        written: u64,
    },
}

/// A pharmacy's statement, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedStatement {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Its media type.
    pub media_type: &'static str,
    /// Hex SHA-256 of the stored content.
    pub content_hash: String,
}

/// One pharmacy's line of a reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    /// The pharmacy.
    pub telematik_id: String,
    /// Certificates in the ledger issued in the month (`COUNT(*)`).
    pub ledger_issued: i64,
    /// Not billable according to the ledger (tests and no-fee types, fraud excluded at close).
    pub ledger_not_billable: i64,
    /// `ledger_issued − ledger_not_billable`.
    pub expected_billed: i64,
    /// Issued according to the statement (`None`: no statement).
    pub statement_issued: Option<i64>,
    /// Billed according to the statement.
    pub statement_billed: Option<i64>,
    /// Whether everything agrees (and the stored hash matches the content).
    pub matches: bool,
}

/// A month's reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The month.
    pub month: BillingMonth,
    /// One line per pharmacy with ledger rows or a statement.
    pub lines: Vec<CheckLine>,
}

impl CheckReport {
    /// The lines that do not agree.
    pub fn mismatches(&self) -> impl Iterator<Item = &CheckLine> {
        self.lines.iter().filter(|line| !line.matches)
    }
}

/// Why a billing operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The month has not ended yet (in Europe/Berlin).
    #[error("the month {0} has not ended yet")]
    NotEnded(BillingMonth),
    /// The month has not been closed.
    #[error("the month {0} is not closed")]
    NotClosed(BillingMonth),
    /// The pharmacy has no statement for this month.
    #[error("no statement for {month}")]
    NotFound {
        /// The month asked for.
        month: BillingMonth,
    },
    /// A stored statement does not match its hash or cannot be read.
    #[error("the stored statement of {telematik_id} for {month} is damaged")]
    Damaged {
        /// The pharmacy.
        telematik_id: String,
        /// The month.
        month: String,
    },
    /// The statement content could not be serialised.
    #[error(transparent)]
    Content(#[from] dcc_billing::BillingError),
    /// The database failed.
    #[error("the database failed: {0}")]
    Store(#[from] StoreError),
}

impl StatementError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotEnded(_) => "billing_month_not_ended",
            Self::NotClosed(_) => "billing_month_not_closed",
            Self::NotFound { .. } => "statement_not_found",
            Self::Damaged { .. } => "statement_damaged",
            Self::Content(_) => "statement_content_invalid",
            Self::Store(_) => "store_unavailable",
        }
    }
}

impl Billing<'_> {
    /// Closes `month` at `now` (unix seconds): one statement per pharmacy with certificates in
    /// the month or corrections due. A closed month is never changed. `progress(done, total)`
    /// is called after each batch of pharmacies.
    pub async fn close_month(
        &self,
        month: BillingMonth,
        now: i64,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<CloseOutcome, StatementError> {
        let key = month.to_string();
        let pool = self.store.pool();
        if let Some(closed) = billing::find_month(pool, &key).await? {
            return Ok(CloseOutcome::AlreadyClosed(closed));
        }
        if !month.has_ended(now, 0) {
            return Err(StatementError::NotEnded(month));
        }
        let (start, end) = month.bounds();
        let window = self.settings.same_visit_window_seconds;
        let corrections = self.corrections_due(start).await?;
        let done: BTreeSet<String> = billing::statement_pharmacies(pool, &key)
            .await?
            .into_iter()
            .collect();
        let mut todo: BTreeSet<String> = billing::month_pharmacies(pool, start, end)
            .await?
            .into_iter()
            .collect();
        todo.extend(corrections.keys().cloned());
        let todo: Vec<String> = todo.difference(&done).cloned().collect();
        let total = u64::try_from(todo.len()).unwrap_or(u64::MAX);
        let mut written = 0u64;
        progress(0, total);
        for batch in todo.chunks(CLOSE_BATCH_PHARMACIES) {
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                continue;
            };
            let rows = billing::rows_in_range(pool, first, last, start - window, end).await?;
            let by_pharmacy = group_by_pharmacy(&rows);
            let mut tx = self.store.begin().await?;
            for telematik_id in batch {
                let pharmacy_rows = by_pharmacy
                    .get(telematik_id.as_str())
                    .map_or(&[][..], |r| r);
                let due = corrections
                    .get(telematik_id)
                    .map_or(&[][..], |c| c.as_slice());
                let statement = Statement::assemble(
                    telematik_id,
                    month,
                    &pharmacy_rows.iter().map(billing_row).collect::<Vec<_>>(),
                    &due.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>(),
                    &self.settings.schedule,
                    window,
                );
                let content = statement.to_content()?;
                let stored = StoredStatement {
                    telematik_id: telematik_id.clone(),
                    month: key.clone(),
                    content_hash: Statement::content_hash(&content),
                    content,
                    issued: to_i64(statement.issued),
                    billed: to_i64(statement.billed),
                    total_cents: statement.total_cents,
                    closed_at: now,
                };
                if !billing::insert_statement(&mut tx, &stored).await? {
                    continue;
                }
                written += 1;
                for row in pharmacy_rows {
                    if row.fraud && (start..end).contains(&row.issued_at) {
                        billing::insert_adjustment(
                            &mut tx,
                            &row.uvci,
                            telematik_id,
                            &key,
                            FraudAdjustment::Excluded,
                        )
                        .await?;
                    }
                }
                for (uvci, _) in due {
                    billing::insert_adjustment(
                        &mut tx,
                        uvci,
                        telematik_id,
                        &key,
                        FraudAdjustment::Corrected,
                    )
                    .await?;
                }
            }
            dcc_store::commit(tx).await?;
            progress(written, total);
        }
        let statements = billing::month_statements_summary(pool, &key).await?;
        let closed = ClosedMonth {
            month: key,
            closed_at: now,
            statements: statements.0,
            total_cents: statements.1,
        };
        let mut tx = self.store.begin().await?;
        if billing::insert_month(&mut tx, &closed).await? {
            let event = AuditEvent::BillingMonthClosed {
                month: closed.month.clone(),
                statements: closed.statements,
                total_cents: closed.total_cents,
            };
            audit::record(&mut tx, &event, now).await?;
        }
        dcc_store::commit(tx).await?;
        Ok(CloseOutcome::Closed {
            month: closed,
            written,
        })
    }

    /// Closes every month that ended (plus `grace_seconds`) before `now` and is not closed,
    /// from the month of the first ledger entry on.
    pub async fn close_ended_months(
        &self,
        now: i64,
        grace_seconds: i64,
    ) -> Result<Vec<(BillingMonth, CloseOutcome)>, StatementError> {
        let Some(first) = billing::first_issued_at(self.store.pool()).await? else {
            return Ok(Vec::new());
        };
        let mut month = BillingMonth::containing(first);
        let mut outcomes = Vec::new();
        while month.has_ended(now, grace_seconds) {
            if billing::find_month(self.store.pool(), &month.to_string())
                .await?
                .is_none()
            {
                let outcome = self.close_month(month, now, &|_, _| {}).await?;
                outcomes.push((month, outcome));
            }
            month = month.next();
        }
        Ok(outcomes)
    }

    /// Reconciles a closed month with the ledger: per pharmacy, billed must equal issued minus
    /// not billable, where issued is the ledger's count and not billable is recomputed from
    /// the ledger rows (fraud as it stood at close, from the adjustments).
    pub async fn check_month(&self, month: BillingMonth) -> Result<CheckReport, StatementError> {
        let key = month.to_string();
        let pool = self.store.pool();
        if billing::find_month(pool, &key).await?.is_none() {
            return Err(StatementError::NotClosed(month));
        }
        let (start, end) = month.bounds();
        let window = self.settings.same_visit_window_seconds;
        let counts: BTreeMap<String, i64> = billing::issued_counts(pool, start, end)
            .await?
            .into_iter()
            .collect();
        let statements: BTreeMap<String, StoredStatement> = billing::month_statements(pool, &key)
            .await?
            .into_iter()
            .map(|s| (s.telematik_id.clone(), s))
            .collect();
        let pharmacies: Vec<String> = counts
            .keys()
            .chain(statements.keys())
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut lines = Vec::with_capacity(pharmacies.len());
        for batch in pharmacies.chunks(CLOSE_BATCH_PHARMACIES) {
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                continue;
            };
            let rows = billing::rows_in_range(pool, first, last, start - window, end).await?;
            let by_pharmacy = group_by_pharmacy(&rows);
            for telematik_id in batch {
                let as_closed: Vec<BillingRow> = by_pharmacy
                    .get(telematik_id.as_str())
                    .map_or(&[][..], |r| r)
                    .iter()
                    .map(|row| BillingRow {
                        fraud: row.adjustment == Some(FraudAdjustment::Excluded),
                        ..billing_row(row)
                    })
                    .collect();
                let recomputed = Statement::assemble(
                    telematik_id,
                    month,
                    &as_closed,
                    &[],
                    &self.settings.schedule,
                    window,
                );
                let ledger_issued = counts.get(telematik_id).copied().unwrap_or(0);
                let ledger_not_billable = to_i64(recomputed.not_billable.total());
                let expected_billed = ledger_issued - ledger_not_billable;
                let stored = statements.get(telematik_id);
                let content_ok = stored.is_some_and(|s| {
                    Statement::content_hash(&s.content) == s.content_hash
                        && Statement::from_content(&s.content).is_ok_and(|c| {
                            to_i64(c.issued) == s.issued && to_i64(c.billed) == s.billed
                        })
                });
                let matches = content_ok
                    && stored
                        .is_some_and(|s| s.issued == ledger_issued && s.billed == expected_billed);
                lines.push(CheckLine {
                    telematik_id: telematik_id.clone(),
                    ledger_issued,
                    ledger_not_billable,
                    expected_billed,
                    statement_issued: stored.map(|s| s.issued),
                    statement_billed: stored.map(|s| s.billed),
                    matches,
                });
            }
        }
        Ok(CheckReport { month, lines })
    }

    /// The statement of `telematik_id` for `month`, rendered; checks the stored hash.
    pub async fn render(
        &self,
        telematik_id: &str,
        month: BillingMonth,
        format: Format,
    ) -> Result<RenderedStatement, StatementError> {
        let stored = billing::find_statement(self.store.pool(), telematik_id, &month.to_string())
            .await?
            .ok_or(StatementError::NotFound { month })?;
        let damaged = || StatementError::Damaged {
            telematik_id: stored.telematik_id.clone(),
            month: stored.month.clone(),
        };
        if Statement::content_hash(&stored.content) != stored.content_hash {
            return Err(damaged());
        }
        let statement = Statement::from_content(&stored.content).map_err(|_| damaged())?;
        Ok(RenderedStatement {
            bytes: render::render(&statement, format),
            media_type: format.media_type(),
            content_hash: stored.content_hash,
        })
    }

    /// A pharmacy fetches its own statement: rendered, and the fetch recorded with its audit
    /// entry in one transaction.
    pub async fn fetch(
        &self,
        telematik_id: &str,
        month: BillingMonth,
        format: Format,
        now: i64,
    ) -> Result<RenderedStatement, StatementError> {
        let rendered = self.render(telematik_id, month, format).await?;
        let fetch = Fetch {
            telematik_id: telematik_id.to_owned(),
            month: month.to_string(),
            format: format.extension().to_owned(),
            fetched_at: now,
        };
        let mut tx = self.store.begin().await?;
        billing::insert_fetch(&mut tx, &fetch).await?;
        let event = AuditEvent::StatementFetched {
            telematik_id: fetch.telematik_id,
            month: fetch.month,
            format: format.extension(),
        };
        audit::record(&mut tx, &event, now).await?;
        dcc_store::commit(tx).await?;
        Ok(rendered)
    }

    /// A pharmacy's statements (without content), newest first.
    pub async fn list(&self, telematik_id: &str) -> Result<Vec<StoredStatement>, StatementError> {
        Ok(billing::pharmacy_statements(self.store.pool(), telematik_id).await?)
    }

    /// Who fetched the statements of `month`.
    pub async fn fetches(&self, month: BillingMonth) -> Result<Vec<Fetch>, StatementError> {
        Ok(billing::fetches(self.store.pool(), &month.to_string()).await?)
    }

    /// Fraudulent certificates billed in an earlier closed month and not yet taken back, by
    /// pharmacy, with what each earned.
    async fn corrections_due(
        &self,
        month_start: i64,
    ) -> Result<BTreeMap<String, Vec<(String, Correction)>>, StatementError> {
        let pool = self.store.pool();
        let window = self.settings.same_visit_window_seconds;
        let mut due: BTreeMap<String, Vec<(String, Correction)>> = BTreeMap::new();
        for row in billing::pending_fraud(pool, month_start).await? {
            let billed_month = BillingMonth::containing(row.issued_at).to_string();
            if billing::find_statement(pool, &row.telematik_id, &billed_month)
                .await?
                .is_none()
            {
                // Its month is not closed yet: that close will leave it out.
                continue;
            }
            let context = billing::rows_in_range(
                pool,
                &row.telematik_id,
                &row.telematik_id,
                row.issued_at - window,
                row.issued_at + 1,
            )
            .await?;
            let rows: Vec<BillingRow> = context.iter().map(billing_row).collect();
            let Some(index) = context.iter().position(|r| r.uvci == row.uvci) else {
                continue;
            };
            if let Some(correction) =
                Correction::for_row(&rows, index, &self.settings.schedule, window)
            {
                due.entry(row.telematik_id.clone())
                    .or_default()
                    .push((row.uvci.clone(), correction));
            }
        }
        Ok(due)
    }
}

fn group_by_pharmacy(rows: &[BillingLedgerRow]) -> BTreeMap<&str, &[BillingLedgerRow]> {
    let mut groups = BTreeMap::new();
    let mut rest = rows;
    while let Some(first) = rest.first() {
        let length = rest
            .iter()
            .position(|row| row.telematik_id != first.telematik_id)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(length);
        groups.insert(first.telematik_id.as_str(), group);
        rest = tail;
    }
    groups
}

fn billing_row(row: &BillingLedgerRow) -> BillingRow {
    BillingRow {
        kind: match row.certificate_type {
            CertificateType::Vaccination => CertificateKind::Vaccination,
            CertificateType::Test => CertificateKind::Test,
            CertificateType::Recovery => CertificateKind::Recovery,
        },
        dose_number: row.dose_number,
        issued_at: row.issued_at,
        holder_key: row.holder_key.clone(),
        fraud: row.fraud,
    }
}

fn to_i64(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Default same-visit window: 2 hours.
pub const DEFAULT_SAME_VISIT_WINDOW_SECONDS: i64 = 2 * 3600;

/// Pharmacies per batch (one read, one write transaction) when closing a month.
const CLOSE_BATCH_PHARMACIES: usize = 500;
