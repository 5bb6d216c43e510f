//! Test keys and DSCs, generated per run (never committed).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RsaKeyPair};
use dcc_core::hcert::cwt::IssueClaims;
use dcc_core::model::Dcc;
use dcc_core::signer::SoftwareSigner;
use dcc_core::trust_list::TrustList;
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair};

/// A signer together with the trust list that holds its DSC.
pub struct TestIssuer {
    pub signer: SoftwareSigner,
    pub dsc_der: Vec<u8>,
    pub trust: TrustList,
}

/// Which extended key usage the test DSC carries.
#[derive(Clone, Copy)]
pub enum Usage {
    Any,
    Only(&'static [u64]),
}

/// A P-256 DSC valid 2021-01-01 .. 2031-01-01 and its ES256 signer.
pub fn es256_issuer(usage: Usage) -> TestIssuer {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    issuer(pkcs8.as_ref(), usage, &rcgen::PKCS_ECDSA_P256_SHA256)
}

/// An RSA-2048 DSC and its PS256 signer.
pub fn ps256_issuer() -> TestIssuer {
    let key = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    let pkcs8: aws_lc_rs::encoding::Pkcs8V1Der = key.as_der().unwrap();
    issuer(pkcs8.as_ref(), Usage::Any, &rcgen::PKCS_RSA_SHA256)
}

fn issuer(pkcs8: &[u8], usage: Usage, algorithm: &'static rcgen::SignatureAlgorithm) -> TestIssuer {
    let key_pair = KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.into(), algorithm).unwrap();
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CountryName, "DE");
    name.push(DnType::CommonName, "Test DSC (dcc-core tests)");
    params.distinguished_name = name;
    params.not_before = rcgen::date_time_ymd(2021, 1, 1);
    params.not_after = rcgen::date_time_ymd(2031, 1, 1);
    if let Usage::Only(arcs) = usage {
        params.custom_extensions.push(eku_extension(arcs));
    }
    let der = params.self_signed(&key_pair).unwrap().der().to_vec();
    let signer = SoftwareSigner::from_pkcs8(pkcs8, &der).unwrap();
    let trust = TrustList::from_certificates(&der).unwrap();
    TestIssuer {
        signer,
        dsc_der: der,
        trust,
    }
}

/// An extendedKeyUsage extension (2.5.29.37) with one OID `1.3.6.1.4.1.1847.2021.1.<last>`
/// per entry.
fn eku_extension(lasts: &[u64]) -> CustomExtension {
    let mut oids = Vec::new();
    for last in lasts {
        // 1.3.6.1.4.1 = 2B 06 01 04 01; 1847 = 8E 37; 2021 = 8F 65; then 1, last.
        let body = [
            0x2B,
            0x06,
            0x01,
            0x04,
            0x01,
            0x8E,
            0x37,
            0x8F,
            0x65,
            0x01,
            *last as u8,
        ];
        oids.push(0x06);
        oids.push(body.len() as u8);
        oids.extend_from_slice(&body);
    }
    let mut sequence = vec![0x30, oids.len() as u8];
    sequence.extend(oids);
    CustomExtension::from_oid_content(&[2, 5, 29, 37], sequence)
}

/// A German-style vaccination payload with umlauts.
pub fn vaccination() -> Dcc {
    Dcc::from_json(&serde_json::json!({
        "ver": "1.3.0",
        "nam": {"fn": "Müller", "fnt": "MUELLER", "gn": "Jürgen", "gnt": "JUERGEN"},
        "dob": "1964-08-12",
        "v": [{
            "tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
            "dn": 2, "sd": 2, "dt": "2021-05-29", "co": "DE",
            "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:APO123/4P6D3QWHVKZ8#C"
        }]
    }))
    .unwrap()
}

/// Claims valid from 2021-06-01T00:00:00Z for one year.
pub fn claims() -> IssueClaims {
    IssueClaims {
        issuer: "DE".into(),
        issued_at: JUNE_2021,
        expires_at: JUNE_2021 + 365 * DAY,
    }
}

pub const JUNE_2021: i64 = 1_622_505_600;
pub const DAY: i64 = 86_400;
