//! Billing: the ledger as billing reads it, closed monthly statements (immutable), how fraud
//! revocations were dealt with, and who fetched which statement.
//!
//! The statement content is JSON made by `dcc-billing`; this module stores it with its hash
//! and never interprets it. Statements, closed months and fraud adjustments are immutable
//! (triggers refuse UPDATE and DELETE, as for the audit log); fetches are append-only.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

use crate::error::{StoreError, query_error};
use crate::ledger::{CertificateType, LedgerEntry};

/// The revocation reason that makes a certificate not billable. Revocation ("Fraud defence
/// and revocation…") sets it; billing only reads it.
pub const FRAUD_REASON: &str = "fraud";

/// A ledger row as billing needs it: no product, no event date, no idempotency data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingLedgerRow {
    /// The certificate (used only to record fraud adjustments, never in a statement).
    pub uvci: String,
    /// The issuing pharmacy.
    pub telematik_id: String,
    /// Vaccination, test or recovery.
    pub certificate_type: CertificateType,
    /// `dn` of a vaccination.
    pub dose_number: Option<i64>,
    /// Issue instant, unix seconds.
    pub issued_at: i64,
    /// The holder key, when recorded.
    pub holder_key: Option<String>,
    /// Revoked with [`FRAUD_REASON`].
    pub fraud: bool,
    /// How billing already dealt with it as fraud, if at all.
    pub adjustment: Option<FraudAdjustment>,
}

/// How billing dealt with a fraudulent certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FraudAdjustment {
    /// Left out of the statement of its own month.
    Excluded,
    /// Billed in its month, taken back in a later statement.
    Corrected,
}

impl FraudAdjustment {
    fn as_str(self) -> &'static str {
        match self {
            Self::Excluded => "excluded",
            Self::Corrected => "corrected",
        }
    }

    fn from_column(text: &str) -> Result<Self, StoreError> {
        match text {
            "excluded" => Ok(Self::Excluded),
            "corrected" => Ok(Self::Corrected),
            _ => Err(StoreError::Corrupt {
                table: "billing_fraud_adjustments",
                column: "kind",
            }),
        }
    }
}

/// A closed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStatement {
    /// The pharmacy.
    pub telematik_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Format-independent content (JSON).
    pub content: String,
    /// Hex SHA-256 of `content`.
    pub content_hash: String,
    /// Certificates issued in the month.
    pub issued: i64,
    /// Certificates billed in the month.
    pub billed: i64,
    /// Amount in cents, corrections included.
    pub total_cents: i64,
    /// When it was closed, unix seconds.
    pub closed_at: i64,
}

/// A closed month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// When the close finished, unix seconds.
    pub closed_at: i64,
    /// Statements written.
    pub statements: i64,
    /// Sum of their totals in cents.
    pub total_cents: i64,
}

/// One fetch of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    /// Who fetched.
    pub telematik_id: String,
    /// Which month.
    pub month: String,
    /// `pdf`, `csv` or `json`.
    pub format: String,
    /// When, unix seconds.
    pub fetched_at: i64,
}

/// The pharmacies with ledger rows issued in `from <= issued_at < until`, sorted.
pub async fn month_pharmacies<'e, E>(
    executor: E,
    from: i64,
    until: i64,
) -> Result<Vec<String>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(MONTH_PHARMACIES)
        .bind(from)
        .bind(until)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(|row| row.try_get(0).map_err(query_error))
        .collect()
}

/// The rows of the pharmacies `first_id ..= last_id` issued in `from <= issued_at < until`,
/// ordered by pharmacy, issue time and UVCI.
pub async fn rows_in_range<'e, E>(
    executor: E,
    first_id: &str,
    last_id: &str,
    from: i64,
    until: i64,
) -> Result<Vec<BillingLedgerRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(ROWS_IN_RANGE)
        .bind(first_id)
        .bind(last_id)
        .bind(from)
        .bind(until)
        .bind(FRAUD_REASON)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(billing_row)
        .collect()
}

/// Certificates revoked as fraud, issued before `before`, that billing has not dealt with yet;
/// ordered by pharmacy and issue time.
pub async fn pending_fraud<'e, E>(
    executor: E,
    before: i64,
) -> Result<Vec<BillingLedgerRow>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(PENDING_FRAUD)
        .bind(FRAUD_REASON)
        .bind(before)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(billing_row)
        .collect()
}

