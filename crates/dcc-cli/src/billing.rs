//! `dcc billing`: close a month into statements, reconcile it with the ledger, show a
//! pharmacy's statement, and list who fetched which month.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use dcc_billing::month::BillingMonth;
use dcc_billing::render::Format;
use dcc_issuance::billing::{Billing, CloseOutcome};
use dcc_server::config::Config;
use indicatif::{ProgressBar, ProgressStyle};

use crate::{ConfigArgs, EXIT_INVALID, EXIT_VALID, block_on, clock};

/// The `dcc billing` subcommands.
#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Close an ended month: one immutable statement per pharmacy. A closed month is not
    /// changed; running it again reports what was done before.
    Close(MonthArgs),
    /// Reconcile a closed month with the ledger (billed = issued − not billable, per
    /// pharmacy); exit 1 on any mismatch.
    Check(MonthArgs),
    /// Render a pharmacy's statement of a closed month.
    Show(ShowArgs),
    /// List which pharmacies fetched their statement of a month.
    Fetches(MonthArgs),
}

/// `--month` plus the configuration.
#[derive(Debug, Args)]
pub struct MonthArgs {
    /// The month, `YYYY-MM` (Europe/Berlin).
    #[arg(long, value_parser = parse_month)]
    month: BillingMonth,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Arguments of `dcc billing show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The month, `YYYY-MM`.
    #[arg(long, value_parser = parse_month)]
    month: BillingMonth,
    /// The pharmacy.
    #[arg(long)]
    telematik_id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Pdf)]
    format: FormatArg,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

/// A statement format on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Printable German PDF.
    Pdf,
    /// Semicolon-separated CSV.
    Csv,
    /// JSON (the stored content).
    Json,
}

/// Runs a `dcc billing` subcommand.
pub fn run(command: &BillingCommand) -> anyhow::Result<ExitCode> {
    match command {
        BillingCommand::Close(args) => block_on(close(args))?,
        BillingCommand::Check(args) => block_on(check(args))?,
        BillingCommand::Show(args) => block_on(show(args))?,
        BillingCommand::Fetches(args) => block_on(fetches(args))?,
    }
}

async fn close(args: &MonthArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(&args.config)?;
    let store = args.config.open_store().await?;
    let billing = Billing {
        store: &store,
        settings: &settings,
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{spinner} closing {msg}: [{bar:40}] {pos}/{len} pharmacies, {elapsed} ({eta} left)",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    bar.set_message(args.month.to_string());
    let result = billing
        .close_month(args.month, clock::now(), &|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await;
    let elapsed = bar.elapsed();
    bar.finish_and_clear();
    store.close().await;
    match result? {
        CloseOutcome::AlreadyClosed(closed) => println!(
            "{} was already closed: {} statements, total {} cents; nothing changed",
            closed.month, closed.statements, closed.total_cents
        ),
        CloseOutcome::Closed { month, written } => println!(
            "closed {}: {} statements ({} written now), total {} cents, in {:.1} s",
            month.month,
            month.statements,
            written,
            month.total_cents,
            elapsed.as_secs_f64()
        ),
    }
    Ok(ExitCode::from(EXIT_VALID))
}

async fn check(args: &MonthArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(&args.config)?;
    let store = args.config.open_store().await?;
    let billing = Billing {
        store: &store,
        settings: &settings,
    };
    let result = billing.check_month(args.month).await;
    store.close().await;
    let report = result?;
    let mismatches: Vec<_> = report.mismatches().collect();
    for line in &mismatches {
        let shown = |value: Option<i64>| value.map_or("none".to_owned(), |v| v.to_string());
        println!(
            "MISMATCH {}: ledger issued {}, not billable {}, expected billed {}; statement issued {}, billed {}",
            line.telematik_id,
            line.ledger_issued,
            line.ledger_not_billable,
            line.expected_billed,
            shown(line.statement_issued),
            shown(line.statement_billed)
        );
    }
    let issued: i64 = report.lines.iter().map(|l| l.ledger_issued).sum();
    let billed: i64 = report.lines.iter().map(|l| l.expected_billed).sum();
    println!(
        "{}: {} pharmacies, {} issued, {} billed, {} mismatches",
        report.month,
        report.lines.len(),
        issued,
        billed,
        mismatches.len()
    );
    Ok(ExitCode::from(if mismatches.is_empty() {
        EXIT_VALID
    } else {
        EXIT_INVALID
    }))
}

async fn show(args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(&args.config)?;
    let store = args.config.open_store().await?;
    let billing = Billing {
        store: &store,
        settings: &settings,
    };
    let format = match args.format {
        FormatArg::Pdf => Format::Pdf,
        FormatArg::Csv => Format::Csv,
        FormatArg::Json => Format::Json,
    };
    let result = billing.render(&args.telematik_id, args.month, format).await;
    store.close().await;
    let rendered = result?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &rendered.bytes)
                .with_context(|| format!("writing {}", path.display()))?;
            println!(
                "wrote {} ({} bytes, content SHA-256 {})",
                path.display(),
                rendered.bytes.len(),
                rendered.content_hash
            );
        }
        None => {
            use std::io::Write as _;
            std::io::stdout()
                .write_all(&rendered.bytes)
                .context("writing to standard output")?;
        }
    }
    Ok(ExitCode::from(EXIT_VALID))
}

async fn fetches(args: &MonthArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(&args.config)?;
    let store = args.config.open_store().await?;
    let billing = Billing {
        store: &store,
        settings: &settings,
    };
    let result = async {
        let fetches = billing.fetches(args.month).await?;
        let statements =
            dcc_store::billing::statement_pharmacies(store.pool(), &args.month.to_string()).await?;
        anyhow::Ok((fetches, statements))
    }
    .await;
    store.close().await;
    let (fetches, statements) = result?;
    let mut fetched = 0usize;
    for telematik_id in &statements {
        let mine: Vec<_> = fetches
            .iter()
            .filter(|f| &f.telematik_id == telematik_id)
            .collect();
        match mine.first() {
            Some(first) => {
                fetched += 1;
                println!(
                    "{telematik_id}  fetched {} time(s), first {} ({})",
                    mine.len(),
                    dcc_core::verify::format_time(first.fetched_at),
                    first.format
                );
            }
            None => println!("{telematik_id}  not fetched"),
        }
    }
    println!(
        "{}: {fetched} of {} pharmacies fetched their statement",
        args.month,
        statements.len()
    );
    Ok(ExitCode::from(EXIT_VALID))
}

fn settings(config: &ConfigArgs) -> anyhow::Result<dcc_issuance::billing::BillingSettings> {
    let config = Config::load(&config.config)?;
    config
        .billing
        .settings()
        .context("reading the billing configuration")
}

fn parse_month(text: &str) -> Result<BillingMonth, String> {
    BillingMonth::parse(text).map_err(|error| error.to_string())
}
