//! The DSCs of the EU dgc-testdata vectors: every `TESTCTX.CERTIFICATE` parses, its key usage
//! reproduces every `EXPECTEDKEYUSAGE` flag, and COSE signatures verify with its key.

// Test-harness helpers outside `#[test]` functions are not covered by clippy.toml's
// `allow-*-in-tests`; a failing vector file should abort the test loudly.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dcc_core::algorithm::Algorithm;
use dcc_core::dsc::Dsc;
use dcc_core::model::certificate_type::CertificateType;
use dcc_core::public_key::{KeyType, SignatureError};
use serde_json::Value;

/// Where the vectors live, relative to `CARGO_MANIFEST_DIR`. In dcc-core this becomes
/// `testdata/dgc-testdata`.
const TESTDATA: &str = "testdata/dgc-testdata";

struct Vector {
    path: PathBuf,
    json: Value,
}

fn testdata_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(TESTDATA)
}

/// Every `**/2DCode/raw*/*.json` (directory names compared case-insensitively: IE uses `Raw`).
fn vectors() -> Vec<Vector> {
    let mut files = Vec::new();
    collect(&testdata_root(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
            Vector { path, json }
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "json") && in_raw_dir(&path) {
            files.push(path);
        }
    }
}

fn in_raw_dir(path: &Path) -> bool {
    let mut ancestors = path.ancestors().skip(1);
    let raw = ancestors
        .next()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    let code = ancestors
        .next()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    raw.is_some_and(|name| name.to_ascii_lowercase().starts_with("raw"))
        && code.is_some_and(|name| name.eq_ignore_ascii_case("2DCode"))
}

