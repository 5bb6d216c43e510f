//! Fixtures: a fresh database per test, and sample rows.

use std::future::Future;

use dcc_store::ledger::{CertificateType, LedgerEntry};
use dcc_store::pharmacies::{self, NewPharmacy, Pharmacy};
use dcc_store::{Backend, Store};
use sqlx::{AnyConnection, AssertSqlSafe, Connection};

/// What a test gets: a migrated store, its URL (to reconnect) and the backend.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    pub backend: Backend,
}

/// Creates a fresh database, runs `test` on it, then removes the database, also when the test
/// panics (the panic is re-raised afterwards).
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let fixture = Fixture::create(backend).await;
    let url = fixture.url().to_owned();
    let store = Store::connect(&url)
        .await
        .unwrap_or_else(|error| panic!("connecting to {url} failed: {error:?}"));
    let outcome = tokio::spawn(test(TestDb {
        store: store.clone(),
        url,
        backend,
    }))
    .await;
    store.close().await;
    fixture.destroy().await;
    if let Err(error) = outcome {
        if error.is_panic() {
            std::panic::resume_unwind(error.into_panic());
        }
        panic!("test task failed: {error}");
    }
}

enum Fixture {
    Sqlite {
        url: String,
        _dir: tempfile::TempDir,
    },
    Postgres {
        url: String,
        admin_url: String,
        name: String,
    },
}

impl Fixture {
    async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("store.db");
                Self::Sqlite {
                    url: format!("sqlite://{}", path.display()),
                    _dir: dir,
                }
            }
            Backend::Postgres => {
                let admin_url = std::env::var("DCC_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
                let name = format!("dcc_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = admin_connection(&admin_url).await;
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut admin)
                    .await
                    .unwrap_or_else(|error| panic!("CREATE DATABASE {name} failed: {error}"));
                admin.close().await.expect("close admin connection");
                Self::Postgres {
                    url: database_url(&admin_url, &name),
                    admin_url,
                    name,
                }
            }
            _ => panic!("no fixture for {backend:?}"),
        }
    }

    fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    async fn destroy(self) {
        if let Self::Postgres {
            admin_url, name, ..
        } = self
        {
            let mut admin = admin_connection(&admin_url).await;
            sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|error| panic!("DROP DATABASE {name} failed: {error}"));
            admin.close().await.expect("close admin connection");
        }
    }
}

async fn admin_connection(admin_url: &str) -> AnyConnection {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(admin_url)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "PostgreSQL is not reachable at {admin_url} ({error}). The PostgreSQL half of the \
             storage suite needs a server: start one (pg_ctlcluster --skip-systemctl-redirect \
             15 main start) or point DCC_TEST_POSTGRES_URL at an admin URL."
            )
        })
}

/// The admin URL with its database name replaced.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |index| index + 3);
    let authority = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{authority}/{name}{query}")
}

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fixed clock: 2026-01-01T00:00:00Z.
pub const T0: i64 = 1_767_225_600;

/// Registers a pharmacy and commits.
pub async fn add_pharmacy(store: &Store, telematik_id: &str, issuer_segment: &str) -> Pharmacy {
    let mut tx = store.begin().await.unwrap();
    let pharmacy = pharmacies::insert(
        &mut tx,
        &NewPharmacy {
            telematik_id,
            name: "Löwen-Apotheke",
            address: "Hauptstraße 1, 10115 Berlin",
            issuer_segment,
            now: T0,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    pharmacy
}

/// A vaccination ledger entry.
pub fn vaccination(uvci: &str, telematik_id: &str, idempotency_key: Option<&str>) -> LedgerEntry {
    LedgerEntry {
        uvci: uvci.to_owned(),
        telematik_id: telematik_id.to_owned(),
        certificate_type: CertificateType::Vaccination,
        product: "EU/1/20/1528".to_owned(),
        dose_number: Some(2),
        total_doses: Some(2),
        event_date: "2021-06-01".to_owned(),
        kid: "DEsVUSvpFAE=".to_owned(),
        uci_hash: "a".repeat(64),
        issued_at: T0 + 60,
        expires_at: T0 + 365 * 86_400,
        idempotency_key: idempotency_key.map(str::to_owned),
        request_hash: "b".repeat(64),
        revoked_at: None,
        revocation_reason: None,
        holder_key: None,
        country_code_uci_hash: None,
        signature_hash: None,
        operator_id: None,
    }
}

pub const PHARMACY_A: &str = "3-SMC-B-Testkarte-883110000095954";
pub const PHARMACY_B: &str = "3-SMC-B-Testkarte-883110000129068";
