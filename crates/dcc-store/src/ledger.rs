//! The certificate ledger, and the short-lived store of issued HC1 texts for idempotent retries.
//!
//! The ledger records every issued certificate for billing, revocation and abuse detection, and
//! deliberately holds **no names and no dates of birth**: only the UVCI, the issuing pharmacy,
//! the medical product or test type, dose numbers, the event date, the signing key id, the
//! revocation hash (`uci_hash`) and the idempotency data.
//!
//! # Personal data: `issued_responses`
//!
//! [`insert_response`] stores the complete HC1 text, which encodes the holder's name and date of
//! birth. **It is the only place this crate stores personal data.** It exists because an
//! idempotent retry (same pharmacy, same idempotency key, same request body) must return the
//! very same certificate rather than sign a second one; the signature cannot be reproduced
//! without re-signing, so the text is kept. Each row carries `keep_until`, the caller keeps that
//! window short (the retry window, not the certificate lifetime), [`find_response`] ignores rows
//! past it, and [`purge_responses`] deletes them; call it periodically.

use std::collections::{HashMap, HashSet};

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Executor, Row, Transaction};

use crate::batch::{in_list, multi_row_insert, padded_len, statement_chunks};
use crate::error::{ConflictTarget, StoreError, UniqueKey, insert_error, query_error};

/// One issued certificate, without personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Unique vaccination certificate identifier (primary key).
    pub uvci: String,
    /// Issuing pharmacy; must be registered.
    pub telematik_id: String,
    /// Vaccination, test or recovery.
    pub certificate_type: CertificateType,
    /// Medicinal product (`mp`) for vaccinations, the test type for tests, the disease agent
    /// for recoveries.
    pub product: String,
    /// Dose number (`dn`); `None` for tests and recoveries.
    pub dose_number: Option<i64>,
    /// Total doses in the series (`sd`); `None` for tests and recoveries.
    pub total_doses: Option<i64>,
    /// Vaccination date, test sample time or first positive result, as in the payload
    /// (ISO 8601 text).
    pub event_date: String,
    /// Key identifier of the signing DSC, base64.
    pub kid: String,
    /// Revocation hash of the UCI, hex.
    pub uci_hash: String,
    /// Issuance time, unix seconds.
    pub issued_at: i64,
    /// Certificate expiry, unix seconds.
    pub expires_at: i64,
    /// The pharmacy's idempotency key, if the request carried one; unique per pharmacy.
    pub idempotency_key: Option<String>,
    /// Hex SHA-256 of the request body, to tell a true retry from a reused key.
    pub request_hash: String,
    /// Revocation time, unix seconds.
    pub revoked_at: Option<i64>,
    /// Why the certificate was revoked (a short code, never personal data).
    pub revocation_reason: Option<String>,
    /// Hex HMAC-SHA256 (server secret) over the standardised names and date of birth: the
    /// same holder without personal data (see `crate::billing`).
    pub holder_key: Option<String>,
    /// `COUNTRYCODEUCI` revocation hash, base64 (`None` for rows older than migration 5).
    pub country_code_uci_hash: Option<String>,
    /// `SIGNATURE` revocation hash, base64 (`None` for rows older than migration 5).
    pub signature_hash: Option<String>,
    /// The operator who issued it (`None` for rows older than migration 6).
    pub operator_id: Option<i64>,
}

/// The three DCC kinds, stored as the payload's group letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateType {
    /// Vaccination (`v`).
    Vaccination,
    /// Test (`t`).
    Test,
    /// Recovery (`r`).
    Recovery,
}

impl CertificateType {
    /// The value stored in `certificate_ledger.certificate_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vaccination => "v",
            Self::Test => "t",
            Self::Recovery => "r",
        }
    }

    pub(crate) fn from_column(text: &str) -> Result<Self, StoreError> {
        match text {
            "v" => Ok(Self::Vaccination),
            "t" => Ok(Self::Test),
            "r" => Ok(Self::Recovery),
            _ => Err(StoreError::Corrupt {
                table: "certificate_ledger",
                column: "certificate_type",
            }),
        }
    }
}

