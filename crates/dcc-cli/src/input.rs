//! Reading the certificate to check: an HC1 string, a file holding one, an image of the QR
//! code, or standard input.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};

/// Reads the HC1 text named by `input`: `None` or `-` reads standard input; text starting
/// with `HC` is taken as the code itself; anything else is a path to a text file or a
/// PNG/JPEG image of the QR code.
pub fn read_hc1(input: Option<&str>) -> anyhow::Result<String> {
    let bytes = match input {
        None | Some("-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading standard input")?;
            bytes
        }
        Some(text) if looks_like_hc1(text) => return Ok(text.trim().to_owned()),
        Some(path) => {
            let path = Path::new(path);
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
        }
    };
    if is_image(&bytes) {
        return dcc_qr::read_image(&bytes).context("reading the QR code from the image");
    }
    match String::from_utf8(bytes) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        Ok(_) => bail!("the input is empty"),
        Err(_) => bail!("the input is neither text nor a PNG/JPEG image"),
    }
}

fn looks_like_hc1(text: &str) -> bool {
    // HC1 codes, and other `HCn:` versions, which decoding then rejects with a clear message.
    let bytes = text.trim_start().as_bytes();
    matches!(bytes, [b'H', b'C', _, b':', ..])
}

fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}
