//! The EU cross-country conformance suite: every `EXPECTED*` flag of every vector in
//! `testdata/dgc-testdata` (dcc-spec.md §8), reproduced by one data-driven [`check`].
//!
//! Upstream known issues (`known_issues.csv`) are listed with their reason and counted on
//! their own; they are never skipped silently. The suite prints a per-country table.

// Test code: helpers outside #[test] functions may fail loudly too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod clock;
mod known_issues;
mod vector;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dcc_core::dsc::Dsc;
use dcc_core::hcert::cbor::{cbor_to_json, json_to_cbor};
use dcc_core::hcert::compress::{self, Compression};
use dcc_core::hcert::cose::CoseSign1;
use dcc_core::hcert::{self, base45, prefix};
use dcc_core::trust_list::TrustList;
use dcc_core::validation::{self, Mode};
use dcc_core::verify::{self, SignatureCheck, ValidityCheck};
use serde_json::Value;

use self::known_issues::KnownIssues;
use self::vector::{Vector, same_payload};

/// One flag's verdict for one vector.
#[derive(Debug)]
struct FlagResult {
    flag: &'static str,
    expected: bool,
    /// `None` when the vector lacks the data the step needs (for example no `2DCODE`).
    actual: Option<bool>,
}

/// Computes every flag the vector carries.
fn check(vector: &Vector) -> Vec<FlagResult> {
    let mut results = Vec::new();
    let mut flag = |flag: &'static str, compute: &dyn Fn() -> Option<bool>| {
        if let Some(expected) = vector.expected(flag) {
            results.push(FlagResult {
                flag,
                expected,
                actual: compute(),
            });
        }
    };
    let dsc = vector
        .certificate()
        .and_then(|der| Dsc::from_der(&der).ok());
    let clock = vector.clock();
    // The COSE bytes: the vector's own field, else whatever the chain from PREFIX yields.
    let cose_bytes = vector.hex("COSE").or_else(|| {
        let text = vector.text("PREFIX")?;
        hcert::decode(text).ok().map(|decoded| decoded.cose_bytes)
    });
    let decoded = cose_bytes
        .clone()
        .and_then(|bytes| hcert::decode_cose(bytes, Compression::Zlib).ok());

    flag("EXPECTEDPICTUREDECODE", &|| {
        let png = vector.base64("2DCODE")?;
        let prefix_text = vector.text("PREFIX")?;
        Some(dcc_qr::read_image(&png).is_ok_and(|text| text == prefix_text))
    });
    flag("EXPECTEDUNPREFIX", &|| {
        let stripped = prefix::strip(vector.text("PREFIX")?);
        Some(match vector.text("BASE45") {
            Some(expected) => stripped.is_ok_and(|text| text == expected),
            None => stripped.is_ok(),
        })
    });
    flag("EXPECTEDB45DECODE", &|| {
        let decoded = base45::decode(vector.text("BASE45")?);
        Some(match vector.hex("COMPRESSED") {
            Some(expected) => decoded.is_ok_and(|bytes| bytes == expected),
            None => decoded.is_ok(),
        })
    });
    flag("EXPECTEDCOMPRESSION", &|| {
        let inflated = compress::inflate_zlib(&vector.hex("COMPRESSED")?);
        Some(match vector.hex("COSE") {
            Some(expected) => inflated.is_ok_and(|bytes| bytes == expected),
            None => inflated.is_ok(),
        })
    });
    flag("EXPECTEDVERIFY", &|| {
        let certificate = vector.certificate()?;
        let cose = cose_bytes.as_deref()?;
        let Ok(trust) = TrustList::from_certificates(&certificate) else {
            return Some(false);
        };
        let Ok(decoded) = CoseSign1::from_bytes(cose) else {
            return Some(false);
        };
        // The signature is checked on the COSE layer alone; the claims need not be readable.
        Some(verify::check_signature(&decoded, &trust).0 == SignatureCheck::Valid)
    });
    flag("EXPECTEDDECODE", &|| {
        let cose = cose_bytes.as_deref()?;
        let Some(decoded) = hcert::decode_cose(cose.to_vec(), Compression::Zlib).ok() else {
            return Some(false);
        };
        Some(
            vector
                .json()
                .is_none_or(|json| same_payload(&decoded.payload, json)),
        )
    });
    flag("EXPECTEDVALIDJSON", &|| {
        let json = vector.json()?;
        let text = vector.text("PREFIX")?;
        Some(hcert::decode(text).is_ok_and(|decoded| same_payload(&decoded.payload, json)))
    });
    flag("EXPECTEDSCHEMAVALIDATION", &|| {
        let payload = decoded.as_ref().map(|d| &d.payload).or(vector.json())?;
        Some(schema_valid(payload))
    });
    flag("EXPECTEDEXPIRATIONCHECK", &|| {
        let decoded = decoded.as_ref()?;
        let dsc = dsc.as_ref()?;
        Some(verify::check_validity(decoded, Some(dsc), clock?) == ValidityCheck::Valid)
    });
    flag("EXPECTEDKEYUSAGE", &|| {
        let payload = decoded.as_ref().map(|d| &d.payload).or(vector.json())?;
        let certificate_type = verify::certificate_type(payload)?;
        Some(dsc.as_ref()?.key_usage().allows(certificate_type))
    });
    flag("EXPECTEDVALIDOBJECT", &|| {
        // Generation side: the JSON is valid against the schema the vector names.
        let mut json = vector.json()?.clone();
        if let (Some(object), Some(schema)) = (json.as_object_mut(), vector.schema_version()) {
            object.insert("ver".into(), Value::from(schema));
        }
        Some(schema_valid(&json))
    });
    flag("EXPECTEDENCODE", &|| {
        // Generation side: JSON → CBOR equals the vector's CBOR, compared structurally.
        let json = vector.json()?;
        let expected = vector.hex("CBOR")?;
        let expected: ciborium::value::Value = ciborium::from_reader(expected.as_slice()).ok()?;
        let expected = dcc_from_cbor_field(expected);
        let ours = json_to_cbor(json, dcc_core::model::DATE_TIME_PATHS);
        Some(match (cbor_to_json(&ours), cbor_to_json(&expected)) {
            (Ok(ours), Ok(expected)) => same_payload(&ours, &expected),
            _ => false,
        })
    });
    results
}

