//! The on-disk layout of a [`DevPki`], written by [`DevPki::write_to`] and read by
//! [`DevPki::load_from`].
//!
//! # FILES
//!
//! All certificates, keys and CRLs are PEM text; keys are unencrypted PKCS#8 (`PRIVATE KEY`)
//! written with mode 0600 on unix.
//!
//! ```text
//! ti/root-ca.pem                     TI root CA certificate, GEM.RCA-DEV TEST-ONLY (key not kept)
//! ti/smcb-ca.pem                     SMC-B CA certificate, GEM.SMCB-CA-DEV TEST-ONLY
//! ti/smcb-ca.key                     SMC-B CA key
//! ti/smcb-ca.crl                     SMC-B CA CRL (X509 CRL)
//! institutions/<telematik-id>.pem    C.HCI.AUT certificate of one institution
//! institutions/<telematik-id>.key    its key
//! service/ca.pem                     service CA certificate (key not kept)
//! service/portal-server.pem|.key     portal TLS server (SAN localhost, 127.0.0.1)
//! service/signer-server.pem|.key     certificate server TLS server (SAN localhost, 127.0.0.1)
//! service/portal-client.pem|.key     portal client identity (CN dcc-portal, clientAuth)
//! service/admin-client.pem|.key      association administrator identity (CN dcc-admin, clientAuth)
//! dcc/csca.pem                       CSCA certificate, DCC CSCA DEV TEST-ONLY
//! dcc/csca.key                       CSCA key
//! dcc/dsc-v.pem|.key                 DSC for vaccination certificates (EKU …2021.1.2)
//! dcc/dsc-t.pem|.key                 DSC for test certificates (EKU …2021.1.1)
//! dcc/dsc-r.pem|.key                 DSC for recovery certificates (EKU …2021.1.3)
//! dcc/dsc-<type>-<kid hex>.pem|.key  further DSCs made by `dcc keys rotate|generate` (an HSM key
//!                                    has no .key file; its DSC is the .pem alone)
//! trust-list/signer.pem|.key         trust-list signing certificate (issued by the CSCA) and key:
//!                                    signs line 1 of the German DSC list (`GET /trust-list/de`)
//! trust-list/signer.pub              its public key (PEM `PUBLIC KEY`), for verifiers to pin
//!                                    (`dcc verify --dsc-list-key`)
//! ```
//!
//! The trust-list files sit outside `dcc/` so that `dcc verify --trust pki/dcc` does not take
//! the trust-list signer for a DSC.
//!
//! Outside `pki/` (so that `dcc init --force`, which replaces the PKI, keeps it), the data
//! folder holds [`HOLDER_KEY_SECRET_FILE`]: 32 random bytes, mode 0600, the HMAC secret of the
//! ledger's holder keys (billing).
//!
//! `<telematik-id>` is [`TelematikId::file_stem`]: the ID with every character other than
//! ASCII letters, digits, `.` and `-` replaced by `_`. On loading, an institution's Telematik-ID
//! is read from its certificate's Admission, and only if that fails from the file name.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use dcc_core::model::certificate_type::CertificateType;

use crate::ca::CertificateAuthority;
use crate::certificate::{EncodedCertificate, IssuedCertificate};
use crate::crl::Crl;
use crate::dev_pki::{DevPki, DevPkiError};
use crate::institution::InstitutionIdentity;
use crate::telematik_id::TelematikId;

/// The holder-key secret's file in the data folder (beside `pki/`, not in it).
pub const HOLDER_KEY_SECRET_FILE: &str = "holder-key.secret";

/// What to do when a PKI file already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail with [`DevPkiError::AlreadyExists`] before writing anything.
    Refuse,
    /// Replace existing files.
    Replace,
}

impl DevPki {
    /// Writes the PKI into `dir` (created if missing) in the layout described in
    /// [`crate::layout`].
    ///
    /// With [`Overwrite::Refuse`], nothing is written if any of the files exists already.
    pub fn write_to(&self, dir: &Path, overwrite: Overwrite) -> Result<(), DevPkiError> {
        let files = self.files();
        write_files(dir, &files, overwrite)
    }

