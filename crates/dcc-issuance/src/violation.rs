//! A problem with one field of a request, as the API reports it (HTTP 422).

use dcc_core::validation::{Violation, ViolationKind};
use serde::Serialize;

/// One rejected field: its JSON pointer, a stable code and a message naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldViolation {
    /// JSON pointer into the request body, e.g. `/v/0/dn`.
    pub path: String,
    /// Stable code: `schema`, `value_set`, `set_by_server`, `implausible_date`, …
    pub code: &'static str,
    /// A readable message that names the field.
    pub message: String,
}

impl FieldViolation {
    /// A violation with a code and message of this crate.
    pub fn new(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

impl From<&Violation> for FieldViolation {
    fn from(violation: &Violation) -> Self {
        let code = match violation.kind {
            ViolationKind::NotInValueSet { .. } | ViolationKind::ValueSetUnavailable { .. } => {
                "value_set"
            }
            _ if violation.kind.is_schema_rule() => "schema",
            _ => "invalid",
        };
        Self {
            path: violation.path.clone(),
            code,
            message: violation.to_string(),
        }
    }
}

impl std::fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
