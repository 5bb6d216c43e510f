//! Publishing the DSCs for verifiers: `GET /trust-list` (EU gateway JSON) and
//! `GET /trust-list/de` (German two-line signed DSC list), built per request from the key
//! registry, so that every instance serves the same list and a rotation appears at once.
//!
//! Access: the portal's TLS layer admits only clients with a certificate of the configured
//! institution CA; these routes need nothing beyond that (no pharmacy identity), because the
//! list is public data that verifiers fetch.

use std::sync::Arc;

use dcc_core::signer::Signer;
use dcc_issuance::publication::{self, PublicationError};

use crate::key_registry::{KeyRegistry, KeyRegistryError};

/// Builds the published lists.
pub struct TrustListPublisher {
    /// The registry the DSCs come from.
    pub registry: Arc<KeyRegistry>,
    /// The key that signs the German list and each entry's `signature`; without it no list
    /// is served (`trust_list_not_configured`).
    pub list_signer: Option<Arc<dyn Signer>>,
    /// The country for entries whose DSC names none.
    pub country: String,
}

/// Why a list could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustListPublishError {
    /// No trust-list signing key is configured (the German list needs one).
    #[error("no trust-list signing key is configured")]
    NotConfigured,
    /// The registry could not be read.
    #[error(transparent)]
    Registry(#[from] KeyRegistryError),
    /// The list could not be signed or serialised.
    #[error(transparent)]
    Publication(#[from] PublicationError),
}

impl TrustListPublisher {
    /// The EU gateway JSON at `now`.
    pub async fn eu_gateway_json(&self, now: i64) -> Result<Vec<u8>, TrustListPublishError> {
        let dscs = self.registry.published(now).await?;
        let signer = self
            .list_signer
            .as_deref()
            .ok_or(TrustListPublishError::NotConfigured)?;
        Ok(publication::eu_gateway_json(&dscs, &self.country, signer)?)
    }

    /// The German signed DSC list at `now`.
    pub async fn german_dsc_list(&self, now: i64) -> Result<Vec<u8>, TrustListPublishError> {
        let dscs = self.registry.published(now).await?;
        let signer = self
            .list_signer
            .as_deref()
            .ok_or(TrustListPublishError::NotConfigured)?;
        Ok(publication::german_dsc_list(&dscs, &self.country, signer)?)
    }
}
