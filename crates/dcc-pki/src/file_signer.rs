//! A DSC signing key loaded from files: a certificate (PEM or DER) and an unencrypted PKCS#8
//! PEM key, checked to belong together, implementing [`dcc_core::signer::Signer`].

use std::fmt;
use std::path::{Path, PathBuf};

use dcc_core::algorithm::Algorithm;
use dcc_core::dsc::{self, Dsc, DscError};
use dcc_core::kid::Kid;
use dcc_core::signer::{Signer, SignerError, SoftwareSigner};
use der::Decode as _;
use x509_cert::Certificate;

use crate::pem::{self, PemError};

/// A software signer for one DSC, with the parsed DSC.
pub struct FileSigner {
    signer: SoftwareSigner,
    dsc: Dsc,
}

/// Why a DSC and key could not be loaded as a signer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileSignerError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },
    /// The certificate is not a usable DSC.
    #[error("the DSC is unusable: {0}")]
    Dsc(#[source] DscError),
    /// The certificate file holds more or fewer than one certificate.
    #[error("expected exactly one certificate, found {found}")]
    CertificateCount {
        /// How many certificates the file holds.
        found: usize,
    },
    /// The certificate's public key could not be read.
    #[error("the DSC's public key cannot be read: {0}")]
    PublicKey(#[source] der::Error),
    /// The key file has no `PRIVATE KEY` block, or a broken one.
    #[error(transparent)]
    KeyPem(#[from] PemError),
    /// The key is not a P-256 or RSA PKCS#8 key.
    #[error("the signing key cannot be loaded: {0}")]
    Key(#[source] SignerError),
    /// The key does not belong to the DSC's public key.
    #[error("the signing key does not match the DSC's public key")]
    KeyMismatch,
}

impl FileSigner {
    /// Loads the DSC at `certificate_path` and the PKCS#8 PEM key at `key_path`.
    pub fn load(certificate_path: &Path, key_path: &Path) -> Result<Self, FileSignerError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| FileSignerError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let certificate = read(certificate_path)?;
        let key = read(key_path)?;
        let key_text = String::from_utf8_lossy(&key);
        Self::from_pem(&certificate, &key_text)
    }

    /// Builds a signer from a certificate (one PEM block or DER) and a PKCS#8 PEM key.
    pub fn from_pem(certificate: &[u8], key_pem: &str) -> Result<Self, FileSignerError> {
        let mut dscs = dsc::from_pem_or_der(certificate).map_err(FileSignerError::Dsc)?;
        let found = dscs.len();
        let (Some(dsc), 0) = (dscs.pop(), dscs.len()) else {
            return Err(FileSignerError::CertificateCount { found });
        };
        let pkcs8 = pem::decode(pem::PRIVATE_KEY, key_pem)?;
        let signer =
            SoftwareSigner::from_pkcs8(&pkcs8, dsc.as_der()).map_err(FileSignerError::Key)?;
        let parsed = Certificate::from_der(dsc.as_der()).map_err(FileSignerError::PublicKey)?;
        let certificate_key = parsed
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes();
        if signer.public_key() != certificate_key {
            return Err(FileSignerError::KeyMismatch);
        }
        Ok(Self { signer, dsc })
    }

    /// The DSC the key belongs to.
    pub fn dsc(&self) -> &Dsc {
        &self.dsc
    }

    /// The software signer and the DSC, separately.
    pub fn into_parts(self) -> (SoftwareSigner, Dsc) {
        (self.signer, self.dsc)
    }
}

impl Signer for FileSigner {
    fn algorithm(&self) -> Algorithm {
        self.signer.algorithm()
    }

    fn kid(&self) -> Kid {
        self.signer.kid()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.signer.sign(message)
    }
}

impl fmt::Debug for FileSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSigner")
            .field("dsc", &self.dsc)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use dcc_core::model::certificate_type::CertificateType;
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;
    use crate::dev_pki::DevPki;

    const NOW: OffsetDateTime = datetime!(2021-06-01 12:00 UTC);

    #[test]
    fn loads_a_matching_pair_and_reports_its_dsc() {
        let pki = DevPki::generate(NOW).unwrap();
        let dsc = pki.dsc(CertificateType::Recovery);
        let signer =
            FileSigner::from_pem(dsc.certificate_pem().as_bytes(), &dsc.private_key_pem()).unwrap();
        assert_eq!(signer.dsc().as_der(), dsc.certificate_der());
        assert_eq!(signer.kid(), Kid::of_certificate(dsc.certificate_der()));
        assert_eq!(signer.algorithm(), Algorithm::Es256);
        let signature = signer.sign(b"message").unwrap();
        assert_eq!(
            signer
                .dsc()
                .public_key()
                .verify(Algorithm::Es256, b"message", &signature),
            Ok(())
        );
        // DER certificates are accepted too.
        assert!(FileSigner::from_pem(dsc.certificate_der(), &dsc.private_key_pem()).is_ok());
    }

    #[test]
    fn a_foreign_key_is_a_mismatch() {
        let pki = DevPki::generate(NOW).unwrap();
        let vaccination = pki.dsc(CertificateType::Vaccination);
        let test = pki.dsc(CertificateType::Test);
        assert!(matches!(
            FileSigner::from_pem(
                vaccination.certificate_pem().as_bytes(),
                &test.private_key_pem()
            ),
            Err(FileSignerError::KeyMismatch)
        ));
    }

    #[test]
    fn bundles_and_bad_keys_are_typed_errors() {
        let pki = DevPki::generate(NOW).unwrap();
        let vaccination = pki.dsc(CertificateType::Vaccination);
        let bundle = format!(
            "{}{}",
            vaccination.certificate_pem(),
            pki.dsc(CertificateType::Test).certificate_pem()
        );
        assert!(matches!(
            FileSigner::from_pem(bundle.as_bytes(), &vaccination.private_key_pem()),
            Err(FileSignerError::CertificateCount { found: 2 })
        ));
        assert!(matches!(
            FileSigner::from_pem(vaccination.certificate_pem().as_bytes(), "no key"),
            Err(FileSignerError::KeyPem(PemError::NoBlock { .. }))
        ));
        let not_a_key = pem::encode(pem::PRIVATE_KEY, &[0x30, 0x00]);
        assert!(matches!(
            FileSigner::from_pem(vaccination.certificate_pem().as_bytes(), &not_a_key),
            Err(FileSignerError::Key(_))
        ));
        assert!(matches!(
            FileSigner::load(Path::new("/nonexistent/dsc.pem"), Path::new("/nonexistent/k")),
            Err(FileSignerError::Read { path, .. }) if path == Path::new("/nonexistent/dsc.pem")
        ));
    }
}