    /// Loads a PKI written by [`DevPki::write_to`]. Every key is checked against its
    /// certificate.
    pub fn load_from(dir: &Path) -> Result<Self, DevPkiError> {
        let issued = |name: &str| load_issued(dir, name);
        let smcb_ca = load_ca(dir, SMCB_CA)?;
        let csca = load_ca(dir, CSCA)?;
        Ok(Self {
            ti_root: load_certificate(&dir.join(TI_ROOT))?,
            smcb_ca,
            smcb_crl: load_crl(&dir.join(SMCB_CRL))?,
            institutions: load_institutions(&dir.join(INSTITUTIONS))?,
            service_ca: load_certificate(&dir.join(SERVICE_CA))?,
            portal_server: issued(PORTAL_SERVER)?,
            signer_server: issued(SIGNER_SERVER)?,
            portal_client: issued(PORTAL_CLIENT)?,
            admin_client: issued(ADMIN_CLIENT)?,
            csca,
            dsc_vaccination: issued(dsc_stem(CertificateType::Vaccination))?,
            dsc_test: issued(dsc_stem(CertificateType::Test))?,
            dsc_recovery: issued(dsc_stem(CertificateType::Recovery))?,
            trust_list_signer: issued(TRUST_LIST_SIGNER)?,
        })
    }

    /// Writes one institution's certificate and key into `dir/institutions/`, e.g. after
    /// [`DevPki::issue_institution`] on a loaded PKI.
    pub fn write_institution(
        dir: &Path,
        telematik_id: &TelematikId,
        issued: &IssuedCertificate,
        overwrite: Overwrite,
    ) -> Result<(), DevPkiError> {
        let stem = Path::new(INSTITUTIONS).join(telematik_id.file_stem());
        let files = issued_files(&stem.to_string_lossy(), issued);
        write_files(dir, &files, overwrite)
    }

    /// Replaces `dir/ti/smcb-ca.crl` with `crl`.
    pub fn write_smcb_crl(dir: &Path, crl: &Crl) -> Result<(), DevPkiError> {
        write_file(&dir.join(SMCB_CRL), crl.to_pem().as_bytes(), false)
    }

    /// Writes a further certificate and key (e.g. a rotated DSC) as `<stem>.pem` and
    /// `<stem>.key` (mode 0600) below `dir`; refuses to overwrite.
    pub fn write_issued(
        dir: &Path,
        stem: &str,
        issued: &IssuedCertificate,
    ) -> Result<(), DevPkiError> {
        write_files(dir, &issued_files(stem, issued), Overwrite::Refuse)
    }

    /// Writes a certificate alone (the DSC of an HSM key) as `<stem>.pem` below `dir`;
    /// refuses to overwrite.
    pub fn write_certificate(
        dir: &Path,
        stem: &str,
        certificate: &EncodedCertificate,
    ) -> Result<(), DevPkiError> {
        let file = PkiFile::public(
            format!("{stem}.{CERTIFICATE_EXTENSION}"),
            certificate.to_pem(),
        );
        write_files(dir, &[file], Overwrite::Refuse)
    }

    fn files(&self) -> Vec<PkiFile> {
        let mut files = vec![
            PkiFile::public(TI_ROOT, self.ti_root.to_pem()),
            PkiFile::public(SMCB_CRL, self.smcb_crl.to_pem()),
            PkiFile::public(SERVICE_CA, self.service_ca.to_pem()),
        ];
        files.extend(issued_files(SMCB_CA, self.smcb_ca.issued()));
        files.extend(issued_files(CSCA, self.csca.issued()));
        files.extend(issued_files(PORTAL_SERVER, &self.portal_server));
        files.extend(issued_files(SIGNER_SERVER, &self.signer_server));
        files.extend(issued_files(PORTAL_CLIENT, &self.portal_client));
        files.extend(issued_files(ADMIN_CLIENT, &self.admin_client));
        for certificate_type in CertificateType::ALL {
            files.extend(issued_files(
                dsc_stem(certificate_type),
                self.dsc(certificate_type),
            ));
        }
        for (telematik_id, issued) in &self.institutions {
            let stem = Path::new(INSTITUTIONS).join(telematik_id.file_stem());
            files.extend(issued_files(&stem.to_string_lossy(), issued));
        }
        files.extend(issued_files(TRUST_LIST_SIGNER, &self.trust_list_signer));
        if let Some(public_key) = public_key_pem(self.trust_list_signer.certificate()) {
            files.push(PkiFile::public(TRUST_LIST_PUBLIC_KEY, public_key));
        }
        files
    }
}

