//! The result of `dcc verify`, printed for people or as one JSON object.

use std::fmt::Write as _;

use dcc_core::hcert::DecodeError;
use dcc_core::revocation_list::RevocationCheck;
use dcc_core::verify::{Verification, format_time};
use serde_json::{Value, json};

/// What `dcc verify` found, ready to print.
pub struct Report {
    /// Whether every check passed.
    pub valid: bool,
    clock: i64,
    checks: Vec<Check>,
    kid: Option<String>,
    uvci: Option<String>,
    certificate_type: Option<String>,
    issuer: Option<String>,
    issued_at: Option<i64>,
    expires_at: Option<i64>,
    payload: Option<Value>,
    violations: Vec<(String, String)>,
}

/// One verification step: its name, its code (`ok` or a stable error code) and a message.
struct Check {
    name: &'static str,
    code: &'static str,
    message: String,
}

impl Report {
    /// The report for a decoded and verified certificate.
    pub fn from_verification(verification: &Verification<'_>, clock: i64) -> Self {
        let schema_code = if verification.schema.is_empty() {
            "ok"
        } else {
            "schema_violation"
        };
        let schema_message = match verification.schema.len() {
            0 => "the payload conforms to the schema of its version".to_owned(),
            n => format!("{n} schema violation(s)"),
        };
        let value_sets_code = if verification.value_sets.is_empty() {
            "ok"
        } else {
            "value_set_violation"
        };
        let value_sets_message = match verification.value_sets.len() {
            0 => "every code is in the official value sets".to_owned(),
            n => format!("{n} code(s) outside the official value sets"),
        };
        let checks = vec![
            Check {
                name: "decode",
                code: "ok",
                message: "the HC1 code decodes".to_owned(),
            },
            Check {
                name: "signature",
                code: verification.signature.code(),
                message: verification.signature.to_string(),
            },
            Check {
                name: "validity",
                code: verification.validity.code(),
                message: verification.validity.to_string(),
            },
            Check {
                name: "key_usage",
                code: verification.key_usage.code(),
                message: verification.key_usage.to_string(),
            },
            Check {
                name: "schema",
                code: schema_code,
                message: schema_message,
            },
            Check {
                name: "value_sets",
                code: value_sets_code,
                message: value_sets_message,
            },
        ];
        let hcert = &verification.hcert;
        Self {
            valid: verification.is_valid(),
            clock,
            checks,
            kid: verification.kid().map(|kid| kid.to_string()),
            uvci: entry_field(&hcert.payload, "ci"),
            certificate_type: verification.certificate_type().map(|t| t.to_string()),
            issuer: hcert.claims.issuer.clone(),
            issued_at: hcert.claims.issued_at,
            expires_at: hcert.claims.expires_at,
            payload: Some(hcert.payload.clone()),
            violations: verification
                .schema
                .iter()
                .chain(&verification.value_sets)
                .map(|violation| (violation.path.clone(), violation.to_string()))
                .collect(),
        }
    }

    /// Adds the revocation check (`dcc verify --revocation`): a listed certificate is invalid
    /// with the code `revoked`, naming the hash type that matched.
    pub fn add_revocation(&mut self, check: RevocationCheck) {
        let (code, message) = match check {
            RevocationCheck::NotRevoked => ("ok", "not on the revocation list".to_owned()),
            RevocationCheck::Revoked(hash_type) => (
                "revoked",
                format!(
                    "revoked: its {} hash is on the revocation list",
                    hash_type.name()
                ),
            ),
            RevocationCheck::Unchecked => (
                "not_checked",
                "not checked: the certificate has no kid or no UVCI".to_owned(),
            ),
        };
        if code == "revoked" {
            self.valid = false;
        }
        self.checks.push(Check {
            name: "revocation",
            code,
            message,
        });
    }

    /// The report for input that did not decode.
    pub fn from_decode_error(error: &DecodeError, clock: i64) -> Self {
        let mut checks = vec![Check {
            name: "decode",
            code: error.code(),
            message: error.to_string(),
        }];
        for name in ["signature", "validity", "key_usage", "schema", "value_sets"] {
            checks.push(Check {
                name,
                code: "not_checked",
                message: "not checked: the code did not decode".to_owned(),
            });
        }
        Self {
            valid: false,
            clock,
            checks,
            kid: None,
            uvci: None,
            certificate_type: None,
            issuer: None,
            issued_at: None,
            expires_at: None,
            payload: None,
            violations: Vec::new(),
        }
    }

    /// One JSON object (documented in the README).
    pub fn to_json(&self) -> Value {
        let checks: serde_json::Map<String, Value> = self
            .checks
            .iter()
            .map(|check| (check.name.to_owned(), Value::from(check.code)))
            .collect();
        let messages: Vec<Value> = self
            .checks
            .iter()
            .filter(|check| check.code != "ok")
            .map(|check| json!({"check": check.name, "code": check.code, "message": check.message}))
            .collect();
        let violations: Vec<Value> = self
            .violations
            .iter()
            .map(|(path, message)| json!({"path": path, "message": message}))
            .collect();
        json!({
            "valid": self.valid,
            "checks": checks,
            "errors": messages,
            "schema_violations": violations,
            "clock": format_time(self.clock),
            "kid": self.kid,
            "uvci": self.uvci,
            "certificate_type": self.certificate_type,
            "issuer": self.issuer,
            "issued_at": self.issued_at.map(format_time),
            "expires_at": self.expires_at.map(format_time),
            "payload": self.payload,
        })
    }

    /// The report for people.
    pub fn to_human(&self) -> String {
        let mut out = String::new();
        let verdict = if self.valid { "VALID" } else { "INVALID" };
        let _ = writeln!(out, "{verdict} (checked at {})", format_time(self.clock));
        for check in &self.checks {
            let mark = if check.code == "ok" { "ok " } else { "ERR" };
            let _ = writeln!(
                out,
                "  {mark} {:<10} {} [{}]",
                check.name, check.message, check.code
            );
        }
        for (_, message) in &self.violations {
            let _ = writeln!(out, "        - {message}");
        }
        let mut field = |label: &str, value: Option<String>| {
            if let Some(value) = value {
                let _ = writeln!(out, "  {label:<12} {value}");
            }
        };
        field("type", self.certificate_type.clone());
        field("uvci", self.uvci.clone());
        field("kid", self.kid.clone());
        field("issuer", self.issuer.clone());
        field("issued at", self.issued_at.map(format_time));
        field("expires at", self.expires_at.map(format_time));
        out
    }
}

fn entry_field(payload: &Value, key: &str) -> Option<String> {
    ["v", "t", "r"].iter().find_map(|entry| {
        payload
            .get(entry)?
            .get(0)?
            .get(key)?
            .as_str()
            .map(str::to_owned)
    })
}
