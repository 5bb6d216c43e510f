//! The DSC/key registry at run time: which DSCs are published and which one signs, read from
//! the database (`dcc_store::signing_keys`) by every instance.
//!
//! Why the database and not a watched file: several portal and signer instances may share one
//! PostgreSQL (or one SQLite file on one host); the registry rows are the one place all of
//! them already read, a rotation is one transaction (retire the old DSC, activate the new,
//! enforced by a partial unique index), and the ledger that decides how long a retired DSC
//! stays published is in the same database. Each instance re-reads the rows every
//! [`REFRESH_INTERVAL`] and swaps its key set atomically; requests in flight finish with the
//! set they started with. A new DSC is published at once but signs only after
//! [`SWITCH_DELAY_SECONDS`], when every instance lists it. Key files and PKCS#11 tokens are named by location only; they must
//! be reachable from every instance.
//!
//! The keys configured in `dcc.toml` bootstrap the registry: a type's configured DSC is
//! registered as active when that type has no active DSC yet.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use dcc_core::dsc::{self, Dsc, DscError};
use dcc_core::kid::Kid;
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::signer::Signer;
use dcc_issuance::publication::{DscLifecycle, PublishedDsc};
use dcc_issuance::signing::{CertificateServer, SigningError, SigningKeys, TypeSigner};
use dcc_store::signing_keys::{self, NewSigningKey, SigningKey, SigningKeyStatus};
use dcc_store::{Store, StoreError};

use crate::clock;
use crate::config::{Config, KeyConfig, KeyLocation};
use crate::key_loader::{self, KeyLoadError};

/// How often a running server re-reads the registry.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(2);

/// The registry of one server process: the database, the configuration (for key locations
/// and certificate lifetimes) and the keys loaded so far, by kid.
pub struct KeyRegistry {
    config: Config,
    store: Store,
    loaded: Mutex<BTreeMap<Kid, Arc<dyn Signer>>>,
}

