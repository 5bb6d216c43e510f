//! The `[anomaly]` section of `dcc.toml`: opening hours, and per rule its thresholds and the
//! action it triggers. Every field has a default, so an absent section means "detect with the
//! defaults".
//!
//! The defaults follow the 2021 figures (german-context.md §2.2, §8): pharmacies issue some
//! 10 to 150 certificates a day, with a midday peak and Saturday mornings, during opening
//! hours; the Munich insider issued about twenty a night between 22:00 and 01:00. One
//! certificate outside the hours is worth a look (warn); five within a day lock the pharmacy
//! before the first night is over.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::hours::OpeningHours;

/// Everything anomaly detection can be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalySettings {
    /// Evaluate the rules on every issued certificate.
    pub enabled: bool,
    /// The hours of every pharmacy without hours of its own.
    pub opening_hours: OpeningHours,
    /// Hours of particular pharmacies, by Telematik-ID (a station pharmacy open on Sundays).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pharmacy_hours: BTreeMap<String, OpeningHours>,
    /// One certificate outside the opening hours, on a Sunday or a public holiday.
    pub off_hours: OffHoursRule,
    /// Certificates outside the hours, repeated within a window.
    pub off_hours_repeated: OffHoursRepeatedRule,
    /// An hour far above the pharmacy's own usual volume at that time of day.
    pub volume_spike: VolumeSpikeRule,
    /// More certificates in a short window than people at a counter can make.
    pub burst: BurstRule,
    /// Many certificates for the same holder.
    pub holder_repeated: HolderRepeatedRule,
    /// The same holder's certificates from several pharmacies.
    pub holder_pharmacies: HolderPharmaciesRule,
    /// Content that is valid by the schema but implausible (`dcc_core::plausibility`).
    pub implausible_content: ImplausibleContentRule,
    /// Dose numbers and dates that contradict the holder's other certificates.
    pub dose_sequence: DoseSequenceRule,
    /// The lowered limits of a throttled pharmacy.
    pub throttle: ThrottleSettings,
    /// While an alert is open, each process refreshes its evidence at most this often
    /// (seconds of issuing time); occurrences in between only count.
    pub refresh_seconds: i64,
}

impl Default for AnomalySettings {
    fn default() -> Self {
        Self {
            enabled: true,
            opening_hours: OpeningHours::default(),
            pharmacy_hours: BTreeMap::new(),
            off_hours: OffHoursRule::default(),
            off_hours_repeated: OffHoursRepeatedRule::default(),
            volume_spike: VolumeSpikeRule::default(),
            burst: BurstRule::default(),
            holder_repeated: HolderRepeatedRule::default(),
            holder_pharmacies: HolderPharmaciesRule::default(),
            implausible_content: ImplausibleContentRule::default(),
            dose_sequence: DoseSequenceRule::default(),
            throttle: ThrottleSettings::default(),
            refresh_seconds: 60,
        }
    }
}

/// `[anomaly.off_hours]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OffHoursRule {
    /// What to do.
    pub action: Action,
    /// Minutes before opening and after closing that still count as open (the last customer,
    /// staff arriving early). Also used by `off_hours_repeated`.
    pub grace_minutes: u32,
}

impl Default for OffHoursRule {
    fn default() -> Self {
        Self {
            action: Action::Warn,
            grace_minutes: 30,
        }
    }
}

/// `[anomaly.off_hours_repeated]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OffHoursRepeatedRule {
    /// What to do.
    pub action: Action,
    /// Certificates outside the hours within the window that trigger the rule.
    pub certificates: u64,
    /// The window, hours (at most 72).
    pub window_hours: i64,
}

impl Default for OffHoursRepeatedRule {
    fn default() -> Self {
        Self {
            action: Action::LockPharmacy,
            certificates: 5,
            window_hours: 24,
        }
    }
}

