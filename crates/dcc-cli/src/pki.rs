//! `dcc pki`: issue and revoke institution (SMC-B) certificates of the development PKI in a
//! data folder written by `dcc init`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use dcc_pki::dev_pki::{DevPki, DevPkiError};
use dcc_pki::institution::OID_POLICY_SMC_B_AUT;
use dcc_pki::institution_request::{InstitutionRequest, Profile};
use dcc_pki::layout::Overwrite;
use dcc_pki::telematik_id::TelematikId;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::{EXIT_VALID, clock};

/// The `dcc pki` subcommands.
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Issue a C.HCI.AUT certificate for an institution from the dev SMC-B CA.
    IssueInstitution(IssueInstitutionArgs),
    /// Put an institution's certificate on the SMC-B CA's CRL (DIR/pki/ti/smcb-ca.crl).
    RevokeInstitution(RevokeInstitutionArgs),
}

/// Arguments of `dcc pki issue-institution`.
#[derive(Debug, Args)]
pub struct IssueInstitutionArgs {
    /// The data folder written by `dcc init` (the PKI is in DIR/pki).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The institution's Telematik-ID, written into the Admission extension.
    #[arg(long, value_name = "ID")]
    telematik_id: String,
    /// The institution's name (subject O and CN); default: `Apotheke <ID>`.
    #[arg(long)]
    name: Option<String>,
    /// The profession OID in the Admission; default: public pharmacy, 1.2.276.0.76.4.54.
    #[arg(long, value_name = "OID")]
    profession_oid: Option<String>,
    /// The profession in words in the Admission; default: `Öffentliche Apotheke`.
    #[arg(long, value_name = "TEXT")]
    profession_item: Option<String>,
    /// Days of validity from the start; default: 1825 (five years).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    valid_days: Option<u32>,
    /// Start of validity (RFC 3339, e.g. 2021-01-01T00:00:00Z); default: now. A past start
    /// with few --valid-days makes an expired certificate.
    #[arg(long, value_name = "RFC3339-TIME")]
    not_before: Option<String>,
    /// Follow the C.HCI.AUT profile, or leave out one required part (for negative tests).
    #[arg(long, value_enum, default_value_t = ProfileArg::Conforming)]
    profile: ProfileArg,
    /// Replace an existing certificate and key of this Telematik-ID.
    #[arg(long)]
    force: bool,
}

/// Arguments of `dcc pki revoke-institution`.
#[derive(Debug, Args)]
pub struct RevokeInstitutionArgs {
    /// The data folder written by `dcc init` (the PKI is in DIR/pki).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The Telematik-ID whose certificate in DIR/pki/institutions is revoked.
    #[arg(long, value_name = "ID")]
    telematik_id: String,
}

/// `--profile`: the choices of [`Profile`] offered on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// Everything the profile requires.
    Conforming,
    /// No Admission extension (no Telematik-ID, no profession).
    WithoutAdmission,
    /// No extended key usage clientAuth.
    WithoutClientAuth,
    /// No certificate policy 1.2.276.0.76.4.77 (SMC-B AUT).
    #[value(name = "without-policy-77")]
    WithoutPolicy77,
}

/// Runs a `dcc pki` subcommand.
pub fn run(command: &PkiCommand) -> anyhow::Result<ExitCode> {
    match command {
        PkiCommand::IssueInstitution(args) => issue_institution(args),
        PkiCommand::RevokeInstitution(args) => revoke_institution(args),
    }
}

/// The certificate and key file of an institution in a PKI folder (see `dcc_pki::layout`).
pub fn institution_files(pki_dir: &Path, telematik_id: &TelematikId) -> (PathBuf, PathBuf) {
    // Not `with_extension`: a stem such as `3-10.3.1234567000.10.999` contains dots.
    let folder = pki_dir.join(INSTITUTIONS_DIR);
    let stem = telematik_id.file_stem();
    (
        folder.join(format!("{stem}.pem")),
        folder.join(format!("{stem}.key")),
    )
}

