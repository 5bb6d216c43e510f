//! `dcc render`: the QR code (PNG, SVG) or the printable A4 certificate (PDF) of an HC1 string,
//! offline.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{ArgGroup, Args};
use dcc_render::Format;

use crate::{EXIT_INVALID, EXIT_VALID, input};

/// Arguments of `dcc render`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("format").required(true).args(["pdf", "png", "svg"])))]
pub struct RenderArgs {
    /// The A4 certificate page: QR code, names, date of birth, the entry in words (DE/EN).
    #[arg(long)]
    pdf: bool,
    /// The QR code as a PNG (1-bit, 300 dpi, 35–60 mm diagonal, 4-module quiet zone).
    #[arg(long)]
    png: bool,
    /// The QR code as an SVG document.
    #[arg(long)]
    svg: bool,
    /// An HC1 string, a file holding one, or a PNG/JPEG image of the QR code; `-` or
    /// nothing reads standard input.
    input: Option<String>,
    /// Where to write the output; standard output when left out (not onto a terminal for
    /// PDF and PNG).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

impl RenderArgs {
    fn format(&self) -> Format {
        if self.pdf {
            Format::Pdf
        } else if self.png {
            Format::Png
        } else {
            Format::Svg
        }
    }
}

/// Runs `dcc render`: exit 1 when the input is not a renderable HC1 string.
pub fn run(args: &RenderArgs) -> anyhow::Result<ExitCode> {
    let format = args.format();
    let text = input::read_hc1(args.input.as_deref())?;
    let bytes = match dcc_render::render(&text, format) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("dcc: cannot render [{}]: {error}", error.code());
            return Ok(ExitCode::from(EXIT_INVALID));
        }
    };
    match &args.output {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?
        }
        _ => {
            let mut stdout = std::io::stdout().lock();
            if format != Format::Svg && stdout.is_terminal() {
                bail!(
                    "not writing a {} file onto the terminal; use -o FILE",
                    format.extension()
                );
            }
            stdout
                .write_all(&bytes)
                .context("writing standard output")?;
            stdout.flush().context("writing standard output")?;
        }
    }
    Ok(ExitCode::from(EXIT_VALID))
}
