//! `dcc doctor`: what works, hop by hop, between a pharmacy and the portal, seen from the
//! pharmacy's side with its own institution certificate. The 2021 system could not tell where
//! requests got stuck; this names the first hop that fails, why, and what to do about it.
//!
//! Hops, in order (a hop is checked only when every hop before it passed):
//!
//! 1. `dns`: the portal's host name resolves.
//! 2. `tcp`: a connection opens to one of its addresses.
//! 3. `tls`: the mutual TLS handshake, including the portal's verdict on the institution
//!    certificate (unknown CA, expired, revoked: from the TLS alert it sends).
//! 4. `registration`: the portal's view of the pharmacy (`GET /api/pharmacy/registration`):
//!    certificate profile and profession, registered, not suspended.
//! 5. `readiness`: `GET /health/ready`; names the portal's own hop that is down.
//! 6. `dry_run`: a synthetic request through `POST /api/certify/v2/dry-run`: every check of an
//!    issuance, nothing signed or recorded.
//!
//! The report carries stable codes, so it can be read by programs (`--json`).

mod advice;
mod connection;
mod portal_checks;

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use serde::Serialize;

use crate::clock;

/// What to examine and with which identity.
#[derive(Debug, Clone)]
pub struct DoctorSettings {
    /// The portal's base URL, `https://host[:port]`.
    pub portal: String,
    /// The institution certificate (PEM), optionally followed by its CA chain.
    pub certificate_pem: Vec<u8>,
    /// Its private key (PKCS#8 PEM).
    pub key_pem: Vec<u8>,
    /// The CA(s) to trust for the portal's server certificate (PEM); `None`: the operating
    /// system's trust store.
    pub ca_pem: Option<Vec<u8>>,
}

/// Why the examination could not start (exit status 2 in the CLI).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DoctorError {
    /// The portal URL is not `https://host[:port]`.
    #[error("the portal URL {0:?} is not an https:// URL with a host")]
    Url(String),
    /// A PEM file holds nothing usable.
    #[error("cannot read the {what}: {source}")]
    Pem {
        /// Which file (`certificate`, `key`, `CA`).
        what: &'static str,
        /// Why.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused the certificate, key or CA (for example a key that is not the
    /// certificate's).
    #[error("the certificate, key or CA is unusable: {0}")]
    Tls(#[from] rustls::Error),
    /// The HTTP client could not be built from them.
    #[error("the certificate, key or CA is unusable for HTTPS: {0}")]
    Client(#[source] reqwest::Error),
}

/// The outcome of every hop, in order.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// The portal examined.
    pub portal: String,
    /// Whether every hop passed.
    pub ok: bool,
    /// One entry per hop, in order.
    pub hops: Vec<HopReport>,
}

/// One hop's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct HopReport {
    /// Which hop.
    pub hop: Hop,
    /// Passed, failed, or not checked because an earlier hop failed.
    pub status: HopStatus,
    /// What was found.
    pub detail: String,
    /// The stable code of a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// What the pharmacy (or the operator) can do about a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what_to_do: Option<&'static str>,
    /// How long the hop took, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<f64>,
}

/// The hops, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hop {
    /// Name resolution.
    Dns,
    /// TCP connection.
    Tcp,
    /// Mutual TLS handshake.
    Tls,
    /// The portal's view of the pharmacy.
    Registration,
    /// The portal's own dependencies.
    Readiness,
    /// A synthetic issuance request, checked but not issued.
    DryRun,
}

/// A hop's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HopStatus {
    /// It works.
    Ok,
    /// It fails; see the code and what to do.
    Failed,
    /// Not checked: an earlier hop failed.
    NotChecked,
}

impl Hop {
    /// All hops in order.
    pub const ALL: [Hop; 6] = [
        Hop::Dns,
        Hop::Tcp,
        Hop::Tls,
        Hop::Registration,
        Hop::Readiness,
        Hop::DryRun,
    ];

    /// The hop's name as printed.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
            Self::Registration => "registration",
            Self::Readiness => "readiness",
            Self::DryRun => "dry_run",
        }
    }
}

/// Examines the path to the portal hop by hop, stopping at the first failure.
pub async fn examine(settings: &DoctorSettings) -> Result<DoctorReport, DoctorError> {
    let target = Target::parse(&settings.portal)?;
    let identity = Identity::read(settings)?;
    let tls_config = identity.tls_config()?;
    let client = identity.http_client()?;
    let mut run = Run::default();

    let addresses = run.hop(Hop::Dns, connection::resolve(&target)).await;
    let Some(addresses) = addresses else {
        return Ok(run.finish(settings));
    };
    let connected = run.hop(Hop::Tcp, connection::connect(&addresses)).await;
    let Some((stream, _)) = connected else {
        return Ok(run.finish(settings));
    };
    let tls = connection::handshake(stream, &target, tls_config);
    if run.hop(Hop::Tls, tls).await.is_none() {
        return Ok(run.finish(settings));
    }
    let checks = portal_checks::PortalChecks {
        client: &client,
        base: &target.base,
    };
    if run
        .hop(Hop::Registration, checks.registration())
        .await
        .is_none()
        || run.hop(Hop::Readiness, checks.readiness()).await.is_none()
    {
        return Ok(run.finish(settings));
    }
    run.hop(Hop::DryRun, checks.dry_run()).await;
    Ok(run.finish(settings))
}

/// A hop that failed: a stable code and what was seen.
#[derive(Debug, Clone)]
struct Failure {
    code: &'static str,
    detail: String,
}

impl Failure {
    fn new(code: &'static str, detail: String) -> Self {
        Self { code, detail }
    }
}

/// What a passed hop reports about itself.
trait Passed {
    fn detail(&self) -> String;
}

