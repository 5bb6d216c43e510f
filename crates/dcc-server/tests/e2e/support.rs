//! A portal per test, on SQLite or PostgreSQL, with a fresh dev PKI.

use std::sync::Arc;

use dcc_pki::dev_pki::DevPki;
use dcc_pki::institution_request::{InstitutionRequest, Profile};
use dcc_pki::layout::{HOLDER_KEY_SECRET_FILE, Overwrite};
use dcc_pki::telematik_id::TelematikId;
use dcc_server::clock::Clock;
use dcc_server::config::Config;
use dcc_server::server::{
    RunningPortal, certificate_server, connect_store, start_portal, start_portal_with_clock,
};
use dcc_store::Store;
use dcc_store::pharmacies::{self, NewPharmacy};
use time::OffsetDateTime;

pub const PHARMACY: &str = "3-SMC-B-Testkarte-883110000116873";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestPortal {
    pub portal: Option<RunningPortal>,
    /// An API session per institution certificate of the dev PKI, for [`Self::client_for`].
    pub tokens: std::collections::HashMap<String, String>,
    pub store: Store,
    pub config: Config,
    pub pki: DevPki,
    pub dir: tempfile::TempDir,
    postgres_database: Option<String>,
}

pub fn now() -> OffsetDateTime {
    #[expect(
        clippy::disallowed_methods,
        reason = "test set-up: certificates valid from now"
    )]
    OffsetDateTime::now_utc()
}

/// Extra institution certificates to create before the portal starts.
pub struct Extra {
    pub request: InstitutionRequest,
    pub revoked: bool,
}

pub fn institution(telematik_id: &str) -> InstitutionRequest {
    InstitutionRequest::pharmacy("Test-Apotheke", TelematikId::parse(telematik_id).unwrap())
}

