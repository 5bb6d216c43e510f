//! Unit tests of the validator: at least one per violation kind, each asserting the exact path
//! and kind, plus the rules that differ between schema versions (spec §2.6).

use serde_json::{Value, json};

use super::*;

fn vaccination() -> Value {
    json!({
        "ver": "1.3.3",
        "nam": {"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gn": "Erika", "gnt": "ERIKA"},
        "dob": "1964-08-12",
        "v": [{
            "tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
            "dn": 2, "sd": 2, "dt": "2021-05-29", "co": "DE", "is": "Robert Koch-Institut",
            "ci": "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W"
        }]
    })
}

fn test_entry() -> Value {
    json!({
        "ver": "1.3.3",
        "nam": {"fnt": "MUSTERFRAU"},
        "dob": "1964",
        "t": [{
            "tg": "840539006", "tt": "LP6464-4", "sc": "2021-05-30T10:12:22Z", "tr": "260415000",
            "co": "DE", "is": "Robert Koch-Institut", "ci": "URN:UVCI:01DE/X/Y#1"
        }]
    })
}

fn recovery() -> Value {
    json!({
        "ver": "1.3.3",
        "nam": {"gnt": "ERIKA"},
        "dob": "",
        "r": [{
            "tg": "840539006", "fr": "2021-01-10", "co": "DE", "is": "Robert Koch-Institut",
            "df": "2021-01-21", "du": "2021-07-09", "ci": "URN:UVCI:01DE/X/Z#2"
        }]
    })
}

/// The violations of `payload` after setting `pointer` to `value`.
fn with(mut payload: Value, pointer: &str, value: Value, mode: Mode) -> Vec<Violation> {
    *payload.pointer_mut(pointer).unwrap() = value;
    validate(&payload, mode)
}

fn one(path: &str, kind: ViolationKind) -> Vec<Violation> {
    vec![Violation::new(path, kind)]
}

#[test]
fn valid_payloads_have_no_violations() {
    for payload in [vaccination(), test_entry(), recovery()] {
        assert_eq!(validate(&payload, Mode::Verify), []);
        assert_eq!(validate(&payload, Mode::Issue), []);
    }
}

#[test]
fn missing_required_member() {
    let mut payload = vaccination();
    payload["v"][0].as_object_mut().unwrap().remove("dn");
    payload.as_object_mut().unwrap().remove("dob");
    assert_eq!(
        validate(&payload, Mode::Verify),
        [
            Violation::new("/dob", ViolationKind::Missing),
            Violation::new("/v/0/dn", ViolationKind::Missing),
        ]
    );
}

#[test]
fn wrong_type() {
    let expected = ViolationKind::WrongType {
        expected: JsonType::Integer,
        actual: JsonType::String,
    };
    assert_eq!(
        with(vaccination(), "/v/0/dn", json!("2"), Mode::Verify),
        one("/v/0/dn", expected)
    );
    let expected = ViolationKind::WrongType {
        expected: JsonType::Object,
        actual: JsonType::Array,
    };
    assert_eq!(validate(&json!([]), Mode::Verify), one("", expected));
}

#[test]
fn whole_floats_are_integers_and_fractions_are_not() {
    assert_eq!(with(vaccination(), "/v/0/dn", json!(2.0), Mode::Verify), []);
    let expected = ViolationKind::WrongType {
        expected: JsonType::Integer,
        actual: JsonType::Number,
    };
    assert_eq!(
        with(vaccination(), "/v/0/sd", json!(1.5), Mode::Verify),
        one("/v/0/sd", expected)
    );
}

#[test]
fn pattern_mismatch_of_standardised_name() {
    let kind = ViolationKind::PatternMismatch {
        pattern: "^[A-Z<]*$",
    };
    assert_eq!(
        with(vaccination(), "/nam/fnt", json!("Muster"), Mode::Verify),
        one("/nam/fnt", kind)
    );
}

