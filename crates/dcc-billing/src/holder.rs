//! The holder key: recognises the same person across certificates without storing personal
//! data. It is the hex HMAC-SHA256, under a server secret, of the standardised family and given
//! names (ICAO 9303 transliteration, as in the payload's `fnt`/`gnt`) and the date of birth as
//! written in the payload. Without the secret the key cannot be linked back to a person by
//! guessing names and dates.

use aws_lc_rs::hmac;

/// The server secret for holder keys (at least 32 bytes, from a file made by `dcc init`).
pub struct HolderKeySecret(hmac::Key);

impl HolderKeySecret {
    /// Wraps secret bytes; `None` when shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: &[u8]) -> Option<Self> {
        (secret.len() >= MIN_SECRET_BYTES).then(|| Self(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    /// The key of a holder. Fields are separated by U+001F, which cannot occur in them.
    pub fn holder_key(
        &self,
        family_standardised: Option<&str>,
        given_standardised: Option<&str>,
        date_of_birth: &str,
    ) -> String {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(b"dcc-holder-key-v1\x1f");
        context.update(family_standardised.unwrap_or("").as_bytes());
        context.update(b"\x1f");
        context.update(given_standardised.unwrap_or("").as_bytes());
        context.update(b"\x1f");
        context.update(date_of_birth.as_bytes());
        context
            .sign()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl std::fmt::Debug for HolderKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HolderKeySecret(..)")
    }
}

/// The shortest accepted secret.
pub const MIN_SECRET_BYTES: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_person_same_key_other_person_or_secret_other_key() {
        let secret = HolderKeySecret::new(&[7; 32]).unwrap();
        let key = secret.holder_key(Some("MUSTERMANN"), Some("ERIKA"), "1964-08-12");
        assert_eq!(key.len(), 64);
        assert_eq!(
            key,
            secret.holder_key(Some("MUSTERMANN"), Some("ERIKA"), "1964-08-12")
        );
        assert_ne!(
            key,
            secret.holder_key(Some("MUSTERMANN"), Some("ERIKA"), "1964-08-13")
        );
        // The separator keeps "AB"+"C" apart from "A"+"BC".
        assert_ne!(
            secret.holder_key(Some("AB"), Some("C"), "2000"),
            secret.holder_key(Some("A"), Some("BC"), "2000")
        );
        let other = HolderKeySecret::new(&[8; 32]).unwrap();
        assert_ne!(
            key,
            other.holder_key(Some("MUSTERMANN"), Some("ERIKA"), "1964-08-12")
        );
        assert!(HolderKeySecret::new(&[1; 31]).is_none());
    }
}