fn issue_institution(args: &IssueInstitutionArgs) -> anyhow::Result<ExitCode> {
    let telematik_id = parse_telematik_id(&args.telematik_id)?;
    let pki_dir = pki_dir(&args.data)?;
    let dev_pki = load(&pki_dir)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("Apotheke {telematik_id}"));
    let mut request = InstitutionRequest::pharmacy(&name, telematik_id.clone());
    if let Some(text) = &args.profession_oid {
        request.profession_oid = text
            .parse()
            .map_err(|error| anyhow!("--profession-oid {text:?} is not an OID: {error}"))?;
    }
    if let Some(item) = &args.profession_item {
        request.profession_item.clone_from(item);
    }
    let now = clock::now_utc();
    let not_before = match &args.not_before {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
            anyhow!("--not-before {text:?} is not an RFC 3339 time such as 2021-01-01T00:00:00Z")
        })?,
        None => now,
    };
    request.not_before = Some(not_before);
    if let Some(days) = args.valid_days {
        request.not_after = Some(not_before + Duration::days(i64::from(days)));
    }
    request.profile = match args.profile {
        ProfileArg::Conforming => Profile::Conforming,
        ProfileArg::WithoutAdmission => Profile::WithoutAdmission,
        ProfileArg::WithoutClientAuth => Profile::WithoutClientAuth,
        ProfileArg::WithoutPolicy77 => Profile::WithoutPolicy(
            OID_POLICY_SMC_B_AUT
                .parse()
                .map_err(|error| anyhow!("the policy OID is malformed: {error}"))?,
        ),
    };
    let issued = dev_pki
        .issue_institution(&request, now)
        .context("issuing the institution certificate")?;
    let overwrite = if args.force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    DevPki::write_institution(&pki_dir, &telematik_id, &issued, overwrite).map_err(|error| {
        let hint = match error {
            DevPkiError::AlreadyExists { .. } => " (use --force to replace it)",
            _ => "",
        };
        anyhow::Error::new(error)
            .context(format!("writing the certificate of {telematik_id}{hint}"))
    })?;
    let serial = issued
        .certificate()
        .serial()
        .context("reading the serial of the new certificate")?;
    let (certificate, key) = institution_files(&pki_dir, &telematik_id);
    println!("certificate  {}", certificate.display());
    println!("key          {}", key.display());
    println!("serial       {serial}");
    Ok(ExitCode::from(EXIT_VALID))
}

fn revoke_institution(args: &RevokeInstitutionArgs) -> anyhow::Result<ExitCode> {
    let telematik_id = parse_telematik_id(&args.telematik_id)?;
    let pki_dir = pki_dir(&args.data)?;
    let dev_pki = load(&pki_dir)?;
    let Some(issued) = dev_pki.institutions().get(&telematik_id) else {
        bail!(
            "no certificate for Telematik-ID {telematik_id} in {}",
            pki_dir.join(INSTITUTIONS_DIR).display()
        );
    };
    let serial = issued
        .certificate()
        .serial()
        .with_context(|| format!("reading the serial of {telematik_id}'s certificate"))?;
    let mut revoked = dev_pki
        .smcb_crl()
        .revoked_serials()
        .with_context(|| format!("reading {}", pki_dir.join(SMCB_CRL).display()))?;
    let already = revoked.contains(&serial);
    if !already {
        revoked.push(serial.clone());
    }
    let crl = dev_pki
        .crl(&revoked, clock::now_utc())
        .context("issuing the CRL")?;
    DevPki::write_smcb_crl(&pki_dir, &crl).context("writing the CRL")?;
    let note = if already { " (already revoked)" } else { "" };
    println!("revoked serial {serial} of {telematik_id}{note}");
    println!("CRL            {}", pki_dir.join(SMCB_CRL).display());
    Ok(ExitCode::from(EXIT_VALID))
}

/// The PKI folder of a data folder, as an absolute path (for the paths printed).
fn pki_dir(data: &Path) -> anyhow::Result<PathBuf> {
    let data = std::path::absolute(data)
        .with_context(|| format!("resolving the data folder {}", data.display()))?;
    Ok(data.join(PKI_DIR))
}

fn load(pki_dir: &Path) -> anyhow::Result<DevPki> {
    DevPki::load_from(pki_dir).with_context(|| {
        format!(
            "loading the dev PKI from {} (create it with `dcc init`)",
            pki_dir.display()
        )
    })
}

/// Checks a Telematik-ID given on the command line.
pub fn parse_telematik_id(text: &str) -> anyhow::Result<TelematikId> {
    TelematikId::parse(text).with_context(|| format!("--telematik-id {text:?} is not valid"))
}

/// The PKI folder inside a data folder.
pub const PKI_DIR: &str = "pki";
/// The SMC-B CA certificate inside the PKI folder.
pub const SMCB_CA_CERTIFICATE: &str = "ti/smcb-ca.pem";
/// The SMC-B CA's CRL inside the PKI folder.
pub const SMCB_CRL: &str = "ti/smcb-ca.crl";
/// The institution certificates inside the PKI folder.
const INSTITUTIONS_DIR: &str = "institutions";