/// Records an issued certificate.
///
/// Fails with [`StoreError::Conflict`] naming [`ConflictTarget::Uvci`], or
/// [`ConflictTarget::IdempotencyKey`] when the pharmacy already used the key (look the existing
/// entry up with [`find_by_idempotency_key`] first; a concurrent retry may still lose the race
/// and get this conflict).
pub async fn insert(tx: &mut Transaction<'_, Any>, entry: &LedgerEntry) -> Result<(), StoreError> {
    let sql = multi_row_insert(INSERT_PREFIX, INSERT_COLUMNS, 1, "");
    bind_entry(sqlx::query(sql), entry)
        .execute(&mut **tx)
        .await
        .map_err(|error| insert_error(error, LEDGER_KEYS))?;
    Ok(())
}

/// Records several certificates with one multi-row insert per chunk (group commit) and returns
/// the UVCIs that were inserted. An entry whose UVCI or idempotency key is taken already is
/// skipped rather than failing the batch: it is missing from the result, and the caller tells
/// the cases apart (a concurrent retry with the same key, in practice).
pub async fn insert_batch(
    tx: &mut Transaction<'_, Any>,
    entries: &[LedgerEntry],
) -> Result<HashSet<String>, StoreError> {
    let mut inserted = HashSet::with_capacity(entries.len());
    for chunk in statement_chunks(entries, INSERT_CHUNK) {
        let sql = multi_row_insert(
            INSERT_PREFIX,
            INSERT_COLUMNS,
            chunk.len(),
            " ON CONFLICT DO NOTHING RETURNING uvci",
        );
        let mut query = sqlx::query(sql);
        for entry in chunk {
            query = bind_entry(query, entry);
        }
        for row in query.fetch_all(&mut **tx).await.map_err(query_error)? {
            inserted.insert(row.try_get("uvci").map_err(query_error)?);
        }
    }
    Ok(inserted)
}

/// Binds the ledger columns of one entry, in [`INSERT_PREFIX`] order.
fn bind_entry<'q>(
    query: Query<'q, Any, AnyArguments>,
    entry: &'q LedgerEntry,
) -> Query<'q, Any, AnyArguments> {
    query
        .bind(entry.uvci.as_str())
        .bind(entry.telematik_id.as_str())
        .bind(entry.certificate_type.as_str())
        .bind(entry.product.as_str())
        .bind(entry.dose_number)
        .bind(entry.total_doses)
        .bind(entry.event_date.as_str())
        .bind(entry.kid.as_str())
        .bind(entry.uci_hash.as_str())
        .bind(entry.issued_at)
        .bind(entry.expires_at)
        .bind(entry.idempotency_key.as_deref())
        .bind(entry.request_hash.as_str())
        .bind(entry.revoked_at)
        .bind(entry.revocation_reason.as_deref())
        .bind(entry.holder_key.as_deref())
        .bind(entry.country_code_uci_hash.as_deref())
        .bind(entry.signature_hash.as_deref())
        .bind(entry.operator_id)
}

/// A certificate in a pharmacy's list of the day: no personal data, the operator by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedListItem {
    /// The UVCI.
    pub uvci: String,
    /// Vaccination, test or recovery.
    pub certificate_type: CertificateType,
    /// Issuance time, unix seconds.
    pub issued_at: i64,
    /// Who issued it (`None` before operator accounts existed).
    pub operator_username: Option<String>,
    /// Whether it has been revoked.
    pub revoked: bool,
}

/// The certificates a pharmacy issued in `[from, until)`, newest first, at most `limit`.
pub async fn issued_by_pharmacy<'e, E>(
    executor: E,
    telematik_id: &str,
    from: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<IssuedListItem>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(ISSUED_BY_PHARMACY)
        .bind(telematik_id)
        .bind(from)
        .bind(until)
        .bind(limit)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(|row| {
            let kind: String = row.try_get("certificate_type").map_err(query_error)?;
            let revoked_at: Option<i64> = row.try_get("revoked_at").map_err(query_error)?;
            Ok(IssuedListItem {
                uvci: row.try_get("uvci").map_err(query_error)?,
                certificate_type: CertificateType::from_column(&kind)?,
                issued_at: row.try_get("issued_at").map_err(query_error)?,
                operator_username: row.try_get("username").map_err(query_error)?,
                revoked: revoked_at.is_some(),
            })
        })
        .collect()
}