/// `[anomaly.volume_spike]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VolumeSpikeRule {
    /// What to do.
    pub action: Action,
    /// Certificates in the last hour below which the rule never fires, so that a small
    /// pharmacy with a few extra customers does not alarm.
    pub floor_per_hour: u64,
    /// How many times the baseline the last hour must reach.
    pub factor: u64,
    /// Trailing days whose same hour makes the baseline (their largest count).
    pub baseline_days: u32,
}

impl Default for VolumeSpikeRule {
    fn default() -> Self {
        Self {
            action: Action::Warn,
            floor_per_hour: 30,
            factor: 4,
            baseline_days: 14,
        }
    }
}

/// `[anomaly.burst]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BurstRule {
    /// What to do.
    pub action: Action,
    /// Certificates within the window that trigger the rule.
    pub certificates: u64,
    /// The window, seconds.
    pub window_seconds: i64,
}

impl Default for BurstRule {
    fn default() -> Self {
        Self {
            action: Action::Throttle,
            certificates: 10,
            window_seconds: 120,
        }
    }
}

/// `[anomaly.holder_repeated]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HolderRepeatedRule {
    /// What to do.
    pub action: Action,
    /// Vaccination and recovery certificates of one holder within the window that trigger the
    /// rule (tests are left out: daily tests are normal).
    pub certificates: u64,
    /// The window, days.
    pub window_days: i64,
}

impl Default for HolderRepeatedRule {
    fn default() -> Self {
        Self {
            action: Action::Warn,
            certificates: 4,
            window_days: 30,
        }
    }
}

/// `[anomaly.holder_pharmacies]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HolderPharmaciesRule {
    /// What to do.
    pub action: Action,
    /// Distinct pharmacies that issued to one holder within the window.
    pub pharmacies: u64,
    /// The window, days.
    pub window_days: i64,
}

impl Default for HolderPharmaciesRule {
    fn default() -> Self {
        Self {
            action: Action::Warn,
            pharmacies: 3,
            window_days: 30,
        }
    }
}

/// `[anomaly.implausible_content]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImplausibleContentRule {
    /// What to do.
    pub action: Action,
    /// The `dcc_core::plausibility` warning codes that raise the alert.
    pub codes: Vec<String>,
}

impl Default for ImplausibleContentRule {
    fn default() -> Self {
        Self {
            action: Action::Warn,
            codes: [
                "vaccination_before_authorisation",
                "vaccination_in_future",
                "dose_above_series",
                "test_in_future",
                "positive_test_in_future",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}

/// `[anomaly.dose_sequence]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DoseSequenceRule {
    /// What to do.
    pub action: Action,
    /// How far back the holder's other vaccination certificates are compared, days.
    pub lookback_days: i64,
}

impl Default for DoseSequenceRule {
    fn default() -> Self {
        Self {
            action: Action::Warn,
            lookback_days: 400,
        }
    }
}

/// `[anomaly.throttle]`: the limits of a throttled pharmacy (the burst window stays the one of
/// `[limits]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleSettings {
    /// Certificates per burst window while throttled.
    pub pharmacy_burst: u64,
    /// Certificates per rolling day while throttled.
    pub pharmacy_per_day: u64,
    /// How long the throttle lasts, minutes.
    pub minutes: i64,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            pharmacy_burst: 5,
            pharmacy_per_day: 100,
            minutes: 60,
        }
    }
}

/// A setting that cannot work, named by its key in `dcc.toml`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A count, window or factor is out of its range.
    #[error("anomaly.{field} must be {expected}")]
    OutOfRange {
        /// The key, e.g. `burst.certificates`.
        field: &'static str,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// A day's time ranges overlap or are not in order.
    #[error("anomaly.{hours}.{day}: the time ranges must be in order and must not overlap")]
    RangesOverlap {
        /// `opening_hours` or `pharmacy_hours."<id>"`.
        hours: String,
        /// The weekday.
        day: &'static str,
    },
    /// An implausibility code that `dcc_core::plausibility` does not know.
    #[error("anomaly.implausible_content.codes: unknown code {0:?}")]
    UnknownPlausibilityCode(String),
}