/// The earliest issue instant in the ledger.
pub async fn first_issued_at<'e, E>(executor: E) -> Result<Option<i64>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query("SELECT MIN(issued_at) FROM certificate_ledger")
        .fetch_one(executor)
        .await
        .map_err(query_error)?
        .try_get(0)
        .map_err(query_error)
}

/// Ledger rows per pharmacy issued in `from <= issued_at < until`, sorted by pharmacy.
pub async fn issued_counts<'e, E>(
    executor: E,
    from: i64,
    until: i64,
) -> Result<Vec<(String, i64)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(ISSUED_COUNTS)
        .bind(from)
        .bind(until)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(|row| {
            Ok((
                row.try_get(0).map_err(query_error)?,
                row.try_get(1).map_err(query_error)?,
            ))
        })
        .collect()
}

/// Stores a statement; `false` when the pharmacy's month already has one (left unchanged).
pub async fn insert_statement(
    tx: &mut Transaction<'_, Any>,
    statement: &StoredStatement,
) -> Result<bool, StoreError> {
    let result = sqlx::query(INSERT_STATEMENT)
        .bind(&statement.telematik_id)
        .bind(&statement.month)
        .bind(&statement.content)
        .bind(&statement.content_hash)
        .bind(statement.issued)
        .bind(statement.billed)
        .bind(statement.total_cents)
        .bind(statement.closed_at)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(result.rows_affected() == 1)
}

/// Records how billing dealt with a fraudulent certificate (once per certificate).
pub async fn insert_adjustment(
    tx: &mut Transaction<'_, Any>,
    uvci: &str,
    telematik_id: &str,
    month: &str,
    adjustment: FraudAdjustment,
) -> Result<(), StoreError> {
    sqlx::query(INSERT_ADJUSTMENT)
        .bind(uvci)
        .bind(telematik_id)
        .bind(month)
        .bind(adjustment.as_str())
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(())
}

/// The statement of a pharmacy's month.
pub async fn find_statement<'e, E>(
    executor: E,
    telematik_id: &str,
    month: &str,
) -> Result<Option<StoredStatement>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(FIND_STATEMENT)
        .bind(telematik_id)
        .bind(month)
        .fetch_optional(executor)
        .await
        .map_err(query_error)?
        .as_ref()
        .map(statement_row)
        .transpose()
}

/// All statements of a month, sorted by pharmacy.
pub async fn month_statements<'e, E>(
    executor: E,
    month: &str,
) -> Result<Vec<StoredStatement>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(MONTH_STATEMENTS)
        .bind(month)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(statement_row)
        .collect()
}

/// A pharmacy's statements, newest month first, without their content.
pub async fn pharmacy_statements<'e, E>(
    executor: E,
    telematik_id: &str,
) -> Result<Vec<StoredStatement>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(PHARMACY_STATEMENTS)
        .bind(telematik_id)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(statement_row)
        .collect()
}

/// The pharmacies that already have a statement for `month`, sorted.
pub async fn statement_pharmacies<'e, E>(
    executor: E,
    month: &str,
) -> Result<Vec<String>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "SELECT telematik_id FROM billing_statements WHERE month = $1 ORDER BY telematik_id",
    )
    .bind(month)
    .fetch_all(executor)
    .await
    .map_err(query_error)?
    .iter()
    .map(|row| row.try_get(0).map_err(query_error))
    .collect()
}

/// Number of statements of `month` and the sum of their totals in cents.
pub async fn month_statements_summary<'e, E>(
    executor: E,
    month: &str,
) -> Result<(i64, i64), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT COUNT(*), CAST(COALESCE(SUM(total_cents), 0) AS BIGINT) FROM billing_statements \
         WHERE month = $1",
    )
    .bind(month)
    .fetch_one(executor)
    .await
    .map_err(query_error)?;
    Ok((
        row.try_get(0).map_err(query_error)?,
        row.try_get(1).map_err(query_error)?,
    ))
}

