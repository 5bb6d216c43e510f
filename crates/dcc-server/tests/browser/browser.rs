//! A headless Chromium with a client certificate — a pharmacy's institution certificate or
//! the association administrator's service certificate — driven through chromedriver.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dcc_pki::telematik_id::TelematikId;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::TestPortal;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One browser: its chromedriver process, its HOME (NSS database, profile, downloads) and
/// the WebDriver session.
pub struct Browser {
    pub client: Client,
    pub base: String,
    pub home: tempfile::TempDir,
    driver: Child,
}

/// The client certificate a browser holds.
#[derive(Debug, Clone, Copy)]
pub enum Holder<'a> {
    /// The institution (SMC-B) certificate of this Telematik-ID, with the TI CA.
    Pharmacy(&'a str),
    /// The dev PKI's administrator certificate (`service/admin-client`, CN dcc-admin).
    Administrator,
}

impl Browser {
    /// A browser presenting the institution certificate of `telematik_id` to `portal`.
    pub async fn launch(portal: &TestPortal, telematik_id: &str) -> Self {
        let port = portal.portal.as_ref().unwrap().local_addr.port();
        Self::launch_at(portal, Holder::Pharmacy(telematik_id), port).await
    }

    /// A browser holding `holder`'s certificate, selecting it for `https://localhost:port`
    /// (the portal or the admin listener of `portal`'s dev PKI).
    pub async fn launch_at(portal: &TestPortal, holder: Holder<'_>, port: u16) -> Self {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser tests need the Debian package {package} \
                 (scripts/test.sh installs it)"
            );
        }
        let home = tempfile::tempdir().unwrap();
        let pki = portal.dir.path().join("pki");
        install_client_certificate(home.path(), &pki, holder);
        let profile = home.path().join("profile");
        write_preferences(&profile, port);
        let downloads = home.path().join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();

        let driver_port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .env("HOME", home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let webdriver = format!("http://127.0.0.1:{driver_port}");
        wait_for_driver(&webdriver).await;
        let capabilities = json!({
            "browserName": "chrome",
            "timeouts": {"pageLoad": 30_000, "script": 10_000},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,1500",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                    "plugins.always_open_pdf_externally": true,
                }
            }
        });
        let capabilities = capabilities.as_object().unwrap().clone();
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .unwrap_or_else(|error| panic!("chromedriver session: {error}"));
        Self {
            client,
            base: format!("https://localhost:{port}"),
            home,
            driver,
        }
    }

    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|error| panic!("open {path}: {error}"));
    }

    /// The text of the first element matching `css`, waiting up to 10 s for it to appear
    /// (and retrying while a page is being replaced).
    pub async fn text(&self, css: &str) -> String {
        for _ in 0..100 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never appeared:\n{}", self.source().await);
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap_or_default()
    }

    /// Types `value` into a field (retried while a page is still being replaced).
    pub async fn fill(&self, css: &str, value: &str) {
        for _ in 0..50 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.clear().await.is_ok()
                && element.send_keys(value).await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot fill {css}:\n{}", self.source().await);
    }

    /// Chooses an option of a picker.
    pub async fn choose(&self, select_css: &str, value: &str) {
        for _ in 0..50 {
            if let Ok(select) = self.client.find(Locator::Css(select_css)).await
                && select.select_by_value(value).await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "cannot choose {value} in {select_css}:\n{}",
            self.source().await
        );
    }

    /// Clicks an element (retried while a page is still being replaced).
    pub async fn click(&self, css: &str) {
        for _ in 0..50 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.click().await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot click {css}:\n{}", self.source().await);
    }

    /// Waits until the element's text contains `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        for _ in 0..100 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
                && text.contains(expected)
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never showed {expected:?}:\n{}", self.source().await);
    }

    /// Waits until the browser shows `path` (navigation after a click may still be running).
    pub async fn wait_for_path(&self, path: &str) {
        for _ in 0..100 {
            if self.path().await == path {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never reached {path}:\n{}", self.source().await);
    }

    /// Waits until the address starts with `prefix` (up to 10 s).
    pub async fn wait_for_path_prefix(&self, prefix: &str) {
        for _ in 0..100 {
            if self.path().await.starts_with(prefix) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never reached {prefix}…:\n{}", self.source().await);
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        url.path().to_owned()
    }

    /// Saves a screenshot of the whole window as a test artefact and returns the PNG.
    pub async fn screenshot(&self, name: &str) -> Vec<u8> {
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        png
    }

    /// Waits for a finished download in the browser's download folder.
    pub async fn downloaded(&self, name: &str) -> Vec<u8> {
        let path = self.home.path().join("downloads").join(name);
        for _ in 0..100 {
            if let Ok(bytes) = std::fs::read(&path)
                && !bytes.is_empty()
            {
                return bytes;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no download {name}");
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where the screenshots go: `$CARGO_TARGET_DIR/ui-screenshots` (or `target/` of the
/// workspace).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("ui-screenshots")
}

/// An NSS database in `home/.pki/nssdb` (where Chromium on Linux looks) trusting the portal's
/// service CA and holding the holder's certificate and key.
fn install_client_certificate(home: &Path, pki: &Path, holder: Holder<'_>) {
    let nssdb = home.join(".pki/nssdb");
    std::fs::create_dir_all(&nssdb).unwrap();
    let db = format!("sql:{}", nssdb.display());
    run(
        "certutil",
        "libnss3-tools",
        &["-N", "-d", &db, "--empty-password"],
    );
    let service_ca = pki.join("service/ca.pem");
    run(
        "certutil",
        "libnss3-tools",
        &[
            "-A",
            "-d",
            &db,
            "-n",
            "dcc service CA",
            "-t",
            "C,,",
            "-i",
            service_ca.to_str().unwrap(),
        ],
    );
    let (certificate, key, chain) = match holder {
        Holder::Pharmacy(telematik_id) => {
            let stem = TelematikId::parse(telematik_id).unwrap().file_stem();
            (
                pki.join(format!("institutions/{stem}.pem")),
                pki.join(format!("institutions/{stem}.key")),
                pki.join("ti/smcb-ca.pem"),
            )
        }
        Holder::Administrator => (
            pki.join("service/admin-client.pem"),
            pki.join("service/admin-client.key"),
            service_ca.clone(),
        ),
    };
    let p12 = home.join("client.p12");
    run(
        "openssl",
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-in",
            certificate.to_str().unwrap(),
            "-inkey",
            key.to_str().unwrap(),
            "-certfile",
            chain.to_str().unwrap(),
            "-name",
            "client",
            "-out",
            p12.to_str().unwrap(),
            "-passout",
            "pass:browser-test",
        ],
    );
    run(
        "pk12util",
        "libnss3-tools",
        &["-i", p12.to_str().unwrap(), "-d", &db, "-W", "browser-test"],
    );
}

/// The profile's preferences: select the (only) client certificate for the portal's origin
/// without asking.
fn write_preferences(profile: &Path, port: u16) {
    let default = profile.join("Default");
    std::fs::create_dir_all(&default).unwrap();
    let preferences = json!({
        "profile": {"content_settings": {"exceptions": {"auto_select_certificate": {
            format!("https://localhost:{port},*"): {"setting": {"filters": [{}]}}
        }}}},
        "download": {"prompt_for_download": false}
    });
    std::fs::write(default.join("Preferences"), preferences.to_string()).unwrap();
}

fn run(tool: &str, package: &str, args: &[&str]) {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{tool} is needed (Debian package {package}): {error}"));
    assert!(
        output.status.success(),
        "{tool} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for_driver(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("{url}/status")).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start at {url}");
}

/// Browser tests run one at a time: each starts a portal and a Chromium, and the machines
/// they run on have two cores.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}
