//! `dcc keys`: the DSC/key registry. `rotate` makes a new key and DSC the active one of a type
//! (running servers switch within seconds, without a restart); `generate --pkcs11` creates a
//! key inside a PKCS#11 token and its DSC; `list` shows what is registered and published.
//!
//! New DSCs are issued by the dev CSCA of the data folder (`pki/dcc/csca.pem|.key`). File keys
//! are written with mode 0600; no key material is ever printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use dcc_core::dsc::Dsc;
use dcc_core::model::certificate_type::CertificateType;
use dcc_hsm::key;
use dcc_pki::ca::CertificateAuthority;
use dcc_pki::dcc_signing::{dsc_request_for_p256_point, issue_dsc, issue_dsc_for_p256_point};
use dcc_pki::dev_pki::DevPki;
use dcc_server::config::{Config, KeyLocation, PinSource, Pkcs11KeyConfig};
use dcc_server::key_loader;
use dcc_server::key_registry::{self, KeyRegistry};
use dcc_store::signing_keys::{self, NewSigningKey, SigningKeyStatus};

use crate::{ConfigArgs, EXIT_VALID, block_on, clock, pki};

/// `dcc keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new key and DSC for a certificate type, publish it and make it the one that
    /// signs; the previous DSC stays published while certificates it signed are valid.
    Rotate(RotateArgs),
    /// Create a P-256 key inside a PKCS#11 token and its DSC (issued by the dev CSCA) or,
    /// with `--csr`, a certificate signing request for it; `--activate` also makes the DSC
    /// the active key of its type.
    Generate(GenerateArgs),
    /// List the registered DSCs: kid, type, status, whether published.
    List(ListArgs),
}

/// Arguments of `dcc keys rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The certificate type: v, t or r.
    #[arg(long = "type", value_name = "v|t|r", value_parser = parse_type)]
    certificate_type: CertificateType,
    /// Put the new key into a PKCS#11 token instead of a file.
    #[command(flatten)]
    pkcs11: Pkcs11Args,
}

/// Arguments of `dcc keys generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The certificate type the DSC may sign: v, t or r.
    #[arg(long = "type", value_name = "v|t|r", value_parser = parse_type)]
    certificate_type: CertificateType,
    /// The token (required: `generate` makes PKCS#11 keys).
    #[command(flatten)]
    pkcs11: Pkcs11Args,
    /// Register the new DSC as the active key of its type (as `rotate` does).
    #[arg(long, conflicts_with = "csr")]
    activate: bool,
    /// Write a certificate signing request (PEM, signed in the token) for a CSCA outside this
    /// system to FILE, instead of issuing the DSC from the dev CSCA.
    #[arg(long, value_name = "FILE")]
    csr: Option<PathBuf>,
}

/// Arguments of `dcc keys list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

/// Where a new PKCS#11 key goes.
#[derive(Debug, Args)]
pub struct Pkcs11Args {
    /// Create the key in a PKCS#11 token.
    #[arg(long)]
    pkcs11: bool,
    /// The PKCS#11 module.
    #[arg(long, value_name = "FILE", default_value = dcc_hsm::softhsm::DEFAULT_MODULE)]
    module: PathBuf,
    /// The token's label.
    #[arg(long, value_name = "LABEL")]
    token_label: Option<String>,
    /// The environment variable holding the user PIN.
    #[arg(long, value_name = "NAME", conflicts_with = "pin_file")]
    pin_env: Option<String>,
    /// The file holding the user PIN (first line).
    #[arg(long, value_name = "FILE")]
    pin_file: Option<PathBuf>,
    /// The key's label [default: dsc-<type>-<time>].
    #[arg(long, value_name = "LABEL")]
    key_label: Option<String>,
}

