//! The zlib layer between COSE and Base45 (dcc-spec.md §1.1, layer 4).

use std::io::{Read, Write};

use flate2::Compression as Level;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

/// Why the compressed layer could not be inflated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompressError {
    /// The zlib stream is broken (bad header, bad deflate data or checksum).
    #[error("the zlib stream is broken: {0}")]
    Inflate(#[source] std::io::Error),
    /// The inflated data exceeds [`MAX_INFLATED_LEN`]; a QR code cannot hold a real one.
    #[error("the zlib stream inflates to more than {MAX_INFLATED_LEN} bytes")]
    TooLarge,
    /// Deflating failed (only possible through an allocation failure).
    #[error("deflating failed: {0}")]
    Deflate(#[source] std::io::Error),
}

/// How the signed COSE bytes were found inside the Base45 layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A zlib stream, as the specification requires.
    Zlib,
    /// Raw COSE bytes without zlib, which verifiers accept (dcc-spec.md §1.7 step 3).
    Uncompressed,
}

/// Upper bound for inflated data: a version-40 QR code holds at most 1,610 compressed bytes
/// at level Q (dcc-spec.md §1.6), so anything near this bound is an attack, not a certificate.
pub const MAX_INFLATED_LEN: u64 = 64 * 1024;

/// Compresses with zlib.
///
/// A signed CWT is high-entropy, so deflate cannot shrink it; level 0 (stored blocks) gives
/// the same size as level 9 at a fraction of the cost (measured in `benches/pipeline.rs`).
pub fn deflate(bytes: &[u8]) -> Result<Vec<u8>, CompressError> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(bytes.len() + 16), Level::new(LEVEL));
    encoder.write_all(bytes).map_err(CompressError::Deflate)?;
    encoder.finish().map_err(CompressError::Deflate)
}

/// Inflates a zlib stream, or passes raw COSE through when the data does not start with a
/// zlib header but with a COSE/CBOR start byte (tag 18, tag 61 or a 4-element array).
pub fn inflate(bytes: &[u8]) -> Result<(Vec<u8>, Compression), CompressError> {
    if !looks_like_zlib(bytes) && looks_like_cose(bytes) {
        return Ok((bytes.to_vec(), Compression::Uncompressed));
    }
    inflate_zlib(bytes).map(|inflated| (inflated, Compression::Zlib))
}

/// Inflates a zlib stream strictly, without the raw-COSE fallback.
pub fn inflate_zlib(bytes: &[u8]) -> Result<Vec<u8>, CompressError> {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut decoder = ZlibDecoder::new(bytes).take(MAX_INFLATED_LEN + 1);
    decoder
        .read_to_end(&mut out)
        .map_err(CompressError::Inflate)?;
    if out.len() as u64 > MAX_INFLATED_LEN {
        return Err(CompressError::TooLarge);
    }
    Ok(out)
}

fn looks_like_zlib(bytes: &[u8]) -> bool {
    // RFC 1950: CM = 8 (deflate) in the low nibble and the 16-bit header divisible by 31.
    matches!(bytes, [cmf, flg, ..] if cmf & 0x0F == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0)
}

fn looks_like_cose(bytes: &[u8]) -> bool {
    matches!(bytes, [0xD2, ..] | [0x84, ..] | [0xD8, 0x3D, ..])
}

const LEVEL: u32 = 0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let data = b"\xD2\x84 some cose bytes".repeat(10);
        let compressed = deflate(&data).unwrap();
        assert_eq!(&compressed[..1], &[0x78]);
        assert_eq!(inflate(&compressed).unwrap(), (data, Compression::Zlib));
    }

    #[test]
    fn raw_cose_passes_through() {
        let data = vec![0xD2, 0x84, 0x40, 0xA0, 0x40, 0x40];
        assert_eq!(
            inflate(&data).unwrap(),
            (data.clone(), Compression::Uncompressed)
        );
        assert!(inflate_zlib(&data).is_err());
    }

    #[test]
    fn broken_stream_is_an_error() {
        let mut compressed = deflate(b"hello world hello world").unwrap();
        let last = compressed.len() - 1;
        compressed[last] ^= 0xFF;
        assert!(matches!(
            inflate(&compressed),
            Err(CompressError::Inflate(_))
        ));
    }

    #[test]
    fn zip_bombs_are_refused() {
        let bomb = {
            let mut encoder = ZlibEncoder::new(Vec::new(), Level::best());
            encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
            encoder.finish().unwrap()
        };
        assert!(matches!(inflate(&bomb), Err(CompressError::TooLarge)));
    }
}
