//! Issuing outside the opening hours: one certificate (`off_hours`), and certificates repeated
//! within a window (`off_hours_repeated`), the Munich pattern of 2021.

use dcc_calendar::berlin;
use serde_json::json;

use super::local_text;
use crate::event::{ClosedActivity, Issuance};
use crate::finding::{Finding, Rule};
use crate::hours::ClosedReason;
use crate::settings::AnomalySettings;

/// `off_hours`: this certificate was issued while its pharmacy is closed.
pub(crate) fn single(settings: &AnomalySettings, event: &Issuance) -> Option<Finding> {
    let reason = settings
        .hours_of(&event.telematik_id)
        .closed_reason(event.at, settings.off_hours.grace_minutes)?;
    let mut evidence = json!({
        "certificates": 1,
        "closed": reason.code(),
        "local_time": local_text(event.at),
        "weekday": berlin::local_date(event.at).weekday().to_string().to_lowercase(),
        "uvci": event.uvci,
        "operator": event.operator,
    });
    if let (ClosedReason::Holiday(holiday), Some(fields)) = (reason, evidence.as_object_mut()) {
        fields.insert("holiday".into(), holiday.code().into());
    }
    Some(Finding {
        rule: Rule::OffHours,
        action: settings.off_hours.action,
        telematik_id: event.telematik_id.clone(),
        operator: event.operator.clone(),
        attributed_operator: None,
        subject: String::new(),
        window_start: event.at,
        window_end: event.at,
        evidence,
        occurrences: 1,
    })
}

/// `off_hours_repeated`: the pharmacy issued at least the configured number of certificates
/// outside its hours within the window ending at `at`.
pub(crate) fn repeated(
    settings: &AnomalySettings,
    telematik_id: &str,
    at: i64,
    closed: &ClosedActivity,
) -> Option<Finding> {
    let rule = &settings.off_hours_repeated;
    if closed.certificates < rule.certificates {
        return None;
    }
    let window_start = closed.first_at.unwrap_or(at - rule.window_hours * 3600);
    let window_end = closed.last_at.unwrap_or(at);
    Some(Finding {
        rule: Rule::OffHoursRepeated,
        action: rule.action,
        telematik_id: telematik_id.to_owned(),
        operator: None,
        attributed_operator: None,
        subject: String::new(),
        window_start,
        window_end,
        evidence: json!({
            "certificates": closed.certificates,
            "threshold": rule.certificates,
            "window_hours": rule.window_hours,
            "first": local_text(window_start),
            "last": local_text(window_end),
        }),
        occurrences: 1,
    })
}