/// Runs `dcc keys …`.
pub fn run(command: &KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::Rotate(args) => new_key(
            &args.config,
            args.certificate_type,
            &args.pkcs11,
            !args.pkcs11.pkcs11,
            true,
        ),
        KeysCommand::Generate(args) => {
            if !args.pkcs11.pkcs11 {
                bail!("dcc keys generate makes PKCS#11 keys: give --pkcs11 and the token");
            }
            if let Some(csr) = &args.csr {
                return request(&args.config, args.certificate_type, &args.pkcs11, csr);
            }
            new_key(
                &args.config,
                args.certificate_type,
                &args.pkcs11,
                false,
                args.activate,
            )
        }
        KeysCommand::List(args) => list(&args.config),
    }
}

/// Creates a key (a file key when `file_key`, else in the token) and its DSC, writes the DSC,
/// checks that the key loads as a signer, and with `activate` registers it as active.
fn new_key(
    config_args: &ConfigArgs,
    certificate_type: CertificateType,
    pkcs11: &Pkcs11Args,
    file_key: bool,
    activate: bool,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(&config_args.config)?;
    let pki_dir = config.base_dir.join(pki::PKI_DIR);
    let csca = load_csca(&pki_dir)?;
    let now = clock::now_utc();
    let (dsc, location) = if file_key {
        let issued = issue_dsc(&csca, certificate_type, now).context("issuing the DSC")?;
        let dsc = Dsc::from_der(issued.certificate_der()).context("reading the new DSC")?;
        let stem = dsc_stem(certificate_type, &dsc);
        DevPki::write_issued(&pki_dir, &stem, &issued).context("writing the DSC and key")?;
        let key = Path::new(pki::PKI_DIR).join(format!("{stem}.key"));
        (dsc, KeyLocation::File(key))
    } else {
        let pkcs11 = pkcs11_config(pkcs11, certificate_type, now.unix_timestamp())?;
        let spec = key_loader::pkcs11_spec(&config, &pkcs11)?;
        let token = dcc_hsm::token::Token::open(&spec.module, &spec.token_label)?;
        let session = token.session(&spec.pin)?;
        let label = pkcs11.key_label.clone().unwrap_or_default();
        let public = key::generate_p256(&session, &label, label.as_bytes())
            .context("generating the key in the token")?;
        let certificate = issue_dsc_for_p256_point(&csca, certificate_type, now, public.point())
            .context("issuing the DSC")?;
        let dsc = Dsc::from_der(certificate.der()).context("reading the new DSC")?;
        let stem = dsc_stem(certificate_type, &dsc);
        DevPki::write_certificate(&pki_dir, &stem, &certificate).context("writing the DSC")?;
        (dsc, KeyLocation::Pkcs11(pkcs11))
    };
    // The key must load and sign before any server is told to use it.
    key_loader::load(&config, &location, &dsc).context("loading the new key")?;
    let certificate_path = pki_dir.join(format!("{}.pem", dsc_stem(certificate_type, &dsc)));
    println!(
        "new {certificate_type} DSC {} ({})",
        dsc.kid(),
        certificate_path.display()
    );
    if activate {
        let retired = block_on(async {
            let store = config_args.open_store().await?;
            // Publish what is configured first, so the DSC being retired is in the registry.
            KeyRegistry::new(&config, store.clone())
                .bootstrap(now.unix_timestamp())
                .await?;
            let key_ref = serde_json::to_string(&location)?;
            let kid = dsc.kid().to_base64();
            let mut tx = store.begin().await?;
            let retired = signing_keys::activate(
                &mut tx,
                &NewSigningKey {
                    kid: &kid,
                    certificate_type: key_registry::store_type(certificate_type),
                    certificate_der: dsc.as_der(),
                    key_ref: &key_ref,
                    now: now.unix_timestamp(),
                },
            )
            .await?;
            dcc_store::commit(tx).await?;
            store.close().await;
            anyhow::Ok(retired)
        })??;
        println!(
            "published now and active; running servers sign with it within {} s",
            key_registry::SWITCH_DELAY_SECONDS
                + i64::try_from(key_registry::REFRESH_INTERVAL.as_secs()).unwrap_or(0)
        );
        if let Some(retired) = retired {
            println!("retired {retired}: stays published until the certificates it signed expire");
        }
    }
    Ok(ExitCode::from(EXIT_VALID))
}

