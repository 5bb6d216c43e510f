//! The traversal of a payload, field by field in schema order (spec §2.1–§2.5).

use serde_json::{Map, Value};

use super::profile::{self, NameRule, Profile};
use super::syntax;
use super::{JsonType, Mode, Violation, ViolationKind};
use crate::value_sets::{ValueSetKind, ValueSets};

/// Checks `payload` and returns every violation in document order.
pub(super) fn check(payload: &Value, mode: Mode, value_sets: Option<&ValueSets>) -> Vec<Violation> {
    let version = payload
        .get("ver")
        .and_then(Value::as_str)
        .and_then(profile::parse_version);
    let (profile, formats) = match mode {
        Mode::Verify => (profile::for_version(version), false),
        Mode::Issue => (profile::CURRENT, true),
    };
    let mut walker = Walker {
        profile,
        formats,
        value_sets,
        violations: Vec::new(),
    };
    walker.payload(payload, mode, version);
    walker.violations
}

/// The state of one validation run.
struct Walker<'a> {
    profile: Profile,
    /// Whether `format` keywords are asserted ([`Mode::Issue`]).
    formats: bool,
    value_sets: Option<&'a ValueSets>,
    violations: Vec<Violation>,
}

/// The per-field rule of a string member.
#[derive(Clone, Copy)]
enum Rule {
    /// Any string.
    Text,
    /// A string of at most this many characters.
    MaxLength(usize),
    /// A standardised name: `^[A-Z<]*$` and a maximum length (§2.2).
    StandardisedName(usize),
    /// A code of a value set.
    Code(ValueSetKind),
    /// A country: the `co` pattern and the country value set (§2.3).
    Country,
    /// A complete date (`format: date`).
    Date,
    /// An RFC 3339 date-time (`format: date-time`).
    DateTime,
}

