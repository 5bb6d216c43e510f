//! A complete development PKI, generated in one call with a caller-supplied time:
//!
//! ```text
//!  TI (german-context.md §5)                 service (operator-internal)     DCC (dcc-spec.md §5)
//!  GEM.RCA-DEV TEST-ONLY                     DCC Service CA DEV TEST-ONLY    DCC CSCA DEV TEST-ONLY
//!   └─ GEM.SMCB-CA-DEV TEST-ONLY  + CRL       ├─ dcc-portal-server (TLS)      ├─ DSC vaccination (EKU …1.2)
//!       └─ C.HCI.AUT per institution          ├─ dcc-signer-server (TLS)      ├─ DSC test        (EKU …1.1)
//!          (Admission: Telematik-ID,          └─ dcc-portal (client)          ├─ DSC recovery    (EKU …1.3)
//!           profession OID .54)                                               └─ trust-list signer
//! ```
//!
//! Every key is a fresh P-256 key. The real TI also uses brainpoolP256r1/P384r1, which rustls
//! does not support; the emulation records this as a deviation. The root and service CA keys
//! are discarded after generation (nothing more is signed with them); the SMC-B CA and the CSCA
//! keep theirs, so institution certificates and CRLs can be issued after loading. The file
//! layout is described in [`crate::layout`].

use std::collections::BTreeMap;
use std::fmt;

use dcc_core::model::certificate_type::CertificateType;
use rcgen::DnType;
use time::{Duration, OffsetDateTime};

use crate::admission::AdmissionError;
use crate::ca::{CaError, CertificateAuthority, ca_params, distinguished_name};
use crate::certificate::{CertificateError, EncodedCertificate, IssuedCertificate};
use crate::crl::{Crl, CrlError};
use crate::dcc_signing::{csca_params, dsc_params, trust_list_signer_params};
use crate::institution::InstitutionError;
use crate::institution_request::InstitutionRequest;
use crate::serial::Serial;
use crate::service::{
    ADMIN_CLIENT_COMMON_NAME, PORTAL_CLIENT_COMMON_NAME, PORTAL_SERVER_COMMON_NAME,
    SIGNER_SERVER_COMMON_NAME, client_params, server_params, service_ca_params,
};
use crate::telematik_id::TelematikId;

/// The development PKI: TI root and SMC-B CA with institutions, service certificates, and the
/// DCC CSCA with one DSC per certificate type.
pub struct DevPki {
    pub(crate) ti_root: EncodedCertificate,
    pub(crate) smcb_ca: CertificateAuthority,
    pub(crate) smcb_crl: Crl,
    pub(crate) institutions: BTreeMap<TelematikId, IssuedCertificate>,
    pub(crate) service_ca: EncodedCertificate,
    pub(crate) portal_server: IssuedCertificate,
    pub(crate) signer_server: IssuedCertificate,
    pub(crate) portal_client: IssuedCertificate,
    pub(crate) admin_client: IssuedCertificate,
    pub(crate) csca: CertificateAuthority,
    pub(crate) dsc_vaccination: IssuedCertificate,
    pub(crate) dsc_test: IssuedCertificate,
    pub(crate) dsc_recovery: IssuedCertificate,
    pub(crate) trust_list_signer: IssuedCertificate,
}

/// Why the development PKI could not be generated, written or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevPkiError {
    /// A CA failed to issue a certificate or CRL.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// A certificate's parameters could not be built.
    #[error("certificate parameters are invalid: {0}")]
    Params(#[source] rcgen::Error),
    /// The Admission of an institution request cannot be encoded.
    #[error(transparent)]
    Admission(#[from] AdmissionError),
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },
    /// A PKI file already exists and overwriting was not asked for.
    #[error("{path} already exists; refusing to overwrite the PKI")]
    AlreadyExists {
        /// The first existing file found.
        path: std::path::PathBuf,
    },
    /// A certificate or key file is unusable, or a key does not match its certificate.
    #[error("{path}: {source}")]
    Certificate {
        /// The certificate file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        #[source]
        source: CertificateError,
    },
    /// A CRL file is unusable.
    #[error("{path}: {source}")]
    Crl {
        /// The CRL file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        #[source]
        source: CrlError,
    },
    /// An institution file's name is not a Telematik-ID and its certificate names none.
    #[error("{path}: no Telematik-ID in the certificate or file name: {source}")]
    Institution {
        /// The certificate file.
        path: std::path::PathBuf,
        /// Why the certificate names no Telematik-ID.
        #[source]
        source: InstitutionError,
    },
}