/// Looks an entry up by UVCI. Pass `&mut *tx` or `store.pool()`.
pub async fn find_by_uvci<'e, E>(executor: E, uvci: &str) -> Result<Option<LedgerEntry>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(FIND_BY_UVCI)
        .bind(uvci)
        .fetch_optional(executor)
        .await
        .map_err(query_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Looks up the entry a pharmacy issued under an idempotency key. Compare its `request_hash`
/// with the new request's to tell a retry from a reused key.
pub async fn find_by_idempotency_key<'e, E>(
    executor: E,
    telematik_id: &str,
    idempotency_key: &str,
) -> Result<Option<LedgerEntry>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(FIND_BY_IDEMPOTENCY_KEY)
        .bind(telematik_id)
        .bind(idempotency_key)
        .fetch_optional(executor)
        .await
        .map_err(query_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Counts the certificates a pharmacy issued with `issued_from <= issued_at < issued_until`
/// (a billing period), revoked ones included.
pub async fn count_by_pharmacy<'e, E>(
    executor: E,
    telematik_id: &str,
    issued_from: i64,
    issued_until: i64,
) -> Result<u64, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let count: i64 = sqlx::query(COUNT_BY_PHARMACY)
        .bind(telematik_id)
        .bind(issued_from)
        .bind(issued_until)
        .fetch_one(executor)
        .await
        .map_err(query_error)?
        .try_get(0)
        .map_err(query_error)?;
    u64::try_from(count).map_err(|_| StoreError::Corrupt {
        table: "certificate_ledger",
        column: "count(*)",
    })
}

/// How many certificates a pharmacy has issued recently (for rate limits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecentCount {
    /// Issued after `since` of [`recent_counts`] (the long window).
    pub long: u64,
    /// Of those, issued after `burst_since` (the short window).
    pub short: u64,
}

/// Certificates per pharmacy issued after `since`, and of those after `burst_since`, read
/// inside the caller's transaction; pharmacies without any are absent from the map.
pub async fn recent_counts(
    tx: &mut Transaction<'_, Any>,
    telematik_ids: &[&str],
    since: i64,
    burst_since: i64,
) -> Result<HashMap<String, RecentCount>, StoreError> {
    let mut counts = HashMap::with_capacity(telematik_ids.len());
    for chunk in telematik_ids.chunks(COUNT_CHUNK) {
        let slots = padded_len(chunk.len());
        let sql = in_list(RECENT_COUNTS_PREFIX, 3, slots, " GROUP BY telematik_id");
        let mut query = sqlx::query(sql).bind(since).bind(burst_since);
        for telematik_id in chunk.iter().chain(chunk.last()).cycle().take(slots) {
            query = query.bind(*telematik_id);
        }
        for row in query.fetch_all(&mut **tx).await.map_err(query_error)? {
            let recent = recent_count(&row)?;
            counts.insert(row.try_get("telematik_id").map_err(query_error)?, recent);
        }
    }
    Ok(counts)
}

/// The `long_count` and `short_count` columns of a row of [`recent_counts`] or
/// [`recent_counts_by_operator`].
fn recent_count(row: &AnyRow) -> Result<RecentCount, StoreError> {
    let count = |column: &str| -> Result<u64, StoreError> {
        let value: i64 = row.try_get(column).map_err(query_error)?;
        u64::try_from(value).map_err(|_| StoreError::Corrupt {
            table: "certificate_ledger",
            column: "count(*)",
        })
    };
    Ok(RecentCount {
        long: count("long_count")?,
        short: count("short_count")?,
    })
}

/// Like [`recent_counts`], per operator.
pub async fn recent_counts_by_operator(
    tx: &mut Transaction<'_, Any>,
    operator_ids: &[i64],
    since: i64,
    burst_since: i64,
) -> Result<HashMap<i64, RecentCount>, StoreError> {
    let mut counts = HashMap::with_capacity(operator_ids.len());
    for chunk in operator_ids.chunks(COUNT_CHUNK) {
        let slots = padded_len(chunk.len());
        let sql = in_list(OPERATOR_COUNTS_PREFIX, 3, slots, " GROUP BY operator_id");
        let mut query = sqlx::query(sql).bind(since).bind(burst_since);
        for operator_id in chunk.iter().chain(chunk.last()).cycle().take(slots) {
            query = query.bind(*operator_id);
        }
        for row in query.fetch_all(&mut **tx).await.map_err(query_error)? {
            let recent = recent_count(&row)?;
            counts.insert(row.try_get("operator_id").map_err(query_error)?, recent);
        }
    }
    Ok(counts)
}