#[test]
fn pattern_mismatch_of_version_and_country() {
    let kind = ViolationKind::PatternMismatch {
        pattern: r"^\d+.\d+.\d+$",
    };
    assert_eq!(
        with(vaccination(), "/ver", json!("1.3"), Mode::Verify),
        one("/ver", kind)
    );
    let violations = with(vaccination(), "/v/0/co", json!("de"), Mode::Verify);
    let pattern = ViolationKind::PatternMismatch {
        pattern: "[A-Z]{1,10}",
    };
    let value_set = ViolationKind::NotInValueSet {
        value_set: ValueSetKind::Country,
    };
    assert_eq!(
        violations,
        [
            Violation::new("/v/0/co", pattern),
            Violation::new("/v/0/co", value_set)
        ]
    );
}

#[test]
fn too_long_counts_characters() {
    let kind = ViolationKind::TooLong {
        max: 80,
        actual: 81,
    };
    assert_eq!(
        with(
            vaccination(),
            "/nam/fn",
            json!("Ä".repeat(81)),
            Mode::Verify
        ),
        one("/nam/fn", kind)
    );
    assert_eq!(
        with(
            vaccination(),
            "/nam/fn",
            json!("Ä".repeat(80)),
            Mode::Verify
        ),
        []
    );
}

#[test]
fn below_minimum() {
    let kind = ViolationKind::BelowMinimum { minimum: 1 };
    assert_eq!(
        with(vaccination(), "/v/0/dn", json!(0), Mode::Verify),
        one("/v/0/dn", kind.clone())
    );
    assert_eq!(
        with(vaccination(), "/v/0/sd", json!(-3), Mode::Issue),
        one("/v/0/sd", kind)
    );
}

#[test]
fn above_maximum_only_before_1_3_0() {
    let mut payload = vaccination();
    payload["ver"] = json!("1.2.1");
    let kind = ViolationKind::AboveMaximum { maximum: 9 };
    assert_eq!(
        with(payload, "/v/0/dn", json!(10), Mode::Verify),
        one("/v/0/dn", kind)
    );
    assert_eq!(with(vaccination(), "/v/0/dn", json!(10), Mode::Verify), []);
}

#[test]
fn invalid_date_only_when_issuing() {
    let payload = vaccination();
    let date_time = json!("2021-05-29T00:00:00");
    assert_eq!(
        with(payload.clone(), "/v/0/dt", date_time.clone(), Mode::Verify),
        []
    );
    let violations = with(payload, "/v/0/dt", date_time, Mode::Issue);
    assert_eq!(violations, one("/v/0/dt", ViolationKind::InvalidDate));
    let violations = with(recovery(), "/r/0/du", json!("2021-02-30"), Mode::Issue);
    assert_eq!(violations, one("/r/0/du", ViolationKind::InvalidDate));
}

#[test]
fn invalid_date_time_only_when_issuing() {
    let without_offset = json!("2021-05-30T10:12:22");
    assert_eq!(
        with(
            test_entry(),
            "/t/0/sc",
            without_offset.clone(),
            Mode::Verify
        ),
        []
    );
    let violations = with(test_entry(), "/t/0/sc", without_offset, Mode::Issue);
    assert_eq!(violations, one("/t/0/sc", ViolationKind::InvalidDateTime));
}

#[test]
fn not_in_value_set() {
    let kind = ViolationKind::NotInValueSet {
        value_set: ValueSetKind::VaccineProduct,
    };
    assert_eq!(
        with(
            vaccination(),
            "/v/0/mp",
            json!("EU/1/99/0000"),
            Mode::Verify
        ),
        one("/v/0/mp", kind)
    );
    let kind = ViolationKind::NotInValueSet {
        value_set: ValueSetKind::TestResult,
    };
    assert_eq!(
        with(test_entry(), "/t/0/tr", json!("1"), Mode::Issue),
        one("/t/0/tr", kind)
    );
}

