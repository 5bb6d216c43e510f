//! Certificate revocation lists of the development CAs.

use der::Decode as _;
use x509_cert::crl::CertificateList;

use crate::pem::{self, PemError};
use crate::serial::Serial;

/// The DER encoding of a well-formed X.509 CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    der: Vec<u8>,
}

/// Why bytes are not a CRL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// The PEM text has no `X509 CRL` block, or a broken one.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// The bytes are not a DER X.509 CRL.
    #[error("not a DER X.509 CRL: {0}")]
    Der(#[source] der::Error),
}

impl Crl {
    /// A CRL from its DER encoding, checked to parse.
    pub fn from_der(der: &[u8]) -> Result<Self, CrlError> {
        <CertificateList>::from_der(der).map_err(CrlError::Der)?;
        Ok(Self { der: der.to_vec() })
    }

    /// A CRL from the first `X509 CRL` block of PEM text.
    pub fn from_pem(text: &str) -> Result<Self, CrlError> {
        Self::from_der(&pem::decode(pem::X509_CRL, text)?)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM text.
    pub fn to_pem(&self) -> String {
        pem::encode(pem::X509_CRL, &self.der)
    }

    /// The parsed CRL.
    pub fn parse(&self) -> Result<CertificateList, CrlError> {
        <CertificateList>::from_der(&self.der).map_err(CrlError::Der)
    }

    /// The serial numbers listed as revoked (entries with unusable serials are skipped).
    pub fn revoked_serials(&self) -> Result<Vec<Serial>, CrlError> {
        let list = self.parse()?;
        Ok(list
            .tbs_cert_list
            .revoked_certificates
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| Serial::from_bytes(entry.serial_number.as_bytes()).ok())
            .collect())
    }
}
