//! The identity of a TI institution (a pharmacy) taken from its SMC-B authentication
//! certificate C.HCI.AUT (german-context.md §5.2–5.4).
//!
//! [`InstitutionIdentity::from_der`] performs the *profile* part of gematik's certificate check
//! (TUC_PKI_018 step 4) on a client certificate the TLS layer has already chain-validated and
//! revocation-checked: extended key usage, certificate policies, and the Admission extension
//! with its Telematik-ID. It does no chain building, no CRL or OCSP look-up and does not read
//! the clock; the validity window is exposed for the caller to compare.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ID_KP_CLIENT_AUTH;
use der::Decode as _;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{CertificatePolicies, ExtendedKeyUsage};
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::admission::{Admission, AdmissionError, OID_ADMISSION};
use crate::certificate::sha256;
use crate::serial::{Serial, SerialError, to_hex};
use crate::telematik_id::{TelematikId, TelematikIdError};

/// What the C.HCI.AUT certificate of an institution says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionIdentity {
    telematik_id: TelematikId,
    admission: Admission,
    organisation: Option<String>,
    common_name: Option<String>,
    serial: Serial,
    fingerprint: [u8; 32],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

/// Why a certificate is not a usable C.HCI.AUT institution certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InstitutionError {
    /// The bytes are not a DER X.509 certificate, or an attribute or extension the check reads
    /// is not well-formed.
    #[error("the certificate cannot be parsed: {0}")]
    Parse(#[source] der::Error),
    /// The extended key usage is missing or lacks id-kp-clientAuth (1.3.6.1.5.5.7.3.2).
    #[error("the certificate is not for TLS client authentication")]
    MissingClientAuth,
    /// The certificate policies lack the gematik CP (1.2.276.0.76.4.163) or the C.HCI.AUT type
    /// (1.2.276.0.76.4.77).
    #[error("the certificate policies lack {}", display_oids(missing))]
    WrongPolicy {
        /// The required policy OIDs that are absent.
        missing: Vec<ObjectIdentifier>,
    },
    /// There is no Admission extension (1.3.36.8.3.3).
    #[error("the certificate has no Admission extension")]
    MissingAdmission,
    /// The Admission extension cannot be read.
    #[error("the Admission extension is malformed: {0}")]
    MalformedAdmission(#[source] AdmissionError),
    /// The Admission names no profession OID.
    #[error("the Admission extension names no profession OID")]
    MissingProfessionOid,
    /// The Admission has no registration number (Telematik-ID).
    #[error("the Admission extension has no Telematik-ID")]
    MissingTelematikId,
    /// The registration number is not a Telematik-ID.
    #[error("the registration number is not a Telematik-ID: {0}")]
    InvalidTelematikId(#[source] TelematikIdError),
    /// The serial number is empty or longer than 20 bytes.
    #[error("the serial number is unusable: {0}")]
    Serial(#[source] SerialError),
    /// A validity date lies outside the range this crate can represent.
    #[error("the validity period cannot be represented")]
    Validity,
}

impl InstitutionIdentity {
    /// Checks the C.HCI.AUT profile of a (chain-validated) leaf certificate and reads the
    /// institution's identity from it.
    ///
    /// The checks run in gematik's order: client-auth EKU, both policies, the Admission with at
    /// least one profession OID and a Telematik-ID as registration number.
    pub fn from_der(leaf_der: &[u8]) -> Result<Self, InstitutionError> {
        let certificate = Certificate::from_der(leaf_der).map_err(InstitutionError::Parse)?;
        let tbs = certificate.tbs_certificate();

        let usage = tbs
            .get_extension::<ExtendedKeyUsage>()
            .map_err(InstitutionError::Parse)?;
        if !usage.is_some_and(|(_, usage)| usage.0.contains(&ID_KP_CLIENT_AUTH)) {
            return Err(InstitutionError::MissingClientAuth);
        }

        let policies = tbs
            .get_extension::<CertificatePolicies>()
            .map_err(InstitutionError::Parse)?
            .map(|(_, policies)| policies.0)
            .unwrap_or_default();
        let missing: Vec<ObjectIdentifier> = REQUIRED_POLICIES
            .into_iter()
            .filter(|required| {
                !policies
                    .iter()
                    .any(|policy| policy.policy_identifier == *required)
            })
            .collect();
        if !missing.is_empty() {
            return Err(InstitutionError::WrongPolicy { missing });
        }

        let extension = tbs
            .extensions()
            .into_iter()
            .flatten()
            .find(|extension| extension.extn_id == OID_ADMISSION)
            .ok_or(InstitutionError::MissingAdmission)?;
        let admission = Admission::from_der(extension.extn_value.as_bytes())
            .map_err(InstitutionError::MalformedAdmission)?;
        if admission.profession_oids.is_empty() {
            return Err(InstitutionError::MissingProfessionOid);
        }
        let telematik_id = TelematikId::parse(
            admission
                .registration_number
                .as_deref()
                .ok_or(InstitutionError::MissingTelematikId)?,
        )
        .map_err(InstitutionError::InvalidTelematikId)?;

        let validity = tbs.validity();
        Ok(Self {
            telematik_id,
            admission,
            organisation: directory_string(tbs.subject(), const_oid::db::rfc4519::O)?,
            common_name: directory_string(tbs.subject(), const_oid::db::rfc4519::CN)?,
            serial: Serial::from_bytes(tbs.serial_number().as_bytes())
                .map_err(InstitutionError::Serial)?,
            fingerprint: sha256(leaf_der),
            not_before: date_time(validity.not_before)?,
            not_after: date_time(validity.not_after)?,
        })
    }

    /// The Telematik-ID (the Admission's registration number).
    pub fn telematik_id(&self) -> &TelematikId {
        &self.telematik_id
    }

    /// The profession OIDs, in dotted form, e.g. `1.2.276.0.76.4.54`.
    pub fn profession_oids(&self) -> Vec<String> {
        self.admission
            .profession_oids
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The professions in words, e.g. `Öffentliche Apotheke`.
    pub fn profession_items(&self) -> &[String] {
        &self.admission.profession_items
    }

    /// The whole Admission as read.
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// The subject organisation (O): the institution's name.
    pub fn organisation(&self) -> Option<&str> {
        self.organisation.as_deref()
    }

    /// The subject common name (CN).
    pub fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }

    /// The serial number.
    pub fn serial(&self) -> &Serial {
        &self.serial
    }

    /// The serial number as lowercase hexadecimal digits.
    pub fn serial_hex(&self) -> String {
        self.serial.to_hex()
    }

    /// SHA-256 over the certificate's DER encoding.
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// SHA-256 over the certificate's DER encoding, as 64 lowercase hexadecimal digits.
    pub fn fingerprint_hex(&self) -> String {
        to_hex(&self.fingerprint)
    }

    /// The start of the validity period.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// The end of the validity period.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// Whether one of the certificate's profession OIDs is in `allowed` (gematik's
    /// `checkAllowedProfessionOids`), e.g. `&[OID_PUBLIC_PHARMACY, OID_HOSPITAL_PHARMACY]`.
    pub fn has_allowed_profession(&self, allowed: &[&str]) -> bool {
        self.admission
            .profession_oids
            .iter()
            .any(|oid| allowed.contains(&oid.to_string().as_str()))
    }
}

/// Institution (GS-A_4443): Betriebsstätte Arzt (physician practice).
pub const OID_PHYSICIAN_PRACTICE: &str = "1.2.276.0.76.4.50";
/// Institution (GS-A_4443): Zahnarztpraxis (dental practice).
pub const OID_DENTAL_PRACTICE: &str = "1.2.276.0.76.4.51";
/// Institution (GS-A_4443): Betriebsstätte Psychotherapeut (psychotherapy practice).
pub const OID_PSYCHOTHERAPY_PRACTICE: &str = "1.2.276.0.76.4.52";
/// Institution (GS-A_4443): Krankenhaus (hospital).
pub const OID_HOSPITAL: &str = "1.2.276.0.76.4.53";
/// Institution (GS-A_4443): Öffentliche Apotheke (public pharmacy).
pub const OID_PUBLIC_PHARMACY: &str = "1.2.276.0.76.4.54";
/// Institution (GS-A_4443): Krankenhausapotheke (hospital pharmacy).
pub const OID_HOSPITAL_PHARMACY: &str = "1.2.276.0.76.4.55";
/// Institution (GS-A_4443): Bundeswehrapotheke (armed forces pharmacy).
pub const OID_ARMED_FORCES_PHARMACY: &str = "1.2.276.0.76.4.56";
/// Institution (GS-A_4443): gematik.
pub const OID_GEMATIK: &str = "1.2.276.0.76.4.58";
/// Institution (GS-A_4443): Kostenträger (health insurer).
pub const OID_HEALTH_INSURER: &str = "1.2.276.0.76.4.59";
/// Institution (GS-A_4443): Deutscher Apothekerverband (DAV).
pub const OID_DAV: &str = "1.2.276.0.76.4.225";
/// Institution (GS-A_4443): Landesapothekerkammer (state chamber of pharmacists).
pub const OID_STATE_PHARMACY_CHAMBER: &str = "1.2.276.0.76.4.265";
/// Certificate type and policy (GS-A_4445): C.HCI.AUT, `oid_smc_b_aut`.
pub const OID_POLICY_SMC_B_AUT: &str = "1.2.276.0.76.4.77";
/// Policy: the general gematik certificate policy.
pub const OID_POLICY_GEMATIK_CP: &str = "1.2.276.0.76.4.163";

/// The two policies a C.HCI.AUT certificate carries.
pub(crate) const REQUIRED_POLICIES: [ObjectIdentifier; 2] = [
    ObjectIdentifier::new_unwrap(OID_POLICY_GEMATIK_CP),
    ObjectIdentifier::new_unwrap(OID_POLICY_SMC_B_AUT),
];

/// The first attribute of type `oid` in `name`, decoded as a DirectoryString.
fn directory_string(
    name: &Name,
    oid: ObjectIdentifier,
) -> Result<Option<String>, InstitutionError> {
    name.by_oid::<x509_cert::ext::pkix::name::DirectoryString>(oid)
        .map(|value| value.map(String::from))
        .map_err(InstitutionError::Parse)
}

fn date_time(time: Time) -> Result<OffsetDateTime, InstitutionError> {
    let seconds =
        i64::try_from(time.to_unix_duration().as_secs()).map_err(|_| InstitutionError::Validity)?;
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| InstitutionError::Validity)
}

fn display_oids(oids: &[ObjectIdentifier]) -> String {
    oids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::ca::{CertificateAuthority, ca_params, distinguished_name};
    use crate::institution_request::{InstitutionRequest, Profile};

    const NOW: OffsetDateTime = datetime!(2021-06-01 12:00 UTC);
    const ID: &str = "3-SMC-B-Testkarte-883110000116873";

    fn smcb_ca() -> CertificateAuthority {
        let subject = distinguished_name(&[
            (rcgen::DnType::CountryName, "DE"),
            (rcgen::DnType::CommonName, "GEM.SMCB-CA-UNIT TEST-ONLY"),
        ]);
        CertificateAuthority::self_signed(ca_params(
            subject,
            NOW,
            NOW + time::Duration::days(365),
            Some(0),
        ))
        .unwrap()
    }

    fn issue(request: &InstitutionRequest) -> Vec<u8> {
        smcb_ca()
            .issue(&request.to_params(NOW).unwrap())
            .unwrap()
            .certificate_der()
            .to_vec()
    }

    fn request() -> InstitutionRequest {
        InstitutionRequest::pharmacy("Löwen-Apotheke", TelematikId::parse(ID).unwrap())
    }

    #[test]
    fn conforming_pharmacy_certificate_yields_its_identity() {
        let der = issue(&request());
        let identity = InstitutionIdentity::from_der(&der).unwrap();
        assert_eq!(identity.telematik_id().as_str(), ID);
        assert!(identity.telematik_id().is_pharmacy_sector());
        assert_eq!(identity.profession_oids(), [OID_PUBLIC_PHARMACY]);
        assert_eq!(identity.profession_items(), ["Öffentliche Apotheke"]);
        assert_eq!(
            identity.admission().authority.as_deref(),
            Some("O=Landesapothekerkammer Dev,C=DE")
        );
        assert_eq!(identity.organisation(), Some("Löwen-Apotheke"));
        assert_eq!(identity.common_name(), Some("Löwen-Apotheke"));
        assert_eq!(identity.not_before(), NOW);
        assert_eq!(identity.not_after(), NOW + time::Duration::days(5 * 365));
        assert_eq!(identity.fingerprint(), &sha256(&der));
        assert_eq!(identity.fingerprint_hex().len(), 64);
        let parsed = Certificate::from_der(&der).unwrap();
        assert_eq!(
            identity.serial_hex(),
            to_hex(parsed.tbs_certificate().serial_number().as_bytes())
        );
    }

    #[test]
    fn allowed_professions_are_matched_by_oid() {
        let identity = InstitutionIdentity::from_der(&issue(&request())).unwrap();
        assert!(identity.has_allowed_profession(&[OID_HOSPITAL_PHARMACY, OID_PUBLIC_PHARMACY]));
        assert!(!identity.has_allowed_profession(&[OID_PHYSICIAN_PRACTICE]));
        assert!(!identity.has_allowed_profession(&[]));

        let mut hospital = request();
        hospital.profession_oid = ObjectIdentifier::new_unwrap(OID_HOSPITAL_PHARMACY);
        hospital.profession_item = "Krankenhausapotheke".to_owned();
        let identity = InstitutionIdentity::from_der(&issue(&hospital)).unwrap();
        assert_eq!(identity.profession_oids(), [OID_HOSPITAL_PHARMACY]);
        assert!(!identity.has_allowed_profession(&[OID_PUBLIC_PHARMACY]));
    }

    #[test]
    fn missing_client_auth_is_rejected() {
        let mut request = request();
        request.profile = Profile::WithoutClientAuth;
        assert_eq!(
            InstitutionIdentity::from_der(&issue(&request)),
            Err(InstitutionError::MissingClientAuth)
        );
    }

    #[test]
    fn each_missing_policy_is_named() {
        for oid in [OID_POLICY_SMC_B_AUT, OID_POLICY_GEMATIK_CP] {
            let oid = ObjectIdentifier::new_unwrap(oid);
            let mut request = request();
            request.profile = Profile::WithoutPolicy(oid);
            assert_eq!(
                InstitutionIdentity::from_der(&issue(&request)),
                Err(InstitutionError::WrongPolicy { missing: vec![oid] })
            );
        }
    }

    #[test]
    fn missing_admission_is_rejected() {
        let mut request = request();
        request.profile = Profile::WithoutAdmission;
        assert_eq!(
            InstitutionIdentity::from_der(&issue(&request)),
            Err(InstitutionError::MissingAdmission)
        );
    }

    #[test]
    fn admission_defects_are_told_apart() {
        let ca = smcb_ca();
        let with_admission = |admission: Vec<u8>| {
            let mut params = request().to_params(NOW).unwrap();
            params.custom_extensions.retain(|extension| {
                extension.oid_components().collect::<Vec<_>>() != [1, 3, 36, 8, 3, 3]
            });
            params
                .custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 36, 8, 3, 3],
                    admission,
                ));
            let issued = ca.issue(&params).unwrap();
            InstitutionIdentity::from_der(issued.certificate_der())
        };
        let base = request().admission();

        assert!(matches!(
            with_admission(vec![0x30, 0x01, 0x05]),
            Err(InstitutionError::MalformedAdmission(AdmissionError::Der(_)))
        ));
        let mut no_oid = base.clone();
        no_oid.profession_oids.clear();
        assert_eq!(
            with_admission(no_oid.to_der().unwrap()),
            Err(InstitutionError::MissingProfessionOid)
        );
        let mut no_number = base.clone();
        no_number.registration_number = None;
        assert_eq!(
            with_admission(no_number.to_der().unwrap()),
            Err(InstitutionError::MissingTelematikId)
        );
        let mut bad_number = base;
        bad_number.registration_number = Some("SMC-B-883110000116873".to_owned());
        assert_eq!(
            with_admission(bad_number.to_der().unwrap()),
            Err(InstitutionError::InvalidTelematikId(
                TelematikIdError::MissingSectorPrefix
            ))
        );
    }

    #[test]
    fn garbage_is_a_parse_error() {
        assert!(matches!(
            InstitutionIdentity::from_der(&[0x30, 0x00]),
            Err(InstitutionError::Parse(_))
        ));
    }

    #[test]
    fn wrong_policy_message_lists_the_oids() {
        let error = InstitutionError::WrongPolicy {
            missing: REQUIRED_POLICIES.to_vec(),
        };
        assert_eq!(
            error.to_string(),
            "the certificate policies lack 1.2.276.0.76.4.163, 1.2.276.0.76.4.77"
        );
    }
}
