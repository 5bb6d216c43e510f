//! Per-pharmacy and per-operator rate limits: a burst ceiling over a short window and a ceiling
//! over a rolling day, both counted from the ledger by the group-commit writer in the transaction that would
//! record the certificate, so they hold across every instance on one database.
//!
//! Defaults from the 2021 figures (german-context.md §3.6): about 60 certificates per pharmacy
//! per day on average, peaks in the hundreds; a person at the counter needs minutes per
//! certificate. 1,000 a day and 30 in ten minutes leave a busy pharmacy room and stop a script;
//! one person gets 20 in ten minutes (one every 30 seconds) and 400 a day.

use serde::{Deserialize, Serialize};

/// The ceilings; `0` switches one off (so that every setting can be written in TOML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Certificates per pharmacy in the last 24 hours; 0: no ceiling.
    pub pharmacy_per_day: u64,
    /// Certificates per pharmacy in the last `burst_window_seconds`; 0: no ceiling.
    pub pharmacy_burst: u64,
    /// The burst window, seconds.
    pub burst_window_seconds: i64,
    /// Certificates per operator in the last 24 hours; 0: no ceiling.
    pub operator_per_day: u64,
    /// Certificates per operator in the last `burst_window_seconds`; 0: no ceiling.
    pub operator_burst: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            pharmacy_per_day: 1_000,
            pharmacy_burst: 30,
            burst_window_seconds: 600,
            operator_per_day: 400,
            operator_burst: 20,
        }
    }
}

/// The long window: a rolling day.
pub const DAY_SECONDS: i64 = 86_400;

/// Which ceiling a certificate would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitExceeded {
    /// The burst ceiling.
    Burst {
        /// Seconds until the window has moved on.
        retry_after: u64,
    },
    /// The daily ceiling.
    Daily {
        /// Seconds until the window has moved on far enough to try again.
        retry_after: u64,
    },
    /// One operator's burst ceiling.
    OperatorBurst {
        /// Seconds until the window has moved on.
        retry_after: u64,
    },
    /// One operator's daily ceiling.
    OperatorDaily {
        /// Seconds until the window has moved on far enough to try again.
        retry_after: u64,
    },
}

impl LimitExceeded {
    /// Seconds the client should wait (`Retry-After`).
    pub fn retry_after(self) -> u64 {
        match self {
            Self::Burst { retry_after }
            | Self::Daily { retry_after }
            | Self::OperatorBurst { retry_after }
            | Self::OperatorDaily { retry_after } => retry_after,
        }
    }

    /// `burst`, `daily`, `operator_burst` or `operator_daily`.
    pub fn window(self) -> &'static str {
        match self {
            Self::Burst { .. } => "burst",
            Self::Daily { .. } => "daily",
            Self::OperatorBurst { .. } => "operator_burst",
            Self::OperatorDaily { .. } => "operator_daily",
        }
    }
}

impl RateLimits {
    /// No ceilings (benchmarks, tests of other things).
    pub fn unlimited() -> Self {
        Self {
            pharmacy_per_day: 0,
            pharmacy_burst: 0,
            burst_window_seconds: 600,
            operator_per_day: 0,
            operator_burst: 0,
        }
    }

    /// These limits lowered to at most `pharmacy_burst` and `pharmacy_per_day` (a throttled
    /// pharmacy); the burst window stays. A ceiling that is off (0) takes the lowered value.
    pub fn lowered(self, pharmacy_burst: u64, pharmacy_per_day: u64) -> Self {
        let lower = |current: u64, ceiling: u64| match current {
            0 => ceiling,
            _ => current.min(ceiling),
        };
        Self {
            pharmacy_per_day: lower(self.pharmacy_per_day, pharmacy_per_day),
            pharmacy_burst: lower(self.pharmacy_burst, pharmacy_burst),
            ..self
        }
    }

