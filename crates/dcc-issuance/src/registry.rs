//! The pharmacy registry's use cases: register, suspend, reactivate and list pharmacies.
//!
//! Each change runs in one transaction together with its [`AuditEvent`], so a registry change
//! and its audit entry commit or vanish together (style.md rule 20), naming who made it
//! (an administrator's operator id, or `cli` for the command line). Times are unix seconds
//! passed in by the caller.
//!
//! The Telematik-ID is checked only lightly here (non-empty, at most 128 characters, no
//! whitespace): its full grammar lives in `dcc-pki`, which this crate does not depend on, so
//! callers with a certificate or a command line validate it there first.

use aws_lc_rs::digest;
use dcc_store::audit::AuditEntry;
use dcc_store::pharmacies::{self, NewPharmacy, Pharmacy, PharmacyStatus};
use dcc_store::{ConflictTarget, Store, StoreError};

use crate::audit::{self, AuditEvent};
use crate::operators::Actor;

/// Why a registry use case failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No pharmacy with this Telematik-ID is registered.
    #[error("no pharmacy with Telematik-ID {telematik_id} is registered")]
    NotFound {
        /// The Telematik-ID looked for.
        telematik_id: String,
    },
    /// A pharmacy with this Telematik-ID is registered already.
    #[error("a pharmacy with Telematik-ID {telematik_id} is already registered")]
    AlreadyRegistered {
        /// The Telematik-ID.
        telematik_id: String,
    },
    /// Another pharmacy already uses this UVCI issuer segment.
    #[error("the issuer segment {issuer_segment} is already used by another pharmacy")]
    SegmentTaken {
        /// The segment.
        issuer_segment: String,
    },
    /// The issuer segment is not 1 to 16 characters from `A–Z` and `0–9`.
    #[error(
        "the issuer segment {issuer_segment:?} is not 1 to {MAX_SEGMENT_LEN} characters \
         from A-Z and 0-9"
    )]
    InvalidSegment {
        /// The segment as given.
        issuer_segment: String,
    },
    /// The Telematik-ID is empty, longer than 128 characters or contains whitespace.
    #[error(
        "{telematik_id:?} is not a Telematik-ID (1 to {MAX_TELEMATIK_ID_LEN} characters, \
         no whitespace)"
    )]
    InvalidTelematikId {
        /// The text as given.
        telematik_id: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RegistryError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "pharmacy_not_registered",
            Self::AlreadyRegistered { .. } => "pharmacy_already_registered",
            Self::SegmentTaken { .. } => "issuer_segment_taken",
            Self::InvalidSegment { .. } => "invalid_issuer_segment",
            Self::InvalidTelematikId { .. } => "invalid_telematik_id",
            Self::Store(_) => "store_unavailable",
        }
    }
}

/// Registers an active pharmacy and records [`AuditEvent::PharmacyRegistered`] in the same
/// transaction.
///
/// Without `issuer_segment`, the stable segment [`derive_issuer_segment`] computes from the
/// Telematik-ID is used; a given segment must be 1 to 16 characters from `A–Z` and `0–9`.
pub async fn register(
    store: &Store,
    actor: &Actor,
    telematik_id: &str,
    name: &str,
    address: &str,
    issuer_segment: Option<&str>,
    now: i64,
) -> Result<Pharmacy, RegistryError> {
    let (pharmacy, _) = register_recorded(
        store,
        actor,
        telematik_id,
        name,
        address,
        issuer_segment,
        now,
    )
    .await?;
    Ok(pharmacy)
}

/// Suspends a pharmacy (it may no longer issue; existing certificates stay valid) and records
/// [`AuditEvent::PharmacyStatusChanged`] in the same transaction. Suspending a suspended
/// pharmacy changes nothing and records nothing.
pub async fn suspend(
    store: &Store,
    actor: &Actor,
    telematik_id: &str,
    now: i64,
) -> Result<Pharmacy, RegistryError> {
    let (pharmacy, _) =
        change_status(store, actor, telematik_id, PharmacyStatus::Suspended, now).await?;
    Ok(pharmacy)
}

/// Reactivates a suspended pharmacy and records [`AuditEvent::PharmacyStatusChanged`] in the
/// same transaction. Reactivating an active pharmacy changes nothing and records nothing.
pub async fn reactivate(
    store: &Store,
    actor: &Actor,
    telematik_id: &str,
    now: i64,
) -> Result<Pharmacy, RegistryError> {
    let (pharmacy, _) =
        change_status(store, actor, telematik_id, PharmacyStatus::Active, now).await?;
    Ok(pharmacy)
}

