//! A circuit breaker in front of a dependency (the database, a certificate server over the
//! network): after [`BreakerSettings::failures_to_open`] failures in a row it opens, and calls
//! fail at once for [`BreakerSettings::open_for`] instead of piling up on a dependency that is
//! down. Then it lets one trial call through (half-open); a success closes it, a failure opens
//! it again. So service resumes by itself within about `open_for` of the dependency's return,
//! and a dependency that is still down sees one call per period rather than a burst.
//!
//! A call asks for a [`Permit`] and reports its outcome on it. A permit dropped without a
//! verdict (an outcome that says nothing about the dependency, e.g. a refused request) leaves
//! the breaker as it was, and a trial permit dropped that way lets the next call be the trial.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Consecutive failures that open a breaker, unless configured otherwise.
pub const FAILURES_TO_OPEN: u32 = 3;

/// How long an open breaker refuses calls before it lets a trial call through, unless
/// configured otherwise.
pub const OPEN_FOR: Duration = Duration::from_secs(2);

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the breaker.
    pub failures_to_open: u32,
    /// How long it stays open before a trial call.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failures_to_open: FAILURES_TO_OPEN,
            open_for: OPEN_FOR,
        }
    }
}

/// Counts consecutive failures of one dependency and decides whether calls go out.
#[derive(Debug)]
pub struct CircuitBreaker {
    dependency: &'static str,
    settings: BreakerSettings,
    state: Mutex<State>,
}

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Calls go out; this many failed in a row.
    Closed { failures: u32 },
    /// Calls fail at once until then.
    Open { until: Instant },
    /// The open period is over and one trial call is out.
    Trial,
}

/// Leave to make one call; report how it went with [`Permit::succeeded`] or
/// [`Permit::failed`].
#[derive(Debug)]
#[must_use = "report the outcome of the call on the permit"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    trial: bool,
    decided: bool,
}

impl CircuitBreaker {
    /// A closed breaker for `dependency` (a name for logs and metrics, e.g. `store`).
    pub fn new(dependency: &'static str, settings: BreakerSettings) -> Self {
        Self {
            dependency,
            settings,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// The dependency's name.
    pub fn dependency(&self) -> &'static str {
        self.dependency
    }

    /// How long an open breaker refuses calls.
    pub fn open_for(&self) -> Duration {
        self.settings.open_for
    }

    /// Leave to call the dependency now, or `None` while the breaker is open (or a trial
    /// call is already out).
    pub fn permit(&self) -> Option<Permit<'_>> {
        let mut state = self.lock();
        let trial = match *state {
            State::Closed { .. } => false,
            State::Open { until } if Instant::now() >= until => {
                *state = State::Trial;
                true
            }
            State::Open { .. } | State::Trial => return None,
        };
        Some(Permit {
            breaker: self,
            trial,
            decided: false,
        })
    }

    /// Whether calls are refused right now (for metrics and readiness).
    pub fn is_open(&self) -> bool {
        match *self.lock() {
            State::Closed { .. } => false,
            State::Open { until } => Instant::now() < until,
            State::Trial => true,
        }
    }

    fn succeeded(&self) {
        let mut state = self.lock();
        if !matches!(*state, State::Closed { .. }) {
            tracing::info!(
                dependency = self.dependency,
                "circuit closed: the dependency answers again"
            );
        }
        *state = State::Closed { failures: 0 };
    }

    fn failed(&self) {
        let mut state = self.lock();
        let failures = match *state {
            State::Closed { failures } => failures.saturating_add(1),
            // A failed trial, or a call that was already out when the breaker opened.
            State::Open { .. } | State::Trial => self.settings.failures_to_open,
        };
        if failures < self.settings.failures_to_open {
            *state = State::Closed { failures };
            return;
        }
        if matches!(*state, State::Closed { .. }) {
            tracing::warn!(
                dependency = self.dependency,
                failures,
                open_for_ms = u64::try_from(self.settings.open_for.as_millis()).unwrap_or(u64::MAX),
                "circuit opened: calls fail at once for a while"
            );
        }
        *state = State::Open {
            until: Instant::now() + self.settings.open_for,
        };
    }

    /// A trial call ended without a verdict: the next call may be the trial.
    fn trial_abandoned(&self) {
        let mut state = self.lock();
        if *state == State::Trial {
            *state = State::Open {
                until: Instant::now(),
            };
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Permit<'_> {
    /// The call reached the dependency and it answered.
    pub fn succeeded(mut self) {
        self.decided = true;
        self.breaker.succeeded();
    }

    /// The call failed because the dependency is unreachable or failing.
    pub fn failed(mut self) {
        self.decided = true;
        self.breaker.failed();
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.trial && !self.decided {
            self.breaker.trial_abandoned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new("test", BreakerSettings::default())
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_and_lets_one_trial_through_later() {
        let breaker = breaker();
        breaker.permit().unwrap().failed();
        breaker.permit().unwrap().failed();
        assert!(!breaker.is_open(), "two failures keep it closed");
        breaker.permit().unwrap().succeeded();
        breaker.permit().unwrap().failed();
        breaker.permit().unwrap().failed();
        assert!(breaker.permit().is_some(), "a success in between resets");
        breaker.permit().unwrap().failed();
        assert!(breaker.is_open(), "three in a row open it");
        assert!(breaker.permit().is_none());
        tokio::time::advance(OPEN_FOR - Duration::from_millis(1)).await;
        assert!(breaker.permit().is_none());
        tokio::time::advance(Duration::from_millis(1)).await;
        let trial = breaker
            .permit()
            .expect("after the open period a trial goes out");
        assert!(breaker.permit().is_none(), "one trial at a time");
        trial.failed();
        assert!(breaker.permit().is_none(), "a failed trial opens it again");
        tokio::time::advance(OPEN_FOR).await;
        breaker.permit().unwrap().succeeded();
        assert!(!breaker.is_open());
        assert!(breaker.permit().is_some() && breaker.permit().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_trial_without_verdict_hands_the_trial_on() {
        let breaker = breaker();
        for _ in 0..FAILURES_TO_OPEN {
            breaker.permit().unwrap().failed();
        }
        tokio::time::advance(OPEN_FOR).await;
        drop(breaker.permit().unwrap());
        let next = breaker.permit().expect("the next call is the trial");
        assert!(breaker.permit().is_none());
        next.succeeded();
        assert!(!breaker.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn settings_set_the_threshold_and_period() {
        let breaker = CircuitBreaker::new(
            "store",
            BreakerSettings {
                failures_to_open: 1,
                open_for: Duration::from_millis(500),
            },
        );
        assert_eq!(breaker.dependency(), "store");
        breaker.permit().unwrap().failed();
        assert!(breaker.is_open());
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(!breaker.is_open());
        assert!(breaker.permit().is_some());
    }
}
