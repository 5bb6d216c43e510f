//! What the counter shows after issuing: a certificate the pharmacy just issued, fetched
//! again while its HC1 text is kept for idempotent retries (24 hours), and the pharmacy's
//! certificates of the day. Both are the pharmacy's own only; the list holds no personal data.

use dcc_core::model::certificate_type::CertificateType;
use dcc_store::ledger::{self, IssuedListItem};
use dcc_store::{Store, StoreError};

/// Most lines in the list of the day.
pub const DAY_LIST_LIMIT: i64 = 500;

/// A certificate whose HC1 text is still kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptCertificate {
    /// The `HC1:` text.
    pub hc1: String,
    /// The UVCI.
    pub uvci: String,
    /// The certificate type.
    pub certificate_type: CertificateType,
    /// `exp`, seconds since 1970.
    pub expires_at: i64,
}

/// The certificate `uvci` if `telematik_id` issued it and its text is still kept at `now`;
/// `None` for another pharmacy's certificate, an unknown UVCI or an expired text alike, so
/// the answer tells nothing about other pharmacies.
pub async fn kept_certificate(
    store: &Store,
    telematik_id: &str,
    uvci: &str,
    now: i64,
) -> Result<Option<KeptCertificate>, StoreError> {
    let pool = store.pool();
    let Some(entry) = ledger::find_by_uvci(pool, uvci).await? else {
        return Ok(None);
    };
    if entry.telematik_id != telematik_id {
        return Ok(None);
    }
    let Some(hc1) = ledger::find_response(pool, uvci, now).await? else {
        return Ok(None);
    };
    Ok(Some(KeptCertificate {
        hc1,
        uvci: entry.uvci,
        certificate_type: certificate_type(entry.certificate_type),
        expires_at: entry.expires_at,
    }))
}

/// The certificates `telematik_id` issued in `[from, until)`, newest first (at most
/// [`DAY_LIST_LIMIT`]).
pub async fn issued_between(
    store: &Store,
    telematik_id: &str,
    from: i64,
    until: i64,
) -> Result<Vec<IssuedListItem>, StoreError> {
    ledger::issued_by_pharmacy(store.pool(), telematik_id, from, until, DAY_LIST_LIMIT).await
}

/// The model's type of a ledger row's type.
pub fn certificate_type(stored: ledger::CertificateType) -> CertificateType {
    match stored {
        ledger::CertificateType::Vaccination => CertificateType::Vaccination,
        ledger::CertificateType::Test => CertificateType::Test,
        ledger::CertificateType::Recovery => CertificateType::Recovery,
    }
}
