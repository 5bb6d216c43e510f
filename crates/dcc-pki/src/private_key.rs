//! Private keys as PKCS#8, the form every key file of the development PKI takes.

use std::fmt;

use rcgen::KeyPair;

use crate::pem::{self, PemError};

/// A private key in PKCS#8 DER. Its `Debug` output never shows the key material.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    pkcs8: Vec<u8>,
}

/// Why bytes are not a usable private key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateKeyError {
    /// The PEM text has no `PRIVATE KEY` block, or a broken one.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// The bytes are not a PKCS#8 key of a supported algorithm.
    #[error("the private key is not a supported PKCS#8 key: {0}")]
    Pkcs8(#[source] rcgen::Error),
    /// A new key could not be generated.
    #[error("a key could not be generated: {0}")]
    Generate(#[source] rcgen::Error),
}

impl PrivateKey {
    /// A fresh P-256 key, drawn from the operating system's generator inside the crypto
    /// library.
    ///
    /// The real TI also issues brainpoolP256r1 keys; rustls lacks brainpool curves, so the
    /// emulation uses P-256 everywhere.
    pub fn generate_p256() -> Result<Self, PrivateKeyError> {
        let key_pair = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(PrivateKeyError::Generate)?;
        Ok(Self {
            pkcs8: key_pair.serialize_der(),
        })
    }

    /// A key from PKCS#8 DER (P-256, P-384, Ed25519 or RSA).
    pub fn from_pkcs8_der(pkcs8: &[u8]) -> Result<Self, PrivateKeyError> {
        KeyPair::try_from(pkcs8).map_err(PrivateKeyError::Pkcs8)?;
        Ok(Self {
            pkcs8: pkcs8.to_vec(),
        })
    }

    /// A key from PEM text with a `PRIVATE KEY` (PKCS#8) block.
    pub fn from_pem(text: &str) -> Result<Self, PrivateKeyError> {
        Self::from_pkcs8_der(&pem::decode(pem::PRIVATE_KEY, text)?)
    }

    /// The PKCS#8 DER encoding.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The PKCS#8 PEM text.
    pub fn to_pem(&self) -> String {
        pem::encode(pem::PRIVATE_KEY, &self.pkcs8)
    }

    /// The raw public key (the content of the SubjectPublicKeyInfo BIT STRING).
    pub fn public_key_raw(&self) -> Result<Vec<u8>, PrivateKeyError> {
        Ok(self.key_pair()?.public_key_raw().to_vec())
    }

    /// The key as an rcgen signing key.
    pub(crate) fn key_pair(&self) -> Result<KeyPair, PrivateKeyError> {
        KeyPair::try_from(self.pkcs8.as_slice()).map_err(PrivateKeyError::Pkcs8)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let key = PrivateKey::generate_p256().unwrap();
        let text = key.to_pem();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = PrivateKey::from_pem(&text).unwrap();
        assert_eq!(back, key);
        let public = back.public_key_raw().unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(public.first(), Some(&0x04));
    }

    #[test]
    fn debug_hides_the_key_and_bad_input_is_typed() {
        let key = PrivateKey::generate_p256().unwrap();
        assert_eq!(format!("{key:?}"), "PrivateKey { .. }");
        assert!(matches!(
            PrivateKey::from_pkcs8_der(&[0x30, 0x00]),
            Err(PrivateKeyError::Pkcs8(_))
        ));
        assert!(matches!(
            PrivateKey::from_pem("nothing"),
            Err(PrivateKeyError::Pem(PemError::NoBlock { .. }))
        ));
    }
}
