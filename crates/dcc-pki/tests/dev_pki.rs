//! The development PKI end to end: generate, write, load, issue, sign and verify.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use dcc_core::dsc::Dsc;
use dcc_core::hcert::{self, cwt::IssueClaims};
use dcc_core::model::Dcc;
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::trust_list::TrustList;
use dcc_core::verify::{self, KeyUsageCheck, SignatureCheck};
use dcc_pki::admission::{Admission, AdmissionSyntax, OID_ADMISSION};
use dcc_pki::dev_pki::{DEFAULT_TELEMATIK_ID, DevPki};
use dcc_pki::file_signer::FileSigner;
use dcc_pki::institution::{
    InstitutionError, InstitutionIdentity, OID_HOSPITAL_PHARMACY, OID_POLICY_SMC_B_AUT,
    OID_PUBLIC_PHARMACY,
};
use dcc_pki::institution_request::{InstitutionRequest, Profile};
use dcc_pki::layout::Overwrite;
use dcc_pki::telematik_id::TelematikId;
use der::Decode as _;
use der::asn1::ObjectIdentifier;
use time::OffsetDateTime;
use time::macros::datetime;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

const NOW: OffsetDateTime = datetime!(2021-06-01 12:00 UTC);
const DAY: i64 = 86_400;

fn vaccination() -> Dcc {
    Dcc::from_json(&serde_json::json!({
        "ver": "1.3.0",
        "nam": {"fn": "Größer", "fnt": "GROESSER", "gn": "Änne", "gnt": "AENNE"},
        "dob": "1980-02-29",
        "v": [{
            "tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
            "dn": 2, "sd": 2, "dt": "2021-05-30", "co": "DE",
            "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:DEV123/PKI4TEST7QZ#S"
        }]
    }))
    .unwrap()
}

fn claims() -> IssueClaims {
    IssueClaims {
        issuer: "DE".into(),
        issued_at: NOW.unix_timestamp(),
        expires_at: NOW.unix_timestamp() + 365 * DAY,
    }
}

fn trust_list(pki: &DevPki) -> TrustList {
    CertificateType::ALL
        .into_iter()
        .map(|certificate_type| Dsc::from_der(pki.dsc(certificate_type).certificate_der()).unwrap())
        .collect()
}

#[test]
fn a_dsc_loaded_from_files_signs_a_verifiable_hcert() {
    let dir = tempfile::tempdir().unwrap();
    let pki = DevPki::generate(NOW).unwrap();
    pki.write_to(dir.path(), Overwrite::Refuse).unwrap();

    let signer = FileSigner::load(
        &dir.path().join("dcc/dsc-v.pem"),
        &dir.path().join("dcc/dsc-v.key"),
    )
    .unwrap();
    assert_eq!(signer.dsc().common_name(), Some("DCC DSC vaccination DEV"));
    let text = hcert::encode(&vaccination(), &claims(), &signer).unwrap();
    let trust = trust_list(&pki);
    let verification = verify::verify(&text, &trust, NOW.unix_timestamp() + DAY).unwrap();
    assert!(verification.is_valid(), "{verification:?}");
    assert_eq!(
        verification.signer.map(Dsc::as_der),
        Some(signer.dsc().as_der())
    );
}

#[test]
fn a_dsc_of_another_type_fails_the_key_usage_check() {
    let pki = DevPki::generate(NOW).unwrap();
    let test_dsc = pki.dsc(CertificateType::Test);
    let signer = FileSigner::from_pem(
        test_dsc.certificate_pem().as_bytes(),
        &test_dsc.private_key_pem(),
    )
    .unwrap();
    let text = hcert::encode(&vaccination(), &claims(), &signer).unwrap();
    let trust = trust_list(&pki);
    let verification = verify::verify(&text, &trust, NOW.unix_timestamp() + DAY).unwrap();
    assert_eq!(verification.signature, SignatureCheck::Valid);
    assert_eq!(
        verification.key_usage,
        KeyUsageCheck::NotAllowed {
            certificate_type: CertificateType::Vaccination
        }
    );
}

