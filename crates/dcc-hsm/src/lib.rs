//! `dcc-hsm`: DSC signing keys in a PKCS#11 token (a hardware security module, or SoftHSM2 in
//! development and tests), behind `dcc-core`'s [`dcc_core::signer::Signer`].
//!
//! - [`token`]: load a PKCS#11 module at run time (once per process), find a token by label,
//!   log in with a [`token::Pin`] read from an environment variable or a file.
//! - [`key`]: generate a P-256 key pair inside the token (sensitive, never extractable) and
//!   find keys by label or id; read the public point.
//! - [`signer`]: [`signer::Pkcs11Signer`], a pool of logged-in sessions (a `Session` is `Send`
//!   but not `Sync`) sized to the number of workers. It hashes with SHA-256 in the process
//!   and signs the digest with `CKM_ECDSA` (SoftHSM 2.6 has no `CKM_ECDSA_SHA256`); the token
//!   returns raw `r‖s`, which is the COSE ES256 signature as is.
//!
//! - [`softhsm`]: SoftHSM2 tokens in a private folder, for tests and development.
//!
//! Only ES256 (P-256) keys are supported; the PIN never appears in `Debug` output, logs or
//! errors.

pub mod key;
pub mod signer;
pub mod softhsm;
pub mod token;

/// Why an HSM operation failed. Messages name the module, token and key, never the PIN.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HsmError {
    /// The PKCS#11 module could not be loaded or initialised.
    #[error("cannot load the PKCS#11 module {module}: {source}")]
    Module {
        /// The module path.
        module: std::path::PathBuf,
        /// What cryptoki reported.
        #[source]
        source: cryptoki::error::Error,
    },
    /// No token with this label is present.
    #[error("no PKCS#11 token labelled {0:?}")]
    TokenNotFound(String),
    /// The PIN could not be read from its source.
    #[error("cannot read the PKCS#11 PIN from {source_name}")]
    PinUnavailable {
        /// The environment variable or file named as the PIN's source.
        source_name: String,
    },
    /// Logging in failed (wrong PIN, locked token…).
    #[error("cannot log in to the PKCS#11 token {token}: {source}")]
    Login {
        /// The token label.
        token: String,
        /// What cryptoki reported.
        #[source]
        source: cryptoki::error::Error,
    },
    /// No key (or more than one) matches the label or id.
    #[error("the PKCS#11 token holds {found} {class} keys matching {selector}")]
    KeyNotFound {
        /// The label or id looked for.
        selector: String,
        /// `private` or `public`.
        class: &'static str,
        /// How many matched.
        found: usize,
    },
    /// The token's public key is not an uncompressed P-256 point.
    #[error("the PKCS#11 key is not a P-256 key")]
    NotP256,
    /// The key does not belong to the DSC.
    #[error("the PKCS#11 key does not match the DSC's public key")]
    KeyMismatch,
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {operation} failed: {source}")]
    Call {
        /// What was being done.
        operation: &'static str,
        /// What cryptoki reported.
        #[source]
        source: cryptoki::error::Error,
    },
    /// The token returned a signature of the wrong length.
    #[error("the token returned a {0}-byte signature, not 64")]
    SignatureLength(usize),
    /// A pooled session is no longer logged in (the token was reset or the login expired).
    #[error("the PKCS#11 token {token} session is no longer logged in")]
    LoggedOut {
        /// The token label.
        token: String,
    },
}

impl HsmError {
    pub(crate) fn call(operation: &'static str) -> impl FnOnce(cryptoki::error::Error) -> Self {
        move |source| Self::Call { operation, source }
    }
}
