//! TEMPORARY stand-in for the operator accounts being built on main (`dcc-auth`,
//! `operator_session::SignedIn`): an in-memory session table and one fixed development
//! account, so the pages and the browser harness can be built before the real backend lands.
//! Removed when the branch merges main.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use crate::clock;

/// The development account.
pub const DEV_USERNAME: &str = "demo";
/// Its password.
pub const DEV_PASSWORD: &str = "demo-password-1";
/// Its fixed TOTP code.
pub const DEV_TOTP: &str = "123456";

/// A signed-in operator, as the real extractor will give it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The operator's name.
    pub username: String,
    /// The pharmacy the session belongs to.
    pub telematik_id: String,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// The certificate binding of the session.
    pub binding: String,
}

/// Signs in; returns the session token.
pub fn login(
    telematik_id: &str,
    binding: &str,
    username: &str,
    password: &str,
    totp: &str,
) -> Result<String, &'static str> {
    if username != DEV_USERNAME || password != DEV_PASSWORD {
        return Err("invalid_credentials");
    }
    if totp != DEV_TOTP {
        return Err("totp_invalid");
    }
    let token = hex::encode(clock::random().map_err(|_| "random_unavailable")?);
    let csrf = hex::encode(clock::random().map_err(|_| "random_unavailable")?);
    let session = SignedIn {
        username: username.to_owned(),
        telematik_id: telematik_id.to_owned(),
        csrf_token: csrf,
        binding: binding.to_owned(),
    };
    if let Ok(mut sessions) = SESSIONS.lock() {
        sessions.insert(token.clone(), session);
    }
    Ok(token)
}

/// The session of a token on a connection with this certificate binding.
pub fn authenticate(token: &str, binding: &str) -> Result<SignedIn, &'static str> {
    let sessions = SESSIONS.lock().map_err(|_| "store_unavailable")?;
    let session = sessions.get(token).ok_or("session_expired")?;
    if session.binding != binding {
        return Err("session_binding_mismatch");
    }
    Ok(session.clone())
}

/// Ends a session.
pub fn logout(token: &str) {
    if let Ok(mut sessions) = SESSIONS.lock() {
        sessions.remove(token);
    }
}

static SESSIONS: LazyLock<Mutex<HashMap<String, SignedIn>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
