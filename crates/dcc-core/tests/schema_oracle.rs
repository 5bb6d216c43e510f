//! The official JSON schema (draft 2020-12, spec §2) as an oracle for the hand-written
//! validator: the official examples, then a deterministic set of mutated payloads on which our
//! schema verdict must equal the `jsonschema` crate's.
//!
//! Only schema rules are compared (violations with `is_schema_rule()`); value sets and the extra
//! checks of `Mode::Issue` are outside the schema. `Mode::Verify` is compared for payloads whose
//! `ver` selects the 1.3.x rules: against the 1.3.3 schema, or for 1.3.0/1.3.1 against the same
//! schema with `fnt` required instead of `fnt` or `gnt` (§2.6). `Mode::Issue` is compared against
//! the 1.3.3 schema with format assertion, for payloads whose `ver` is not below 1.3.0.

// Helpers outside #[test] functions are test code too: a panic there is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use dcc_core::validation::{Mode, Violation, ViolationKind, validate};
use jsonschema::Validator;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

/// The test data folder, relative to the crate root (`testdata` once inside `dcc-core`).
const TESTDATA: &str = "testdata";

/// The number of generated payloads.
const CASES: usize = 6000;

struct Oracles {
    verify_1_3_3: Validator,
    verify_1_3_0: Validator,
    issue: Validator,
}

impl Oracles {
    fn new() -> Self {
        let path = testdata().join("eu-dcc/schema/DCC.combined-schema.json");
        let schema: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        // Schema 1.3.0 and 1.3.1 differ from 1.3.3 only in requiring `fnt` (§2.6).
        let mut schema_1_3_0 = schema.clone();
        let person_name = schema_1_3_0["$defs"]["person_name"]
            .as_object_mut()
            .unwrap();
        person_name.remove("anyOf").unwrap();
        person_name.insert("required".into(), json!(["fnt"]));
        let build = |schema: &Value, formats: bool| {
            jsonschema::options()
                .should_validate_formats(formats)
                .build(schema)
                .unwrap()
        };
        Self {
            verify_1_3_3: build(&schema, false),
            verify_1_3_0: build(&schema_1_3_0, false),
            issue: build(&schema, true),
        }
    }

    /// The oracle to compare `mode` with for `payload`, if the comparison applies.
    fn for_payload(&self, payload: &Value, mode: Mode) -> Option<&Validator> {
        let version = payload
            .get("ver")
            .and_then(Value::as_str)
            .and_then(parse_version);
        match mode {
            Mode::Verify => match version {
                Some(version) if version < (1, 3, 0) => None,
                Some(version) if version < (1, 3, 2) => Some(&self.verify_1_3_0),
                _ => Some(&self.verify_1_3_3),
            },
            _ => match version {
                Some(version) if version < (1, 3, 0) => None,
                _ => Some(&self.issue),
            },
        }
    }
}

#[test]
fn official_examples_are_valid_in_both_modes_and_for_the_oracle() {
    let oracles = Oracles::new();
    let examples = examples();
    assert!(examples.len() >= 27, "only {} examples", examples.len());
    for (path, example) in &examples {
        assert!(
            oracles.issue.is_valid(example),
            "oracle rejects {}",
            path.display()
        );
        assert_eq!(validate(example, Mode::Verify), [], "{}", path.display());
        assert_eq!(validate(example, Mode::Issue), [], "{}", path.display());
    }
}

