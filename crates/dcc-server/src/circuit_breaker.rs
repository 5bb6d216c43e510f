//! A circuit breaker for a dependency (the certificate server over the network): after
//! [`FAILURES_TO_OPEN`] failures in a row it opens, and calls fail at once for
//! [`OPEN_FOR`] instead of piling up on a dependency that is down; then one call is let
//! through, and a success closes it again, so service resumes by itself.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Consecutive failures that open the breaker.
pub const FAILURES_TO_OPEN: u32 = 3;

/// How long an open breaker refuses calls before it lets one through.
pub const OPEN_FOR: Duration = Duration::from_secs(2);

/// Counts consecutive failures and remembers until when it is open.
#[derive(Debug, Default)]
pub struct CircuitBreaker {
    failures: AtomicU32,
    open_until: Mutex<Option<Instant>>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a call may go out now. When the open period has passed, calls go out again (the
    /// next outcome decides whether it stays closed).
    pub fn allows(&self) -> bool {
        let open_until = self
            .open_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open_until.is_none_or(|until| Instant::now() >= until)
    }

    /// A call succeeded: the dependency is up.
    pub fn succeeded(&self) {
        self.failures.store(0, Ordering::Relaxed);
        *self
            .open_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// A call failed because the dependency is unreachable or failing.
    pub fn failed(&self) {
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= FAILURES_TO_OPEN {
            *self
                .open_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + OPEN_FOR);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_and_lets_a_call_through_later() {
        let breaker = CircuitBreaker::new();
        breaker.failed();
        breaker.failed();
        assert!(breaker.allows(), "two failures keep it closed");
        breaker.succeeded();
        breaker.failed();
        breaker.failed();
        assert!(breaker.allows(), "a success in between resets the count");
        breaker.failed();
        assert!(!breaker.allows(), "three in a row open it");
        tokio::time::advance(OPEN_FOR - Duration::from_millis(1)).await;
        assert!(!breaker.allows());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(
            breaker.allows(),
            "after the open period one call may go out"
        );
        breaker.failed();
        assert!(!breaker.allows(), "a failure then opens it again");
        tokio::time::advance(OPEN_FOR).await;
        breaker.succeeded();
        assert!(breaker.allows());
    }
}
