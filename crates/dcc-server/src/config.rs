//! The one typed configuration of `dcc serve`, read from a TOML file that `dcc init` writes.
//!
//! Relative paths are resolved against the folder of the configuration file, so a data folder
//! can be moved as a whole. `DCC_DATABASE_URL` overrides the database URL (to point a
//! deployment at PostgreSQL without editing the file).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use dcc_anomaly::settings::AnomalySettings;
use dcc_billing::schedule::{FeePeriodConfig, FeeSchedule};
use dcc_issuance::billing::BillingSettings;
use dcc_issuance::limits::RateLimits;
use serde::{Deserialize, Serialize};

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("the configuration {path} is invalid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        #[source]
        source: toml::de::Error,
    },
    /// Serialising the configuration failed.
    #[error("cannot write the configuration: {0}")]
    Write(#[from] toml::ser::Error),
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// How the server waits for the database (defaults when the section is absent).
    #[serde(default)]
    pub database: DatabaseConfig,
    /// Who issues the certificates.
    pub issuer: IssuerConfig,
    /// The pharmacy portal.
    pub portal: PortalConfig,
    /// The certificate server (signer).
    pub signer: SignerConfig,
    /// The association administrators' listener (defaults when the section is absent).
    #[serde(default)]
    pub admin: AdminConfig,
    /// Per-pharmacy rate limits (defaults when the section is absent).
    #[serde(default)]
    pub limits: RateLimits,
    /// Billing: holder-key secret, fee schedule, automatic close.
    #[serde(default)]
    pub billing: BillingConfig,
    /// The key that signs the published German DSC list (`GET /trust-list/de`). Without it
    /// only the EU gateway JSON is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_list: Option<TrustListConfig>,
    /// Anomaly detection: opening hours, rules, thresholds and actions (defaults when the
    /// section is absent).
    #[serde(default)]
    pub anomaly: AnomalySettings,
    /// The folder relative paths are resolved against (the configuration file's folder);
    /// not stored in the file.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// How long the server waits for the database before it reports `store_unavailable`, and
/// when it stops asking a database that keeps failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// How long a request waits for a pooled connection, a new connection included (default
    /// 2000 ms). Short, so that a database that is down is reported at once.
    #[serde(default = "default_acquire_timeout_ms")]
    pub acquire_timeout_ms: u64,
    /// How long one group-commit transaction may take before its requests fail (default
    /// 10000 ms); bounds the wait on a database that stops answering without closing the
    /// connection.
    #[serde(default = "default_write_timeout_ms")]
    pub write_timeout_ms: u64,
    /// Consecutive `store_unavailable` failures after which issuance requests fail at once
    /// without asking the database (default 3).
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long they fail at once before one request tries the database again (default
    /// 2000 ms).
    #[serde(default = "default_breaker_open_ms")]
    pub breaker_open_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            acquire_timeout_ms: default_acquire_timeout_ms(),
            write_timeout_ms: default_write_timeout_ms(),
            breaker_failures: default_breaker_failures(),
            breaker_open_ms: default_breaker_open_ms(),
        }
    }
}

fn default_acquire_timeout_ms() -> u64 {
    2000
}

fn default_write_timeout_ms() -> u64 {
    10_000
}

fn default_breaker_failures() -> u32 {
    3
}

fn default_breaker_open_ms() -> u64 {
    2000
}

/// Who issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// CWT `iss` and `co`, ISO 3166-1 alpha-2.
    pub country: String,
    /// The `is` field, e.g. `Robert Koch-Institut`.
    pub name: String,
}

/// The pharmacy portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalConfig {
    /// Address to listen on, e.g. `127.0.0.1:8443`.
    pub listen: SocketAddr,
    /// The portal's TLS certificate chain (PEM).
    pub tls_certificate: PathBuf,
    /// The portal's TLS key (PEM).
    pub tls_key: PathBuf,
    /// Trust anchors for institution certificates (the TI root, PEM).
    pub client_ca: PathBuf,
    /// CRLs of the institution CAs (PEM).
    #[serde(default)]
    pub client_crls: Vec<PathBuf>,
    /// Profession OIDs allowed to issue (default: public pharmacy, 1.2.276.0.76.4.54).
    pub allowed_professions: Vec<String>,
    /// Issuance requests served at once; beyond it the portal answers 503 `overloaded` with
    /// `Retry-After` at once instead of queueing (default 256).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
}

fn default_max_in_flight() -> usize {
    256
}