fn certificate(vector: &Vector) -> Vec<u8> {
    let text = vector.json["TESTCTX"]["CERTIFICATE"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no CERTIFICATE", vector.path.display()));
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(compact).unwrap()
}

/// The type of the payload: which of `v`, `t`, `r` is a non-empty array in the vector's `JSON`
/// field or, for the few vectors without one (common CO6–CO15), in its `CBOR` field.
fn certificate_type(vector: &Vector) -> Option<CertificateType> {
    let present: Vec<_> = match vector.json.get("JSON") {
        Some(payload) => CertificateType::ALL
            .into_iter()
            .filter(|t| {
                payload[t.key()]
                    .as_array()
                    .is_some_and(|entries| !entries.is_empty())
            })
            .collect(),
        None => {
            let cbor = Cbor::decode(&hex(vector.json["CBOR"].as_str()?)).untagged();
            // The CBOR field holds either the DCC itself or the whole CWT claims map
            // (dcc-spec.md §8.2); in the latter the DCC is at hcert (-260) → 1.
            let dcc = cbor
                .entry(|key| matches!(key, Cbor::Int(-260)))
                .and_then(|hcert| hcert.entry(|key| matches!(key, Cbor::Int(1))))
                .unwrap_or(&cbor);
            CertificateType::ALL
                .into_iter()
                .filter(|t| {
                    let entries = dcc.entry(|key| matches!(key, Cbor::Text(k) if k == t.key()));
                    matches!(entries, Some(Cbor::Array(items)) if !items.is_empty())
                })
                .collect()
        }
    };
    match present.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

#[test]
fn every_vector_certificate_parses() {
    let vectors = vectors();
    assert!(vectors.len() >= 150, "found only {} vectors", vectors.len());
    let mut per_key_type: BTreeMap<KeyType, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for vector in &vectors {
        let der = certificate(vector);
        match Dsc::from_der(&der) {
            Ok(dsc) => {
                assert_eq!(dsc.as_der(), der.as_slice());
                assert!(
                    dsc.not_before() < dsc.not_after(),
                    "{}",
                    vector.path.display()
                );
                *per_key_type.entry(dsc.public_key().key_type()).or_default() += 1;
            }
            Err(e) => failures.push(format!("{}: {e:?}", vector.path.display())),
        }
    }
    for (key_type, count) in &per_key_type {
        println!("{key_type}: {count}");
    }
    assert!(
        failures.is_empty(),
        "unparsable DSCs:\n{}",
        failures.join("\n")
    );
    assert_eq!(per_key_type.values().sum::<usize>(), vectors.len());
    assert!(per_key_type.contains_key(&KeyType::EcP256));
    assert!(per_key_type.contains_key(&KeyType::Rsa { modulus_bits: 2048 }));
    assert!(per_key_type.contains_key(&KeyType::Rsa { modulus_bits: 3072 }));
}

#[test]
fn key_usage_reproduces_every_expected_flag() {
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for vector in vectors() {
        let Some(expected) = vector.json["EXPECTEDRESULTS"]["EXPECTEDKEYUSAGE"].as_bool() else {
            continue;
        };
        let certificate_type = certificate_type(&vector)
            .unwrap_or_else(|| panic!("{}: no single v/t/r entry", vector.path.display()));
        let dsc = Dsc::from_der(&certificate(&vector)).unwrap();
        if dsc.key_usage().allows(certificate_type) != expected {
            mismatches.push(format!(
                "{}: {certificate_type} expected {expected}, key usage {:?}",
                vector.path.display(),
                dsc.key_usage()
            ));
        }
        checked += 1;
    }
    println!("EXPECTEDKEYUSAGE flags checked: {checked}");
    assert!(checked >= 50, "only {checked} key usage flags found");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn ps256_rsa_2048_vector_verifies() {
    check_cose_vector("common/2DCode/raw/CO1.json", Algorithm::Ps256);
}

#[test]
fn ps256_rsa_3072_vector_verifies() {
    check_cose_vector("common/2DCode/raw/CO2.json", Algorithm::Ps256);
}

#[test]
fn es256_vector_verifies() {
    check_cose_vector("common/2DCode/raw/CO3.json", Algorithm::Es256);
}

#[test]
fn es256_vector_with_kid_in_unprotected_header_verifies() {
    // DE puts the kid only in the unprotected header (dcc-spec.md §1.3).
    check_cose_vector("DE/2DCode/raw/1.json", Algorithm::Es256);
}

#[test]
fn wrong_algorithm_for_the_key_is_a_mismatch() {
    let (dsc, sig_structure, signature) = cose_vector("common/2DCode/raw/CO3.json");
    assert_eq!(
        dsc.public_key()
            .verify(Algorithm::Ps256, &sig_structure, &signature),
        Err(SignatureError::KeyAlgorithmMismatch {
            algorithm: Algorithm::Ps256,
            key: KeyType::EcP256
        })
    );
    let (rsa, sig_structure, signature) = cose_vector("common/2DCode/raw/CO1.json");
    assert_eq!(
        rsa.public_key()
            .verify(Algorithm::Es256, &sig_structure, &signature),
        Err(SignatureError::KeyAlgorithmMismatch {
            algorithm: Algorithm::Es256,
            key: KeyType::Rsa { modulus_bits: 2048 }
        })
    );
}

fn check_cose_vector(relative: &str, algorithm: Algorithm) {
    let (dsc, sig_structure, signature) = cose_vector(relative);
    let key = dsc.public_key();
    assert_eq!(key.verify(algorithm, &sig_structure, &signature), Ok(()));

    let mut flipped_message = sig_structure.clone();
    *flipped_message.last_mut().unwrap() ^= 0x01;
    assert_eq!(
        key.verify(algorithm, &flipped_message, &signature),
        Err(SignatureError::Invalid)
    );
    let mut flipped_signature = signature.clone();
    flipped_signature[signature.len() / 2] ^= 0x80;
    assert_eq!(
        key.verify(algorithm, &sig_structure, &flipped_signature),
        Err(SignatureError::Invalid)
    );
}

/// The DSC, the Sig_structure and the signature of a vector's COSE_Sign1.
fn cose_vector(relative: &str) -> (Dsc, Vec<u8>, Vec<u8>) {
    let text = std::fs::read_to_string(testdata_root().join(relative)).unwrap();
    let vector = Vector {
        path: PathBuf::from(relative),
        json: serde_json::from_str(&text).unwrap(),
    };
    let dsc = Dsc::from_der(&certificate(&vector)).unwrap();
    let cose = hex(vector.json["COSE"].as_str().unwrap());
    let sign1 = CoseSign1::parse(&cose);
    assert_eq!(
        sign1.kid().as_deref(),
        Some(dsc.kid().as_bytes().as_slice()),
        "{relative}: header kid is not the DSC's kid"
    );
    (dsc, sign1.sig_structure(), sign1.signature)
}

/// The parts of a COSE_Sign1 (RFC 8152 §4.2) needed to build its Sig_structure.
struct CoseSign1 {
    protected: Vec<u8>,
    unprotected: Cbor,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl CoseSign1 {
    fn parse(bytes: &[u8]) -> Self {
        let Cbor::Array(items) = Cbor::decode(bytes).untagged() else {
            panic!("COSE_Sign1 is not an array");
        };
        let [
            Cbor::Bytes(protected),
            unprotected,
            Cbor::Bytes(payload),
            Cbor::Bytes(signature),
        ] = <[Cbor; 4]>::try_from(items).unwrap()
        else {
            panic!("COSE_Sign1 does not have the shape [bstr, map, bstr, bstr]");
        };
        Self {
            protected,
            unprotected,
            payload,
            signature,
        }
    }

    /// The kid (label 4): from the protected header if there, else from the unprotected one.
    fn kid(&self) -> Option<Vec<u8>> {
        let protected = (!self.protected.is_empty()).then(|| Cbor::decode(&self.protected));
        [protected.as_ref(), Some(&self.unprotected)]
            .into_iter()
            .flatten()
            .find_map(
                |header| match header.entry(|key| matches!(key, Cbor::Int(4))) {
                    Some(Cbor::Bytes(kid)) => Some(kid.clone()),
                    _ => None,
                },
            )
    }

    /// `["Signature1", protected, h'', payload]` (RFC 8152 §4.4).
    fn sig_structure(&self) -> Vec<u8> {
        let mut out = vec![0x84];
        out.push(0x60 + 10);
        out.extend_from_slice(b"Signature1");
        encode_bstr(&mut out, &self.protected);
        encode_bstr(&mut out, &[]);
        encode_bstr(&mut out, &self.payload);
        out
    }
}

/// Just enough of a CBOR decoder (RFC 8949) for the test vectors; floats and simple values are
/// kept opaque.
#[derive(Debug)]
enum Cbor {
    Int(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Tag(Box<Cbor>),
    Other,
    Break,
}

impl Cbor {
    fn decode(bytes: &[u8]) -> Self {
        Cursor { bytes, at: 0 }.item()
    }

    fn untagged(self) -> Self {
        match self {
            Self::Tag(inner) => inner.untagged(),
            other => other,
        }
    }

    fn entry(&self, wanted: impl Fn(&Cbor) -> bool) -> Option<&Cbor> {
        match self {
            Self::Map(entries) => entries.iter().find(|(k, _)| wanted(k)).map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> u8 {
        let byte = self.bytes[self.at];
        self.at += 1;
        byte
    }

    fn take(&mut self, len: u64) -> Vec<u8> {
        let len = usize::try_from(len).unwrap();
        let out = self.bytes[self.at..self.at + len].to_vec();
        self.at += len;
        out
    }

    /// The major type, the argument, and whether the length is indefinite.
    fn head(&mut self) -> (u8, u64, bool) {
        let initial = self.byte();
        let major = initial >> 5;
        match initial & 0x1f {
            small @ 0..=23 => (major, u64::from(small), false),
            extra @ 24..=27 => {
                let len = 1usize << (extra - 24);
                let value = (0..len).fold(0, |acc, _| (acc << 8) | u64::from(self.byte()));
                (major, value, false)
            }
            31 => (major, 0, true),
            other => panic!("unsupported CBOR additional info {other}"),
        }
    }

    fn item(&mut self) -> Cbor {
        let (major, value, indefinite) = self.head();
        match (major, indefinite) {
            (0, _) => Cbor::Int(i128::from(value)),
            (1, _) => Cbor::Int(-1 - i128::from(value)),
            (2, false) => Cbor::Bytes(self.take(value)),
            (3, false) => Cbor::Text(String::from_utf8(self.take(value)).unwrap()),
            (2 | 3, true) => {
                let mut joined = Vec::new();
                loop {
                    match self.item() {
                        Cbor::Bytes(chunk) => joined.extend(chunk),
                        Cbor::Text(chunk) => joined.extend(chunk.into_bytes()),
                        Cbor::Break => break,
                        other => panic!("bad string chunk {other:?}"),
                    }
                }
                if major == 2 {
                    Cbor::Bytes(joined)
                } else {
                    Cbor::Text(String::from_utf8(joined).unwrap())
                }
            }
            (4, _) => Cbor::Array(self.items(if indefinite { u64::MAX } else { value })),
            (5, _) => {
                let count = if indefinite { u64::MAX } else { value * 2 };
                let mut flat = self.items(count).into_iter();
                let mut entries = Vec::new();
                while let (Some(k), Some(v)) = (flat.next(), flat.next()) {
                    entries.push((k, v));
                }
                Cbor::Map(entries)
            }
            (6, _) => Cbor::Tag(Box::new(self.item())),
            (7, true) => Cbor::Break,
            _ => Cbor::Other,
        }
    }

    /// `count` items, or items up to a break when `count` is `u64::MAX`.
    fn items(&mut self, count: u64) -> Vec<Cbor> {
        let mut out = Vec::new();
        while (out.len() as u64) < count {
            match self.item() {
                Cbor::Break => break,
                item => out.push(item),
            }
        }
        out
    }
}

fn encode_bstr(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    match len {
        0..=23 => out.push(0x40 | u8::try_from(len).unwrap()),
        24..=0xff => out.extend_from_slice(&[0x58, u8::try_from(len).unwrap()]),
        _ => {
            out.push(0x59);
            out.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
        }
    }
    out.extend_from_slice(bytes);
}

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| char::from(b).to_digit(16).unwrap() as u8)
        .collect();
    digits
        .chunks_exact(2)
        .map(|pair| pair[0] << 4 | pair[1])
        .collect()
}
