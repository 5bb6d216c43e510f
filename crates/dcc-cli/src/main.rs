//! The `dcc` command line: verify and decode EU Digital COVID Certificates.
//!
//! Thin by design: it parses arguments, reads files and the clock, and calls `dcc-core`.

mod decode;
mod input;
mod report;
mod trust;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Issue, verify and inspect EU Digital COVID Certificates (HCERT, "HC1:" codes).
#[derive(Debug, Parser)]
#[command(name = "dcc", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify a certificate: signature, validity window, key usage, schema and value sets.
    ///
    /// Exit status: 0 valid, 1 invalid (including input that is not a decodable HC1 code),
    /// 2 unreadable input (missing file, image without QR code) or wrong usage.
    Verify(verify::VerifyArgs),
    /// Print the layers of a certificate (COSE headers, CWT claims, payload) without verifying.
    Decode(decode::DecodeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify(args) => verify::run(&args),
        Command::Decode(args) => decode::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dcc: error: {error:#}");
            ExitCode::from(EXIT_UNREADABLE)
        }
    }
}

/// Exit status for a valid certificate.
const EXIT_VALID: u8 = 0;
/// Exit status for an invalid certificate.
const EXIT_INVALID: u8 = 1;
/// Exit status for unreadable input or wrong usage (clap uses 2 for usage errors too).
const EXIT_UNREADABLE: u8 = 2;
