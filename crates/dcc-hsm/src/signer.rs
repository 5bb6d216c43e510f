//! [`Pkcs11Signer`]: a key in a PKCS#11 token as a `dcc-core` [`Signer`].
//!
//! A `cryptoki::Session` is `Send` but not `Sync`, and one session runs one operation at a
//! time, so the signer keeps a pool of logged-in sessions (sized to the number of workers that
//! sign at once). A signing call takes a free session, or waits for one, and puts it back.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, PoisonError};

use aws_lc_rs::digest::{SHA256, digest};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::ObjectHandle;
use cryptoki::session::{Session, SessionState};
use dcc_core::algorithm::Algorithm;
use dcc_core::dsc::Dsc;
use dcc_core::kid::Kid;
use dcc_core::public_key::PublicKey;
use dcc_core::signer::{Signer, SignerError};

use crate::HsmError;
use crate::key::{self, EcPublicKey, KeySelector};
use crate::token::{Pin, Token};

/// Where a PKCS#11 key is and how many sessions sign with it at once.
#[derive(Debug)]
pub struct Pkcs11KeySpec {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The user PIN.
    pub pin: Pin,
    /// The key.
    pub key: KeySelector,
    /// How many sessions to open (at least 1): the number of workers signing at once.
    pub sessions: usize,
}

/// An ES256 key in a PKCS#11 token, for one DSC.
pub struct Pkcs11Signer {
    pool: Mutex<Vec<(Session, ObjectHandle)>>,
    available: Condvar,
    kid: Kid,
    token_label: String,
    selector: KeySelector,
}

impl Pkcs11Signer {
    /// Opens the pool for the key in `spec`, checking that the token's public key is the DSC's.
    pub fn open(spec: &Pkcs11KeySpec, dsc: &Dsc) -> Result<Self, HsmError> {
        let token = Token::open(&spec.module, &spec.token_label)?;
        let mut pool = Vec::with_capacity(spec.sessions.max(1));
        for _ in 0..spec.sessions.max(1) {
            let session = token.session(&spec.pin)?;
            let handle = key::find_private(&session, &spec.key)?;
            pool.push((session, handle));
        }
        if let Some((session, _)) = pool.first() {
            let public = key::find_public(session, &spec.key)?;
            if !matches_dsc(&public, dsc) {
                return Err(HsmError::KeyMismatch);
            }
        }
        Ok(Self {
            pool: Mutex::new(pool),
            available: Condvar::new(),
            kid: dsc.kid(),
            token_label: spec.token_label.clone(),
            selector: spec.key.clone(),
        })
    }

    /// Signs `message`: SHA-256 here, `CKM_ECDSA` over the digest in the token.
    fn sign_digest(&self, message: &[u8]) -> Result<Vec<u8>, HsmError> {
        let hash = digest(&SHA256, message);
        let (session, handle) = self.take();
        let result = session.sign(&Mechanism::Ecdsa, handle, hash.as_ref());
        self.give_back(session, handle);
        let signature = result.map_err(HsmError::call("signing"))?;
        if signature.len() != ES256_SIGNATURE_LEN {
            return Err(HsmError::SignatureLength(signature.len()));
        }
        Ok(signature)
    }

    /// Asks the token about one idle pooled session: it must still exist and be logged in.
    /// When every session is busy signing, the token is evidently working and nothing is
    /// asked (the check never waits for a session).
    pub fn ping(&self) -> Result<(), HsmError> {
        let idle = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let Some((session, handle)) = idle else {
            return Ok(());
        };
        let info = session.get_session_info();
        self.give_back(session, handle);
        let info = info.map_err(HsmError::call("reading the session state"))?;
        match info.session_state() {
            SessionState::RoUser | SessionState::RwUser => Ok(()),
            _ => Err(HsmError::LoggedOut {
                token: self.token_label.clone(),
            }),
        }
    }

    fn take(&self) -> (Session, ObjectHandle) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(entry) = pool.pop() {
                return entry;
            }
            pool = self
                .available
                .wait(pool)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give_back(&self, session: Session, handle: ObjectHandle) {
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((session, handle));
        self.available.notify_one();
    }
}

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }

    fn kid(&self) -> Kid {
        self.kid
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.sign_digest(message)
            .map_err(|error| SignerError::Backend(Box::new(error)))
    }

    fn probe(&self) -> Option<Result<(), SignerError>> {
        Some(
            self.ping()
                .map_err(|error| SignerError::Backend(Box::new(error))),
        )
    }
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.token_label)
            .field("key", &self.selector)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Whether the token's public key is the DSC's public key.
fn matches_dsc(public: &EcPublicKey, dsc: &Dsc) -> bool {
    match (
        PublicKey::from_spki(&public.to_spki_der()),
        dsc.public_key(),
    ) {
        (Ok(PublicKey::EcP256(token)), PublicKey::EcP256(certificate)) => {
            token.as_bytes() == certificate.as_bytes()
        }
        _ => false,
    }
}

const ES256_SIGNATURE_LEN: usize = 64;
