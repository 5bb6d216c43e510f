//! From text to the final codeword sequence: alphanumeric segment (ISO/IEC 18004 §7.4.4),
//! terminator and padding (§7.4.9–10), split into blocks with Reed–Solomon codewords and
//! interleaved (§7.5–7.6), at error-correction level Q.

use super::QrError;
use super::reed_solomon;

/// The smallest version (1–40) whose level-Q capacity holds `text` in alphanumeric mode.
pub(crate) fn smallest_version(char_count: usize) -> Result<u8, QrError> {
    (1..=40u8)
        .find(|&version| segment_bits(version, char_count) <= data_codewords(version) * 8)
        .ok_or(QrError::TooLong(char_count))
}

/// The interleaved data and error-correction codewords of `text` in `version`.
pub(crate) fn build(text: &[u8], version: u8) -> Result<Vec<u8>, QrError> {
    let data = data_codewords_for(text, version)?;
    Ok(interleave(&data, version))
}

/// Number of raw modules available for codewords (data + EC + remainder bits) in a version.
pub(crate) fn raw_data_modules(version: u8) -> usize {
    let version = usize::from(version);
    // All modules minus finder patterns with separators and format areas, timing patterns,
    // alignment patterns (and where they overlap the timing patterns) and version information.
    let mut modules = (16 * version + 128) * version + 64;
    if version >= 2 {
        let alignment_count = version / 7 + 2;
        modules -= (25 * alignment_count - 10) * alignment_count - 55;
        if version >= 7 {
            modules -= 36;
        }
    }
    modules
}

/// Number of data codewords at level Q.
pub(crate) fn data_codewords(version: u8) -> usize {
    raw_data_modules(version) / 8
        - usize::from(blocks(version)) * usize::from(ec_per_block(version))
}

/// Encodes the alphanumeric segment, terminator and pad codewords.
fn data_codewords_for(text: &[u8], version: u8) -> Result<Vec<u8>, QrError> {
    let capacity = data_codewords(version);
    let mut bits = BitWriter::with_capacity(capacity);
    bits.push(MODE_ALPHANUMERIC, 4);
    bits.push(text.len() as u32, count_bits(version));
    let mut pairs = text.chunks_exact(2);
    for pair in &mut pairs {
        if let [first, second] = pair {
            bits.push(
                u32::from(value(*first)?) * 45 + u32::from(value(*second)?),
                11,
            );
        }
    }
    if let [last] = pairs.remainder() {
        bits.push(u32::from(value(*last)?), 6);
    }
    let capacity_bits = capacity * 8;
    let terminator = (capacity_bits.saturating_sub(bits.len())).min(4);
    bits.push(0, terminator as u8);
    let mut bytes = bits.into_bytes();
    for pad in [0xEC, 0x11].into_iter().cycle() {
        if bytes.len() >= capacity {
            break;
        }
        bytes.push(pad);
    }
    Ok(bytes)
}

/// Splits the data into blocks (short blocks first, long blocks have one more data codeword),
/// computes each block's EC codewords, and interleaves data then EC column by column.
fn interleave(data: &[u8], version: u8) -> Vec<u8> {
    let block_count = usize::from(blocks(version));
    let ec_len = usize::from(ec_per_block(version));
    let total = raw_data_modules(version) / 8;
    let long_blocks = total % block_count;
    let short_data_len = total / block_count - ec_len;
    let encoder = reed_solomon::Encoder::for_length(ec_len);

    let mut data_blocks = Vec::with_capacity(block_count);
    let mut ec = Vec::with_capacity(block_count * ec_len);
    let mut offset = 0;
    for index in 0..block_count {
        let len = short_data_len + usize::from(index >= block_count - long_blocks);
        let block = data.get(offset..offset + len).unwrap_or_default();
        offset += len;
        encoder.remainder(block, &mut ec);
        data_blocks.push(block);
    }

    let mut out = Vec::with_capacity(total);
    for column in 0..=short_data_len {
        out.extend(data_blocks.iter().filter_map(|block| block.get(column)));
    }
    for column in 0..ec_len {
        out.extend(ec.iter().skip(column).step_by(ec_len.max(1)));
    }
    out
}

/// Length of the alphanumeric segment in bits.
fn segment_bits(version: u8, char_count: usize) -> usize {
    4 + usize::from(count_bits(version)) + char_count / 2 * 11 + char_count % 2 * 6
}

