//! Mask selection with the penalty score computed on bit rows (ISO/IEC 18004 §7.8.3).
//!
//! Each row of the symbol is a 192-bit set (version 40 is 177 modules wide). The four penalty
//! features become a handful of shifts, ANDs and popcounts per row: horizontal patterns by
//! shifting a row against itself, vertical ones by combining neighbouring rows, so no column
//! is ever read module by module. This is what keeps trying all eight masks cheap next to
//! signing (BENCHMARKS.md); `Grid::penalty` is the module-by-module reference it is tested
//! against.

use super::matrix::{
    Grid, PENALTY_BALANCE, PENALTY_BLOCK, PENALTY_FINDER, PENALTY_RUN, format_modules, mask_bit,
};

/// The columns that mask `mask` flips in row `y`, as a bit row.
pub(crate) fn mask_row(mask: u8, y: usize) -> Row {
    MASK_PATTERNS
        .get(usize::from(mask))
        .and_then(|rows| rows.get(y % MASK_PERIOD))
        .copied()
        .unwrap_or_default()
}

/// The mask (0–7) with the lowest penalty for `grid`, whose data is placed but not masked;
/// ties go to the lower mask number.
pub(crate) fn best_mask(grid: &Grid) -> u8 {
    let size = grid.size();
    let data = grid.rows(|module, _| module);
    let free = grid.rows(|_, function| !function);
    let width = Row::ones(size);
    let pairs = Row::ones(size.saturating_sub(1));
    let mut best = (u32::MAX, 0);
    let mut rows = vec![Row::default(); size];
    for mask in 0..8u8 {
        for (y, ((row, data_row), free_row)) in rows.iter_mut().zip(&data).zip(&free).enumerate() {
            *row = data_row.xor(mask_row(mask, y).and(*free_row));
        }
        for (x, y, dark) in format_modules(size, mask) {
            if let Some(row) = rows.get_mut(y) {
                row.set(x, dark);
            }
        }
        let score = penalty(&rows, width, pairs);
        if score < best.0 {
            best = (score, mask);
        }
    }
    best.1
}

/// The penalty of a masked symbol given as rows; `width` has a bit for each column, `pairs`
/// one for each column but the last.
pub(crate) fn penalty(rows: &[Row], width: Row, pairs: Row) -> u32 {
    let size = rows.len();
    let light = |row: Option<&Row>| row.map_or(Row::ALL, |row| row.not());
    let mut score = 0;
    let mut dark_modules = 0;
    let mut previous_run5 = Row::default();
    for (y, &row) in rows.iter().enumerate() {
        dark_modules += row.count();
        let row_light = row.not();

        // Feature 1, horizontal: bit i of `run5` says modules i..i+4 are equal. A run of
        // length L sets L − 4 such bits, one of them its first, so the bits count once and the
        // first ones twice more: (L − 4) + 2 = 3 + (L − 5).
        let equal = row.xor(row.shr(1)).not().and(pairs);
        let run5 = equal.and(equal.shr(1)).and(equal.shr(2)).and(equal.shr(3));
        score += run5.count() + (PENALTY_RUN - 1) * run5.and(run5.shl(1).not()).count();

        // Feature 3, horizontal: 1011101 with four light modules before or after (the area
        // outside the symbol is light).
        let core = finder_core(row, row_light, |row, k| row.shr(k));
        let before = (1..=4).fold(Row::ALL, |acc, k| acc.and(row_light.shl_ones(k)));
        let after = (7..=10).fold(Row::ALL, |acc, k| acc.and(row_light.shr(k)));
        score += PENALTY_FINDER * (core.and(before).count() + core.and(after).count());

        // Feature 1, vertical: the same per column, with rows y..y+4.
        let next = |k: usize| rows.get(y + k).copied();
        let vertical_equal = |k: usize| match (next(k), next(k + 1)) {
            (Some(upper), Some(lower)) => upper.xor(lower).not().and(width),
            _ => Row::default(),
        };
        let run5 = vertical_equal(0)
            .and(vertical_equal(1))
            .and(vertical_equal(2))
            .and(vertical_equal(3));
        score += run5.count() + (PENALTY_RUN - 1) * run5.and(previous_run5.not()).count();
        previous_run5 = run5;

        // Feature 3, vertical.
        if y + 7 <= size {
            let at = |k: usize| next(k).unwrap_or_default();
            let core = at(0)
                .and(at(1).not())
                .and(at(2))
                .and(at(3))
                .and(at(4))
                .and(at(5).not())
                .and(at(6));
            let before = (1..=4).fold(Row::ALL, |acc, k| {
                acc.and(light(y.checked_sub(k).and_then(|above| rows.get(above))))
            });
            let after = (7..=10).fold(Row::ALL, |acc, k| acc.and(light(rows.get(y + k))));
            score += PENALTY_FINDER * (core.and(before).count() + core.and(after).count());
        }

        // Feature 2: 2×2 blocks with this row as the upper half.
        if let Some(&lower) = rows.get(y + 1) {
            let same = row
                .xor(lower)
                .not()
                .and(row.xor(row.shr(1)).not())
                .and(lower.xor(lower.shr(1)).not())
                .and(pairs);
            score += PENALTY_BLOCK * same.count();
        }
    }
    // Feature 4.
    let total = (size * size) as u32;
    let steps = (dark_modules * 20).abs_diff(total * 10) / total.max(1);
    score + PENALTY_BALANCE * steps
}

