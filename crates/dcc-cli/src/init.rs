//! `dcc init`: a development data folder with everything `dcc serve` needs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use dcc_auth::role::Role;
use dcc_issuance::operators::{self, Actor, AuthError, NewAccount};
use dcc_issuance::registry::{self, RegistryError};
use dcc_pki::dev_pki::{DEFAULT_PHARMACY_NAME, DevPki};
use dcc_pki::layout::{HOLDER_KEY_SECRET_FILE, Overwrite, TRUST_LIST_PUBLIC_KEY};
use dcc_server::config::Config;
use dcc_store::Store;
use dcc_store::operators::ASSOCIATION_SCOPE;

use crate::{EXIT_VALID, block_on, clock, operator, pki};

/// Arguments of `dcc init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The data folder to create (or fill); it receives `dcc.toml`, `dcc.db` and `pki/`.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Replace an existing dev PKI (DIR/pki is deleted first) and configuration; the database
    /// and its registry and audit log are kept.
    #[arg(long)]
    force: bool,
}

/// Runs `dcc init`: dev PKI in DIR/pki, configuration DIR/dcc.toml, database with migrations,
/// the dev PKI's pharmacy registered with its owner `demo` (credentials in
/// DIR/operators/demo.toml), and the association's administrator `admin` (credentials in
/// DIR/operators/admin.toml, client certificate DIR/pki/service/admin-client.pem). Exit 2 when DIR already holds a PKI or configuration
/// and `--force` is not given.
pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    initialize(&args.data, args.force)?;
    Ok(ExitCode::from(EXIT_VALID))
}

