//! Operator accounts (issue #5): every certificate is issued by a person. An account belongs
//! to one pharmacy (owner, pharmacist, technician) or to the association (administrator).
//! Owners manage their pharmacy's accounts, administrators every account; the command line
//! (`dcc operator …`) acts for the association.
//!
//! Signing in and sessions are in [`crate::sign_in`] and [`crate::sessions`].

use dcc_auth::password::{self, PasswordError};
use dcc_auth::role::Role;
use dcc_auth::totp::TotpSecret;
use dcc_store::operators::{self as store_operators, ASSOCIATION_SCOPE, NewOperator, Operator};
use dcc_store::{ConflictTarget, Store, StoreError};

use crate::audit::{self, AuditEvent, OperatorAction};

/// Longest username.
pub const MAX_USERNAME_LEN: usize = 64;

/// An operator as the rest of the system sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRef {
    /// Database id (recorded in the ledger and the audit log).
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
}

/// Who changes an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The association's command line on the server.
    CommandLine,
    /// A signed-in operator of this scope (`*` for administrators).
    Operator {
        /// The operator.
        operator: OperatorRef,
        /// Their pharmacy's Telematik-ID, or `*`.
        scope: String,
    },
}

impl Actor {
    fn id(&self) -> Option<i64> {
        match self {
            Self::CommandLine => None,
            Self::Operator { operator, .. } => Some(operator.id),
        }
    }

    /// Whether this actor may manage accounts of `scope`.
    fn may_manage(&self, scope: &str) -> bool {
        match self {
            Self::CommandLine => true,
            Self::Operator {
                operator,
                scope: own,
            } => {
                operator.role.is_administrator()
                    || (operator.role.can_manage_operators() && own == scope)
            }
        }
    }
}

/// An account listed for management (never the password or TOTP secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSummary {
    /// The operator.
    pub operator: OperatorRef,
    /// Whether the second factor is enrolled.
    pub totp_enrolled: bool,
    /// Locked after failures until this time.
    pub locked_until: Option<i64>,
    /// Disabled since.
    pub disabled_at: Option<i64>,
}

/// A new account's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount<'a> {
    /// The pharmacy's Telematik-ID, or `*` for an administrator.
    pub scope: &'a str,
    /// Login name: 1–64 of `a–z 0–9 . _ -`.
    pub username: &'a str,
    /// Role.
    pub role: Role,
    /// The initial password.
    pub password: &'a str,
    /// Enrol this TOTP secret at once (command-line provisioning); otherwise the operator
    /// enrols at the first sign-in.
    pub totp_secret: Option<&'a TotpSecret>,
}

