//! Property tests of the institution-certificate parser ([`InstitutionIdentity::from_der`])
//! through the fuzzing oracle [`dcc_pki::fuzzing::institution_certificate`]: arbitrary bytes,
//! byte flips and truncations of a development-PKI leaf, and certificates carrying generated
//! Admission extensions whose reading is predicted by a small model.
//!
//! The cargo-fuzz seed corpus `fuzz/seeds/institution_certificate/` is checked here too, and
//! rewritten from a fresh development PKI with `DCC_WRITE_FUZZ_SEEDS=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ops::Range;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::LazyLock;

use const_oid::ObjectIdentifier;
use dcc_pki::admission::{
    AdmissionError, AdmissionSyntax, Admissions, OID_ADMISSION, ProfessionInfo,
};
use dcc_pki::dev_pki::{DEFAULT_TELEMATIK_ID, DevPki};
use dcc_pki::fuzzing::institution_certificate;
use dcc_pki::institution::{
    InstitutionError, InstitutionIdentity, OID_HOSPITAL_PHARMACY, OID_POLICY_GEMATIK_CP,
    OID_POLICY_SMC_B_AUT, OID_PUBLIC_PHARMACY,
};
use dcc_pki::institution_request::{InstitutionRequest, Profile};
use dcc_pki::telematik_id::TelematikId;
use der::asn1::{Ia5String, PrintableString};
use der::{Decode as _, Encode as _};
use proptest::prelude::*;
use proptest::sample::Index;
use time::OffsetDateTime;
use time::macros::datetime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::CertificatePolicies;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::name::{DirectoryString, GeneralName};
use x509_cert::name::Name;

const NOW: OffsetDateTime = datetime!(2021-06-01 12:00 UTC);

/// The development PKI's default pharmacy certificate.
static LEAF: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let pki = DevPki::generate(NOW).unwrap();
    let id = TelematikId::parse(DEFAULT_TELEMATIK_ID).unwrap();
    pki.institutions()[&id].certificate_der().to_vec()
});

/// One key for the certificates with generated Admissions: the parser checks no signature,
/// so a self-signed certificate stands in for one from the SMC-B CA.
static KEY: LazyLock<rcgen::KeyPair> = LazyLock::new(|| rcgen::KeyPair::generate().unwrap());

#[test]
fn the_dev_pki_leaf_passes_the_oracle() {
    let identity = institution_certificate(&LEAF).unwrap();
    assert_eq!(identity.telematik_id().as_str(), DEFAULT_TELEMATIK_ID);
    assert_eq!(identity.profession_oids(), [OID_PUBLIC_PHARMACY]);
    assert!(admission_range(&LEAF).len() > 50);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1500)) {
        // Random bytes are almost never a certificate; what matters is a typed answer.
        let _ = institution_certificate(&bytes);
    }

    #[test]
    fn flipped_bytes_of_a_leaf_never_panic(flips in flips()) {
        let mut der = LEAF.clone();
        let len = der.len();
        for (at, mask) in flips {
            der[at.index(len)] ^= mask;
        }
        let _ = institution_certificate(&der);
    }

    #[test]
    fn flipped_bytes_of_the_admission_never_panic(flips in flips()) {
        // Flips inside the extension keep the certificate's outer structure intact, so they
        // reach the Admission and Telematik-ID parsers rather than failing at the first TLV.
        let mut der = LEAF.clone();
        let range = admission_range(&der);
        for (at, mask) in flips {
            der[range.start + at.index(range.len())] ^= mask;
        }
        let _ = institution_certificate(&der);
    }

    #[test]
    fn a_truncated_leaf_is_a_parse_error(cut in any::<Index>()) {
        let der = &LEAF[..cut.index(LEAF.len())];
        prop_assert!(
            matches!(institution_certificate(der), Err(InstitutionError::Parse(_))),
            "cut at {}", der.len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_generated_admission_is_read_as_modelled(syntax in admission_syntax()) {
        let der = certificate_with_admission(&syntax.to_der().unwrap());
        let found = institution_certificate(&der);
        match expected_reading(&syntax) {
            Ok((telematik_id, oids, items)) => {
                let identity = found.unwrap();
                prop_assert_eq!(identity.telematik_id(), &telematik_id);
                prop_assert_eq!(&identity.admission().profession_oids, &oids);
                prop_assert_eq!(identity.profession_items(), &items[..]);
            }
            Err(error) => prop_assert_eq!(found, Err(error)),
        }
    }
}

/// Checks the committed seed corpus of the cargo-fuzz target: each file is read as its name
/// says. `DCC_WRITE_FUZZ_SEEDS=1` writes it afresh first (new keys, so new bytes).
#[test]
fn fuzz_seed_corpus_is_read_as_named() {
    let directory =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/institution_certificate");
    if std::env::var_os("DCC_WRITE_FUZZ_SEEDS").is_some() {
        write_seeds(&directory);
    }
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&directory).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let found = institution_certificate(&std::fs::read(&path).unwrap());
        match name.as_str() {
            "public-pharmacy" | "hospital-pharmacy" => assert!(found.is_ok(), "{name}"),
            "without-admission" => assert_eq!(found, Err(InstitutionError::MissingAdmission)),
            "without-client-auth" => assert_eq!(found, Err(InstitutionError::MissingClientAuth)),
            "without-smcb-policy" => {
                assert!(matches!(found, Err(InstitutionError::WrongPolicy { .. })));
            }
            "invalid-telematik-id" => {
                assert!(matches!(
                    found,
                    Err(InstitutionError::InvalidTelematikId(_))
                ));
            }
            other => panic!("unexpected seed {other}"),
        }
        seen.push(name);
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
}

