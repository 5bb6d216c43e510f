//! The zlib layer between COSE and Base45 (dcc-spec.md §1.1, layer 4).

use std::io::Read;

use flate2::read::ZlibDecoder;

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

/// Compresses with zlib (RFC 1950) using stored deflate blocks (RFC 1951 §3.2.4).
///
/// A signed CWT is high-entropy, so deflate cannot shrink it: level 9 gives the same 364
/// bytes for a 353-byte COSE as stored blocks do. Writing the stored stream directly costs
/// well under a microsecond, where a general deflater spends several on setting up its
/// tables (measured in `benches/pipeline.rs`). Any conforming inflater reads the result.
pub fn deflate(bytes: &[u8]) -> Result<Vec<u8>, CompressError> {
    let blocks = bytes.len().div_ceil(MAX_STORED_BLOCK).max(1);
    let mut out = Vec::with_capacity(bytes.len() + 2 + blocks * 5 + 4);
    // CMF 0x78: deflate, 32 KiB window; FLG 0x01: no dictionary, fastest level, and
    // (0x78 << 8 | 0x01) is divisible by 31 as RFC 1950 requires.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut chunks = bytes.chunks(MAX_STORED_BLOCK).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[0x01, 0x00, 0x00, 0xFF, 0xFF]);
    }
    while let Some(chunk) = chunks.next() {
        let last = u8::from(chunks.peek().is_none());
        let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        out.push(last);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&adler32(bytes).to_be_bytes());
    Ok(out)
}

fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    // 5552 is the largest n for which the sums cannot overflow u32 before the reduction.
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in bytes.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
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

const MAX_STORED_BLOCK: usize = 65_535;

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
    fn stored_blocks_inflate_with_a_reference_inflater_and_split_at_64_kib() {
        for len in [0, 1, 353, 65_535, 65_536, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let ours = deflate(&data).unwrap();
            let mut reference = Vec::new();
            ZlibDecoder::new(ours.as_slice())
                .read_to_end(&mut reference)
                .unwrap();
            assert_eq!(reference, data, "length {len}");
            assert_eq!(
                ours.len(),
                data.len() + 2 + data.len().div_ceil(65_535).max(1) * 5 + 4
            );
        }
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn zip_bombs_are_refused() {
        use std::io::Write as _;
        let bomb = {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
            encoder.finish().unwrap()
        };
        assert!(matches!(inflate(&bomb), Err(CompressError::TooLarge)));
    }
}
