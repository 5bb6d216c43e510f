//! The module grid: function patterns (ISO/IEC 18004 §6.3), the codeword zigzag (§7.7.3),
//! format and version information (§7.9–7.10), and, for tests, data masks and the penalty
//! score module by module (§7.8): the reference the bit-row encoder is checked against.

use super::row::Row;

/// A square grid of modules being built: `dark` holds the colours, `function` marks modules
/// that belong to function patterns (never masked, never data).
#[derive(Clone)]
pub(crate) struct Grid {
    size: usize,
    dark: Vec<bool>,
    function: Vec<bool>,
}

impl Grid {
    /// A grid for `version` with every function pattern drawn (format bits left blank).
    pub(crate) fn new(version: u8) -> Self {
        let size = usize::from(version) * 4 + 17;
        let mut grid = Self {
            size,
            dark: vec![false; size * size],
            function: vec![false; size * size],
        };
        grid.draw_timing();
        grid.draw_finder(3, 3);
        grid.draw_finder(size - 4, 3);
        grid.draw_finder(3, size - 4);
        grid.draw_alignment(version);
        // Reserve the format areas now; the bits are written once the mask is chosen.
        grid.draw_format(0);
        grid.draw_version(version);
        grid
    }

    /// Side length in modules.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The modules, row by row, `true` for dark.
    #[cfg(test)]
    pub(crate) fn into_modules(self) -> Vec<bool> {
        self.dark
    }

    /// The non-function modules as (x, y) in codeword placement order (§7.7.3): the
    /// two-module-wide zigzag from the bottom-right corner, skipping the vertical timing column.
    pub(crate) fn data_positions(&self) -> Vec<(usize, usize)> {
        let mut positions = Vec::with_capacity(self.size * self.size);
        let mut right = self.size - 1;
        loop {
            if right == 6 {
                right = 5;
            }
            let upward = (right + 1) & 2 == 0;
            for step in 0..self.size {
                let y = if upward { self.size - 1 - step } else { step };
                for x in [right, right - 1] {
                    if !self
                        .function
                        .get(y * self.size + x)
                        .copied()
                        .unwrap_or(true)
                    {
                        positions.push((x, y));
                    }
                }
            }
            if right < 2 {
                break;
            }
            right -= 2;
        }
        positions
    }

    /// Places codewords in the data positions; remainder bits stay light (the reference for
    /// [`super::layout::Layout::place`]).
    #[cfg(test)]
    pub(crate) fn place(&mut self, codewords: &[u8]) {
        for (bit_index, (x, y)) in self.data_positions().into_iter().enumerate() {
            let Some(&byte) = codewords.get(bit_index / 8) else {
                break;
            };
            if let Some(module) = self.dark.get_mut(y * self.size + x) {
                *module = (byte >> (7 - bit_index % 8)) & 1 == 1;
            }
        }
    }

    /// Applies (or, applied twice, removes) data mask `mask` (0–7) to the non-function modules,
    /// module by module.
    #[cfg(test)]
    pub(crate) fn apply_mask(&mut self, mask: u8) {
        let size = self.size;
        let modules = self.dark.iter_mut().zip(&self.function).enumerate();
        for (index, (module, &function)) in modules {
            *module ^= !function && mask_bit(mask, index % size, index / size);
        }
    }

    /// Writes the 15 format bits for level Q and `mask` in both copies.
    pub(crate) fn draw_format(&mut self, mask: u8) {
        for (x, y, dark) in format_modules(self.size, mask) {
            self.set_function(x, y, dark);
        }
    }

    /// One bit row per grid row, bit x set where `pick(dark, function)` holds for column x.
    pub(crate) fn rows(&self, pick: impl Fn(bool, bool) -> bool) -> Vec<Row<3>> {
        self.dark
            .chunks_exact(self.size)
            .zip(self.function.chunks_exact(self.size))
            .map(|(dark, function)| {
                let bits: Vec<bool> = dark
                    .iter()
                    .zip(function)
                    .map(|(&d, &f)| pick(d, f))
                    .collect();
                let mut row = Row::default();
                for (x, &bit) in bits.iter().enumerate() {
                    row.set(x, bit);
                }
                row
            })
            .collect()
    }

