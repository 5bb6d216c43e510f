//! Who is signed in: a session token (cookie or bearer) checked against its stored session,
//! the connection's client certificate and the session's lifetimes.
//!
//! Checked sessions are remembered per process for [`CACHE_SECONDS`], so a busy API client
//! costs one database read every few seconds rather than one per request. A sign-out on this
//! process takes effect at once; one on another instance, or a disabled account, within
//! [`CACHE_SECONDS`]. The kill switch for an operator does not depend on this: the
//! group-commit writer reads operator locks in the transaction that records a certificate.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use dcc_auth::session::{self, SessionPolicy};
use dcc_store::Store;
use dcc_store::operators as store_operators;

use crate::operators::{self, AuthError, OperatorRef};
use crate::sign_in::SessionKind;

/// How long a checked session is trusted without reading it again, seconds.
pub const CACHE_SECONDS: i64 = 2;

/// How often the last use of a session is written, seconds (the idle timeout's precision).
pub const TOUCH_SECONDS: i64 = 30;

/// Most sessions remembered; the cache is cleared when full.
const CACHE_CAPACITY: usize = 10_000;

/// A signed-in operator on this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInOperator {
    /// The operator.
    pub operator: OperatorRef,
    /// Their pharmacy's Telematik-ID, or `*` for an administrator.
    pub scope: String,
    /// The session's anti-CSRF token.
    pub csrf_token: String,
    /// Browser session or API token.
    pub kind: SessionKind,
}

/// Session checks with a short per-process memory.
#[derive(Debug)]
pub struct Sessions {
    policy: SessionPolicy,
    cache: Mutex<HashMap<String, Cached>>,
}

#[derive(Debug, Clone)]
struct Cached {
    signed_in: SignedInOperator,
    binding: String,
    expires_at: i64,
    checked_at: i64,
}

impl Sessions {
    /// Checks with these lifetimes.
    pub fn new(policy: SessionPolicy) -> Self {
        Self {
            policy,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The lifetimes.
    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// The operator of `token` on a connection whose client certificate has `binding`.
    pub async fn authenticate(
        &self,
        store: &Store,
        token: &str,
        binding: &str,
        now: i64,
    ) -> Result<SignedInOperator, AuthError> {
        let token_hash = session::token_hash(token);
        if let Some(cached) = self.cached(&token_hash, now) {
            if !session::constant_time_eq(&cached.binding, binding) {
                return Err(AuthError::SessionBindingMismatch);
            }
            return Ok(cached.signed_in);
        }
        let Some((stored, operator)) =
            store_operators::find_session(store.pool(), &token_hash).await?
        else {
            return Err(AuthError::SessionRequired);
        };
        if !session::constant_time_eq(&stored.certificate_binding, binding) {
            return Err(AuthError::SessionBindingMismatch);
        }
        let kind = match stored.kind.as_str() {
            "browser" => SessionKind::Browser,
            "api" => SessionKind::Api,
            _ => return Err(AuthError::SessionRequired),
        };
        let idle = match kind {
            SessionKind::Browser => Some(self.policy.browser_idle_seconds),
            SessionKind::Api => None,
        };
        if stored.ended_at.is_some()
            || !session::is_alive(stored.expires_at, stored.last_seen_at, idle, now)
        {
            return Err(AuthError::SessionExpired);
        }
        if operator.disabled_at.is_some() {
            return Err(AuthError::OperatorDisabled);
        }
        if now - stored.last_seen_at >= TOUCH_SECONDS {
            // A write, so on the writer like every other: on SQLite a write through the read
            // pool would contend for the write lock with the group-commit writer.
            let mut tx = store.begin().await?;
            store_operators::touch_session(&mut tx, &token_hash, now).await?;
            dcc_store::commit(tx).await?;
        }
        let signed_in = SignedInOperator {
            operator: operators::operator_ref(&operator)?,
            scope: operator.scope,
            csrf_token: stored.csrf_token,
            kind,
        };
        // An idle browser session is re-read once it could have timed out.
        let trusted_until = match idle {
            Some(idle) => stored.expires_at.min(now.max(stored.last_seen_at) + idle),
            None => stored.expires_at,
        };
        self.remember(
            token_hash,
            Cached {
                signed_in: signed_in.clone(),
                binding: stored.certificate_binding,
                expires_at: trusted_until,
                checked_at: now,
            },
        );
        Ok(signed_in)
    }

    /// Forgets a token on this process (after signing out).
    pub fn forget(&self, token: &str) {
        let token_hash = session::token_hash(token);
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&token_hash);
    }

    fn cached(&self, token_hash: &str, now: i64) -> Option<Cached> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(token_hash)
            .filter(|cached| now < cached.checked_at + CACHE_SECONDS && now < cached.expires_at)
            .cloned()
    }

    fn remember(&self, token_hash: String, cached: Cached) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(token_hash, cached);
    }
}
