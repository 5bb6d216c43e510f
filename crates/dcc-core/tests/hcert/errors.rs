//! Every broken layer yields its own typed error and stable code.

use dcc_core::hcert::{self, DecodeError, base45, compress};

use super::support::{Usage, claims, es256_issuer, vaccination};

fn issued() -> String {
    let issuer = es256_issuer(Usage::Any);
    hcert::encode(&vaccination(), &claims(), &issuer.signer).unwrap()
}

#[test]
fn missing_prefix() {
    let text = issued();
    let error = hcert::decode(&text[4..]).unwrap_err();
    assert!(matches!(error, DecodeError::Prefix(_)));
    assert_eq!(error.code(), "not_hc1");
    let error = hcert::decode(&text.replacen("HC1:", "HC2:", 1)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unsupported context identifier \"HC2:\": only HC1: is supported"
    );
}

#[test]
fn bad_base45_names_the_position() {
    let mut text = issued();
    text.replace_range(10..11, "a");
    let error = hcert::decode(&text).unwrap_err();
    assert_eq!(error.code(), "bad_base45");
    assert_eq!(
        error.to_string(),
        "invalid Base45: character 'a' at position 6 is not in the Base45 alphabet"
    );
}

#[test]
fn broken_zlib() {
    let text = issued();
    let mut compressed = base45::decode(&text[4..]).unwrap();
    let last = compressed.len() - 1;
    compressed[last] ^= 0x55; // breaks the Adler-32 trailer
    let error = hcert::decode(&format!("HC1:{}", base45::encode(&compressed))).unwrap_err();
    assert_eq!(error.code(), "bad_zlib");
    assert!(
        error.to_string().starts_with("the zlib stream is broken"),
        "{error}"
    );
}

#[test]
fn not_cose_sign1() {
    // A valid zlib stream around a CBOR array of three elements.
    let compressed = compress::deflate(&[0x83, 0x40, 0xA0, 0x40]).unwrap();
    let error = hcert::decode(&format!("HC1:{}", base45::encode(&compressed))).unwrap_err();
    assert_eq!(error.code(), "not_cose_sign1");
    assert_eq!(
        error.to_string(),
        "not a COSE_Sign1 structure: expected an array of 4 elements"
    );
}

#[test]
fn uncompressed_cose_is_accepted() {
    let text = issued();
    let compressed = base45::decode(&text[4..]).unwrap();
    let cose = compress::inflate_zlib(&compressed).unwrap();
    let decoded = hcert::decode(&format!("HC1:{}", base45::encode(&cose))).unwrap();
    assert_eq!(decoded.compression, compress::Compression::Uncompressed);
    assert_eq!(decoded.payload, vaccination().to_json());
}
