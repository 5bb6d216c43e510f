//! `implausible_content`: what `dcc_core::plausibility` warns the operator about (a
//! vaccination before the product's authorisation or in the future, a dose above the series, a
//! test or positive result in the future), kept as evidence.

use dcc_calendar::berlin;
use dcc_core::plausibility::{self, PlausibilityWarning};
use serde_json::json;

use crate::event::{Content, Issuance};
use crate::finding::{Finding, Rule};
use crate::settings::AnomalySettings;

/// The configured warnings of this certificate, if any.
pub(crate) fn implausible(settings: &AnomalySettings, event: &Issuance) -> Option<Finding> {
    let rule = &settings.implausible_content;
    let today = berlin::local_date(event.at);
    let warnings: Vec<PlausibilityWarning> = match &event.content {
        Content::Vaccination {
            product,
            dose_number,
            total_doses,
            date,
        } => match date {
            Some(date) => {
                plausibility::vaccination(product, *dose_number, *total_doses, *date, today)
            }
            None if dose_number > total_doses => vec![PlausibilityWarning::DoseAboveSeries {
                dose_number: *dose_number,
                total_doses: *total_doses,
            }],
            None => Vec::new(),
        },
        Content::Test { sampled } => sampled
            .map(|day| plausibility::test(day, today))
            .unwrap_or_default(),
        Content::Recovery { first_positive } => first_positive
            .map(|day| plausibility::recovery(day, today))
            .unwrap_or_default(),
    };
    let codes: Vec<&'static str> = warnings
        .iter()
        .map(|warning| warning.code())
        .filter(|code| rule.codes.iter().any(|configured| configured == code))
        .collect();
    if codes.is_empty() {
        return None;
    }
    let product = match &event.content {
        Content::Vaccination { product, .. } => Some(product.as_str()),
        _ => None,
    };
    Some(Finding {
        rule: Rule::ImplausibleContent,
        action: rule.action,
        telematik_id: event.telematik_id.clone(),
        operator: event.operator.clone(),
        attributed_operator: None,
        subject: String::new(),
        window_start: event.at,
        window_end: event.at,
        evidence: json!({
            "uvci": event.uvci,
            "type": event.content.kind(),
            "product": product,
            "warnings": codes,
            "operator": event.operator,
        }),
        occurrences: 1,
    })
}