#[test]
fn mutated_payloads_agree_with_the_oracle() {
    let oracles = Oracles::new();
    let bases: Vec<Value> = examples().into_iter().map(|(_, example)| example).collect();
    let strategy = (
        0..bases.len(),
        vec((0..MUTATIONS, any::<u16>(), any::<u16>()), 1..=3),
    );
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let (mut compared, mut agreed, mut paths_compared, mut paths_agreed) = (0, 0, 0, 0);
    let (mut valid_cases, mut invalid_cases) = (0, 0);
    let mut disagreements = Vec::new();
    for _ in 0..CASES {
        let (base, mutations) = strategy.new_tree(&mut runner).unwrap().current();
        let mut payload = bases[base].clone();
        for (mutation, first, second) in &mutations {
            mutate(&mut payload, *mutation, *first, *second);
        }
        for mode in [Mode::Verify, Mode::Issue] {
            let Some(oracle) = oracles.for_payload(&payload, mode) else {
                continue;
            };
            let ours: Vec<Violation> = validate(&payload, mode)
                .into_iter()
                .filter(|violation| violation.kind.is_schema_rule())
                .collect();
            let expected = oracle.is_valid(&payload);
            compared += 1;
            if expected {
                valid_cases += 1;
            } else {
                invalid_cases += 1;
            }
            if ours.is_empty() == expected {
                agreed += 1;
            } else {
                disagreements.push(format!(
                    "{mode:?} {payload} oracle {expected}, ours {ours:?}"
                ));
                continue;
            }
            if mutations.len() == 1 {
                let oracle_paths: BTreeSet<String> = oracle
                    .iter_errors(&payload)
                    .map(|error| error.instance_path().as_str().to_owned())
                    .collect();
                let our_paths: BTreeSet<String> = ours.iter().map(oracle_location).collect();
                paths_compared += 1;
                if oracle_paths == our_paths {
                    paths_agreed += 1;
                } else {
                    disagreements.push(format!(
                        "{mode:?} paths {payload}: oracle {oracle_paths:?}, ours {our_paths:?}"
                    ));
                }
            }
        }
    }
    println!(
        "generated {CASES} payloads; compared {compared} verdicts ({valid_cases} valid, \
         {invalid_cases} invalid per the oracle), agreed {agreed}; compared paths of \
         {paths_compared} single-mutation cases, agreed {paths_agreed}"
    );
    assert!(
        disagreements.is_empty(),
        "{}",
        disagreements[..disagreements.len().min(20)].join("\n")
    );
    assert_eq!(compared, agreed);
    assert_eq!(paths_compared, paths_agreed);
    assert!(compared >= CASES, "only {compared} comparisons");
    assert!(valid_cases >= CASES / 20 && invalid_cases >= CASES / 2);
}

/// Where the oracle reports our violation: `required`, `oneOf` and `anyOf` fail at the object
/// that lacks the member, not at the member.
fn oracle_location(violation: &Violation) -> String {
    match violation.kind {
        ViolationKind::Missing => match violation.path.rfind('/') {
            Some(index) => violation.path[..index].to_owned(),
            None => String::new(),
        },
        _ => violation.path.clone(),
    }
}

/// The number of mutation operators in [`mutate`].
const MUTATIONS: u8 = 20;

