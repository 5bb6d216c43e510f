//! The pharmacy registry: who may issue certificates, under which UVCI issuer segment.
//!
//! Telematik-IDs arrive here already validated by the caller; this module only stores them.

use std::collections::HashSet;

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

use crate::batch::{in_list, padded_len};
use crate::error::{ConflictTarget, StoreError, UniqueKey, insert_error, query_error};

/// A registered pharmacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pharmacy {
    /// Telematik-ID from the pharmacy's SMC-B certificate (primary key).
    pub telematik_id: String,
    /// Display name.
    pub name: String,
    /// Postal address, one line.
    pub address: String,
    /// Stable uppercase alphanumeric segment that this pharmacy's UVCIs carry.
    pub issuer_segment: String,
    /// Whether the pharmacy may issue.
    pub status: PharmacyStatus,
    /// Registration time, unix seconds.
    pub created_at: i64,
    /// Time of the last change, unix seconds.
    pub updated_at: i64,
}

/// A pharmacy to register. It starts [`PharmacyStatus::Active`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPharmacy<'a> {
    /// Telematik-ID (validated by the caller).
    pub telematik_id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Postal address, one line.
    pub address: &'a str,
    /// Uppercase alphanumeric UVCI issuer segment; unique across pharmacies.
    pub issuer_segment: &'a str,
    /// Registration time, unix seconds (also the first `updated_at`).
    pub now: i64,
}

/// Whether a pharmacy may issue certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PharmacyStatus {
    /// May issue.
    Active,
    /// Blocked from issuing; existing certificates stay valid.
    Suspended,
}

impl PharmacyStatus {
    /// The value stored in `pharmacies.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    fn from_column(text: &str) -> Result<Self, StoreError> {
        match text {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            _ => Err(StoreError::Corrupt {
                table: "pharmacies",
                column: "status",
            }),
        }
    }
}

/// Registers a pharmacy.
///
/// Fails with [`StoreError::Conflict`] naming [`ConflictTarget::PharmacyTelematikId`] or
/// [`ConflictTarget::PharmacyIssuerSegment`] when either is taken.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    pharmacy: &NewPharmacy<'_>,
) -> Result<Pharmacy, StoreError> {
    let row = sqlx::query(INSERT)
        .bind(pharmacy.telematik_id)
        .bind(pharmacy.name)
        .bind(pharmacy.address)
        .bind(pharmacy.issuer_segment)
        .bind(PharmacyStatus::Active.as_str())
        .bind(pharmacy.now)
        .fetch_one(&mut **tx)
        .await
        .map_err(|error| insert_error(error, UNIQUE_KEYS))?;
    from_row(&row)
}

/// Looks a pharmacy up by Telematik-ID. Pass `&mut *tx` or `store.pool()`.
pub async fn find<'e, E>(executor: E, telematik_id: &str) -> Result<Option<Pharmacy>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(FIND)
        .bind(telematik_id)
        .fetch_optional(executor)
        .await
        .map_err(query_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Sets the status (suspend or reactivate) and `updated_at`. Returns the updated pharmacy, or
/// `None` when no pharmacy has this Telematik-ID.
pub async fn set_status(
    tx: &mut Transaction<'_, Any>,
    telematik_id: &str,
    status: PharmacyStatus,
    now: i64,
) -> Result<Option<Pharmacy>, StoreError> {
    sqlx::query(SET_STATUS)
        .bind(telematik_id)
        .bind(status.as_str())
        .bind(now)
        .fetch_optional(&mut **tx)
        .await
        .map_err(query_error)?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Which of `telematik_ids` belong to active pharmacies, read inside the caller's transaction
/// (group commit checks the status once per batch, right before writing).
pub async fn active_among(
    tx: &mut Transaction<'_, Any>,
    telematik_ids: &[&str],
) -> Result<HashSet<String>, StoreError> {
    let mut active = HashSet::with_capacity(telematik_ids.len());
    for chunk in telematik_ids.chunks(ACTIVE_AMONG_CHUNK) {
        let slots = padded_len(chunk.len());
        let sql = in_list(ACTIVE_AMONG_PREFIX, 1, slots, "");
        let mut query = sqlx::query(sql);
        for telematik_id in chunk.iter().chain(chunk.last()).cycle().take(slots) {
            query = query.bind(*telematik_id);
        }
        for row in query.fetch_all(&mut **tx).await.map_err(query_error)? {
            active.insert(row.try_get("telematik_id").map_err(query_error)?);
        }
    }
    Ok(active)
}

/// All pharmacies, ordered by Telematik-ID. Pass `&mut *tx` or `store.pool()`.
pub async fn list<'e, E>(executor: E) -> Result<Vec<Pharmacy>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(LIST)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(from_row)
        .collect()
}

fn from_row(row: &AnyRow) -> Result<Pharmacy, StoreError> {
    let status: String = row.try_get("status").map_err(query_error)?;
    Ok(Pharmacy {
        telematik_id: row.try_get("telematik_id").map_err(query_error)?,
        name: row.try_get("name").map_err(query_error)?,
        address: row.try_get("address").map_err(query_error)?,
        issuer_segment: row.try_get("issuer_segment").map_err(query_error)?,
        status: PharmacyStatus::from_column(&status)?,
        created_at: row.try_get("created_at").map_err(query_error)?,
        updated_at: row.try_get("updated_at").map_err(query_error)?,
    })
}

const UNIQUE_KEYS: &[UniqueKey] = &[
    UniqueKey {
        target: ConflictTarget::PharmacyTelematikId,
        postgres_constraint: "pharmacies_pkey",
        sqlite_column: "pharmacies.telematik_id",
    },
    UniqueKey {
        target: ConflictTarget::PharmacyIssuerSegment,
        postgres_constraint: "pharmacies_issuer_segment_key",
        sqlite_column: "pharmacies.issuer_segment",
    },
];

const INSERT: &str = "INSERT INTO pharmacies \
     (telematik_id, name, address, issuer_segment, status, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) \
     RETURNING telematik_id, name, address, issuer_segment, status, created_at, updated_at";

const FIND: &str = "SELECT telematik_id, name, address, issuer_segment, status, created_at, \
     updated_at FROM pharmacies WHERE telematik_id = $1";

const SET_STATUS: &str = "UPDATE pharmacies SET status = $2, updated_at = $3 \
     WHERE telematik_id = $1 \
     RETURNING telematik_id, name, address, issuer_segment, status, created_at, updated_at";

const ACTIVE_AMONG_PREFIX: &str =
    "SELECT telematik_id FROM pharmacies WHERE status = 'active' AND telematik_id IN ";

/// Telematik-IDs per `IN (…)` list.
const ACTIVE_AMONG_CHUNK: usize = 512;

const LIST: &str = "SELECT telematik_id, name, address, issuer_segment, status, created_at, \
     updated_at FROM pharmacies ORDER BY telematik_id";
