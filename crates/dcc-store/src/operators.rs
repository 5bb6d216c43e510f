//! Operator accounts and their sessions (issue #5): who at a pharmacy, or at the association,
//! may sign in, and the sessions they hold.
//!
//! Passwords arrive here already hashed (argon2id) and session tokens as their SHA-256; this
//! module stores what it is given and never sees a clear password or token.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row, Transaction};

use crate::error::{ConflictTarget, StoreError, UniqueKey, insert_error, query_error};

/// The scope of the association's administrators.
pub const ASSOCIATION_SCOPE: &str = "*";

/// A stored operator account.
#[derive(Clone, PartialEq, Eq)]
pub struct Operator {
    /// Database id.
    pub id: i64,
    /// The pharmacy's Telematik-ID, or [`ASSOCIATION_SCOPE`].
    pub scope: String,
    /// Login name, unique within the scope.
    pub username: String,
    /// `owner`, `pharmacist`, `technician` or `administrator`.
    pub role: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Base32 TOTP secret, once enrolled.
    pub totp_secret: Option<String>,
    /// Step of the last accepted TOTP code.
    pub totp_last_step: Option<i64>,
    /// Failed logins in a row.
    pub failed_logins: i64,
    /// Locked until this unix time after too many failures.
    pub locked_until: Option<i64>,
    /// When the account was disabled.
    pub disabled_at: Option<i64>,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("id", &self.id)
            .field("scope", &self.scope)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("enrolled", &self.totp_secret.is_some())
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

/// An account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOperator<'a> {
    /// The pharmacy's Telematik-ID, or [`ASSOCIATION_SCOPE`].
    pub scope: &'a str,
    /// Login name.
    pub username: &'a str,
    /// Role name.
    pub role: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// A TOTP secret enrolled at creation (command-line provisioning), or `None`.
    pub totp_secret: Option<&'a str>,
    /// Creation time.
    pub created_at: i64,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSession {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The operator.
    pub operator_id: i64,
    /// `browser`, `api` or `enrolment`.
    pub kind: String,
    /// SHA-256 of the client certificate that created the session, hex.
    pub certificate_binding: String,
    /// The anti-CSRF token of the session's forms.
    pub csrf_token: String,
    /// The TOTP secret being enrolled (kind `enrolment` only).
    pub pending_totp_secret: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Last use.
    pub last_seen_at: i64,
    /// Absolute end.
    pub expires_at: i64,
    /// When it was ended (logout, replaced), if it was.
    pub ended_at: Option<i64>,
}

/// Creates an account; returns its id. [`StoreError::Conflict`] with
/// [`ConflictTarget::OperatorUsername`] when the name is taken in that scope.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    operator: &NewOperator<'_>,
) -> Result<i64, StoreError> {
    let row = sqlx::query(INSERT)
        .bind(operator.scope)
        .bind(operator.username)
        .bind(operator.role)
        .bind(operator.password_hash)
        .bind(operator.totp_secret)
        .bind(operator.created_at)
        .fetch_one(&mut **tx)
        .await
        .map_err(|error| insert_error(error, &[USERNAME_KEY]))?;
    row.try_get("id").map_err(query_error)
}

/// The account with this username in this scope.
pub async fn find_by_username<'e, E>(
    executor: E,
    scope: &str,
    username: &str,
) -> Result<Option<Operator>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(SELECT_BY_USERNAME)
        .bind(scope)
        .bind(username)
        .fetch_optional(executor)
        .await
        .map_err(query_error)?
        .as_ref()
        .map(operator_from_row)
        .transpose()
}

/// The account with this id.
pub async fn find<'e, E>(executor: E, id: i64) -> Result<Option<Operator>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(SELECT_BY_ID)
        .bind(id)
        .fetch_optional(executor)
        .await
        .map_err(query_error)?
        .as_ref()
        .map(operator_from_row)
        .transpose()
}

/// The accounts of a scope, by username.
pub async fn list<'e, E>(executor: E, scope: &str) -> Result<Vec<Operator>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(SELECT_BY_SCOPE)
        .bind(scope)
        .fetch_all(executor)
        .await
        .map_err(query_error)?
        .iter()
        .map(operator_from_row)
        .collect()
}