fn write_seeds(directory: &std::path::Path) {
    std::fs::create_dir_all(directory).unwrap();
    let pki = DevPki::generate(NOW).unwrap();
    let pharmacy = || {
        InstitutionRequest::pharmacy(
            "Löwen-Apotheke",
            TelematikId::parse(DEFAULT_TELEMATIK_ID).unwrap(),
        )
    };
    let mut hospital = pharmacy();
    hospital.profession_oid = ObjectIdentifier::new_unwrap(OID_HOSPITAL_PHARMACY);
    hospital.profession_item = "Krankenhausapotheke".to_owned();
    let with_profile = |profile| {
        let mut request = pharmacy();
        request.profile = profile;
        request
    };
    for (name, request) in [
        ("public-pharmacy", pharmacy()),
        ("hospital-pharmacy", hospital),
        ("without-admission", with_profile(Profile::WithoutAdmission)),
        (
            "without-client-auth",
            with_profile(Profile::WithoutClientAuth),
        ),
        (
            "without-smcb-policy",
            with_profile(Profile::WithoutPolicy(ObjectIdentifier::new_unwrap(
                OID_POLICY_SMC_B_AUT,
            ))),
        ),
    ] {
        let issued = pki.issue_institution(&request, NOW).unwrap();
        std::fs::write(
            directory.join(format!("{name}.der")),
            issued.certificate_der(),
        )
        .unwrap();
    }
    let mut admission = pharmacy().admission();
    admission.registration_number = Some("SMC-B-883110000116873".to_owned());
    std::fs::write(
        directory.join("invalid-telematik-id.der"),
        certificate_with_admission(&admission.to_der().unwrap()),
    )
    .unwrap();
}

/// What the parser must make of a certificate that is right apart from this Admission:
/// the Telematik-ID, profession OIDs and items, or the first refusal in gematik's order.
fn expected_reading(
    syntax: &AdmissionSyntax,
) -> Result<(TelematikId, Vec<ObjectIdentifier>, Vec<String>), InstitutionError> {
    let admissions =
        syntax
            .contents_of_admissions
            .first()
            .ok_or(InstitutionError::MalformedAdmission(
                AdmissionError::NoAdmissions,
            ))?;
    let info = admissions
        .profession_infos
        .first()
        .ok_or(InstitutionError::MalformedAdmission(
            AdmissionError::NoProfessionInfo,
        ))?;
    let oids = info.profession_oids.clone().unwrap_or_default();
    if oids.is_empty() {
        return Err(InstitutionError::MissingProfessionOid);
    }
    let number = info
        .registration_number
        .as_ref()
        .ok_or(InstitutionError::MissingTelematikId)?;
    let telematik_id =
        TelematikId::parse(number.as_str()).map_err(InstitutionError::InvalidTelematikId)?;
    let items = info
        .profession_items
        .iter()
        .map(|item| item.value().into_owned())
        .collect();
    Ok((telematik_id, oids, items))
}

