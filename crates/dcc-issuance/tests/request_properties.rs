//! Property tests of the issuance request body through the fuzzing oracle
//! [`dcc_issuance::fuzzing::issue_body`] (parse, build the payload, check it): arbitrary bytes,
//! byte splices into valid bodies, and structure-aware mutations that set, remove or add
//! fields of a valid body with arbitrary JSON values.
//!
//! The bodies here are also the seed corpus of the cargo-fuzz target `issue_body`
//! (`fuzz/seeds/issue_body/`), which `fuzz_seed_corpus_matches` keeps in step.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use dcc_issuance::fuzzing::{BodyOutcome, issue_body};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value, json};

/// Valid bodies of the three types at [`dcc_issuance::fuzzing::FUZZ_NOW`] (2021-07-01), named
/// as their seed files are.
fn samples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "vaccination",
            json!({"nam": {"fn": "Müller-Lüdenscheidt", "gn": "Jürgen"}, "dob": "1964-08-12",
                   "v": [{"id": "IZ12345A", "tg": "840539006", "vp": "1119349007",
                          "mp": "EU/1/20/1528", "ma": "ORG-100030215", "dn": 2, "sd": 2,
                          "dt": "2021-05-29"}]}),
        ),
        (
            "test",
            json!({"nam": {"fn": "Dießner", "gn": "Erika Dörte"}, "dob": "1980",
                   "t": [{"tg": "840539006", "tt": "LP217198-3", "ma": "1232",
                          "sc": "2021-07-01T08:00:00Z", "tr": "260415000",
                          "tc": "Apotheke am Dev-Markt"}]}),
        ),
        (
            "recovery",
            json!({"nam": {"gn": "Anna"}, "dob": "1990-01",
                   "r": [{"tg": "840539006", "fr": "2021-05-20"}]}),
        ),
        (
            "recovery-dated",
            json!({"nam": {"fn": "Ødegård", "gn": "Åse"}, "dob": "1971-02-28",
                   "r": [{"tg": "840539006", "fr": "2021-04-01", "df": "2021-04-29",
                          "du": "2021-09-28"}]}),
        ),
    ]
}

#[test]
fn sample_bodies_are_built() {
    for (name, body) in samples() {
        assert_eq!(
            issue_body(&serde_json::to_vec(&body).unwrap()),
            BodyOutcome::Built,
            "{name}"
        );
    }
}

