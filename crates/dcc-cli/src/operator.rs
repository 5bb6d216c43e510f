//! `dcc operator`: the association's command line for operator accounts (issue #5), through
//! the `dcc-issuance::operators` use cases (each change audited in the same transaction).
//! Owners manage their own pharmacy's accounts in the counter's web pages; this command can
//! manage every account, and it creates the first owner of a pharmacy and the administrators.
//!
//! Passwords are read from a file (never from the command line, where other users of the
//! machine could see them) or generated and printed once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use dcc_auth::role::Role;
use dcc_auth::totp::TotpSecret;
use dcc_core::verify::format_time;
use dcc_issuance::operators::{self, Actor, NewAccount};
use dcc_store::operators::ASSOCIATION_SCOPE;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{ConfigArgs, EXIT_VALID, block_on, clock, pki};

/// The `dcc operator` subcommands.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an account for a pharmacy's staff, or an association administrator.
    Add(AddArgs),
    /// List the accounts of a pharmacy (or of the association).
    List(ListArgs),
    /// Disable an account: it can no longer sign in; its sessions end.
    Disable(IdArgs),
    /// Set a new password; the second factor must be enrolled again at the next sign-in.
    Reset(ResetArgs),
}

/// Whose account: a pharmacy's or the association's.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ScopeArgs {
    /// The pharmacy's Telematik-ID.
    #[arg(long, value_name = "ID")]
    pharmacy: Option<String>,
    /// The association (administrators).
    #[arg(long)]
    association: bool,
}

impl ScopeArgs {
    fn scope(&self) -> anyhow::Result<String> {
        match &self.pharmacy {
            Some(id) => Ok(pki::parse_telematik_id(id)?.as_str().to_owned()),
            None => Ok(ASSOCIATION_SCOPE.to_owned()),
        }
    }
}

/// Arguments of `dcc operator add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Login name: 1 to 64 of a-z, 0-9, '.', '_' and '-'.
    #[arg(long)]
    username: String,
    /// owner, pharmacist, technician, or administrator (with --association).
    #[arg(long)]
    role: String,
    /// Read the initial password from this file (first line); default: generate one and print
    /// it once.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Enrol the second factor now and write the credentials (username, password, TOTP secret)
    /// to this new file, mode 0600 — for provisioning scripts and development. Without it, the
    /// operator enrols at the first sign-in.
    #[arg(long, value_name = "FILE")]
    credentials_out: Option<PathBuf>,
}

/// Arguments of `dcc operator list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `dcc operator disable`.
#[derive(Debug, Args)]
pub struct IdArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The operator's id (see `dcc operator list`).
    #[arg(long)]
    id: i64,
}

/// Arguments of `dcc operator reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// The operator's id (see `dcc operator list`).
    #[arg(long)]
    id: i64,
    /// Read the new password from this file; default: generate one and print it once.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

/// An operator's credentials as written by `--credentials-out` and `dcc init` (development).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialsFile {
    /// The pharmacy's Telematik-ID or `*`.
    pub scope: String,
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Base32 TOTP secret.
    pub totp_secret: String,
}

/// Runs a `dcc operator` subcommand.
pub fn run(command: &OperatorCommand) -> anyhow::Result<ExitCode> {
    block_on(async {
        match command {
            OperatorCommand::Add(args) => add(args).await,
            OperatorCommand::List(args) => list(args).await,
            OperatorCommand::Disable(args) => disable(args).await,
            OperatorCommand::Reset(args) => reset(args).await,
        }
    })?
}

async fn add(args: &AddArgs) -> anyhow::Result<ExitCode> {
    let scope = args.scope.scope()?;
    let role = Role::parse(&args.role)?;
    let (password, generated) = password(args.password_file.as_deref())?;
    if let Some(path) = &args.credentials_out
        && path.exists()
    {
        anyhow::bail!("{} exists already; choose a new file", path.display());
    }
    let secret = args
        .credentials_out
        .as_ref()
        .map(|_| random_secret())
        .transpose()?;
    let store = args.config.open_store().await?;
    let result = operators::create(
        &store,
        &Actor::CommandLine,
        &NewAccount {
            scope: &scope,
            username: &args.username,
            role,
            password: &password,
            totp_secret: secret.as_ref(),
        },
        clock::now(),
        random()?,
    )
    .await;
    store.close().await;
    let id = result?;
    println!(
        "created operator {id} {} ({role}) of {scope}",
        args.username
    );
    if let (Some(path), Some(secret)) = (&args.credentials_out, &secret) {
        write_credentials(
            path,
            &CredentialsFile {
                scope: scope.clone(),
                username: args.username.clone(),
                password: password.clone(),
                totp_secret: secret.to_base32(),
            },
        )?;
        println!(
            "second factor enrolled; credentials written to {}",
            path.display()
        );
    } else {
        println!("the operator enrols the second factor (TOTP) at the first sign-in");
    }
    if generated {
        println!("initial password (shown once): {password}");
    }
    Ok(ExitCode::from(EXIT_VALID))
}

async fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let scope = args.scope.scope()?;
    let store = args.config.open_store().await?;
    let result = operators::list(&store, &Actor::CommandLine, &scope).await;
    store.close().await;
    let accounts = result?;
    let now = clock::now();
    if args.json {
        let rows: Vec<_> = accounts
            .iter()
            .map(|account| {
                json!({
                    "id": account.operator.id,
                    "username": account.operator.username,
                    "role": account.operator.role.as_str(),
                    "totp_enrolled": account.totp_enrolled,
                    "locked": account.locked_until.is_some_and(|until| until > now),
                    "disabled": account.disabled_at.is_some(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::from(EXIT_VALID));
    }
    if accounts.is_empty() {
        println!("no operators in {scope}");
    }
    for account in &accounts {
        let mut state = Vec::new();
        if !account.totp_enrolled {
            state.push("enrols at first sign-in".to_owned());
        }
        if let Some(until) = account.locked_until.filter(|until| *until > now) {
            state.push(format!("locked until {}", format_time(until)));
        }
        if let Some(at) = account.disabled_at {
            state.push(format!("disabled since {}", format_time(at)));
        }
        println!(
            "{:>6}  {:<24} {:<14} {}",
            account.operator.id,
            account.operator.username,
            account.operator.role.as_str(),
            if state.is_empty() {
                "active".to_owned()
            } else {
                state.join(", ")
            }
        );
    }
    Ok(ExitCode::from(EXIT_VALID))
}

async fn disable(args: &IdArgs) -> anyhow::Result<ExitCode> {
    let store = args.config.open_store().await?;
    let result = operators::disable(&store, &Actor::CommandLine, args.id, clock::now()).await;
    store.close().await;
    result?;
    println!("operator {} is disabled; its sessions have ended", args.id);
    Ok(ExitCode::from(EXIT_VALID))
}

async fn reset(args: &ResetArgs) -> anyhow::Result<ExitCode> {
    let (password, generated) = password(args.password_file.as_deref())?;
    let store = args.config.open_store().await?;
    let result = operators::reset(
        &store,
        &Actor::CommandLine,
        args.id,
        &password,
        clock::now(),
        random()?,
    )
    .await;
    store.close().await;
    result?;
    println!(
        "operator {} has a new password and enrols the second factor at the next sign-in",
        args.id
    );
    if generated {
        println!("new password (shown once): {password}");
    }
    Ok(ExitCode::from(EXIT_VALID))
}

/// The password from the file's first line, or a generated one (`true`).
fn password(file: Option<&Path>) -> anyhow::Result<(String, bool)> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the password file {}", path.display()))?;
            let line = text.lines().next().unwrap_or("").to_owned();
            Ok((line, false))
        }
        None => Ok((generate_password()?, true)),
    }
}

/// 18 random bytes as 24 URL-safe characters.
pub fn generate_password() -> anyhow::Result<String> {
    let bytes: [u8; 18] = dcc_server::clock::random_bytes()
        .map_err(|_| anyhow::anyhow!("the system's random generator failed"))?;
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        bytes,
    ))
}

/// A new TOTP secret.
pub fn random_secret() -> anyhow::Result<TotpSecret> {
    let bytes = dcc_server::clock::random_bytes()
        .map_err(|_| anyhow::anyhow!("the system's random generator failed"))?;
    Ok(TotpSecret::from_bytes(bytes))
}

fn random() -> anyhow::Result<[u8; 16]> {
    dcc_server::clock::random().map_err(|_| anyhow::anyhow!("the system's random generator failed"))
}

/// Writes a credentials file that must not exist yet, readable by its owner only.
pub fn write_credentials(path: &Path, credentials: &CredentialsFile) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let text = format!(
        "# An operator's credentials (development and provisioning only). Keep it secret.\n{}",
        toml::to_string(credentials)?
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads a credentials file.
pub fn read_credentials(path: &Path) -> anyhow::Result<CredentialsFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the operator credentials {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Signs in at a portal's API with stored credentials and returns the bearer token. A code
/// can be used once: when the current one was (a sign-in a moment ago), this waits for the
/// next one.
pub async fn api_sign_in(
    client: &reqwest::Client,
    portal: &str,
    credentials: &CredentialsFile,
) -> anyhow::Result<String> {
    let secret = TotpSecret::from_base32(&credentials.totp_secret)
        .context("the credentials file holds a malformed TOTP secret")?;
    let url = format!("{portal}/api/auth/login");
    for attempt in 0..2 {
        let now = clock::now();
        let body = json!({
            "username": credentials.username,
            "password": credentials.password,
            "totp": secret.code_at(now),
        });
        let response = client
            .post(&url)
            .json(&body)
            .send()
            .await
            .context("signing in at the portal over mutual TLS")?;
        let status = response.status();
        let answer: serde_json::Value = response
            .json()
            .await
            .context("reading the sign-in answer")?;
        let code = answer.get("code").and_then(serde_json::Value::as_str);
        if status.is_success() {
            return answer
                .get("token")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .context("the portal's sign-in answer has no token");
        }
        if attempt == 0 && code == Some("totp_invalid") {
            let step = dcc_auth::totp::STEP_SECONDS;
            let wait = step - now.rem_euclid(step) + 1;
            println!("waiting {wait} s for the next one-time code");
            tokio::time::sleep(std::time::Duration::from_secs(
                u64::try_from(wait).unwrap_or(31),
            ))
            .await;
            continue;
        }
        anyhow::bail!("the portal refused the sign-in ({status}): {answer}");
    }
    anyhow::bail!("the portal refused the sign-in twice")
}