impl TestPortal {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Vec::new()).await
    }

    pub async fn start_with(backend: Backend, extras: Vec<Extra>) -> Self {
        Self::start_configured(backend, extras, |_| {}).await
    }

    /// Like [`Self::start_with`], with the development configuration changed by `configure`.
    pub async fn start_configured(
        backend: Backend,
        extras: Vec<Extra>,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        Self::start_full(
            backend,
            extras,
            configure,
            |url| url.to_owned(),
            Clock::system(),
        )
        .await
    }

    /// Like [`Self::start_configured`], the portal issuing at the times `clock` gives.
    pub async fn start_clocked(
        backend: Backend,
        extras: Vec<Extra>,
        configure: impl FnOnce(&mut Config),
        clock: Clock,
    ) -> Self {
        Self::start_full(backend, extras, configure, |url| url.to_owned(), clock).await
    }

    /// Like [`Self::start_configured`], the portal reaching the database at `route(url)` (e.g.
    /// through a proxy the test controls) and opening it as `dcc serve` does, while the test's
    /// own store connects directly.
    pub async fn start_routed(
        backend: Backend,
        extras: Vec<Extra>,
        configure: impl FnOnce(&mut Config),
        route: impl FnOnce(&str) -> String,
    ) -> Self {
        Self::start_full(backend, extras, configure, route, Clock::system()).await
    }

    async fn start_full(
        backend: Backend,
        extras: Vec<Extra>,
        configure: impl FnOnce(&mut Config),
        route: impl FnOnce(&str) -> String,
        clock: Clock,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let now = now();
        let mut pki = DevPki::generate(now).unwrap();
        let mut revoked = Vec::new();
        for extra in &extras {
            let issued = pki.issue_institution(&extra.request, now).unwrap();
            if extra.revoked {
                revoked.push(issued.certificate().serial().unwrap());
            }
            pki.insert_institution(extra.request.telematik_id.clone(), issued);
        }
        let crl = pki.crl(&revoked, now).unwrap();
        pki.replace_smcb_crl(crl);
        pki.write_to(&dir.path().join("pki"), Overwrite::Refuse)
            .unwrap();
        let mut config = Config::development(dir.path());
        // Anomaly detection would alert on (and at night lock) the tests' test pharmacy at any
        // hour they happen to run; the tests of anomaly detection switch it on with a clock.
        config.anomaly.enabled = false;
        configure(&mut config);
        // A holder-key secret as `dcc init` makes it, so issued certificates carry holder keys.
        std::fs::write(dir.path().join(HOLDER_KEY_SECRET_FILE), [0x5a; 32]).unwrap();
        config.billing.holder_key_secret = Some(HOLDER_KEY_SECRET_FILE.into());
        let mut postgres_database = None;
        if let Backend::Postgres = backend {
            let (url, name) = create_postgres_database().await;
            config.database_url = url;
            postgres_database = Some(name);
        }
        let store = Store::connect(&config.database_url).await.unwrap();
        register(&store, PHARMACY, "APO1").await;
        let tokens = sessions_for(&store, &pki).await;
        let signer = Arc::new(certificate_server(&config).unwrap());
        let routed = route(&config.database_url);
        let portal_store = if routed == config.database_url {
            store.clone()
        } else {
            let mut routed_config = config.clone();
            routed_config.database_url = routed;
            connect_store(&routed_config).await.unwrap()
        };
        let portal = start_portal_with_clock(
            &config,
            portal_store,
            signer,
            Some(([127, 0, 0, 1], 0).into()),
            clock,
        )
        .await
        .unwrap();
        Self {
            portal: Some(portal),
            tokens,
            store,
            config,
            pki,
            dir,
            postgres_database,
        }
    }

    /// A second portal process-alike on the same database: its own pool, writer and memory.
    pub async fn another_instance(&self) -> RunningPortal {
        let store = Store::connect(&self.config.database_url).await.unwrap();
        let signer = Arc::new(certificate_server(&self.config).unwrap());
        start_portal(
            &self.config,
            store,
            signer,
            Some(([127, 0, 0, 1], 0).into()),
        )
        .await
        .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "https://localhost:{}{path}",
            self.portal.as_ref().unwrap().local_addr.port()
        )
    }

    /// A client presenting the institution certificate of `telematik_id` (with its CA),
    /// signed in as an operator of that pharmacy (`Authorization: Bearer`).
    pub fn client_for(&self, telematik_id: &str) -> reqwest::Client {
        let token = &self.tokens[telematik_id];
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        self.client_with(Some(self.identity_of(telematik_id)), headers)
    }

    /// A client presenting the institution certificate of `telematik_id`, signed in as no one.
    pub fn client_without_operator(&self, telematik_id: &str) -> reqwest::Client {
        self.client(Some(self.identity_of(telematik_id)))
    }

    /// The PEM identity (certificate, CA, key) of an institution of the dev PKI.
    pub fn identity_of(&self, telematik_id: &str) -> String {
        let issued = self
            .pki
            .institutions()
            .iter()
            .find(|(id, _)| id.as_str() == telematik_id)
            .map(|(_, issued)| issued)
            .unwrap_or_else(|| panic!("no institution {telematik_id}"));
        format!(
            "{}{}{}",
            issued.certificate_pem(),
            self.pki.smcb_ca().certificate().to_pem(),
            issued.private_key_pem()
        )
    }

    pub fn client(&self, identity_pem: Option<String>) -> reqwest::Client {
        self.client_with(identity_pem, reqwest::header::HeaderMap::new())
    }

    fn client_with(
        &self,
        identity_pem: Option<String>,
        headers: reqwest::header::HeaderMap,
    ) -> reqwest::Client {
        let ca = std::fs::read(self.dir.path().join("pki/service/ca.pem")).unwrap();
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()]);
        if let Some(identity) = identity_pem {
            builder = builder.identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap());
        }
        builder.build().unwrap()
    }

    pub async fn ledger_count(&self, telematik_id: &str) -> u64 {
        dcc_store::ledger::count_by_pharmacy(self.store.pool(), telematik_id, 0, i64::MAX)
            .await
            .unwrap()
    }

    pub async fn audit_kinds(&self) -> Vec<String> {
        dcc_store::audit::entries(self.store.pool(), 0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|entry| format!("{} {}", entry.kind, entry.detail))
            .collect()
    }

    pub async fn stop(mut self) {
        if let Some(portal) = self.portal.take() {
            portal.stop().await;
        }
        self.store.close().await;
        if let Some(name) = &self.postgres_database {
            drop_postgres_database(name).await;
        }
    }
}