#[test]
fn deprecated_codes_are_accepted() {
    assert_eq!(
        with(vaccination(), "/v/0/vp", json!("J07BX03"), Mode::Verify),
        []
    );
}

#[test]
fn embedded_test_device_list_is_not_enforced() {
    assert_eq!(
        with(test_entry(), "/t/0/tt", json!("LP217198-3"), Mode::Issue),
        []
    );
    let mut payload = test_entry();
    payload["t"][0]["ma"] = json!("532");
    assert_eq!(validate(&payload, Mode::Issue), []);
}

#[test]
fn unavailable_value_sets_fail_closed() {
    let violations = walker::check(&recovery(), Mode::Verify, None);
    let kinds = [ValueSetKind::DiseaseAgent, ValueSetKind::Country];
    let expected: Vec<Violation> = ["/r/0/tg", "/r/0/co"]
        .iter()
        .zip(kinds)
        .map(|(path, value_set)| {
            Violation::new(*path, ViolationKind::ValueSetUnavailable { value_set })
        })
        .collect();
    assert_eq!(violations, expected);
}

#[test]
fn no_entry_type() {
    let mut payload = vaccination();
    payload.as_object_mut().unwrap().remove("v");
    assert_eq!(
        validate(&payload, Mode::Verify),
        one("", ViolationKind::NoEntryType)
    );
}

#[test]
fn several_entry_types_even_when_null() {
    let mut payload = vaccination();
    payload["t"] = Value::Null;
    let wrong = ViolationKind::WrongType {
        expected: JsonType::Array,
        actual: JsonType::Null,
    };
    assert_eq!(
        validate(&payload, Mode::Verify),
        [
            Violation::new("", ViolationKind::SeveralEntryTypes),
            Violation::new("/t", wrong)
        ]
    );
}

#[test]
fn too_many_entries_since_1_3_0() {
    let mut payload = vaccination();
    let entry = payload["v"][0].clone();
    payload["v"].as_array_mut().unwrap().push(entry);
    let kind = ViolationKind::TooManyEntries { max: 1, actual: 2 };
    assert_eq!(validate(&payload, Mode::Verify), one("/v", kind.clone()));
    assert_eq!(validate(&payload, Mode::Issue), one("/v", kind));
    // Schema 1.0.0 allowed several entries (spec §2.7, RO 2).
    payload["ver"] = json!("1.0.0");
    payload["dob"] = json!("1964-08-12");
    assert_eq!(validate(&payload, Mode::Verify), []);
}

#[test]
fn empty_entries() {
    assert_eq!(
        with(recovery(), "/r", json!([]), Mode::Verify),
        one("/r", ViolationKind::EmptyEntries)
    );
}

#[test]
fn name_without_standardised_name_since_1_3_2() {
    let payload = json!({"fn": "Musterfrau"});
    let violations = with(vaccination(), "/nam", payload.clone(), Mode::Verify);
    assert_eq!(
        violations,
        one("/nam", ViolationKind::NameWithoutStandardisedName)
    );
    // Before 1.3.2 `fnt` alone was required, so a name with only `gnt` is invalid.
    let mut old = recovery();
    old["ver"] = json!("1.3.0");
    assert_eq!(
        validate(&old, Mode::Verify),
        one("/nam/fnt", ViolationKind::Missing)
    );
    // Issuance always applies 1.3.3, which accepts `gnt` alone.
    assert_eq!(validate(&old, Mode::Issue), []);
}

#[test]
fn impossible_date_of_birth_only_when_issuing() {
    for dob in ["1963-00", "1990-02-30"] {
        assert_eq!(with(vaccination(), "/dob", json!(dob), Mode::Verify), []);
        let violations = with(vaccination(), "/dob", json!(dob), Mode::Issue);
        assert_eq!(
            violations,
            one("/dob", ViolationKind::ImpossibleDateOfBirth)
        );
    }
}

