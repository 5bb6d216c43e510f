//! Throttled pharmacies: lowered rate limits until a given time, set by anomaly detection and
//! read by the group-commit writer in the transaction that would record a certificate, next to
//! the locks, so that a throttle set through one instance holds on all of them.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::batch::{in_list, padded_len};
use crate::error::{StoreError, query_error};

/// A pharmacy's lowered limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    /// The pharmacy.
    pub telematik_id: String,
    /// Certificates per burst window while throttled.
    pub pharmacy_burst: u64,
    /// Certificates per rolling day while throttled.
    pub pharmacy_per_day: u64,
    /// Until when, unix seconds (exclusive).
    pub until: i64,
    /// The alert that set it.
    pub alert_id: i64,
    /// When it was set, unix seconds.
    pub created_at: i64,
}

/// Sets a pharmacy's throttle, replacing an earlier one.
pub async fn set(tx: &mut Transaction<'_, Any>, throttle: &Throttle) -> Result<(), StoreError> {
    let limit = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    sqlx::query(UPSERT)
        .bind(throttle.telematik_id.as_str())
        .bind(limit(throttle.pharmacy_burst))
        .bind(limit(throttle.pharmacy_per_day))
        .bind(throttle.until)
        .bind(throttle.alert_id)
        .bind(throttle.created_at)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(())
}

/// The throttles of these pharmacies in force at `at`, by Telematik-ID.
pub async fn in_force(
    tx: &mut Transaction<'_, Any>,
    telematik_ids: &[&str],
    at: i64,
) -> Result<HashMap<String, Throttle>, StoreError> {
    let mut throttles = HashMap::new();
    for chunk in telematik_ids.chunks(IN_CHUNK) {
        let slots = padded_len(chunk.len());
        let sql = in_list(IN_FORCE_PREFIX, 2, slots, "");
        let mut query = sqlx::query(sql).bind(at);
        for telematik_id in chunk.iter().chain(chunk.last()).cycle().take(slots) {
            query = query.bind(*telematik_id);
        }
        for row in query.fetch_all(&mut **tx).await.map_err(query_error)? {
            let throttle = from_row(&row)?;
            throttles.insert(throttle.telematik_id.clone(), throttle);
        }
    }
    Ok(throttles)
}

fn from_row(row: &AnyRow) -> Result<Throttle, StoreError> {
    let limit = |column: &'static str| -> Result<u64, StoreError> {
        let value: i64 = row.try_get(column).map_err(query_error)?;
        u64::try_from(value).map_err(|_| StoreError::Corrupt {
            table: "pharmacy_throttles",
            column,
        })
    };
    Ok(Throttle {
        telematik_id: row.try_get("telematik_id").map_err(query_error)?,
        pharmacy_burst: limit("pharmacy_burst")?,
        pharmacy_per_day: limit("pharmacy_per_day")?,
        until: row.try_get("throttled_until").map_err(query_error)?,
        alert_id: row.try_get("alert_id").map_err(query_error)?,
        created_at: row.try_get("created_at").map_err(query_error)?,
    })
}

/// Telematik-IDs per `IN (…)` list.
const IN_CHUNK: usize = 512;

const UPSERT: &str = "INSERT INTO pharmacy_throttles (telematik_id, pharmacy_burst, \
     pharmacy_per_day, throttled_until, alert_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (telematik_id) DO UPDATE SET pharmacy_burst = excluded.pharmacy_burst, \
     pharmacy_per_day = excluded.pharmacy_per_day, throttled_until = excluded.throttled_until, \
     alert_id = excluded.alert_id, created_at = excluded.created_at";

const IN_FORCE_PREFIX: &str = "SELECT telematik_id, pharmacy_burst, pharmacy_per_day, \
     throttled_until, alert_id, created_at FROM pharmacy_throttles \
     WHERE throttled_until > $1 AND telematik_id IN ";
