//! The test entry, `t[0]` (dcc-spec.md §2.4).

use serde::{Deserialize, Serialize};

/// `t[0]`: one test result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Test {
    /// `tg`: disease or agent targeted.
    #[serde(rename = "tg")]
    pub target_disease: String,
    /// `tt`: type of test (NAAT `LP6464-4` or RAT `LP217198-3`).
    #[serde(rename = "tt")]
    pub test_type: String,
    /// `nm`: NAAT test name.
    #[serde(rename = "nm", default, skip_serializing_if = "Option::is_none")]
    pub test_name: Option<String>,
    /// `ma`: RAT device identifier (JRC list).
    #[serde(rename = "ma", default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// `sc`: date and time of sample collection, RFC 3339 with offset.
    #[serde(rename = "sc")]
    pub sample_collected: String,
    /// `tr`: result (`260415000` not detected, `260373001` detected).
    #[serde(rename = "tr")]
    pub result: String,
    /// `tc`: testing centre.
    #[serde(rename = "tc", default, skip_serializing_if = "Option::is_none")]
    pub centre: Option<String>,
    /// `co`: country of test.
    #[serde(rename = "co")]
    pub country: String,
    /// `is`: certificate issuer.
    #[serde(rename = "is")]
    pub issuer: String,
    /// `ci`: unique certificate identifier (UVCI).
    #[serde(rename = "ci")]
    pub certificate_id: String,
}
