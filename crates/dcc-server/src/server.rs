//! Starting the portal: database, certificate server, TLS, listener.

use std::net::SocketAddr;
use std::sync::Arc;

use dcc_core::model::certificate_type::CertificateType;
use dcc_issuance::audit::{self, AuditEvent};
use dcc_issuance::issue::SignService;
use dcc_issuance::signing::{CertificateServer, SigningError, TypeSigner};
use dcc_pki::file_signer::{FileSigner, FileSignerError};
use dcc_store::{Store, StoreError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{Config, KeyConfig};
use crate::identity::ConnectionIdentity;
use crate::tls::{self, ConnectionPolicy, MutualTlsFiles, TlsSetupError};
use crate::{clock, portal};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// A signing key or DSC could not be loaded.
    #[error("cannot load the {certificate_type} signing key: {source}")]
    Key {
        /// Which type's key.
        certificate_type: CertificateType,
        /// Why.
        #[source]
        source: FileSignerError,
    },
    /// Key, DSC and type do not fit together.
    #[error(transparent)]
    Signer(#[from] SigningError),
    /// A TLS file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TLS configuration is unusable.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A running portal.
pub struct RunningPortal {
    /// The address it listens on (useful with port 0).
    pub local_addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningPortal {
    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }

    /// Waits until the accept loop ends (it ends only on error or after [`Self::stop`]).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(join_error) => Err(std::io::Error::other(join_error)),
        }
    }
}

/// Builds the in-process certificate server from the configured file keys.
pub fn certificate_server(config: &Config) -> Result<CertificateServer, StartError> {
    let mut server = CertificateServer::new(config.issuer.country.clone());
    for (certificate_type, key) in [
        (CertificateType::Vaccination, &config.signer.vaccination),
        (CertificateType::Test, &config.signer.test),
        (CertificateType::Recovery, &config.signer.recovery),
    ] {
        server = server.with_type(
            certificate_type,
            type_signer(config, certificate_type, key)?,
        )?;
    }
    Ok(server)
}

fn type_signer(
    config: &Config,
    certificate_type: CertificateType,
    key: &KeyConfig,
) -> Result<TypeSigner, StartError> {
    let file_signer =
        FileSigner::load(&config.resolve(&key.certificate), &config.resolve(&key.key)).map_err(
            |source| StartError::Key {
                certificate_type,
                source,
            },
        )?;
    let (signer, dsc) = file_signer.into_parts();
    Ok(TypeSigner {
        signer: Arc::new(signer),
        dsc,
        lifetime_seconds: key.lifetime_days * 86_400,
    })
}

/// Starts the portal on its configured address (`listen` overrides it, e.g. port 0 in tests).
pub async fn start_portal(
    config: &Config,
    store: Store,
    signer: Arc<dyn SignService>,
    listen: Option<SocketAddr>,
) -> Result<RunningPortal, StartError> {
    let read = |path: &std::path::Path| {
        let path = config.resolve(path);
        std::fs::read(&path).map_err(|source| StartError::Read { path, source })
    };
    let files = MutualTlsFiles {
        server_chain: read(&config.portal.tls_certificate)?,
        server_key: read(&config.portal.tls_key)?,
        client_roots: read(&config.portal.client_ca)?,
        client_crls: config
            .portal
            .client_crls
            .iter()
            .map(|p| read(p))
            .collect::<Result<_, _>>()?,
    };
    let tls_config = tls::server_config(&files)?;
    let address = listen.unwrap_or(config.portal.listen);
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind { address, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { address, source })?;

    let allowed = config.portal.allowed_professions.clone();
    let audit_store = store.clone();
    let identify = Arc::new(move |leaf: &[u8]| {
        let identity = ConnectionIdentity::from_certificate(leaf, &allowed);
        if let ConnectionIdentity::Rejected(rejection) = &identity {
            audit_access_rejected(audit_store.clone(), None, rejection.code());
        }
        identity
    });
    let reject_store = store.clone();
    let on_reject = Arc::new(move |rejection: tls::HandshakeRejection| {
        audit_access_rejected(reject_store.clone(), None, rejection.code());
    });
    let app = portal::app(portal::PortalState {
        store,
        signer,
        country: config.issuer.country.clone(),
        issuer_name: config.issuer.name.clone(),
    });
    let (shutdown, shutdown_signal) = oneshot::channel::<()>();
    let task = tokio::spawn(tls::serve(
        listener,
        tls_config,
        app,
        ConnectionPolicy {
            identify,
            on_reject,
        },
        async move {
            let _ = shutdown_signal.await;
        },
    ));
    tracing::info!(%local_addr, "portal listening");
    Ok(RunningPortal {
        local_addr,
        shutdown,
        task,
    })
}

/// Records a refused connection in the audit chain, off the connection's path.
fn audit_access_rejected(store: Store, telematik_id: Option<String>, code: &'static str) {
    tokio::spawn(async move {
        let event = AuditEvent::AccessRejected { telematik_id, code };
        let result = async {
            let mut tx = store.begin().await?;
            audit::record(&mut tx, &event, clock::now().unix_timestamp()).await?;
            dcc_store::commit(tx).await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, code, "could not audit a refused connection");
        }
    });
}
