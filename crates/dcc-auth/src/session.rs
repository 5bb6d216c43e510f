//! How long operator sessions live and how their tokens are kept.
//!
//! A token is 32 random bytes, given to the client once (cookie or bearer token) and stored
//! only as its SHA-256, so a copy of the database does not let anyone sign in. Every session
//! is bound to the client certificate of the connection that created it: the token is worth
//! nothing on a connection with another certificate.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Session lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A browser session ends after this many seconds without a request.
    pub browser_idle_seconds: i64,
    /// … and at the latest this many seconds after login.
    pub browser_max_seconds: i64,
    /// An API token ends this many seconds after login.
    pub api_token_seconds: i64,
    /// How long an enrolment (password right, second factor being set up) may take.
    pub enrolment_seconds: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            browser_idle_seconds: 15 * 60,
            browser_max_seconds: 12 * 60 * 60,
            api_token_seconds: 60 * 60,
            enrolment_seconds: 10 * 60,
        }
    }
}

/// Whether a session created at `created_at`, last used at `last_seen_at`, with absolute end
/// `expires_at` and idle limit `idle_seconds` (`None`: no idle limit) is still alive at `now`.
pub fn is_alive(expires_at: i64, last_seen_at: i64, idle_seconds: Option<i64>, now: i64) -> bool {
    now < expires_at && idle_seconds.is_none_or(|idle| now < last_seen_at + idle)
}

/// A token as given to the client: URL-safe base64 of 32 random bytes.
pub fn token_from_random(random: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

/// How a token is stored: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

/// The certificate binding of a connection: hex SHA-256 of the client certificate (DER).
pub fn certificate_binding(certificate_der: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, certificate_der).as_ref())
}

/// Compares two secrets without an early exit.
pub fn constant_time_eq(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters() {
        let token = token_from_random(&[0xff; 32]);
        assert_eq!(token.len(), 43);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(token_from_random(&[0; 32]), "A".repeat(43));
        assert_ne!(token_from_random(&[1; 32]), token_from_random(&[2; 32]));
    }

    #[test]
    fn stored_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn idle_and_absolute_limits() {
        // Created at 0, expires at 1000, idle limit 100.
        assert!(is_alive(1000, 0, Some(100), 99));
        assert!(!is_alive(1000, 0, Some(100), 100));
        assert!(is_alive(1000, 950, Some(100), 999));
        assert!(!is_alive(1000, 950, Some(100), 1000));
        assert!(is_alive(1000, 0, None, 999));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