/// The admin listener of the portal process (`dcc serve --role all|portal`): the
/// association's administrators manage the registry, accounts and locks and read the audit
/// log there ([`crate::admin_api`]). It presents the portal's TLS certificate and admits only
/// client certificates of the service CA (`[signer] client_ca`) whose CN is `dcc-admin` or
/// starts with `dcc-admin:`. It belongs on the association's internal network, never on the
/// address pharmacies reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Address to listen on (default `127.0.0.1:8445`).
    #[serde(default = "default_admin_listen")]
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: default_admin_listen(),
        }
    }
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8445))
}

/// How the portal reaches the certificate server, and the signer's own settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// One key per certificate type.
    pub vaccination: KeyConfig,
    /// Test certificates.
    pub test: KeyConfig,
    /// Recovery certificates.
    pub recovery: KeyConfig,
    /// Address the separate signer process listens on (`dcc serve --role signer`).
    pub listen: SocketAddr,
    /// The signer's TLS certificate (PEM).
    pub tls_certificate: PathBuf,
    /// The signer's TLS key (PEM).
    pub tls_key: PathBuf,
    /// The CA of the service identities the signer accepts (PEM).
    pub client_ca: PathBuf,
    /// The portal's client identity towards the signer (PEM certificate and key).
    pub portal_identity_certificate: PathBuf,
    /// The portal's client key towards the signer (PEM).
    pub portal_identity_key: PathBuf,
}

/// Billing settings; every field has a default, so older configuration files stay valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingConfig {
    /// The holder-key secret file (32 or more bytes, made by `dcc init`); without it the
    /// ledger records no holder keys and same-visit second doses cannot be recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_key_secret: Option<PathBuf>,
    /// Minutes after a dose's certificate within which the next dose's certificate from the
    /// same pharmacy counts as the same visit ("Impfzertifikat II").
    #[serde(default = "default_same_visit_minutes")]
    pub same_visit_window_minutes: i64,
    /// Minutes after a month's end (midnight Europe/Berlin) before `dcc serve` closes it, so
    /// that requests in flight at midnight are recorded first.
    #[serde(default = "default_close_grace_minutes")]
    pub close_grace_minutes: i64,
    /// The fee schedule; empty means the 2021 default (`dcc_billing::schedule`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fees: Vec<FeePeriodConfig>,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            holder_key_secret: None,
            same_visit_window_minutes: default_same_visit_minutes(),
            close_grace_minutes: default_close_grace_minutes(),
            fees: Vec::new(),
        }
    }
}

impl BillingConfig {
    /// The validated settings for the billing use cases.
    pub fn settings(&self) -> Result<BillingSettings, dcc_billing::BillingError> {
        let schedule = if self.fees.is_empty() {
            FeeSchedule::default_2021()
        } else {
            FeeSchedule::from_config(&self.fees)?
        };
        Ok(BillingSettings {
            schedule,
            same_visit_window_seconds: self.same_visit_window_minutes.saturating_mul(60),
        })
    }
}

fn default_same_visit_minutes() -> i64 {
    120
}

fn default_close_grace_minutes() -> i64 {
    60
}

/// The first key for one certificate type: a file key (`key`) or a key in a PKCS#11 token
/// (`[signer.<type>.pkcs11]`), exactly one of them. Further keys come from `dcc keys rotate`
/// and live in the database's key registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// The DSC (PEM).
    pub certificate: PathBuf,
    /// The PKCS#8 key (PEM); empty when the key is in a PKCS#11 token.
    #[serde(default, skip_serializing_if = "path_is_empty")]
    pub key: PathBuf,
    /// The key in a PKCS#11 token, instead of `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs11: Option<Pkcs11KeyConfig>,
    /// Days from `iat` to `exp`.
    pub lifetime_days: i64,
}

/// A key in a PKCS#11 token. The PIN is named by its source, never written here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11KeyConfig {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// Where the user PIN comes from.
    pub pin: PinSource,
    /// The key's `CKA_LABEL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_label: Option<String>,
    /// The key's `CKA_ID`, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// Where a PKCS#11 PIN is read from at start-up: `{ env = "NAME" }` or `{ file = "path" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PinSource {
    /// An environment variable.
    Env(String),
    /// A file (its first line; relative to the configuration's folder).
    File(PathBuf),
}

/// Where the private key of a registered DSC lives, as stored in the key registry
/// (`signing_keys.key_ref`): never key material or a PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyLocation {
    /// A PKCS#8 PEM file (relative to the configuration's folder).
    File(PathBuf),
    /// A key in a PKCS#11 token.
    Pkcs11(Pkcs11KeyConfig),
}