/// Width of the character-count field for alphanumeric mode (§7.4.1 Table 3).
fn count_bits(version: u8) -> u8 {
    match version {
        ..=9 => 9,
        10..=26 => 11,
        _ => 13,
    }
}

/// The value of a character in the alphanumeric table (§7.4.4 Table 5).
fn value(byte: u8) -> Result<u8, QrError> {
    match byte {
        b'0'..=b'9' => Ok(byte - b'0'),
        b'A'..=b'Z' => Ok(byte - b'A' + 10),
        b' ' => Ok(36),
        b'$' => Ok(37),
        b'%' => Ok(38),
        b'*' => Ok(39),
        b'+' => Ok(40),
        b'-' => Ok(41),
        b'.' => Ok(42),
        b'/' => Ok(43),
        b':' => Ok(44),
        other => Err(QrError::NotAlphanumeric(char::from(other))),
    }
}

fn blocks(version: u8) -> u8 {
    BLOCKS_Q.get(usize::from(version) - 1).copied().unwrap_or(0)
}

fn ec_per_block(version: u8) -> u8 {
    EC_PER_BLOCK_Q
        .get(usize::from(version) - 1)
        .copied()
        .unwrap_or(0)
}

/// Big-endian bit accumulator.
struct BitWriter {
    bytes: Vec<u8>,
    /// Bits not yet written to `bytes`, in the low `pending` bits.
    buffer: u64,
    pending: u32,
}

impl BitWriter {
    fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            buffer: 0,
            pending: 0,
        }
    }

    /// Appends the low `width` (at most 32) bits of `value`, most significant first.
    fn push(&mut self, value: u32, width: u8) {
        let width = u32::from(width);
        let value = u64::from(value) & ((1u64 << width) - 1);
        self.buffer = self.buffer << width | value;
        self.pending += width;
        while self.pending >= 8 {
            self.pending -= 8;
            self.bytes.push((self.buffer >> self.pending) as u8);
        }
    }

    fn len(&self) -> usize {
        self.bytes.len() * 8 + self.pending as usize
    }

    fn into_bytes(mut self) -> Vec<u8> {
        if self.pending > 0 {
            self.bytes.push((self.buffer << (8 - self.pending)) as u8);
        }
        self.bytes
    }
}

/// Mode indicator of the alphanumeric mode.
const MODE_ALPHANUMERIC: u32 = 0b0010;

/// Error-correction blocks per version at level Q (ISO/IEC 18004 Table 9).
const BLOCKS_Q: [u8; 40] = [
    1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, 23, 23, 25, 27, 29, 34,
    34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68,
];

/// Error-correction codewords per block at level Q (ISO/IEC 18004 Table 9).
const EC_PER_BLOCK_Q: [u8; 40] = [
    13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, 28, 30, 30, 30,
    30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_q_data_capacities_match_the_standard() {
        // Table 7: data codewords at level Q for a few versions.
        assert_eq!(data_codewords(1), 13);
        assert_eq!(data_codewords(10), 154);
        assert_eq!(data_codewords(18), 397);
        assert_eq!(data_codewords(40), 1666);
    }

    #[test]
    fn version_follows_alphanumeric_capacity() {
        // Table 7: alphanumeric capacity at level Q is 16 (v1), 574 (v18), 2420 (v40).
        assert_eq!(smallest_version(16).unwrap(), 1);
        assert_eq!(smallest_version(17).unwrap(), 2);
        assert_eq!(smallest_version(574).unwrap(), 18);
        assert_eq!(smallest_version(575).unwrap(), 19);
        assert_eq!(smallest_version(2420).unwrap(), 40);
        assert!(matches!(
            smallest_version(2421),
            Err(QrError::TooLong(2421))
        ));
    }

    #[test]
    fn standard_example_data_bits() {
        // §7.4.4 example: "AC-42" → 0010 000000101 00111001110 11100111001 000010.
        let bytes = data_codewords_for(b"AC-42", 1).unwrap();
        assert_eq!(
            &bytes[..5],
            &[
                0b0010_0000,
                0b0010_1001,
                0b1100_1110,
                0b1110_0111,
                0b0010_0001
            ]
        );
        assert_eq!(bytes.len(), 13);
    }

    #[test]
    fn lowercase_is_rejected() {
        assert!(matches!(value(b'a'), Err(QrError::NotAlphanumeric('a'))));
    }
}
