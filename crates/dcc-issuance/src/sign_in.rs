//! Signing in at the counter: password (argon2id) and a TOTP second factor, lock-out after
//! repeated failures, enrolment of the second factor at the first sign-in, and signing out.
//!
//! Every sign-in happens on a mutual-TLS connection of one pharmacy: the account is looked up
//! in that pharmacy's scope, and the session is bound to the connection's client certificate
//! (`binding`), so its token is worthless on a connection with another certificate. Each
//! outcome — success, failure, lock-out, enrolment, sign-out — is written to the audit chain in
//! the transaction that changes the account; the typed username and password never are.

use dcc_auth::lockout::LockoutPolicy;
use dcc_auth::session::{self, SessionPolicy};
use dcc_auth::totp::{self, TotpSecret};
use dcc_store::Store;
use dcc_store::operators::{self as store_operators, Operator, OperatorSession};

use crate::audit::{self, AuditEvent, OperatorAction};
use crate::operators::{self, AuthError, OperatorRef, check_username, verify_password};

/// The issuer name shown in authenticator apps.
pub const TOTP_ISSUER: &str = "DCC Apotheke";

/// What kind of session a sign-in opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser session (cookie): idle timeout and a maximum age.
    Browser,
    /// An API token (`Authorization: Bearer`): a fixed short lifetime.
    Api,
}

impl SessionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::Api => "api",
        }
    }
}

/// Randomness for one sign-in, drawn by the caller.
#[derive(Clone, Copy)]
pub struct SignInRandom {
    /// The session token.
    pub token: [u8; 32],
    /// The session's anti-CSRF token.
    pub csrf: [u8; 32],
    /// A TOTP secret, used when the operator enrols.
    pub totp_secret: [u8; totp::SECRET_LEN],
}

/// A sign-in attempt.
#[derive(Clone, Copy)]
pub struct SignInAttempt<'a> {
    /// The pharmacy of the connection.
    pub telematik_id: &'a str,
    /// The typed username.
    pub username: &'a str,
    /// The typed password.
    pub password: &'a str,
    /// The typed one-time code (absent at the first sign-in, before enrolment).
    pub totp_code: Option<&'a str>,
    /// Hex SHA-256 of the connection's client certificate.
    pub binding: &'a str,
    /// The session wanted.
    pub kind: SessionKind,
}

/// A session that was opened.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The token for the client (cookie value or bearer token); stored only as its hash.
    pub token: String,
    /// The anti-CSRF token of the session's forms.
    pub csrf_token: String,
    /// Absolute end, unix seconds.
    pub expires_at: i64,
    /// Who signed in.
    pub operator: OperatorRef,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("expires_at", &self.expires_at)
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

/// The operator must set up the second factor before the first session.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// Token of the enrolment step (valid for [`SessionPolicy::enrolment_seconds`]).
    pub enrolment_token: String,
    /// The new secret, base32, to show as text.
    pub secret_base32: String,
    /// The `otpauth://` URI to show as a QR code.
    pub provisioning_uri: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(<redacted>)")
    }
}

/// What a right password leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    /// Password and code were right: a session is open.
    SignedIn(NewSession),
    /// Password right, no second factor yet: enrol it ([`confirm_enrolment`]).
    EnrolmentRequired(Enrolment),
}

/// The policies of signing in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInPolicy {
    /// Lock-out after failures.
    pub lockout: LockoutPolicy,
    /// Session lifetimes.
    pub sessions: SessionPolicy,
}

/// Signs an operator in. See the module documentation.
pub async fn sign_in(
    store: &Store,
    policy: &SignInPolicy,
    attempt: &SignInAttempt<'_>,
    now: i64,
    random: &SignInRandom,
) -> Result<SignInOutcome, AuthError> {
    let scope = attempt.telematik_id;
    let found = match check_username(attempt.username) {
        Ok(()) => store_operators::find_by_username(store.pool(), scope, attempt.username).await?,
        Err(_) => None,
    };
    let Some(operator) = found else {
        // Spend the time a real check would, so timing does not reveal which names exist.
        let _ = verify_password(DUMMY_HASH, attempt.password).await?;
        fail(store, scope, None, AuthError::InvalidCredentials, now).await?;
        return Err(AuthError::InvalidCredentials);
    };
    if policy.lockout.is_locked(operator.locked_until, now) {
        let until = operator.locked_until.unwrap_or(now);
        fail(
            store,
            scope,
            Some(operator.id),
            AuthError::AccountLocked { until },
            now,
        )
        .await?;
        return Err(AuthError::AccountLocked { until });
    }
    if !verify_password(&operator.password_hash, attempt.password).await? {
        return Err(
            count_failure(store, policy, &operator, AuthError::InvalidCredentials, now).await?,
        );
    }
    if operator.disabled_at.is_some() {
        fail(
            store,
            scope,
            Some(operator.id),
            AuthError::OperatorDisabled,
            now,
        )
        .await?;
        return Err(AuthError::OperatorDisabled);
    }
    let operator_ref = operators::operator_ref(&operator)?;
    let Some(stored_secret) = operator.totp_secret.as_deref() else {
        return Ok(SignInOutcome::EnrolmentRequired(
            begin_enrolment(store, policy, &operator, attempt, now, random).await?,
        ));
    };
    let secret = TotpSecret::from_base32(stored_secret)
        .map_err(|_| AuthError::CorruptCredentials(operator.id))?;
    let step = match attempt
        .totp_code
        .map(|code| secret.verify(code, now, operator.totp_last_step))
    {
        Some(Ok(step)) => step,
        _ => {
            return Err(
                count_failure(store, policy, &operator, AuthError::TotpInvalid, now).await?,
            );
        }
    };
    let mut tx = store.begin().await?;
    if !store_operators::record_success(&mut tx, operator.id, step).await? {
        // Another sign-in used this code first (a race across instances).
        drop(tx);
        return Err(count_failure(store, policy, &operator, AuthError::TotpInvalid, now).await?);
    }
    let session = open_session(
        &mut tx,
        policy,
        &operator,
        operator_ref,
        attempt,
        now,
        random,
    )
    .await?;
    dcc_store::commit(tx).await?;
    Ok(SignInOutcome::SignedIn(session))
}