    /// Penalty score of the grid as it is now (§7.8.3, features 1–4), module by module: the
    /// reference that the bit-parallel [`super::penalty`] is tested against.
    #[cfg(test)]
    pub(crate) fn penalty(&self) -> u32 {
        let size = self.size;
        let mut score = 0;
        let mut line = vec![false; size];
        for row in 0..size {
            for (x, slot) in line.iter_mut().enumerate() {
                *slot = self.is_dark(x, row);
            }
            score += line_penalty(&line);
        }
        for column in 0..size {
            for (y, slot) in line.iter_mut().enumerate() {
                *slot = self.is_dark(column, y);
            }
            score += line_penalty(&line);
        }
        // Feature 2: each 2×2 block of one colour.
        for y in 0..size - 1 {
            for x in 0..size - 1 {
                let colour = self.is_dark(x, y);
                if colour == self.is_dark(x + 1, y)
                    && colour == self.is_dark(x, y + 1)
                    && colour == self.is_dark(x + 1, y + 1)
                {
                    score += PENALTY_BLOCK;
                }
            }
        }
        // Feature 4: 10 points per full 5 % step of dark modules away from 50 %.
        let total = size * size;
        let dark = self.dark.iter().filter(|&&module| module).count();
        let steps = (dark * 20).abs_diff(total * 10) / total;
        score + PENALTY_BALANCE * steps as u32
    }

    #[cfg(test)]
    pub(crate) fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark.get(y * self.size + x).copied().unwrap_or(false)
    }

    fn set_function(&mut self, x: usize, y: usize, dark: bool) {
        let index = y * self.size + x;
        if let Some(module) = self.dark.get_mut(index) {
            *module = dark;
        }
        if let Some(function) = self.function.get_mut(index) {
            *function = true;
        }
    }

    fn draw_timing(&mut self) {
        for index in 0..self.size {
            self.set_function(6, index, index % 2 == 0);
            self.set_function(index, 6, index % 2 == 0);
        }
    }

    /// A finder pattern centred on (x, y) with its light separator, clipped to the grid.
    fn draw_finder(&mut self, x: usize, y: usize) {
        for dy in -4i32..=4 {
            for dx in -4i32..=4 {
                let (Some(px), Some(py)) = (
                    x.checked_add_signed(dx as isize),
                    y.checked_add_signed(dy as isize),
                ) else {
                    continue;
                };
                if px < self.size && py < self.size {
                    let ring = dx.abs().max(dy.abs());
                    self.set_function(px, py, ring != 2 && ring != 4);
                }
            }
        }
    }

    fn draw_alignment(&mut self, version: u8) {
        let positions = alignment_positions(version, self.size);
        let last = positions.len().saturating_sub(1);
        for (i, &x) in positions.iter().enumerate() {
            for (j, &y) in positions.iter().enumerate() {
                let under_finder = (i == 0 && (j == 0 || j == last)) || (i == last && j == 0);
                if under_finder {
                    continue;
                }
                for dy in -2i32..=2 {
                    for dx in -2i32..=2 {
                        let px = x.wrapping_add_signed(dx as isize);
                        let py = y.wrapping_add_signed(dy as isize);
                        self.set_function(px, py, dx.abs().max(dy.abs()) != 1);
                    }
                }
            }
        }
    }

    /// The 18 version bits (§7.10) in both 6×3 areas, for version 7 and up.
    fn draw_version(&mut self, version: u8) {
        if version < 7 {
            return;
        }
        let bits = version_bits(version);
        for index in 0..18 {
            let dark = (bits >> index) & 1 == 1;
            let a = self.size - 11 + index % 3;
            let b = index / 3;
            self.set_function(a, b, dark);
            self.set_function(b, a, dark);
        }
    }
}