/// Marks a month closed; `false` when it already was.
pub async fn insert_month(
    tx: &mut Transaction<'_, Any>,
    month: &ClosedMonth,
) -> Result<bool, StoreError> {
    let result = sqlx::query(INSERT_MONTH)
        .bind(&month.month)
        .bind(month.closed_at)
        .bind(month.statements)
        .bind(month.total_cents)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(result.rows_affected() == 1)
}

/// A closed month, if it is.
pub async fn find_month<'e, E>(executor: E, month: &str) -> Result<Option<ClosedMonth>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "SELECT month, closed_at, statements, total_cents FROM billing_months WHERE month = $1",
    )
    .bind(month)
    .fetch_optional(executor)
    .await
    .map_err(query_error)?
    .map(|row| {
        Ok(ClosedMonth {
            month: row.try_get("month").map_err(query_error)?,
            closed_at: row.try_get("closed_at").map_err(query_error)?,
            statements: row.try_get("statements").map_err(query_error)?,
            total_cents: row.try_get("total_cents").map_err(query_error)?,
        })
    })
    .transpose()
}

/// Records a fetch.
pub async fn insert_fetch(tx: &mut Transaction<'_, Any>, fetch: &Fetch) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO billing_fetches (telematik_id, month, format, fetched_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&fetch.telematik_id)
    .bind(&fetch.month)
    .bind(&fetch.format)
    .bind(fetch.fetched_at)
    .execute(&mut **tx)
    .await
    .map_err(query_error)?;
    Ok(())
}

/// The fetches of a month's statements, by pharmacy and time.
pub async fn fetches<'e, E>(executor: E, month: &str) -> Result<Vec<Fetch>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "SELECT telematik_id, month, format, fetched_at FROM billing_fetches \
         WHERE month = $1 ORDER BY telematik_id, fetched_at, id",
    )
    .bind(month)
    .fetch_all(executor)
    .await
    .map_err(query_error)?
    .iter()
    .map(|row| {
        Ok(Fetch {
            telematik_id: row.try_get("telematik_id").map_err(query_error)?,
            month: row.try_get("month").map_err(query_error)?,
            format: row.try_get("format").map_err(query_error)?,
            fetched_at: row.try_get("fetched_at").map_err(query_error)?,
        })
    })
    .collect()
}

/// Inserts many ledger entries with multi-row INSERTs (seeding benchmarks and large tests;
/// issuance uses `ledger::insert`).
pub async fn insert_ledger_bulk(
    tx: &mut Transaction<'_, Any>,
    entries: &[LedgerEntry],
) -> Result<(), StoreError> {
    for chunk in entries.chunks(BULK_ROWS) {
        let mut sql = String::from(BULK_INSERT_HEAD);
        for (index, _) in chunk.iter().enumerate() {
            let base = index * 16;
            if index > 0 {
                sql.push(',');
            }
            sql.push('(');
            for column in 1..=16 {
                if column > 1 {
                    sql.push(',');
                }
                sql.push('$');
                sql.push_str(&(base + column).to_string());
            }
            sql.push(')');
        }
        // Only placeholders are generated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for entry in chunk {
            query = query
                .bind(&entry.uvci)
                .bind(&entry.telematik_id)
                .bind(entry.certificate_type.as_str())
                .bind(&entry.product)
                .bind(entry.dose_number)
                .bind(entry.total_doses)
                .bind(&entry.event_date)
                .bind(&entry.kid)
                .bind(&entry.uci_hash)
                .bind(entry.issued_at)
                .bind(entry.expires_at)
                .bind(entry.idempotency_key.as_deref())
                .bind(&entry.request_hash)
                .bind(entry.revoked_at)
                .bind(entry.revocation_reason.as_deref())
                .bind(entry.holder_key.as_deref());
        }
        query.execute(&mut **tx).await.map_err(query_error)?;
    }
    Ok(())
}

fn billing_row(row: &AnyRow) -> Result<BillingLedgerRow, StoreError> {
    let certificate_type: String = row.try_get("certificate_type").map_err(query_error)?;
    let fraud: i64 = row.try_get("fraud").map_err(query_error)?;
    let adjustment: Option<String> = row.try_get("adjustment").map_err(query_error)?;
    Ok(BillingLedgerRow {
        uvci: row.try_get("uvci").map_err(query_error)?,
        telematik_id: row.try_get("telematik_id").map_err(query_error)?,
        certificate_type: CertificateType::from_column(&certificate_type)?,
        dose_number: row.try_get("dose_number").map_err(query_error)?,
        issued_at: row.try_get("issued_at").map_err(query_error)?,
        holder_key: row.try_get("holder_key").map_err(query_error)?,
        fraud: fraud != 0,
        adjustment: adjustment
            .as_deref()
            .map(FraudAdjustment::from_column)
            .transpose()?,
    })
}

