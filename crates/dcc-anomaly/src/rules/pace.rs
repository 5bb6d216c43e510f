//! How fast a pharmacy issues: `burst` (more in a short window than people at a counter can
//! make: checking an ID and a vaccination record takes minutes) and `volume_spike` (an hour far
//! above the pharmacy's own busiest same hour of the trailing days, with a floor so that a
//! small pharmacy's few extra customers do not alarm).

use serde_json::json;

use crate::event::PharmacyActivity;
use crate::finding::{Finding, Rule};
use crate::settings::AnomalySettings;

/// `burst`.
pub(crate) fn burst(
    settings: &AnomalySettings,
    telematik_id: &str,
    at: i64,
    activity: &PharmacyActivity,
) -> Option<Finding> {
    let rule = &settings.burst;
    if activity.in_burst_window < rule.certificates {
        return None;
    }
    Some(Finding {
        rule: Rule::Burst,
        action: rule.action,
        telematik_id: telematik_id.to_owned(),
        operator: None,
        attributed_operator: None,
        subject: String::new(),
        window_start: at - rule.window_seconds,
        window_end: at,
        evidence: json!({
            "certificates": activity.in_burst_window,
            "threshold": rule.certificates,
            "window_seconds": rule.window_seconds,
        }),
        occurrences: 1,
    })
}

/// `volume_spike`; needs the baseline (read when the last hour reached the floor).
pub(crate) fn volume_spike(
    settings: &AnomalySettings,
    telematik_id: &str,
    at: i64,
    activity: &PharmacyActivity,
) -> Option<Finding> {
    let rule = &settings.volume_spike;
    let baseline = activity.baseline.as_ref()?;
    let busiest = baseline.iter().copied().max().unwrap_or(0);
    let last_hour = activity.in_last_hour;
    if last_hour < rule.floor_per_hour || last_hour < busiest.saturating_mul(rule.factor) {
        return None;
    }
    Some(Finding {
        rule: Rule::VolumeSpike,
        action: rule.action,
        telematik_id: telematik_id.to_owned(),
        operator: None,
        attributed_operator: None,
        subject: String::new(),
        window_start: at - 3600,
        window_end: at,
        evidence: json!({
            "last_hour": last_hour,
            "baseline_busiest": busiest,
            "baseline_days": rule.baseline_days,
            "factor": rule.factor,
            "floor_per_hour": rule.floor_per_hour,
        }),
        occurrences: 1,
    })
}