/// Centre coordinates of alignment patterns for a version (§6.3.6, Annex E): 6, then evenly
/// spaced (even step) up to size − 7.
fn alignment_positions(version: u8, size: usize) -> Vec<usize> {
    if version == 1 {
        return Vec::new();
    }
    let count = usize::from(version) / 7 + 2;
    // Version 32 is the one exception to the rounded-up even step in Annex E.
    let step = if version == 32 {
        26
    } else {
        (size - 13).div_ceil((count - 1) * 2) * 2
    };
    let mut positions = vec![6];
    positions.extend((0..count - 1).rev().map(|k| size - 7 - k * step));
    positions
}

/// Features 1 and 3 on one row or column (reference implementation): runs of five or more modules of one colour score
/// 3 + (length − 5); each dark 1:1:3:1:1 finder-like pattern with four light modules on one
/// side scores 40 (outside the symbol counts as light).
#[cfg(test)]
fn line_penalty(line: &[bool]) -> u32 {
    let mut score = 0;
    let mut run_colour = false;
    let mut run_length = 0u32;
    for &module in line {
        if module == run_colour {
            run_length += 1;
        } else {
            if run_length >= 5 {
                score += PENALTY_RUN + run_length - 5;
            }
            run_colour = module;
            run_length = 1;
        }
    }
    if run_length >= 5 {
        score += PENALTY_RUN + run_length - 5;
    }
    let at = |index: isize| -> bool {
        usize::try_from(index)
            .ok()
            .and_then(|index| line.get(index))
            .copied()
            .unwrap_or(false)
    };
    let len = line.len() as isize;
    for start in 0..len.saturating_sub(6) {
        let core = FINDER_LIKE
            .iter()
            .enumerate()
            .all(|(offset, &dark)| at(start + offset as isize) == dark);
        if !core {
            continue;
        }
        let light_before = (1..=4).all(|back| !at(start - back));
        let light_after = (7..11).all(|ahead| !at(start + ahead));
        if light_before {
            score += PENALTY_FINDER;
        }
        if light_after {
            score += PENALTY_FINDER;
        }
    }
    score
}

/// Whether mask pattern `mask` flips the module at column x, row y (§7.8.2 Table 10).
pub(crate) const fn mask_bit(mask: u8, x: usize, y: usize) -> bool {
    match mask {
        0 => (y + x).is_multiple_of(2),
        1 => y.is_multiple_of(2),
        2 => x.is_multiple_of(3),
        3 => (y + x).is_multiple_of(3),
        4 => (y / 2 + x / 3).is_multiple_of(2),
        5 => (y * x) % 2 + (y * x) % 3 == 0,
        6 => ((y * x) % 2 + (y * x) % 3).is_multiple_of(2),
        _ => ((y + x) % 2 + (y * x) % 3).is_multiple_of(2),
    }
}

/// The 31 format-information modules for level Q and `mask` as (x, y, dark): both copies of
/// the 15 bits and the always-dark module beside the bottom-left finder (§7.9.1).
pub(crate) fn format_modules(size: usize, mask: u8) -> [(usize, usize, bool); 31] {
    let bits = format_bits(mask);
    let bit = |index: usize| (bits >> index) & 1 == 1;
    std::array::from_fn(|slot| match slot {
        // First copy, around the top-left finder.
        0..=5 => (8, slot, bit(slot)),
        6 => (8, 7, bit(6)),
        7 => (8, 8, bit(7)),
        8 => (7, 8, bit(8)),
        9..=14 => (14 - slot, 8, bit(slot)),
        // Second copy, split between the top-right and bottom-left finders.
        15..=22 => (size - 1 - (slot - 15), 8, bit(slot - 15)),
        23..=29 => (8, size - 15 + (slot - 15), bit(slot - 15)),
        _ => (8, size - 8, true),
    })
}