/// Applies one mutation; `first` and `second` choose the target and the replacement.
fn mutate(payload: &mut Value, mutation: u8, first: u16, second: u16) {
    if !payload.is_object() {
        return;
    }
    let pick =
        |options: &[Value], choice: u16| options[usize::from(choice) % options.len()].clone();
    let entry_key = ["v", "t", "r"]
        .into_iter()
        .find(|key| payload.get(*key).is_some())
        .unwrap_or("v");
    match mutation {
        0 => remove(
            payload,
            &pick(&[json!("ver"), json!("nam"), json!("dob")], first),
        ),
        1 => {
            let keys: Vec<String> = match payload.pointer(&format!("/{entry_key}/0")) {
                Some(Value::Object(entry)) => entry.keys().cloned().collect(),
                _ => return,
            };
            if !keys.is_empty() {
                let key = &keys[usize::from(first) % keys.len()];
                if let Some(Value::Object(entry)) = payload.pointer_mut(&format!("/{entry_key}/0"))
                {
                    entry.remove(key);
                }
            }
        }
        2 => {
            let key = pick(
                &[json!("fn"), json!("fnt"), json!("gn"), json!("gnt")],
                first,
            );
            if let Some(Value::Object(name)) = payload.get_mut("nam") {
                name.remove(key.as_str().unwrap());
            }
        }
        3 => {
            let wrong = [
                json!(5),
                json!(1.5),
                json!(true),
                json!(null),
                json!([]),
                json!({}),
                json!("x"),
            ];
            set_leaf(payload, first, pick(&wrong, second));
        }
        4 => {
            let length = [49, 50, 51, 79, 80, 81, 200][usize::from(second) % 7];
            let letter = if second.is_multiple_of(2) { "A" } else { "Ä" };
            set_leaf(payload, first, json!(letter.repeat(length)));
        }
        5 => {
            let names = [
                json!(""),
                json!("ABC"),
                json!("abc"),
                json!("A B"),
                json!("A<B"),
                json!("ÄB"),
                json!("A1"),
            ];
            let key = if first.is_multiple_of(2) {
                "/nam/fnt"
            } else {
                "/nam/gnt"
            };
            set(payload, key, pick(&names, second));
        }
        6 => {
            let dates = [
                json!(""),
                json!("1964"),
                json!("1964-01"),
                json!("1964-01-01"),
                json!("1964-13-45"),
                json!("1963-00"),
                json!("1899-01-01"),
                json!("2100"),
                json!("1964-1-1"),
                json!("1964-01-01T00:00:00"),
                json!("x1964-01-01"),
                json!("1990-02-30"),
                json!(19640101),
            ];
            set(payload, "/dob", pick(&dates, second));
        }
        7 => {
            let versions = [
                json!("1.3.0"),
                json!("1.3.1"),
                json!("1.3.2"),
                json!("1.3.3"),
                json!("1.4.0"),
                json!("1x3y0"),
                json!("1.3"),
                json!(""),
                json!("v1.3.0"),
                json!("2.0.0"),
                json!("1.2.1"),
                json!("1.0.0"),
                json!(130),
                json!("12345"),
                json!("1.3.0.0"),
            ];
            set(payload, "/ver", pick(&versions, second));
        }
        8 => {
            let countries = [
                json!("NL"),
                json!("XY"),
                json!("nl"),
                json!("N1"),
                json!(""),
                json!("1"),
                json!("aBc"),
            ];
            set(
                payload,
                &format!("/{entry_key}/0/co"),
                pick(&countries, second),
            );
        }
        9 => {
            let doses = [
                json!(0),
                json!(-1),
                json!(1),
                json!(9),
                json!(10),
                json!(1.0),
                json!(1.5),
                json!("1"),
                json!(1e10),
                json!(u64::MAX),
                json!(-0.5),
                json!(100),
            ];
            let key = if first.is_multiple_of(2) {
                "/v/0/dn"
            } else {
                "/v/0/sd"
            };
            if payload.pointer(key).is_some() {
                set(payload, key, pick(&doses, second));
            }
        }
        10 => {
            let other = pick(&[json!("v"), json!("t"), json!("r")], first);
            let entries = payload[entry_key].clone();
            payload[other.as_str().unwrap()] = entries;
        }
        11 => {
            if let Some(Value::Array(entries)) = payload.get_mut(entry_key)
                && let Some(entry) = entries.first().cloned()
            {
                entries.push(entry);
            }
        }
        12 => set(payload, &format!("/{entry_key}"), json!([])),
        13 => {
            let target = pick(
                &[json!(""), json!("/nam"), json!(format!("/{entry_key}/0"))],
                first,
            );
            if let Some(Value::Object(object)) = payload.pointer_mut(target.as_str().unwrap()) {
                object.insert("xx".into(), json!({"any": "thing"}));
            }
        }
        14 => {
            for key in ["v", "t", "r"] {
                remove(payload, &json!(key));
            }
        }
        15 => {
            if let Some(Value::Object(name)) = payload.get_mut("nam") {
                name.remove("fnt");
                if first.is_multiple_of(3) {
                    name.remove("gnt");
                }
            }
        }
        16 => {
            let dates = [
                json!("2021-05-30"),
                json!("2021-02-30"),
                json!("2021-05-30T10:00:00Z"),
                json!("2021-5-30"),
                json!(""),
                json!("20210530"),
                json!("2020-02-29"),
                json!("2021-02-29"),
            ];
            let key = ["/v/0/dt", "/r/0/fr", "/r/0/df", "/r/0/du"][usize::from(first) % 4];
            if payload.pointer(key).is_some() {
                set(payload, key, pick(&dates, second));
            }
        }
        17 => {
            let times = [
                json!("2021-05-30T10:12:22Z"),
                json!("2021-05-30T10:12:22"),
                json!("2021-05-30 10:12:22Z"),
                json!("2021-05-30T10:12:22+02:00"),
                json!("2021-05-30T10:12:22.5z"),
                json!("2021-12-31T23:59:60Z"),
                json!("2021-05-30T10:12:60Z"),
                json!("2021-05-30T10:12:22+0200"),
                json!("2021-05-30"),
                json!("2021-05-30T24:00:00Z"),
                json!("2021-06-01T01:59:60+02:00"),
            ];
            if payload.pointer("/t/0/sc").is_some() {
                set(payload, "/t/0/sc", pick(&times, second));
            }
        }
        18 => {
            let target = pick(
                &[json!(""), json!("/nam"), json!(format!("/{entry_key}/0"))],
                first,
            );
            let replacement = pick(&[json!(null), json!([1]), json!("text"), json!(3)], second);
            if target.as_str() == Some("") {
                *payload = replacement;
            } else {
                set(payload, target.as_str().unwrap(), replacement);
            }
        }
        _ => {
            let key = pick(&[json!("tc"), json!("nm"), json!("ma")], first);
            let path = format!("/t/0/{}", key.as_str().unwrap());
            if payload.get("t").is_some() {
                match second % 3 {
                    0 => set(payload, &path, json!("T".repeat(81))),
                    1 => set(payload, &path, json!("T".repeat(80))),
                    _ => {
                        if let Some(Value::Object(entry)) = payload.pointer_mut("/t/0") {
                            entry.remove(key.as_str().unwrap());
                        }
                    }
                }
            }
        }
    }
}

