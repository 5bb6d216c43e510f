//! The one place of the server that reads the clock and the system's randomness; everything
//! below receives time and random bytes as parameters.
//!
//! [`Clock`] is where the portal takes the issuing time from: the system clock in service, a
//! time the test sets in end-to-end tests (a night, a Sunday) that must not depend on when
//! they run.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// The portal's source of "now" for issuing.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that stands at `at` until [`Clock::set`] moves it (tests).
    pub fn manual(at: OffsetDateTime) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(at.unix_timestamp()))),
        }
    }

    /// Moves a manual clock to `at` (whole seconds); the system clock ignores it.
    pub fn set(&self, at: OffsetDateTime) {
        if let Some(manual) = &self.manual {
            manual.store(at.unix_timestamp(), Ordering::Relaxed);
        }
    }

    /// The current time by this clock.
    pub fn now(&self) -> OffsetDateTime {
        match &self.manual {
            Some(manual) => OffsetDateTime::from_unix_timestamp(manual.load(Ordering::Relaxed))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            None => now(),
        }
    }
}

/// The current time.
#[expect(
    clippy::disallowed_methods,
    reason = "the server's edge is where time is read"
)]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// 16 random bytes for a UVCI's opaque part, from the operating system's generator.
pub fn random() -> Result<[u8; 16], aws_lc_rs::error::Unspecified> {
    random_bytes()
}

/// `N` random bytes from the operating system's generator (tokens, salts, secrets).
pub fn random_bytes<const N: usize>() -> Result<[u8; N], aws_lc_rs::error::Unspecified> {
    let mut bytes = [0u8; N];
    #[expect(
        clippy::disallowed_methods,
        reason = "the server's edge is where randomness is drawn"
    )]
    aws_lc_rs::rand::fill(&mut bytes)?;
    Ok(bytes)
}

/// A monotonic instant, for measuring how long something took (metrics, readiness latency),
/// never as an input to a decision about a certificate.
#[expect(
    clippy::disallowed_methods,
    reason = "the server's edge is where time is read; durations feed metrics only"
)]
pub fn instant() -> std::time::Instant {
    std::time::Instant::now()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_manual_clock_stands_where_it_is_set() {
        let clock = Clock::manual(datetime!(2026-03-08 23:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-03-08 23:00 UTC));
        let shared = clock.clone();
        shared.set(datetime!(2026-03-08 23:05 UTC));
        assert_eq!(clock.now(), datetime!(2026-03-08 23:05 UTC));
        let system = Clock::system();
        system.set(datetime!(2000-01-01 00:00 UTC));
        assert!(system.now() > datetime!(2020-01-01 00:00 UTC));
    }
}