/// One file of the layout.
struct PkiFile {
    path: PathBuf,
    contents: String,
    secret: bool,
}

impl PkiFile {
    fn public(path: impl Into<PathBuf>, contents: String) -> Self {
        Self {
            path: path.into(),
            contents,
            secret: false,
        }
    }
}

/// `<stem>.pem` and `<stem>.key`.
fn issued_files(stem: &str, issued: &IssuedCertificate) -> [PkiFile; 2] {
    [
        PkiFile::public(
            format!("{stem}.{CERTIFICATE_EXTENSION}"),
            issued.certificate_pem(),
        ),
        PkiFile {
            path: format!("{stem}.{KEY_EXTENSION}").into(),
            contents: issued.private_key_pem(),
            secret: true,
        },
    ]
}

fn dsc_stem(certificate_type: CertificateType) -> &'static str {
    match certificate_type {
        CertificateType::Vaccination => "dcc/dsc-v",
        CertificateType::Test => "dcc/dsc-t",
        CertificateType::Recovery => "dcc/dsc-r",
    }
}

/// Writes `files` below `dir`; with [`Overwrite::Refuse`] nothing is written when any of them
/// exists already.
fn write_files(dir: &Path, files: &[PkiFile], overwrite: Overwrite) -> Result<(), DevPkiError> {
    if overwrite == Overwrite::Refuse
        && let Some(existing) = files
            .iter()
            .map(|file| dir.join(&file.path))
            .find(|path| path.exists())
    {
        return Err(DevPkiError::AlreadyExists { path: existing });
    }
    for file in files {
        write_file(&dir.join(&file.path), file.contents.as_bytes(), file.secret)?;
    }
    Ok(())
}

fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), DevPkiError> {
    let io_error = |source| DevPkiError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|source| DevPkiError::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(SECRET_MODE);
    }
    let mut file = options.open(path).map_err(io_error)?;
    // An existing file keeps its mode on open; tighten it before writing the key.
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(SECRET_MODE))
            .map_err(io_error)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    file.write_all(contents).map_err(io_error)?;
    file.sync_all().map_err(io_error)
}

fn read_text(path: &Path) -> Result<String, DevPkiError> {
    fs::read_to_string(path).map_err(|source| DevPkiError::Io {
        path: path.to_owned(),
        source,
    })
}

fn load_certificate(path: &Path) -> Result<EncodedCertificate, DevPkiError> {
    EncodedCertificate::from_pem(&read_text(path)?).map_err(|source| DevPkiError::Certificate {
        path: path.to_owned(),
        source,
    })
}

fn load_crl(path: &Path) -> Result<Crl, DevPkiError> {
    Crl::from_pem(&read_text(path)?).map_err(|source| DevPkiError::Crl {
        path: path.to_owned(),
        source,
    })
}

fn load_issued(dir: &Path, stem: &str) -> Result<IssuedCertificate, DevPkiError> {
    let certificate_path = dir.join(format!("{stem}.{CERTIFICATE_EXTENSION}"));
    let key_path = dir.join(format!("{stem}.{KEY_EXTENSION}"));
    IssuedCertificate::from_pem(&read_text(&certificate_path)?, &read_text(&key_path)?).map_err(
        |source| DevPkiError::Certificate {
            path: certificate_path,
            source,
        },
    )
}