impl Passed for Vec<std::net::SocketAddr> {
    fn detail(&self) -> String {
        let list: Vec<String> = self
            .iter()
            .map(|address| address.ip().to_string())
            .collect();
        format!("resolves to {}", list.join(", "))
    }
}

impl Passed for (tokio::net::TcpStream, std::net::SocketAddr) {
    fn detail(&self) -> String {
        format!("connected to {}", self.1)
    }
}

impl Passed for u16 {
    fn detail(&self) -> String {
        format!("mutual TLS established; GET /health/live answered {self}")
    }
}

impl Passed for String {
    fn detail(&self) -> String {
        self.clone()
    }
}

/// The hops checked so far.
#[derive(Default)]
struct Run {
    hops: Vec<HopReport>,
}

impl Run {
    /// Runs one hop and records it; its result when it passed.
    async fn hop<T: Passed>(
        &mut self,
        hop: Hop,
        check: impl Future<Output = Result<T, Failure>>,
    ) -> Option<T> {
        let started = clock::instant();
        let outcome = check.await;
        let elapsed_ms = Some((started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0);
        match outcome {
            Ok(passed) => {
                self.hops.push(HopReport {
                    hop,
                    status: HopStatus::Ok,
                    detail: passed.detail(),
                    code: None,
                    what_to_do: None,
                    elapsed_ms,
                });
                Some(passed)
            }
            Err(failure) => {
                self.hops.push(HopReport {
                    hop,
                    status: HopStatus::Failed,
                    detail: failure.detail,
                    code: Some(failure.code),
                    what_to_do: Some(advice::what_to_do(failure.code)),
                    elapsed_ms,
                });
                None
            }
        }
    }

    /// The report, the hops after a failure marked as not checked.
    fn finish(mut self, settings: &DoctorSettings) -> DoctorReport {
        let failed = self
            .hops
            .iter()
            .find(|report| report.status == HopStatus::Failed)
            .map(|report| report.hop.name());
        for hop in Hop::ALL.into_iter().skip(self.hops.len()) {
            self.hops.push(HopReport {
                hop,
                status: HopStatus::NotChecked,
                detail: format!("not checked: {} failed", failed.unwrap_or("a hop")),
                code: None,
                what_to_do: None,
                elapsed_ms: None,
            });
        }
        DoctorReport {
            portal: settings.portal.clone(),
            ok: self
                .hops
                .iter()
                .all(|report| report.status == HopStatus::Ok),
            hops: self.hops,
        }
    }
}

/// The portal's address, parsed once.
struct Target {
    base: reqwest::Url,
    host: String,
    port: u16,
}

impl Target {
    fn parse(portal: &str) -> Result<Self, DoctorError> {
        let invalid = || DoctorError::Url(portal.to_owned());
        let base = reqwest::Url::parse(portal).map_err(|_| invalid())?;
        if base.scheme() != "https" {
            return Err(invalid());
        }
        let host = base.host_str().ok_or_else(invalid)?;
        // An IPv6 literal is written in brackets in a URL, not in a socket address.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = base.port_or_known_default().ok_or_else(invalid)?;
        Ok(Self { base, host, port })
    }
}

/// The pharmacy's certificate, key and trust anchors, read once.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key_pem: Vec<u8>,
    certificate_pem: Vec<u8>,
    roots: Option<(RootCertStore, Vec<u8>)>,
}

impl Identity {
    fn read(settings: &DoctorSettings) -> Result<Self, DoctorError> {
        let pem = |what| move |source| DoctorError::Pem { what, source };
        let chain = CertificateDer::pem_slice_iter(&settings.certificate_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem("certificate"))?;
        PrivateKeyDer::from_pem_slice(&settings.key_pem).map_err(pem("key"))?;
        let roots = match &settings.ca_pem {
            Some(ca_pem) => {
                let mut roots = RootCertStore::empty();
                for certificate in CertificateDer::pem_slice_iter(ca_pem) {
                    roots.add(certificate.map_err(pem("CA"))?)?;
                }
                Some((roots, ca_pem.clone()))
            }
            None => None,
        };
        Ok(Self {
            chain,
            key_pem: settings.key_pem.clone(),
            certificate_pem: settings.certificate_pem.clone(),
            roots,
        })
    }

    /// The TLS client for the handshake hop: HTTP/1.1 only, so one request can be written
    /// by hand.
    fn tls_config(&self) -> Result<Arc<ClientConfig>, DoctorError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = match &self.roots {
            Some((roots, _)) => builder.with_root_certificates(roots.clone()),
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(
                    rustls_platform_verifier::Verifier::new(provider)?,
                )),
        };
        let key =
            PrivateKeyDer::from_pem_slice(&self.key_pem).map_err(|source| DoctorError::Pem {
                what: "key",
                source,
            })?;
        let mut config = builder.with_client_auth_cert(self.chain.clone(), key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// The HTTPS client for the portal's API hops.
    fn http_client(&self) -> Result<reqwest::Client, DoctorError> {
        let mut identity = self.certificate_pem.clone();
        identity.push(b'\n');
        identity.extend_from_slice(&self.key_pem);
        let identity = reqwest::Identity::from_pem(&identity).map_err(DoctorError::Client)?;
        let mut builder = reqwest::Client::builder()
            .identity(identity)
            .timeout(connection::STEP_TIMEOUT * 2);
        if let Some((_, ca_pem)) = &self.roots {
            let roots =
                reqwest::Certificate::from_pem_bundle(ca_pem).map_err(DoctorError::Client)?;
            builder = builder.tls_certs_only(roots);
        }
        builder.build().map_err(DoctorError::Client)
    }
}