/// Why an account operation or a sign-in was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Unknown username or wrong password (not told apart).
    #[error("the username or the password is wrong")]
    InvalidCredentials,
    /// The TOTP code is missing, wrong, too old or was used before.
    #[error("the one-time code is wrong, too old or was already used")]
    TotpInvalid,
    /// Too many failures: the account is locked for a while.
    #[error("too many failed sign-ins; the account is locked until {until} (unix time)")]
    AccountLocked {
        /// Unix time the lock ends.
        until: i64,
    },
    /// The account is disabled.
    #[error("the account is disabled")]
    OperatorDisabled,
    /// No session token, or an unknown one.
    #[error("sign in first")]
    SessionRequired,
    /// The session ended (logout, idle or maximum time).
    #[error("the session has ended; sign in again")]
    SessionExpired,
    /// The token was made on a connection with another client certificate.
    #[error("the session belongs to another institution certificate")]
    SessionBindingMismatch,
    /// The role may not do this.
    #[error("the role {role} may not do this")]
    ForbiddenRole {
        /// The actor's role.
        role: Role,
    },
    /// The actor may not manage accounts of this pharmacy.
    #[error("accounts of this pharmacy are managed by its owner or the association")]
    ForbiddenScope,
    /// The new password breaks the policy.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The username is malformed.
    #[error(
        "the username must be 1 to {MAX_USERNAME_LEN} characters from a-z, 0-9, '.', '_' and '-'"
    )]
    InvalidUsername,
    /// The username is taken in this pharmacy.
    #[error("the username is already taken in this pharmacy")]
    UsernameTaken,
    /// No account has this id or name.
    #[error("no such operator")]
    UnknownOperator,
    /// The pharmacy is not registered.
    #[error("the pharmacy {0} is not registered")]
    UnknownPharmacy(String),
    /// The role does not fit the scope (administrators belong to the association, staff to a
    /// pharmacy).
    #[error("an administrator belongs to the association (scope *), other roles to a pharmacy")]
    RoleScopeMismatch,
    /// A stored secret or hash is unreadable.
    #[error("the stored credentials of operator {0} are unreadable")]
    CorruptCredentials(i64),
    /// The password hashing task failed.
    #[error("password hashing failed")]
    Hashing,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AuthError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::TotpInvalid => "totp_invalid",
            Self::AccountLocked { .. } => "account_locked",
            Self::OperatorDisabled => "operator_disabled",
            Self::SessionRequired => "session_required",
            Self::SessionExpired => "session_expired",
            Self::SessionBindingMismatch => "session_binding_mismatch",
            Self::ForbiddenRole { .. } | Self::ForbiddenScope => "forbidden_role",
            Self::Password(PasswordError::TooShort) => "password_too_short",
            Self::Password(PasswordError::TooLong) => "password_too_long",
            Self::Password(PasswordError::Hashing) | Self::Hashing => "internal_error",
            Self::InvalidUsername => "invalid_username",
            Self::UsernameTaken => "username_taken",
            Self::UnknownOperator => "unknown_operator",
            Self::UnknownPharmacy(_) => "pharmacy_not_registered",
            Self::RoleScopeMismatch => "role_scope_mismatch",
            Self::CorruptCredentials(_) => "internal_error",
            Self::Store(_) => "store_unavailable",
        }
    }
}

/// Creates an account and records `operator_created`. Returns its id.
pub async fn create(
    store: &Store,
    actor: &Actor,
    account: &NewAccount<'_>,
    now: i64,
    salt: [u8; 16],
) -> Result<i64, AuthError> {
    check_username(account.username)?;
    if (account.scope == ASSOCIATION_SCOPE) != account.role.is_administrator() {
        return Err(AuthError::RoleScopeMismatch);
    }
    if !actor.may_manage(account.scope) {
        return Err(AuthError::ForbiddenScope);
    }
    if let Actor::Operator { operator, .. } = actor
        && account.role.is_administrator()
        && !operator.role.is_administrator()
    {
        return Err(AuthError::ForbiddenRole {
            role: operator.role,
        });
    }
    if account.scope != ASSOCIATION_SCOPE
        && dcc_store::pharmacies::find(store.pool(), account.scope)
            .await?
            .is_none()
    {
        return Err(AuthError::UnknownPharmacy(account.scope.to_owned()));
    }
    let password_hash = hash_password(account.password, salt).await?;
    let secret = account.totp_secret.map(TotpSecret::to_base32);
    let mut tx = store.begin().await?;
    let id = store_operators::insert(
        &mut tx,
        &NewOperator {
            scope: account.scope,
            username: account.username,
            role: account.role.as_str(),
            password_hash: &password_hash,
            totp_secret: secret.as_deref(),
            created_at: now,
        },
    )
    .await
    .map_err(|error| match error {
        StoreError::Conflict {
            what: ConflictTarget::OperatorUsername,
        } => AuthError::UsernameTaken,
        other => AuthError::Store(other),
    })?;
    let event = AuditEvent::OperatorAccount {
        scope: account.scope.to_owned(),
        operator_id: Some(id),
        action: OperatorAction::Created {
            role: account.role.as_str(),
        },
        by: actor.id(),
    };
    audit::record(&mut tx, &event, now).await?;
    dcc_store::commit(tx).await?;
    Ok(id)
}