impl DevPki {
    /// Generates the whole PKI, valid from `now`, with one conforming public pharmacy
    /// ([`DEFAULT_PHARMACY_NAME`], [`DEFAULT_TELEMATIK_ID`]) and an empty SMC-B CRL.
    pub fn generate(now: OffsetDateTime) -> Result<Self, DevPkiError> {
        let root = CertificateAuthority::self_signed(ca_params(
            distinguished_name(&[
                (DnType::CountryName, "DE"),
                (DnType::OrganizationName, GEMATIK_ORGANISATION),
                (DnType::OrganizationalUnitName, ROOT_UNIT),
                (DnType::CommonName, ROOT_COMMON_NAME),
            ]),
            now,
            now + ROOT_VALIDITY,
            None,
        ))?;
        let mut smcb_params = ca_params(
            distinguished_name(&[
                (DnType::CountryName, "DE"),
                (DnType::OrganizationName, GEMATIK_ORGANISATION),
                (DnType::OrganizationalUnitName, SMCB_CA_UNIT),
                (DnType::CommonName, SMCB_CA_COMMON_NAME),
            ]),
            now,
            now + SMCB_CA_VALIDITY,
            Some(0),
        );
        smcb_params.use_authority_key_identifier_extension = true;
        let smcb_ca = CertificateAuthority::signed_by(smcb_params, &root)?;
        let smcb_crl = smcb_ca.crl(&[], now)?;

        let service_ca = CertificateAuthority::self_signed(service_ca_params(now))?;
        let server = |common_name| -> Result<IssuedCertificate, DevPkiError> {
            let params = server_params(common_name, now).map_err(DevPkiError::Params)?;
            Ok(service_ca.issue(&params)?)
        };
        let portal_server = server(PORTAL_SERVER_COMMON_NAME)?;
        let signer_server = server(SIGNER_SERVER_COMMON_NAME)?;
        let portal_client = service_ca.issue(&client_params(PORTAL_CLIENT_COMMON_NAME, now))?;
        let admin_client = service_ca.issue(&client_params(ADMIN_CLIENT_COMMON_NAME, now))?;

        let csca = CertificateAuthority::self_signed(csca_params(now))?;
        let dsc = |certificate_type| csca.issue(&dsc_params(certificate_type, now));
        let dsc_vaccination = dsc(CertificateType::Vaccination)?;
        let dsc_test = dsc(CertificateType::Test)?;
        let dsc_recovery = dsc(CertificateType::Recovery)?;
        let trust_list_signer = csca.issue(&trust_list_signer_params(now))?;

        let mut pki = Self {
            ti_root: root.certificate().clone(),
            smcb_ca,
            smcb_crl,
            institutions: BTreeMap::new(),
            service_ca: service_ca.certificate().clone(),
            portal_server,
            signer_server,
            portal_client,
            admin_client,
            csca,
            dsc_vaccination,
            dsc_test,
            dsc_recovery,
            trust_list_signer,
        };
        let telematik_id = default_telematik_id()?;
        let request = InstitutionRequest::pharmacy(DEFAULT_PHARMACY_NAME, telematik_id.clone());
        let pharmacy = pki.issue_institution(&request, now)?;
        pki.institutions.insert(telematik_id, pharmacy);
        Ok(pki)
    }

    /// Issues a C.HCI.AUT certificate from the SMC-B CA. The result is not added to
    /// [`DevPki::institutions`]; see [`DevPki::insert_institution`].
    pub fn issue_institution(
        &self,
        request: &InstitutionRequest,
        now: OffsetDateTime,
    ) -> Result<IssuedCertificate, DevPkiError> {
        Ok(self.smcb_ca.issue(&request.to_params(now)?)?)
    }