/// All registered pharmacies, ordered by Telematik-ID.
pub async fn list(store: &Store) -> Result<Vec<Pharmacy>, RegistryError> {
    Ok(pharmacies::list(store.pool()).await?)
}

/// The issuer segment a pharmacy gets when none is given: `A` followed by seven base-36 digits
/// (`0–9`, `A–Z`) of the SHA-256 digest of the Telematik-ID, read as a big-endian number,
/// modulo 36⁷. Stable across releases: changing it would change every new pharmacy's UVCIs.
pub fn derive_issuer_segment(telematik_id: &str) -> String {
    let hash = digest::digest(&digest::SHA256, telematik_id.as_bytes());
    let modulus = BASE36;
    let range = modulus.pow(DERIVED_DIGITS);
    // range < 2^37, so remainder * 256 + 255 stays far below u64::MAX.
    let mut remainder = hash
        .as_ref()
        .iter()
        .fold(0_u64, |acc, byte| (acc * 256 + u64::from(*byte)) % range);
    let mut digits = [b'0'; DERIVED_DIGITS as usize];
    for slot in digits.iter_mut().rev() {
        let digit = usize::try_from(remainder % modulus).unwrap_or_default();
        *slot = BASE36_DIGITS.get(digit).copied().unwrap_or(b'0');
        remainder /= modulus;
    }
    let mut segment = String::from(DERIVED_PREFIX);
    segment.extend(digits.iter().map(|digit| char::from(*digit)));
    segment
}

/// Whether `segment` is a valid issuer segment: 1 to 16 characters from `A–Z` and `0–9`.
pub fn is_valid_issuer_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment.len() <= MAX_SEGMENT_LEN
        && segment
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
}

/// [`register`], also returning the audit entry written.
async fn register_recorded(
    store: &Store,
    actor: &Actor,
    telematik_id: &str,
    name: &str,
    address: &str,
    issuer_segment: Option<&str>,
    now: i64,
) -> Result<(Pharmacy, AuditEntry), RegistryError> {
    check_telematik_id(telematik_id)?;
    let issuer_segment = match issuer_segment {
        Some(segment) if is_valid_issuer_segment(segment) => segment.to_owned(),
        Some(segment) => {
            return Err(RegistryError::InvalidSegment {
                issuer_segment: segment.to_owned(),
            });
        }
        None => derive_issuer_segment(telematik_id),
    };
    let mut tx = store.begin().await?;
    // Checked first: a re-registration with the derived segment also collides on the segment,
    // and the database may report that key instead. The unique keys still guard races.
    if pharmacies::find(&mut *tx, telematik_id).await?.is_some() {
        return Err(RegistryError::AlreadyRegistered {
            telematik_id: telematik_id.to_owned(),
        });
    }
    let new = NewPharmacy {
        telematik_id,
        name,
        address,
        issuer_segment: &issuer_segment,
        now,
    };
    let pharmacy = pharmacies::insert(&mut tx, &new)
        .await
        .map_err(|error| match error {
            StoreError::Conflict {
                what: ConflictTarget::PharmacyTelematikId,
            } => RegistryError::AlreadyRegistered {
                telematik_id: telematik_id.to_owned(),
            },
            StoreError::Conflict {
                what: ConflictTarget::PharmacyIssuerSegment,
            } => RegistryError::SegmentTaken {
                issuer_segment: issuer_segment.clone(),
            },
            other => RegistryError::Store(other),
        })?;
    let event = AuditEvent::PharmacyRegistered {
        telematik_id: pharmacy.telematik_id.clone(),
        issuer_segment: pharmacy.issuer_segment.clone(),
        by: actor.into(),
    };
    let entry = audit::record(&mut tx, &event, now).await?;
    tx.commit().await.map_err(StoreError::Query)?;
    Ok((pharmacy, entry))
}

/// Sets the status and records the change; `None` as entry when the status was already
/// `status`.
async fn change_status(
    store: &Store,
    actor: &Actor,
    telematik_id: &str,
    status: PharmacyStatus,
    now: i64,
) -> Result<(Pharmacy, Option<AuditEntry>), RegistryError> {
    let not_found = || RegistryError::NotFound {
        telematik_id: telematik_id.to_owned(),
    };
    check_telematik_id(telematik_id).map_err(|_| not_found())?;
    let mut tx = store.begin().await?;
    let current = pharmacies::find(&mut *tx, telematik_id)
        .await?
        .ok_or_else(not_found)?;
    if current.status == status {
        return Ok((current, None));
    }
    let pharmacy = pharmacies::set_status(&mut tx, telematik_id, status, now)
        .await?
        .ok_or_else(not_found)?;
    let event = AuditEvent::PharmacyStatusChanged {
        telematik_id: pharmacy.telematik_id.clone(),
        status: status.as_str(),
        by: actor.into(),
    };
    let entry = audit::record(&mut tx, &event, now).await?;
    tx.commit().await.map_err(StoreError::Query)?;
    Ok((pharmacy, Some(entry)))
}

