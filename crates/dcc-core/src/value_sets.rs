//! The official EU DCC value sets (spec §4), embedded at compile time.
//!
//! The JSON files under `valuesets/` are copies of the eHealth Network value-set repository. They
//! are compiled into the binary with `include_str!` and parsed once, on first use, so that looking
//! up a code never touches the file system (the core does no I/O, see ARCHITECTURE.md).
//!
//! Codes marked `active: false` are deprecated but remain members: a certificate issued while the
//! code was active stays valid (§4).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use time::Date;
use time::macros::format_description;

/// One of the value sets a DCC payload field is bound to (spec §2.3–§2.5, §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ValueSetKind {
    /// Disease or agent targeted (`tg`), `disease-agent-targeted`.
    DiseaseAgent,
    /// Vaccine or prophylaxis (`v.vp`), `sct-vaccines-covid-19`.
    VaccineProphylaxis,
    /// Vaccine medicinal product (`v.mp`), `vaccines-covid-19-names`.
    VaccineProduct,
    /// Marketing authorisation holder or manufacturer (`v.ma`), `vaccines-covid-19-auth-holders`.
    VaccineManufacturer,
    /// Country of vaccination or test (`co`), `country-2-codes`.
    Country,
    /// Type of test (`t.tt`), `covid-19-lab-test-type`.
    TestType,
    /// Test result (`t.tr`), `covid-19-lab-result`.
    TestResult,
    /// Rapid antigen test device (`t.ma`), `covid-19-lab-test-manufacturer-and-name`.
    TestManufacturer,
}

impl ValueSetKind {
    /// Every kind, in the order of the spec's value-set table (§4).
    pub const ALL: [Self; 8] = [
        Self::DiseaseAgent,
        Self::VaccineProphylaxis,
        Self::VaccineProduct,
        Self::VaccineManufacturer,
        Self::Country,
        Self::TestType,
        Self::TestResult,
        Self::TestManufacturer,
    ];

    /// The `valueSetId` of this set, the key business rules use (§4, §7.2).
    pub fn id(self) -> &'static str {
        match self {
            Self::DiseaseAgent => "disease-agent-targeted",
            Self::VaccineProphylaxis => "sct-vaccines-covid-19",
            Self::VaccineProduct => "vaccines-covid-19-names",
            Self::VaccineManufacturer => "vaccines-covid-19-auth-holders",
            Self::Country => "country-2-codes",
            Self::TestType => "covid-19-lab-test-type",
            Self::TestResult => "covid-19-lab-result",
            Self::TestManufacturer => "covid-19-lab-test-manufacturer-and-name",
        }
    }

    /// The embedded JSON document of the official set.
    fn embedded_json(self) -> &'static str {
        match self {
            Self::DiseaseAgent => include_str!("../valuesets/disease-agent-targeted.json"),
            Self::VaccineProphylaxis => include_str!("../valuesets/vaccine-prophylaxis.json"),
            Self::VaccineProduct => include_str!("../valuesets/vaccine-medicinal-product.json"),
            Self::VaccineManufacturer => include_str!("../valuesets/vaccine-mah-manf.json"),
            Self::Country => include_str!("../valuesets/country-2-codes.json"),
            Self::TestType => include_str!("../valuesets/test-type.json"),
            Self::TestResult => include_str!("../valuesets/test-result.json"),
            Self::TestManufacturer => include_str!("../valuesets/test-manf-example.json"),
        }
    }
}

