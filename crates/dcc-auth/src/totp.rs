//! Time-based one-time passwords (RFC 6238): HMAC-SHA1, 30-second steps, six digits, as every
//! authenticator app reads them from an `otpauth://` URI.
//!
//! A code is accepted for the current step and one step either side (clock drift), and never
//! twice: the caller stores the step of the last accepted code and passes it back, so a code
//! seen over someone's shoulder cannot be used again.

use aws_lc_rs::hmac;

use crate::base32;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;

/// Digits per code.
pub const DIGITS: usize = 6;

/// Steps accepted on either side of the current one.
pub const DRIFT_STEPS: i64 = 1;

/// Bytes of a secret (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;

/// A shared TOTP secret. Its `Debug` form does not show the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; SECRET_LEN]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// A secret from random bytes.
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Self {
        Self(bytes)
    }

    /// The secret as shown to the operator and stored.
    pub fn to_base32(&self) -> String {
        base32::encode(&self.0)
    }

    /// Reads a stored or typed secret.
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let bytes = base32::decode(text).map_err(|_| TotpError::MalformedSecret)?;
        let bytes: [u8; SECRET_LEN] = bytes.try_into().map_err(|_| TotpError::MalformedSecret)?;
        Ok(Self(bytes))
    }

    /// The code for the step containing `unix` seconds.
    pub fn code_at(&self, unix: i64) -> String {
        self.code_for_step(step_of(unix))
    }

    /// Checks a typed code at `unix` seconds. `last_step` is the step of the last code this
    /// secret accepted; a code of that step or an earlier one is refused as a replay. Returns
    /// the step to store.
    pub fn verify(&self, code: &str, unix: i64, last_step: Option<i64>) -> Result<i64, TotpError> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Malformed);
        }
        let current = step_of(unix);
        let matching = (current - DRIFT_STEPS..=current + DRIFT_STEPS)
            .find(|&step| constant_time_eq(self.code_for_step(step).as_bytes(), code.as_bytes()));
        match matching {
            None => Err(TotpError::Wrong),
            Some(step) if last_step.is_some_and(|last| step <= last) => Err(TotpError::Replayed),
            Some(step) => Ok(step),
        }
    }

    /// The `otpauth://totp/` URI an authenticator app reads from a QR code.
    pub fn provisioning_uri(&self, issuer: &str, account: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            percent_encode(issuer),
            percent_encode(account),
            self.to_base32(),
            percent_encode(issuer),
        )
    }

    fn code_for_step(&self, step: i64) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let counter = u64::try_from(step).unwrap_or(0).to_be_bytes();
        let tag = hmac::sign(&key, &counter);
        let digest = tag.as_ref();
        // Dynamic truncation (RFC 4226 §5.3).
        let offset = usize::from(digest.last().copied().unwrap_or(0) & 0x0f);
        let mut word = [0u8; 4];
        for (index, byte) in word.iter_mut().enumerate() {
            *byte = digest.get(offset + index).copied().unwrap_or(0);
        }
        let value = u32::from_be_bytes(word) & 0x7fff_ffff;
        format!("{:06}", value % 1_000_000)
    }
}

/// The step containing `unix` seconds.
pub fn step_of(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECONDS)
}

/// Why a code or secret was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not six digits.
    #[error("the code must be six digits")]
    Malformed,
    /// No step near now gives this code.
    #[error("the code is wrong or too old")]
    Wrong,
    /// The code was right but was used before.
    #[error("the code was already used; wait for the next one")]
    Replayed,
    /// The stored secret is not base32 of 20 bytes.
    #[error("the TOTP secret is malformed")]
    MalformedSecret,
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(*b"12345678901234567890")
    }

    #[test]
    fn rfc_6238_sha1_vectors_last_six_digits() {
        // Appendix B of RFC 6238 gives eight digits; six-digit codes are their last six.
        let vectors = [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ];
        for (time, code) in vectors {
            assert_eq!(rfc_secret().code_at(time), code, "at {time}");
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted_two_are_not() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let previous = secret.code_at(now - 30);
        let next = secret.code_at(now + 30);
        let too_old = secret.code_at(now - 60);
        assert_eq!(secret.verify(&previous, now, None), Ok(step_of(now) - 1));
        assert_eq!(secret.verify(&next, now, None), Ok(step_of(now) + 1));
        assert_eq!(secret.verify(&too_old, now, None), Err(TotpError::Wrong));
    }

    #[test]
    fn a_code_is_accepted_once() {
        let secret = rfc_secret();
        let now = 1_234_567_890;
        let code = secret.code_at(now);
        let step = secret.verify(&code, now, None).unwrap();
        assert_eq!(
            secret.verify(&code, now + 5, Some(step)),
            Err(TotpError::Replayed)
        );
        // An older step than the last accepted one is a replay too.
        let earlier = secret.code_at(now - 30);
        assert_eq!(
            secret.verify(&earlier, now, Some(step)),
            Err(TotpError::Replayed)
        );
        let later = secret.code_at(now + 30);
        assert_eq!(secret.verify(&later, now + 30, Some(step)), Ok(step + 1));
    }

    #[test]
    fn malformed_codes_and_secrets_are_named() {
        let secret = rfc_secret();
        assert_eq!(secret.verify("12345", 0, None), Err(TotpError::Malformed));
        assert_eq!(secret.verify("12a456", 0, None), Err(TotpError::Malformed));
        assert_eq!(
            TotpSecret::from_base32("MZXW6"),
            Err(TotpError::MalformedSecret)
        );
        let round = TotpSecret::from_base32(&secret.to_base32()).unwrap();
        assert_eq!(round, secret);
    }

    #[test]
    fn provisioning_uri_names_issuer_and_account() {
        let uri = rfc_secret().provisioning_uri("DCC Apotheke", "3-SMC-B:anna");
        assert_eq!(
            uri,
            "otpauth://totp/DCC%20Apotheke:3-SMC-B%3Aanna?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=DCC%20Apotheke&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{:?}", rfc_secret()), "TotpSecret(<redacted>)");
    }
}