fn check_telematik_id(telematik_id: &str) -> Result<(), RegistryError> {
    let valid = !telematik_id.is_empty()
        && telematik_id.chars().count() <= MAX_TELEMATIK_ID_LEN
        && !telematik_id.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(RegistryError::InvalidTelematikId {
            telematik_id: telematik_id.to_owned(),
        })
    }
}

/// The longest issuer segment accepted.
const MAX_SEGMENT_LEN: usize = 16;
/// The longest Telematik-ID accepted (the directory service's limit).
const MAX_TELEMATIK_ID_LEN: usize = 128;
/// The first character of a derived issuer segment.
const DERIVED_PREFIX: &str = "A";
/// The number of base-36 digits after the prefix of a derived issuer segment.
const DERIVED_DIGITS: u32 = 7;
/// The radix of a derived issuer segment's digits.
const BASE36: u64 = 36;
/// The base-36 alphabet, uppercase.
const BASE36_DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

#[cfg(test)]
mod tests {
    use dcc_store::audit::verify_chain;
    use serde_json::{Value, json};

    use super::*;

    const NOW: i64 = 1_622_548_800; // 2021-06-01T12:00:00Z
    const ID: &str = "3-SMC-B-Testkarte-883110000116873";
    const CLI: Actor = Actor::CommandLine;