fn load_ca(dir: &Path, stem: &str) -> Result<CertificateAuthority, DevPkiError> {
    let issued = load_issued(dir, stem)?;
    Ok(CertificateAuthority::from_pem(
        &issued.certificate_pem(),
        &issued.private_key_pem(),
    )?)
}

fn load_institutions(dir: &Path) -> Result<BTreeMap<TelematikId, IssuedCertificate>, DevPkiError> {
    let mut institutions = BTreeMap::new();
    if !dir.exists() {
        return Ok(institutions);
    }
    let entries = fs::read_dir(dir).map_err(|source| DevPkiError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| DevPkiError::Io {
            path: dir.to_owned(),
            source,
        })?;
        paths.push(entry.path());
    }
    paths.sort();
    for path in paths {
        if path.extension().and_then(|ext| ext.to_str()) != Some(CERTIFICATE_EXTENSION) {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default()
            .to_owned();
        let issued = load_issued(dir, &stem)?;
        let telematik_id = match InstitutionIdentity::from_der(issued.certificate_der()) {
            Ok(identity) => identity.telematik_id().clone(),
            Err(source) => {
                TelematikId::parse(&stem).map_err(|_| DevPkiError::Institution { path, source })?
            }
        };
        institutions.insert(telematik_id, issued);
    }
    Ok(institutions)
}

/// The SubjectPublicKeyInfo of a certificate as PEM `PUBLIC KEY` text.
fn public_key_pem(certificate: &EncodedCertificate) -> Option<String> {
    use der::Encode as _;
    let parsed = certificate.parse().ok()?;
    let spki = parsed
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .ok()?;
    Some(crate::pem::encode(PUBLIC_KEY_LABEL, &spki))
}

