//! The main use case: a registered, active pharmacy asks for a certificate and gets a signed
//! HCERT that is recorded once in the ledger, with its audit entry, in one transaction.
//!
//! A rejected request records nothing in the ledger (and so is never billed); it leaves an
//! `issuance_rejected` audit entry. With an idempotency key, a retry of the same request
//! returns the very same certificate and records nothing new.

use std::future::Future;
use std::pin::Pin;

use aws_lc_rs::digest::{SHA256, digest};
use dcc_billing::holder::HolderKeySecret;
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::model::{Dcc, Entry};
use dcc_core::revocation::{country_code_uci_hash, signature_hash, uci_hash};
use dcc_store::ledger::{self, LedgerEntry};
use dcc_store::locks::LockScope;
use dcc_store::pharmacies::PharmacyStatus;
use dcc_store::{ConflictTarget, Store, StoreError};
use time::OffsetDateTime;

use crate::active_pharmacies::{ActivePharmacies, Lookup};
use crate::audit::AuditEvent;
use crate::limits::LimitExceeded;
use crate::payload::{IssuerContext, PayloadError, build_payload, opaque_from_random};
use crate::recorder::{IssuedRecord, RecordError, RecordOutcome, Recorder};
use crate::request::{IssueRequest, RequestError};
use crate::signing::{CertificateServer, SignedCertificate, SigningError};

/// How long the HC1 text of a certificate is kept so that an idempotent retry can return it.
/// This is the only personal data the system stores, and only for this purpose.
pub const RESPONSE_RETENTION_SECONDS: i64 = 24 * 3600;

/// The certificate server as the portal sees it: in the same process or over mutual TLS.
pub trait SignService: Send + Sync {
    /// Signs a complete, validated payload at `now` (seconds since 1970).
    fn sign<'a>(
        &'a self,
        dcc: &'a Dcc,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = Result<SignedCertificate, SignServiceError>> + Send + 'a>>;

    /// Whether the certificate server can sign now (for readiness checks). In the same process
    /// it can, its keys being loaded; a remote one is asked.
    fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), SignServiceError>> + Send + '_>> {
        Box::pin(async { Ok(()) })
    }

    /// Whether the HSM behind this process's keys answers (for readiness checks): `None` when
    /// no key of this process is in an HSM (file keys, or a certificate server in another
    /// process, which reports its own).
    fn probe_hsm(&self) -> Option<Result<(), SignServiceError>> {
        None
    }
}

/// Why the certificate server did not sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignServiceError {
    /// The certificate server refused (DSC expired, key usage, invalid payload…).
    #[error(transparent)]
    Refused(#[from] SigningError),
    /// The certificate server could not be reached or answered nonsense.
    #[error("the certificate server is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The certificate server in another process refused; a [`SigningError`] cannot be
    /// rebuilt from the wire, so its code and message arrive as text.
    #[error("the certificate server refused ({code}): {message}")]
    RemoteRefused {
        /// The certificate server's error code.
        code: String,
        /// The certificate server's message.
        message: String,
    },
}

impl SignService for CertificateServer {
    fn sign<'a>(
        &'a self,
        dcc: &'a Dcc,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = Result<SignedCertificate, SignServiceError>> + Send + 'a>>
    {
        Box::pin(async move { Ok(CertificateServer::sign(self, dcc, now)?) })
    }

    fn probe_hsm(&self) -> Option<Result<(), SignServiceError>> {
        self.probe_keys()
            .map(|outcome| outcome.map_err(SignServiceError::Refused))
    }
}

/// Everything the use case needs besides the request.
pub struct Issuance<'a> {
    /// The database, for reads.
    pub store: &'a Store,
    /// The group-commit writer, for every write.
    pub recorder: &'a Recorder,
    /// Registry lookups, remembered per pharmacy.
    pub pharmacies: &'a ActivePharmacies,
    /// The certificate server.
    pub signer: &'a dyn SignService,
    /// Country (`co`, `iss`) and issuer name (`is`).
    pub country: &'a str,
    /// The `is` text.
    pub issuer_name: &'a str,
    /// The secret of the holder key recorded in the ledger for billing; `None` records none.
    pub holder_key_secret: Option<&'a HolderKeySecret>,
}

/// A certificate handed to the pharmacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The `HC1:` text.
    pub hc1: String,
    /// The UVCI.
    pub uvci: String,
    /// The certificate type.
    pub certificate_type: CertificateType,
    /// `exp`, seconds since 1970.
    pub expires_at: i64,
    /// Whether this is a repeat of an earlier answer (idempotent retry).
    pub replayed: bool,
}

