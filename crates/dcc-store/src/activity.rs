//! What anomaly detection reads from the ledger: recent counts per pharmacy, certificates in
//! closed hours, the same hour on trailing days, and a holder's certificates grouped.
//!
//! Every read is an aggregate over the `(telematik_id, issued_at)` or `holder_key` index, so
//! its cost follows the rows in its window, not the size of the ledger, and a holder with
//! thousands of identical certificates comes back as one group. Windows are
//! `since < issued_at <= until` unless said otherwise.

use std::collections::HashMap;

use sqlx::{Any, Executor, Row};

use crate::batch::{in_list, padded_len};
use crate::error::{StoreError, query_error};

/// Recent certificates of one pharmacy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowCounts {
    /// In the first window of [`window_counts`] (the last hour).
    pub first: u64,
    /// In the second window (the burst window).
    pub second: u64,
}

/// Per pharmacy, the certificates in `first_since < issued_at <= until` and in
/// `second_since < issued_at <= until`; pharmacies without any are absent.
pub async fn window_counts<'e, E>(
    executor: E,
    telematik_ids: &[&str],
    first_since: i64,
    second_since: i64,
    until: i64,
) -> Result<HashMap<String, WindowCounts>, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let mut counts = HashMap::with_capacity(telematik_ids.len());
    for chunk in telematik_ids.chunks(IN_CHUNK) {
        let slots = padded_len(chunk.len());
        let sql = in_list(WINDOW_COUNTS_PREFIX, 5, slots, " GROUP BY telematik_id");
        let mut query = sqlx::query(sql)
            .bind(first_since)
            .bind(second_since)
            .bind(first_since.min(second_since))
            .bind(until);
        for telematik_id in chunk.iter().chain(chunk.last()).cycle().take(slots) {
            query = query.bind(*telematik_id);
        }
        for row in query.fetch_all(executor).await.map_err(query_error)? {
            let counted = WindowCounts {
                first: count(row.try_get("first_count").map_err(query_error)?)?,
                second: count(row.try_get("second_count").map_err(query_error)?)?,
            };
            counts.insert(row.try_get("telematik_id").map_err(query_error)?, counted);
        }
    }
    Ok(counts)
}

/// Certificates of one pharmacy within some spans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpanCount {
    /// How many.
    pub certificates: u64,
    /// The earliest one's issuing time.
    pub first_at: Option<i64>,
    /// The latest one's issuing time.
    pub last_at: Option<i64>,
}

/// Per pharmacy, the certificates with `start <= issued_at < end` for any of the half-open
/// `spans` (the closed hours of a window; pharmacies with the same hours share one query).
/// Pharmacies without any are absent.
pub async fn in_spans<'e, E>(
    executor: E,
    telematik_ids: &[&str],
    spans: &[(i64, i64)],
) -> Result<HashMap<String, SpanCount>, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let mut totals: HashMap<String, SpanCount> = HashMap::new();
    for span_chunk in spans.chunks(SPANS_PER_QUERY) {
        for id_chunk in telematik_ids.chunks(IN_CHUNK) {
            let slots = padded_len(id_chunk.len());
            let sql = in_list(
                IN_SPANS_PREFIX,
                2 * SPANS_PER_QUERY + 1,
                slots,
                " GROUP BY telematik_id",
            );
            let mut query = sqlx::query(sql);
            // Unused span slots get an empty span.
            for index in 0..SPANS_PER_QUERY {
                let (start, end) = span_chunk.get(index).copied().unwrap_or((0, 0));
                query = query.bind(start).bind(end);
            }
            for telematik_id in id_chunk.iter().chain(id_chunk.last()).cycle().take(slots) {
                query = query.bind(*telematik_id);
            }
            for row in query.fetch_all(executor).await.map_err(query_error)? {
                let telematik_id: String = row.try_get("telematik_id").map_err(query_error)?;
                let first: Option<i64> = row.try_get("first_at").map_err(query_error)?;
                let last: Option<i64> = row.try_get("last_at").map_err(query_error)?;
                let total = totals.entry(telematik_id).or_default();
                total.certificates += count(row.try_get("span_count").map_err(query_error)?)?;
                total.first_at = match (total.first_at, first) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                total.last_at = match (total.last_at, last) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    Ok(totals)
}

/// Per operator (`None` for certificates without one), the pharmacy's certificates with
/// `start <= issued_at < end` for any of the half-open `spans`; operators without any are
/// absent. Read only once a pharmacy-wide anomaly rule fired, to name who is behind it.
///
/// Only the latest `latest` certificates of each query (of up to eight spans) are
/// counted ([`ATTRIBUTION_LATEST`] in service): reading the operator costs a table read per
/// certificate, and a refresh of a busy pharmacy's pattern would otherwise read every
/// certificate of its window again; who issued the latest ones is what attribution is for.
pub async fn operators_in_spans<'e, E>(
    executor: E,
    telematik_id: &str,
    spans: &[(i64, i64)],
    latest: i64,
) -> Result<Vec<(Option<i64>, u64)>, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let mut totals: HashMap<Option<i64>, u64> = HashMap::new();
    for span_chunk in spans.chunks(SPANS_PER_QUERY) {
        let mut query = sqlx::query(OPERATORS_IN_SPANS);
        for index in 0..SPANS_PER_QUERY {
            let (start, end) = span_chunk.get(index).copied().unwrap_or((0, 0));
            query = query.bind(start).bind(end);
        }
        for row in query
            .bind(telematik_id)
            .bind(latest)
            .fetch_all(executor)
            .await
            .map_err(query_error)?
        {
            let operator: Option<i64> = row.try_get("operator_id").map_err(query_error)?;
            *totals.entry(operator).or_default() +=
                count(row.try_get("span_count").map_err(query_error)?)?;
        }
    }
    let mut counted: Vec<(Option<i64>, u64)> = totals.into_iter().collect();
    counted.sort_unstable();
    Ok(counted)
}