/// Creates (or with `force` replaces) a development data folder and prints what it made.
pub fn initialize(data: &Path, force: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("creating the data folder {}", data.display()))?;
    let data = std::path::absolute(data)
        .with_context(|| format!("resolving the data folder {}", data.display()))?;
    let pki_dir = data.join(pki::PKI_DIR);
    let config_path = data.join(CONFIG_FILE);
    if !force {
        for existing in [&pki_dir, &config_path] {
            if existing.exists() {
                bail!(
                    "{} already exists; refusing to overwrite an initialised data folder \
                     (use --force to replace the dev PKI and configuration)",
                    existing.display()
                );
            }
        }
    }
    let now = clock::now_utc();
    let dev_pki = DevPki::generate(now).context("generating the dev PKI")?;
    if force && pki_dir.exists() {
        std::fs::remove_dir_all(&pki_dir)
            .with_context(|| format!("removing the old dev PKI {}", pki_dir.display()))?;
    }

    dev_pki
        .write_to(&pki_dir, Overwrite::Refuse)
        .context("writing the dev PKI")?;
    let Some(telematik_id) = dev_pki.institutions().keys().next() else {
        bail!("the generated dev PKI holds no institution certificate");
    };

    let credentials_path = data.join(DEMO_OPERATOR_FILE);
    let admin_credentials_path = data.join(ADMIN_OPERATOR_FILE);
    let secret_path = data.join(HOLDER_KEY_SECRET_FILE);
    let secret_created = write_holder_key_secret(&secret_path)?;
    let mut development = Config::development(&data);
    development.billing.holder_key_secret = Some(HOLDER_KEY_SECRET_FILE.into());
    let text = development.to_toml()?;
    std::fs::write(&config_path, text)
        .with_context(|| format!("writing the configuration {}", config_path.display()))?;
    // Read back as every other command reads it (DCC_DATABASE_URL may point elsewhere).
    let config = Config::load(&config_path)?;

    let registered = block_on(async {
        let store = Store::connect(&config.database_url)
            .await
            .with_context(|| format!("creating the database {}", config.database_url))?;
        if force {
            // The old dev PKI's DSCs stop signing; the new configured ones take over.
            let mut tx = store.begin().await?;
            dcc_store::signing_keys::retire_all(&mut tx, now.unix_timestamp()).await?;
            dcc_store::commit(tx).await?;
        }
        let result = registry::register(
            &store,
            &Actor::CommandLine,
            telematik_id.as_str(),
            DEFAULT_PHARMACY_NAME,
            DEFAULT_PHARMACY_ADDRESS,
            None,
            now.unix_timestamp(),
        )
        .await;
        let registration = match result {
            Ok(pharmacy) => Ok(Registration::New(pharmacy.issuer_segment)),
            // `--force` keeps the database, and with it the pharmacy registered before.
            Err(RegistryError::AlreadyRegistered { .. }) => Ok(Registration::Kept),
            Err(error) => Err(anyhow::Error::new(error)
                .context(format!("registering the pharmacy {telematik_id}"))),
        };
        let demo = Account {
            scope: telematik_id.as_str(),
            username: DEMO_OPERATOR_USERNAME,
            role: Role::Owner,
            credentials_path: &credentials_path,
        };
        let administrator = Account {
            scope: ASSOCIATION_SCOPE,
            username: ADMIN_OPERATOR_USERNAME,
            role: Role::Administrator,
            credentials_path: &admin_credentials_path,
        };
        let accounts = match &registration {
            Ok(_) => match create_operator(&store, &demo, now).await {
                Ok(demo) => create_operator(&store, &administrator, now)
                    .await
                    .map(|administrator| Some((demo, administrator))),
                Err(error) => Err(error),
            },
            Err(_) => Ok(None),
        };
        store.close().await;
        Ok::<_, anyhow::Error>((registration?, accounts?))
    })??;
    let (registered, accounts) = registered;
    let label = |account: Option<&Provisioned>| match account {
        Some(Provisioned::Created) => "created",
        _ => "kept",
    };
    let demo_operator = label(accounts.as_ref().map(|(demo, _)| demo));
    let administrator = label(accounts.as_ref().map(|(_, administrator)| administrator));

    let (certificate, key) = pki::institution_files(&pki_dir, telematik_id);
    let registration = match registered {
        Registration::New(segment) => format!("registered, issuer segment {segment}"),
        Registration::Kept => "already registered, kept".to_owned(),
    };
    println!("initialised the development data folder {}", data.display());
    let resolve = |path: &Path| config.resolve(path).display().to_string();
    let rows = [
        ("config", config_path.display().to_string()),
        ("database", config.database_url.clone()),
        ("TI root CA", resolve(&config.portal.client_ca)),
        (
            "SMC-B CA",
            pki_dir.join(pki::SMCB_CA_CERTIFICATE).display().to_string(),
        ),
        (
            "SMC-B CRL",
            pki_dir.join(pki::SMCB_CRL).display().to_string(),
        ),
        (
            "pharmacy",
            format!("{telematik_id} \"{DEFAULT_PHARMACY_NAME}\" ({registration})"),
        ),
        ("  certificate", certificate.display().to_string()),
        ("  key", key.display().to_string()),
        (
            "  operator",
            format!(
                "{DEMO_OPERATOR_USERNAME}, owner ({demo_operator}): {}",
                credentials_path.display()
            ),
        ),
        (
            "administrator",
            format!(
                "{ADMIN_OPERATOR_USERNAME} ({administrator}): {}",
                admin_credentials_path.display()
            ),
        ),
        ("admin listener", format!("https://{}", config.admin.listen)),
        (
            "  certificate",
            pki_dir.join(ADMIN_CLIENT_CERTIFICATE).display().to_string(),
        ),
        (
            "DSC vaccination",
            resolve(&config.signer.vaccination.certificate),
        ),
        ("DSC test", resolve(&config.signer.test.certificate)),
        ("DSC recovery", resolve(&config.signer.recovery.certificate)),
        (
            "holder key",
            format!(
                "{} ({})",
                secret_path.display(),
                if secret_created { "created" } else { "kept" }
            ),
        ),
        (
            "trust-list key",
            pki_dir.join(TRUST_LIST_PUBLIC_KEY).display().to_string(),
        ),
    ];
    for (label, value) in rows {
        println!("  {label:<16} {value}");
    }
    Ok(())
}