/// Records a failed login: the new failure count and lock.
pub async fn record_failure(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    failed_logins: i64,
    locked_until: Option<i64>,
) -> Result<(), StoreError> {
    sqlx::query(UPDATE_FAILURE)
        .bind(failed_logins)
        .bind(locked_until)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(())
}

/// Records a successful login: failures reset, the accepted TOTP step remembered. Returns
/// `false` when another login used this step (or a later one) first, so a code is accepted
/// only once also across instances.
pub async fn record_success(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    totp_step: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(UPDATE_SUCCESS)
        .bind(totp_step)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(done.rows_affected() == 1)
}

/// Stores an enrolled TOTP secret and its first accepted step.
pub async fn set_totp(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    secret: &str,
    step: i64,
) -> Result<(), StoreError> {
    sqlx::query(UPDATE_TOTP)
        .bind(secret)
        .bind(step)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(())
}

/// Sets a new password and clears the second factor (it must be enrolled again), the failures
/// and the lock.
pub async fn reset(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    password_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query(UPDATE_RESET)
        .bind(password_hash)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(())
}

/// Disables an account (it can no longer sign in) and ends its sessions.
pub async fn disable(tx: &mut Transaction<'_, Any>, id: i64, at: i64) -> Result<(), StoreError> {
    sqlx::query(UPDATE_DISABLE)
        .bind(at)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    end_sessions_of(tx, id, at).await
}

/// Stores a new session.
pub async fn insert_session(
    tx: &mut Transaction<'_, Any>,
    session: &OperatorSession,
) -> Result<(), StoreError> {
    sqlx::query(INSERT_SESSION)
        .bind(session.token_hash.as_str())
        .bind(session.operator_id)
        .bind(session.kind.as_str())
        .bind(session.certificate_binding.as_str())
        .bind(session.csrf_token.as_str())
        .bind(session.pending_totp_secret.as_deref())
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .bind(session.expires_at)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(())
}

/// A session with its operator, by token hash.
pub async fn find_session<'e, E>(
    executor: E,
    token_hash: &str,
) -> Result<Option<(OperatorSession, Operator)>, StoreError>
where
    E: Executor<'e, Database = Any>,
{
    let Some(row) = sqlx::query(SELECT_SESSION)
        .bind(token_hash)
        .fetch_optional(executor)
        .await
        .map_err(query_error)?
    else {
        return Ok(None);
    };
    Ok(Some((session_from_row(&row)?, operator_from_row(&row)?)))
}

/// Notes that a session was used at `at` (a write: in a transaction, see [`crate::Store::begin`]).
pub async fn touch_session(
    tx: &mut Transaction<'_, Any>,
    token_hash: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(TOUCH_SESSION)
        .bind(at)
        .bind(token_hash)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(())
}

/// Ends a session; returns whether it was open.
pub async fn end_session(
    tx: &mut Transaction<'_, Any>,
    token_hash: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(END_SESSION)
        .bind(at)
        .bind(token_hash)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(done.rows_affected() == 1)
}

/// Ends every open session of an operator.
pub async fn end_sessions_of(
    tx: &mut Transaction<'_, Any>,
    operator_id: i64,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(END_SESSIONS_OF)
        .bind(at)
        .bind(operator_id)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    Ok(())
}

fn operator_from_row(row: &AnyRow) -> Result<Operator, StoreError> {
    Ok(Operator {
        id: row.try_get("id").map_err(query_error)?,
        scope: row.try_get("scope").map_err(query_error)?,
        username: row.try_get("username").map_err(query_error)?,
        role: row.try_get("role").map_err(query_error)?,
        password_hash: row.try_get("password_hash").map_err(query_error)?,
        totp_secret: row.try_get("totp_secret").map_err(query_error)?,
        totp_last_step: row.try_get("totp_last_step").map_err(query_error)?,
        failed_logins: row.try_get("failed_logins").map_err(query_error)?,
        locked_until: row.try_get("locked_until").map_err(query_error)?,
        disabled_at: row.try_get("disabled_at").map_err(query_error)?,
        created_at: row.try_get("created_at").map_err(query_error)?,
    })
}

