//! Registering the load benches' pharmacies. Shared by `issue_load` and `soak`.

use dcc_store::Store;
use dcc_store::pharmacies::{self, NewPharmacy};

/// Registers an active pharmacy named `name` with its issuer segment; `now` is unix seconds.
pub async fn register(store: &Store, telematik_id: &str, segment: &str, name: &str, now: i64) {
    let mut tx = store.begin().await.unwrap();
    pharmacies::insert(
        &mut tx,
        &NewPharmacy {
            telematik_id,
            name,
            address: "Teststraße 1, 10115 Berlin",
            issuer_segment: segment,
            now,
        },
    )
    .await
    .unwrap();
    dcc_store::commit(tx).await.unwrap();
}