/// The flag's meaning: the JSON schema of the payload's version; value sets are a separate
/// check in `verify` (see `Verification::value_sets`).
fn schema_valid(payload: &Value) -> bool {
    validation::validate(payload, Mode::Verify)
        .iter()
        .all(|violation| !violation.kind.is_schema_rule())
}

/// The `CBOR` field holds either the DCC map or the whole CWT (dcc-spec.md §8.2).
fn dcc_from_cbor_field(value: ciborium::value::Value) -> ciborium::value::Value {
    use ciborium::value::Value as Cbor;
    let is_int = |key: &Cbor, wanted: i128| key.as_integer().map(i128::from) == Some(wanted);
    let dcc = match &value {
        Cbor::Map(claims) => claims.iter().find_map(|(key, item)| match item {
            Cbor::Map(hcert) if is_int(key, -260) => hcert
                .iter()
                .find(|(k, _)| is_int(k, 1))
                .map(|(_, dcc)| dcc.clone()),
            _ => None,
        }),
        _ => None,
    };
    dcc.unwrap_or(value)
}

#[derive(Default)]
struct Tally {
    checked: usize,
    matched: usize,
    known: usize,
    no_data: usize,
}

#[test]
fn every_expected_flag_matches() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/dgc-testdata");
    let known = KnownIssues::load(&root.join("known_issues.csv"));
    let mut files = Vec::new();
    collect_vectors(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 150,
        "only {} vectors found under {}",
        files.len(),
        root.display()
    );

    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut mismatches = Vec::new();
    let mut known_hits = Vec::new();
    for file in &files {
        let vector = Vector::load(&root, file);
        let tally = tallies.entry(vector.country.clone()).or_default();
        for result in check(&vector) {
            let Some(actual) = result.actual else {
                tally.no_data += 1;
                continue;
            };
            tally.checked += 1;
            if actual == result.expected {
                tally.matched += 1;
            } else if let Some(reason) = known.reason(result.flag, &vector) {
                tally.known += 1;
                known_hits.push(format!("{} {}: {reason}", vector.name, result.flag));
            } else {
                mismatches.push(format!(
                    "{} {}: expected {}, got {}",
                    vector.name, result.flag, result.expected, actual
                ));
            }
        }
    }

    println!(
        "\n{:<8} {:>8} {:>8} {:>8} {:>8}",
        "country", "checked", "matched", "known", "no data"
    );
    let mut total = Tally::default();
    for (country, tally) in &tallies {
        println!(
            "{country:<8} {:>8} {:>8} {:>8} {:>8}",
            tally.checked, tally.matched, tally.known, tally.no_data
        );
        total.checked += tally.checked;
        total.matched += tally.matched;
        total.known += tally.known;
        total.no_data += tally.no_data;
    }
    println!(
        "{:<8} {:>8} {:>8} {:>8} {:>8}  ({} vector files)",
        "total",
        total.checked,
        total.matched,
        total.known,
        total.no_data,
        files.len()
    );
    println!("\nknown upstream issues that differ from the expected flag:");
    for hit in &known_hits {
        println!("  {hit}");
    }
    assert!(
        mismatches.is_empty(),
        "{} flag(s) differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(total.checked, total.matched + total.known);
}

fn collect_vectors(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_vectors(&path, out);
        } else if path.extension().is_some_and(|e| e == "json")
            && path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|name| name.eq_ignore_ascii_case("raw"))
        {
            out.push(path);
        }
    }
}