/// Why the registry could not be read or a registered key not loaded. Messages name kids,
/// files and tokens, never key material or PINs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRegistryError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A configured DSC file cannot be read.
    #[error("cannot read the configured {certificate_type} DSC {path}: {source}")]
    ConfiguredDsc {
        /// The type.
        certificate_type: CertificateType,
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: ConfiguredDscError,
    },
    /// A configured key names both a file and a PKCS#11 token, or neither.
    #[error("the {0} key must name either a key file or a pkcs11 token, not both or neither")]
    KeyLocation(CertificateType),
    /// A registered DSC is not a usable certificate.
    #[error("the registered DSC {kid} is unusable: {source}")]
    Dsc {
        /// Its kid (base64).
        kid: String,
        /// Why.
        #[source]
        source: DscError,
    },
    /// A registered key reference is not readable.
    #[error("the key reference of DSC {kid} is unreadable: {source}")]
    KeyRef {
        /// Its kid (base64).
        kid: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A registered key could not be loaded.
    #[error("the key of DSC {kid} cannot be loaded: {source}")]
    Key {
        /// Its kid (base64).
        kid: String,
        /// Why.
        #[source]
        source: KeyLoadError,
    },
    /// Key, DSC and type do not fit together.
    #[error(transparent)]
    Signing(#[from] SigningError),
}

/// Why a configured DSC file is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfiguredDscError {
    /// It cannot be read.
    #[error(transparent)]
    Read(#[from] std::io::Error),
    /// It is not one usable certificate.
    #[error("not exactly one usable certificate")]
    Certificate(#[source] Option<DscError>),
}

impl KeyRegistry {
    /// The registry in `store`, with key locations resolved against `config`.
    pub fn new(config: &Config, store: Store) -> Self {
        Self {
            config: config.clone(),
            store,
            loaded: Mutex::new(BTreeMap::new()),
        }
    }

    /// Registers each configured DSC as the active one of its type, unless the type has an
    /// active DSC already or the DSC is registered (idempotent; every start calls it).
    pub async fn bootstrap(&self, now: i64) -> Result<(), KeyRegistryError> {
        for (certificate_type, key) in configured(&self.config) {
            let location = key
                .location()
                .ok_or(KeyRegistryError::KeyLocation(certificate_type))?;
            let dsc = self.configured_dsc(certificate_type, key)?;
            let key_ref =
                serde_json::to_string(&location).map_err(|source| KeyRegistryError::KeyRef {
                    kid: dsc.kid().to_base64(),
                    source,
                })?;
            let kid = dsc.kid().to_base64();
            let mut tx = self.store.begin().await?;
            let new_key = NewSigningKey {
                kid: &kid,
                certificate_type: store_type(certificate_type),
                certificate_der: dsc.as_der(),
                key_ref: &key_ref,
                now,
            };
            if signing_keys::register_if_first(&mut tx, &new_key).await? {
                tracing::info!(kid, %certificate_type, "registered the configured DSC");
            }
            dcc_store::commit(tx).await?;
        }
        Ok(())
    }

    /// The DSCs on the published list at `now`, oldest first.
    pub async fn published(&self, now: i64) -> Result<Vec<PublishedDsc>, KeyRegistryError> {
        Ok(self
            .read(now)
            .await?
            .into_iter()
            .filter(|row| row.published)
            .map(|row| PublishedDsc {
                dsc: row.dsc,
                published_at: row.key.created_at,
            })
            .collect())
    }

    /// The key set at `now`: the active key per type (loaded from its file or token, once per
    /// kid) and the published kids.
    pub async fn signing_keys(&self, now: i64) -> Result<SigningKeys, KeyRegistryError> {
        let rows = self.read(now).await?;
        let mut keys = SigningKeys::new();
        let mut in_use = BTreeMap::new();
        for row in &rows {
            if row.published {
                keys = keys.publish(row.dsc.kid());
            }
        }
        for row in rows
            .iter()
            .filter(|row| row.key.status == SigningKeyStatus::Active)
        {
            let (signing, signer) = match signing_row(&rows, row, now) {
                previous if !std::ptr::eq(previous, row) => match self.signer_for(previous) {
                    Ok(signer) => (previous, signer),
                    // The previous key is gone (e.g. a replaced dev PKI): sign with the new one.
                    Err(_) => (row, self.signer_for(row)?),
                },
                _ => (row, self.signer_for(row)?),
            };
            let certificate_type = core_type(signing.key.certificate_type);
            in_use.insert(signing.dsc.kid(), Arc::clone(&signer));
            let lifetime_days = configured(&self.config)
                .find(|(configured_type, _)| *configured_type == certificate_type)
                .map_or(0, |(_, key)| key.lifetime_days);
            keys = keys.with_type(
                certificate_type,
                TypeSigner {
                    signer,
                    dsc: signing.dsc.clone(),
                    lifetime_seconds: lifetime_days * SECONDS_PER_DAY,
                },
            )?;
        }
        // Keys no longer in use are dropped (an HSM session pool is closed with its signer).
        *self
            .loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = in_use;
        Ok(keys)
    }

    /// Loads the key set now and installs it in `server`.
    pub async fn install_into(&self, server: &CertificateServer) -> Result<(), KeyRegistryError> {
        let keys = self.signing_keys(clock::now().unix_timestamp()).await?;
        server.install(keys);
        Ok(())
    }

    /// Re-reads the registry every [`REFRESH_INTERVAL`] and installs the result in `server`,
    /// until the server is dropped. A failed read keeps the current keys and is logged.
    pub fn spawn_refresh(self: Arc<Self>, server: Weak<CertificateServer>) {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(REFRESH_INTERVAL);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(server) = server.upgrade() else {
                    return;
                };
                if let Err(error) = self.install_into(&server).await {
                    tracing::warn!(%error, "could not refresh the signing keys; keeping the current ones");
                }
            }
        });
    }

    fn configured_dsc(
        &self,
        certificate_type: CertificateType,
        key: &KeyConfig,
    ) -> Result<Dsc, KeyRegistryError> {
        let path = self.config.resolve(&key.certificate);
        let error = |source| KeyRegistryError::ConfiguredDsc {
            certificate_type,
            path: path.clone(),
            source,
        };
        let bytes = std::fs::read(&path).map_err(|source| error(source.into()))?;
        let mut dscs = dsc::from_pem_or_der(&bytes)
            .map_err(|source| error(ConfiguredDscError::Certificate(Some(source))))?;
        match (dscs.pop(), dscs.is_empty()) {
            (Some(dsc), true) => Ok(dsc),
            _ => Err(error(ConfiguredDscError::Certificate(None))),
        }
    }

    /// Every registered DSC, parsed, with whether it is published at `now`.
    async fn read(&self, now: i64) -> Result<Vec<RegisteredDsc>, KeyRegistryError> {
        let rows = signing_keys::list(self.store.pool()).await?;
        let mut registered = Vec::with_capacity(rows.len());
        for key in rows {
            let dsc =
                Dsc::from_der(&key.certificate_der).map_err(|source| KeyRegistryError::Dsc {
                    kid: key.kid.clone(),
                    source,
                })?;
            let lifecycle = match (key.status, key.retired_at) {
                (SigningKeyStatus::Active, _) => DscLifecycle::Active,
                (SigningKeyStatus::Retired, retired_at) => DscLifecycle::Retired {
                    retired_at: retired_at.unwrap_or(key.activated_at),
                    latest_expiry: signing_keys::latest_expiry(self.store.pool(), &key.kid).await?,
                },
            };
            registered.push(RegisteredDsc {
                published: lifecycle.is_published(now),
                dsc,
                key,
            });
        }
        Ok(registered)
    }

    fn signer_for(&self, row: &RegisteredDsc) -> Result<Arc<dyn Signer>, KeyRegistryError> {
        let kid = row.dsc.kid();
        if let Some(signer) = self
            .loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&kid)
        {
            return Ok(Arc::clone(signer));
        }
        let location: KeyLocation =
            serde_json::from_str(&row.key.key_ref).map_err(|source| KeyRegistryError::KeyRef {
                kid: row.key.kid.clone(),
                source,
            })?;
        key_loader::load(&self.config, &location, &row.dsc).map_err(|source| {
            KeyRegistryError::Key {
                kid: row.key.kid.clone(),
                source,
            }
        })
    }
}