/// Why no certificate was issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The Telematik-ID is not in the registry.
    #[error("the pharmacy {0} is not registered")]
    NotRegistered(String),
    /// The pharmacy is suspended.
    #[error("the pharmacy {0} is suspended")]
    Suspended(String),
    /// The request body was refused (400, 406 or 422).
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The request's fields are invalid (422).
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The idempotency key is malformed.
    #[error("the Idempotency-Key must be 1 to 128 visible ASCII characters")]
    InvalidIdempotencyKey,
    /// The idempotency key was used before with a different request.
    #[error("the Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    /// The key's certificate exists but its text is no longer kept.
    #[error(
        "the certificate for this Idempotency-Key was issued more than 24 hours ago and is no longer kept"
    )]
    ResponseExpired {
        /// Its UVCI.
        uvci: String,
    },
    /// The certificate server refused or is unavailable.
    #[error(transparent)]
    Signing(#[from] SignServiceError),
    /// The database failed.
    #[error("the database failed: {0}")]
    Store(#[from] StoreError),
    /// Issuance is locked for everyone or for this pharmacy (the kill switch).
    #[error("issuance is locked for this pharmacy (reason: {reason})")]
    Locked {
        /// The lock's reason code.
        reason: String,
    },
    /// The pharmacy reached a rate limit.
    #[error("the {} limit of certificates is reached; retry after {} seconds", .0.window(), .0.retry_after())]
    RateLimited(LimitExceeded),
    /// The writer has stopped: the process is shutting down.
    #[error("the service is shutting down")]
    ShuttingDown,
}

impl From<RecordError> for IssueError {
    fn from(error: RecordError) -> Self {
        match error {
            RecordError::Store(error) => Self::Store(error),
            _ => Self::ShuttingDown,
        }
    }
}

impl IssueError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotRegistered(_) => "pharmacy_not_registered",
            Self::Suspended(_) => "pharmacy_suspended",
            Self::Request(error) => error.code(),
            Self::Payload(PayloadError::Invalid(_)) => "invalid_fields",
            Self::Payload(_) => "issuer_misconfigured",
            Self::InvalidIdempotencyKey => "invalid_idempotency_key",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::ResponseExpired { .. } => "idempotent_response_expired",
            Self::Signing(SignServiceError::Refused(_)) => "signer_refused",
            Self::Signing(SignServiceError::Unavailable(_)) => "signer_unavailable",
            Self::Signing(SignServiceError::RemoteRefused { .. }) => "signer_refused",
            Self::Locked { .. } => "issuance_locked",
            Self::RateLimited(_) => "rate_limited",
            Self::Store(_) | Self::ShuttingDown => "store_unavailable",
        }
    }
}