impl AnomalySettings {
    /// Checks every threshold and the opening hours.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let checks: [(bool, &'static str, &'static str); 14] = [
            (
                (1..=72).contains(&self.off_hours_repeated.window_hours),
                "off_hours_repeated.window_hours",
                "1 to 72",
            ),
            (
                self.off_hours_repeated.certificates >= 1,
                "off_hours_repeated.certificates",
                "at least 1",
            ),
            (
                self.off_hours.grace_minutes <= 180,
                "off_hours.grace_minutes",
                "at most 180",
            ),
            (
                self.volume_spike.factor >= 1,
                "volume_spike.factor",
                "at least 1",
            ),
            (
                self.volume_spike.floor_per_hour >= 1,
                "volume_spike.floor_per_hour",
                "at least 1",
            ),
            (
                (1..=60).contains(&self.volume_spike.baseline_days),
                "volume_spike.baseline_days",
                "1 to 60",
            ),
            (
                self.burst.certificates >= 2,
                "burst.certificates",
                "at least 2",
            ),
            (
                (1..=86_400).contains(&self.burst.window_seconds),
                "burst.window_seconds",
                "1 to 86400",
            ),
            (
                self.holder_repeated.certificates >= 2,
                "holder_repeated.certificates",
                "at least 2",
            ),
            (
                (1..=400).contains(&self.holder_repeated.window_days),
                "holder_repeated.window_days",
                "1 to 400",
            ),
            (
                self.holder_pharmacies.pharmacies >= 2,
                "holder_pharmacies.pharmacies",
                "at least 2",
            ),
            (
                (1..=400).contains(&self.holder_pharmacies.window_days)
                    && (1..=1000).contains(&self.dose_sequence.lookback_days),
                "holder_pharmacies.window_days / dose_sequence.lookback_days",
                "1 to 400 / 1 to 1000",
            ),
            (
                self.throttle.pharmacy_burst >= 1 && self.throttle.pharmacy_per_day >= 1,
                "throttle.pharmacy_burst / throttle.pharmacy_per_day",
                "at least 1",
            ),
            (
                (1..=10_080).contains(&self.throttle.minutes) && self.refresh_seconds >= 0,
                "throttle.minutes / refresh_seconds",
                "1 to 10080 / not negative",
            ),
        ];
        for (ok, field, expected) in checks {
            if !ok {
                return Err(SettingsError::OutOfRange { field, expected });
            }
        }
        check_hours("opening_hours".to_owned(), &self.opening_hours)?;
        for (telematik_id, hours) in &self.pharmacy_hours {
            check_hours(format!("pharmacy_hours.{telematik_id:?}"), hours)?;
        }
        for code in &self.implausible_content.codes {
            if !PLAUSIBILITY_CODES.contains(&code.as_str()) {
                return Err(SettingsError::UnknownPlausibilityCode(code.clone()));
            }
        }
        Ok(())
    }

    /// The hours of a pharmacy: its own, or the default.
    pub fn hours_of(&self, telematik_id: &str) -> &OpeningHours {
        self.pharmacy_hours
            .get(telematik_id)
            .unwrap_or(&self.opening_hours)
    }
}

fn check_hours(name: String, hours: &OpeningHours) -> Result<(), SettingsError> {
    for (day, ranges) in [
        ("monday", &hours.monday),
        ("tuesday", &hours.tuesday),
        ("wednesday", &hours.wednesday),
        ("thursday", &hours.thursday),
        ("friday", &hours.friday),
        ("saturday", &hours.saturday),
        ("sunday", &hours.sunday),
    ] {
        if ranges
            .windows(2)
            .any(|pair| matches!(pair, [first, second] if second.start() < first.end()))
        {
            return Err(SettingsError::RangesOverlap { hours: name, day });
        }
    }
    Ok(())
}