impl Walker<'_> {
    fn payload(&mut self, payload: &Value, mode: Mode, version: Option<(u64, u64, u64)>) {
        let Some(object) = self.object_at(payload, "") else {
            return;
        };
        match object.get("ver") {
            None => self.report("/ver", ViolationKind::Missing),
            Some(value) => {
                if let Some(text) = self.string_at(value, "/ver") {
                    if !syntax::matches_version_pattern(text) {
                        let pattern = syntax::VERSION_PATTERN;
                        self.report("/ver", ViolationKind::PatternMismatch { pattern });
                    } else if mode == Mode::Issue
                        && version.is_some_and(|version| version < profile::OLDEST_ISSUED)
                    {
                        let minimum = profile::OLDEST_ISSUED_TEXT;
                        self.report("/ver", ViolationKind::VersionTooOld { minimum });
                    }
                }
            }
        }
        match object.get("nam") {
            None => self.report("/nam", ViolationKind::Missing),
            Some(value) => self.name(value),
        }
        match object.get("dob") {
            None => self.report("/dob", ViolationKind::Missing),
            Some(value) => self.date_of_birth(value),
        }
        // Schema `oneOf` over `required: [ver, nam, dob, X]` (§2.1): the harness applies the
        // same "exactly one of v/t/r" to versions that lacked the `oneOf` (§8.3).
        let present = ["v", "t", "r"]
            .iter()
            .filter(|key| object.contains_key(**key))
            .count();
        match present {
            0 => self.report("", ViolationKind::NoEntryType),
            1 => {}
            _ => self.report("", ViolationKind::SeveralEntryTypes),
        }
        if let Some(entries) = object.get("v") {
            self.entries(entries, "/v", Self::vaccination);
        }
        if let Some(entries) = object.get("t") {
            self.entries(entries, "/t", Self::test);
        }
        if let Some(entries) = object.get("r") {
            self.entries(entries, "/r", Self::recovery);
        }
    }

    /// `nam` (§2.2).
    fn name(&mut self, value: &Value) {
        let Some(name) = self.object_at(value, "/nam") else {
            return;
        };
        let max = self.profile.max_length;
        self.optional(name, "/nam", "fn", Rule::MaxLength(max));
        self.optional(name, "/nam", "fnt", Rule::StandardisedName(max));
        self.optional(name, "/nam", "gn", Rule::MaxLength(max));
        self.optional(name, "/nam", "gnt", Rule::StandardisedName(max));
        match self.profile.names {
            NameRule::SurnameRequired => {
                if !name.contains_key("fnt") {
                    self.report("/nam/fnt", ViolationKind::Missing);
                }
            }
            NameRule::SurnameOrForename => {
                if !name.contains_key("fnt") && !name.contains_key("gnt") {
                    self.report("/nam", ViolationKind::NameWithoutStandardisedName);
                }
            }
        }
    }

    /// `dob` (§2.1): the pattern of the version, and in [`Mode::Issue`] a date that exists.
    fn date_of_birth(&mut self, value: &Value) {
        let Some(text) = self.string_at(value, "/dob") else {
            return;
        };
        let rule = self.profile.date_of_birth;
        if !rule.matches(text) {
            let pattern = rule.pattern();
            self.report("/dob", ViolationKind::PatternMismatch { pattern });
        } else if self.formats && !syntax::is_existing_partial_date(text) {
            self.report("/dob", ViolationKind::ImpossibleDateOfBirth);
        }
    }

    /// One of the arrays `v`, `t`, `r`: type, `minItems`, `maxItems`, then every item.
    fn entries(
        &mut self,
        value: &Value,
        path: &str,
        entry: fn(&mut Self, &Map<String, Value>, &str),
    ) {
        let Some(items) = self.typed(value, path, JsonType::Array, Value::as_array) else {
            return;
        };
        if items.is_empty() {
            self.report(path, ViolationKind::EmptyEntries);
        }
        if let Some(max) = self.profile.max_entries
            && items.len() > max
        {
            let actual = items.len();
            self.report(path, ViolationKind::TooManyEntries { max, actual });
        }
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{path}/{index}");
            if let Some(object) = self.object_at(item, &item_path) {
                entry(self, object, &item_path);
            }
        }
    }

    /// A vaccination entry (§2.3); all ten members are required.
    fn vaccination(&mut self, entry: &Map<String, Value>, path: &str) {
        let max = self.profile.max_length;
        self.required(entry, path, "tg", Rule::Code(ValueSetKind::DiseaseAgent));
        self.required(
            entry,
            path,
            "vp",
            Rule::Code(ValueSetKind::VaccineProphylaxis),
        );
        self.required(entry, path, "mp", Rule::Code(ValueSetKind::VaccineProduct));
        self.required(
            entry,
            path,
            "ma",
            Rule::Code(ValueSetKind::VaccineManufacturer),
        );
        self.dose(entry, path, "dn");
        self.dose(entry, path, "sd");
        self.required(entry, path, "dt", Rule::Date);
        self.required(entry, path, "co", Rule::Country);
        self.required(entry, path, "is", Rule::MaxLength(max));
        self.required(entry, path, "ci", Rule::MaxLength(max));
    }

    /// A test entry (§2.4); `nm`, `ma` and (since 1.3.0) `tc` are optional.
    fn test(&mut self, entry: &Map<String, Value>, path: &str) {
        let max = self.profile.max_length;
        self.required(entry, path, "tg", Rule::Code(ValueSetKind::DiseaseAgent));
        self.required(entry, path, "tt", Rule::Code(ValueSetKind::TestType));
        let test_name = self
            .profile
            .test_name_max_length
            .map_or(Rule::Text, Rule::MaxLength);
        self.optional(entry, path, "nm", test_name);
        self.optional(
            entry,
            path,
            "ma",
            Rule::Code(ValueSetKind::TestManufacturer),
        );
        self.required(entry, path, "sc", Rule::DateTime);
        self.required(entry, path, "tr", Rule::Code(ValueSetKind::TestResult));
        if self.profile.test_centre_required {
            self.required(entry, path, "tc", Rule::MaxLength(max));
        } else {
            self.optional(entry, path, "tc", Rule::MaxLength(max));
        }
        self.required(entry, path, "co", Rule::Country);
        self.required(entry, path, "is", Rule::MaxLength(max));
        self.required(entry, path, "ci", Rule::MaxLength(max));
    }

    /// A recovery entry (§2.5); all seven members are required.
    fn recovery(&mut self, entry: &Map<String, Value>, path: &str) {
        let max = self.profile.max_length;
        self.required(entry, path, "tg", Rule::Code(ValueSetKind::DiseaseAgent));
        self.required(entry, path, "fr", Rule::Date);
        self.required(entry, path, "co", Rule::Country);
        self.required(entry, path, "is", Rule::MaxLength(max));
        self.required(entry, path, "df", Rule::Date);
        self.required(entry, path, "du", Rule::Date);
        self.required(entry, path, "ci", Rule::MaxLength(max));
    }

    /// `dn` or `sd`: a required integer of at least 1, at most 9 before 1.3.0 (§2.3, §2.6).
    fn dose(&mut self, entry: &Map<String, Value>, path: &str, key: &str) {
        let path = format!("{path}/{key}");
        let Some(value) = entry.get(key) else {
            self.report(&path, ViolationKind::Missing);
            return;
        };
        let Some(number) = self.typed(value, &path, JsonType::Integer, Value::as_number) else {
            return;
        };
        // Compare as f64 only when the number is not an exact i64/u64; whole floats beyond the
        // i64 range are above every bound we check.
        let (below, above) = match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(value), _, _) => (value < DOSE_MINIMUM, self.dose_above(value)),
            (None, Some(_), _) => (false, self.profile.dose_maximum.is_some()),
            (None, None, Some(value)) => (
                value < 1.0,
                self.profile
                    .dose_maximum
                    .is_some_and(|maximum| value > maximum as f64),
            ),
            (None, None, None) => (false, false),
        };
        if below {
            self.report(
                &path,
                ViolationKind::BelowMinimum {
                    minimum: DOSE_MINIMUM,
                },
            );
        }
        if above && let Some(maximum) = self.profile.dose_maximum {
            self.report(&path, ViolationKind::AboveMaximum { maximum });
        }
    }

    fn dose_above(&self, value: i64) -> bool {
        self.profile
            .dose_maximum
            .is_some_and(|maximum| value > maximum)
    }

    fn required(&mut self, object: &Map<String, Value>, path: &str, key: &str, rule: Rule) {
        let path = format!("{path}/{key}");
        match object.get(key) {
            None => self.report(&path, ViolationKind::Missing),
            Some(value) => self.string_member(value, &path, rule),
        }
    }

    fn optional(&mut self, object: &Map<String, Value>, path: &str, key: &str, rule: Rule) {
        if let Some(value) = object.get(key) {
            self.string_member(value, &format!("{path}/{key}"), rule);
        }
    }

    /// Applies `rule` to a member whose schema type is `string`.
    fn string_member(&mut self, value: &Value, path: &str, rule: Rule) {
        let Some(text) = self.string_at(value, path) else {
            return;
        };
        match rule {
            Rule::Text => {}
            Rule::MaxLength(max) => self.max_length(text, path, max),
            Rule::StandardisedName(max) => {
                if !syntax::matches_standardised_name(text) {
                    let pattern = syntax::STANDARDISED_NAME_PATTERN;
                    self.report(path, ViolationKind::PatternMismatch { pattern });
                }
                self.max_length(text, path, max);
            }
            Rule::Code(value_set) => self.code(text, path, value_set),
            Rule::Country => {
                if !syntax::matches_country_pattern(text) {
                    let pattern = syntax::COUNTRY_PATTERN;
                    self.report(path, ViolationKind::PatternMismatch { pattern });
                }
                self.code(text, path, ValueSetKind::Country);
            }
            Rule::Date => {
                if self.formats && !syntax::is_full_date(text) {
                    self.report(path, ViolationKind::InvalidDate);
                }
            }
            Rule::DateTime => {
                if self.formats && !syntax::is_date_time(text) {
                    self.report(path, ViolationKind::InvalidDateTime);
                }
            }
        }
    }

    fn max_length(&mut self, text: &str, path: &str, max: usize) {
        // JSON Schema counts characters (code points), not bytes; only long texts need counting.
        if text.len() > max {
            let actual = text.chars().count();
            if actual > max {
                self.report(path, ViolationKind::TooLong { max, actual });
            }
        }
    }

    fn code(&mut self, text: &str, path: &str, value_set: ValueSetKind) {
        match self.value_sets {
            Some(sets) if !sets.is_enforced(value_set) || sets.get(value_set).contains(text) => {}
            Some(_) => self.report(path, ViolationKind::NotInValueSet { value_set }),
            None => self.report(path, ViolationKind::ValueSetUnavailable { value_set }),
        }
    }

    fn object_at<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        self.typed(value, path, JsonType::Object, Value::as_object)
    }

    fn string_at<'v>(&mut self, value: &'v Value, path: &str) -> Option<&'v str> {
        self.typed(value, path, JsonType::String, Value::as_str)
    }

    /// Returns the value as the expected type, or reports [`ViolationKind::WrongType`].
    fn typed<'v, T: ?Sized>(
        &mut self,
        value: &'v Value,
        path: &str,
        expected: JsonType,
        cast: fn(&'v Value) -> Option<&'v T>,
    ) -> Option<&'v T> {
        let actual = JsonType::of(value);
        let matches = actual == expected;
        match cast(value) {
            Some(typed) if matches => Some(typed),
            _ => {
                self.report(path, ViolationKind::WrongType { expected, actual });
                None
            }
        }
    }

    fn report(&mut self, path: &str, kind: ViolationKind) {
        self.violations.push(Violation::new(path, kind));
    }
}

/// `minimum` of `dn` and `sd` in every version (§2.3).
const DOSE_MINIMUM: i64 = 1;