/// Replaces the value at a leaf chosen by `choice` among all leaves of the payload.
fn set_leaf(payload: &mut Value, choice: u16, replacement: Value) {
    let mut leaves = Vec::new();
    collect_leaves(payload, String::new(), &mut leaves);
    if !leaves.is_empty() {
        let path = leaves[usize::from(choice) % leaves.len()].clone();
        set(payload, &path, replacement);
    }
}

fn collect_leaves(value: &Value, path: String, leaves: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                collect_leaves(child, format!("{path}/{key}"), leaves);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                collect_leaves(child, format!("{path}/{index}"), leaves);
            }
        }
        _ => leaves.push(path),
    }
}

fn set(payload: &mut Value, path: &str, replacement: Value) {
    if let Some(slot) = payload.pointer_mut(path) {
        *slot = replacement;
    }
}

fn remove(payload: &mut Value, key: &Value) {
    if let (Value::Object(object), Some(key)) = (payload, key.as_str()) {
        object.remove(key);
    }
}

fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let runs: Vec<&str> = text.split(|c: char| !c.is_ascii_digit()).collect();
    match runs.as_slice() {
        [major, minor, patch] => Some((
            major.parse().ok()?,
            minor.parse().ok()?,
            patch.parse().ok()?,
        )),
        _ => None,
    }
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(TESTDATA)
}

fn examples() -> Vec<(PathBuf, Value)> {
    let mut examples = Vec::new();
    for group in ["recovery", "test", "vaccination"] {
        let directory = testdata().join("eu-dcc/examples").join(group);
        for entry in fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            let example = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            examples.push((path, example));
        }
    }
    examples.sort_by(|left, right| left.0.cmp(&right.0));
    examples
}
