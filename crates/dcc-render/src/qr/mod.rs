//! A small QR encoder for exactly what HC1 strings need: one alphanumeric segment at
//! error-correction level Q (dcc-spec.md §1.1), the smallest version that holds the text, and
//! the data mask with the lowest penalty score (ISO/IEC 18004:2015 §7.8).
//!
//! Base45 uses the QR alphanumeric alphabet, so an HC1 string never needs another mode. Writing
//! the encoder here (rather than using the `qrcode` crate, ~3.9 ms per code on this machine) keeps
//! encoding well below the cost of signing; see the `render` benchmark and BENCHMARKS.md.

mod codewords;
mod matrix;
mod penalty;
mod reed_solomon;

use self::matrix::Grid;

/// Why a text cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text holds a character outside the QR alphanumeric set (0–9, A–Z, space, `$%*+-./:`).
    #[error("the character {0:?} cannot be encoded in QR alphanumeric mode")]
    NotAlphanumeric(char),
    /// The text is longer than a version-40 code holds at level Q (2,420 characters).
    #[error("{0} characters do not fit in a QR code at error-correction level Q")]
    TooLong(usize),
}

/// An encoded QR symbol: a square of dark and light modules, without quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    version: u8,
    mask: u8,
    size: usize,
    modules: Vec<bool>,
}

impl QrCode {
    /// Encodes `text` in alphanumeric mode at level Q.
    pub fn encode(text: &str) -> Result<Self, QrError> {
        let bytes = text.as_bytes();
        let version = codewords::smallest_version(bytes.len())?;
        let codewords = codewords::build(bytes, version)?;
        let mut grid = Grid::new(version);
        grid.place(&codewords);
        let mask = penalty::best_mask(&grid);
        grid.apply_mask(mask);
        grid.draw_format(mask);
        let size = grid.size();
        Ok(Self {
            version,
            mask,
            size,
            modules: grid.into_modules(),
        })
    }

    /// The symbol version, 1–40.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The data mask chosen, 0–7.
    pub fn mask(&self) -> u8 {
        self.mask
    }

    /// Side length in modules (4 · version + 17).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether the module at column `x`, row `y` is dark; outside the symbol is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size
            && self
                .modules
                .get(y * self.size + x)
                .copied()
                .unwrap_or(false)
    }

    /// The modules row by row, `true` for dark.
    pub fn modules(&self) -> &[bool] {
        &self.modules
    }
}

/// Width of the light margin around the symbol, in modules (ISO/IEC 18004 §6.3.8).
pub const QUIET_ZONE: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic alphanumeric text of `len` characters (xorshift over the 45-character set).
    pub(super) fn text_of(len: usize, seed: u64) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(ALPHABET[(state % 45) as usize])
            })
            .collect()
    }

    /// FNV-1a over version, mask and modules of every symbol.
    fn fingerprint(codes: &[QrCode]) -> u64 {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        let mut eat = |byte: u8| {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        };
        for code in codes {
            eat(code.version());
            eat(code.mask());
            for &dark in code.modules() {
                eat(u8::from(dark));
            }
        }
        hash
    }

    #[test]
    fn symbols_are_unchanged_since_the_first_encoder() {
        // The fingerprint of these symbols as the first (module-by-module placement) encoder
        // wrote them: a faster encoder must produce exactly the same modules.
        let codes: Vec<QrCode> = (1..=2420)
            .step_by(13)
            .chain([16, 17, 574, 575, 598, 2420])
            .map(|len| QrCode::encode(&text_of(len, len as u64)).unwrap())
            .collect();
        let versions: std::collections::BTreeSet<u8> = codes.iter().map(QrCode::version).collect();
        assert_eq!(versions.len(), 40);
        assert_eq!(fingerprint(&codes), 6_990_304_983_892_490_432);
    }
}
