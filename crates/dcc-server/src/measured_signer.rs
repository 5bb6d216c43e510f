//! The certificate server as the portal calls it, timed: every call's duration goes into the
//! `dcc_signer_seconds` histogram, whether the signer is in the process or across the network,
//! and whether it answered or not.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use dcc_core::model::Dcc;
use dcc_issuance::issue::{SignService, SignServiceError};
use dcc_issuance::signing::SignedCertificate;

use crate::clock;
use crate::metrics::Metrics;

/// A [`SignService`] that records how long each call to the one it wraps takes.
pub struct MeasuredSigner {
    inner: Arc<dyn SignService>,
    metrics: Arc<Metrics>,
}

impl MeasuredSigner {
    /// Wraps `inner`, recording into `metrics`.
    pub fn new(inner: Arc<dyn SignService>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

impl SignService for MeasuredSigner {
    fn sign<'a>(
        &'a self,
        dcc: &'a Dcc,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = Result<SignedCertificate, SignServiceError>> + Send + 'a>>
    {
        Box::pin(async move {
            let started = clock::instant();
            let outcome = self.inner.sign(dcc, now).await;
            self.metrics.signed(started.elapsed());
            outcome
        })
    }

    fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), SignServiceError>> + Send + '_>> {
        self.inner.ready()
    }

    fn probe_hsm(&self) -> Option<Result<(), SignServiceError>> {
        self.inner.probe_hsm()
    }
}