/// Bits where the 1:1:3:1:1 dark pattern starts, along the direction `shift` moves.
fn finder_core(dark: Row, light: Row, shift: impl Fn(Row, usize) -> Row) -> Row {
    dark.and(shift(light, 1))
        .and(shift(dark, 2))
        .and(shift(dark, 3))
        .and(shift(dark, 4))
        .and(shift(light, 5))
        .and(shift(dark, 6))
}

/// One row of modules, bit x for column x; bits past the symbol are zero (light) in a row of
/// the symbol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Row([u64; WORDS]);

impl Row {
    const ALL: Self = Self([u64::MAX; WORDS]);

    /// The first `count` bits set.
    fn ones(count: usize) -> Self {
        let mut row = Self::default();
        for x in 0..count.min(WORDS * 64) {
            row.set(x, true);
        }
        row
    }

    /// The row whose bit x is `bits[x]`, for up to 192 columns.
    pub(crate) fn from_bits(bits: &[bool]) -> Self {
        let mut words = [0u64; WORDS];
        for (word, chunk) in words.iter_mut().zip(bits.chunks(64)) {
            *word = chunk
                .iter()
                .rev()
                .fold(0, |word, &bit| word << 1 | u64::from(bit));
        }
        Self(words)
    }

    /// Whether bit x is set.
    pub(crate) fn bit(&self, x: usize) -> bool {
        self.0
            .get(x / 64)
            .is_some_and(|word| (word >> (x % 64)) & 1 == 1)
    }

    fn set(&mut self, x: usize, value: bool) {
        if let Some(word) = self.0.get_mut(x / 64) {
            let bit = 1u64 << (x % 64);
            if value {
                *word |= bit;
            } else {
                *word &= !bit;
            }
        }
    }

    fn and(self, other: Self) -> Self {
        self.zip(other, |a, b| a & b)
    }

    fn xor(self, other: Self) -> Self {
        self.zip(other, |a, b| a ^ b)
    }

    fn not(self) -> Self {
        Self(self.0.map(|word| !word))
    }

    fn count(self) -> u32 {
        self.0.iter().map(|word| word.count_ones()).sum()
    }