/// Marks a certificate revoked. Returns the entry as it now stands, or `None` when no entry has
/// this UVCI. Revoking twice keeps the first time and reason.
pub async fn revoke(
    tx: &mut Transaction<'_, Any>,
    uvci: &str,
    reason: &str,
    now: i64,
) -> Result<Option<LedgerEntry>, StoreError> {
    sqlx::query(REVOKE)
        .bind(uvci)
        .bind(now)
        .bind(reason)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    find_by_uvci(&mut **tx, uvci).await
}

/// Keeps the HC1 text of a freshly issued certificate until `keep_until` (unix seconds), so an
/// idempotent retry can return it. See the module docs: this is personal data.
pub async fn insert_response(
    tx: &mut Transaction<'_, Any>,
    uvci: &str,
    hc1: &str,
    keep_until: i64,
) -> Result<(), StoreError> {
    let response = KeptResponse {
        uvci,
        hc1,
        keep_until,
    };
    insert_responses(tx, std::slice::from_ref(&response)).await
}

/// The HC1 text of a fresh certificate, kept for idempotent retries (see [`insert_response`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptResponse<'a> {
    /// The certificate's UVCI (its ledger entry must exist).
    pub uvci: &'a str,
    /// The `HC1:` text: personal data.
    pub hc1: &'a str,
    /// Until when it is kept, unix seconds.
    pub keep_until: i64,
}

/// Keeps several responses with one multi-row insert per chunk (group commit).
pub async fn insert_responses(
    tx: &mut Transaction<'_, Any>,
    responses: &[KeptResponse<'_>],
) -> Result<(), StoreError> {
    for chunk in statement_chunks(responses, INSERT_CHUNK) {
        let sql = multi_row_insert(INSERT_RESPONSE_PREFIX, 3, chunk.len(), "");
        let mut query = sqlx::query(sql);
        for response in chunk {
            query = query
                .bind(response.uvci)
                .bind(response.hc1)
                .bind(response.keep_until);
        }
        query
            .execute(&mut **tx)
            .await
            .map_err(|error| insert_error(error, RESPONSE_KEYS))?;
    }
    Ok(())
}

/// The stored HC1 text for `uvci`, unless it is missing or its `keep_until` is not after `now`
/// (an expired row is treated as gone even before [`purge_responses`] deletes it).
pub async fn find_response<'e, E>(
    executor: E,
    uvci: &str,
    now: i64,
) -> Result<Option<String>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(FIND_RESPONSE)
        .bind(uvci)
        .bind(now)
        .fetch_optional(executor)
        .await
        .map_err(query_error)?
        .map(|row| row.try_get("hc1").map_err(query_error))
        .transpose()
}

/// Deletes every stored response whose `keep_until` is not after `now`; returns how many.
pub async fn purge_responses(tx: &mut Transaction<'_, Any>, now: i64) -> Result<u64, StoreError> {
    let result = sqlx::query(PURGE_RESPONSES)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(result.rows_affected())
}

fn from_row(row: &AnyRow) -> Result<LedgerEntry, StoreError> {
    let certificate_type: String = row.try_get("certificate_type").map_err(query_error)?;
    Ok(LedgerEntry {
        uvci: row.try_get("uvci").map_err(query_error)?,
        telematik_id: row.try_get("telematik_id").map_err(query_error)?,
        certificate_type: CertificateType::from_column(&certificate_type)?,
        product: row.try_get("product").map_err(query_error)?,
        dose_number: row.try_get("dose_number").map_err(query_error)?,
        total_doses: row.try_get("total_doses").map_err(query_error)?,
        event_date: row.try_get("event_date").map_err(query_error)?,
        kid: row.try_get("kid").map_err(query_error)?,
        uci_hash: row.try_get("uci_hash").map_err(query_error)?,
        issued_at: row.try_get("issued_at").map_err(query_error)?,
        expires_at: row.try_get("expires_at").map_err(query_error)?,
        idempotency_key: row.try_get("idempotency_key").map_err(query_error)?,
        request_hash: row.try_get("request_hash").map_err(query_error)?,
        revoked_at: row.try_get("revoked_at").map_err(query_error)?,
        revocation_reason: row.try_get("revocation_reason").map_err(query_error)?,
        holder_key: row.try_get("holder_key").map_err(query_error)?,
        country_code_uci_hash: row.try_get("country_code_uci_hash").map_err(query_error)?,
        signature_hash: row.try_get("signature_hash").map_err(query_error)?,
        operator_id: row.try_get("operator_id").map_err(query_error)?,
    })
}

