//! A small QR encoder for exactly what HC1 strings need: one alphanumeric segment at
//! error-correction level Q (dcc-spec.md §1.1), the smallest version that holds the text, and
//! the data mask with the lowest penalty score (ISO/IEC 18004:2015 §7.8).
//!
//! Base45 uses the QR alphanumeric alphabet, so an HC1 string never needs another mode. Writing
//! the encoder here (rather than using the `qrcode` crate, ~3.9 ms per code on this machine) keeps
//! encoding at about the cost of one signature; see the `render` benchmark and BENCHMARKS.md.
//!
//! The fast path: `layout::Layout` (built once per version) places the codewords into bit
//! rows, `penalty` scores the eight masks on those rows. `matrix::Grid` draws the function
//! patterns for the layout and, in tests, is the module-by-module reference encoder.

mod codewords;
mod layout;
mod matrix;
mod penalty;
mod reed_solomon;
mod row;

use self::layout::Layout;
use self::penalty::MAX_SIZE;
use self::row::Row;

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
        let layout = Layout::of(version);
        // The narrowest rows that hold the symbol plus the bits the penalty looks past it.
        let (mask, modules) = match layout.size() {
            ..=64 => modules::<1>(layout, &codewords),
            65..=128 => modules::<2>(layout, &codewords),
            _ => modules::<3>(layout, &codewords),
        };
        Ok(Self {
            version,
            mask,
            size: layout.size(),
            modules,
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

/// Places `codewords` in the layout, picks the mask and returns it with the final modules, with
/// rows of `W` words.
fn modules<const W: usize>(layout: &Layout, codewords: &[u8]) -> (u8, Vec<bool>) {
    let size = layout.size();
    let mut data = [Row::<W>::default(); MAX_SIZE];
    let mut symbol = [Row::<W>::default(); MAX_SIZE];
    let (Some(data), Some(symbol)) = (data.get_mut(..size), symbol.get_mut(..size)) else {
        return (0, Vec::new());
    };
    layout.place(codewords, data);
    let mask = penalty::best_mask(data, layout);
    penalty::apply_mask(data, layout, mask, symbol);
    let mut modules = Vec::with_capacity(size * size);
    for row in symbol.iter() {
        for (index, &word) in row.0.iter().enumerate() {
            let columns = size.saturating_sub(index * 64).min(64);
            modules.extend((0..columns).map(|x| (word >> x) & 1 == 1));
        }
    }
    (mask, modules)
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

    /// The encoder spelled out module by module on a [`matrix::Grid`]: placement along the
    /// zigzag, every mask applied and scored with the reference penalty.
    fn reference(text: &str) -> QrCode {
        let version = codewords::smallest_version(text.len()).unwrap();
        let mut grid = matrix::Grid::new(version);
        grid.place(&codewords::build(text.as_bytes(), version).unwrap());
        let scores: Vec<u32> = (0..8)
            .map(|mask| {
                let mut masked = grid.clone();
                masked.apply_mask(mask);
                masked.draw_format(mask);
                masked.penalty()
            })
            .collect();
        let lowest = scores.iter().min().unwrap();
        let mask = scores.iter().position(|score| score == lowest).unwrap() as u8;
        grid.apply_mask(mask);
        grid.draw_format(mask);
        QrCode {
            version,
            mask,
            size: grid.size(),
            modules: grid.into_modules(),
        }
    }

    #[test]
    fn bit_row_encoder_matches_the_module_by_module_reference() {
        let mut versions = std::collections::BTreeSet::new();
        for len in (1..=2420).step_by(41).chain([16, 17, 598, 2420]) {
            for seed in [3, 8] {
                let text = text_of(len, seed * len as u64);
                let code = QrCode::encode(&text).unwrap();
                assert_eq!(code, reference(&text), "{len} characters, seed {seed}");
                versions.insert(code.version());
            }
        }
        assert!(versions.len() >= 36, "{versions:?}");
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
