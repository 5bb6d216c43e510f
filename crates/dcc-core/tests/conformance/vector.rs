//! One test vector file (dcc-spec.md §8.2) and tolerant comparison of payloads.

use std::path::Path;

use base64::Engine as _;
use serde_json::Value;

/// A parsed vector file.
pub struct Vector {
    /// The country folder (`DE`, `common`, …).
    pub country: String,
    /// `<country>/<file stem>`, e.g. `common/CO1`, for messages.
    pub name: String,
    /// The file stem, as `known_issues.csv` names it.
    pub stem: String,
    data: Value,
}

impl Vector {
    /// Reads the vector at `path` below `root`.
    pub fn load(root: &Path, path: &Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap();
        let data: Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()));
        let relative = path.strip_prefix(root).unwrap();
        let country = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .into();
        let stem: String = path.file_stem().unwrap().to_string_lossy().into();
        let name = format!("{}", relative.display());
        Self {
            country,
            name,
            stem,
            data,
        }
    }

    /// The expected result of a flag, when the vector states one.
    pub fn expected(&self, flag: &str) -> Option<bool> {
        self.data.get("EXPECTEDRESULTS")?.get(flag)?.as_bool()
    }

    /// A non-empty text field.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.data.get(key)?.as_str().filter(|text| !text.is_empty())
    }

    /// A hex field, decoded.
    pub fn hex(&self, key: &str) -> Option<Vec<u8>> {
        let text = self.text(key)?.trim();
        if text.len() % 2 != 0 {
            return None;
        }
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect()
    }

    /// A base64 field, decoded.
    pub fn base64(&self, key: &str) -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(self.text(key)?.trim())
            .ok()
    }

    /// The DSC from `TESTCTX.CERTIFICATE`.
    pub fn certificate(&self) -> Option<Vec<u8>> {
        let text = self.data.get("TESTCTX")?.get("CERTIFICATE")?.as_str()?;
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
    }

    /// The validation clock, in seconds since 1970.
    pub fn clock(&self) -> Option<i64> {
        super::clock::parse(self.data.get("TESTCTX")?.get("VALIDATIONCLOCK")?.as_str()?)
    }

    /// `TESTCTX.SCHEMA`, the schema version the vector claims.
    pub fn schema_version(&self) -> Option<String> {
        match self.data.get("TESTCTX")?.get("SCHEMA")? {
            Value::String(text) => Some(text.clone()),
            _ => None,
        }
    }

    /// The `JSON` field: the expected payload.
    pub fn json(&self) -> Option<&Value> {
        self.data.get("JSON").filter(|json| json.is_object())
    }
}

/// Structural equality of two payloads, tolerant of date-time formatting (the reference
/// harness normalises every parseable date-time before comparing, dcc-spec.md §8.5 item 6).
pub fn same_payload(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, value)| b.get(key).is_some_and(|other| same_payload(value, other)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_payload(x, y))
        }
        (Value::String(a), Value::String(b)) => {
            a == b
                || matches!(
                    (super::clock::parse(a), super::clock::parse(b)),
                    (Some(x), Some(y)) if x == y
                )
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => left == right,
    }
}
