//! The one place of the server that reads the clock and the system's randomness; everything
//! below receives time and random bytes as parameters.

use time::OffsetDateTime;

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