/// Level Q (binary 11) and the mask, BCH(15,5)-protected and XOR-masked (§7.9.1).
fn format_bits(mask: u8) -> u32 {
    let data = (LEVEL_Q_BITS << 3) | u32::from(mask);
    (data << 10 | bch_remainder(data << 10, FORMAT_GENERATOR, 10)) ^ FORMAT_XOR
}

/// The version number with its BCH(18,6) code (§7.10).
fn version_bits(version: u8) -> u32 {
    let data = u32::from(version) << 12;
    data | bch_remainder(data, VERSION_GENERATOR, 12)
}

/// Remainder of polynomial division over GF(2) of `value` by `generator` of `degree`.
fn bch_remainder(mut value: u32, generator: u32, degree: u32) -> u32 {
    let top = 31 - generator.leading_zeros();
    while value >> degree != 0 {
        let shift = (31 - value.leading_zeros()) - top;
        value ^= generator << shift;
    }
    value
}

/// Dark/light sequence of the finder-like pattern 1:1:3:1:1.
#[cfg(test)]
const FINDER_LIKE: [bool; 7] = [true, false, true, true, true, false, true];
/// Feature 1: a run of five; each further module adds one.
pub(crate) const PENALTY_RUN: u32 = 3;
/// Feature 2: a 2×2 block of one colour.
pub(crate) const PENALTY_BLOCK: u32 = 3;
/// Feature 3: a finder-like pattern.
pub(crate) const PENALTY_FINDER: u32 = 40;
/// Feature 4: each 5 % step away from half dark.
pub(crate) const PENALTY_BALANCE: u32 = 10;
/// Error-correction level Q in the format information (§7.9.1 Table 12).
const LEVEL_Q_BITS: u32 = 0b11;
/// x¹⁰ + x⁸ + x⁵ + x⁴ + x² + x + 1.
const FORMAT_GENERATOR: u32 = 0b101_0011_0111;
const FORMAT_XOR: u32 = 0b101_0100_0001_0010;
/// x¹² + x¹¹ + x¹⁰ + x⁹ + x⁸ + x⁵ + x² + 1.
const VERSION_GENERATOR: u32 = 0b1_1111_0010_0101;

/// The number of modules `place` can fill.
#[cfg(test)]
fn data_module_count(grid: &Grid) -> usize {
    grid.function.iter().filter(|&&function| !function).count()
}

#[cfg(test)]
mod tests {
    use super::super::codewords;
    use super::*;

    #[test]
    fn format_bits_match_the_table() {
        // Annex C Table C.1: level Q mask 0 → 011010101011111, mask 7 → 010101111101101.
        assert_eq!(format_bits(0), 0b011_0101_0101_1111);
        assert_eq!(format_bits(7), 0b010_1011_1110_1101);
    }

    #[test]
    fn version_bits_match_the_table() {
        // Annex D Table D.1: version 7 → 000111110010010100, version 18 → 010010101000010111.
        assert_eq!(version_bits(7), 0b00_0111_1100_1001_0100);
        assert_eq!(version_bits(18), 0b01_0010_1010_0001_0111);
    }

    #[test]
    fn alignment_positions_match_annex_e() {
        assert_eq!(alignment_positions(2, 25), vec![6, 18]);
        assert_eq!(alignment_positions(7, 45), vec![6, 22, 38]);
        assert_eq!(alignment_positions(18, 89), vec![6, 30, 56, 82]);
        assert_eq!(alignment_positions(32, 145), vec![6, 34, 60, 86, 112, 138]);
        assert_eq!(
            alignment_positions(39, 173),
            vec![6, 26, 54, 82, 110, 138, 166]
        );
    }

    #[test]
    fn data_modules_match_the_raw_capacity() {
        for version in 1..=40 {
            let grid = Grid::new(version);
            assert_eq!(
                data_module_count(&grid),
                codewords::raw_data_modules(version),
                "v{version}"
            );
        }
    }
}
