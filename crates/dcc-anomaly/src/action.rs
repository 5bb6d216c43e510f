//! What happens when a rule fires: the configured action, and the severity it implies.

use serde::{Deserialize, Serialize};

/// The automatic action configured for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Store the alert for the association; issuing goes on.
    Warn,
    /// Lower the pharmacy's rate limits for a while (`[anomaly.throttle]`).
    Throttle,
    /// Lock the operator who issued (for a pharmacy-wide pattern, the one who issued at least
    /// half of it: [`crate::attribution`]); the pharmacy when no operator can be named.
    LockOperator,
    /// Lock the pharmacy (the kill switch), until the association unlocks it.
    LockPharmacy,
}

impl Action {
    /// Every action, mildest first.
    pub const ALL: [Self; 4] = [
        Self::Warn,
        Self::Throttle,
        Self::LockOperator,
        Self::LockPharmacy,
    ];

    /// The stable code, as stored and configured.
    pub fn code(self) -> &'static str {
        match self {
            Self::Warn => "warn",
            Self::Throttle => "throttle",
            Self::LockOperator => "lock_operator",
            Self::LockPharmacy => "lock_pharmacy",
        }
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.code() == code)
    }

    /// How urgent an alert with this action is.
    pub fn severity(self) -> Severity {
        match self {
            Self::Warn => Severity::Warning,
            Self::Throttle => Severity::High,
            Self::LockOperator | Self::LockPharmacy => Severity::Critical,
        }
    }
}

/// How urgent an alert is; follows from its rule's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Someone should look at it.
    Warning,
    /// Issuing was slowed down.
    High,
    /// Issuing was stopped.
    Critical,
}

impl Severity {
    /// The stable code, as stored.
    pub fn code(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_severity_follows_the_action() {
        for action in Action::ALL {
            assert_eq!(Action::from_code(action.code()), Some(action));
        }
        assert_eq!(Action::from_code("explode"), None);
        assert_eq!(Action::Warn.severity(), Severity::Warning);
        assert_eq!(Action::Throttle.severity().code(), "high");
        assert_eq!(Action::LockOperator.severity(), Severity::Critical);
    }
}