/// Creates a key in the token and writes a CSR for its DSC, signed in the token.
fn request(
    config_args: &ConfigArgs,
    certificate_type: CertificateType,
    pkcs11: &Pkcs11Args,
    output: &Path,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(&config_args.config)?;
    let now = clock::now_utc();
    let pkcs11 = pkcs11_config(pkcs11, certificate_type, now.unix_timestamp())?;
    let spec = key_loader::pkcs11_spec(&config, &pkcs11)?;
    let token = dcc_hsm::token::Token::open(&spec.module, &spec.token_label)?;
    let session = token.session(&spec.pin)?;
    let label = pkcs11.key_label.clone().unwrap_or_default();
    let public = key::generate_p256(&session, &label, label.as_bytes())
        .context("generating the key in the token")?;
    let selector = key::KeySelector::Label(label.clone());
    let sign = |message: &[u8]| key::sign_es256(&session, &selector, message).ok();
    let pem = dsc_request_for_p256_point(certificate_type, now, public.point(), &sign)
        .context("building the certificate signing request")?;
    std::fs::write(output, pem)
        .with_context(|| format!("writing the request {}", output.display()))?;
    println!(
        "new {certificate_type} key {label:?} in token {:?}; request written to {}",
        spec.token_label,
        output.display()
    );
    Ok(ExitCode::from(EXIT_VALID))
}

/// Prints the registry.
fn list(config_args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&config_args.config)?;
    block_on(async {
        let store = config_args.open_store().await?;
        let registry = KeyRegistry::new(&config, store.clone());
        let now = clock::now_utc().unix_timestamp();
        registry.bootstrap(now).await?;
        let published: Vec<_> = registry
            .published(now)
            .await?
            .into_iter()
            .map(|published| published.dsc.kid().to_base64())
            .collect();
        for key in signing_keys::list(store.pool()).await? {
            let status = match key.status {
                SigningKeyStatus::Active => "active",
                SigningKeyStatus::Retired => "retired",
            };
            let shown = if published.contains(&key.kid) {
                "published"
            } else {
                "unpublished"
            };
            println!(
                "{} {} {status} {shown}",
                key.kid,
                key.certificate_type.as_str()
            );
        }
        store.close().await;
        anyhow::Ok(())
    })??;
    Ok(ExitCode::from(EXIT_VALID))
}

fn pkcs11_config(
    args: &Pkcs11Args,
    certificate_type: CertificateType,
    now: i64,
) -> anyhow::Result<Pkcs11KeyConfig> {
    let Some(token_label) = args.token_label.clone() else {
        bail!("--pkcs11 needs --token-label");
    };
    let pin = match (&args.pin_env, &args.pin_file) {
        (Some(name), None) => PinSource::Env(name.clone()),
        (None, Some(path)) => PinSource::File(path.clone()),
        _ => bail!("--pkcs11 needs --pin-env NAME or --pin-file FILE"),
    };
    Ok(Pkcs11KeyConfig {
        module: args.module.clone(),
        token_label,
        pin,
        key_label: Some(
            args.key_label
                .clone()
                .unwrap_or_else(|| format!("dsc-{}-{now}", certificate_type.key())),
        ),
        key_id: None,
    })
}

fn load_csca(pki_dir: &Path) -> anyhow::Result<CertificateAuthority> {
    let read = |name: &str| {
        let path = pki_dir.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    };
    CertificateAuthority::from_pem(&read("dcc/csca.pem")?, &read("dcc/csca.key")?)
        .context("loading the dev CSCA")
}

/// `dcc/dsc-<type>-<kid hex>`, below the PKI folder.
fn dsc_stem(certificate_type: CertificateType, dsc: &Dsc) -> String {
    format!("dcc/dsc-{}-{}", certificate_type.key(), dsc.kid().to_hex())
}

fn parse_type(text: &str) -> Result<CertificateType, String> {
    CertificateType::ALL
        .into_iter()
        .find(|certificate_type| certificate_type.key() == text)
        .ok_or_else(|| format!("{text:?} is not v, t or r"))
}
