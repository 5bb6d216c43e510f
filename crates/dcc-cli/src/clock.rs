//! The one place in the CLI that reads the clock; everything below it takes time as a
//! parameter.

use time::OffsetDateTime;

/// The current time, for commands that act "now" (generating a PKI, revoking, registering).
#[expect(
    clippy::disallowed_methods,
    reason = "the CLI is the edge that reads the clock"
)]
pub fn now_utc() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The current time in seconds since 1970.
pub fn now() -> i64 {
    now_utc().unix_timestamp()
}
