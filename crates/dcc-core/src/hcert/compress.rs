//! The zlib layer between COSE and Base45 (dcc-spec.md §1.1, layer 4).

/// Why the compressed layer could not be inflated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompressError {
    /// The zlib stream is broken (bad header, bad deflate data or checksum).
    #[error("the zlib stream is broken: {0}")]
    Inflate(#[source] InflateError),
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

/// Inflates a zlib stream strictly, without the raw-COSE fallback. The Adler-32 trailer is
/// checked; output beyond [`MAX_INFLATED_LEN`] is refused.
pub fn inflate_zlib(bytes: &[u8]) -> Result<Vec<u8>, CompressError> {
    // A signed CWT does not compress, so many issuers (this one included) send stored
    // blocks; reading those needs no decompressor at all.
    if let Some(stored) = inflate_stored(bytes)? {
        return Ok(stored);
    }
    // One-shot decompression into a vector: no 32 KiB streaming window to set up, which
    // matters for payloads of a few hundred bytes (measured in `benches/pipeline.rs`).
    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(bytes, LIMIT).map_err(|error| {
        match error.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => CompressError::TooLarge,
            status => CompressError::Inflate(InflateError(status)),
        }
    })
}

/// Reads a zlib stream that consists only of stored deflate blocks (RFC 1951 §3.2.4), checking
/// the lengths and the Adler-32 trailer. `None` when the stream uses compressed blocks (the
/// general inflater takes those).
fn inflate_stored(bytes: &[u8]) -> Result<Option<Vec<u8>>, CompressError> {
    let broken = |status| Err(CompressError::Inflate(InflateError(status)));
    let [cmf, flg, rest @ ..] = bytes else {
        return Ok(None);
    };
    // No preset dictionary (FDICT), deflate with a valid header check.
    if cmf & 0x0F != 8 || flg & 0x20 != 0 || (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 != 0 {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(rest.len());
    let mut rest = rest;
    loop {
        // A stored block header is one byte (BFINAL, BTYPE = 00, padding) when the previous
        // block ended on a byte boundary, as stored blocks always do.
        let [header, len_lo, len_hi, nlen_lo, nlen_hi, tail @ ..] = rest else {
            return Ok(None);
        };
        if header & 0b110 != 0 || header & 0xF8 != 0 {
            return Ok(None);
        }
        let len = u16::from_le_bytes([*len_lo, *len_hi]);
        if len != !u16::from_le_bytes([*nlen_lo, *nlen_hi]) {
            return broken(miniz_oxide::inflate::TINFLStatus::Failed);
        }
        let Some((block, after)) = tail.split_at_checked(usize::from(len)) else {
            return broken(miniz_oxide::inflate::TINFLStatus::FailedCannotMakeProgress);
        };
        if out.len() + block.len() > LIMIT {
            return Err(CompressError::TooLarge);
        }
        out.extend_from_slice(block);
        rest = after;
        if header & 1 == 1 {
            break;
        }
    }
    match rest {
        [a, b, c, d] if u32::from_be_bytes([*a, *b, *c, *d]) == adler32(&out) => Ok(Some(out)),
        [_, _, _, _] => broken(miniz_oxide::inflate::TINFLStatus::Adler32Mismatch),
        _ => broken(miniz_oxide::inflate::TINFLStatus::Failed),
    }
}

/// The inflater's verdict on a broken stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflateError(miniz_oxide::inflate::TINFLStatus);

impl std::fmt::Display for InflateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use miniz_oxide::inflate::TINFLStatus as Status;
        f.write_str(match self.0 {
            Status::Adler32Mismatch => "the Adler-32 checksum does not match",
            Status::FailedCannotMakeProgress => "the stream ends early",
            Status::BadParam => "invalid parameters",
            _ => "invalid deflate data or zlib header",
        })
    }
}

impl std::error::Error for InflateError {}

fn looks_like_zlib(bytes: &[u8]) -> bool {
    // RFC 1950: CM = 8 (deflate) in the low nibble and the 16-bit header divisible by 31.
    matches!(bytes, [cmf, flg, ..] if cmf & 0x0F == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0)
}

fn looks_like_cose(bytes: &[u8]) -> bool {
    matches!(bytes, [0xD2, ..] | [0x84, ..] | [0xD8, 0x3D, ..])
}

const MAX_STORED_BLOCK: usize = 65_535;
#[expect(clippy::cast_possible_truncation, reason = "64 KiB fits every usize")]
const LIMIT: usize = MAX_INFLATED_LEN as usize;

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
        use std::io::Read as _;
        for len in [0, 1, 353, 65_535, 65_536, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let ours = deflate(&data).unwrap();
            let mut reference = Vec::new();
            flate2::read::ZlibDecoder::new(ours.as_slice())
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
    fn stored_fast_path_checks_lengths_and_checksum() {
        let data = b"a signed CWT does not compress".repeat(3);
        let stored = deflate(&data).unwrap();
        assert_eq!(inflate_stored(&stored).unwrap(), Some(data.clone()));
        let mut wrong_sum = stored.clone();
        let last = wrong_sum.len() - 1;
        wrong_sum[last] ^= 1;
        assert!(matches!(
            inflate_zlib(&wrong_sum),
            Err(CompressError::Inflate(_))
        ));
        let mut wrong_len = stored.clone();
        wrong_len[3] ^= 1; // LEN no longer the complement of NLEN
        assert!(matches!(
            inflate_zlib(&wrong_len),
            Err(CompressError::Inflate(_))
        ));
        let truncated = &stored[..stored.len() - 10];
        assert!(matches!(
            inflate_zlib(truncated),
            Err(CompressError::Inflate(_))
        ));
        // A compressed (level 9) stream takes the general path and gives the same bytes.
        use std::io::Write as _;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&data).unwrap();
        let compressed = encoder.finish().unwrap();
        assert_eq!(inflate_stored(&compressed).unwrap(), None);
        assert_eq!(inflate_zlib(&compressed).unwrap(), data);
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
