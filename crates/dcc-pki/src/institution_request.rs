//! What a development SMC-B CA puts into an institution's C.HCI.AUT certificate
//! (german-context.md §5.2), including deliberate deviations for negative tests.

use std::str::FromStr as _;

use const_oid::ObjectIdentifier;
use der::Encode as _;
use rcgen::{
    CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};
use x509_cert::ext::pkix::CertificatePolicies;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;

use crate::admission::{Admission, AdmissionError, OID_ADMISSION};
use crate::ca::{distinguished_name, oid_arcs};
use crate::institution::{OID_POLICY_GEMATIK_CP, OID_POLICY_SMC_B_AUT, OID_PUBLIC_PHARMACY};
use crate::telematik_id::TelematikId;

/// The content of one institution certificate.
///
/// [`InstitutionRequest::pharmacy`] fills in a conforming public pharmacy; change the public
/// fields for other professions, validity windows (e.g. already expired) or profile defects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionRequest {
    /// The subject organisation (O): the institution's name.
    pub organisation: String,
    /// The subject common name (CN).
    pub common_name: String,
    /// The Telematik-ID, written as the Admission's registration number.
    pub telematik_id: TelematikId,
    /// The profession OID; [`OID_PUBLIC_PHARMACY`] by default.
    pub profession_oid: ObjectIdentifier,
    /// The profession in words; `Öffentliche Apotheke` by default.
    pub profession_item: String,
    /// The admission authority as an RFC 4514 directory name;
    /// [`DEFAULT_ADMISSION_AUTHORITY`] by default.
    pub admission_authority: String,
    /// The start of validity; `now` when `None`.
    pub not_before: Option<OffsetDateTime>,
    /// The end of validity; `not_before` + [`INSTITUTION_VALIDITY`] when `None`.
    pub not_after: Option<OffsetDateTime>,
    /// Whether and how the certificate deviates from the C.HCI.AUT profile.
    pub profile: Profile,
}

/// How closely an institution certificate follows the C.HCI.AUT profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Profile {
    /// Everything the profile requires.
    #[default]
    Conforming,
    /// No Admission extension.
    WithoutAdmission,
    /// No id-kp-clientAuth extended key usage (the EKU extension is left out).
    WithoutClientAuth,
    /// The certificate policies lack this policy OID (one of 1.2.276.0.76.4.163 and .77).
    WithoutPolicy(ObjectIdentifier),
}

impl InstitutionRequest {
    /// A conforming public pharmacy named `name` (used as both O and CN).
    pub fn pharmacy(name: &str, telematik_id: TelematikId) -> Self {
        Self {
            organisation: name.to_owned(),
            common_name: name.to_owned(),
            telematik_id,
            profession_oid: ObjectIdentifier::new_unwrap(OID_PUBLIC_PHARMACY),
            profession_item: PUBLIC_PHARMACY_ITEM.to_owned(),
            admission_authority: DEFAULT_ADMISSION_AUTHORITY.to_owned(),
            not_before: None,
            not_after: None,
            profile: Profile::Conforming,
        }
    }

    /// The Admission this request asks for.
    pub fn admission(&self) -> Admission {
        Admission {
            authority: Some(self.admission_authority.clone()),
            profession_items: vec![self.profession_item.clone()],
            profession_oids: vec![self.profession_oid],
            registration_number: Some(self.telematik_id.as_str().to_owned()),
        }
    }

