//! Encoded certificates and certificate-plus-key pairs.

use aws_lc_rs::digest;
use der::Decode as _;
use x509_cert::Certificate;

use crate::pem::{self, PemError};
use crate::private_key::{PrivateKey, PrivateKeyError};
use crate::serial::{Serial, SerialError};

/// The DER encoding of a well-formed X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedCertificate {
    der: Vec<u8>,
}

/// A certificate together with its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    certificate: EncodedCertificate,
    private_key: PrivateKey,
}

/// Why bytes are not a usable certificate, or a key does not belong to it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The PEM text has no `CERTIFICATE` block, or a broken one.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// The bytes are not a DER X.509 certificate.
    #[error("not a DER X.509 certificate: {0}")]
    Der(#[source] der::Error),
    /// The serial number is empty or longer than 20 bytes.
    #[error("unusable serial number: {0}")]
    Serial(#[source] SerialError),
    /// The private key is unusable.
    #[error(transparent)]
    PrivateKey(#[from] PrivateKeyError),
    /// The private key does not belong to the certificate's public key.
    #[error("the private key does not match the certificate's public key")]
    KeyMismatch,
}

impl EncodedCertificate {
    /// A certificate from its DER encoding, checked to parse as X.509.
    pub fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        Certificate::from_der(der).map_err(CertificateError::Der)?;
        Ok(Self { der: der.to_vec() })
    }

    /// A certificate from the first `CERTIFICATE` block of PEM text.
    pub fn from_pem(text: &str) -> Result<Self, CertificateError> {
        Self::from_der(&pem::decode(pem::CERTIFICATE, text)?)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM text.
    pub fn to_pem(&self) -> String {
        pem::encode(pem::CERTIFICATE, &self.der)
    }

    /// The parsed certificate.
    pub fn parse(&self) -> Result<Certificate, CertificateError> {
        Certificate::from_der(&self.der).map_err(CertificateError::Der)
    }

    /// The serial number.
    pub fn serial(&self) -> Result<Serial, CertificateError> {
        let certificate = self.parse()?;
        Serial::from_bytes(certificate.tbs_certificate().serial_number().as_bytes())
            .map_err(CertificateError::Serial)
    }

    /// SHA-256 over the DER encoding.
    pub fn sha256_fingerprint(&self) -> [u8; 32] {
        sha256(&self.der)
    }

    /// The raw subject public key (the content of the SubjectPublicKeyInfo BIT STRING).
    pub fn public_key_raw(&self) -> Result<Vec<u8>, CertificateError> {
        let certificate = self.parse()?;
        Ok(certificate
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes()
            .to_vec())
    }
}

impl IssuedCertificate {
    /// Pairs a certificate with its key, checking that the key belongs to the certificate.
    pub fn new(
        certificate: EncodedCertificate,
        private_key: PrivateKey,
    ) -> Result<Self, CertificateError> {
        if certificate.public_key_raw()? != private_key.public_key_raw()? {
            return Err(CertificateError::KeyMismatch);
        }
        Ok(Self {
            certificate,
            private_key,
        })
    }

    /// Reads a certificate PEM and a PKCS#8 key PEM, checking that they belong together.
    pub fn from_pem(certificate_pem: &str, key_pem: &str) -> Result<Self, CertificateError> {
        Self::new(
            EncodedCertificate::from_pem(certificate_pem)?,
            PrivateKey::from_pem(key_pem)?,
        )
    }

    /// The certificate.
    pub fn certificate(&self) -> &EncodedCertificate {
        &self.certificate
    }

    /// The private key.
    pub fn private_key(&self) -> &PrivateKey {
        &self.private_key
    }

    /// The certificate's DER encoding.
    pub fn certificate_der(&self) -> &[u8] {
        self.certificate.der()
    }

    /// The certificate as PEM text.
    pub fn certificate_pem(&self) -> String {
        self.certificate.to_pem()
    }

    /// The private key as PKCS#8 PEM text.
    pub fn private_key_pem(&self) -> String {
        self.private_key.to_pem()
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    for (target, source) in out
        .iter_mut()
        .zip(digest::digest(&digest::SHA256, bytes).as_ref())
    {
        *target = *source;
    }
    out
}