    /// Adds (or replaces) the certificate of an institution, to be written by
    /// [`DevPki::write_to`].
    pub fn insert_institution(&mut self, telematik_id: TelematikId, issued: IssuedCertificate) {
        self.institutions.insert(telematik_id, issued);
    }

    /// A CRL of the SMC-B CA listing `revoked`, issued at `now` (see [`CertificateAuthority::crl`]).
    pub fn crl(&self, revoked: &[Serial], now: OffsetDateTime) -> Result<Crl, DevPkiError> {
        Ok(self.smcb_ca.crl(revoked, now)?)
    }

    /// Replaces the SMC-B CA's CRL kept with the PKI.
    pub fn replace_smcb_crl(&mut self, crl: Crl) {
        self.smcb_crl = crl;
    }

    /// The TI root CA certificate (GEM.RCA-DEV TEST-ONLY).
    pub fn ti_root(&self) -> &EncodedCertificate {
        &self.ti_root
    }

    /// The SMC-B issuing CA (GEM.SMCB-CA-DEV TEST-ONLY), with its key.
    pub fn smcb_ca(&self) -> &CertificateAuthority {
        &self.smcb_ca
    }

    /// The SMC-B CA's current CRL.
    pub fn smcb_crl(&self) -> &Crl {
        &self.smcb_crl
    }

    /// The institution certificates, by Telematik-ID.
    pub fn institutions(&self) -> &BTreeMap<TelematikId, IssuedCertificate> {
        &self.institutions
    }

    /// The service CA certificate.
    pub fn service_ca(&self) -> &EncodedCertificate {
        &self.service_ca
    }

    /// The portal's TLS server certificate (SAN `localhost`, `127.0.0.1`).
    pub fn portal_server(&self) -> &IssuedCertificate {
        &self.portal_server
    }

    /// The certificate server's TLS server certificate (SAN `localhost`, `127.0.0.1`).
    pub fn signer_server(&self) -> &IssuedCertificate {
        &self.signer_server
    }

    /// The portal's client identity (CN `dcc-portal`, clientAuth).
    pub fn portal_client(&self) -> &IssuedCertificate {
        &self.portal_client
    }

    /// The association administrators' client identity towards the admin listener (CN
    /// `dcc-admin`, clientAuth).
    pub fn admin_client(&self) -> &IssuedCertificate {
        &self.admin_client
    }

    /// The CSCA, with its key.
    pub fn csca(&self) -> &CertificateAuthority {
        &self.csca
    }

    /// The certificate and key that sign the published trust list (German DSC-list format).
    pub fn trust_list_signer(&self) -> &IssuedCertificate {
        &self.trust_list_signer
    }

    /// The DSC (and key) that may sign certificates of `certificate_type`.
    pub fn dsc(&self, certificate_type: CertificateType) -> &IssuedCertificate {
        match certificate_type {
            CertificateType::Vaccination => &self.dsc_vaccination,
            CertificateType::Test => &self.dsc_test,
            CertificateType::Recovery => &self.dsc_recovery,
        }
    }
}

