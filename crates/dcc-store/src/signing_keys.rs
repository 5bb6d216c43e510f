//! The DSC/key registry: every document signer certificate the certificate server knows, per
//! certificate type, at most one of them active for signing (a partial unique index enforces
//! this on both backends, also with several instances rotating at once).
//!
//! Rows hold the DSC and a reference to where its private key lives (`key_ref`: JSON naming a
//! file or a PKCS#11 token and key), never key material or a PIN. Servers re-read the table
//! every few seconds, so a rotation written by `dcc keys rotate` reaches every instance that
//! shares the database without a restart.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

use crate::error::{StoreError, query_error};
use crate::ledger::CertificateType;

/// One registered DSC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The DSC's kid, base64 (as in the ledger).
    pub kid: String,
    /// The type the DSC signs.
    pub certificate_type: CertificateType,
    /// The DSC, DER.
    pub certificate_der: Vec<u8>,
    /// Where the private key lives (JSON; no key material, no PIN).
    pub key_ref: String,
    /// Active (signing) or retired (published while its certificates are valid).
    pub status: SigningKeyStatus,
    /// When the DSC was registered (and published), unix seconds.
    pub created_at: i64,
    /// When it became active, unix seconds.
    pub activated_at: i64,
    /// When it stopped signing, unix seconds.
    pub retired_at: Option<i64>,
}

/// A DSC to register as the active one of its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSigningKey<'a> {
    /// The DSC's kid, base64.
    pub kid: &'a str,
    /// The type the DSC signs.
    pub certificate_type: CertificateType,
    /// The DSC, DER.
    pub certificate_der: &'a [u8],
    /// Where the private key lives (JSON; no key material, no PIN).
    pub key_ref: &'a str,
    /// Registration and activation time, unix seconds.
    pub now: i64,
}

/// Whether a registered DSC signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKeyStatus {
    /// The one DSC of its type that signs new certificates.
    Active,
    /// No longer signs; stays published while certificates it signed are valid.
    Retired,
}

impl SigningKeyStatus {
    /// The value stored in `signing_keys.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    fn from_column(text: &str) -> Result<Self, StoreError> {
        match text {
            "active" => Ok(Self::Active),
            "retired" => Ok(Self::Retired),
            _ => Err(corrupt("status")),
        }
    }
}

/// Registers `key` as the active DSC of its type and retires the one active before, in the
/// caller's transaction. Returns the kid of the retired DSC, if there was one.
///
/// A second rotation of the same type racing this one fails on the unique index (a
/// [`StoreError::Query`]) and changes nothing; the caller may retry.
pub async fn activate(
    tx: &mut Transaction<'_, Any>,
    key: &NewSigningKey<'_>,
) -> Result<Option<String>, StoreError> {
    let retired = sqlx::query(RETIRE_ACTIVE)
        .bind(key.now)
        .bind(key.certificate_type.as_str())
        .fetch_optional(&mut **tx)
        .await
        .map_err(query_error)?
        .map(|row| row.try_get::<String, _>("kid").map_err(query_error))
        .transpose()?;
    insert(tx, key).await?;
    Ok(retired)
}

/// Registers `key` as active only when its type has no active DSC yet and the kid is not
/// registered (the bootstrap of a configured file key). Returns whether it was registered.
pub async fn register_if_first(
    tx: &mut Transaction<'_, Any>,
    key: &NewSigningKey<'_>,
) -> Result<bool, StoreError> {
    let known = sqlx::query(COUNT_KID_OR_ACTIVE)
        .bind(key.kid)
        .bind(key.certificate_type.as_str())
        .fetch_one(&mut **tx)
        .await
        .map_err(query_error)?
        .try_get::<i64, _>("n")
        .map_err(query_error)?;
    if known > 0 {
        return Ok(false);
    }
    insert(tx, key).await?;
    Ok(true)
}

/// Retires every active DSC at `now` (a replaced development PKI); they stay published while
/// their certificates are valid. Returns how many were retired.
pub async fn retire_all(tx: &mut Transaction<'_, Any>, now: i64) -> Result<u64, StoreError> {
    sqlx::query(RETIRE_ALL)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map(|done| done.rows_affected())
        .map_err(query_error)
}

/// Every registered DSC, oldest first. Pass `&mut *tx` or `store.pool()`.
pub async fn list<'e, E>(executor: E) -> Result<Vec<SigningKey>, StoreError>
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

/// The latest `expires_at` of the certificates signed by `kid`, or `None` when it signed none.
pub async fn latest_expiry<'e, E>(executor: E, kid: &str) -> Result<Option<i64>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(LATEST_EXPIRY)
        .bind(kid)
        .fetch_one(executor)
        .await
        .map_err(query_error)?
        .try_get::<Option<i64>, _>("latest")
        .map_err(query_error)
}

async fn insert(tx: &mut Transaction<'_, Any>, key: &NewSigningKey<'_>) -> Result<(), StoreError> {
    sqlx::query(INSERT)
        .bind(key.kid)
        .bind(key.certificate_type.as_str())
        .bind(hex::encode(key.certificate_der))
        .bind(key.key_ref)
        .bind(SigningKeyStatus::Active.as_str())
        .bind(key.now)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(())
}

fn from_row(row: &AnyRow) -> Result<SigningKey, StoreError> {
    let text = |column: &'static str| row.try_get::<String, _>(column).map_err(query_error);
    let certificate_der = hex::decode(text("certificate")?).map_err(|_| corrupt("certificate"))?;
    let certificate_type = match text("certificate_type")?.as_str() {
        "v" => CertificateType::Vaccination,
        "t" => CertificateType::Test,
        "r" => CertificateType::Recovery,
        _ => return Err(corrupt("certificate_type")),
    };
    Ok(SigningKey {
        kid: text("kid")?,
        certificate_type,
        certificate_der,
        key_ref: text("key_ref")?,
        status: SigningKeyStatus::from_column(&text("status")?)?,
        created_at: row.try_get("created_at").map_err(query_error)?,
        activated_at: row.try_get("activated_at").map_err(query_error)?,
        retired_at: row.try_get("retired_at").map_err(query_error)?,
    })
}

fn corrupt(column: &'static str) -> StoreError {
    StoreError::Corrupt {
        table: "signing_keys",
        column,
    }
}

const INSERT: &str = "INSERT INTO signing_keys \
    (kid, certificate_type, certificate, key_ref, status, created_at, activated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $6)";

const RETIRE_ACTIVE: &str = "UPDATE signing_keys SET status = 'retired', retired_at = $1 \
    WHERE certificate_type = $2 AND status = 'active' RETURNING kid";

const RETIRE_ALL: &str =
    "UPDATE signing_keys SET status = 'retired', retired_at = $1 WHERE status = 'active'";

const COUNT_KID_OR_ACTIVE: &str = "SELECT COUNT(*) AS n FROM signing_keys \
    WHERE kid = $1 OR (certificate_type = $2 AND status = 'active')";

const LIST: &str = "SELECT kid, certificate_type, certificate, key_ref, status, created_at, \
    activated_at, retired_at FROM signing_keys ORDER BY created_at, kid";

const LATEST_EXPIRY: &str =
    "SELECT MAX(expires_at) AS latest FROM certificate_ledger WHERE kid = $1";