impl fmt::Display for ValueSetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A failure to load a value set.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValueSetError {
    /// The document is not JSON in the value-set file format (§4).
    #[error("value set is not JSON in the value-set file format")]
    Json {
        /// The parser's error.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// The `valueSetDate` (or an entry's `validUntil`) is not a `YYYY-MM-DD` date.
    #[error("value set contains a date that is not YYYY-MM-DD")]
    Date {
        /// The date parser's error.
        #[source]
        source: time::error::Parse,
    },
    /// The `valueSetId` is not the one expected for the kind it is used as.
    #[error("value set does not have the valueSetId {}", .expected.id())]
    UnexpectedId {
        /// The kind the set was loaded or inserted as.
        expected: ValueSetKind,
    },
    /// One of the embedded official sets failed to load; this is a build defect.
    #[error("embedded official value set {kind} failed to load")]
    Embedded {
        /// The set that failed.
        kind: ValueSetKind,
        /// Why it failed.
        #[source]
        source: Box<ValueSetError>,
    },
}

/// One code of a value set with its metadata (§4 file format).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValueSetEntry {
    /// Human-readable name, e.g. `Comirnaty`.
    pub display: String,
    /// Language of `display`, `en` in all official sets.
    pub lang: String,
    /// `false` for deprecated codes, which remain members (§4).
    pub active: bool,
    /// The code system, e.g. `http://snomed.info/sct`.
    pub system: String,
    /// The code-system version.
    pub version: String,
    /// The optional last day of validity of the code.
    pub valid_until: Option<Date>,
}

/// A parsed value set: its id, its date and its codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueSet {
    id: String,
    date: Date,
    entries: BTreeMap<String, ValueSetEntry>,
}

impl ValueSet {
    /// Parses a document in the value-set file format (§4), for example a newer set fetched from
    /// the gateway by the caller.
    pub fn from_json(json: &str) -> Result<Self, ValueSetError> {
        let raw: RawValueSet =
            serde_json::from_str(json).map_err(|source| ValueSetError::Json {
                source: Arc::new(source),
            })?;
        let mut entries = BTreeMap::new();
        for (code, entry) in raw.value_set_values {
            let valid_until = entry.valid_until.as_deref().map(parse_date).transpose()?;
            entries.insert(
                code,
                ValueSetEntry {
                    display: entry.display,
                    lang: entry.lang,
                    active: entry.active,
                    system: entry.system,
                    version: entry.version,
                    valid_until,
                },
            );
        }
        Ok(Self {
            id: raw.value_set_id,
            date: parse_date(&raw.value_set_date)?,
            entries,
        })
    }

    /// The `valueSetId`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `valueSetDate`, the publication date of this version of the set.
    pub fn date(&self) -> Date {
        self.date
    }

    /// Whether `code` is a member, active or deprecated.
    pub fn contains(&self, code: &str) -> bool {
        self.entries.contains_key(code)
    }

    /// The display name of `code`, if it is a member.
    pub fn display(&self, code: &str) -> Option<&str> {
        self.entries.get(code).map(|entry| entry.display.as_str())
    }

    /// Whether `code` is a member that is not deprecated.
    pub fn is_active(&self, code: &str) -> bool {
        self.entries.get(code).is_some_and(|entry| entry.active)
    }

    /// The entry for `code`, if it is a member.
    pub fn entry(&self, code: &str) -> Option<&ValueSetEntry> {
        self.entries.get(code)
    }

    /// All codes, in ascending order.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The number of codes, deprecated ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set has no codes.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One value set per [`ValueSetKind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueSets {
    disease_agent: ValueSet,
    vaccine_prophylaxis: ValueSet,
    vaccine_product: ValueSet,
    vaccine_manufacturer: ValueSet,
    country: ValueSet,
    test_type: ValueSet,
    test_result: ValueSet,
    test_manufacturer: ValueSet,
    /// Whether the test-device set is the live one rather than the embedded example.
    live_test_manufacturers: bool,
}

impl ValueSets {
    /// The official sets embedded in this build, parsed on first use.
    ///
    /// An error means the embedded data is broken, a build defect that a unit test rules out;
    /// callers still get it as a typed error instead of a panic.
    pub fn official() -> Result<&'static Self, ValueSetError> {
        static OFFICIAL: OnceLock<Result<ValueSets, ValueSetError>> = OnceLock::new();
        OFFICIAL
            .get_or_init(Self::load_official)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The set of the given kind.
    pub fn get(&self, kind: ValueSetKind) -> &ValueSet {
        match kind {
            ValueSetKind::DiseaseAgent => &self.disease_agent,
            ValueSetKind::VaccineProphylaxis => &self.vaccine_prophylaxis,
            ValueSetKind::VaccineProduct => &self.vaccine_product,
            ValueSetKind::VaccineManufacturer => &self.vaccine_manufacturer,
            ValueSetKind::Country => &self.country,
            ValueSetKind::TestType => &self.test_type,
            ValueSetKind::TestResult => &self.test_result,
            ValueSetKind::TestManufacturer => &self.test_manufacturer,
        }
    }

