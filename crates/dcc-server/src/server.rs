//! Starting the portal and the certificate server: database, signing keys, TLS, listener;
//! and the portal's client of a certificate server in another process.

use std::net::SocketAddr;
use std::sync::Arc;

use dcc_billing::holder::HolderKeySecret;
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::trust_list::{TrustList, TrustListError};
use dcc_issuance::active_pharmacies::ActivePharmacies;
use dcc_issuance::anomaly::AnomalyDetection;
use dcc_issuance::audit::AuditEvent;
use dcc_issuance::issue::SignService;
use dcc_issuance::recorder::{RecordPolicy, Recorder, RecorderStats, WriteTiming, WriterSettings};
use dcc_issuance::signing::{CertificateServer, SigningError, TypeSigner};
use dcc_pki::file_signer::{FileSigner, FileSignerError};
use dcc_store::{Store, StoreError, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::admin_session::{AdminPeer, AdminState};
use crate::circuit_breaker::{BreakerSettings, CircuitBreaker};
use crate::clock::Clock;
use crate::config::{Config, KeyConfig, KeyLocation};
use crate::identity::ConnectionIdentity;
use crate::key_registry::{KeyRegistry, KeyRegistryError};
use crate::measured_signer::MeasuredSigner;
use crate::metrics::Metrics;
use crate::remote_signer::{RemoteSigner, RemoteSignerSettings, RemoteSignerSetupError};
use crate::signer_service::ServicePeer;
use crate::tls::{self, ConnectionPolicy, MutualTlsFiles, TlsSetupError};
use crate::trust_list::TrustListPublisher;
use crate::{admin_api, clock, portal, signer_service};

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
    /// A configured DSC file holds no usable certificate.
    #[error("cannot read the DSC {path}: {source}")]
    Dsc {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: TrustListError,
    },
    /// The client of the remote certificate server could not be set up.
    #[error(transparent)]
    RemoteSigner(#[from] RemoteSignerSetupError),
    /// The billing configuration is invalid (fee schedule).
    #[error("invalid billing configuration: {0}")]
    Billing(#[from] dcc_billing::BillingError),
    /// The `[anomaly]` settings cannot work.
    #[error("invalid anomaly settings: {0}")]
    Anomaly(#[from] dcc_anomaly::settings::SettingsError),
    /// The holder-key secret file is shorter than 32 bytes.
    #[error("the holder-key secret {0} is too short (at least 32 bytes)")]
    HolderKeySecret(std::path::PathBuf),
    /// The key registry could not be read or bootstrapped, or a registered key not loaded.
    #[error(transparent)]
    Registry(#[from] KeyRegistryError),
    /// The trust-list signing key could not be loaded.
    #[error("cannot load the trust-list signing key: {0}")]
    TrustListKey(#[source] FileSignerError),
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

/// A running portal or certificate server: its accept loop on a task of its own.
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub local_addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    /// The portal's group-commit writer, waited for on a graceful stop.
    writer: Option<Recorder>,
}

/// A running portal.
pub type RunningPortal = RunningServer;

/// A running certificate server (`dcc serve --role signer`).
pub type RunningSigner = RunningServer;

impl RunningServer {
    /// Graceful shutdown: stops accepting connections, lets open ones finish the requests in
    /// flight (at most [`crate::tls::DRAIN_TIMEOUT`]), then returns.
    /// The portal's writer then finishes what it has queued, anomaly detection included.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
        if let Some(writer) = self.writer {
            let _ = writer.settled().await;
        }
    }

    /// Returns once the portal's writer has written, and anomaly detection evaluated, every
    /// certificate answered so far (tests wait for an automatic lock with it). A certificate
    /// server has no writer and returns at once.
    pub async fn settled(&self) {
        if let Some(writer) = &self.writer {
            let _ = writer.settled().await;
        }
    }

    /// What the portal's group-commit writer has committed so far (benchmarks report the
    /// batch sizes); `None` for a certificate server.
    pub fn writer_stats(&self) -> Option<RecorderStats> {
        self.writer.as_ref().map(Recorder::stats)
    }

    /// Waits until the accept loop ends (it ends only on error or after [`Self::stop`]).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(join_error) => Err(std::io::Error::other(join_error)),
        }
    }
}

/// Opens the configured database the way the server's request path needs it: a short wait
/// for a connection (`[database] acquire_timeout_ms`), so that a database that is down is
/// reported as `store_unavailable` at once. Applies pending migrations.
pub async fn connect_store(config: &Config) -> Result<Store, StoreError> {
    let options = StoreOptions {
        acquire_timeout: std::time::Duration::from_millis(config.database.acquire_timeout_ms),
    };
    Store::connect_with(&config.database_url, options).await
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
    let lifetime_seconds = key.lifetime_days * 86_400;
    let location = key
        .location()
        .ok_or(KeyRegistryError::KeyLocation(certificate_type))?;
    let KeyLocation::File(key_path) = &location else {
        // A key in a PKCS#11 token: the DSC from its file, the key from the token.
        let certificate_path = config.resolve(&key.certificate);
        let dsc = TrustList::from_certificates(&read(config, &key.certificate)?)
            .map_err(|source| StartError::Dsc {
                path: certificate_path,
                source,
            })?
            .iter()
            .next()
            .cloned()
            .ok_or(KeyRegistryError::KeyLocation(certificate_type))?;
        let signer = crate::key_loader::load(config, &location, &dsc).map_err(|source| {
            KeyRegistryError::Key {
                kid: dsc.kid().to_base64(),
                source,
            }
        })?;
        return Ok(TypeSigner {
            signer,
            dsc,
            lifetime_seconds,
        });
    };
    let (signer, dsc) =
        FileSigner::load(&config.resolve(&key.certificate), &config.resolve(key_path))
            .map_err(|source| StartError::Key {
                certificate_type,
                source,
            })?
            .into_parts();
    Ok(TypeSigner {
        signer: Arc::new(signer),
        dsc,
        lifetime_seconds,
    })
}

/// The certificate server driven by the key registry in `store`: the configured keys
/// bootstrap the registry, the registry's active keys sign, and the registry is re-read every
/// few seconds so that `dcc keys rotate` takes effect without a restart.
pub async fn registry_certificate_server(
    config: &Config,
    store: &Store,
) -> Result<Arc<CertificateServer>, StartError> {
    let registry = Arc::new(KeyRegistry::new(config, store.clone()));
    registry.bootstrap(clock::now().unix_timestamp()).await?;
    let server = Arc::new(CertificateServer::new(config.issuer.country.clone()));
    registry.install_into(&server).await?;
    Arc::clone(&registry).spawn_refresh(Arc::downgrade(&server));
    Ok(server)
}

/// The trust lists the portal publishes, from the key registry in `store` (bootstrapped with
/// the configured keys) and the configured trust-list signing key.
pub async fn trust_list_publisher(
    config: &Config,
    store: &Store,
) -> Result<TrustListPublisher, StartError> {
    let registry = Arc::new(KeyRegistry::new(config, store.clone()));
    registry.bootstrap(clock::now().unix_timestamp()).await?;
    let list_signer = match &config.trust_list {
        Some(trust_list) => {
            let signer = FileSigner::load(
                &config.resolve(&trust_list.certificate),
                &config.resolve(&trust_list.key),
            )
            .map_err(StartError::TrustListKey)?;
            Some(Arc::new(signer) as Arc<dyn dcc_core::signer::Signer>)
        }
        None => None,
    };
    Ok(TrustListPublisher {
        registry,
        list_signer,
        country: config.issuer.country.clone(),
    })
}

/// Starts the portal on its configured address (`listen` overrides it, e.g. port 0 in tests).
pub async fn start_portal(
    config: &Config,
    store: Store,
    signer: Arc<dyn SignService>,
    listen: Option<SocketAddr>,
) -> Result<RunningPortal, StartError> {
    start_portal_with_clock(config, store, signer, listen, Clock::system()).await
}

/// Like [`start_portal`], issuing at the times `clock` gives (tests drive it through a night
/// or a Sunday).
pub async fn start_portal_with_clock(
    config: &Config,
    store: Store,
    signer: Arc<dyn SignService>,
    listen: Option<SocketAddr>,
    clock: Clock,
) -> Result<RunningPortal, StartError> {
    let read = |path: &std::path::Path| read(config, path);
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
    let listener = bind(listen.unwrap_or(config.portal.listen)).await?;

    let allowed = config.portal.allowed_professions.clone();
    let anomaly = match config.anomaly.enabled {
        true => Some(Arc::new(AnomalyDetection::new(config.anomaly.clone())?)),
        false => None,
    };
    let policy = RecordPolicy {
        limits: config.limits,
        anomaly,
    };
    let metrics = Arc::new(Metrics::new());
    let timing_metrics = metrics.clone();
    let writer = WriterSettings {
        write_timeout: Some(std::time::Duration::from_millis(
            config.database.write_timeout_ms,
        )),
        timing: Some(WriteTiming {
            now: clock::instant,
            observe: Arc::new(move |duration, _jobs| timing_metrics.transaction(duration)),
        }),
    };
    let recorder = Recorder::start_with(store.clone(), policy, writer);
    let settled_on_stop = recorder.clone();
    let store_breaker = Arc::new(CircuitBreaker::new(
        "store",
        BreakerSettings {
            failures_to_open: config.database.breaker_failures.max(1),
            open_for: std::time::Duration::from_millis(config.database.breaker_open_ms),
        },
    ));
    let signer: Arc<dyn SignService> = Arc::new(MeasuredSigner::new(signer, metrics.clone()));
    let audit_recorder = recorder.clone();
    let identify_metrics = metrics.clone();
    let identify = Arc::new(move |leaf: &[u8]| {
        let identity = ConnectionIdentity::from_certificate(leaf, &allowed);
        if let ConnectionIdentity::Rejected(rejection) = &identity {
            identify_metrics.handshake_failure(rejection.code());
            audit_access_rejected(audit_recorder.clone(), None, rejection.code());
        }
        identity
    });
    let reject_recorder = recorder.clone();
    let reject_metrics = metrics.clone();
    let on_reject = Arc::new(move |rejection: tls::HandshakeRejection| {
        reject_metrics.handshake_failure(rejection.code());
        audit_access_rejected(reject_recorder.clone(), None, rejection.code());
    });
    let trust_lists = Arc::new(trust_list_publisher(config, &store).await?);
    let app = portal::app(portal::PortalState {
        recorder,
        pharmacies: Arc::new(ActivePharmacies::new()),
        store,
        signer,
        country: config.issuer.country.clone(),
        issuer_name: config.issuer.name.clone(),
        billing: Arc::new(config.billing.settings()?),
        holder_key_secret: holder_key_secret(config)?.map(Arc::new),
        trust_lists,
        metrics,
        in_flight: Arc::new(tokio::sync::Semaphore::new(config.portal.max_in_flight)),
        sessions: Arc::new(dcc_issuance::sessions::Sessions::new(
            dcc_auth::session::SessionPolicy::default(),
        )),
        sign_in: dcc_issuance::sign_in::SignInPolicy::default(),
        store_breaker,
        clock,
    });
    let policy = ConnectionPolicy {
        identify,
        on_reject,
    };
    let mut portal = spawn(listener, tls_config, app, policy);
    portal.writer = Some(settled_on_stop);
    tracing::info!(local_addr = %portal.local_addr, "portal listening");
    Ok(portal)
}

/// Starts the certificate server as a service of its own on its configured address (`listen`
/// overrides it): the signing keys from the key registry in the configured database, the
/// signer's TLS certificate, and the service CA as the only client trust anchor. Only the
/// portal's identity is served ([`signer_service`]).
pub async fn start_signer(
    config: &Config,
    listen: Option<SocketAddr>,
) -> Result<RunningSigner, StartError> {
    let store = connect_store(config).await?;
    let server = registry_certificate_server(config, &store).await?;
    let files = MutualTlsFiles {
        server_chain: read(config, &config.signer.tls_certificate)?,
        server_key: read(config, &config.signer.tls_key)?,
        client_roots: read(config, &config.signer.client_ca)?,
        // Service certificates are few and replaced with the CA; no CRL is published for them.
        client_crls: Vec::new(),
    };
    let tls_config = tls::server_config(&files)?;
    let listener = bind(listen.unwrap_or(config.signer.listen)).await?;
    let policy = ConnectionPolicy {
        identify: Arc::new(ServicePeer::from_certificate),
        // tls::serve already logs every refused handshake; the signer keeps no audit chain.
        on_reject: Arc::new(|_| {}),
    };
    let signer = spawn(listener, tls_config, signer_service::app(server), policy);
    tracing::info!(local_addr = %signer.local_addr, "certificate server listening");
    Ok(signer)
}

/// Starts the association administrators' listener of the portal process on its configured
/// address (`listen` overrides it): the portal's TLS server certificate, the service CA as the
/// only client trust anchor, and only administrator certificates served
/// ([`crate::admin_session`]). It belongs on the association's internal network.
pub async fn start_admin(
    config: &Config,
    store: Store,
    listen: Option<SocketAddr>,
) -> Result<RunningServer, StartError> {
    let files = MutualTlsFiles {
        server_chain: read(config, &config.portal.tls_certificate)?,
        server_key: read(config, &config.portal.tls_key)?,
        client_roots: read(config, &config.signer.client_ca)?,
        // Service certificates are few and replaced with the CA; no CRL is published for them.
        client_crls: Vec::new(),
    };
    let tls_config = tls::server_config(&files)?;
    let listener = bind(listen.unwrap_or(config.admin.listen)).await?;
    let state = AdminState {
        store,
        sessions: Arc::new(dcc_issuance::sessions::Sessions::new(
            dcc_auth::session::SessionPolicy::default(),
        )),
        sign_in: dcc_issuance::sign_in::SignInPolicy::default(),
    };
    let policy = ConnectionPolicy {
        identify: Arc::new(AdminPeer::from_certificate),
        // tls::serve logs every refused handshake; a refused peer's requests are logged by
        // the admin router's own check.
        on_reject: Arc::new(|_| {}),
    };
    let admin = spawn(listener, tls_config, admin_api::app(state), policy);
    tracing::info!(local_addr = %admin.local_addr, "admin listener listening");
    Ok(admin)
}

/// The portal's client of a certificate server running at `url`: the portal's service
/// identity, the service CA as the only root, and the configured DSCs to check every returned
/// certificate against.
pub fn remote_signer(config: &Config, url: &str) -> Result<RemoteSigner, StartError> {
    let mut identity_pem = read(config, &config.signer.portal_identity_certificate)?;
    identity_pem.push(b'\n');
    identity_pem.extend(read(config, &config.signer.portal_identity_key)?);
    let mut dscs = TrustList::new();
    for key in [
        &config.signer.vaccination,
        &config.signer.test,
        &config.signer.recovery,
    ] {
        let path = config.resolve(&key.certificate);
        let pem = read(config, &key.certificate)?;
        let certificates = TrustList::from_certificates(&pem)
            .map_err(|source| StartError::Dsc { path, source })?;
        dscs.extend(certificates.iter().cloned());
    }
    Ok(RemoteSigner::new(RemoteSignerSettings {
        url,
        service_ca_pem: &read(config, &config.signer.client_ca)?,
        identity_pem: &identity_pem,
        dscs,
        issuer: config.issuer.country.clone(),
    })?)
}

/// The configured holder-key secret, if any.
pub fn holder_key_secret(config: &Config) -> Result<Option<HolderKeySecret>, StartError> {
    let Some(path) = &config.billing.holder_key_secret else {
        return Ok(None);
    };
    let bytes = read(config, path)?;
    HolderKeySecret::new(&bytes)
        .map(Some)
        .ok_or_else(|| StartError::HolderKeySecret(config.resolve(path)))
}

/// Keeps `remote`'s DSCs in step with the published list in the key registry of `store`
/// (re-read every few seconds, so a rotated DSC is accepted), until `remote` is dropped.
pub fn follow_published_dscs(config: &Config, store: &Store, remote: &Arc<RemoteSigner>) {
    let registry = KeyRegistry::new(config, store.clone());
    let remote = Arc::downgrade(remote);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(crate::key_registry::REFRESH_INTERVAL);
        loop {
            ticks.tick().await;
            let Some(remote) = remote.upgrade() else {
                return;
            };
            match registry.published(clock::now().unix_timestamp()).await {
                Ok(published) => {
                    remote.set_published(published.into_iter().map(|entry| entry.dsc));
                }
                Err(error) => tracing::warn!(%error, "could not read the published DSCs"),
            }
        }
    });
}