/// A self-signed C.HCI.AUT-shaped certificate (client-auth EKU, both policies) whose Admission
/// extension value is `admission`.
fn certificate_with_admission(admission: &[u8]) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::default();
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CountryName, "DE");
    name.push(rcgen::DnType::OrganizationName, "Apotheke am Prüfstand");
    name.push(rcgen::DnType::CommonName, "Apotheke am Prüfstand");
    params.distinguished_name = name;
    params.not_before = NOW;
    params.not_after = NOW + time::Duration::days(365);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let policies = CertificatePolicies(
        [OID_POLICY_GEMATIK_CP, OID_POLICY_SMC_B_AUT]
            .into_iter()
            .map(|oid| PolicyInformation {
                policy_identifier: ObjectIdentifier::new_unwrap(oid),
                policy_qualifiers: None,
            })
            .collect(),
    );
    params
        .custom_extensions
        .push(rcgen::CustomExtension::from_oid_content(
            &[2, 5, 29, 32],
            policies.to_der().unwrap(),
        ));
    params
        .custom_extensions
        .push(rcgen::CustomExtension::from_oid_content(
            &[1, 3, 36, 8, 3, 3],
            admission.to_vec(),
        ));
    params.self_signed(&*KEY).unwrap().der().to_vec()
}

/// Where the Admission extension's value lies in `der`.
fn admission_range(der: &[u8]) -> Range<usize> {
    let certificate = Certificate::from_der(der).unwrap();
    let value = certificate
        .tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|extension| extension.extn_id == OID_ADMISSION)
        .unwrap()
        .extn_value
        .as_bytes()
        .to_vec();
    let start = der
        .windows(value.len())
        .position(|window| window == value)
        .unwrap();
    start..start + value.len()
}

fn flips() -> impl Strategy<Value = Vec<(Index, u8)>> {
    proptest::collection::vec((any::<Index>(), 1u8..=255), 1..6)
}

fn admission_syntax() -> impl Strategy<Value = AdmissionSyntax> {
    let info = (
        proptest::collection::vec(".{1,16}", 0..3),
        proptest::option::of(proptest::collection::vec(oid(), 0..3)),
        proptest::option::of(registration_number()),
    )
        .prop_map(|(items, profession_oids, number)| ProfessionInfo {
            naming_authority: None,
            profession_items: items.into_iter().map(DirectoryString::Utf8String).collect(),
            profession_oids,
            registration_number: number.map(|text| PrintableString::new(&text).unwrap()),
            add_profession_info: None,
        });
    let admissions = (
        proptest::option::of(authority()),
        proptest::collection::vec(info, 0..3),
    )
        .prop_map(|(admission_authority, profession_infos)| Admissions {
            admission_authority,
            naming_authority: None,
            profession_infos,
        });
    (
        proptest::option::of(authority()),
        proptest::collection::vec(admissions, 0..3),
    )
        .prop_map(
            |(admission_authority, contents_of_admissions)| AdmissionSyntax {
                admission_authority,
                contents_of_admissions,
            },
        )
}

fn oid() -> impl Strategy<Value = ObjectIdentifier> {
    prop_oneof![
        Just(ObjectIdentifier::new_unwrap(OID_PUBLIC_PHARMACY)),
        (
            0u32..=2,
            0u32..40,
            proptest::collection::vec(any::<u32>(), 0..5)
        )
            .prop_filter_map("not an OID", |(first, second, rest)| {
                ObjectIdentifier::from_arcs([first, second].into_iter().chain(rest)).ok()
            }),
    ]
}

/// Text in the PrintableString alphabet: Telematik-IDs, near misses and overlong ones.
fn registration_number() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}-[A-Za-z0-9.-]{0,24}",
        "[A-Za-z0-9'()+,./:=? -]{0,32}",
        "[0-9]-[A-Z]{120,140}",
    ]
}

fn authority() -> impl Strategy<Value = GeneralName> {
    prop_oneof![
        Just(GeneralName::DirectoryName(
            Name::from_str("O=Landesapothekerkammer Dev,C=DE").unwrap()
        )),
        "[a-z:/.]{0,24}".prop_map(|text| GeneralName::UniformResourceIdentifier(
            Ia5String::new(&text).unwrap()
        )),
    ]
}

#[test]
fn identity_of_the_leaf_matches_direct_parsing() {
    // The oracle returns exactly what the parser does.
    assert_eq!(
        institution_certificate(&LEAF),
        InstitutionIdentity::from_der(&LEAF)
    );
}