    /// Whether membership in the set of `kind` is meant to be enforced.
    ///
    /// This is `false` only for the embedded [`ValueSetKind::TestManufacturer`] set: the file is
    /// an example snapshot of 2021-07-01 (`test-manf-example.json`), while the live list is synced
    /// from the JRC database by the gateway (§4); even the official schema example
    /// `test/simple-rat.json` uses a device (`532`) that the snapshot lacks. The set becomes
    /// enforced once a caller supplies the live list with [`ValueSets::replace`].
    pub fn is_enforced(&self, kind: ValueSetKind) -> bool {
        kind != ValueSetKind::TestManufacturer || self.live_test_manufacturers
    }

    /// Replaces the set of the given kind, e.g. with a newer one from the gateway, after checking
    /// that its `valueSetId` belongs to that kind.
    pub fn replace(&mut self, kind: ValueSetKind, set: ValueSet) -> Result<(), ValueSetError> {
        if set.id != kind.id() {
            return Err(ValueSetError::UnexpectedId { expected: kind });
        }
        let slot = match kind {
            ValueSetKind::DiseaseAgent => &mut self.disease_agent,
            ValueSetKind::VaccineProphylaxis => &mut self.vaccine_prophylaxis,
            ValueSetKind::VaccineProduct => &mut self.vaccine_product,
            ValueSetKind::VaccineManufacturer => &mut self.vaccine_manufacturer,
            ValueSetKind::Country => &mut self.country,
            ValueSetKind::TestType => &mut self.test_type,
            ValueSetKind::TestResult => &mut self.test_result,
            ValueSetKind::TestManufacturer => &mut self.test_manufacturer,
        };
        *slot = set;
        if kind == ValueSetKind::TestManufacturer {
            self.live_test_manufacturers = true;
        }
        Ok(())
    }

    fn load_official() -> Result<Self, ValueSetError> {
        Ok(Self {
            disease_agent: load_embedded(ValueSetKind::DiseaseAgent)?,
            vaccine_prophylaxis: load_embedded(ValueSetKind::VaccineProphylaxis)?,
            vaccine_product: load_embedded(ValueSetKind::VaccineProduct)?,
            vaccine_manufacturer: load_embedded(ValueSetKind::VaccineManufacturer)?,
            country: load_embedded(ValueSetKind::Country)?,
            test_type: load_embedded(ValueSetKind::TestType)?,
            test_result: load_embedded(ValueSetKind::TestResult)?,
            test_manufacturer: load_embedded(ValueSetKind::TestManufacturer)?,
            live_test_manufacturers: false,
        })
    }
}

fn load_embedded(kind: ValueSetKind) -> Result<ValueSet, ValueSetError> {
    let set =
        ValueSet::from_json(kind.embedded_json()).map_err(|source| ValueSetError::Embedded {
            kind,
            source: Box::new(source),
        })?;
    if set.id != kind.id() {
        return Err(ValueSetError::Embedded {
            kind,
            source: Box::new(ValueSetError::UnexpectedId { expected: kind }),
        });
    }
    Ok(set)
}

fn parse_date(text: &str) -> Result<Date, ValueSetError> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|source| ValueSetError::Date { source })
}

