//! A PKCS#11 token: the module loaded once per process, the slot found by token label, and
//! the user PIN.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CryptokiError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use crate::HsmError;

/// A token, found by its label in a loaded module.
#[derive(Clone)]
pub struct Token {
    context: Pkcs11,
    slot: Slot,
    label: String,
}

/// A user PIN. Its `Debug` output is redacted; it is handed to the token and nowhere else.
pub struct Pin(String);

impl Pin {
    /// A PIN given directly (tests, `softhsm2-util` set-up).
    pub fn new(pin: impl Into<String>) -> Self {
        Self(pin.into())
    }

    /// The PIN in the environment variable `name`.
    pub fn from_env(name: &str) -> Result<Self, HsmError> {
        std::env::var(name)
            .map(Self)
            .map_err(|_| HsmError::PinUnavailable {
                source_name: format!("the environment variable {name}"),
            })
    }

    /// The PIN on the first line of the file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, HsmError> {
        let text = std::fs::read_to_string(path).map_err(|_| HsmError::PinUnavailable {
            source_name: format!("the file {}", path.display()),
        })?;
        Ok(Self(text.lines().next().unwrap_or_default().to_owned()))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

impl Token {
    /// Loads `module` (once per process; later calls reuse it) and finds the token labelled
    /// `label`.
    pub fn open(module: &Path, label: &str) -> Result<Self, HsmError> {
        let context = context(module)?;
        let slots = context
            .get_slots_with_token()
            .map_err(HsmError::call("listing slots"))?;
        for slot in slots {
            let info = context
                .get_token_info(slot)
                .map_err(HsmError::call("reading token information"))?;
            if info.label().trim_end() == label {
                return Ok(Self {
                    context,
                    slot,
                    label: label.to_owned(),
                });
            }
        }
        Err(HsmError::TokenNotFound(label.to_owned()))
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// A new read-write session, logged in as the user. The login state is shared by all
    /// sessions of the process, so "already logged in" counts as success.
    pub fn session(&self, pin: &Pin) -> Result<Session, HsmError> {
        let session = self
            .context
            .open_rw_session(self.slot)
            .map_err(HsmError::call("opening a session"))?;
        match session.login(UserType::User, Some(&AuthPin::from(pin.0.clone()))) {
            Ok(()) | Err(CryptokiError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(source) => Err(HsmError::Login {
                token: self.label.clone(),
                source,
            }),
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// The initialised context of `module`, shared by the whole process (PKCS#11 modules may be
/// initialised only once).
fn context(module: &Path) -> Result<Pkcs11, HsmError> {
    static CONTEXTS: OnceLock<Mutex<BTreeMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut contexts = CONTEXTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(context) = contexts.get(module) {
        return Ok(context.clone());
    }
    let error = |source| HsmError::Module {
        module: module.to_owned(),
        source,
    };
    let context = Pkcs11::new(module).map_err(error)?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CryptokiError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(source) => return Err(error(source)),
    }
    contexts.insert(module.to_owned(), context.clone());
    Ok(context)
}