const LEDGER_KEYS: &[UniqueKey] = &[
    UniqueKey {
        target: ConflictTarget::Uvci,
        postgres_constraint: "certificate_ledger_pkey",
        sqlite_column: "certificate_ledger.uvci",
    },
    UniqueKey {
        target: ConflictTarget::IdempotencyKey,
        postgres_constraint: "certificate_ledger_idempotency_key",
        sqlite_column: "certificate_ledger.idempotency_key",
    },
];

const RESPONSE_KEYS: &[UniqueKey] = &[UniqueKey {
    target: ConflictTarget::IssuedResponse,
    postgres_constraint: "issued_responses_pkey",
    sqlite_column: "issued_responses.uvci",
}];

const INSERT_PREFIX: &str = "INSERT INTO certificate_ledger (uvci, telematik_id, \
     certificate_type, product, dose_number, total_doses, event_date, kid, uci_hash, issued_at, \
     expires_at, idempotency_key, request_hash, revoked_at, revocation_reason, holder_key, \
     country_code_uci_hash, signature_hash, operator_id) VALUES ";

/// Columns per ledger row in [`INSERT_PREFIX`] (see [`bind_entry`]).
const INSERT_COLUMNS: usize = 19;

/// Most rows per multi-row insert (a power of two): 64 × 19 parameters stays far below either
/// backend's limit.
const INSERT_CHUNK: usize = 64;

const ISSUED_BY_PHARMACY: &str = "SELECT l.uvci, l.certificate_type, l.issued_at, \
     l.revoked_at, o.username FROM certificate_ledger l \
     LEFT JOIN operators o ON o.id = l.operator_id \
     WHERE l.telematik_id = $1 AND l.issued_at >= $2 AND l.issued_at < $3 \
     ORDER BY l.issued_at DESC, l.uvci LIMIT $4";

const FIND_BY_UVCI: &str = "SELECT uvci, telematik_id, certificate_type, product, dose_number, \
     total_doses, event_date, kid, uci_hash, issued_at, expires_at, idempotency_key, \
     request_hash, revoked_at, revocation_reason, holder_key, country_code_uci_hash, \
     signature_hash, operator_id FROM certificate_ledger WHERE uvci = $1";

const FIND_BY_IDEMPOTENCY_KEY: &str = "SELECT uvci, telematik_id, certificate_type, product, \
     dose_number, total_doses, event_date, kid, uci_hash, issued_at, expires_at, \
     idempotency_key, request_hash, revoked_at, revocation_reason, holder_key, \
     country_code_uci_hash, signature_hash, operator_id \
     FROM certificate_ledger WHERE telematik_id = $1 AND idempotency_key = $2";

const COUNT_BY_PHARMACY: &str = "SELECT COUNT(*) FROM certificate_ledger \
     WHERE telematik_id = $1 AND issued_at >= $2 AND issued_at < $3";

const RECENT_COUNTS_PREFIX: &str = "SELECT telematik_id, COUNT(*) AS long_count, \
     CAST(COALESCE(SUM(CASE WHEN issued_at > $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS short_count \
     FROM certificate_ledger WHERE issued_at > $1 AND telematik_id IN ";

const OPERATOR_COUNTS_PREFIX: &str = "SELECT operator_id, COUNT(*) AS long_count, \
     CAST(COALESCE(SUM(CASE WHEN issued_at > $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS short_count \
     FROM certificate_ledger WHERE issued_at > $1 AND operator_id IN ";

/// Telematik-IDs per `IN (…)` list of [`recent_counts`].
const COUNT_CHUNK: usize = 512;

const REVOKE: &str = "UPDATE certificate_ledger SET revoked_at = $2, revocation_reason = $3 \
     WHERE uvci = $1 AND revoked_at IS NULL";

const INSERT_RESPONSE_PREFIX: &str = "INSERT INTO issued_responses (uvci, hc1, keep_until) VALUES ";

const FIND_RESPONSE: &str = "SELECT hc1 FROM issued_responses WHERE uvci = $1 AND keep_until > $2";

const PURGE_RESPONSES: &str = "DELETE FROM issued_responses WHERE keep_until <= $1";