/// The first code of a second factor being enrolled.
#[derive(Clone, Copy)]
pub struct EnrolmentConfirmation<'a> {
    /// The token of [`Enrolment`].
    pub enrolment_token: &'a str,
    /// The typed code.
    pub totp_code: &'a str,
    /// Hex SHA-256 of the connection's client certificate.
    pub binding: &'a str,
    /// The session wanted.
    pub kind: SessionKind,
}

/// Confirms the second factor with its first code and opens the session.
pub async fn confirm_enrolment(
    store: &Store,
    policy: &SignInPolicy,
    confirmation: &EnrolmentConfirmation<'_>,
    now: i64,
    random: &SignInRandom,
) -> Result<NewSession, AuthError> {
    let EnrolmentConfirmation {
        enrolment_token,
        totp_code,
        binding,
        kind,
    } = *confirmation;
    let token_hash = session::token_hash(enrolment_token);
    let Some((pending, operator)) =
        store_operators::find_session(store.pool(), &token_hash).await?
    else {
        return Err(AuthError::SessionRequired);
    };
    if pending.kind != "enrolment" {
        return Err(AuthError::SessionRequired);
    }
    if pending.ended_at.is_some()
        || !session::is_alive(pending.expires_at, pending.last_seen_at, None, now)
    {
        return Err(AuthError::SessionExpired);
    }
    if !session::constant_time_eq(&pending.certificate_binding, binding) {
        return Err(AuthError::SessionBindingMismatch);
    }
    if operator.disabled_at.is_some() {
        return Err(AuthError::OperatorDisabled);
    }
    if operator.totp_secret.is_some() {
        // Enrolled meanwhile (another tab): this enrolment is void.
        return Err(AuthError::SessionExpired);
    }
    let secret = pending
        .pending_totp_secret
        .as_deref()
        .and_then(|text| TotpSecret::from_base32(text).ok())
        .ok_or(AuthError::CorruptCredentials(operator.id))?;
    let Ok(step) = secret.verify(totp_code, now, None) else {
        return Err(count_failure(store, policy, &operator, AuthError::TotpInvalid, now).await?);
    };
    let operator_ref = operators::operator_ref(&operator)?;
    let mut tx = store.begin().await?;
    if !store_operators::end_session(&mut tx, &token_hash, now).await? {
        return Err(AuthError::SessionExpired);
    }
    store_operators::set_totp(&mut tx, operator.id, &secret.to_base32(), step).await?;
    let event = AuditEvent::OperatorAccount {
        scope: operator.scope.clone(),
        operator_id: Some(operator.id),
        action: OperatorAction::TotpEnrolled,
        by: None,
    };
    audit::record(&mut tx, &event, now).await?;
    let attempt = SignInAttempt {
        telematik_id: &operator.scope,
        username: &operator.username,
        password: "",
        totp_code: None,
        binding,
        kind,
    };
    let session = open_session(
        &mut tx,
        policy,
        &operator,
        operator_ref,
        &attempt,
        now,
        random,
    )
    .await?;
    dcc_store::commit(tx).await?;
    Ok(session)
}

/// Ends a session; records `operator_signed_out`. Ending an unknown or ended session does
/// nothing.
pub async fn sign_out(store: &Store, token: &str, now: i64) -> Result<(), AuthError> {
    let token_hash = session::token_hash(token);
    let Some((_, operator)) = store_operators::find_session(store.pool(), &token_hash).await?
    else {
        return Ok(());
    };
    let mut tx = store.begin().await?;
    if store_operators::end_session(&mut tx, &token_hash, now).await? {
        let event = AuditEvent::OperatorAccount {
            scope: operator.scope,
            operator_id: Some(operator.id),
            action: OperatorAction::SignedOut,
            by: None,
        };
        audit::record(&mut tx, &event, now).await?;
        dcc_store::commit(tx).await?;
    }
    Ok(())
}

