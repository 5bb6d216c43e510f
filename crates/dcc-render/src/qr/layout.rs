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
    /// For each codeword, its shape if it is one of the two regular ones.
    placements: Vec<Placement>,
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
            .map(|(x, y)| (y * ROW_BITS + x) as u16)
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
        let placements = positions.chunks_exact(8).map(Placement::of).collect();
        Self {
            size,
            function: grid.rows(|dark, function| dark && function),
            positions,
            placements,
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
        let mut put = |position: usize, bits: u8| {
            if let Some(word) = words.get_mut(position / 64) {
                *word |= u64::from(bits) << (position % 64);
            }
        };
        let codewords = codewords
            .iter()
            .zip(self.positions.chunks_exact(8))
            .zip(&self.placements);
        for ((&byte, positions), placement) in codewords {
            match *placement {
                Placement::Block { left, upward, odd } => {
                    let row = |k: usize| {
                        if upward {
                            usize::from(left).wrapping_sub(k * ROW_BITS)
                        } else {
                            usize::from(left) + k * ROW_BITS
                        }
                    };
                    if odd {
                        put(row(0), byte >> 7);
                        put(row(1), byte >> 5 & 0b11);
                        put(row(2), byte >> 3 & 0b11);
                        put(row(3), byte >> 1 & 0b11);
                        put(row(4) + 1, byte & 1);
                    } else {
                        put(row(0), byte >> 6);
                        put(row(1), byte >> 4 & 0b11);
                        put(row(2), byte >> 2 & 0b11);
                        put(row(3), byte & 0b11);
                    }
                }
                Placement::Scattered => {
                    for (shift, &position) in (0..8).rev().zip(positions) {
                        put(usize::from(position), byte >> shift & 1);
                    }
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

/// Bits per row in the placement buffer (three words).
const ROW_BITS: usize = 192;

/// How the eight bits of one codeword are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Most codewords: consecutive rows (going up or down) of the two columns the zigzag is
    /// filling, right module first, with each row's two modules in one word. `left` is the
    /// position of the left module in the first row. Even: four rows of two bits. Odd (after
    /// a function module shifted the zigzag by one): bit 7 alone on the left, three rows of
    /// two bits, bit 0 alone on the right.
    Block { left: u16, upward: bool, odd: bool },
    /// Next to function patterns, at the turns and across word boundaries: bit by bit.
    Scattered,
}

impl Placement {
    /// The placement of the codeword whose eight bit positions are `positions`.
    fn of(positions: &[u16]) -> Self {
        let (Some(&first), Some(&second), Some(&third)) =
            (positions.first(), positions.get(1), positions.get(2))
        else {
            return Self::Scattered;
        };
        let upward = third < first;
        for (left, odd) in [(second, false), (first, true)] {
            let block = Self::Block { left, upward, odd };
            let Some(modules) = block.modules() else {
                continue;
            };
            // The two bits written together must share a word.
            let pairs = if odd { [1, 3, 5] } else { [0, 2, 4] };
            let one_word = pairs
                .iter()
                .chain(if odd { None } else { Some(&6) })
                .all(|&index| {
                    let right = modules.get(index).copied().unwrap_or(0);
                    let left = modules.get(index + 1).copied().unwrap_or(0);
                    right / 64 == left / 64
                });
            if modules.as_slice() == positions && one_word {
                return block;
            }
        }
        Self::Scattered
    }

    /// The modules of a block, bit 7 first, as `y · 192 + x`; `None` when it leaves the buffer.
    fn modules(self) -> Option<[u16; 8]> {
        let Self::Block { left, upward, odd } = self else {
            return None;
        };
        let row = |k: u16| {
            if upward {
                left.checked_sub(k * ROW_BITS as u16)
            } else {
                left.checked_add(k * ROW_BITS as u16)
            }
        };
        let mut modules = [0u16; 8];
        let rows = if odd {
            [0, 1, 1, 2, 2, 3, 3, 4]
        } else {
            [0, 0, 1, 1, 2, 2, 3, 3]
        };
        for (index, (module, k)) in modules.iter_mut().zip(rows).enumerate() {
            // The zigzag takes the right module of a row first; in an odd block bit 7 is the
            // left module of the first row.
            let right = (index % 2 == 0) != odd;
            *module = row(k)? + u16::from(right);
        }
        Some(modules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_codewords_are_placed_as_blocks() {
        // Version 19, the size of an HC1 certificate: 991 codewords.
        let layout = Layout::of(19);
        let blocks = layout
            .placements
            .iter()
            .filter(|placement| matches!(placement, Placement::Block { .. }))
            .count();
        assert_eq!(layout.placements.len(), 991);
        assert!(blocks > 800, "{blocks}");
    }
}
