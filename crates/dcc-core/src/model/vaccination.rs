//! The vaccination entry, `v[0]` (dcc-spec.md §2.3).

use serde::{Deserialize, Serialize};

/// `v[0]`: one vaccination event; all ten fields are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vaccination {
    /// `tg`: disease or agent targeted (value set `disease-agent-targeted`).
    #[serde(rename = "tg")]
    pub target_disease: String,
    /// `vp`: vaccine or prophylaxis (value set `sct-vaccines-covid-19`).
    #[serde(rename = "vp")]
    pub vaccine: String,
    /// `mp`: medicinal product (value set `vaccines-covid-19-names`).
    #[serde(rename = "mp")]
    pub product: String,
    /// `ma`: marketing-authorisation holder or manufacturer.
    #[serde(rename = "ma")]
    pub manufacturer: String,
    /// `dn`: number of this dose, at least 1.
    #[serde(rename = "dn")]
    pub dose_number: u32,
    /// `sd`: total doses in the series, at least 1.
    #[serde(rename = "sd")]
    pub total_doses: u32,
    /// `dt`: date of vaccination, `YYYY-MM-DD`.
    #[serde(rename = "dt")]
    pub date: String,
    /// `co`: country of vaccination.
    #[serde(rename = "co")]
    pub country: String,
    /// `is`: certificate issuer.
    #[serde(rename = "is")]
    pub issuer: String,
    /// `ci`: unique certificate identifier (UVCI).
    #[serde(rename = "ci")]
    pub certificate_id: String,
}
