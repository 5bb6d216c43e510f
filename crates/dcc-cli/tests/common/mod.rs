//! Test support shared by the suites that run the real `dcc` binary as a server: a data folder
//! made by `dcc init`, `dcc serve` as a child process, and issuing through its portal.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dcc_server::config::Config;
use serde_json::Value;

/// Runs `dcc` in `cwd`, without inheriting the variables that change its inputs.
pub fn dcc_in(cwd: &Path, args: &[&str]) -> Output {
    dcc_env(cwd, &[], args)
}

/// Runs `dcc` in `cwd` with `envs` added.
pub fn dcc_env(cwd: &Path, envs: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcc"))
        .args(args)
        .current_dir(cwd)
        .env_remove("DCC_CONFIG")
        .env_remove("DCC_DATABASE_URL")
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// An initialised data folder whose portal listens on a free port.
pub struct DataDir {
    _temp: tempfile::TempDir,
    pub data: PathBuf,
    pub port: u16,
    /// An API session of the demo operator, bound to the demo pharmacy's certificate.
    pub token: String,
}

impl DataDir {
    pub fn init() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let output = dcc_in(temp.path(), &["init", "--data", "data"]);
        assert_exit(&output, 0);
        let data = temp.path().join("data").canonicalize().unwrap();
        let port = free_port();
        let mut config = Config::load(&data.join("dcc.toml")).unwrap();
        config.portal.listen = ([127, 0, 0, 1], port).into();
        // `dcc serve` also opens the admin listener; tests run side by side, so any free port.
        config.admin.listen = ([127, 0, 0, 1], 0).into();
        // The rotation tests put one pharmacy under load; its rate limits are not under test.
        config.limits = dcc_issuance::limits::RateLimits::unlimited();
        // Nor is anomaly detection, which would lock the loaded pharmacy when run at night.
        config.anomaly.enabled = false;
        std::fs::write(data.join("dcc.toml"), config.to_toml().unwrap()).unwrap();
        let certificate =
            std::fs::read_to_string(data.join(format!("pki/institutions/{DEMO_PHARMACY}.pem")))
                .unwrap();
        let token = demo_operator_session(&config.database_url, &certificate);
        Self {
            _temp: temp,
            data,
            port,
            token,
        }
    }

    /// After the configuration was pointed at another database holding the demo pharmacy:
    /// creates the demo operator there (`dcc operator add`) and a new session for it.
    pub fn add_demo_operator(&mut self) {
        let credentials = self.path("operators/demo-moved.toml");
        let credentials = credentials.to_string_lossy().into_owned();
        assert_exit(
            &self.dcc(&[
                "operator",
                "add",
                "--pharmacy",
                DEMO_PHARMACY,
                "--username",
                "demo",
                "--role",
                "owner",
                "--credentials-out",
                &credentials,
            ]),
            0,
        );
        let config = Config::load(&self.path("dcc.toml")).unwrap();
        let certificate = self.read(&format!("pki/institutions/{DEMO_PHARMACY}.pem"));
        self.token = demo_operator_session(&config.database_url, &certificate);
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.data.join(relative)
    }

    pub fn dcc(&self, args: &[&str]) -> Output {
        self.dcc_env(&[], args)
    }

    pub fn dcc_env(&self, envs: &[(&str, &str)], args: &[&str]) -> Output {
        let config = self.path("dcc.toml").to_string_lossy().into_owned();
        let mut args = args.to_vec();
        args.extend(["--config", &config]);
        dcc_env(&self.data, envs, &args)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    /// A client with the dev pharmacy's institution certificate, signed in as its demo
    /// operator (`Authorization: Bearer`).
    pub fn client(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", self.token).parse().unwrap(),
        );
        self.client_with(headers)
    }

    /// A client with the dev pharmacy's institution certificate, signed in as no one.
    pub fn client_without_operator(&self) -> reqwest::Client {
        self.client_with(reqwest::header::HeaderMap::new())
    }

    fn client_with(&self, headers: reqwest::header::HeaderMap) -> reqwest::Client {
        let id = DEMO_PHARMACY;
        let identity = format!(
            "{}{}{}",
            self.read(&format!("pki/institutions/{id}.pem")),
            self.read("pki/ti/smcb-ca.pem"),
            self.read(&format!("pki/institutions/{id}.key")),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .tls_certs_only([reqwest::Certificate::from_pem(
                self.read("pki/service/ca.pem").as_bytes(),
            )
            .unwrap()])
            .identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap())
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// Verifies `hc1` with `dcc verify --trust <list>` (plus extra arguments).
    pub fn verify(&self, hc1: &str, list: &Path, extra: &[&str]) -> Output {
        let list = list.to_string_lossy().into_owned();
        let mut args = vec!["verify", "--json", "--trust", &list];
        args.extend(extra);
        args.push(hc1);
        dcc_in(&self.data, &args)
    }
}

/// The pharmacy of `dcc init`'s dev PKI.
pub const DEMO_PHARMACY: &str = "3-SMC-B-Testkarte-883110000116873";

/// An API session of `dcc init`'s demo operator bound to `certificate_pem`, written as a
/// sign-in writes it (signing in itself is tested in dcc-server's e2e suite and by `dcc
/// demo`). Runs on a thread of its own, so it works inside and outside async tests.
pub fn demo_operator_session(database_url: &str, certificate_pem: &str) -> String {
    use dcc_store::operators::{self, OperatorSession};
    let url = database_url.to_owned();
    let der = dcc_pki::certificate::EncodedCertificate::from_pem(certificate_pem)
        .unwrap()
        .der()
        .to_vec();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let store = dcc_store::Store::connect(&url).await.unwrap();
            let operator = operators::find_by_username(store.pool(), DEMO_PHARMACY, "demo")
                .await
                .unwrap()
                .expect("dcc init creates the demo operator");
            let token = format!("test-token-{}", uuid::Uuid::new_v4());
            #[expect(clippy::disallowed_methods, reason = "test set-up: a session from now")]
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let mut tx = store.begin().await.unwrap();
            operators::insert_session(
                &mut tx,
                &OperatorSession {
                    token_hash: dcc_auth::session::token_hash(&token),
                    operator_id: operator.id,
                    kind: "api".to_owned(),
                    certificate_binding: dcc_auth::session::certificate_binding(&der),
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
            store.close().await;
            token
        })
    })
    .join()
    .unwrap()
}