#[test]
fn version_too_old_only_when_issuing() {
    let mut payload = vaccination();
    payload["ver"] = json!("1.2.1");
    assert_eq!(validate(&payload, Mode::Verify), []);
    let kind = ViolationKind::VersionTooOld { minimum: "1.3.0" };
    assert_eq!(validate(&payload, Mode::Issue), one("/ver", kind));
}

#[test]
fn date_of_birth_rules_per_version() {
    let mut payload = vaccination();
    payload["ver"] = json!("1.0.0");
    // 1.0.x: full date, unanchored pattern, so BG's date-time dob passes (spec §8.4).
    assert_eq!(
        with(
            payload.clone(),
            "/dob",
            json!("1978-01-26T00:00:00"),
            Mode::Verify
        ),
        []
    );
    let full = ViolationKind::PatternMismatch {
        pattern: r"(19|20)\d{2}-\d{2}-\d{2}",
    };
    assert_eq!(
        with(payload.clone(), "/dob", json!("1978"), Mode::Verify),
        one("/dob", full)
    );
    // 1.1.0 to 1.2.1: partial dates, but not empty.
    payload["ver"] = json!("1.1.0");
    assert_eq!(
        with(payload.clone(), "/dob", json!("1978"), Mode::Verify),
        []
    );
    let partial = ViolationKind::PatternMismatch {
        pattern: r"^(19|20)\d\d(-\d\d){0,2}$",
    };
    assert_eq!(
        with(payload, "/dob", json!(""), Mode::Verify),
        one("/dob", partial)
    );
}

#[test]
fn lengths_and_test_centre_before_1_3_0() {
    let mut payload = test_entry();
    payload["ver"] = json!("1.0.4");
    payload["dob"] = json!("1964-01-01");
    assert_eq!(
        validate(&payload, Mode::Verify),
        one("/t/0/tc", ViolationKind::Missing)
    );
    payload["t"][0]["tc"] = json!("T".repeat(51));
    let kind = ViolationKind::TooLong {
        max: 50,
        actual: 51,
    };
    assert_eq!(validate(&payload, Mode::Verify), one("/t/0/tc", kind));
}

#[test]
fn extra_keys_are_allowed() {
    let mut payload = test_entry();
    payload["t"][0]["dr"] = json!("2021-05-30T12:00:00Z");
    payload["xx"] = json!(1);
    assert_eq!(validate(&payload, Mode::Issue), []);
}

#[test]
fn every_violation_is_reported() {
    let payload = json!({"ver": 1, "nam": {}, "dob": "1964", "v": [{}]});
    let violations = validate(&payload, Mode::Verify);
    assert_eq!(violations.len(), 12);
    assert_eq!(violations[0].path, "/ver");
    assert_eq!(
        violations[1],
        Violation::new("/nam", ViolationKind::NameWithoutStandardisedName)
    );
    assert_eq!(
        violations[11],
        Violation::new("/v/0/ci", ViolationKind::Missing)
    );
}

#[test]
fn display_names_the_path() {
    let violation = Violation::new("/v/0/dn", ViolationKind::BelowMinimum { minimum: 1 });
    assert_eq!(violation.to_string(), "/v/0/dn: must be at least 1");
    let violation = Violation::new("", ViolationKind::SeveralEntryTypes);
    assert_eq!(
        violation.to_string(),
        "(root): must contain exactly one of v, t, r"
    );
    let violation = Violation::new(
        "/v/0/mp",
        ViolationKind::NotInValueSet {
            value_set: ValueSetKind::VaccineProduct,
        },
    );
    assert_eq!(
        violation.to_string(),
        "/v/0/mp: must be a code of the value set vaccines-covid-19-names"
    );
}

#[test]
fn schema_rules_are_told_apart() {
    assert!(ViolationKind::Missing.is_schema_rule());
    assert!(ViolationKind::NoEntryType.is_schema_rule());
    assert!(!ViolationKind::ImpossibleDateOfBirth.is_schema_rule());
    let value_set = ValueSetKind::Country;
    assert!(!ViolationKind::NotInValueSet { value_set }.is_schema_rule());
}