/// The pharmacy's certificates in the same hour on each of the `days` trailing days: entry
/// `d - 1` counts `at − d·86400 − 3600 < issued_at <= at − d·86400`.
pub async fn same_hour_counts<'e, E>(
    executor: E,
    telematik_id: &str,
    at: i64,
    days: u32,
) -> Result<Vec<u64>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let days_back = i64::from(days);
    let rows = sqlx::query(SAME_HOUR)
        .bind(at)
        .bind(telematik_id)
        .bind(at - days_back * DAY - HOUR)
        .bind(at - DAY)
        .fetch_all(executor)
        .await
        .map_err(query_error)?;
    let mut counts = vec![0; usize::try_from(days).unwrap_or(0)];
    for row in &rows {
        let day: i64 = row.try_get("day_back").map_err(query_error)?;
        let counted = count(row.try_get("hour_count").map_err(query_error)?)?;
        if let Some(slot) = usize::try_from(day - 1)
            .ok()
            .and_then(|index| counts.get_mut(index))
        {
            *slot = counted;
        }
    }
    Ok(counts)
}

/// A holder's vaccination or recovery certificates that agree in pharmacy, type, dose and event
/// date (tests are not read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderGroupRow {
    /// The holder key.
    pub holder_key: String,
    /// The pharmacy.
    pub telematik_id: String,
    /// `v` or `r`.
    pub certificate_type: String,
    /// `dn` of a vaccination.
    pub dose_number: Option<i64>,
    /// The event date as stored.
    pub event_date: String,
    /// The smallest UVCI of the group.
    pub uvci: String,
    /// The latest issuing time.
    pub last_at: i64,
    /// Certificates in the lookback.
    pub certificates: u64,
    /// Of those, issued after `first_since`.
    pub after_first: u64,
    /// Of those, issued after `second_since`.
    pub after_second: u64,
}

/// The holders' certificates in `since < issued_at <= until`, grouped, with the counts after
/// `first_since` and `second_since`.
pub async fn holder_groups<'e, E>(
    executor: E,
    holder_keys: &[&str],
    since: i64,
    first_since: i64,
    second_since: i64,
    until: i64,
) -> Result<Vec<HolderGroupRow>, StoreError>
where
    E: Executor<'e, Database = Any> + Copy,
{
    let mut groups = Vec::new();
    for chunk in holder_keys.chunks(IN_CHUNK) {
        let slots = padded_len(chunk.len());
        let sql = in_list(HOLDER_GROUPS_PREFIX, 5, slots, HOLDER_GROUPS_SUFFIX);
        let mut query = sqlx::query(sql)
            .bind(since)
            .bind(first_since)
            .bind(second_since)
            .bind(until);
        for key in chunk.iter().chain(chunk.last()).cycle().take(slots) {
            query = query.bind(*key);
        }
        for row in query.fetch_all(executor).await.map_err(query_error)? {
            groups.push(HolderGroupRow {
                holder_key: row.try_get("holder_key").map_err(query_error)?,
                telematik_id: row.try_get("telematik_id").map_err(query_error)?,
                certificate_type: row.try_get("certificate_type").map_err(query_error)?,
                dose_number: row.try_get("dose_number").map_err(query_error)?,
                event_date: row.try_get("event_date").map_err(query_error)?,
                uvci: row.try_get("uvci").map_err(query_error)?,
                last_at: row.try_get("last_at").map_err(query_error)?,
                certificates: count(row.try_get("group_count").map_err(query_error)?)?,
                after_first: count(row.try_get("first_count").map_err(query_error)?)?,
                after_second: count(row.try_get("second_count").map_err(query_error)?)?,
            });
        }
    }
    Ok(groups)
}