/// The trust-list signing certificate and key, below the PKI folder.
pub const TRUST_LIST_SIGNER: &str = "trust-list/signer";
/// The trust-list signing key's public key (PEM), below the PKI folder.
pub const TRUST_LIST_PUBLIC_KEY: &str = "trust-list/signer.pub";
const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";
const TI_ROOT: &str = "ti/root-ca.pem";
const SMCB_CA: &str = "ti/smcb-ca";
const SMCB_CRL: &str = "ti/smcb-ca.crl";
const INSTITUTIONS: &str = "institutions";
const SERVICE_CA: &str = "service/ca.pem";
const PORTAL_SERVER: &str = "service/portal-server";
const SIGNER_SERVER: &str = "service/signer-server";
const PORTAL_CLIENT: &str = "service/portal-client";
const ADMIN_CLIENT: &str = "service/admin-client";
const CSCA: &str = "dcc/csca";
const CERTIFICATE_EXTENSION: &str = "pem";
const KEY_EXTENSION: &str = "key";
/// Owner read and write only.
#[cfg(unix)]
const SECRET_MODE: u32 = 0o600;

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;
    use crate::institution_request::InstitutionRequest;

    const NOW: OffsetDateTime = datetime!(2021-06-01 12:00 UTC);

    #[test]
    fn write_then_load_gives_the_same_pki() {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::generate(NOW).unwrap();
        pki.write_to(dir.path(), Overwrite::Refuse).unwrap();
        for file in pki.files() {
            assert!(
                dir.path().join(&file.path).is_file(),
                "{}",
                file.path.display()
            );
        }
        assert!(
            dir.path()
                .join("institutions/3-SMC-B-Testkarte-883110000116873.key")
                .is_file()
        );
        let loaded = DevPki::load_from(dir.path()).unwrap();
        assert_eq!(loaded.ti_root(), pki.ti_root());
        assert_eq!(loaded.smcb_ca().issued(), pki.smcb_ca().issued());
        assert_eq!(loaded.smcb_crl(), pki.smcb_crl());
        assert_eq!(loaded.institutions(), pki.institutions());
        assert_eq!(loaded.service_ca(), pki.service_ca());
        assert_eq!(loaded.portal_server(), pki.portal_server());
        assert_eq!(loaded.signer_server(), pki.signer_server());
        assert_eq!(loaded.portal_client(), pki.portal_client());
        assert_eq!(loaded.admin_client(), pki.admin_client());
        assert_eq!(loaded.csca().issued(), pki.csca().issued());
        for certificate_type in CertificateType::ALL {
            assert_eq!(loaded.dsc(certificate_type), pki.dsc(certificate_type));
        }
    }

    #[test]
    fn refuses_to_overwrite_unless_told() {
        let dir = tempfile::tempdir().unwrap();
        let first = DevPki::generate(NOW).unwrap();
        first.write_to(dir.path(), Overwrite::Refuse).unwrap();
        let second = DevPki::generate(NOW).unwrap();
        let error = second.write_to(dir.path(), Overwrite::Refuse).unwrap_err();
        assert!(
            matches!(&error, DevPkiError::AlreadyExists { path } if path.starts_with(dir.path()))
        );
        // Nothing was replaced.
        let loaded = DevPki::load_from(dir.path()).unwrap();
        assert_eq!(loaded.csca().issued(), first.csca().issued());

        second.write_to(dir.path(), Overwrite::Replace).unwrap();
        let loaded = DevPki::load_from(dir.path()).unwrap();
        assert_eq!(loaded.csca().issued(), second.csca().issued());
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private_and_certificates_are_not() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::generate(NOW).unwrap();
        // A pre-existing, world-readable key file is tightened when replaced.
        fs::create_dir_all(dir.path().join("dcc")).unwrap();
        fs::write(dir.path().join("dcc/csca.key"), "old").unwrap();
        fs::set_permissions(
            dir.path().join("dcc/csca.key"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        pki.write_to(dir.path(), Overwrite::Replace).unwrap();
        for file in pki.files() {
            let mode = fs::metadata(dir.path().join(&file.path))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            if file.secret {
                assert_eq!(mode, 0o600, "{}", file.path.display());
                assert_eq!(file.path.extension().unwrap(), "key");
            } else {
                assert_ne!(mode & 0o044, 0, "{}", file.path.display());
            }
        }
    }

    #[test]
    fn a_loaded_pki_issues_more_institutions() {
        let dir = tempfile::tempdir().unwrap();
        DevPki::generate(NOW)
            .unwrap()
            .write_to(dir.path(), Overwrite::Refuse)
            .unwrap();
        let loaded = DevPki::load_from(dir.path()).unwrap();
        let id = TelematikId::parse("3-10.3.1234567000.10.999").unwrap();
        let request = InstitutionRequest::pharmacy("Neue Apotheke", id.clone());
        let issued = loaded.issue_institution(&request, NOW).unwrap();
        DevPki::write_institution(dir.path(), &id, &issued, Overwrite::Refuse).unwrap();
        assert!(matches!(
            DevPki::write_institution(dir.path(), &id, &issued, Overwrite::Refuse),
            Err(DevPkiError::AlreadyExists { .. })
        ));
        let reloaded = DevPki::load_from(dir.path()).unwrap();
        assert_eq!(reloaded.institutions().len(), 2);
        assert_eq!(reloaded.institutions().get(&id), Some(&issued));
        let identity = InstitutionIdentity::from_der(issued.certificate_der()).unwrap();
        assert_eq!(identity.telematik_id(), &id);
    }

    #[test]
    fn a_mismatched_key_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let pki = DevPki::generate(NOW).unwrap();
        pki.write_to(dir.path(), Overwrite::Refuse).unwrap();
        fs::copy(
            dir.path().join("dcc/dsc-t.key"),
            dir.path().join("dcc/dsc-v.key"),
        )
        .unwrap();
        assert!(matches!(
            DevPki::load_from(dir.path()),
            Err(DevPkiError::Certificate {
                source: crate::certificate::CertificateError::KeyMismatch,
                ..
            })
        ));
        fs::remove_file(dir.path().join("dcc/dsc-v.key")).unwrap();
        assert!(matches!(
            DevPki::load_from(dir.path()),
            Err(DevPkiError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound
        ));
    }
}