impl Issuance<'_> {
    /// Issues a certificate for the pharmacy with this Telematik-ID, by the operator with this
    /// id (recorded in the ledger and the audit entry; `None` only for callers without operator
    /// accounts, such as benchmarks of the signing path).
    pub async fn issue(
        &self,
        telematik_id: &str,
        operator_id: Option<i64>,
        body: &[u8],
        idempotency_key: Option<&str>,
        now: OffsetDateTime,
        random: [u8; 16],
    ) -> Result<Issued, IssueError> {
        let result = self
            .try_issue(
                telematik_id,
                operator_id,
                body,
                idempotency_key,
                now,
                random,
            )
            .await;
        if let Err(error) = &result {
            self.record_rejection(telematik_id, error, now).await;
        }
        result
    }

    /// The pharmacy's registration as the registry holds it now (read afresh, not from the
    /// issuing path's memory): `Ok` when it is registered and active, else the refusal an
    /// issuance request would get.
    pub async fn registration(&self, telematik_id: &str) -> Result<(), IssueError> {
        self.registered_segment(telematik_id).await.map(|_| ())
    }

    /// Everything [`Issuance::issue`] checks before signing, without signing, recording or
    /// auditing anything: the registration, the locks in force for this pharmacy, the request
    /// and the complete payload. Returns the type of certificate the request would get. Rate
    /// limits are not checked: they count certificates, and a dry run makes none.
    pub async fn dry_run(
        &self,
        telematik_id: &str,
        body: &[u8],
        now: OffsetDateTime,
        random: [u8; 16],
    ) -> Result<CertificateType, IssueError> {
        let issuer_segment = self.registered_segment(telematik_id).await?;
        let locks = dcc_store::locks::list(self.store.pool()).await?;
        if let Some(lock) = locks.iter().find(|lock| match &lock.scope {
            LockScope::All => true,
            LockScope::Pharmacy(locked) => locked == telematik_id,
            _ => false,
        }) {
            return Err(IssueError::Locked {
                reason: lock.reason.clone(),
            });
        }
        let request = IssueRequest::parse(body)?;
        let context = IssuerContext {
            country: self.country.to_owned(),
            issuer: self.issuer_name.to_owned(),
            issuer_segment,
        };
        let dcc = build_payload(&request, &context, &opaque_from_random(&random), now)?;
        Ok(dcc.certificate_type())
    }

    async fn registered_segment(&self, telematik_id: &str) -> Result<String, IssueError> {
        match dcc_store::pharmacies::find(self.store.pool(), telematik_id).await? {
            None => Err(IssueError::NotRegistered(telematik_id.to_owned())),
            Some(pharmacy) if pharmacy.status == PharmacyStatus::Suspended => {
                Err(IssueError::Suspended(telematik_id.to_owned()))
            }
            Some(pharmacy) => Ok(pharmacy.issuer_segment),
        }
    }

    async fn try_issue(
        &self,
        telematik_id: &str,
        operator_id: Option<i64>,
        body: &[u8],
        idempotency_key: Option<&str>,
        now: OffsetDateTime,
        random: [u8; 16],
    ) -> Result<Issued, IssueError> {
        let issuer_segment = match self.pharmacies.lookup(self.store, telematik_id).await? {
            Lookup::Active(segment) => segment,
            Lookup::NotRegistered => {
                return Err(IssueError::NotRegistered(telematik_id.to_owned()));
            }
            Lookup::Suspended => return Err(IssueError::Suspended(telematik_id.to_owned())),
        };
        if let Some(key) = idempotency_key
            && !(1..=128).contains(&key.len()) | !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(IssueError::InvalidIdempotencyKey);
        }
        let request_hash = hex_sha256(body);
        if let Some(key) = idempotency_key
            && let Some(earlier) = self.replay(telematik_id, key, &request_hash, now).await?
        {
            return Ok(earlier);
        }
        let request = IssueRequest::parse(body)?;
        let context = IssuerContext {
            country: self.country.to_owned(),
            issuer: self.issuer_name.to_owned(),
            issuer_segment,
        };
        let dcc = build_payload(&request, &context, &opaque_from_random(&random), now)?;
        let signed = self.signer.sign(&dcc, now.unix_timestamp()).await?;
        let mut entry = ledger_entry(
            telematik_id,
            self.country,
            &dcc,
            &signed,
            idempotency_key,
            request_hash.clone(),
        );
        entry.operator_id = operator_id;
        entry.holder_key = self.holder_key_secret.map(|secret| {
            let name = &dcc.name;
            secret.holder_key(
                name.family_name_standardised.as_deref(),
                name.given_name_standardised.as_deref(),
                &dcc.date_of_birth.to_string(),
            )
        });
        let record = IssuedRecord {
            entry,
            hc1: signed.hc1,
            keep_until: now.unix_timestamp() + RESPONSE_RETENTION_SECONDS,
            at: now.unix_timestamp(),
        };
        let uvci = record.entry.uvci.clone();
        let hc1 = record.hc1.clone();
        match self.recorder.issued(record).await? {
            RecordOutcome::Recorded => Ok(Issued {
                hc1,
                uvci,
                certificate_type: dcc.certificate_type(),
                expires_at: signed.expires_at,
                replayed: false,
            }),
            RecordOutcome::PharmacyNotActive => {
                self.pharmacies.forget(telematik_id);
                Err(IssueError::Suspended(telematik_id.to_owned()))
            }
            RecordOutcome::Locked { reason } => Err(IssueError::Locked { reason }),
            RecordOutcome::RateLimited(exceeded) => Err(IssueError::RateLimited(exceeded)),
            // A concurrent retry with the same key won the race: answer with its certificate.
            RecordOutcome::Conflict => match idempotency_key {
                Some(key) => self
                    .replay(telematik_id, key, &request_hash, now)
                    .await?
                    .ok_or(IssueError::IdempotencyKeyReused),
                None => Err(IssueError::Store(StoreError::Conflict {
                    what: ConflictTarget::Uvci,
                })),
            },
        }
    }

    /// Refuses (and audits) a request of a pharmacy that is not registered or suspended;
    /// `Ok` when it may issue.
    pub async fn check_pharmacy(
        &self,
        telematik_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), IssueError> {
        let result = self.registration(telematik_id).await;
        if let Err(error @ (IssueError::NotRegistered(_) | IssueError::Suspended(_))) = &result {
            self.record_rejection(telematik_id, error, now).await;
        }
        result
    }

    /// The earlier answer for this key, if the same request was made before.
    async fn replay(
        &self,
        telematik_id: &str,
        key: &str,
        request_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Issued>, IssueError> {
        let pool = self.store.pool();
        let Some(earlier) = ledger::find_by_idempotency_key(pool, telematik_id, key).await? else {
            return Ok(None);
        };
        if earlier.request_hash != request_hash {
            return Err(IssueError::IdempotencyKeyReused);
        }
        let Some(hc1) = ledger::find_response(pool, &earlier.uvci, now.unix_timestamp()).await?
        else {
            return Err(IssueError::ResponseExpired { uvci: earlier.uvci });
        };
        let event = AuditEvent::CertificateReturnedAgain {
            telematik_id: telematik_id.to_owned(),
            uvci: earlier.uvci.clone(),
        };
        self.recorder.audit(event, now.unix_timestamp()).await?;
        Ok(Some(Issued {
            hc1,
            uvci: earlier.uvci,
            certificate_type: certificate_type(earlier.certificate_type),
            expires_at: earlier.expires_at,
            replayed: true,
        }))
    }

    async fn record_rejection(&self, telematik_id: &str, error: &IssueError, now: OffsetDateTime) {
        let event = match error {
            IssueError::NotRegistered(_) | IssueError::Suspended(_) => AuditEvent::AccessRejected {
                telematik_id: Some(telematik_id.to_owned()),
                code: error.code(),
            },
            // A failing database cannot record its own failure.
            IssueError::Store(_) | IssueError::ShuttingDown => return,
            _ => AuditEvent::IssuanceRejected {
                telematik_id: Some(telematik_id.to_owned()),
                code: error.code(),
            },
        };
        if let Err(store_error) = self.recorder.audit(event, now.unix_timestamp()).await {
            tracing::warn!(%store_error, code = error.code(), "could not audit a rejected request");
        }
    }
}

