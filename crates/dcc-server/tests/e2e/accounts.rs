//! Operator accounts for the staff-page tests, made through the real use case (argon2id,
//! TOTP). A TOTP code is accepted once per operator, so each sign-in uses an account of its own.

use dcc_auth::role::Role;
use dcc_auth::totp::TotpSecret;
use dcc_issuance::operators::{self, Actor, NewAccount};
use dcc_store::Store;

use super::support::now;

/// The password of every test account.
pub const PASSWORD: &str = "counter-password-1";

/// Creates an account of `telematik_id`; with `enrolled`, its TOTP secret is set up already and
/// returned.
pub async fn account(
    store: &Store,
    telematik_id: &str,
    username: &str,
    role: Role,
    enrolled: bool,
) -> Option<TotpSecret> {
    let seed = username
        .bytes()
        .fold(7u8, |sum, byte| sum.wrapping_add(byte));
    let secret = TotpSecret::from_bytes([seed; 20]);
    let account = NewAccount {
        scope: telematik_id,
        username,
        role,
        password: PASSWORD,
        totp_secret: enrolled.then_some(&secret),
    };
    operators::create(
        store,
        &Actor::CommandLine,
        &account,
        now().unix_timestamp(),
        [9; 16],
    )
    .await
    .unwrap();
    enrolled.then_some(secret)
}

/// The current code of a secret.
pub fn code(secret: &TotpSecret) -> String {
    secret.code_at(now().unix_timestamp())
}
