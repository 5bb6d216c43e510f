//! The recovery entry, `r[0]` (dcc-spec.md §2.5).

use serde::{Deserialize, Serialize};

/// `r[0]`: one recovery statement; all seven fields are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    /// `tg`: disease or agent targeted.
    #[serde(rename = "tg")]
    pub target_disease: String,
    /// `fr`: date of the first positive NAA test, `YYYY-MM-DD`.
    #[serde(rename = "fr")]
    pub first_positive: String,
    /// `co`: country of the test.
    #[serde(rename = "co")]
    pub country: String,
    /// `is`: certificate issuer.
    #[serde(rename = "is")]
    pub issuer: String,
    /// `df`: certificate valid from, `YYYY-MM-DD`.
    #[serde(rename = "df")]
    pub valid_from: String,
    /// `du`: certificate valid until, `YYYY-MM-DD`.
    #[serde(rename = "du")]
    pub valid_until: String,
    /// `ci`: unique certificate identifier (UVCI).
    #[serde(rename = "ci")]
    pub certificate_id: String,
}