fn ledger_entry(
    telematik_id: &str,
    country: &str,
    dcc: &Dcc,
    signed: &SignedCertificate,
    idempotency_key: Option<&str>,
    request_hash: String,
) -> LedgerEntry {
    let (certificate_type, product, dose_number, total_doses, event_date) = match &dcc.entry {
        Entry::Vaccination(v) => (
            ledger::CertificateType::Vaccination,
            v.product.clone(),
            Some(i64::from(v.dose_number)),
            Some(i64::from(v.total_doses)),
            v.date.clone(),
        ),
        Entry::Test(t) => (
            ledger::CertificateType::Test,
            t.test_type.clone(),
            None,
            None,
            t.sample_collected.clone(),
        ),
        Entry::Recovery(r) => (
            ledger::CertificateType::Recovery,
            r.target_disease.clone(),
            None,
            None,
            r.first_positive.clone(),
        ),
    };
    LedgerEntry {
        uvci: dcc.certificate_id().to_owned(),
        telematik_id: telematik_id.to_owned(),
        certificate_type,
        product,
        dose_number,
        total_doses,
        event_date,
        kid: signed.kid.to_base64(),
        uci_hash: uci_hash(dcc.certificate_id()).to_base64(),
        issued_at: signed.issued_at,
        expires_at: signed.expires_at,
        idempotency_key: idempotency_key.map(str::to_owned),
        request_hash,
        revoked_at: None,
        revocation_reason: None,
        holder_key: None,
        // `COUNTRYCODEUCI` with the CWT `iss`, as the German app computes it.
        country_code_uci_hash: Some(
            country_code_uci_hash(country, dcc.certificate_id()).to_base64(),
        ),
        signature_hash: Some(signature_hash(signed.algorithm(), &signed.signature).to_base64()),
        operator_id: None,
    }
}

fn certificate_type(stored: ledger::CertificateType) -> CertificateType {
    match stored {
        ledger::CertificateType::Vaccination => CertificateType::Vaccination,
        ledger::CertificateType::Test => CertificateType::Test,
        ledger::CertificateType::Recovery => CertificateType::Recovery,
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    digest(&SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
