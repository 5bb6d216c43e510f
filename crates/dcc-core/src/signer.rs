//! The signing abstraction: bytes in, raw COSE signature out (dcc-spec.md §1.3).
//!
//! The pipeline never hands a signer a hash to sign "blindly": it builds the whole
//! `Sig_structure` itself and passes those bytes, so a key can only ever sign a certificate
//! this library assembled. Keys may live in memory ([`SoftwareSigner`]) or in an HSM (the
//! PKCS#11 backend implements this trait in another crate).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PSS_SHA256, RsaKeyPair,
};

use crate::algorithm::Algorithm;
use crate::kid::Kid;

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The key material could not be loaded.
    #[error("the signing key could not be loaded: {0}")]
    KeyRejected(#[source] aws_lc_rs::error::KeyRejected),
    /// The key is not of the kind the algorithm needs.
    #[error("a {algorithm} key was expected")]
    WrongKeyType {
        /// The algorithm the key was meant for.
        algorithm: Algorithm,
    },
    /// The software crypto library failed to produce a signature.
    #[error("the signature could not be computed")]
    Crypto,
    /// A signing backend (for example an HSM) failed.
    #[error("the signing backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Something that signs `Sig_structure` bytes for one document signer certificate.
pub trait Signer: Send + Sync {
    /// The COSE algorithm of the signatures.
    fn algorithm(&self) -> Algorithm;
    /// The kid of the DSC that belongs to the key.
    fn kid(&self) -> Kid;
    /// Signs the message, returning the raw COSE signature (`r‖s` for ES256).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError>;
    /// Asks the store that holds the key whether it can sign now, without signing: one cheap
    /// round trip to an HSM, for readiness checks. `None` for a key held in memory, which has
    /// nothing to ask.
    fn probe(&self) -> Option<Result<(), SignerError>> {
        None
    }
}

/// A key held in memory, loaded from PKCS#8 DER.
///
/// ECDSA needs a fresh random nonce per signature; aws-lc draws it from the operating
/// system inside the crypto library, which is the one use of randomness `dcc-core` accepts.
pub struct SoftwareSigner {
    key: SoftwareKey,
    kid: Kid,
    random: SystemRandom,
}

enum SoftwareKey {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

impl SoftwareSigner {
    /// Loads an ES256 (P-256) key from PKCS#8 DER, for the DSC with the given DER encoding.
    pub fn es256_from_pkcs8(pkcs8: &[u8], dsc_der: &[u8]) -> Result<Self, SignerError> {
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map_err(SignerError::KeyRejected)?;
        Ok(Self::new(SoftwareKey::Ecdsa(key), dsc_der))
    }

    /// Loads a PS256 (RSA) key from PKCS#8 DER, for the DSC with the given DER encoding.
    pub fn ps256_from_pkcs8(pkcs8: &[u8], dsc_der: &[u8]) -> Result<Self, SignerError> {
        let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(SignerError::KeyRejected)?;
        Ok(Self::new(SoftwareKey::Rsa(key), dsc_der))
    }

    /// Loads a PKCS#8 key of either kind, choosing the algorithm from the key.
    pub fn from_pkcs8(pkcs8: &[u8], dsc_der: &[u8]) -> Result<Self, SignerError> {
        Self::es256_from_pkcs8(pkcs8, dsc_der).or_else(|_| Self::ps256_from_pkcs8(pkcs8, dsc_der))
    }

    /// The public key: the uncompressed point for ECDSA, PKCS#1 `RSAPublicKey` DER for RSA.
    pub fn public_key(&self) -> &[u8] {
        match &self.key {
            SoftwareKey::Ecdsa(key) => key.public_key().as_ref(),
            SoftwareKey::Rsa(key) => key.public_key().as_ref(),
        }
    }

    fn new(key: SoftwareKey, dsc_der: &[u8]) -> Self {
        Self {
            key,
            kid: Kid::of_certificate(dsc_der),
            random: SystemRandom::new(),
        }
    }
}

impl Signer for SoftwareSigner {
    fn algorithm(&self) -> Algorithm {
        match self.key {
            SoftwareKey::Ecdsa(_) => Algorithm::Es256,
            SoftwareKey::Rsa(_) => Algorithm::Ps256,
        }
    }

    fn kid(&self) -> Kid {
        self.kid
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        match &self.key {
            SoftwareKey::Ecdsa(key) => key
                .sign(&self.random, message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| SignerError::Crypto),
            SoftwareKey::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PSS_SHA256, &self.random, message, &mut signature)
                    .map_err(|_| SignerError::Crypto)?;
                Ok(signature)
            }
        }
    }
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SoftwareSigner")
            .field("algorithm", &self.algorithm())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}
