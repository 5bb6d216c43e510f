//! What every symbol of one version shares, worked out once per version and kept for the life
//! of the process: the function patterns as bit rows, the position of each data bit, and what
//! each data mask flips (ISO/IEC 18004 §6.3, §7.7.3, §7.8.2). Encoding then only places the
//! codeword bits and scores the masks.

use std::sync::OnceLock;

use super::matrix::{Grid, format_modules};
use super::penalty::{MAX_SIZE, mask_row};
use super::row::Row;

/// The fixed part of a symbol of one version.
pub(crate) struct Layout {
    size: usize,
    /// Function patterns as drawn by [`Grid::new`] (format area with the bits of mask 0).
    function: Vec<Row<3>>,
    /// For each codeword bit in order, its module as `y · 192 + x`.
    positions: Vec<u16>,
    /// For each mask, `size` rows: the modules that change from the unmasked symbol (with the
    /// format bits of mask 0) to the masked one with its own format bits.
    flips: Vec<Row<3>>,
}

impl Layout {
    /// The layout of `version` (1–40), built on first use.
    pub(crate) fn of(version: u8) -> &'static Self {
        static LAYOUTS: [OnceLock<Layout>; 40] = [const { OnceLock::new() }; 40];
        let index = usize::from(version.clamp(1, 40)) - 1;
        let [first, ..] = &LAYOUTS;
        LAYOUTS
            .get(index)
            .unwrap_or(first)
            .get_or_init(|| Self::build(version.clamp(1, 40)))
    }

    fn build(version: u8) -> Self {
        let grid = Grid::new(version);
        let mut positions: Vec<u16> = grid
            .data_positions()
            .into_iter()
            .map(|(x, y)| (y * 192 + x) as u16)
            .collect();
        // Remainder bits (fewer than 8) hold no codeword and stay light.
        positions.truncate(positions.len() / 8 * 8);
        let size = grid.size();
        let free = grid.rows(|_, function| !function);
        let mut flips = Vec::with_capacity(8 * size);
        for mask in 0..8 {
            let first = flips.len();
            flips.extend(
                free.iter()
                    .enumerate()
                    .map(|(y, free)| mask_row::<3>(mask, y).and(*free)),
            );
            let format = format_modules(size, 0)
                .into_iter()
                .zip(format_modules(size, mask));
            for ((x, y, before), (_, _, after)) in format {
                if let Some(row) = flips.get_mut(first + y) {
                    row.set(x, before != after);
                }
            }
        }
        Self {
            size,
            function: grid.rows(|dark, function| dark && function),
            positions,
            flips,
        }
    }

    /// Side length in modules.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// What applying `mask` (0–7) and writing its format bits flips, row by row.
    pub(crate) fn flips(&self, mask: u8) -> &[Row<3>] {
        let first = usize::from(mask) * self.size;
        self.flips.get(first..first + self.size).unwrap_or_default()
    }

    /// Writes into `rows` (one per symbol row) the function patterns and the bits of
    /// `codewords`, most significant bit first, in placement order.
    pub(crate) fn place<const W: usize>(&self, codewords: &[u8], rows: &mut [Row<W>]) {
        // Bit `y · 192 + x` is the module at (x, y): one word lookup per codeword bit.
        let mut words = [0u64; 3 * MAX_SIZE];
        for (&byte, positions) in codewords.iter().zip(self.positions.chunks_exact(8)) {
            for (shift, &position) in (0..8).rev().zip(positions) {
                if let Some(word) = words.get_mut(usize::from(position >> 6)) {
                    *word |= u64::from(byte >> shift & 1) << (position & 63);
                }
            }
        }
        let placed = words.chunks_exact(3);
        for ((row, function), placed) in rows.iter_mut().zip(&self.function).zip(placed) {
            *row = Row(std::array::from_fn(|word| {
                let function = function.0.get(word).copied().unwrap_or(0);
                function | placed.get(word).copied().unwrap_or(0)
            }));
        }
    }
}