fn statement_row(row: &AnyRow) -> Result<StoredStatement, StoreError> {
    Ok(StoredStatement {
        telematik_id: row.try_get("telematik_id").map_err(query_error)?,
        month: row.try_get("month").map_err(query_error)?,
        content: row.try_get("content").map_err(query_error)?,
        content_hash: row.try_get("content_hash").map_err(query_error)?,
        issued: row.try_get("issued").map_err(query_error)?,
        billed: row.try_get("billed").map_err(query_error)?,
        total_cents: row.try_get("total_cents").map_err(query_error)?,
        closed_at: row.try_get("closed_at").map_err(query_error)?,
    })
}

/// Rows per multi-row INSERT: 16 parameters each stays below both backends' limits.
const BULK_ROWS: usize = 500;

const BULK_INSERT_HEAD: &str = "INSERT INTO certificate_ledger (uvci, telematik_id, \
     certificate_type, product, dose_number, total_doses, event_date, kid, uci_hash, issued_at, \
     expires_at, idempotency_key, request_hash, revoked_at, revocation_reason, holder_key) VALUES ";

const MONTH_PHARMACIES: &str = "SELECT DISTINCT telematik_id FROM certificate_ledger \
     WHERE issued_at >= $1 AND issued_at < $2 ORDER BY telematik_id";

const ROWS_IN_RANGE: &str = "SELECT l.uvci, l.telematik_id, l.certificate_type, \
     l.dose_number, l.issued_at, l.holder_key, \
     CASE WHEN l.revocation_reason = $5 THEN 1 ELSE 0 END AS fraud, a.kind AS adjustment \
     FROM certificate_ledger l LEFT JOIN billing_fraud_adjustments a ON a.uvci = l.uvci \
     WHERE l.telematik_id >= $1 AND l.telematik_id <= $2 \
     AND l.issued_at >= $3 AND l.issued_at < $4 \
     ORDER BY l.telematik_id, l.issued_at, l.uvci";

const PENDING_FRAUD: &str = "SELECT l.uvci, l.telematik_id, l.certificate_type, \
     l.dose_number, l.issued_at, l.holder_key, 1 AS fraud, a.kind AS adjustment \
     FROM certificate_ledger l LEFT JOIN billing_fraud_adjustments a ON a.uvci = l.uvci \
     WHERE l.revocation_reason = $1 AND l.issued_at < $2 AND a.uvci IS NULL \
     ORDER BY l.telematik_id, l.issued_at, l.uvci";

const ISSUED_COUNTS: &str = "SELECT telematik_id, COUNT(*) FROM certificate_ledger \
     WHERE issued_at >= $1 AND issued_at < $2 GROUP BY telematik_id ORDER BY telematik_id";

const INSERT_STATEMENT: &str = "INSERT INTO billing_statements (telematik_id, month, content, \
     content_hash, issued, billed, total_cents, closed_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING";

const INSERT_ADJUSTMENT: &str = "INSERT INTO billing_fraud_adjustments \
     (uvci, telematik_id, month, kind) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

const FIND_STATEMENT: &str = "SELECT telematik_id, month, content, content_hash, issued, \
     billed, total_cents, closed_at FROM billing_statements \
     WHERE telematik_id = $1 AND month = $2";

const MONTH_STATEMENTS: &str = "SELECT telematik_id, month, content, content_hash, issued, \
     billed, total_cents, closed_at FROM billing_statements \
     WHERE month = $1 ORDER BY telematik_id";

const PHARMACY_STATEMENTS: &str = "SELECT telematik_id, month, '' AS content, content_hash, \
     issued, billed, total_cents, closed_at FROM billing_statements \
     WHERE telematik_id = $1 ORDER BY month DESC";

const INSERT_MONTH: &str = "INSERT INTO billing_months (month, closed_at, statements, \
     total_cents) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
