//! PNG output: a 1-bit greyscale image of the QR code with a four-module quiet zone, and a
//! `pHYs` chunk at 300 dpi so that it prints with a diagonal of 35–60 mm (dcc-spec.md §1.1) without being resized.
//!
//! The PNG is written directly (signature, IHDR, pHYs, IDAT, IEND; RFC 2083) instead of through
//! an image library: a two-colour picture needs none of their machinery, and the output stays
//! byte-for-byte stable across library versions.

use crate::qr::{QUIET_ZONE, QrCode};

/// Renders `code` as a PNG whose printed diagonal, at the embedded 300 dpi, is 35–60 mm.
pub fn render(code: &QrCode) -> Vec<u8> {
    let modules = code.size() + 2 * QUIET_ZONE;
    let scale = (TARGET_PIXELS / modules).max(1);
    render_scaled(code, scale)
}

/// Renders `code` with `scale` pixels per module.
pub fn render_scaled(code: &QrCode, scale: usize) -> Vec<u8> {
    let modules = code.size() + 2 * QUIET_ZONE;
    let side = modules * scale;
    let row_bytes = side.div_ceil(8);

    let mut raw = Vec::with_capacity((row_bytes + 1) * side);
    let mut row = vec![0u8; row_bytes];
    for module_y in 0..modules {
        row.fill(0);
        for module_x in 0..modules {
            // 1 is white in 1-bit greyscale.
            if is_dark_with_quiet_zone(code, module_x, module_y) {
                continue;
            }
            for pixel in module_x * scale..(module_x + 1) * scale {
                if let Some(byte) = row.get_mut(pixel / 8) {
                    *byte |= 0x80 >> (pixel % 8);
                }
            }
        }
        // Light padding bits at the end of the last byte, so the picture has no dark sliver.
        for pixel in side..row_bytes * 8 {
            if let Some(byte) = row.get_mut(pixel / 8) {
                *byte |= 0x80 >> (pixel % 8);
            }
        }
        // The first pixel row of a module row as is, its repeats as "Up" rows of zeros
        // (RFC 2083 §6.3), which deflate shrinks to almost nothing at little cost.
        raw.push(FILTER_NONE);
        raw.extend_from_slice(&row);
        for _ in 1..scale {
            raw.push(FILTER_UP);
            raw.resize(raw.len() + row_bytes, 0);
        }
    }

    let side = u32::try_from(side).unwrap_or(u32::MAX);
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&[1, COLOUR_GREYSCALE, 0, 0, 0]);
    let mut physical = Vec::with_capacity(9);
    physical.extend_from_slice(&PIXELS_PER_METRE.to_be_bytes());
    physical.extend_from_slice(&PIXELS_PER_METRE.to_be_bytes());
    physical.push(UNIT_METRE);
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&raw, COMPRESSION_LEVEL);

    let mut out = Vec::with_capacity(compressed.len() + 80);
    out.extend_from_slice(SIGNATURE);
    write_chunk(&mut out, b"IHDR", &header);
    write_chunk(&mut out, b"pHYs", &physical);
    write_chunk(&mut out, b"IDAT", &compressed);
    write_chunk(&mut out, b"IEND", &[]);
    out
}

/// Whether the module at (x, y) of the symbol framed by its quiet zone is dark.
pub(crate) fn is_dark_with_quiet_zone(code: &QrCode, x: usize, y: usize) -> bool {
    match (x.checked_sub(QUIET_ZONE), y.checked_sub(QUIET_ZONE)) {
        (Some(x), Some(y)) if x < code.size() && y < code.size() => code.is_dark(x, y),
        _ => false,
    }
}

fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (ISO 3309, reflected polynomial 0xEDB88320) as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in bytes {
        let index = usize::from((crc as u8) ^ byte);
        crc = CRC_TABLE.get(index).copied().unwrap_or(0) ^ (crc >> 8);
    }
    !crc
}

const CRC_TABLE: [u32; 256] = crc_table();

#[expect(
    clippy::indexing_slicing,
    reason = "compile-time loop over 0..256 on a 256-entry table"
)]
const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut index = 0;
    while index < 256 {
        let mut value = index as u32;
        let mut bit = 0;
        while bit < 8 {
            value = if value & 1 == 1 {
                0xEDB8_8320 ^ (value >> 1)
            } else {
                value >> 1
            };
            bit += 1;
        }
        table[index] = value;
        index += 1;
    }
    table
}

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
const COLOUR_GREYSCALE: u8 = 0;
const FILTER_NONE: u8 = 0;
const FILTER_UP: u8 = 2;
const UNIT_METRE: u8 = 1;
/// miniz's fastest level: the Up-filtered rows are mostly zeros, so higher levels cost several
/// times more for a few percent fewer bytes.
const COMPRESSION_LEVEL: u8 = 1;
/// 300 dpi.
const PIXELS_PER_METRE: u32 = 11_811;
/// 40 mm at 300 dpi, the most the image may be wide: its diagonal stays under the 60 mm of
/// dcc-spec.md §1.1, and rounding down to whole pixels per module keeps it above 35 mm for
/// every version (at least 292 pixels, 24.7 mm wide).
const TARGET_PIXELS: usize = 472;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_iend_is_the_well_known_value() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}