/// The committed seeds are the samples above, byte for byte, plus two refused bodies.
/// `DCC_WRITE_FUZZ_SEEDS=1` writes them afresh.
#[test]
fn fuzz_seed_corpus_matches() {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/issue_body");
    let mut seeds: Vec<(String, Vec<u8>, BodyOutcome)> = samples()
        .into_iter()
        .map(|(name, body)| {
            let bytes = serde_json::to_vec_pretty(&body).unwrap();
            (name.to_owned(), bytes, BodyOutcome::Built)
        })
        .collect();
    seeds.push((
        "server-fields".to_owned(),
        br#"{"ver":"1.3.0","nam":{"fn":"A","fnt":"A"},"dob":"2000","r":[{"tg":"840539006","fr":"2021-05-01","ci":"URN:UVCI:01:DE:X/1#A"}]}"#.to_vec(),
        BodyOutcome::Refused,
    ));
    seeds.push((
        "implausible".to_owned(),
        br#"{"nam":{"fn":"Muster"},"dob":"1964-13-45","v":[{"tg":"840539006","vp":"1119349007","mp":"EU/9/99/9999","ma":"ORG-100030215","dn":0,"sd":2,"dt":"2021-08-01"}]}"#.to_vec(),
        BodyOutcome::Invalid,
    ));
    if std::env::var_os("DCC_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(&directory).unwrap();
        for (name, bytes, _) in &seeds {
            std::fs::write(directory.join(format!("{name}.json")), bytes).unwrap();
        }
    }
    for (name, bytes, outcome) in &seeds {
        let committed = std::fs::read(directory.join(format!("{name}.json"))).unwrap();
        assert_eq!(&committed, bytes, "{name}: run with DCC_WRITE_FUZZ_SEEDS=1");
        assert_eq!(issue_body(&committed), *outcome, "{name}");
    }
    assert_eq!(std::fs::read_dir(&directory).unwrap().count(), seeds.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_bytes_are_refused_unless_json(
        bytes in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        let outcome = issue_body(&bytes);
        if serde_json::from_slice::<Value>(&bytes).is_err() {
            prop_assert_eq!(outcome, BodyOutcome::Refused);
        }
    }

    #[test]
    fn bytes_spliced_into_a_body_never_panic(
        sample in any::<Index>(),
        at in any::<Index>(),
        removed in 0usize..8,
        inserted in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let samples = samples();
        let mut bytes = serde_json::to_vec(&samples[sample.index(samples.len())].1).unwrap();
        let start = at.index(bytes.len());
        let end = (start + removed).min(bytes.len());
        bytes.splice(start..end, inserted);
        let _ = issue_body(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn mutated_bodies_keep_the_oracle(
        sample in any::<Index>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let samples = samples();
        let mut body = samples[sample.index(samples.len())].1.clone();
        for mutation in &mutations {
            mutation.apply(&mut body);
        }
        // The oracle asserts every property of an accepted body; refusals must list fields.
        let _ = issue_body(&serde_json::to_vec(&body).unwrap());
    }

    #[test]
    fn a_field_the_server_sets_is_refused(
        sample in any::<Index>(),
        field in prop::sample::select(&["ver", "co", "is", "ci", "fnt", "gnt"][..]),
        value in json_value(),
    ) {
        let samples = samples();
        let mut body = samples[sample.index(samples.len())].1.clone();
        let object = match field {
            "ver" => body.as_object_mut().unwrap(),
            "fnt" | "gnt" => body["nam"].as_object_mut().unwrap(),
            _ => {
                let key = ["v", "t", "r"].into_iter().find(|key| body.get(key).is_some()).unwrap();
                body[key][0].as_object_mut().unwrap()
            }
        };
        object.insert(field.to_owned(), value);
        prop_assert_eq!(issue_body(&serde_json::to_vec(&body).unwrap()), BodyOutcome::Refused);
    }
}

/// The mutations are not all refusals: single mutations of the samples reach every outcome,
/// so the oracle's checks of a built payload run on mutated bodies too.
#[test]
fn mutations_reach_every_outcome() {
    use proptest::strategy::ValueTree as _;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = (any::<Index>(), mutation());
    let samples = samples();
    let mut seen = Vec::new();
    for _ in 0..400 {
        let (sample, mutation) = strategy.new_tree(&mut runner).unwrap().current();
        let mut body = samples[sample.index(samples.len())].1.clone();
        mutation.apply(&mut body);
        let outcome = issue_body(&serde_json::to_vec(&body).unwrap());
        if !seen.contains(&outcome) {
            seen.push(outcome);
        }
    }
    for outcome in [
        BodyOutcome::Refused,
        BodyOutcome::Invalid,
        BodyOutcome::Built,
    ] {
        assert!(
            seen.contains(&outcome),
            "{outcome:?} never reached: {seen:?}"
        );
    }
}

/// One structural change to a JSON document; each index picks among the places that exist
/// when it is applied.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the value at a place (the root included).
    Set(Index, Value),
    /// Remove a member or element.
    Remove(Index),
    /// Add a member, named from the issuer data model's fields or arbitrarily, to an object.
    Insert(Index, String, Value),
}

impl Mutation {
    fn apply(&self, body: &mut Value) {
        match self {
            Self::Set(at, value) => {
                let places = places(body, |_| true);
                let place = &places[at.index(places.len())];
                *body.pointer_mut(place).unwrap() = value.clone();
            }
            Self::Remove(at) => {
                let places = places(body, |_| true);
                let place = &places[at.index(places.len())];
                let Some((parent, key)) = place.rsplit_once('/') else {
                    return;
                };
                match body.pointer_mut(parent).unwrap() {
                    Value::Object(object) => {
                        object.remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                    Value::Array(array) => {
                        array.remove(key.parse::<usize>().unwrap());
                    }
                    _ => unreachable!("a parent is a container"),
                }
            }
            Self::Insert(at, key, value) => {
                let objects = places(body, Value::is_object);
                if objects.is_empty() {
                    return;
                }
                let place = &objects[at.index(objects.len())];
                if let Some(Value::Object(object)) = body.pointer_mut(place) {
                    object.insert(key.clone(), value.clone());
                }
            }
        }
    }
}

/// The JSON pointers of every value in `value` that passes `keep`, the root (`""`) first.
fn places(value: &Value, keep: fn(&Value) -> bool) -> Vec<String> {
    fn walk(value: &Value, pointer: String, keep: fn(&Value) -> bool, out: &mut Vec<String>) {
        if keep(value) {
            out.push(pointer.clone());
        }
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    walk(child, format!("{pointer}/{escaped}"), keep, out);
                }
            }
            Value::Array(array) => {
                for (index, child) in array.iter().enumerate() {
                    walk(child, format!("{pointer}/{index}"), keep, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), keep, &mut out);
    out
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), json_value()).prop_map(|(at, value)| Mutation::Set(at, value)),
        1 => any::<Index>().prop_map(Mutation::Remove),
        2 => (any::<Index>(), field_name(), json_value())
            .prop_map(|(at, key, value)| Mutation::Insert(at, key, value)),
    ]
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => ".{0,6}",
    ]
}

/// Arbitrary JSON, with strings biased towards the values the fields expect and their edges.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => (-3i64..12).prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        3 => prop::sample::select(TEXTS).prop_map(Value::from),
        2 => ".{0,24}".prop_map(Value::from),
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(Value::from),
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})"
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((field_name(), inner), 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "nam", "dob", "v", "t", "r", "ver", "fn", "gn", "fnt", "gnt", "id", "tg", "vp", "mp", "ma",
    "dn", "sd", "dt", "tt", "nm", "sc", "tr", "tc", "fr", "df", "du", "co", "is", "ci",
];

const TEXTS: &[&str] = &[
    "",
    " ",
    "840539006",
    "1119349007",
    "1119305005",
    "J07BX03",
    "EU/1/20/1528",
    "EU/1/20/1507",
    "ORG-100030215",
    "ORG-100031184",
    "LP217198-3",
    "LP6464-4",
    "1232",
    "260415000",
    "260373001",
    "2021-05-29",
    "2021-07-01",
    "2021-07-02",
    "2021-02-29",
    "2020-02-29",
    "2021-13-01",
    "0000-01-01",
    "9999-12-31",
    "-0001-01-01",
    "+002021-01-01",
    "1964",
    "1964-08",
    "1900-00",
    "2021-07-01T10:04:59Z",
    "2021-07-01T10:05:01Z",
    "2021-07-01T10:00:00+14:00",
    "9999-12-31T23:59:59Z",
    "Müller",
    "ß",
    "A\u{0301}",
    "\u{1F600}",
    "<<<",
    "DE",
    "URN:UVCI:01:DE:X/1#A",
    "1.3.2",
    "Robert Koch-Institut",
];