/// `dcc serve --role all`, killed when dropped.
pub struct ServeChild {
    pub child: std::process::Child,
    log: PathBuf,
}

impl ServeChild {
    pub async fn start(data: &DataDir) -> Self {
        Self::start_env(data, &[]).await
    }

    pub async fn start_env(data: &DataDir, envs: &[(&str, &str)]) -> Self {
        Self::start_role(data, envs, "all", &[], data.port).await
    }

    pub async fn start_role(
        data: &DataDir,
        envs: &[(&str, &str)],
        role: &str,
        extra: &[&str],
        port: u16,
    ) -> Self {
        Self::start_config(data, "dcc.toml", envs, role, extra, port).await
    }

    pub async fn start_config(
        data: &DataDir,
        config: &str,
        envs: &[(&str, &str)],
        role: &str,
        extra: &[&str],
        port: u16,
    ) -> Self {
        let log = data.path(&format!("serve-{role}-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_dcc"))
            .args(["serve", "--role", role])
            .args(extra)
            .arg("--config")
            .arg(data.path(config))
            .current_dir(&data.data)
            .env_remove("DCC_CONFIG")
            .env_remove("DCC_DATABASE_URL")
            .envs(envs.iter().copied())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut serve = Self { child, log };
        for _ in 0..400 {
            if let Some(status) = serve.child.try_wait().unwrap() {
                panic!("dcc serve exited with {status}:\n{}", serve.output());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return serve;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("dcc serve did not listen:\n{}", serve.output());
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Issues a vaccination certificate; returns the HC1 text.
pub async fn issue(client: &reqwest::Client, data: &DataDir) -> Result<String, String> {
    issue_at(client, &data.url("/api/certify/v2/issue")).await
}

/// Issues a vaccination certificate at a portal's issue URL; returns the HC1 text.
pub async fn issue_at(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client
        .post(url)
        .json(&serde_json::json!({
            "nam": {"fn": "Musterfrau", "gn": "Erika"}, "dob": "1964-08-12",
            "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                   "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-06-01"}]
        }))
        .send()
        .await
        .map_err(|error| error.to_string())?;
    let status = response.status();
    let answer: Value = response.json().await.map_err(|error| error.to_string())?;
    if status != 200 {
        return Err(format!("{status}: {answer}"));
    }
    Ok(answer["hc1"].as_str().unwrap().to_owned())
}
