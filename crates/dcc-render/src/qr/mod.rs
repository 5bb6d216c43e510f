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
