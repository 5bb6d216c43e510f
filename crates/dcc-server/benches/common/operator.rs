//! An operator account per load client: issuing needs a signed-in operator of the connecting
//! pharmacy. Shared by the `issue_load` and `soak` benches.

use dcc_store::Store;

/// Creates the technician `load` of the pharmacy (TOTP secret derived from `index`), signs in
/// over the client's mutual-TLS connection and returns the bearer token. `now` is unix seconds.
pub async fn sign_in_operator(
    store: &Store,
    client: &reqwest::Client,
    base: &str,
    telematik_id: &str,
    index: usize,
    now: i64,
) -> String {
    let secret = dcc_auth::totp::TotpSecret::from_bytes([u8::try_from(index % 256).unwrap(); 20]);
    let password = "load test password";
    dcc_issuance::operators::create(
        store,
        &dcc_issuance::operators::Actor::CommandLine,
        &dcc_issuance::operators::NewAccount {
            scope: telematik_id,
            username: "load",
            role: dcc_auth::role::Role::Technician,
            password,
            totp_secret: Some(&secret),
        },
        now,
        [7; 16],
    )
    .await
    .unwrap();
    let answer: serde_json::Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({
            "username": "load",
            "password": password,
            "totp": secret.code_at(now),
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["token"]
        .as_str()
        .unwrap_or_else(|| panic!("sign-in refused: {answer}"))
        .to_owned()
}