/// Writes 32 random bytes (mode 0600) unless the file exists: the holder-key secret must
/// survive `--force`, or certificates before and after could not be linked. Returns whether it
/// was created.
fn write_holder_key_secret(path: &Path) -> anyhow::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    let mut secret = Vec::with_capacity(32);
    for _ in 0..2 {
        secret.extend(
            dcc_server::clock::random()
                .map_err(|_| anyhow::anyhow!("the system's random generator failed"))?,
        );
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the holder-key secret {}", path.display()))?;
    std::io::Write::write_all(&mut file, &secret)
        .with_context(|| format!("writing the holder-key secret {}", path.display()))?;
    Ok(true)
}

/// An account `dcc init` provisions, and where its credentials go.
struct Account<'a> {
    scope: &'a str,
    username: &'a str,
    role: Role,
    credentials_path: &'a Path,
}

/// Creates an account with an enrolled second factor (the demo pharmacy's owner `demo`, the
/// association's administrator `admin`) and writes its credentials file, unless the account
/// exists (`--force` keeps the database).
async fn create_operator(
    store: &Store,
    account: &Account<'_>,
    now: time::OffsetDateTime,
) -> anyhow::Result<Provisioned> {
    let password = operator::generate_password()?;
    let secret = operator::random_secret()?;
    let salt = dcc_server::clock::random()
        .map_err(|_| anyhow::anyhow!("the system's random generator failed"))?;
    let created = operators::create(
        store,
        &Actor::CommandLine,
        &NewAccount {
            scope: account.scope,
            username: account.username,
            role: account.role,
            password: &password,
            totp_secret: Some(&secret),
        },
        now.unix_timestamp(),
        salt,
    )
    .await;
    match created {
        Ok(_) => {
            let path = account.credentials_path;
            if path.exists() {
                std::fs::remove_file(path)
                    .with_context(|| format!("replacing {}", path.display()))?;
            }
            operator::write_credentials(
                path,
                &operator::CredentialsFile {
                    scope: account.scope.to_owned(),
                    username: account.username.to_owned(),
                    password,
                    totp_secret: secret.to_base32(),
                },
            )?;
            Ok(Provisioned::Created)
        }
        Err(AuthError::UsernameTaken) => Ok(Provisioned::Kept),
        Err(error) => Err(anyhow::Error::new(error)
            .context(format!("creating the operator {}", account.username))),
    }
}

/// Whether `dcc init` created an account or found it.
enum Provisioned {
    /// Created now; its credentials file is new.
    Created,
    /// Existed before (`--force` on an existing database).
    Kept,
}

/// Whether `dcc init` registered the default pharmacy or found it registered.
enum Registration {
    /// Registered now, with this issuer segment.
    New(String),
    /// Registered before (`--force` on an existing database).
    Kept,
}

/// The demo operator's credentials inside the data folder (development only).
pub const DEMO_OPERATOR_FILE: &str = "operators/demo.toml";

/// The demo pharmacy's owner account.
pub const DEMO_OPERATOR_USERNAME: &str = "demo";

/// The association administrator's credentials inside the data folder (development only).
pub const ADMIN_OPERATOR_FILE: &str = "operators/admin.toml";

/// The association's administrator account (scope `*`), for the admin listener.
pub const ADMIN_OPERATOR_USERNAME: &str = "admin";

/// The administrator's client certificate inside the PKI folder.
const ADMIN_CLIENT_CERTIFICATE: &str = "service/admin-client.pem";

/// The configuration file inside the data folder.
pub const CONFIG_FILE: &str = "dcc.toml";
/// The address of the dev PKI's pharmacy.
const DEFAULT_PHARMACY_ADDRESS: &str = "Dev-Markt 1, 10115 Berlin";