    /// Bit x takes bit x + k (zeros come in at the top), for 1 ≤ k < 64.
    fn shr(self, k: usize) -> Self {
        let [a, b, c] = self.0;
        Self([a >> k | b << (64 - k), b >> k | c << (64 - k), c >> k])
    }

    /// Bit x takes bit x − k (zeros come in at the bottom), for 1 ≤ k < 64.
    fn shl(self, k: usize) -> Self {
        let [a, b, c] = self.0;
        Self([a << k, b << k | a >> (64 - k), c << k | b >> (64 - k)])
    }

    /// Like [`Row::shl`], with ones coming in: "light" before the first column.
    fn shl_ones(self, k: usize) -> Self {
        let mut row = self.shl(k);
        row.0[0] |= (1u64 << k) - 1;
        row
    }

    fn zip(self, other: Self, operation: impl Fn(u64, u64) -> u64) -> Self {
        let [a, b, c] = self.0;
        let [x, y, z] = other.0;
        Self([operation(a, x), operation(b, y), operation(c, z)])
    }
}

const WORDS: usize = 3;
/// Every mask pattern repeats vertically every 12 rows (periods 2, 3, 4 and 6).
const MASK_PERIOD: usize = 12;

/// The eight mask patterns for the rows 0..12, over the full 192 columns.
const MASK_PATTERNS: [[Row; MASK_PERIOD]; 8] = mask_patterns();

#[expect(
    clippy::indexing_slicing,
    reason = "compile-time loops bounded by the array sizes"
)]
const fn mask_patterns() -> [[Row; MASK_PERIOD]; 8] {
    let mut patterns = [[Row([0; WORDS]); MASK_PERIOD]; 8];
    let mut mask = 0;
    while mask < 8 {
        let mut y = 0;
        while y < MASK_PERIOD {
            let mut x = 0;
            while x < WORDS * 64 {
                if mask_bit(mask as u8, x, y) {
                    patterns[mask][y].0[x / 64] |= 1 << (x % 64);
                }
                x += 1;
            }
            y += 1;
        }
        mask += 1;
    }
    patterns
}

#[cfg(test)]
mod tests {
    use super::super::codewords;
    use super::*;

    /// Rows of the grid as it is now.
    fn rows_of(grid: &Grid) -> Vec<Row> {
        (0..grid.size())
            .map(|y| {
                let mut row = Row::default();
                for x in 0..grid.size() {
                    row.set(x, grid.is_dark(x, y));
                }
                row
            })
            .collect()
    }

    /// Deterministic pseudo-random codewords (xorshift), enough for every version.
    fn codewords_for(version: u8, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        (0..codewords::raw_data_modules(version) / 8)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    #[test]
    fn bit_rows_score_like_the_module_by_module_reference() {
        for version in [1, 2, 6, 7, 13, 18, 27, 40] {
            for seed in [1, 99] {
                let mut grid = Grid::new(version);
                grid.place(&codewords_for(version, seed));
                let mut reference = Vec::new();
                for mask in 0..8 {
                    grid.apply_mask(mask);
                    grid.draw_format(mask);
                    let expected = grid.penalty();
                    let size = grid.size();
                    assert_eq!(
                        penalty(&rows_of(&grid), Row::ones(size), Row::ones(size - 1)),
                        expected,
                        "version {version}, seed {seed}, mask {mask}"
                    );
                    reference.push(expected);
                    grid.apply_mask(mask);
                }
                let lowest = reference.iter().min().unwrap();
                let first_lowest = reference.iter().position(|score| score == lowest).unwrap();
                assert_eq!(usize::from(best_mask(&grid)), first_lowest);
            }
        }
    }

    #[test]
    fn table_lookup_matches_the_mask_formulas() {
        for mask in 0..8 {
            for y in 0..40 {
                for x in 0..177 {
                    assert_eq!(
                        mask_row(mask, y).bit(x),
                        mask_bit(mask, x, y),
                        "{mask} {x} {y}"
                    );
                }
            }
        }
    }
}