    fn admin() -> Actor {
        Actor::Operator {
            operator: crate::operators::OperatorRef {
                id: 42,
                username: "ada".into(),
                role: dcc_auth::role::Role::Administrator,
            },
            scope: "*".into(),
        }
    }

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("registry.db").display());
        (Store::connect(&url).await.unwrap(), dir)
    }

    async fn assert_chain(store: &Store, entries: u64) {
        let report = verify_chain(store).await.unwrap();
        assert_eq!(report.first_broken, None);
        assert_eq!(report.entries, entries);
    }

    #[test]
    fn derived_segment_is_stable_and_well_formed() {
        let segment = derive_issuer_segment(ID);
        assert_eq!(segment, derive_issuer_segment(ID));
        assert_eq!(segment.len(), 8);
        assert!(segment.starts_with('A'));
        assert!(is_valid_issuer_segment(&segment), "{segment}");
        // Pinned (computed independently): a change would move every new pharmacy's UVCIs.
        assert_eq!(segment, "AQ6IJALY");
        assert_eq!(
            derive_issuer_segment("3-10.3.1234567000.10.999"),
            "AKMPEDB6"
        );
    }

    #[test]
    fn segment_rule_is_uppercase_alphanumeric_up_to_sixteen() {
        for good in ["A", "APO3X7K2", "0123456789ABCDEF"] {
            assert!(is_valid_issuer_segment(good), "{good}");
        }
        for bad in ["", "apo", "APO-1", "APO 1", "0123456789ABCDEFG", "ÄPO"] {
            assert!(!is_valid_issuer_segment(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn register_stores_the_pharmacy_and_records_the_event() {
        let (store, _dir) = store().await;
        let (pharmacy, entry) =
            register_recorded(&store, &CLI, ID, "Apotheke", "Markt 1, Berlin", None, NOW)
                .await
                .unwrap();
        assert_eq!(pharmacy.telematik_id, ID);
        assert_eq!(pharmacy.name, "Apotheke");
        assert_eq!(pharmacy.address, "Markt 1, Berlin");
        assert_eq!(pharmacy.issuer_segment, derive_issuer_segment(ID));
        assert_eq!(pharmacy.status, PharmacyStatus::Active);
        assert_eq!(pharmacy.created_at, NOW);
        assert_eq!(entry.seq, 1);
        assert_eq!(entry.kind, "pharmacy_registered");
        assert_eq!(entry.telematik_id.as_deref(), Some(ID));
        assert_eq!(entry.at, NOW);
        let detail: Value = serde_json::from_str(&entry.detail).unwrap();
        assert_eq!(
            detail,
            json!({"issuer_segment": derive_issuer_segment(ID), "by": "cli"})
        );
        assert_eq!(list(&store).await.unwrap(), [pharmacy]);
        assert_chain(&store, 1).await;
    }

    #[tokio::test]
    async fn a_given_segment_is_used_and_checked() {
        let (store, _dir) = store().await;
        let pharmacy = register(
            &store,
            &CLI,
            ID,
            "Apotheke",
            "Markt 1",
            Some("APO3X7K2"),
            NOW,
        )
        .await
        .unwrap();
        assert_eq!(pharmacy.issuer_segment, "APO3X7K2");
        let error = register(&store, &CLI, "3-other", "B", "C", Some("apo-1"), NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, RegistryError::InvalidSegment { issuer_segment } if issuer_segment == "apo-1"),
            "{error:?}"
        );
        let error = register(&store, &CLI, "3-other", "B", "C", Some("APO3X7K2"), NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, RegistryError::SegmentTaken { issuer_segment } if issuer_segment == "APO3X7K2"),
            "{error:?}"
        );
        // Refused registrations leave neither a pharmacy nor an audit entry behind.
        assert_eq!(list(&store).await.unwrap().len(), 1);
        assert_chain(&store, 1).await;
    }

    #[tokio::test]
    async fn a_second_registration_is_refused() {
        let (store, _dir) = store().await;
        register(&store, &CLI, ID, "Apotheke", "Markt 1", None, NOW)
            .await
            .unwrap();
        // With the same (derived) segment and with another one.
        for segment in [None, Some("OTHER1")] {
            let error = register(&store, &CLI, ID, "Other", "Elsewhere", segment, NOW + 1)
                .await
                .unwrap_err();
            assert!(
                matches!(&error, RegistryError::AlreadyRegistered { telematik_id } if telematik_id == ID),
                "{error:?}"
            );
        }
        let listed = list(&store).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "Apotheke");
        assert_chain(&store, 1).await;
    }

    #[tokio::test]
    async fn bad_telematik_ids_are_refused_before_the_database() {
        let (store, _dir) = store().await;
        let long = format!("3-{}", "x".repeat(127));
        for bad in ["", "3-Apotheke Süd", "3-a\tb", long.as_str()] {
            let error = register(&store, &CLI, bad, "A", "B", None, NOW)
                .await
                .unwrap_err();
            assert!(
                matches!(&error, RegistryError::InvalidTelematikId { telematik_id } if telematik_id == bad),
                "{error:?}"
            );
        }
        assert!(list(&store).await.unwrap().is_empty());
        assert_chain(&store, 0).await;
    }

    #[tokio::test]
    async fn suspend_and_reactivate_record_each_change() {
        let (store, _dir) = store().await;
        register(&store, &CLI, ID, "Apotheke", "Markt 1", None, NOW)
            .await
            .unwrap();

        let (suspended, entry) =
            change_status(&store, &admin(), ID, PharmacyStatus::Suspended, NOW + 10)
                .await
                .unwrap();
        assert_eq!(suspended.status, PharmacyStatus::Suspended);
        assert_eq!(suspended.updated_at, NOW + 10);
        let entry = entry.unwrap();
        assert_eq!(entry.seq, 2);
        assert_eq!(entry.kind, "pharmacy_status_changed");
        assert_eq!(entry.telematik_id.as_deref(), Some(ID));
        assert_eq!(entry.detail, r#"{"status":"suspended","by":42}"#);

        // Suspending again changes nothing and records nothing.
        let again = suspend(&store, &CLI, ID, NOW + 20).await.unwrap();
        assert_eq!(again, suspended);
        assert_chain(&store, 2).await;

        let (active, entry) = change_status(&store, &admin(), ID, PharmacyStatus::Active, NOW + 30)
            .await
            .unwrap();
        assert_eq!(active.status, PharmacyStatus::Active);
        let entry = entry.unwrap();
        assert_eq!(entry.seq, 3);
        assert_eq!(entry.detail, r#"{"status":"active","by":42}"#);
        assert_eq!(
            reactivate(&store, &CLI, ID, NOW + 40)
                .await
                .unwrap()
                .updated_at,
            NOW + 30
        );
        assert_chain(&store, 3).await;
    }

    #[tokio::test]
    async fn unknown_pharmacies_are_not_found() {
        let (store, _dir) = store().await;
        for result in [
            suspend(&store, &CLI, "3-unknown", NOW).await,
            reactivate(&store, &CLI, "3-unknown", NOW).await,
        ] {
            let error = result.unwrap_err();
            assert!(
                matches!(&error, RegistryError::NotFound { telematik_id } if telematik_id == "3-unknown"),
                "{error:?}"
            );
        }
        assert_chain(&store, 0).await;
    }
}