/// The accounts of a pharmacy (or `*`), by username.
pub async fn list(
    store: &Store,
    actor: &Actor,
    scope: &str,
) -> Result<Vec<OperatorSummary>, AuthError> {
    if !actor.may_manage(scope) {
        return Err(AuthError::ForbiddenScope);
    }
    store_operators::list(store.pool(), scope)
        .await?
        .iter()
        .map(|operator| {
            Ok(OperatorSummary {
                operator: operator_ref(operator)?,
                totp_enrolled: operator.totp_secret.is_some(),
                locked_until: operator.locked_until,
                disabled_at: operator.disabled_at,
            })
        })
        .collect()
}

/// Disables an account and ends its sessions; records `operator_disabled`.
pub async fn disable(store: &Store, actor: &Actor, id: i64, now: i64) -> Result<(), AuthError> {
    let operator = managed(store, actor, id).await?;
    let mut tx = store.begin().await?;
    store_operators::disable(&mut tx, id, now).await?;
    let event = AuditEvent::OperatorAccount {
        scope: operator.scope,
        operator_id: Some(id),
        action: OperatorAction::Disabled,
        by: actor.id(),
    };
    audit::record(&mut tx, &event, now).await?;
    dcc_store::commit(tx).await?;
    Ok(())
}

/// Sets a new password, clears the second factor (to be enrolled again at the next sign-in),
/// lifts a lock-out and a disablement, ends the sessions; records `operator_reset`.
pub async fn reset(
    store: &Store,
    actor: &Actor,
    id: i64,
    new_password: &str,
    now: i64,
    salt: [u8; 16],
) -> Result<(), AuthError> {
    let operator = managed(store, actor, id).await?;
    let password_hash = hash_password(new_password, salt).await?;
    let mut tx = store.begin().await?;
    store_operators::reset(&mut tx, id, &password_hash).await?;
    store_operators::end_sessions_of(&mut tx, id, now).await?;
    let event = AuditEvent::OperatorAccount {
        scope: operator.scope,
        operator_id: Some(id),
        action: OperatorAction::Reset,
        by: actor.id(),
    };
    audit::record(&mut tx, &event, now).await?;
    dcc_store::commit(tx).await?;
    Ok(())
}

/// The account `id`, if the actor may manage it.
async fn managed(store: &Store, actor: &Actor, id: i64) -> Result<Operator, AuthError> {
    let operator = store_operators::find(store.pool(), id)
        .await?
        .ok_or(AuthError::UnknownOperator)?;
    if !actor.may_manage(&operator.scope) {
        // Accounts of other pharmacies are not revealed.
        return Err(AuthError::UnknownOperator);
    }
    Ok(operator)
}

/// The reference of a stored account.
pub(crate) fn operator_ref(operator: &Operator) -> Result<OperatorRef, AuthError> {
    Ok(OperatorRef {
        id: operator.id,
        username: operator.username.clone(),
        role: Role::parse(&operator.role)
            .map_err(|_| AuthError::CorruptCredentials(operator.id))?,
    })
}

/// Checks a username's form.
pub fn check_username(username: &str) -> Result<(), AuthError> {
    let valid = !username.is_empty()
        && username.len() <= MAX_USERNAME_LEN
        && username.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if valid {
        Ok(())
    } else {
        Err(AuthError::InvalidUsername)
    }
}

/// Hashes on the blocking pool: argon2id takes tens of milliseconds of CPU on purpose.
pub(crate) async fn hash_password(password: &str, salt: [u8; 16]) -> Result<String, AuthError> {
    password::check_policy(password)?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || password::hash(&password, salt))
        .await
        .map_err(|_| AuthError::Hashing)?
        .map_err(AuthError::Password)
}

/// Verifies on the blocking pool.
pub(crate) async fn verify_password(stored: &str, password: &str) -> Result<bool, AuthError> {
    let stored = stored.to_owned();
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || password::verify(&stored, &password))
        .await
        .map_err(|_| AuthError::Hashing)
}
