//! `dcc decode`: the layers of a certificate, without verification.

use std::process::ExitCode;

use clap::Args;
use dcc_core::hcert::cose::{Header, HeaderAlgorithm};
use dcc_core::hcert::{self, DecodedHcert};
use dcc_core::verify::format_time;
use serde_json::{Value, json};

use crate::{EXIT_INVALID, EXIT_VALID, input};

/// Arguments of `dcc decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// An HC1 string, a file holding one, or a PNG/JPEG image of the QR code; `-` or
    /// nothing reads standard input.
    input: Option<String>,
}

/// Runs `dcc decode`: prints the layers as JSON; exit 1 when the input does not decode.
pub fn run(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let text = input::read_hc1(args.input.as_deref())?;
    match hcert::decode(&text) {
        Ok(decoded) => {
            println!("{}", serde_json::to_string_pretty(&layers(&decoded))?);
            Ok(ExitCode::from(EXIT_VALID))
        }
        Err(error) => {
            eprintln!("dcc: cannot decode [{}]: {error}", error.code());
            Ok(ExitCode::from(EXIT_INVALID))
        }
    }
}

fn layers(decoded: &DecodedHcert) -> Value {
    let claims = &decoded.claims;
    json!({
        "compressed": matches!(decoded.compression, hcert::compress::Compression::Zlib),
        "cose": {
            "tagging": format!("{:?}", decoded.cose.tagging),
            "protected": header(&decoded.cose.protected),
            "unprotected": header(&decoded.cose.unprotected),
            "signature_length": decoded.cose.signature.len(),
        },
        "claims": {
            "iss": claims.issuer,
            "iat": claims.issued_at,
            "iat_time": claims.issued_at.map(format_time),
            "exp": claims.expires_at,
            "exp_time": claims.expires_at.map(format_time),
        },
        "payload": decoded.payload,
    })
}

fn header(header: &Header) -> Value {
    let algorithm = header.algorithm.map(|algorithm| match algorithm {
        HeaderAlgorithm::Value(value) => Value::from(value),
        HeaderAlgorithm::NotAnInteger => Value::from("not an integer"),
    });
    let kid = header.kid.as_deref().map(|kid| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(kid)
    });
    json!({"alg": algorithm, "kid": kid})
}
