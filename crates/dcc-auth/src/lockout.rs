//! Lock-out after repeated failed logins: a wrong password and a wrong second factor count
//! alike, so guessing either is slowed down the same way.

/// When failures lock an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures in a row that lock the account.
    pub max_failures: u32,
    /// How long the lock lasts, seconds.
    pub lock_seconds: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lock_seconds: 15 * 60,
        }
    }
}

/// The account's state after a failed login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterFailure {
    /// Failures in a row, counting this one (reset to 0 when a lock starts).
    pub failures: u32,
    /// Locked until this unix time, when this failure started a lock.
    pub locked_until: Option<i64>,
}

impl LockoutPolicy {
    /// Whether an account locked until `locked_until` is still locked at `now`.
    pub fn is_locked(&self, locked_until: Option<i64>, now: i64) -> bool {
        locked_until.is_some_and(|until| now < until)
    }

    /// What one more failure at `now` does to an account with `failures` so far.
    pub fn after_failure(&self, failures: u32, now: i64) -> AfterFailure {
        let failures = failures.saturating_add(1);
        if failures >= self.max_failures {
            AfterFailure {
                failures: 0,
                locked_until: Some(now + self.lock_seconds),
            }
        } else {
            AfterFailure {
                failures,
                locked_until: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_failure_locks_for_fifteen_minutes() {
        let policy = LockoutPolicy::default();
        let mut failures = 0;
        for _ in 0..4 {
            let after = policy.after_failure(failures, 1000);
            assert_eq!(after.locked_until, None);
            failures = after.failures;
        }
        assert_eq!(failures, 4);
        let fifth = policy.after_failure(failures, 1000);
        assert_eq!(
            fifth,
            AfterFailure {
                failures: 0,
                locked_until: Some(1900)
            }
        );
        assert!(policy.is_locked(fifth.locked_until, 1899));
        assert!(!policy.is_locked(fifth.locked_until, 1900));
        assert!(!policy.is_locked(None, 1000));
    }
}