/// Reads a file named in the configuration (relative to its folder).
fn read(config: &Config, path: &std::path::Path) -> Result<Vec<u8>, StartError> {
    let path = config.resolve(path);
    std::fs::read(&path).map_err(|source| StartError::Read { path, source })
}

/// Binds the listen address; the bound address is known from here on (port 0 in tests).
async fn bind(address: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind { address, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { address, source })?;
    Ok((listener, local_addr))
}

/// Runs the TLS accept loop for `app` on a task until [`RunningServer::stop`].
fn spawn<I>(
    (listener, local_addr): (TcpListener, SocketAddr),
    tls_config: Arc<rustls::ServerConfig>,
    app: axum::Router,
    policy: ConnectionPolicy<I>,
) -> RunningServer
where
    I: Clone + Send + Sync + 'static,
{
    let (shutdown, shutdown_signal) = oneshot::channel::<()>();
    let task = tokio::spawn(tls::serve(listener, tls_config, app, policy, async move {
        let _ = shutdown_signal.await;
    }));
    RunningServer {
        local_addr,
        shutdown,
        task,
        writer: None,
    }
}

/// Records a refused connection in the audit chain, off the connection's path (through the
/// group-commit writer, so a flood of refused handshakes shares transactions).
fn audit_access_rejected(recorder: Recorder, telematik_id: Option<String>, code: &'static str) {
    tokio::spawn(async move {
        let event = AuditEvent::AccessRejected { telematik_id, code };
        let result = recorder.audit(event, clock::now().unix_timestamp()).await;
        if let Err(error) = result {
            tracing::warn!(%error, code, "could not audit a refused connection");
        }
    });
}
