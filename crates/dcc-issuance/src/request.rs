//! The body of `POST /api/certify/v2/issue`, shaped like the German issuer API
//! (german-context.md §3.3): `{nam:{fn,gn}, dob, v:[{…}]}` or `t:[…]` or `r:[…]`, one entry.
//!
//! The server fills `ver`, `fnt`/`gnt`, `co`, `is` and `ci`; a request that sets them is
//! refused, so a pharmacy cannot choose its own UVCI or issuer. The German API's `id`
//! (administering location) is accepted for compatibility and ignored: the UVCI's issuer
//! segment comes from the pharmacy registry, never from the request.

use dcc_core::model::certificate_type::CertificateType;
use serde_json::{Map, Value};

use crate::violation::FieldViolation;

/// A request whose shape is right; its fields are checked when the payload is built.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueRequest {
    /// `nam` as sent (`fn`, `gn`).
    pub name: Map<String, Value>,
    /// `dob` as sent.
    pub date_of_birth: Value,
    /// The certificate type, from the one entry array present.
    pub certificate_type: CertificateType,
    /// The one entry's fields as sent, without `id`.
    pub entry: Map<String, Value>,
}

/// Why a request was refused before any certificate was made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The body is not JSON (HTTP 400).
    #[error("the request body is not valid JSON: {0}")]
    Unreadable(#[source] serde_json::Error),
    /// The body is JSON but not the issuer data model (HTTP 406).
    #[error("the request does not follow the data model: {0}")]
    WrongModel(ModelProblem),
    /// Fields are missing or invalid (HTTP 422); every one is listed.
    #[error("{} field(s) are invalid", .0.len())]
    Invalid(Vec<FieldViolation>),
}

impl RequestError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "unreadable_json",
            Self::WrongModel(_) => "wrong_data_model",
            Self::Invalid(_) => "invalid_fields",
        }
    }
}

/// What is wrong with the shape of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelProblem {
    /// The body is not a JSON object.
    #[error("the body must be a JSON object")]
    NotAnObject,
    /// None of `v`, `t`, `r` is present.
    #[error("one of v, t or r is required")]
    NoEntry,
    /// More than one of `v`, `t`, `r` is present.
    #[error("only one of v, t and r may be present")]
    SeveralEntryTypes,
    /// The entry array does not hold exactly one object.
    #[error("the entry array must hold exactly one object")]
    EntryCount,
}

impl IssueRequest {
    /// Parses and shape-checks a request body.
    pub fn parse(body: &[u8]) -> Result<Self, RequestError> {
        let value: Value = serde_json::from_slice(body).map_err(RequestError::Unreadable)?;
        let Value::Object(mut body) = value else {
            return Err(RequestError::WrongModel(ModelProblem::NotAnObject));
        };
        let present: Vec<CertificateType> = CertificateType::ALL
            .into_iter()
            .filter(|t| body.contains_key(t.key()))
            .collect();
        let certificate_type = match present.as_slice() {
            [] => return Err(RequestError::WrongModel(ModelProblem::NoEntry)),
            [one] => *one,
            _ => return Err(RequestError::WrongModel(ModelProblem::SeveralEntryTypes)),
        };
        let entry = match body.remove(certificate_type.key()) {
            Some(Value::Array(entries)) if entries.len() == 1 => match entries.into_iter().next() {
                Some(Value::Object(entry)) => entry,
                _ => return Err(RequestError::WrongModel(ModelProblem::EntryCount)),
            },
            _ => return Err(RequestError::WrongModel(ModelProblem::EntryCount)),
        };

        let mut violations = Vec::new();
        for key in body.keys() {
            if SERVER_FIELDS_TOP.contains(&key.as_str()) {
                violations.push(set_by_server(&format!("/{key}")));
            } else if !["nam", "dob"].contains(&key.as_str()) {
                violations.push(unknown(&format!("/{key}")));
            }
        }
        let name = match body.remove("nam") {
            Some(Value::Object(name)) => name,
            Some(_) => {
                violations.push(FieldViolation::new(
                    "/nam",
                    "schema",
                    "/nam: must be an object",
                ));
                Map::new()
            }
            None => {
                violations.push(FieldViolation::new("/nam", "schema", "/nam: is required"));
                Map::new()
            }
        };
        for key in name.keys() {
            match key.as_str() {
                "fn" | "gn" => {}
                "fnt" | "gnt" => violations.push(set_by_server(&format!("/nam/{key}"))),
                _ => violations.push(unknown(&format!("/nam/{key}"))),
            }
        }
        let date_of_birth = body.remove("dob").unwrap_or(Value::Null);
        if date_of_birth.is_null() {
            violations.push(FieldViolation::new("/dob", "schema", "/dob: is required"));
        }
        let prefix = format!("/{}/0", certificate_type.key());
        let mut entry = entry;
        entry.remove("id");
        for key in entry.keys() {
            if SERVER_FIELDS_ENTRY.contains(&key.as_str()) {
                violations.push(set_by_server(&format!("{prefix}/{key}")));
            } else if !allowed_entry_fields(certificate_type).contains(&key.as_str()) {
                violations.push(unknown(&format!("{prefix}/{key}")));
            }
        }
        if !violations.is_empty() {
            return Err(RequestError::Invalid(violations));
        }
        Ok(Self {
            name,
            date_of_birth,
            certificate_type,
            entry,
        })
    }
}