fn count(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        table: "certificate_ledger",
        column: "count(*)",
    })
}

const DAY: i64 = 86_400;
const HOUR: i64 = 3600;

/// Values per `IN (…)` list.
const IN_CHUNK: usize = 512;

/// Spans per [`IN_SPANS_PREFIX`] statement (a day of closed hours has at most three).
const SPANS_PER_QUERY: usize = 8;

const WINDOW_COUNTS_PREFIX: &str = "SELECT telematik_id, \
     CAST(COALESCE(SUM(CASE WHEN issued_at > $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS first_count, \
     CAST(COALESCE(SUM(CASE WHEN issued_at > $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS second_count \
     FROM certificate_ledger WHERE issued_at > $3 AND issued_at <= $4 AND telematik_id IN ";

const IN_SPANS_PREFIX: &str = "SELECT telematik_id, COUNT(*) AS span_count, \
     MIN(issued_at) AS first_at, MAX(issued_at) AS last_at FROM certificate_ledger WHERE (\
     (issued_at >= $1 AND issued_at < $2) OR (issued_at >= $3 AND issued_at < $4) OR \
     (issued_at >= $5 AND issued_at < $6) OR (issued_at >= $7 AND issued_at < $8) OR \
     (issued_at >= $9 AND issued_at < $10) OR (issued_at >= $11 AND issued_at < $12) OR \
     (issued_at >= $13 AND issued_at < $14) OR (issued_at >= $15 AND issued_at < $16)) \
     AND telematik_id IN ";

/// How many of the latest certificates attribution reads per query of [`operators_in_spans`].
pub const ATTRIBUTION_LATEST: i64 = 1_000;

const OPERATORS_IN_SPANS: &str = "SELECT operator_id, COUNT(*) AS span_count \
     FROM (SELECT operator_id FROM certificate_ledger WHERE (\
     (issued_at >= $1 AND issued_at < $2) OR (issued_at >= $3 AND issued_at < $4) OR \
     (issued_at >= $5 AND issued_at < $6) OR (issued_at >= $7 AND issued_at < $8) OR \
     (issued_at >= $9 AND issued_at < $10) OR (issued_at >= $11 AND issued_at < $12) OR \
     (issued_at >= $13 AND issued_at < $14) OR (issued_at >= $15 AND issued_at < $16)) \
     AND telematik_id = $17 ORDER BY issued_at DESC LIMIT $18) AS latest GROUP BY operator_id";

const SAME_HOUR: &str = "SELECT CAST(($1 - issued_at) / 86400 AS BIGINT) AS day_back, \
     COUNT(*) AS hour_count FROM certificate_ledger \
     WHERE telematik_id = $2 AND issued_at > $3 AND issued_at <= $4 \
     AND ($1 - issued_at) % 86400 < 3600 GROUP BY 1";

const HOLDER_GROUPS_PREFIX: &str = "SELECT holder_key, telematik_id, certificate_type, \
     dose_number, event_date, MIN(uvci) AS uvci, MAX(issued_at) AS last_at, \
     COUNT(*) AS group_count, \
     CAST(COALESCE(SUM(CASE WHEN issued_at > $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS first_count, \
     CAST(COALESCE(SUM(CASE WHEN issued_at > $3 THEN 1 ELSE 0 END), 0) AS BIGINT) AS second_count \
     FROM certificate_ledger WHERE certificate_type <> 't' AND issued_at > $1 \
     AND issued_at <= $4 AND holder_key IN ";

const HOLDER_GROUPS_SUFFIX: &str =
    " GROUP BY holder_key, telematik_id, certificate_type, dose_number, event_date";
