//! `dcc demo`: the whole issuing path on one machine, from nothing. It creates the dev PKI and
//! the SQLite database (unless the data folder already holds them), starts portal and
//! certificate server, signs in as the demo pharmacy's operator and issues a vaccination
//! certificate through real mutual TLS, verifies it with dcc-core, writes it to DIR/demo/hc1.txt and keeps serving.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use dcc_core::trust_list::TrustList;
use dcc_pki::dev_pki::DEFAULT_TELEMATIK_ID;
use dcc_server::config::Config;
use serde_json::{Value, json};

use crate::{EXIT_VALID, clock, init, operator, pki, serve};

/// Arguments of `dcc demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The data folder; created and initialised when it holds no `dcc.toml` yet.
    #[arg(long, default_value = "dcc-demo", value_name = "DIR")]
    data: PathBuf,
    /// Exit after the first certificate instead of serving on.
    #[arg(long)]
    once: bool,
}

/// Runs `dcc demo`.
pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let config_path = args.data.join(init::CONFIG_FILE);
    if !config_path.exists() {
        println!("initialising {}", args.data.display());
        init::initialize(&args.data, false)?;
    }
    let config = Config::load(&config_path)?;
    let data = config.base_dir.clone();
    serve::runtime()?.block_on(async {
        // With --once nobody else needs the portal: a free port avoids clashing with a
        // running `dcc serve`.
        let listen = args
            .once
            .then(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let portal = serve::start(&config, listen).await?;
        let base = format!("https://localhost:{}", portal.local_addr.port());
        let issued = issue_as_demo_pharmacy(&config, &base).await;
        let issued = match issued {
            Ok(issued) => issued,
            Err(error) => {
                portal.stop().await;
                return Err(error);
            }
        };
        let hc1 = issued
            .get("hc1")
            .and_then(Value::as_str)
            .context("the portal answered without hc1")?;
        let trust = dsc_trust_list(&config)?;
        let verification = dcc_core::verify::verify(hc1, &trust, clock::now())
            .context("the issued certificate does not decode")?;
        if !verification.is_valid() {
            bail!("the issued certificate does not verify: {verification:?}");
        }
        let out_dir = data.join("demo");
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("creating {}", out_dir.display()))?;
        let hc1_path = out_dir.join("hc1.txt");
        std::fs::write(&hc1_path, format!("{hc1}\n"))
            .with_context(|| format!("writing {}", hc1_path.display()))?;
        summary(&config, &issued, &hc1_path, portal.local_addr);
        if !args.once {
            println!("\nserving on https://{} — Ctrl-C stops", portal.local_addr);
            serve::shutdown_signal().await;
        }
        portal.stop().await;
        Ok(ExitCode::from(EXIT_VALID))
    })
}

async fn issue_as_demo_pharmacy(config: &Config, base: &str) -> anyhow::Result<Value> {
    let pki_dir = config.base_dir.join(pki::PKI_DIR);
    let telematik_id = pki::parse_telematik_id(DEFAULT_TELEMATIK_ID)?;
    let (certificate, key) = pki::institution_files(&pki_dir, &telematik_id);
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let identity = format!(
        "{}{}{}",
        read(&certificate)?,
        read(&pki_dir.join(pki::SMCB_CA_CERTIFICATE))?,
        read(&key)?
    );
    let service_ca = std::fs::read(config.resolve(&config.signer.client_ca))
        .context("reading the service CA")?;
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&service_ca)?])
        .identity(reqwest::Identity::from_pem(identity.as_bytes())?)
        .build()
        .context("building the TLS client")?;
    let credentials = operator::read_credentials(&config.base_dir.join(init::DEMO_OPERATOR_FILE))?;
    let token = operator::api_sign_in(&client, base, &credentials).await?;
    let body = json!({
        "nam": {"fn": "Musterfrau-Gößinger", "gn": "Erika Dörte"},
        "dob": "1964-08-12",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
               "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-06-01"}]
    });
    let response = client
        .post(format!("{base}/api/certify/v2/issue"))
        .bearer_auth(token)
        .header("Idempotency-Key", "dcc-demo-1")
        .json(&body)
        .send()
        .await
        .context("calling the portal over mutual TLS")?;
    let status = response.status();
    let answer: Value = response
        .json()
        .await
        .context("reading the portal's answer")?;
    if !status.is_success() {
        bail!("the portal refused ({status}): {answer}");
    }
    Ok(answer)
}

fn dsc_trust_list(config: &Config) -> anyhow::Result<TrustList> {
    let mut trust = TrustList::new();
    for key in [
        &config.signer.vaccination,
        &config.signer.test,
        &config.signer.recovery,
    ] {
        let path = config.resolve(&key.certificate);
        let pem = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        trust.extend(TrustList::from_certificates(&pem)?.iter().cloned());
    }
    Ok(trust)
}

fn summary(config: &Config, issued: &Value, hc1_path: &Path, address: std::net::SocketAddr) {
    let dsc = config.resolve(&config.signer.vaccination.certificate);
    println!("issued a vaccination certificate as {DEFAULT_TELEMATIK_ID} through mutual TLS");
    println!("  portal     https://{address}");
    println!(
        "  UVCI       {}",
        issued.get("uvci").and_then(Value::as_str).unwrap_or("?")
    );
    println!(
        "  expires    {}",
        issued
            .get("expires_at")
            .and_then(Value::as_str)
            .unwrap_or("?")
    );
    println!("  HC1        {}", hc1_path.display());
    println!("  DSC        {}", dsc.display());
    println!("  database   {}", config.database_url);
    println!("check it:");
    println!(
        "  dcc verify --trust {} {}",
        dsc.display(),
        hc1_path.display()
    );
}
