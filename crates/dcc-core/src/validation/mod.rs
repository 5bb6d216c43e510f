//! Validation of a DCC payload (the `hcert[1]` map as JSON) against the EU DCC schema and the
//! value sets (spec §2, §4).
//!
//! The validator is hand-written rather than driven by a JSON Schema engine because it runs on
//! every verification; `tests/schema_oracle.rs` checks it against the official schema.
//! It never stops at the first problem: [`validate`] returns every [`Violation`] it finds, each
//! with the JSON pointer of the offending value.
//!
//! Two modes exist:
//!
//! * [`Mode::Verify`] accepts what the EU reference test harness accepts (§8.3): the schema
//!   version named in the payload's `ver` (rules differ per version, §2.6), `format` keywords
//!   not asserted (§2.7), value-set membership, and exactly one of `v`, `t`, `r`.
//! * [`Mode::Issue`] is strict, for certificates we sign: schema 1.3.3 whatever `ver` says,
//!   `ver` at least 1.3.0 (§2.1), formats asserted, and a `dob` that exists in the calendar.
//!
//! Version choice in [`Mode::Verify`]: `ver` is read as three runs of digits. The rules of the
//! greatest known version not above it apply (so `1.0.4` is checked as 1.0.1 and `1.4.0` as
//! 1.3.3); a version below 1.0.0 gets the 1.0.0 rules, and a missing or unreadable `ver` gets
//! the current 1.3.3 rules (besides the violation reported for `ver` itself).

mod profile;
mod syntax;
mod walker;

use std::fmt;

use serde_json::Value;

use crate::value_sets::{ValueSetKind, ValueSets};

/// How strictly to validate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Verification of a received certificate: the rules of the schema version named in `ver`,
    /// formats not asserted, as the EU reference harness does (§2.7, §8.3).
    Verify,
    /// Issuance of our own certificates: schema 1.3.3, `ver` at least 1.3.0, formats asserted
    /// and a real calendar date of birth (§2.1, §1.6b).
    Issue,
}

/// One rule a payload breaks, at one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer (RFC 6901) of the offending value, e.g. `/v/0/dn`; for [`ViolationKind::Missing`]
    /// the pointer the absent member would have; `""` for the payload itself.
    pub path: String,
    /// What is wrong.
    pub kind: ViolationKind,
}

impl Violation {
    /// Creates a violation at `path`.
    pub fn new(path: impl Into<String>, kind: ViolationKind) -> Self {
        Self {
            path: path.into(),
            kind,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(root)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.kind)
    }
}

/// The kinds of rule a payload can break.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// A required member is absent (schema `required`).
    Missing,
    /// The value has the wrong JSON type (schema `type`).
    WrongType {
        /// The type the schema asks for.
        expected: JsonType,
        /// The type found.
        actual: JsonType,
    },
    /// A string does not match the schema `pattern`.
    PatternMismatch {
        /// The pattern, as written in the schema.
        pattern: &'static str,
    },
    /// A string has more characters (Unicode scalar values) than `maxLength` allows.
    TooLong {
        /// The maximum length.
        max: usize,
        /// The actual length.
        actual: usize,
    },
    /// A number is below the schema `minimum`.
    BelowMinimum {
        /// The minimum.
        minimum: i64,
    },
    /// A number is above the schema `maximum` (dose numbers before 1.3.0, §2.6).
    AboveMaximum {
        /// The maximum.
        maximum: i64,
    },
    /// A string is not an RFC 3339 `full-date` (schema `format: date`; [`Mode::Issue`] only).
    InvalidDate,
    /// A string is not an RFC 3339 `date-time` with offset (schema `format: date-time`;
    /// [`Mode::Issue`] only).
    InvalidDateTime,
    /// A code is not a member of the value set the field is bound to (§2.7, §4).
    NotInValueSet {
        /// The value set.
        value_set: ValueSetKind,
    },
    /// The value set a code is bound to could not be loaded, so membership cannot be shown; the
    /// validator fails closed.
    ValueSetUnavailable {
        /// The value set.
        value_set: ValueSetKind,
    },
    /// None of `v`, `t`, `r` is present (schema `oneOf`, §2.1).
    NoEntryType,
    /// More than one of `v`, `t`, `r` is present (schema `oneOf`, §2.1).
    SeveralEntryTypes,
    /// An entry array has more items than allowed (`maxItems: 1` since 1.3.0, §2.6).
    TooManyEntries {
        /// The maximum number of items.
        max: usize,
        /// The actual number of items.
        actual: usize,
    },
    /// An entry array is empty (`minItems: 1`).
    EmptyEntries,
    /// The name has neither `fnt` nor `gnt` (`anyOf`, since 1.3.2, §2.2).
    NameWithoutStandardisedName,
    /// A date of birth matches the schema pattern but is no calendar date, e.g. `1990-02-30` or
    /// month `00` ([`Mode::Issue`] only; the schema allows it, §2.7).
    ImpossibleDateOfBirth,
    /// `ver` names a schema older than we issue ([`Mode::Issue`] only, §2.1).
    VersionTooOld {
        /// The oldest version accepted.
        minimum: &'static str,
    },
}