/// The trust-list signing certificate and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustListConfig {
    /// The certificate (PEM), issued by the CSCA.
    pub certificate: PathBuf,
    /// The PKCS#8 P-256 key (PEM).
    pub key: PathBuf,
}

impl KeyConfig {
    /// Where the key is: the file or the token, whichever is configured. `None` when both or
    /// neither are.
    pub fn location(&self) -> Option<KeyLocation> {
        match (&self.pkcs11, self.key.as_os_str().is_empty()) {
            (None, false) => Some(KeyLocation::File(self.key.clone())),
            (Some(pkcs11), true) => Some(KeyLocation::Pkcs11(pkcs11.clone())),
            _ => None,
        }
    }
}

fn path_is_empty(path: &Path) -> bool {
    path.as_os_str().is_empty()
}

impl Config {
    /// Loads a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        config.base_dir = path.parent().map(Path::to_owned).unwrap_or_default();
        if let Ok(url) = std::env::var("DCC_DATABASE_URL") {
            config.database_url = url;
        }
        Ok(config)
    }

    /// The configuration as TOML text.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        Ok(toml::to_string_pretty(self)?)
    }

    /// A path from the configuration, resolved against the configuration's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The configuration `dcc init` writes for a development data folder: SQLite in the
    /// folder, the dev PKI's file layout, loopback ports 8443 (portal), 8444 (signer) and 8445
    /// (admin).
    pub fn development(base_dir: &Path) -> Self {
        let key = |kind: &str, lifetime_days| KeyConfig {
            certificate: PathBuf::from(format!("pki/dcc/dsc-{kind}.pem")),
            key: PathBuf::from(format!("pki/dcc/dsc-{kind}.key")),
            pkcs11: None,
            lifetime_days,
        };
        Self {
            database_url: format!("sqlite://{}", base_dir.join("dcc.db").display()),
            database: DatabaseConfig::default(),
            issuer: IssuerConfig {
                country: "DE".into(),
                name: "Robert Koch-Institut".into(),
            },
            portal: PortalConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
                tls_certificate: "pki/service/portal-server.pem".into(),
                tls_key: "pki/service/portal-server.key".into(),
                client_ca: "pki/ti/root-ca.pem".into(),
                client_crls: vec!["pki/ti/smcb-ca.crl".into()],
                allowed_professions: vec![OID_PUBLIC_PHARMACY.into()],
                max_in_flight: default_max_in_flight(),
            },
            signer: SignerConfig {
                vaccination: key("v", 365),
                test: key("t", 3),
                recovery: key("r", 180),
                listen: SocketAddr::from(([127, 0, 0, 1], 8444)),
                tls_certificate: "pki/service/signer-server.pem".into(),
                tls_key: "pki/service/signer-server.key".into(),
                client_ca: "pki/service/ca.pem".into(),
                portal_identity_certificate: "pki/service/portal-client.pem".into(),
                portal_identity_key: "pki/service/portal-client.key".into(),
            },
            admin: AdminConfig::default(),
            limits: RateLimits::default(),
            billing: BillingConfig::default(),
            trust_list: Some(TrustListConfig {
                certificate: "pki/trust-list/signer.pem".into(),
                key: "pki/trust-list/signer.key".into(),
            }),
            anomaly: AnomalySettings::default(),
            base_dir: base_dir.to_owned(),
        }
    }
}