fn allowed_entry_fields(certificate_type: CertificateType) -> &'static [&'static str] {
    match certificate_type {
        CertificateType::Vaccination => &["tg", "vp", "mp", "ma", "dn", "sd", "dt"],
        CertificateType::Test => &["tg", "tt", "nm", "ma", "sc", "tr", "tc"],
        CertificateType::Recovery => &["tg", "fr", "df", "du"],
    }
}

fn set_by_server(path: &str) -> FieldViolation {
    FieldViolation::new(
        path,
        "set_by_server",
        format!("{path}: is set by the server, leave it out"),
    )
}

fn unknown(path: &str) -> FieldViolation {
    FieldViolation::new(
        path,
        "unknown_field",
        format!("{path}: is not a field of this data model"),
    )
}

const SERVER_FIELDS_TOP: &[&str] = &["ver"];
const SERVER_FIELDS_ENTRY: &[&str] = &["co", "is", "ci"];

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<IssueRequest, RequestError> {
        IssueRequest::parse(json.as_bytes())
    }

    #[test]
    fn accepts_the_german_shape_and_drops_id() {
        let request = parse(
            r#"{"nam":{"fn":"Müller","gn":"Jürgen"},"dob":"1964-08-12",
               "v":[{"id":"IZ12345A","tg":"840539006","vp":"1119349007","mp":"EU/1/20/1528",
                     "ma":"ORG-100030215","dn":1,"sd":2,"dt":"2021-05-29"}]}"#,
        )
        .unwrap();
        assert_eq!(request.certificate_type, CertificateType::Vaccination);
        assert!(!request.entry.contains_key("id"));
        assert_eq!(request.entry["dn"], 1);
    }

    #[test]
    fn shape_errors_are_wrong_model() {
        for (json, problem) in [
            ("[]", ModelProblem::NotAnObject),
            (r#"{"nam":{},"dob":""}"#, ModelProblem::NoEntry),
            (r#"{"v":[{}],"t":[{}]}"#, ModelProblem::SeveralEntryTypes),
            (r#"{"v":[{},{}]}"#, ModelProblem::EntryCount),
            (r#"{"v":[]}"#, ModelProblem::EntryCount),
            (r#"{"v":{}}"#, ModelProblem::EntryCount),
        ] {
            match parse(json) {
                Err(RequestError::WrongModel(found)) => assert_eq!(found, problem, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
        assert!(matches!(parse("{"), Err(RequestError::Unreadable(_))));
    }

    #[test]
    fn server_fields_and_unknown_fields_are_listed() {
        let Err(RequestError::Invalid(violations)) = parse(
            r#"{"ver":"1.3.0","nam":{"fn":"A","fnt":"A","x":1},"dob":"2000",
               "r":[{"tg":"840539006","fr":"2021-05-01","ci":"URN:UVCI:X","extra":true}]}"#,
        ) else {
            panic!("accepted");
        };
        let found: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.path.as_str(), v.code))
            .collect();
        assert_eq!(
            found,
            [
                ("/ver", "set_by_server"),
                ("/nam/fnt", "set_by_server"),
                ("/nam/x", "unknown_field"),
                ("/r/0/ci", "set_by_server"),
                ("/r/0/extra", "unknown_field"),
            ]
        );
    }

    #[test]
    fn missing_name_and_birth_date_are_listed() {
        let Err(RequestError::Invalid(violations)) = parse(r#"{"t":[{}]}"#) else {
            panic!("accepted");
        };
        let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(paths, ["/nam", "/dob"]);
    }
}
