//! The detector: for a batch of recorded certificates, first a [`Plan`] of what to read from
//! the ledger (so that the common case reads little: closed-hour counts only for pharmacies
//! that just issued outside their hours, a baseline only for pharmacies whose last hour reached
//! the volume floor), then [`Detector::evaluate`] over the [`Facts`] read.
//!
//! ```text
//!  batch of Issuance ──▶ plan ──▶ (caller reads the ledger) ──▶ Facts
//!                               └──────────▶ evaluate ──▶ Findings, one per open-alert key
//! ```
//!
//! Counts are windows `since < issued_at <= at`, where `at` is the batch's latest certificate.

use std::collections::{BTreeSet, HashMap};

use crate::event::{HolderGroup, Issuance, PharmacyActivity};
use crate::finding::{Finding, FindingKey};
use crate::rules::{content, holder, off_hours, pace};
use crate::settings::{AnomalySettings, SettingsError};

/// The rules with their settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detector {
    settings: AnomalySettings,
}

/// What to read from the ledger for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The batch's latest issuing time; every window ends here.
    pub at: i64,
    /// Start (exclusive) of the burst window.
    pub burst_since: i64,
    /// Start (exclusive) of the last hour.
    pub hour_since: i64,
    /// The batch's pharmacies, sorted.
    pub pharmacies: Vec<String>,
    /// Pharmacies that issued outside their hours in this batch, with the closed spans of the
    /// `off_hours_repeated` window to count certificates in.
    pub closed: Vec<ClosedQuery>,
    /// The batch's holder keys, sorted.
    pub holder_keys: Vec<String>,
    /// Start (exclusive) of the holder lookback (the longest holder window).
    pub holder_since: i64,
    /// Start (exclusive) of the `holder_repeated` window.
    pub repeat_since: i64,
    /// Start (exclusive) of the `holder_pharmacies` window.
    pub pharmacy_window_since: i64,
}

/// Certificates of one pharmacy to count within closed spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedQuery {
    /// The pharmacy.
    pub telematik_id: String,
    /// Half-open spans `[start, end)` of unix seconds, in order.
    pub intervals: Vec<(i64, i64)>,
}

/// What the caller read for a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Per pharmacy of the plan.
    pub pharmacies: HashMap<String, PharmacyActivity>,
    /// Per holder key of the plan: the holder's vaccination and recovery certificates in the
    /// lookback, grouped (the batch's own included).
    pub holders: HashMap<String, Vec<HolderGroup>>,
}

impl Detector {
    /// The rules with these settings, once they validate.
    pub fn new(settings: AnomalySettings) -> Result<Self, SettingsError> {
        settings.validate()?;
        Ok(Self { settings })
    }

    /// The settings.
    pub fn settings(&self) -> &AnomalySettings {
        &self.settings
    }

    /// What to read for this batch.
    pub fn plan(&self, batch: &[Issuance]) -> Plan {
        let settings = &self.settings;
        let at = batch.iter().map(|event| event.at).max().unwrap_or(0);
        let pharmacies: BTreeSet<&str> = batch
            .iter()
            .map(|event| event.telematik_id.as_str())
            .collect();
        let grace = settings.off_hours.grace_minutes;
        let window = settings.off_hours_repeated.window_hours * 3600;
        let closed_pharmacies: BTreeSet<&str> = batch
            .iter()
            .filter(|event| {
                settings
                    .hours_of(&event.telematik_id)
                    .closed_reason(event.at, grace)
                    .is_some()
            })
            .map(|event| event.telematik_id.as_str())
            .collect();
        let closed = closed_pharmacies
            .into_iter()
            .map(|telematik_id| ClosedQuery {
                telematik_id: telematik_id.to_owned(),
                intervals: settings
                    .hours_of(telematik_id)
                    .closed_intervals(at - window, at, grace),
            })
            .collect();
        let holder_keys: BTreeSet<&str> = batch
            .iter()
            .filter_map(|event| event.holder_key.as_deref())
            .collect();
        let lookback_days = settings
            .dose_sequence
            .lookback_days
            .max(settings.holder_repeated.window_days)
            .max(settings.holder_pharmacies.window_days);
        Plan {
            at,
            burst_since: at - settings.burst.window_seconds,
            hour_since: at - 3600,
            pharmacies: pharmacies.into_iter().map(str::to_owned).collect(),
            closed,
            holder_keys: holder_keys.into_iter().map(str::to_owned).collect(),
            holder_since: at - lookback_days * DAY,
            repeat_since: at - settings.holder_repeated.window_days * DAY,
            pharmacy_window_since: at - settings.holder_pharmacies.window_days * DAY,
        }
    }

