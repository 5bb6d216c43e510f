//! Revoking certificates in the ledger and reading what the revocation list publishes.
//!
//! Revocation marks ledger rows (`revoked_at`, `revocation_reason`); it never touches a row
//! outside the selection and never un-revokes. The published list is computed from the rows
//! still unexpired, so it needs no table of its own.

use sqlx::{Any, Executor, Row, Transaction};

use crate::batch::{in_list, padded_len};
use crate::error::{StoreError, query_error};

/// A revoked, unexpired certificate as the revocation list publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedRevocation {
    /// The signing DSC's kid, base64.
    pub kid: String,
    /// `UCI` hash, base64.
    pub uci_hash: String,
    /// `COUNTRYCODEUCI` hash, base64 (absent on rows older than migration 5).
    pub country_code_uci_hash: Option<String>,
    /// `SIGNATURE` hash, base64 (absent on rows older than migration 5).
    pub signature_hash: Option<String>,
    /// The certificate's expiry, unix seconds.
    pub expires_at: i64,
}

/// Revokes the pharmacy's certificates issued from `from` to `until` (unix seconds, both
/// included) that are not revoked yet; returns their UVCIs, sorted.
pub async fn revoke_window(
    tx: &mut Transaction<'_, Any>,
    telematik_id: &str,
    from: i64,
    until: i64,
    reason: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(REVOKE_WINDOW)
        .bind(telematik_id)
        .bind(from)
        .bind(until)
        .bind(now)
        .bind(reason)
        .fetch_all(&mut **tx)
        .await
        .map_err(query_error)?;
    sorted_uvcis(&rows)
}

/// Revokes the certificates one operator issued from `from` to `until` (unix seconds, both
/// included) that are not revoked yet; returns their UVCIs, sorted.
pub async fn revoke_operator_window(
    tx: &mut Transaction<'_, Any>,
    operator_id: i64,
    from: i64,
    until: i64,
    reason: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(REVOKE_OPERATOR_WINDOW)
        .bind(operator_id)
        .bind(from)
        .bind(until)
        .bind(now)
        .bind(reason)
        .fetch_all(&mut **tx)
        .await
        .map_err(query_error)?;
    sorted_uvcis(&rows)
}

/// Revokes the listed certificates that exist and are not revoked yet; returns their UVCIs,
/// sorted. UVCIs not in the ledger are ignored here (see [`existing`]).
pub async fn revoke_uvcis(
    tx: &mut Transaction<'_, Any>,
    uvcis: &[&str],
    reason: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let mut revoked = Vec::new();
    for chunk in uvcis.chunks(IN_CHUNK) {
        let slots = padded_len(chunk.len());
        let sql = in_list(
            REVOKE_LIST_PREFIX,
            3,
            slots,
            " AND revoked_at IS NULL RETURNING uvci",
        );
        let mut query = sqlx::query(sql).bind(now).bind(reason);
        for uvci in chunk.iter().chain(chunk.last()).cycle().take(slots) {
            query = query.bind(*uvci);
        }
        let rows = query.fetch_all(&mut **tx).await.map_err(query_error)?;
        revoked.extend(sorted_uvcis(&rows)?);
    }
    revoked.sort_unstable();
    Ok(revoked)
}

/// Which of these UVCIs are in the ledger.
pub async fn existing(
    tx: &mut Transaction<'_, Any>,
    uvcis: &[&str],
) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for chunk in uvcis.chunks(IN_CHUNK) {
        let slots = padded_len(chunk.len());
        let sql = in_list(EXISTING_PREFIX, 1, slots, "");
        let mut query = sqlx::query(sql);
        for uvci in chunk.iter().chain(chunk.last()).cycle().take(slots) {
            query = query.bind(*uvci);
        }
        let rows = query.fetch_all(&mut **tx).await.map_err(query_error)?;
        found.extend(sorted_uvcis(&rows)?);
    }
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// Every revoked certificate that has not expired at `now`, ordered by kid and UCI hash.
pub async fn published<'e, E>(executor: E, now: i64) -> Result<Vec<PublishedRevocation>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let rows = sqlx::query(PUBLISHED)
        .bind(now)
        .fetch_all(executor)
        .await
        .map_err(query_error)?;
    rows.iter()
        .map(|row| {
            Ok(PublishedRevocation {
                kid: row.try_get("kid").map_err(query_error)?,
                uci_hash: row.try_get("uci_hash").map_err(query_error)?,
                country_code_uci_hash: row.try_get("country_code_uci_hash").map_err(query_error)?,
                signature_hash: row.try_get("signature_hash").map_err(query_error)?,
                expires_at: row.try_get("expires_at").map_err(query_error)?,
            })
        })
        .collect()
}

/// The latest revocation time, unix seconds (`Last-Modified` of the published list).
pub async fn last_revoked_at<'e, E>(executor: E) -> Result<Option<i64>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(LAST_REVOKED_AT)
        .fetch_one(executor)
        .await
        .map_err(query_error)?
        .try_get::<Option<i64>, _>(0)
        .map_err(query_error)
}

fn sorted_uvcis(rows: &[sqlx::any::AnyRow]) -> Result<Vec<String>, StoreError> {
    let mut uvcis = rows
        .iter()
        .map(|row| row.try_get("uvci").map_err(query_error))
        .collect::<Result<Vec<String>, _>>()?;
    uvcis.sort_unstable();
    Ok(uvcis)
}

/// UVCIs per `IN (…)` list.
const IN_CHUNK: usize = 512;

const REVOKE_WINDOW: &str = "UPDATE certificate_ledger SET revoked_at = $4, \
     revocation_reason = $5 WHERE telematik_id = $1 AND issued_at >= $2 AND issued_at <= $3 \
     AND revoked_at IS NULL RETURNING uvci";

const REVOKE_OPERATOR_WINDOW: &str = "UPDATE certificate_ledger SET revoked_at = $4, \
     revocation_reason = $5 WHERE operator_id = $1 AND issued_at >= $2 AND issued_at <= $3 \
     AND revoked_at IS NULL RETURNING uvci";

const REVOKE_LIST_PREFIX: &str = "UPDATE certificate_ledger SET revoked_at = $1, \
     revocation_reason = $2 WHERE uvci IN ";

const EXISTING_PREFIX: &str = "SELECT uvci FROM certificate_ledger WHERE uvci IN ";

const PUBLISHED: &str = "SELECT kid, uci_hash, country_code_uci_hash, signature_hash, expires_at \
     FROM certificate_ledger WHERE revoked_at IS NOT NULL AND expires_at > $1 \
     ORDER BY kid, uci_hash";

const LAST_REVOKED_AT: &str =
    "SELECT CAST(MAX(revoked_at) AS BIGINT) FROM certificate_ledger WHERE revoked_at IS NOT NULL";