/// A registry row with its parsed DSC.
struct RegisteredDsc {
    key: SigningKey,
    dsc: Dsc,
    published: bool,
}

/// The row whose key signs for `active`'s type at `now`: `active` itself, except during the
/// first [`SWITCH_DELAY_SECONDS`] after it was activated, when the DSC it replaced keeps
/// signing. By then every instance has re-read the registry, so every published list (and
/// every portal's check of a remote signer) holds the new DSC before a certificate carries
/// its kid.
fn signing_row<'a>(
    rows: &'a [RegisteredDsc],
    active: &'a RegisteredDsc,
    now: i64,
) -> &'a RegisteredDsc {
    if now >= active.key.activated_at.saturating_add(SWITCH_DELAY_SECONDS) {
        return active;
    }
    rows.iter()
        .find(|row| {
            row.key.certificate_type == active.key.certificate_type
                && row.key.status == SigningKeyStatus::Retired
                && row.key.retired_at == Some(active.key.activated_at)
                && row.published
        })
        .unwrap_or(active)
}

/// How long a newly activated DSC is published before it signs: more than two
/// [`REFRESH_INTERVAL`]s.
pub const SWITCH_DELAY_SECONDS: i64 = 5;

/// The configured keys, by type.
fn configured(config: &Config) -> impl Iterator<Item = (CertificateType, &KeyConfig)> {
    [
        (CertificateType::Vaccination, &config.signer.vaccination),
        (CertificateType::Test, &config.signer.test),
        (CertificateType::Recovery, &config.signer.recovery),
    ]
    .into_iter()
}

/// The store's spelling of a certificate type.
pub fn store_type(certificate_type: CertificateType) -> dcc_store::ledger::CertificateType {
    match certificate_type {
        CertificateType::Vaccination => dcc_store::ledger::CertificateType::Vaccination,
        CertificateType::Test => dcc_store::ledger::CertificateType::Test,
        CertificateType::Recovery => dcc_store::ledger::CertificateType::Recovery,
    }
}

fn core_type(certificate_type: dcc_store::ledger::CertificateType) -> CertificateType {
    match certificate_type {
        dcc_store::ledger::CertificateType::Vaccination => CertificateType::Vaccination,
        dcc_store::ledger::CertificateType::Test => CertificateType::Test,
        dcc_store::ledger::CertificateType::Recovery => CertificateType::Recovery,
    }
}

const SECONDS_PER_DAY: i64 = 86_400;