/// Profession OID of a public pharmacy (german-context.md §5.4).
pub const OID_PUBLIC_PHARMACY: &str = "1.2.276.0.76.4.54";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_config_round_trips_through_toml() {
        let config = Config::development(Path::new("/data"));
        let text = config.to_toml().unwrap();
        assert!(
            text.contains("database_url = \"sqlite:///data/dcc.db\""),
            "{text}"
        );
        let mut parsed: Config = toml::from_str(&text).unwrap();
        parsed.base_dir = PathBuf::from("/data");
        assert_eq!(parsed, config);
        assert_eq!(
            parsed.resolve(Path::new("pki/ti/root-ca.pem")),
            PathBuf::from("/data/pki/ti/root-ca.pem")
        );
    }

    #[test]
    fn a_pkcs11_key_round_trips_and_names_no_pin() {
        let mut config = Config::development(Path::new("/data"));
        config.signer.test.key = PathBuf::new();
        config.signer.test.pkcs11 = Some(Pkcs11KeyConfig {
            module: "/usr/lib/softhsm/libsofthsm2.so".into(),
            token_label: "dcc".into(),
            pin: PinSource::Env("DCC_HSM_PIN".into()),
            key_label: Some("dsc-t".into()),
            key_id: None,
        });
        let text = config.to_toml().unwrap();
        assert!(text.contains("[signer.test.pkcs11]"), "{text}");
        assert!(text.contains("env = \"DCC_HSM_PIN\""), "{text}");
        let mut parsed: Config = toml::from_str(&text).unwrap();
        parsed.base_dir = PathBuf::from("/data");
        assert_eq!(parsed, config);
        assert!(matches!(
            parsed.signer.test.location(),
            Some(KeyLocation::Pkcs11(_))
        ));
        assert!(matches!(
            parsed.signer.vaccination.location(),
            Some(KeyLocation::File(_))
        ));
        config.signer.test.key = "both.key".into();
        assert_eq!(config.signer.test.location(), None);
    }

    #[test]
    fn billing_defaults_and_a_configured_fee_schedule() {
        let base = Config::development(Path::new("/d")).to_toml().unwrap();
        let config: Config = toml::from_str(&base).unwrap();
        let settings = config.billing.settings().unwrap();
        assert_eq!(settings.same_visit_window_seconds, 7200);
        assert_eq!(settings.schedule, FeeSchedule::default_2021());
        assert_eq!(config.billing.close_grace_minutes, 60);

        let custom = base.replace(
            "same_visit_window_minutes = 120",
            "same_visit_window_minutes = 30",
        ) + "\n[[billing.fees]]\nfrom = \"2022-01-01\"\nvaccination = { cents = 600, pzn = \"06461475\" }\n";
        let config: Config = toml::from_str(&custom).unwrap();
        let settings = config.billing.settings().unwrap();
        assert_eq!(settings.same_visit_window_seconds, 1800);
        assert_eq!(settings.schedule.to_config().len(), 1);

        let invalid = base + "\n[[billing.fees]]\nfrom = \"1.1.2022\"\n";
        let config: Config = toml::from_str(&invalid).unwrap();
        assert!(config.billing.settings().is_err());
    }

    #[test]
    fn anomaly_settings_come_from_their_section() {
        let base = Config::development(Path::new("/d")).to_toml().unwrap();
        assert!(base.contains("[anomaly.off_hours_repeated]"), "{base}");
        let config: Config = toml::from_str(&base).unwrap();
        assert_eq!(config.anomaly, AnomalySettings::default());
        let without: String = base.split("\n[anomaly").next().unwrap().to_owned();
        let config: Config = toml::from_str(&without).unwrap();
        assert_eq!(config.anomaly, AnomalySettings::default());
        let custom = base.replace(
            "[anomaly.burst]\naction = \"throttle\"",
            "[anomaly.burst]\naction = \"lock_pharmacy\"",
        );
        let config: Config = toml::from_str(&custom).unwrap();
        assert_eq!(
            config.anomaly.burst.action,
            dcc_anomaly::action::Action::LockPharmacy
        );
    }

    #[test]
    fn database_settings_default_when_absent() {
        let text = Config::development(Path::new("/d")).to_toml().unwrap();
        assert!(
            text.contains("[database]\nacquire_timeout_ms = 2000\n"),
            "{text}"
        );
        let start = text.find("[database]").unwrap();
        let end = start + text[start..].find("\n\n").unwrap();
        let without = format!("{}{}", &text[..start], &text[end..]);
        let config: Config = toml::from_str(&without).unwrap();
        assert_eq!(config.database, DatabaseConfig::default());
        let custom = text.replace("acquire_timeout_ms = 2000", "acquire_timeout_ms = 250");
        let config: Config = toml::from_str(&custom).unwrap();
        assert_eq!(config.database.acquire_timeout_ms, 250);
    }

    #[test]
    fn the_admin_listener_defaults_to_loopback_8445() {
        let config = Config::development(Path::new("/d"));
        let text = config.to_toml().unwrap();
        assert!(
            text.contains("[admin]\nlisten = \"127.0.0.1:8445\""),
            "{text}"
        );
        // Configuration files written before the admin listener existed stay valid.
        let without = text.replace("[admin]\nlisten = \"127.0.0.1:8445\"\n", "");
        assert_ne!(without, text);
        let parsed: Config = toml::from_str(&without).unwrap();
        assert_eq!(
            parsed.admin.listen,
            SocketAddr::from(([127, 0, 0, 1], 8445))
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = Config::development(Path::new("/d")).to_toml().unwrap() + "\nsurprise = 1\n";
        assert!(toml::from_str::<Config>(&text).is_err());
    }
}