    /// Whether the pharmacy's baseline must be read: its last hour reached the volume floor.
    pub fn wants_baseline(&self, activity: &PharmacyActivity) -> bool {
        activity.in_last_hour >= self.settings.volume_spike.floor_per_hour
    }

    /// Trailing days of the baseline: day `d` counts `at − d·24h − 1h < issued_at ≤ at − d·24h`.
    pub fn baseline_days(&self) -> u32 {
        self.settings.volume_spike.baseline_days
    }

    /// Every rule over the batch and the facts read for its plan; one finding per open-alert
    /// key (the batch's occurrences merged), sorted by key.
    pub fn evaluate(&self, batch: &[Issuance], plan: &Plan, facts: &Facts) -> Vec<Finding> {
        let settings = &self.settings;
        let mut findings = Findings::default();
        let no_groups = Vec::new();
        for event in batch {
            findings.add(off_hours::single(settings, event));
            findings.add(content::implausible(settings, event));
            if let Some(key) = &event.holder_key {
                let groups = facts.holders.get(key).unwrap_or(&no_groups);
                findings.add(holder::dose_sequence(settings, event, groups));
            }
        }
        let quiet = PharmacyActivity::default();
        for telematik_id in &plan.pharmacies {
            let activity = facts.pharmacies.get(telematik_id).unwrap_or(&quiet);
            if let Some(closed) = &activity.closed {
                findings.add(off_hours::repeated(settings, telematik_id, plan.at, closed));
            }
            findings.add(pace::burst(settings, telematik_id, plan.at, activity));
            findings.add(pace::volume_spike(
                settings,
                telematik_id,
                plan.at,
                activity,
            ));
        }
        for key in &plan.holder_keys {
            // The holder's latest certificate in the batch speaks for the holder.
            let Some(event) = batch
                .iter()
                .filter(|event| event.holder_key.as_ref() == Some(key))
                .max_by_key(|event| event.at)
            else {
                continue;
            };
            let groups = facts.holders.get(key).unwrap_or(&no_groups);
            findings.add(holder::repeated(settings, event, groups));
            findings.add(holder::pharmacies(settings, event, groups));
        }
        findings.into_sorted()
    }
}

/// Findings merged by key.
#[derive(Default)]
struct Findings {
    by_key: HashMap<FindingKey, Finding>,
}

impl Findings {
    fn add(&mut self, finding: Option<Finding>) {
        let Some(finding) = finding else {
            return;
        };
        match self.by_key.get_mut(&finding.key()) {
            Some(earlier) => {
                earlier.occurrences += finding.occurrences;
                earlier.window_start = earlier.window_start.min(finding.window_start);
                earlier.window_end = earlier.window_end.max(finding.window_end);
                earlier.evidence = finding.evidence;
            }
            None => {
                self.by_key.insert(finding.key(), finding);
            }
        }
    }

    fn into_sorted(self) -> Vec<Finding> {
        let mut findings: Vec<(FindingKey, Finding)> = self.by_key.into_iter().collect();
        findings.sort_by(|(a, _), (b, _)| a.cmp(b));
        findings.into_iter().map(|(_, finding)| finding).collect()
    }
}

const DAY: i64 = 86_400;
