//! Loading a signing key from where the configuration or the key registry says it lives: a
//! PKCS#8 file, or a key in a PKCS#11 token. Errors name the file or token, never key material
//! or the PIN.

use std::sync::Arc;

use dcc_core::dsc::Dsc;
use dcc_core::signer::Signer;
use dcc_pki::file_signer::{FileSigner, FileSignerError};

use dcc_hsm::HsmError;
use dcc_hsm::key::KeySelector;
use dcc_hsm::signer::{Pkcs11KeySpec, Pkcs11Signer};
use dcc_hsm::token::Pin;

use crate::config::{Config, KeyLocation, PinSource, Pkcs11KeyConfig};

/// Why a key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLoadError {
    /// The file key is unusable or does not belong to the DSC.
    #[error(transparent)]
    File(#[from] FileSignerError),
    /// The PKCS#11 key is unusable (module, token, PIN source, key, or not the DSC's key).
    #[error(transparent)]
    Pkcs11(#[from] HsmError),
    /// A PKCS#11 key entry names neither `key_label` nor a hex `key_id`.
    #[error("a pkcs11 key needs key_label or a hex key_id")]
    Pkcs11KeySelector,
}

/// Loads the key at `location` for `dsc`; the key must belong to the DSC's public key.
pub fn load(
    config: &Config,
    location: &KeyLocation,
    dsc: &Dsc,
) -> Result<Arc<dyn Signer>, KeyLoadError> {
    match location {
        KeyLocation::File(path) => {
            let path = config.resolve(path);
            let key = std::fs::read(&path).map_err(|source| FileSignerError::Read {
                path: path.clone(),
                source,
            })?;
            let signer = FileSigner::from_pem(dsc.as_der(), &String::from_utf8_lossy(&key))?;
            Ok(Arc::new(signer))
        }
        KeyLocation::Pkcs11(pkcs11) => {
            let spec = pkcs11_spec(config, pkcs11)?;
            Ok(Arc::new(Pkcs11Signer::open(&spec, dsc)?))
        }
    }
}

/// The key spec for a configured PKCS#11 key: PIN read from its source now, a session pool
/// as large as the number of CPUs (the async runtime's worker count).
pub fn pkcs11_spec(
    config: &Config,
    pkcs11: &Pkcs11KeyConfig,
) -> Result<Pkcs11KeySpec, KeyLoadError> {
    let pin = match &pkcs11.pin {
        PinSource::Env(name) => Pin::from_env(name)?,
        PinSource::File(path) => Pin::from_file(&config.resolve(path))?,
    };
    Ok(Pkcs11KeySpec {
        module: pkcs11.module.clone(),
        token_label: pkcs11.token_label.clone(),
        pin,
        key: key_selector(pkcs11)?,
        sessions: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
    })
}

/// The key's label, else its id.
pub fn key_selector(pkcs11: &Pkcs11KeyConfig) -> Result<KeySelector, KeyLoadError> {
    if let Some(label) = &pkcs11.key_label {
        return Ok(KeySelector::Label(label.clone()));
    }
    let id = pkcs11
        .key_id
        .as_deref()
        .ok_or(KeyLoadError::Pkcs11KeySelector)?;
    hex::decode(id)
        .map(KeySelector::Id)
        .map_err(|_| KeyLoadError::Pkcs11KeySelector)
}