fn session_from_row(row: &AnyRow) -> Result<OperatorSession, StoreError> {
    Ok(OperatorSession {
        token_hash: row.try_get("token_hash").map_err(query_error)?,
        operator_id: row.try_get("operator_id").map_err(query_error)?,
        kind: row.try_get("kind").map_err(query_error)?,
        certificate_binding: row.try_get("certificate_binding").map_err(query_error)?,
        csrf_token: row.try_get("csrf_token").map_err(query_error)?,
        pending_totp_secret: row.try_get("pending_totp_secret").map_err(query_error)?,
        created_at: row.try_get("session_created_at").map_err(query_error)?,
        last_seen_at: row.try_get("last_seen_at").map_err(query_error)?,
        expires_at: row.try_get("expires_at").map_err(query_error)?,
        ended_at: row.try_get("ended_at").map_err(query_error)?,
    })
}

const USERNAME_KEY: UniqueKey = UniqueKey {
    target: ConflictTarget::OperatorUsername,
    postgres_constraint: "operators_scope_username_key",
    sqlite_column: "operators.username",
};

const INSERT: &str = "INSERT INTO operators \
     (scope, username, role, password_hash, totp_secret, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

const SELECT_BY_USERNAME: &str = "SELECT id, scope, username, role, password_hash, totp_secret, \
     totp_last_step, failed_logins, locked_until, disabled_at, created_at \
     FROM operators WHERE scope = $1 AND username = $2";

const SELECT_BY_ID: &str = "SELECT id, scope, username, role, password_hash, totp_secret, \
     totp_last_step, failed_logins, locked_until, disabled_at, created_at \
     FROM operators WHERE id = $1";

const SELECT_BY_SCOPE: &str = "SELECT id, scope, username, role, password_hash, totp_secret, \
     totp_last_step, failed_logins, locked_until, disabled_at, created_at \
     FROM operators WHERE scope = $1 ORDER BY username";

const UPDATE_FAILURE: &str =
    "UPDATE operators SET failed_logins = $1, locked_until = $2 WHERE id = $3";

// The step condition makes a TOTP code single-use even when two logins race on two instances.
const UPDATE_SUCCESS: &str = "UPDATE operators SET failed_logins = 0, locked_until = NULL, \
     totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)";

const UPDATE_TOTP: &str = "UPDATE operators SET totp_secret = $1, totp_last_step = $2, \
     failed_logins = 0, locked_until = NULL WHERE id = $3";

const UPDATE_RESET: &str = "UPDATE operators SET password_hash = $1, totp_secret = NULL, \
     totp_last_step = NULL, failed_logins = 0, locked_until = NULL, disabled_at = NULL WHERE id = $2";

const UPDATE_DISABLE: &str = "UPDATE operators SET disabled_at = $1 WHERE id = $2";

const INSERT_SESSION: &str = "INSERT INTO operator_sessions \
     (token_hash, operator_id, kind, certificate_binding, csrf_token, pending_totp_secret, \
      created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const SELECT_SESSION: &str = "SELECT s.token_hash, s.operator_id, s.kind, \
     s.certificate_binding, s.csrf_token, s.pending_totp_secret, \
     s.created_at AS session_created_at, s.last_seen_at, s.expires_at, s.ended_at, \
     o.id, o.scope, o.username, o.role, o.password_hash, o.totp_secret, o.totp_last_step, \
     o.failed_logins, o.locked_until, o.disabled_at, o.created_at \
     FROM operator_sessions s JOIN operators o ON o.id = s.operator_id WHERE s.token_hash = $1";

const TOUCH_SESSION: &str = "UPDATE operator_sessions SET last_seen_at = $1 \
     WHERE token_hash = $2 AND last_seen_at < $1";

const END_SESSION: &str = "UPDATE operator_sessions SET ended_at = $1 \
     WHERE token_hash = $2 AND ended_at IS NULL";

const END_SESSIONS_OF: &str = "UPDATE operator_sessions SET ended_at = $1 \
     WHERE operator_id = $2 AND ended_at IS NULL";
