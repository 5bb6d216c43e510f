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

/// 16 random bytes for a UVCI's opaque part.
pub fn random() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    // The operating system's generator does not fail on supported platforms; if it ever
    // did, a zero block still yields a unique UVCI through the ledger's primary key, which
    // refuses a duplicate rather than issuing one.
    #[expect(
        clippy::disallowed_methods,
        reason = "the server's edge is where randomness is drawn"
    )]
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes
}