#[test]
fn institution_admission_decodes_identically_through_the_asn1_types() {
    let pki = DevPki::generate(NOW).unwrap();
    let pharmacy = &pki.institutions()[&TelematikId::parse(DEFAULT_TELEMATIK_ID).unwrap()];
    let certificate = Certificate::from_der(pharmacy.certificate_der()).unwrap();
    let extension = certificate
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|extension| extension.extn_id == OID_ADMISSION)
        .unwrap();
    assert!(!extension.critical);
    let der = extension.extn_value.as_bytes();
    let syntax = AdmissionSyntax::from_der(der).unwrap();
    let admission = Admission::from_syntax(&syntax).unwrap();
    assert_eq!(Admission::from_der(der).unwrap(), admission);
    assert_eq!(admission.to_der().unwrap(), der);
    assert_eq!(admission.profession_items, ["Öffentliche Apotheke"]);
    assert_eq!(
        admission.profession_oids,
        [ObjectIdentifier::new_unwrap(OID_PUBLIC_PHARMACY)]
    );
    assert_eq!(
        admission.registration_number.as_deref(),
        Some(DEFAULT_TELEMATIK_ID)
    );
}

#[test]
fn issued_institutions_pass_or_fail_the_profile_check_as_requested() {
    let pki = DevPki::generate(NOW).unwrap();
    let id = TelematikId::parse("3-SMC-B-Testkarte--883110000153440").unwrap();
    let base = InstitutionRequest::pharmacy("Krankenhausapotheke Süd", id.clone());
    let check = |request: &InstitutionRequest| {
        let issued = pki.issue_institution(request, NOW).unwrap();
        InstitutionIdentity::from_der(issued.certificate_der())
    };

    let mut hospital = base.clone();
    hospital.profession_oid = ObjectIdentifier::new_unwrap(OID_HOSPITAL_PHARMACY);
    hospital.profession_item = "Krankenhausapotheke".to_owned();
    let identity = check(&hospital).unwrap();
    assert_eq!(identity.telematik_id(), &id);
    assert_eq!(identity.profession_oids(), [OID_HOSPITAL_PHARMACY]);
    assert_eq!(identity.organisation(), Some("Krankenhausapotheke Süd"));

    let mut expired = base.clone();
    expired.not_before = Some(datetime!(2019-01-01 00:00 UTC));
    expired.not_after = Some(datetime!(2020-01-01 00:00 UTC));
    let identity = check(&expired).unwrap();
    assert!(identity.not_after() < NOW);

    let with = |profile| InstitutionRequest {
        profile,
        ..base.clone()
    };
    assert_eq!(
        check(&with(Profile::WithoutAdmission)),
        Err(InstitutionError::MissingAdmission)
    );
    assert_eq!(
        check(&with(Profile::WithoutClientAuth)),
        Err(InstitutionError::MissingClientAuth)
    );
    let smcb_aut = ObjectIdentifier::new_unwrap(OID_POLICY_SMC_B_AUT);
    assert_eq!(
        check(&with(Profile::WithoutPolicy(smcb_aut))),
        Err(InstitutionError::WrongPolicy {
            missing: vec![smcb_aut]
        })
    );
}

#[test]
fn crl_written_with_the_pki_parses_and_lists_the_revoked_serial() {
    let dir = tempfile::tempdir().unwrap();
    let pki = DevPki::generate(NOW).unwrap();
    pki.write_to(dir.path(), Overwrite::Refuse).unwrap();
    let loaded = DevPki::load_from(dir.path()).unwrap();
    let pharmacy = loaded.institutions().values().next().unwrap();
    let serial = pharmacy.certificate().serial().unwrap();
    let crl = loaded
        .crl(
            std::slice::from_ref(&serial),
            NOW + time::Duration::hours(1),
        )
        .unwrap();
    DevPki::write_smcb_crl(dir.path(), &crl).unwrap();

    let text = std::fs::read_to_string(dir.path().join("ti/smcb-ca.crl")).unwrap();
    assert!(text.starts_with("-----BEGIN X509 CRL-----"));
    let list = <CertificateList>::from_der(crl.der()).unwrap();
    let revoked = list.tbs_cert_list.revoked_certificates.unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].serial_number.as_bytes(), serial.as_bytes());
    assert_eq!(
        DevPki::load_from(dir.path())
            .unwrap()
            .smcb_crl()
            .revoked_serials()
            .unwrap(),
        vec![serial]
    );
}
