//! Which pharmacies may issue, as the issuing path sees them: a registry lookup on a pharmacy's
//! first request, then its UVCI issuer segment from memory.
//!
//! A pharmacy's issuer segment never changes once registered, so it can be kept. Its status can
//! change at any time, and is therefore not trusted from memory: the group-commit writer
//! ([`crate::recorder`]) checks it again in the transaction that records the certificate, so a
//! suspension takes effect for every certificate committed after it, on every instance. A
//! pharmacy found suspended there is forgotten here, so its next request is refused before
//! anything is signed.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use dcc_store::pharmacies::{self, PharmacyStatus};
use dcc_store::{Store, StoreError};

/// Most pharmacies remembered; beyond this the memory is cleared and refilled on demand
/// (Germany had about 18,000 public pharmacies in 2021).
pub const MAX_REMEMBERED: usize = 100_000;

/// The issuer segments of pharmacies seen active.
#[derive(Debug, Default)]
pub struct ActivePharmacies {
    segments: RwLock<HashMap<String, String>>,
}

/// How a lookup ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The pharmacy was active (at the latest registry read); its UVCI issuer segment.
    Active(String),
    /// No pharmacy with this Telematik-ID is registered.
    NotRegistered,
    /// The pharmacy is suspended.
    Suspended,
}

impl ActivePharmacies {
    /// An empty memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pharmacy's issuer segment if it is registered and was active at the last look.
    pub async fn lookup(&self, store: &Store, telematik_id: &str) -> Result<Lookup, StoreError> {
        if let Some(segment) = self
            .segments
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(telematik_id)
        {
            return Ok(Lookup::Active(segment.clone()));
        }
        let Some(pharmacy) = pharmacies::find(store.pool(), telematik_id).await? else {
            return Ok(Lookup::NotRegistered);
        };
        if pharmacy.status == PharmacyStatus::Suspended {
            return Ok(Lookup::Suspended);
        }
        let mut segments = self
            .segments
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if segments.len() >= MAX_REMEMBERED {
            segments.clear();
        }
        segments.insert(telematik_id.to_owned(), pharmacy.issuer_segment.clone());
        Ok(Lookup::Active(pharmacy.issuer_segment))
    }

    /// Forgets a pharmacy found inactive, so its next request reads the registry again.
    pub fn forget(&self, telematik_id: &str) {
        self.segments
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(telematik_id);
    }
}
