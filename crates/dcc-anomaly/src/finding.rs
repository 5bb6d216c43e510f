//! What a rule reports: which rule, about whom, over which window, with which evidence, and
//! the action configured for it. The evidence holds counts, times, identifiers and codes; never
//! names, dates of birth, holder keys or medical dates.

use serde_json::Value;

use crate::action::{Action, Severity};

/// The rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A certificate outside the opening hours, on a Sunday or a public holiday.
    OffHours,
    /// Certificates outside the hours, repeated within a window.
    OffHoursRepeated,
    /// An hour far above the pharmacy's usual volume at that time of day.
    VolumeSpike,
    /// More certificates in a short window than people at a counter can make.
    Burst,
    /// Many certificates for the same holder.
    HolderRepeated,
    /// The same holder's certificates from several pharmacies.
    HolderPharmacies,
    /// Valid by the schema but implausible content.
    ImplausibleContent,
    /// Dose numbers and dates that contradict the holder's other certificates.
    DoseSequence,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Self; 8] = [
        Self::OffHours,
        Self::OffHoursRepeated,
        Self::VolumeSpike,
        Self::Burst,
        Self::HolderRepeated,
        Self::HolderPharmacies,
        Self::ImplausibleContent,
        Self::DoseSequence,
    ];

    /// The stable code, as stored, configured (`[anomaly.<code>]`) and shown on `/metrics`.
    pub fn code(self) -> &'static str {
        match self {
            Self::OffHours => "off_hours",
            Self::OffHoursRepeated => "off_hours_repeated",
            Self::VolumeSpike => "volume_spike",
            Self::Burst => "burst",
            Self::HolderRepeated => "holder_repeated",
            Self::HolderPharmacies => "holder_pharmacies",
            Self::ImplausibleContent => "implausible_content",
            Self::DoseSequence => "dose_sequence",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|rule| rule.code() == code)
    }
}

/// One rule firing: the alert to store (or to refresh, while one with the same [`Finding::key`]
/// is open) and the action to take when it is new.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// Its configured action.
    pub action: Action,
    /// The pharmacy.
    pub telematik_id: String,
    /// The operator the pattern is about (part of the key): the operator of the certificate
    /// for per-certificate and holder rules; `None` for the pharmacy-wide rules.
    pub operator: Option<String>,
    /// For a pharmacy-wide pattern, the operator who issued at least half of its certificates
    /// ([`crate::attribution`]); not part of the key. `lock_operator` locks them.
    pub attributed_operator: Option<String>,
    /// What distinguishes parallel alerts of one rule and pharmacy: empty for the pharmacy's
    /// own patterns, the smallest UVCI of the holder's certificates for holder rules.
    pub subject: String,
    /// The first instant the evidence covers, unix seconds.
    pub window_start: i64,
    /// The last instant the evidence covers, unix seconds.
    pub window_end: i64,
    /// Counts, times and codes; no personal data.
    pub evidence: Value,
    /// How many certificates of the evaluated batch triggered it (at least 1).
    pub occurrences: u64,
}

/// The identity of an open alert: one ongoing pattern is one alert.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    /// The rule's code.
    pub rule: &'static str,
    /// The pharmacy.
    pub telematik_id: String,
    /// The operator, or empty.
    pub operator: String,
    /// The subject, or empty.
    pub subject: String,
}

impl FindingKey {
    /// The key as one text: `rule|telematik_id|operator|subject` (stored as the open alert's
    /// unique key).
    pub fn to_text(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.rule, self.telematik_id, self.operator, self.subject
        )
    }
}

impl Finding {
    /// How urgent it is.
    pub fn severity(&self) -> Severity {
        self.action.severity()
    }

    /// The operator an alert names and `lock_operator` locks: the pattern's own operator, else
    /// the one it is attributed to.
    pub fn responsible_operator(&self) -> Option<&str> {
        self.operator
            .as_deref()
            .or(self.attributed_operator.as_deref())
    }

    /// Its identity as an open alert.
    pub fn key(&self) -> FindingKey {
        FindingKey {
            rule: self.rule.code(),
            telematik_id: self.telematik_id.clone(),
            operator: self.operator.clone().unwrap_or_default(),
            subject: self.subject.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rules_round_trip_and_keys_join_their_parts() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_code(rule.code()), Some(rule));
        }
        let finding = Finding {
            rule: Rule::Burst,
            action: Action::Throttle,
            telematik_id: "3-SMC-B-1".into(),
            operator: None,
            attributed_operator: None,
            subject: String::new(),
            window_start: 1,
            window_end: 2,
            evidence: json!({}),
            occurrences: 1,
        };
        assert_eq!(finding.key().to_text(), "burst|3-SMC-B-1||");
        assert_eq!(finding.severity(), Severity::High);
    }
}