/// The on-disk shape of a value-set file (§4).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawValueSet {
    value_set_id: String,
    value_set_date: String,
    value_set_values: BTreeMap<String, RawEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    display: String,
    lang: String,
    active: bool,
    system: String,
    version: String,
    valid_until: Option<String>,
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn official() -> &'static ValueSets {
        ValueSets::official().unwrap()
    }

    #[test]
    fn every_embedded_set_loads_with_its_id() {
        for kind in ValueSetKind::ALL {
            let set = official().get(kind);
            assert_eq!(set.id(), kind.id());
            assert!(!set.is_empty(), "{kind} is empty");
        }
    }

    #[test]
    fn set_sizes_match_the_spec_table() {
        // Counts from spec §4 and the embedded files.
        assert_eq!(official().get(ValueSetKind::DiseaseAgent).len(), 1);
        assert_eq!(official().get(ValueSetKind::VaccineProduct).len(), 39);
        assert_eq!(official().get(ValueSetKind::VaccineManufacturer).len(), 31);
        assert_eq!(official().get(ValueSetKind::Country).len(), 250);
        assert_eq!(official().get(ValueSetKind::TestType).len(), 2);
        assert_eq!(official().get(ValueSetKind::TestResult).len(), 2);
        assert_eq!(official().get(ValueSetKind::TestManufacturer).len(), 88);
    }

    #[test]
    fn value_set_date_is_parsed() {
        let set = official().get(ValueSetKind::VaccineProphylaxis);
        assert_eq!(set.id(), "sct-vaccines-covid-19");
        assert_eq!(set.date(), date!(2023 - 01 - 25));
    }

    #[test]
    fn deprecated_code_is_member_but_not_active() {
        // J07BX03 was deprecated in value-set release 2.11.0 (§4).
        let set = official().get(ValueSetKind::VaccineProphylaxis);
        assert!(set.contains("J07BX03"));
        assert!(!set.is_active("J07BX03"));
        assert!(set.is_active("1119349007"));
    }

    #[test]
    fn display_names_codes() {
        let products = official().get(ValueSetKind::VaccineProduct);
        assert_eq!(products.display("EU/1/20/1528"), Some("Comirnaty"));
        assert_eq!(products.display("EU/1/20/9999"), None);
        assert!(!products.contains("EU/1/20/9999"));
        let countries = official().get(ValueSetKind::Country);
        assert!(countries.contains("XK"));
        assert!(!countries.contains("XY"));
    }

    #[test]
    fn codes_are_sorted_and_complete() {
        let codes: Vec<&str> = official().get(ValueSetKind::TestResult).codes().collect();
        assert_eq!(codes, ["260373001", "260415000"]);
    }

    #[test]
    fn embedded_test_devices_are_not_enforced_until_replaced() {
        let mut sets = official().clone();
        assert!(!sets.is_enforced(ValueSetKind::TestManufacturer));
        let live = sets.get(ValueSetKind::TestManufacturer).clone();
        sets.replace(ValueSetKind::TestManufacturer, live).unwrap();
        assert!(sets.is_enforced(ValueSetKind::TestManufacturer));
    }

    #[test]
    fn malformed_json_is_a_typed_error() {
        let error = ValueSet::from_json("{").unwrap_err();
        assert!(matches!(error, ValueSetError::Json { .. }));
    }

    #[test]
    fn malformed_date_is_a_typed_error() {
        let json = r#"{"valueSetId":"x","valueSetDate":"2021-13-01","valueSetValues":{}}"#;
        let error = ValueSet::from_json(json).unwrap_err();
        assert!(matches!(error, ValueSetError::Date { .. }));
    }

    #[test]
    fn replace_checks_the_id() {
        let mut sets = official().clone();
        let json = r#"{"valueSetId":"covid-19-lab-result","valueSetDate":"2024-01-01",
            "valueSetValues":{"1":{"display":"one","lang":"en","active":true,"system":"s",
            "version":"v","validUntil":"2030-01-01"}}}"#;
        let set = ValueSet::from_json(json).unwrap();
        let error = sets
            .replace(ValueSetKind::TestType, set.clone())
            .unwrap_err();
        assert!(matches!(
            error,
            ValueSetError::UnexpectedId {
                expected: ValueSetKind::TestType
            }
        ));
        sets.replace(ValueSetKind::TestResult, set).unwrap();
        assert!(sets.is_enforced(ValueSetKind::TestResult));
        let result = sets.get(ValueSetKind::TestResult);
        assert_eq!(result.codes().collect::<Vec<_>>(), ["1"]);
        assert_eq!(
            result.entry("1").unwrap().valid_until,
            Some(date!(2030 - 01 - 01))
        );
    }
}