/// An operator session for every institution certificate of the dev PKI, by Telematik-ID.
async fn sessions_for(store: &Store, pki: &DevPki) -> std::collections::HashMap<String, String> {
    let mut tokens = std::collections::HashMap::new();
    for (telematik_id, issued) in pki.institutions() {
        let der = issued.certificate().der().to_vec();
        let token = operator_session(store, telematik_id.as_str(), &der).await;
        tokens.insert(telematik_id.as_str().to_owned(), token);
    }
    tokens
}

/// An operator of `telematik_id` (technician) with an API session bound to the certificate
/// `certificate_der`, written as a sign-in would write it: these suites test issuing, while
/// signing in itself is tested in `operators.rs`. Returns the bearer token.
pub async fn operator_session(store: &Store, telematik_id: &str, certificate_der: &[u8]) -> String {
    operator_session_named(store, telematik_id, "tester", certificate_der).await
}

/// Like [`operator_session`], for an operator named `username`.
pub async fn operator_session_named(
    store: &Store,
    telematik_id: &str,
    username: &str,
    certificate_der: &[u8],
) -> String {
    use dcc_store::operators::{self, NewOperator, OperatorSession};
    let now = now().unix_timestamp();
    let mut tx = store.begin().await.unwrap();
    let id = operators::insert(
        &mut tx,
        &NewOperator {
            scope: telematik_id,
            username,
            role: "technician",
            // Not a password hash: this account cannot sign in, only use its session.
            password_hash: "!",
            totp_secret: None,
            created_at: now,
        },
    )
    .await
    .unwrap();
    let token = format!("test-token-{}", uuid::Uuid::new_v4());
    operators::insert_session(
        &mut tx,
        &OperatorSession {
            token_hash: dcc_auth::session::token_hash(&token),
            operator_id: id,
            kind: "api".to_owned(),
            certificate_binding: dcc_auth::session::certificate_binding(certificate_der),
            csrf_token: "unused".to_owned(),
            pending_totp_secret: None,
            created_at: now,
            last_seen_at: now,
            expires_at: now + 86_400,
            ended_at: None,
        },
    )
    .await
    .unwrap();
    dcc_store::commit(tx).await.unwrap();
    token
}

pub async fn register(store: &Store, telematik_id: &str, segment: &str) {
    let mut tx = store.begin().await.unwrap();
    pharmacies::insert(
        &mut tx,
        &NewPharmacy {
            telematik_id,
            name: "Test-Apotheke",
            address: "Teststraße 1, 10115 Berlin",
            issuer_segment: segment,
            now: now().unix_timestamp(),
        },
    )
    .await
    .unwrap();
    dcc_store::commit(tx).await.unwrap();
}

pub fn admin_url() -> String {
    std::env::var("DCC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

async fn create_postgres_database() -> (String, String) {
    let name = format!("dcc_e2e_{}", uuid::Uuid::new_v4().simple());
    let url = dcc_store::provision::create_postgres_database(&admin_url(), &name)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "PostgreSQL at {} is not usable ({error}); start it (scripts/test.sh does)",
                admin_url()
            )
        });
    (url, name)
}

async fn drop_postgres_database(name: &str) {
    dcc_store::provision::drop_postgres_database(&admin_url(), name)
        .await
        .unwrap();
}

pub fn other_profile(telematik_id: &str, profile: Profile) -> InstitutionRequest {
    let mut request = institution(telematik_id);
    request.profile = profile;
    request
}

impl TestPortal {
    /// Wraps a portal a test started itself, on the SQLite database in `dir`.
    pub async fn from_parts(
        portal: RunningPortal,
        store: Store,
        config: Config,
        pki: DevPki,
        dir: tempfile::TempDir,
    ) -> Self {
        Self {
            portal: Some(portal),
            tokens: sessions_for(&store, &pki).await,
            store,
            config,
            pki,
            dir,
            postgres_database: None,
        }
    }
}

/// Log lines of this test binary (JSON, one per line), captured once for every test: tests
/// look for their own request ids in it.
pub fn captured_logs() -> String {
    capture_logs();
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

/// Installs the capturing subscriber (once per test binary).
pub fn capture_logs() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(|| LogWriter)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
