//! Issue a certificate, then decode and verify it.

use dcc_core::hcert::{self, compress::Compression, cose::Tagging};
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::verify::{self, KeyUsageCheck, SignatureCheck, ValidityCheck};

use super::support::{DAY, JUNE_2021, Usage, claims, es256_issuer, ps256_issuer, vaccination};

#[test]
fn es256_certificate_verifies() {
    let issuer = es256_issuer(Usage::Any);
    let text = hcert::encode(&vaccination(), &claims(), &issuer.signer).unwrap();
    assert!(text.starts_with("HC1:"));
    let verification = verify::verify(&text, &issuer.trust, JUNE_2021 + DAY).unwrap();
    assert!(verification.is_valid(), "{verification:?}");
    assert_eq!(verification.hcert.compression, Compression::Zlib);
    assert_eq!(verification.hcert.cose.tagging, Tagging::Sign1);
    assert_eq!(verification.hcert.cose.signature.len(), 64);
    assert_eq!(verification.hcert.payload, vaccination().to_json());
    assert_eq!(
        verification.certificate_type(),
        Some(CertificateType::Vaccination)
    );
    assert_eq!(
        verification.kid(),
        Some(dcc_core::kid::Kid::of_certificate(&issuer.dsc_der))
    );
    assert_eq!(verification.hcert.claims.issuer.as_deref(), Some("DE"));
}

#[test]
fn ps256_certificate_verifies() {
    let issuer = ps256_issuer();
    let text = hcert::encode(&vaccination(), &claims(), &issuer.signer).unwrap();
    let verification = verify::verify(&text, &issuer.trust, JUNE_2021 + DAY).unwrap();
    assert_eq!(verification.signature, SignatureCheck::Valid);
    assert_eq!(verification.hcert.cose.signature.len(), 256);
    assert!(verification.is_valid());
}

#[test]
fn expired_and_not_yet_valid_report_dates() {
    let issuer = es256_issuer(Usage::Any);
    let text = hcert::encode(&vaccination(), &claims(), &issuer.signer).unwrap();
    let late = JUNE_2021 + 400 * DAY;
    let verification = verify::verify(&text, &issuer.trust, late).unwrap();
    assert_eq!(
        verification.validity,
        ValidityCheck::Expired {
            expires_at: JUNE_2021 + 365 * DAY,
            clock: late
        }
    );
    assert_eq!(
        verification.validity.to_string(),
        "expired at 2022-06-01T00:00:00Z; checked at 2022-07-06T00:00:00Z"
    );
    let early = verify::verify(&text, &issuer.trust, JUNE_2021 - 1).unwrap();
    assert_eq!(
        early.validity,
        ValidityCheck::NotYetValid {
            issued_at: JUNE_2021,
            clock: JUNE_2021 - 1
        }
    );
    assert!(!early.is_valid());
}

#[test]
fn expiry_beyond_the_dsc_is_reported() {
    let issuer = es256_issuer(Usage::Any);
    let mut claims = claims();
    claims.expires_at = 1_956_528_000; // 2032-01-01, after the DSC's notAfter (2031-01-01)
    let text = hcert::encode(&vaccination(), &claims, &issuer.signer).unwrap();
    let verification = verify::verify(&text, &issuer.trust, JUNE_2021 + DAY).unwrap();
    assert_eq!(
        verification.validity,
        ValidityCheck::ExpiresAfterDsc {
            expires_at: 1_956_528_000,
            not_after: 1_924_992_000
        }
    );
}

#[test]
fn key_usage_restricts_types() {
    // A DSC for test certificates only (…1847.2021.1.1) must not sign a vaccination.
    let issuer = es256_issuer(Usage::Only(&[1]));
    let text = hcert::encode(&vaccination(), &claims(), &issuer.signer).unwrap();
    let verification = verify::verify(&text, &issuer.trust, JUNE_2021 + DAY).unwrap();
    assert_eq!(verification.signature, SignatureCheck::Valid);
    assert_eq!(
        verification.key_usage,
        KeyUsageCheck::NotAllowed {
            certificate_type: CertificateType::Vaccination
        }
    );
    assert!(!verification.is_valid());
    let allowed = es256_issuer(Usage::Only(&[2, 3]));
    let text = hcert::encode(&vaccination(), &claims(), &allowed.signer).unwrap();
    let verification = verify::verify(&text, &allowed.trust, JUNE_2021 + DAY).unwrap();
    assert_eq!(verification.key_usage, KeyUsageCheck::Allowed);
}

#[test]
fn unknown_kid_and_wrong_key_are_distinguished() {
    let issuer = es256_issuer(Usage::Any);
    let other = es256_issuer(Usage::Any);
    let text = hcert::encode(&vaccination(), &claims(), &issuer.signer).unwrap();
    let verification = verify::verify(&text, &other.trust, JUNE_2021 + DAY).unwrap();
    assert!(matches!(
        verification.signature,
        SignatureCheck::UnknownKid { .. }
    ));
    assert_eq!(verification.key_usage, KeyUsageCheck::NoSigner);

    // The same kid on another key: a DSC list entry that does not match the signature.
    let forged = hcert::encode(&vaccination(), &claims(), &other.signer).unwrap();
    let mut decoded = hcert::decode(&forged).unwrap();
    decoded.cose.protected_bytes = dcc_core::hcert::cose::protected_header(
        dcc_core::algorithm::Algorithm::Es256,
        issuer.signer_kid().as_bytes(),
    );
    decoded.cose.protected.kid = Some(issuer.signer_kid().as_bytes().to_vec());
    let verification = verify::verify_decoded(decoded, &issuer.trust, JUNE_2021 + DAY);
    assert_eq!(verification.signature, SignatureCheck::Invalid);
}

#[test]
fn schema_violations_make_a_certificate_invalid() {
    let issuer = es256_issuer(Usage::Any);
    let mut dcc = vaccination();
    if let dcc_core::model::Entry::Vaccination(entry) = &mut dcc.entry {
        entry.product = "EU/9/99/9999".into();
        entry.dose_number = 0;
    }
    let text = hcert::encode(&dcc, &claims(), &issuer.signer).unwrap();
    let verification = verify::verify(&text, &issuer.trust, JUNE_2021 + DAY).unwrap();
    assert_eq!(verification.signature, SignatureCheck::Valid);
    let schema: Vec<String> = verification
        .schema
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(schema, ["/v/0/dn: must be at least 1"]);
    let value_sets: Vec<&str> = verification
        .value_sets
        .iter()
        .map(|v| v.path.as_str())
        .collect();
    assert_eq!(value_sets, ["/v/0/mp"]);
    assert!(!verification.is_valid());
}

trait SignerKid {
    fn signer_kid(&self) -> dcc_core::kid::Kid;
}

impl SignerKid for super::support::TestIssuer {
    fn signer_kid(&self) -> dcc_core::kid::Kid {
        dcc_core::kid::Kid::of_certificate(&self.dsc_der)
    }
}