async fn begin_enrolment(
    store: &Store,
    policy: &SignInPolicy,
    operator: &Operator,
    attempt: &SignInAttempt<'_>,
    now: i64,
    random: &SignInRandom,
) -> Result<Enrolment, AuthError> {
    let secret = TotpSecret::from_bytes(random.totp_secret);
    let token = session::token_from_random(&random.token);
    let pending = OperatorSession {
        token_hash: session::token_hash(&token),
        operator_id: operator.id,
        kind: "enrolment".to_owned(),
        certificate_binding: attempt.binding.to_owned(),
        csrf_token: session::token_from_random(&random.csrf),
        pending_totp_secret: Some(secret.to_base32()),
        created_at: now,
        last_seen_at: now,
        expires_at: now + policy.sessions.enrolment_seconds,
        ended_at: None,
    };
    let mut tx = store.begin().await?;
    store_operators::insert_session(&mut tx, &pending).await?;
    dcc_store::commit(tx).await?;
    let account = format!("{}:{}", operator.scope, operator.username);
    Ok(Enrolment {
        enrolment_token: token,
        secret_base32: secret.to_base32(),
        provisioning_uri: secret.provisioning_uri(TOTP_ISSUER, &account),
    })
}

async fn open_session(
    tx: &mut dcc_store::Tx<'_>,
    policy: &SignInPolicy,
    operator: &Operator,
    operator_ref: OperatorRef,
    attempt: &SignInAttempt<'_>,
    now: i64,
    random: &SignInRandom,
) -> Result<NewSession, AuthError> {
    let token = session::token_from_random(&random.token);
    let csrf_token = session::token_from_random(&random.csrf);
    let lifetime = match attempt.kind {
        SessionKind::Browser => policy.sessions.browser_max_seconds,
        SessionKind::Api => policy.sessions.api_token_seconds,
    };
    let stored = OperatorSession {
        token_hash: session::token_hash(&token),
        operator_id: operator.id,
        kind: attempt.kind.as_str().to_owned(),
        certificate_binding: attempt.binding.to_owned(),
        csrf_token: csrf_token.clone(),
        pending_totp_secret: None,
        created_at: now,
        last_seen_at: now,
        expires_at: now + lifetime,
        ended_at: None,
    };
    store_operators::insert_session(tx, &stored).await?;
    let event = AuditEvent::OperatorAccount {
        scope: operator.scope.clone(),
        operator_id: Some(operator.id),
        action: OperatorAction::SignedIn {
            kind: attempt.kind.as_str(),
        },
        by: None,
    };
    audit::record(tx, &event, now).await?;
    Ok(NewSession {
        token,
        csrf_token,
        expires_at: stored.expires_at,
        operator: operator_ref,
    })
}

/// Counts a failure against the account (lock-out) and records it; returns the error to
/// answer (the lock-out when this failure started one).
async fn count_failure(
    store: &Store,
    policy: &SignInPolicy,
    operator: &Operator,
    error: AuthError,
    now: i64,
) -> Result<AuthError, AuthError> {
    let failures = u32::try_from(operator.failed_logins).unwrap_or(u32::MAX);
    let after = policy.lockout.after_failure(failures, now);
    let mut tx = store.begin().await?;
    store_operators::record_failure(
        &mut tx,
        operator.id,
        i64::from(after.failures),
        after.locked_until,
    )
    .await?;
    let failed = AuditEvent::OperatorAccount {
        scope: operator.scope.clone(),
        operator_id: Some(operator.id),
        action: OperatorAction::SignInFailed { code: error.code() },
        by: None,
    };
    audit::record(&mut tx, &failed, now).await?;
    let answer = if let Some(until) = after.locked_until {
        let locked = AuditEvent::OperatorAccount {
            scope: operator.scope.clone(),
            operator_id: Some(operator.id),
            action: OperatorAction::LockedOut,
            by: None,
        };
        audit::record(&mut tx, &locked, now).await?;
        AuthError::AccountLocked { until }
    } else {
        error
    };
    dcc_store::commit(tx).await?;
    Ok(answer)
}

/// Records a refusal that does not change an account.
async fn fail(
    store: &Store,
    scope: &str,
    operator_id: Option<i64>,
    error: AuthError,
    now: i64,
) -> Result<(), AuthError> {
    let mut tx = store.begin().await?;
    let event = AuditEvent::OperatorAccount {
        scope: scope.to_owned(),
        operator_id,
        action: OperatorAction::SignInFailed { code: error.code() },
        by: None,
    };
    audit::record(&mut tx, &event, now).await?;
    dcc_store::commit(tx).await?;
    Ok(())
}

/// A valid argon2id hash of a random password nobody knows, checked when the username does
/// not exist so that the answer takes as long as for a real account.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$NQ0bC7Yc9jT2x0pQH8rK9l1v4WkSx8QmFh2c7sJ4eZg";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_checked_like_a_real_one() {
        assert!(dcc_auth::password::is_well_formed(DUMMY_HASH));
        assert!(!dcc_auth::password::verify(
            DUMMY_HASH,
            "any password at all"
        ));
    }
}
