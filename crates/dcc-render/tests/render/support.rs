//! Signed HC1 strings for the tests, made with a throw-away test key.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use dcc_core::hcert::{self, cwt::IssueClaims};
use dcc_core::model::Dcc;
use dcc_core::signer::SoftwareSigner;
use serde_json::{Value, json};

/// The holder's name as written, with umlauts, Ł and Ø.
pub const NAME_AS_WRITTEN: &str = "Müller-Łukasiewicz, Jürgen Ødegård";

/// A vaccination certificate for the holder with the non-ASCII name.
pub fn hc1_vaccination() -> String {
    sign(json!({
        "ver": "1.3.0",
        "nam": {"fn": "Müller-Łukasiewicz", "fnt": "MUELLER<LUKASIEWICZ",
                "gn": "Jürgen Ødegård", "gnt": "JUERGEN<ODEGARD"},
        "dob": "1964-08-12",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
               "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-05-29", "co": "DE",
               "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:APO123/4P6D3QWHVKZ8#C"}]
    }))
}

/// A rapid-antigen test certificate.
pub fn hc1_test() -> String {
    sign(json!({
        "ver": "1.3.0",
        "nam": {"fn": "Ødegård", "fnt": "ODEGARD", "gn": "Åse", "gnt": "ASE"},
        "dob": "1990-01-31",
        "t": [{"tg": "840539006", "tt": "LP217198-3", "ma": "1232",
               "sc": "2021-05-30T10:12:22Z", "tr": "260415000", "tc": "Apotheke am Markt",
               "co": "DE", "is": "Robert Koch-Institut",
               "ci": "URN:UVCI:01:DE:APO123/TEST0001#X"}]
    }))
}

/// A recovery certificate.
pub fn hc1_recovery() -> String {
    sign(json!({
        "ver": "1.3.0",
        "nam": {"fn": "Łukasiewicz", "fnt": "LUKASIEWICZ", "gn": "Zoë", "gnt": "ZOE"},
        "dob": "1975",
        "r": [{"tg": "840539006", "fr": "2021-04-01", "co": "PL", "is": "Robert Koch-Institut",
               "df": "2021-04-20", "du": "2021-09-28",
               "ci": "URN:UVCI:01:DE:APO123/RECOV001#Y"}]
    }))
}

fn sign(payload: Value) -> String {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    // The kid is derived from these bytes; a real DSC is not needed to render.
    let signer = SoftwareSigner::es256_from_pkcs8(pkcs8.as_ref(), b"test-dsc").unwrap();
    let claims = IssueClaims {
        issuer: "DE".into(),
        issued_at: 1_622_000_000,
        expires_at: 1_653_536_000,
    };
    hcert::encode(&Dcc::from_json(&payload).unwrap(), &claims, &signer).unwrap()
}