    /// Whether an operator with these recent counts may record one more certificate.
    pub fn check_operator(&self, per_day: u64, in_burst_window: u64) -> Result<(), LimitExceeded> {
        if self.operator_per_day > 0 && per_day >= self.operator_per_day {
            return Err(LimitExceeded::OperatorDaily { retry_after: 3_600 });
        }
        if self.operator_burst > 0 && in_burst_window >= self.operator_burst {
            return Err(LimitExceeded::OperatorBurst {
                retry_after: u64::try_from(self.burst_window_seconds.max(1)).unwrap_or(600),
            });
        }
        Ok(())
    }

    /// Whether a pharmacy with these recent counts may record one more certificate.
    pub fn check(&self, per_day: u64, in_burst_window: u64) -> Result<(), LimitExceeded> {
        if self.pharmacy_per_day > 0 && per_day >= self.pharmacy_per_day {
            // The oldest certificates of the day are unknown here; an hour is a fair wait.
            return Err(LimitExceeded::Daily { retry_after: 3_600 });
        }
        if self.pharmacy_burst > 0 && in_burst_window >= self.pharmacy_burst {
            return Err(LimitExceeded::Burst {
                retry_after: u64::try_from(self.burst_window_seconds.max(1)).unwrap_or(600),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_are_reached_at_the_limit_not_before() {
        let limits = RateLimits {
            pharmacy_per_day: 10,
            pharmacy_burst: 3,
            burst_window_seconds: 60,
            operator_per_day: 5,
            operator_burst: 2,
        };
        assert_eq!(limits.check(9, 2), Ok(()));
        assert_eq!(
            limits.check(9, 3),
            Err(LimitExceeded::Burst { retry_after: 60 })
        );
        assert_eq!(
            limits.check(10, 0),
            Err(LimitExceeded::Daily { retry_after: 3_600 })
        );
        assert_eq!(RateLimits::unlimited().check(u64::MAX, u64::MAX), Ok(()));
        assert_eq!(limits.check_operator(4, 1), Ok(()));
        assert_eq!(
            limits.check_operator(4, 2),
            Err(LimitExceeded::OperatorBurst { retry_after: 60 })
        );
        assert_eq!(
            limits.check_operator(5, 0),
            Err(LimitExceeded::OperatorDaily { retry_after: 3_600 })
        );
        assert_eq!(
            RateLimits::unlimited().check_operator(u64::MAX, u64::MAX),
            Ok(())
        );
    }

    #[test]
    fn unlimited_survives_the_configuration_file() {
        #[derive(Serialize, Deserialize)]
        struct File {
            limits: RateLimits,
        }
        let text = toml::to_string(&File {
            limits: RateLimits::unlimited(),
        })
        .unwrap();
        let back: File = toml::from_str(&text).unwrap();
        assert_eq!(back.limits, RateLimits::unlimited());
        let defaults: File = toml::from_str("[limits]\n").unwrap();
        assert_eq!(defaults.limits, RateLimits::default());
    }

    #[test]
    fn a_throttle_only_lowers() {
        let lowered = RateLimits::default().lowered(5, 100);
        assert_eq!((lowered.pharmacy_burst, lowered.pharmacy_per_day), (5, 100));
        assert_eq!(lowered.burst_window_seconds, 600);
        let unlimited = RateLimits::unlimited().lowered(5, 100);
        assert_eq!(
            (unlimited.pharmacy_burst, unlimited.pharmacy_per_day),
            (5, 100)
        );
        let strict = RateLimits {
            pharmacy_per_day: 50,
            pharmacy_burst: 2,
            burst_window_seconds: 60,
            ..RateLimits::default()
        };
        assert_eq!(strict.lowered(5, 100), strict);
    }

    #[test]
    fn defaults_follow_the_2021_figures() {
        let limits = RateLimits::default();
        assert_eq!(limits.pharmacy_per_day, 1_000);
        assert_eq!(limits.pharmacy_burst, 30);
        assert_eq!(limits.burst_window_seconds, 600);
        assert_eq!((limits.operator_per_day, limits.operator_burst), (400, 20));
    }
}
