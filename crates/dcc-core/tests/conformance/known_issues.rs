//! Upstream known issues (`known_issues.csv` of dgc-testdata), mapped to the flags they
//! concern. A vector listed there may differ from its expected flag; the suite reports it.

use std::path::Path;

use super::vector::Vector;

/// The rows of `known_issues.csv`.
pub struct KnownIssues {
    rows: Vec<Row>,
}

struct Row {
    flags: &'static [&'static str],
    country: String,
    test_set: String,
    reason: String,
}

impl KnownIssues {
    /// Reads the CSV (`test_name,country,test_set,reason`).
    pub fn load(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap();
        let rows = text
            .lines()
            .skip(1)
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let fields: Vec<&str> = line.splitn(4, ',').collect();
                // A schema issue concerns the payload itself, so it covers both flags that
                // validate that payload against a schema (the decoded one and the JSON one).
                let flags: &'static [&'static str] = match fields[0] {
                    "test_cose_schema" => &["EXPECTEDSCHEMAVALIDATION", "EXPECTEDVALIDOBJECT"],
                    "test_verification_check" => &["EXPECTEDVERIFY"],
                    "test_expiration_check" => &["EXPECTEDEXPIRATIONCHECK"],
                    "test_expected_key_usage" => &["EXPECTEDKEYUSAGE"],
                    "test_cose_json" => &["EXPECTEDDECODE"],
                    "test_cbor_json" => &["EXPECTEDVALIDJSON"],
                    other => panic!("unknown test name {other} in known_issues.csv"),
                };
                Row {
                    flags,
                    country: fields[1].to_owned(),
                    test_set: fields[2].to_owned(),
                    reason: fields[3].to_owned(),
                }
            })
            .collect();
        Self { rows }
    }

    /// The reason, when the flag of this vector is a known upstream issue.
    pub fn reason(&self, flag: &str, vector: &Vector) -> Option<&str> {
        self.rows
            .iter()
            .find(|row| {
                row.flags.contains(&flag)
                    && row.country == vector.country
                    && (row.test_set.is_empty() || row.test_set == vector.stem)
            })
            .map(|row| row.reason.as_str())
    }
}