impl ViolationKind {
    /// Whether the rule is part of the JSON schema itself, as opposed to value-set membership
    /// and the extra checks of [`Mode::Issue`] that the schema cannot express.
    pub fn is_schema_rule(&self) -> bool {
        !matches!(
            self,
            Self::NotInValueSet { .. }
                | Self::ValueSetUnavailable { .. }
                | Self::ImpossibleDateOfBirth
                | Self::VersionTooOld { .. }
        )
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("is required but missing"),
            Self::WrongType { expected, actual } => {
                write!(f, "must be of type {expected}, found {actual}")
            }
            Self::PatternMismatch { pattern } => write!(f, "must match the pattern {pattern}"),
            Self::TooLong { max, actual } => {
                write!(f, "must be at most {max} characters long, found {actual}")
            }
            Self::BelowMinimum { minimum } => write!(f, "must be at least {minimum}"),
            Self::AboveMaximum { maximum } => write!(f, "must be at most {maximum}"),
            Self::InvalidDate => f.write_str("must be a complete date YYYY-MM-DD"),
            Self::InvalidDateTime => {
                f.write_str("must be an RFC 3339 date-time with offset, e.g. 2021-05-30T10:12:22Z")
            }
            Self::NotInValueSet { value_set } => {
                write!(f, "must be a code of the value set {value_set}")
            }
            Self::ValueSetUnavailable { value_set } => {
                write!(f, "cannot be checked: value set {value_set} is unavailable")
            }
            Self::NoEntryType => f.write_str("must contain one of v, t, r; found none"),
            Self::SeveralEntryTypes => f.write_str("must contain exactly one of v, t, r"),
            Self::TooManyEntries { max, actual } => {
                write!(f, "must have at most {max} entries, found {actual}")
            }
            Self::EmptyEntries => f.write_str("must have at least 1 entry"),
            Self::NameWithoutStandardisedName => {
                f.write_str("must contain fnt or gnt (a standardised name)")
            }
            Self::ImpossibleDateOfBirth => f.write_str("must be a date that exists"),
            Self::VersionTooOld { minimum } => write!(f, "must be at least {minimum}"),
        }
    }
}

/// The JSON types of JSON Schema's `type` keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonType {
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// A number without fractional part (`1` and `1.0` alike, as in draft 2020-12).
    Integer,
    /// Any number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonType {
    /// The most specific type of `value` (`Integer` rather than `Number` where both apply).
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Boolean,
            Value::Number(number) if syntax::is_integer(number) => Self::Integer,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Null => "null",
            Self::Boolean => "boolean",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::String => "string",
            Self::Array => "array",
            Self::Object => "object",
        })
    }
}

/// Validates `payload` against the official embedded value sets and returns every violation,
/// in document order; an empty vector means the payload is valid.
///
/// If the embedded value sets cannot be loaded (a build defect), every value-set-bound field
/// yields [`ViolationKind::ValueSetUnavailable`], so the payload is never accepted unchecked.
pub fn validate(payload: &Value, mode: Mode) -> Vec<Violation> {
    walker::check(payload, mode, ValueSets::official().ok())
}

/// Like [`validate`], with caller-supplied value sets (e.g. newer ones from the gateway).
pub fn validate_with(payload: &Value, mode: Mode, value_sets: &ValueSets) -> Vec<Violation> {
    walker::check(payload, mode, Some(value_sets))
}

#[cfg(test)]
mod tests;
