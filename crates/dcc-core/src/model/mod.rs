//! The typed DCC payload, schema 1.3.x (dcc-spec.md §2).
//!
//! The model is what this system issues: exactly one entry of one type. Verification keeps
//! the payload as JSON as well, because certificates in the wild carry forms (several
//! entries, legacy fields) that the current schema no longer allows.

pub mod certificate_type;
pub mod date_of_birth;
pub mod name;
pub mod recovery;
pub mod test;
pub mod vaccination;

use serde::{Deserialize, Serialize};

use self::certificate_type::CertificateType;
use self::date_of_birth::DateOfBirth;
use self::name::PersonName;
use self::recovery::Recovery;
use self::test::Test;
use self::vaccination::Vaccination;
use crate::hcert::cbor::json_to_cbor;

/// Why a JSON value does not fit the typed model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A field is missing or has the wrong type (serde's message names it).
    #[error("the payload does not fit the DCC model: {0}")]
    Shape(#[source] serde_json::Error),
    /// None of `v`, `t`, `r` is present.
    #[error("the payload has no v, t or r entry")]
    NoEntry,
    /// More than one of `v`, `t`, `r` is present.
    #[error("the payload has more than one of v, t and r")]
    SeveralEntryTypes,
    /// The entry array does not hold exactly one entry.
    #[error("the {key} array must hold exactly one entry, it holds {count}")]
    EntryCount {
        /// `v`, `t` or `r`.
        key: &'static str,
        /// How many entries it holds.
        count: usize,
    },
}

/// A DCC payload (`hcert[1]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawDcc", into = "RawDcc")]
pub struct Dcc {
    /// `ver`: the schema version, e.g. `1.3.0`.
    pub version: String,
    /// `nam`: the holder's name.
    pub name: PersonName,
    /// `dob`: the holder's date of birth, possibly partial or empty.
    pub date_of_birth: DateOfBirth,
    /// The one entry.
    pub entry: Entry,
}

/// The one vaccination, test or recovery entry of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `v[0]`.
    Vaccination(Vaccination),
    /// `t[0]`.
    Test(Test),
    /// `r[0]`.
    Recovery(Recovery),
}

impl Dcc {
    /// Reads the typed model from a JSON value (no schema or value-set validation; see
    /// `crate::validation` for that).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, ModelError> {
        let raw = RawDcc::deserialize(value).map_err(ModelError::Shape)?;
        Self::try_from(raw)
    }

    /// The payload as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        // Serialising these plain structs cannot fail: every key is a string.
        serde_json::to_value(RawDcc::from(self.clone())).unwrap_or(serde_json::Value::Null)
    }

    /// The payload as CBOR per dcc-spec.md §1.4: integers, text, and `t[0].sc` tagged 0.
    pub fn to_cbor(&self) -> ciborium::value::Value {
        json_to_cbor(&self.to_json(), DATE_TIME_PATHS)
    }

    /// Which kind of certificate this is.
    pub fn certificate_type(&self) -> CertificateType {
        match self.entry {
            Entry::Vaccination(_) => CertificateType::Vaccination,
            Entry::Test(_) => CertificateType::Test,
            Entry::Recovery(_) => CertificateType::Recovery,
        }
    }

    /// The entry's `ci` (UVCI) as written.
    pub fn certificate_id(&self) -> &str {
        match &self.entry {
            Entry::Vaccination(v) => &v.certificate_id,
            Entry::Test(t) => &t.certificate_id,
            Entry::Recovery(r) => &r.certificate_id,
        }
    }

    /// The entry's `co` (country of vaccination or test).
    pub fn country(&self) -> &str {
        match &self.entry {
            Entry::Vaccination(v) => &v.country,
            Entry::Test(t) => &t.country,
            Entry::Recovery(r) => &r.country,
        }
    }
}

/// JSON pointers of the `date-time` fields, which CBOR carries as tag-0 text.
pub const DATE_TIME_PATHS: &[&str] = &["/t/0/sc"];

/// The wire shape, with optional arrays, used to check "exactly one entry".
#[derive(Serialize, Deserialize)]
struct RawDcc {
    ver: String,
    nam: PersonName,
    dob: DateOfBirth,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v: Option<Vec<Vaccination>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<Vec<Test>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<Vec<Recovery>>,
}

impl TryFrom<RawDcc> for Dcc {
    type Error = ModelError;

    fn try_from(raw: RawDcc) -> Result<Self, Self::Error> {
        let entry = match (raw.v, raw.t, raw.r) {
            (Some(v), None, None) => Entry::Vaccination(single(v, "v")?),
            (None, Some(t), None) => Entry::Test(single(t, "t")?),
            (None, None, Some(r)) => Entry::Recovery(single(r, "r")?),
            (None, None, None) => return Err(ModelError::NoEntry),
            _ => return Err(ModelError::SeveralEntryTypes),
        };
        Ok(Self {
            version: raw.ver,
            name: raw.nam,
            date_of_birth: raw.dob,
            entry,
        })
    }
}

impl From<Dcc> for RawDcc {
    fn from(dcc: Dcc) -> Self {
        let (mut v, mut t, mut r) = (None, None, None);
        match dcc.entry {
            Entry::Vaccination(entry) => v = Some(vec![entry]),
            Entry::Test(entry) => t = Some(vec![entry]),
            Entry::Recovery(entry) => r = Some(vec![entry]),
        }
        Self {
            ver: dcc.version,
            nam: dcc.name,
            dob: dcc.date_of_birth,
            v,
            t,
            r,
        }
    }
}

fn single<T>(mut entries: Vec<T>, key: &'static str) -> Result<T, ModelError> {
    match entries.len() {
        1 => entries
            .pop()
            .ok_or(ModelError::EntryCount { key, count: 0 }),
        count => Err(ModelError::EntryCount { key, count }),
    }
}
