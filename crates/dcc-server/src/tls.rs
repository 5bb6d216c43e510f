//! Mutual TLS in front of axum: the TI emulation (german-context.md §5).
//!
//! rustls checks the chain to the configured CA, the validity period and the CRL during the
//! handshake; a failure there ends in a TLS alert. The verified leaf certificate is then
//! turned into a typed identity ONCE per connection and handed to every request on that
//! connection as an axum extension, so handlers never see certificate bytes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the TLS layer could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("cannot read {what}: {source}")]
    Pem {
        /// What was being read (`server certificate`, `client CA`, …).
        what: &'static str,
        /// The underlying error.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built.
    #[error("client verifier rejected: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// PEM material for a server that requires client certificates.
#[derive(Debug, Clone)]
pub struct MutualTlsFiles {
    /// The server's certificate chain, PEM.
    pub server_chain: Vec<u8>,
    /// The server's private key, PEM.
    pub server_key: Vec<u8>,
    /// The CA certificates client certificates must chain to, PEM.
    pub client_roots: Vec<u8>,
    /// CRLs of the client CAs, PEM or DER (may be empty).
    pub client_crls: Vec<Vec<u8>>,
}

/// Builds the rustls server configuration (TLS 1.2 and 1.3, h2 and http/1.1).
pub fn server_config(files: &MutualTlsFiles) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(&files.client_roots) {
        let certificate = certificate.map_err(|source| TlsSetupError::Pem {
            what: "client CA",
            source,
        })?;
        roots.add(certificate)?;
    }
    let mut crls = Vec::new();
    for crl in &files.client_crls {
        if crl.first() == Some(&0x30) {
            crls.push(CertificateRevocationListDer::from(crl.clone()));
        } else {
            crls.push(
                CertificateRevocationListDer::from_pem_slice(crl).map_err(|source| {
                    TlsSetupError::Pem {
                        what: "CRL",
                        source,
                    }
                })?,
            );
        }
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        // The CRLs are those of the issuing (SMC-B) CAs; the root publishes none here, so
        // revocation is checked for the institution certificate itself. A certificate whose
        // CA has no CRL configured is refused (unknown revocation status is not accepted).
        .only_check_end_entity_revocation()
        .build()?;
    let chain = CertificateDer::pem_slice_iter(&files.server_chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsSetupError::Pem {
            what: "server certificate",
            source,
        })?;
    let key =
        PrivateKeyDer::from_pem_slice(&files.server_key).map_err(|source| TlsSetupError::Pem {
            what: "server key",
            source,
        })?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Why a client failed the TLS handshake, as far as it concerns the client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeRejection {
    /// The client presented no certificate.
    NoClientCertificate,
    /// The certificate does not chain to a configured CA.
    UnknownCa,
    /// The certificate (or a CA above it) is expired or not yet valid.
    Expired,
    /// The certificate is on the CRL.
    Revoked,
    /// No CRL of the certificate's CA is configured, so its status cannot be known.
    UnknownRevocationStatus,
    /// Another certificate problem (bad signature, wrong usage, malformed).
    BadCertificate,
    /// A handshake failure unrelated to the certificate (protocol, timeout, reset).
    Other,
}

impl HandshakeRejection {
    /// The stable code written to the audit log.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoClientCertificate => "no_client_certificate",
            Self::UnknownCa => "unknown_ca",
            Self::Expired => "certificate_expired",
            Self::Revoked => "certificate_revoked",
            Self::UnknownRevocationStatus => "unknown_revocation_status",
            Self::BadCertificate => "bad_certificate",
            Self::Other => "handshake_failed",
        }
    }

    fn from_io(error: &std::io::Error) -> Self {
        use rustls::CertificateError as Cert;
        let Some(rustls_error) = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        else {
            return Self::Other;
        };
        match rustls_error {
            rustls::Error::NoCertificatesPresented => Self::NoClientCertificate,
            rustls::Error::InvalidCertificate(certificate_error) => match certificate_error {
                // A chain whose names match the configured CA but whose signatures do not
                // was not issued by it either (a look-alike CA): both are "unknown CA".
                Cert::UnknownIssuer | Cert::BadSignature => Self::UnknownCa,
                Cert::Expired
                | Cert::ExpiredContext { .. }
                | Cert::NotValidYet
                | Cert::NotValidYetContext { .. } => Self::Expired,
                Cert::Revoked => Self::Revoked,
                Cert::UnknownRevocationStatus => Self::UnknownRevocationStatus,
                _ => Self::BadCertificate,
            },
            _ => Self::Other,
        }
    }
}

/// Maps the verified leaf certificate (DER) to the identity handed to handlers.
pub type Identify<I> = Arc<dyn Fn(&[u8]) -> I + Send + Sync>;

/// Called for every rejected handshake.
pub type OnReject = Arc<dyn Fn(HandshakeRejection) + Send + Sync>;

/// What to do per connection: identify the peer, and record rejected handshakes.
pub struct ConnectionPolicy<I> {
    /// Maps the verified leaf certificate (DER) to the identity handed to handlers.
    pub identify: Identify<I>,
    /// Called for every rejected handshake.
    pub on_reject: OnReject,
}

impl<I> Clone for ConnectionPolicy<I> {
    fn clone(&self) -> Self {
        Self {
            identify: self.identify.clone(),
            on_reject: self.on_reject.clone(),
        }
    }
}

/// Accepts TLS connections until `shutdown` resolves, serving `app` with the peer identity
/// as an extension on every request.
pub async fn serve<I, F>(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    app: Router,
    policy: ConnectionPolicy<I>,
    shutdown: F,
) -> std::io::Result<()>
where
    I: Clone + Send + Sync + 'static,
    F: std::future::Future<Output = ()> + Send,
{
    let acceptor = TlsAcceptor::from(config);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Accept errors (too many open files, aborted connections) must not end the
                // server; back off a moment and go on.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        let app = app.clone();
        let policy = policy.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    let rejection = HandshakeRejection::from_io(&error);
                    tracing::info!(code = rejection.code(), %error, "TLS handshake rejected");
                    (policy.on_reject)(rejection);
                    return;
                }
                Err(_) => {
                    (policy.on_reject)(HandshakeRejection::Other);
                    return;
                }
            };
            let Some(leaf) = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
            else {
                // The verifier requires a certificate, so this cannot happen; refuse anyway.
                (policy.on_reject)(HandshakeRejection::NoClientCertificate);
                return;
            };
            let identity = (policy.identify)(leaf.as_ref());
            let service = TowerToHyperService::new(app.layer(axum::Extension(identity)));
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(tls), service);
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    // Graceful shutdown: no new connections; open ones finish the requests they are serving
    // (answers are sent only after their certificate is committed) and then close.
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            seconds = DRAIN_TIMEOUT.as_secs(),
            "connections still open after the drain timeout; closing"
        );
    }
    Ok(())
}

/// How long a stopping server waits for open connections to finish their requests.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
