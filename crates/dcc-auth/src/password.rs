//! Operator passwords, kept as argon2id PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
//!
//! The parameters are OWASP's first choice for argon2id: 19 MiB of memory, two passes, one
//! lane. They are written into every stored hash, so raising them later keeps old hashes
//! verifiable.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;

/// Longest password accepted (hashing cost is bounded; no one types more).
pub const MAX_LENGTH: usize = 256;

/// Memory per hash, KiB.
const MEMORY_KIB: u32 = 19 * 1024;

/// Passes over the memory.
const ITERATIONS: u32 = 2;

/// Hashes a new password with a random 16-byte salt from the caller.
pub fn hash(password: &str, salt: [u8; 16]) -> Result<String, PasswordError> {
    check_policy(password)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hashing)?;
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|_| PasswordError::Hashing)?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string. A malformed stored string never matches.
pub fn verify(stored: &str, password: &str) -> bool {
    if password.len() > MAX_LENGTH {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    // The parameters come from the stored string; the context only fixes the algorithm family.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Whether a stored string is an argon2 PHC string this module can check.
pub fn is_well_formed(stored: &str) -> bool {
    PasswordHash::new(stored).is_ok()
}

/// Whether a new password is acceptable: long enough, not too long, not blank.
pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_LENGTH {
        return Err(PasswordError::TooLong);
    }
    if password.trim().is_empty() {
        return Err(PasswordError::TooShort);
    }
    Ok(())
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, 1, None).map_err(|_| PasswordError::Hashing)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Why a password could not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_LENGTH`] characters.
    #[error("the password must have at least 12 characters")]
    TooShort,
    /// More than [`MAX_LENGTH`] bytes.
    #[error("the password must have at most 256 bytes")]
    TooLong,
    /// The hash function failed (it does not with valid parameters).
    #[error("the password could not be hashed")]
    Hashing,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn hash_is_argon2id_with_the_chosen_parameters_and_verifies() {
        let stored = hash("correct horse battery", [7; 16]).unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify(&stored, "correct horse battery"));
        assert!(!verify(&stored, "correct horse batterY"));
        assert!(!stored.contains("correct"));
    }

    #[test]
    fn salts_make_equal_passwords_hash_differently() {
        let first = hash("correct horse battery", [1; 16]).unwrap();
        let second = hash("correct horse battery", [2; 16]).unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn policy_names_the_problem() {
        assert_eq!(hash("short", [0; 16]), Err(PasswordError::TooShort));
        assert_eq!(check_policy("            "), Err(PasswordError::TooShort));
        assert_eq!(check_policy(&"x".repeat(257)), Err(PasswordError::TooLong));
        assert_eq!(check_policy("äöüäöüäöüäöü"), Ok(()));
    }

    #[test]
    fn malformed_stored_hashes_never_match() {
        assert!(!is_well_formed("not a hash"));
        assert!(!verify("", "anything at all"));
        assert!(!verify("$argon2id$garbage", "anything at all"));
    }
}