impl fmt::Debug for DevPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevPki")
            .field(
                "institutions",
                &self.institutions.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The name (O and CN) of the pharmacy [`DevPki::generate`] issues.
pub const DEFAULT_PHARMACY_NAME: &str = "Apotheke am Dev-Markt";
/// The Telematik-ID of the pharmacy [`DevPki::generate`] issues (a test-card style ID).
pub const DEFAULT_TELEMATIK_ID: &str = "3-SMC-B-Testkarte-883110000116873";
/// The subject CN of the TI root CA.
pub const ROOT_COMMON_NAME: &str = "GEM.RCA-DEV TEST-ONLY";
/// The subject CN of the SMC-B CA.
pub const SMCB_CA_COMMON_NAME: &str = "GEM.SMCB-CA-DEV TEST-ONLY";

fn default_telematik_id() -> Result<TelematikId, DevPkiError> {
    TelematikId::parse(DEFAULT_TELEMATIK_ID).map_err(|source| DevPkiError::Institution {
        path: DEFAULT_TELEMATIK_ID.into(),
        source: InstitutionError::InvalidTelematikId(source),
    })
}

const GEMATIK_ORGANISATION: &str = "gematik GmbH NOT-VALID";
const ROOT_UNIT: &str = "Zentrale Root-CA der Telematikinfrastruktur";
const SMCB_CA_UNIT: &str = "Institution des Gesundheitswesens-CA der Telematikinfrastruktur";
const ROOT_VALIDITY: Duration = Duration::days(10 * 365);
const SMCB_CA_VALIDITY: Duration = Duration::days(8 * 365);

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
    use dcc_core::dsc::{Dsc, KeyUsage};
    use der::{Decode as _, Encode as _};
    use time::macros::datetime;
    use x509_cert::Certificate;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{
        AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, SubjectAltName,
        SubjectKeyIdentifier,
    };

    use super::*;
    use crate::institution::{InstitutionIdentity, OID_PUBLIC_PHARMACY};

    const NOW: OffsetDateTime = datetime!(2021-06-01 12:00 UTC);

    fn parse(certificate: &EncodedCertificate) -> Certificate {
        Certificate::from_der(certificate.der()).unwrap()
    }

    /// Asserts that `child` names `parent` as issuer (DN and AKI = SKI) and carries a valid
    /// ECDSA P-256 signature by `parent`'s key.
    fn assert_issued_by(child: &EncodedCertificate, parent: &EncodedCertificate) {
        let child = parse(child);
        let parent = parse(parent);
        let child_tbs = child.tbs_certificate();
        let parent_tbs = parent.tbs_certificate();
        assert_eq!(
            child_tbs.issuer().to_der().unwrap(),
            parent_tbs.subject().to_der().unwrap()
        );
        let aki = child_tbs
            .get_extension::<AuthorityKeyIdentifier>()
            .unwrap()
            .unwrap()
            .1;
        let ski = parent_tbs
            .get_extension::<SubjectKeyIdentifier>()
            .unwrap()
            .unwrap()
            .1;
        assert_eq!(aki.key_identifier, Some(ski.0));
        let key = UnparsedPublicKey::new(
            &ECDSA_P256_SHA256_ASN1,
            parent_tbs
                .subject_public_key_info()
                .subject_public_key
                .raw_bytes(),
        );
        let signed = child_tbs.to_der().unwrap();
        assert_eq!(key.verify(&signed, child.signature().raw_bytes()), Ok(()));
    }

    #[test]
    fn ti_chain_links_root_smcb_ca_and_institution() {
        let pki = DevPki::generate(NOW).unwrap();
        assert_issued_by(pki.smcb_ca().certificate(), pki.ti_root());
        let pharmacy = pki.institutions().values().next().unwrap();
        assert_issued_by(pharmacy.certificate(), pki.smcb_ca().certificate());
        let smcb = parse(pki.smcb_ca().certificate());
        assert_eq!(
            smcb.tbs_certificate().subject().to_string(),
            "CN=GEM.SMCB-CA-DEV TEST-ONLY,\
             OU=Institution des Gesundheitswesens-CA der Telematikinfrastruktur,\
             O=gematik GmbH NOT-VALID,C=DE"
        );
        let (_, constraints) = smcb
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .unwrap()
            .unwrap();
        assert!(constraints.ca);
        assert_eq!(constraints.path_len_constraint, Some(0));
    }

    #[test]
    fn default_pharmacy_passes_the_profile_check() {
        let pki = DevPki::generate(NOW).unwrap();
        let (telematik_id, pharmacy) = pki.institutions().iter().next().unwrap();
        assert_eq!(telematik_id.as_str(), DEFAULT_TELEMATIK_ID);
        let identity = InstitutionIdentity::from_der(pharmacy.certificate_der()).unwrap();
        assert_eq!(identity.telematik_id(), telematik_id);
        assert_eq!(identity.organisation(), Some(DEFAULT_PHARMACY_NAME));
        assert_eq!(identity.profession_oids(), [OID_PUBLIC_PHARMACY]);
        assert_eq!(identity.profession_items(), ["Öffentliche Apotheke"]);
    }

    #[test]
    fn each_dsc_is_issued_by_the_csca_and_signs_only_its_type() {
        let pki = DevPki::generate(NOW).unwrap();
        for certificate_type in CertificateType::ALL {
            let issued = pki.dsc(certificate_type);
            assert_issued_by(issued.certificate(), pki.csca().certificate());
            let dsc = Dsc::from_der(issued.certificate_der()).unwrap();
            assert_eq!(
                dsc.key_usage(),
                &KeyUsage::Restricted {
                    types: vec![certificate_type],
                    other_oids: vec![]
                }
            );
            for other in CertificateType::ALL {
                assert_eq!(dsc.key_usage().allows(other), other == certificate_type);
            }
            assert_eq!(dsc.country(), Some("DE"));
            assert_eq!(
                dsc.common_name(),
                Some(format!("DCC DSC {certificate_type} DEV").as_str())
            );
            assert_eq!(dsc.not_before(), NOW);
            assert_eq!(dsc.not_after(), NOW + Duration::days(730));
        }
        let csca = parse(pki.csca().certificate());
        assert_eq!(
            csca.tbs_certificate().subject().to_string(),
            "CN=DCC CSCA DEV TEST-ONLY,C=DE"
        );
    }

    #[test]
    fn service_certificates_name_localhost_and_their_purpose() {
        let pki = DevPki::generate(NOW).unwrap();
        let client_auth = const_oid::db::rfc5280::ID_KP_CLIENT_AUTH;
        let server_auth = const_oid::db::rfc5280::ID_KP_SERVER_AUTH;
        for server in [pki.portal_server(), pki.signer_server()] {
            assert_issued_by(server.certificate(), pki.service_ca());
            let parsed = parse(server.certificate());
            let tbs = parsed.tbs_certificate();
            let (_, names) = tbs.get_extension::<SubjectAltName>().unwrap().unwrap();
            let dns: Vec<String> = names
                .0
                .iter()
                .map(|name| match name {
                    GeneralName::DnsName(name) => name.to_string(),
                    GeneralName::IpAddress(ip) => format!("{:?}", ip.as_bytes()),
                    other => format!("{other:?}"),
                })
                .collect();
            assert_eq!(dns, ["localhost", "[127, 0, 0, 1]"]);
            let (_, usage) = tbs.get_extension::<ExtendedKeyUsage>().unwrap().unwrap();
            assert_eq!(usage.0, [server_auth]);
        }
        for (client, common_name) in [
            (pki.portal_client(), "dcc-portal"),
            (pki.admin_client(), "dcc-admin"),
        ] {
            assert_issued_by(client.certificate(), pki.service_ca());
            let parsed = parse(client.certificate());
            let tbs = parsed.tbs_certificate();
            assert_eq!(
                tbs.subject().common_name().unwrap().unwrap().value(),
                common_name
            );
            let (_, usage) = tbs.get_extension::<ExtendedKeyUsage>().unwrap().unwrap();
            assert_eq!(usage.0, [client_auth]);
        }
    }

    #[test]
    fn crl_lists_a_revoked_institution() {
        let pki = DevPki::generate(NOW).unwrap();
        assert_eq!(pki.smcb_crl().revoked_serials().unwrap(), vec![]);
        let pharmacy = pki.institutions().values().next().unwrap();
        let serial = pharmacy.certificate().serial().unwrap();
        let crl = pki.crl(std::slice::from_ref(&serial), NOW).unwrap();
        assert_eq!(crl.revoked_serials().unwrap(), vec![serial]);
        let list = crl.parse().unwrap();
        let smcb = parse(pki.smcb_ca().certificate());
        assert_eq!(
            list.tbs_cert_list.issuer.to_der().unwrap(),
            smcb.tbs_certificate().subject().to_der().unwrap()
        );
    }
}