/// The codes of `dcc_core::plausibility::PlausibilityWarning`.
const PLAUSIBILITY_CODES: [&str; 7] = [
    "dose_above_series",
    "vaccination_in_future",
    "vaccination_before_authorisation",
    "test_in_future",
    "positive_test_in_future",
    "recovery_too_early",
    "recovery_too_late",
];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct File {
        anomaly: AnomalySettings,
    }

    #[test]
    fn defaults_survive_the_configuration_file_and_validate() {
        let text = toml::to_string(&File {
            anomaly: AnomalySettings::default(),
        })
        .unwrap();
        assert!(text.contains("[anomaly.off_hours_repeated]"), "{text}");
        assert!(text.contains("action = \"lock_pharmacy\""), "{text}");
        assert!(text.contains("monday = [\"08:00-20:00\"]"), "{text}");
        let back: File = toml::from_str(&text).unwrap();
        assert_eq!(back.anomaly, AnomalySettings::default());
        assert_eq!(back.anomaly.validate(), Ok(()));
        let empty: File = toml::from_str("[anomaly]\n").unwrap();
        assert_eq!(empty.anomaly, AnomalySettings::default());
    }

    #[test]
    fn a_pharmacy_gets_its_own_hours() {
        let text = "[anomaly.pharmacy_hours.\"3-SMC-B-1\"]\n\
                    monday = [\"07:00-13:00\", \"14:00-22:00\"]\n\
                    sunday = [\"10:00-18:00\"]\n\
                    closed_on_holidays = false\n\
                    [anomaly.burst]\naction = \"lock_pharmacy\"\n";
        let file: File = toml::from_str(text).unwrap();
        let settings = file.anomaly;
        assert_eq!(settings.validate(), Ok(()));
        assert_eq!(settings.hours_of("3-SMC-B-1").monday.len(), 2);
        assert!(settings.hours_of("3-SMC-B-1").tuesday.is_empty());
        assert_eq!(settings.hours_of("other").sunday, Vec::new());
        assert_eq!(settings.burst.action, Action::LockPharmacy);
        assert_eq!(settings.burst.certificates, 10);
    }

    #[test]
    fn the_example_in_the_operators_guide_is_valid() {
        let guide = include_str!("../../../docs/fraud.md");
        let start = guide.find("```toml\n[anomaly]").unwrap() + "```toml\n".len();
        let end = start + guide[start..].find("```").unwrap();
        let file: File = toml::from_str(&guide[start..end]).unwrap();
        assert_eq!(file.anomaly.validate(), Ok(()));
        let station = file.anomaly.hours_of("3-SMC-B-Testkarte-883110000116873");
        assert_eq!(station.wednesday.len(), 2);
        assert!(!station.closed_on_holidays);
        assert_eq!(file.anomaly.opening_hours, OpeningHours::default());
    }

    #[test]
    fn unusable_settings_are_named() {
        let mut settings = AnomalySettings::default();
        settings.burst.window_seconds = 0;
        assert_eq!(
            settings.validate().unwrap_err().to_string(),
            "anomaly.burst.window_seconds must be 1 to 86400"
        );
        let mut settings = AnomalySettings::default();
        settings.opening_hours.friday = vec![
            crate::hours::TimeRange::new(600, 900).unwrap(),
            crate::hours::TimeRange::new(800, 1000).unwrap(),
        ];
        assert_eq!(
            settings.validate().unwrap_err().to_string(),
            "anomaly.opening_hours.friday: the time ranges must be in order and must not overlap"
        );
        let mut settings = AnomalySettings::default();
        settings.implausible_content.codes.push("moon_phase".into());
        assert!(matches!(
            settings.validate(),
            Err(SettingsError::UnknownPlausibilityCode(code)) if code == "moon_phase"
        ));
        assert!(toml::from_str::<File>("[anomaly.burst]\naction = \"explode\"\n").is_err());
        assert!(toml::from_str::<File>("[anomaly]\nsurprise = 1\n").is_err());
        assert!(
            toml::from_str::<File>("[anomaly.opening_hours]\nmonday = [\"20:00-08:00\"]\n")
                .is_err()
        );
    }
}
