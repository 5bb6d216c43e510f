//! Revoking exactly the bad certificates, and the list verifiers download.
//!
//! In 2021 the only remedy against an insider was to block every certificate of the pharmacy.
//! Here a revocation names its selection — certificates by UVCI, or one pharmacy's certificates
//! issued in a time window — and a reason; it touches nothing outside the selection, is audited
//! per certificate, and appears in the published list (EU batch format, all three hash types)
//! until the certificate expires. A fraud revocation also makes the certificate unbillable.

use std::collections::BTreeSet;

use dcc_core::revocation::RevocationHash;
use dcc_core::revocation_list::{RevocationBatch, RevokedCertificate, build_batches};
use dcc_store::{Store, StoreError};

use crate::audit::{self, AuditEvent};

/// Why certificates are revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// Issued fraudulently (not billable; see `dcc_store::billing::FRAUD_REASON`).
    Fraud,
    /// Issued by mistake (wrong data).
    Error,
    /// Issued twice.
    Duplicate,
}

impl RevocationReason {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fraud => dcc_store::billing::FRAUD_REASON,
            Self::Error => "error",
            Self::Duplicate => "duplicate",
        }
    }

    /// Parses `fraud`, `error` or `duplicate`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Fraud, Self::Error, Self::Duplicate]
            .into_iter()
            .find(|reason| reason.as_str() == text)
    }
}

/// Which certificates to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These certificates, by UVCI.
    Certificates(Vec<String>),
    /// One pharmacy's certificates issued from `from` to `until` (unix seconds, both included).
    PharmacyWindow {
        /// The pharmacy.
        telematik_id: String,
        /// Start of the window.
        from: i64,
        /// End of the window.
        until: i64,
    },
    /// One operator's certificates issued from `from` to `until` (unix seconds, both
    /// included), whichever pharmacy's they are.
    OperatorWindow {
        /// The operator's id.
        operator_id: i64,
        /// Start of the window.
        from: i64,
        /// End of the window.
        until: i64,
    },
}

/// What a revocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationOutcome {
    /// Newly revoked, sorted.
    pub revoked: Vec<String>,
    /// Selected by UVCI but revoked before (left as they were), sorted.
    pub already_revoked: Vec<String>,
}

/// Why a revocation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// No certificate was named.
    #[error(
        "no certificate selected: name UVCIs, a CSV file, or a pharmacy or an operator and a time \
         window"
    )]
    EmptySelection,
    /// Some selected UVCIs are not in the ledger; nothing was revoked.
    #[error("not issued here (nothing was revoked): {}", .0.join(", "))]
    UnknownCertificates(Vec<String>),
    /// No operator has this id.
    #[error("no operator has the id {0}")]
    UnknownOperator(i64),
    /// The window ends before it starts.
    #[error("the time window ends before it starts")]
    InvalidWindow,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Revokes the selection with a reason, one audit entry per revoked certificate, all in one
/// transaction. A list naming a UVCI that was not issued here revokes nothing.
pub async fn revoke(
    store: &Store,
    selection: &Selection,
    reason: RevocationReason,
    now: i64,
) -> Result<RevocationOutcome, RevocationError> {
    let mut tx = store.begin().await?;
    let outcome = match selection {
        Selection::Certificates(uvcis) => {
            let wanted: BTreeSet<&str> = uvcis.iter().map(String::as_str).collect();
            if wanted.is_empty() {
                return Err(RevocationError::EmptySelection);
            }
            let wanted: Vec<&str> = wanted.into_iter().collect();
            let existing = dcc_store::revocation::existing(&mut tx, &wanted).await?;
            let unknown: Vec<String> = wanted
                .iter()
                .filter(|uvci| existing.binary_search_by(|e| e.as_str().cmp(uvci)).is_err())
                .map(|uvci| (*uvci).to_owned())
                .collect();
            if !unknown.is_empty() {
                return Err(RevocationError::UnknownCertificates(unknown));
            }
            let revoked =
                dcc_store::revocation::revoke_uvcis(&mut tx, &wanted, reason.as_str(), now).await?;
            RevocationOutcome {
                already_revoked: existing
                    .iter()
                    .filter(|uvci| revoked.binary_search(uvci).is_err())
                    .cloned()
                    .collect(),
                revoked,
            }
        }
        Selection::PharmacyWindow {
            telematik_id,
            from,
            until,
        } => {
            if until < from {
                return Err(RevocationError::InvalidWindow);
            }
            let revoked = dcc_store::revocation::revoke_window(
                &mut tx,
                telematik_id,
                *from,
                *until,
                reason.as_str(),
                now,
            )
            .await?;
            RevocationOutcome {
                revoked,
                ..RevocationOutcome::default()
            }
        }
        Selection::OperatorWindow {
            operator_id,
            from,
            until,
        } => {
            if until < from {
                return Err(RevocationError::InvalidWindow);
            }
            if dcc_store::operators::find(&mut *tx, *operator_id)
                .await?
                .is_none()
            {
                return Err(RevocationError::UnknownOperator(*operator_id));
            }
            let revoked = dcc_store::revocation::revoke_operator_window(
                &mut tx,
                *operator_id,
                *from,
                *until,
                reason.as_str(),
                now,
            )
            .await?;
            RevocationOutcome {
                revoked,
                ..RevocationOutcome::default()
            }
        }
    };
    for uvci in &outcome.revoked {
        let event = AuditEvent::CertificateRevoked {
            uvci: uvci.clone(),
            reason: reason.as_str(),
        };
        audit::record(&mut tx, &event, now).await?;
    }
    dcc_store::commit(tx).await?;
    Ok(outcome)
}

/// The published revocation list at `now`: batches per kid and hash type, and the time of the
/// latest revocation (for `Last-Modified`).
pub async fn published(
    store: &Store,
    country: &str,
    now: i64,
) -> Result<(Vec<RevocationBatch>, Option<i64>), StoreError> {
    let rows = dcc_store::revocation::published(store.pool(), now).await?;
    let last = dcc_store::revocation::last_revoked_at(store.pool()).await?;
    let revoked: Vec<RevokedCertificate> = rows
        .iter()
        .filter_map(|row| {
            Some(RevokedCertificate {
                kid: row.kid.clone(),
                uci: RevocationHash::from_base64(&row.uci_hash)?,
                country_code_uci: RevocationHash::from_base64(
                    row.country_code_uci_hash.as_deref()?,
                )?,
                signature: RevocationHash::from_base64(row.signature_hash.as_deref()?)?,
                expires_at: row.expires_at,
            })
        })
        .collect();
    Ok((build_batches(country, &revoked), last))
}