    /// The rcgen parameters of the certificate: subject C=DE, O, CN; KeyUsage (critical)
    /// digitalSignature; EKU clientAuth; BasicConstraints (critical) CA:FALSE; SKI and AKI;
    /// CertificatePolicies .163 and .77; Admission.
    pub(crate) fn to_params(
        &self,
        now: OffsetDateTime,
    ) -> Result<CertificateParams, AdmissionError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name(&[
            (DnType::CountryName, "DE"),
            (DnType::OrganizationName, &self.organisation),
            (DnType::CommonName, &self.common_name),
        ]);
        let not_before = self.not_before.unwrap_or(now);
        params.not_before = not_before;
        params.not_after = self.not_after.unwrap_or(not_before + INSTITUTION_VALIDITY);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if self.profile != Profile::WithoutClientAuth {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.custom_extensions.push(self.policies_extension()?);
        if self.profile != Profile::WithoutAdmission {
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    &oid_arcs(&OID_ADMISSION),
                    self.admission().to_der()?,
                ));
        }
        Ok(params)
    }

    fn policies_extension(&self) -> Result<CustomExtension, AdmissionError> {
        let policies = CertificatePolicies(
            [OID_POLICY_GEMATIK_CP, OID_POLICY_SMC_B_AUT]
                .into_iter()
                .filter_map(|text| ObjectIdentifier::from_str(text).ok())
                .filter(|oid| self.profile != Profile::WithoutPolicy(*oid))
                .map(|policy_identifier| PolicyInformation {
                    policy_identifier,
                    policy_qualifiers: None,
                })
                .collect(),
        );
        let der = policies.to_der().map_err(AdmissionError::Value)?;
        Ok(CustomExtension::from_oid_content(
            &oid_arcs(&const_oid::db::rfc5280::ID_CE_CERTIFICATE_POLICIES),
            der,
        ))
    }
}

/// The default admission authority: a fictitious state chamber of pharmacists.
pub const DEFAULT_ADMISSION_AUTHORITY: &str = "O=Landesapothekerkammer Dev,C=DE";

/// The profession item of a public pharmacy.
pub const PUBLIC_PHARMACY_ITEM: &str = "Öffentliche Apotheke";

/// The default validity of an institution certificate (SMC-B certificates last five years).
pub const INSTITUTION_VALIDITY: Duration = Duration::days(5 * 365);

#[cfg(test)]
mod tests {
    use der::Decode as _;
    use time::macros::datetime;
    use x509_cert::Certificate;
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

    use super::*;
    use crate::ca::{CertificateAuthority, ca_params};

    const NOW: OffsetDateTime = datetime!(2021-06-01 12:00 UTC);

    fn issue(request: &InstitutionRequest) -> Certificate {
        let ca = CertificateAuthority::self_signed(ca_params(
            distinguished_name(&[(DnType::CommonName, "CA")]),
            NOW,
            NOW + Duration::days(10),
            Some(0),
        ))
        .unwrap();
        let issued = ca.issue(&request.to_params(NOW).unwrap()).unwrap();
        Certificate::from_der(issued.certificate_der()).unwrap()
    }

    fn request() -> InstitutionRequest {
        InstitutionRequest::pharmacy(
            "Apotheke",
            TelematikId::parse("3-10.3.1234567000.10.999").unwrap(),
        )
    }

    #[test]
    fn key_usage_and_basic_constraints_follow_the_profile() {
        let certificate = issue(&request());
        let tbs = certificate.tbs_certificate();
        let (critical, usage) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
        assert!(critical);
        assert!(usage.digital_signature());
        assert!(!usage.key_encipherment() && !usage.key_cert_sign() && !usage.crl_sign());
        let (critical, constraints) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
        assert!(critical);
        assert!(!constraints.ca);
        let subject = tbs.subject().to_string();
        assert_eq!(subject, "CN=Apotheke,O=Apotheke,C=DE");
    }

    #[test]
    fn custom_validity_allows_expired_certificates() {
        let mut request = request();
        request.not_before = Some(datetime!(2019-01-01 00:00 UTC));
        request.not_after = Some(datetime!(2020-01-01 00:00 UTC));
        let certificate = issue(&request);
        let validity = certificate.tbs_certificate().validity();
        assert_eq!(
            validity.not_after.to_unix_duration().as_secs(),
            datetime!(2020-01-01 00:00 UTC)
                .unix_timestamp()
                .unsigned_abs()
        );
    }

    #[test]
    fn admission_follows_the_request() {
        let admission = request().admission();
        assert_eq!(admission.profession_items, ["Öffentliche Apotheke"]);
        assert_eq!(
            admission.profession_oids,
            [ObjectIdentifier::new_unwrap(OID_PUBLIC_PHARMACY)]
        );
        assert_eq!(
            admission.registration_number.as_deref(),
            Some("3-10.3.1234567000.10.999")
        );
        assert_eq!(
            admission.authority.as_deref(),
            Some(DEFAULT_ADMISSION_AUTHORITY)
        );
    }
}
