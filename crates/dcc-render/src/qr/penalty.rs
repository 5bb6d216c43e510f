//! Data masks and mask selection with the penalty score computed on bit rows
//! (ISO/IEC 18004 §7.8).
//!
//! Each row of the symbol is a [`Row`] of 1–3 words. The four penalty features become a
//! handful of shifts, ANDs and popcounts per row: horizontal patterns by shifting a row against
//! itself, vertical ones by combining neighbouring rows, so no column is ever read module by
//! module. This is what keeps trying all eight masks cheap next to signing (BENCHMARKS.md);
//! `Grid::penalty` is the module-by-module reference it is tested against.

use super::layout::Layout;
use super::matrix::{PENALTY_BALANCE, PENALTY_BLOCK, PENALTY_FINDER, PENALTY_RUN, mask_bit};

// The widening of runs by two modules below is worth PENALTY_RUN − 1 extra points per run.
const _: () = assert!(PENALTY_RUN == 3);
use super::row::Row;

/// Rows in the largest symbol (version 40).
pub(crate) const MAX_SIZE: usize = 177;

/// The columns that mask `mask` flips in row `y`, as a bit row.
pub(crate) fn mask_row<const W: usize>(mask: u8, y: usize) -> Row<W> {
    MASK_PATTERNS
        .get(usize::from(mask))
        .and_then(|rows| rows.get(y % MASK_PERIOD))
        .map(Row::narrow)
        .unwrap_or_default()
}

/// Writes into `out` the symbol `data` (placed, unmasked) with `mask` applied and its format
/// information drawn.
pub(crate) fn apply_mask<const W: usize>(
    data: &[Row<W>],
    layout: &Layout,
    mask: u8,
    out: &mut [Row<W>],
) {
    for ((out, data), flip) in out.iter_mut().zip(data).zip(layout.flips(mask)) {
        *out = data.xor(Row::narrow(flip));
    }
}

/// The mask (0–7) with the lowest penalty for the symbol whose placed but unmasked modules
/// are `data`; ties go to the lower mask number.
pub(crate) fn best_mask<const W: usize>(data: &[Row<W>], layout: &Layout) -> u8 {
    let size = data.len();
    let mut buffer = [Row::<W>::default(); MAX_SIZE];
    let Some(rows) = buffer.get_mut(..size) else {
        return 0;
    };
    let mut best = (u32::MAX, 0);
    for mask in 0..8u8 {
        apply_mask(data, layout, mask, rows);
        let score = penalty_up_to(rows, best.0);
        if score < best.0 {
            best = (score, mask);
        }
    }
    best.1
}

/// The penalty of a masked symbol given as rows (§7.8.3, features 1–4).
#[cfg(test)]
pub(crate) fn penalty<const W: usize>(rows: &[Row<W>]) -> u32 {
    penalty_up_to(rows, u32::MAX)
}

/// The penalty of a masked symbol given as rows, or, as soon as the score so far reaches
/// `limit`, that partial score (every feature only adds, so the symbol cannot score lower).
fn penalty_up_to<const W: usize>(rows: &[Row<W>], limit: u32) -> u32 {
    let size = rows.len();
    let width = Row::<W>::ones(size);
    let pairs = Row::<W>::ones(size.saturating_sub(1));
    // Outside the symbol counts as light.
    let light = |y: Option<usize>| {
        y.and_then(|y| rows.get(y))
            .map_or(Row::ALL, |row: &Row<W>| row.not())
    };
    let mut score = 0;
    let mut dark_modules = 0;
    let mut previous: Option<(Row<W>, Row<W>)> = None;
    // Vertical "equal to the row above" for this row and the three above it, nearest first.
    let mut equal_above = [Row::<W>::default(); 4];
    // Vertical runs of five ending at this row and the two above it, nearest first.
    let mut run5_above = [Row::<W>::default(); 3];
    for (y, &row) in rows.iter().enumerate() {
        dark_modules += row.count();
        let row_light = row.not();

        // Feature 1, horizontal: bit x of `run5` says modules x..x+4 are equal; a run of
        // length L sets L − 4 such bits, and widened by two to the right L − 2 = 3 + (L − 5)
        // bits (two runs of one row never share a widened bit). One popcount per row.
        let equal = row.same(row.shr(1)).and(pairs);
        let equal2 = equal.and(equal.shr(1));
        let run5 = equal2.and(equal2.shr(2));
        score += run5.or(run5.shl(1)).or(run5.shl(2)).count();

        // Feature 3, horizontal: 1011101 with four light modules before or after (the area
        // outside the symbol is light).
        let dark3 = row.and(row.shr(1)).and(row.shr(2));
        let core = row
            .and(row_light.shr(1))
            .and(dark3.shr(2))
            .and(row_light.shr(5))
            .and(row.shr(6));
        if !core.is_empty() {
            let light_left = row_light.shl_ones(1).and(row_light.shl_ones(2));
            let before = light_left.and(light_left.shl_ones(2));
            let light_right = row_light.and(row_light.shr_ones(1));
            let after = light_right.and(light_right.shr_ones(2)).shr_ones(7);
            score += PENALTY_FINDER * (core.and(before).count() + core.and(after).count());
        }

        // Feature 2: 2×2 blocks with the row above as the upper half.
        let vertical_equal = match previous {
            Some((above, above_equal)) => {
                let vertical_equal = above.same(row).and(width);
                score += PENALTY_BLOCK * vertical_equal.and(above_equal).and(equal).count();
                vertical_equal
            }
            None => Row::default(),
        };
        previous = Some((row, equal));

        // Feature 1, vertical: rows y−4..y equal, marked at the run's last row; a run of L
        // rows marks L − 4 rows, widened by two upwards to L − 2, counted two rows late.
        equal_above.rotate_right(1);
        run5_above.rotate_right(1);
        if let (Some(nearest), Some(run5)) = (equal_above.first_mut(), run5_above.first_mut()) {
            *nearest = vertical_equal;
            *run5 = equal_above.iter().fold(width, |acc, &equal| acc.and(equal));
        }
        score += run5_above
            .iter()
            .fold(Row::default(), |acc, &run5| acc.or(run5))
            .count();

        if score >= limit {
            return score;
        }

        // Feature 3, vertical: the pattern in rows y..y+6.
        if y + 7 <= size {
            let at = |k: usize| rows.get(y + k).copied().unwrap_or_default();
            let core = row
                .and(at(1).not())
                .and(at(2))
                .and(at(3))
                .and(at(4))
                .and(at(5).not())
                .and(at(6));
            if !core.is_empty() {
                let before = (1..=4).fold(Row::ALL, |acc, k| acc.and(light(y.checked_sub(k))));
                let after = (7..=10).fold(Row::ALL, |acc, k| acc.and(light(Some(y + k))));
                score += PENALTY_FINDER * (core.and(before).count() + core.and(after).count());
            }
        }
    }
    // The widened vertical runs of the last two rows.
    let [last, before_last, _] = run5_above;
    score += last.or(before_last).count() + last.count();
    // Feature 4.
    let total = (size * size) as u32;
    let steps = (dark_modules * 20).abs_diff(total * 10) / total.max(1);
    score + PENALTY_BALANCE * steps
}

/// Every mask pattern repeats vertically every 12 rows (periods 2, 3, 4 and 6).
const MASK_PERIOD: usize = 12;

/// The eight mask patterns for the rows 0..12, over the full 192 columns.
const MASK_PATTERNS: [[Row<3>; MASK_PERIOD]; 8] = mask_patterns();

#[expect(
    clippy::indexing_slicing,
    reason = "compile-time loops bounded by the array sizes"
)]
const fn mask_patterns() -> [[Row<3>; MASK_PERIOD]; 8] {
    let mut patterns = [[Row([0; 3]); MASK_PERIOD]; 8];
    let mut mask = 0;
    while mask < 8 {
        let mut y = 0;
        while y < MASK_PERIOD {
            let mut x = 0;
            while x < 3 * 64 {
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
    use super::super::matrix::Grid;
    use super::*;

    /// Rows of the grid as it is now.
    fn rows_of<const W: usize>(grid: &Grid) -> Vec<Row<W>> {
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

    /// Scores of the eight masks by the reference, and the mask the bit rows choose.
    fn check<const W: usize>(version: u8, seed: u64) {
        let mut grid = Grid::new(version);
        grid.place(&codewords_for(version, seed));
        let data: Vec<Row<W>> = rows_of(&grid);
        let layout = Layout::of(version);
        let mut reference = Vec::new();
        for mask in 0..8 {
            grid.apply_mask(mask);
            grid.draw_format(mask);
            let expected = grid.penalty();
            assert_eq!(
                penalty(&rows_of::<W>(&grid)),
                expected,
                "version {version}, seed {seed}, mask {mask}, {W} words"
            );
            let mut masked = vec![Row::<W>::default(); grid.size()];
            apply_mask(&data, layout, mask, &mut masked);
            assert_eq!(
                masked,
                rows_of::<W>(&grid),
                "version {version}, mask {mask}"
            );
            reference.push(expected);
            grid.apply_mask(mask);
        }
        let lowest = reference.iter().min().unwrap();
        let first_lowest = reference.iter().position(|score| score == lowest).unwrap();
        assert_eq!(usize::from(best_mask(&data, layout)), first_lowest);
    }

    #[test]
    fn bit_rows_score_like_the_module_by_module_reference() {
        for version in 1..=40u8 {
            for seed in [1, 99] {
                check::<3>(version, seed);
                match version {
                    ..=11 => check::<1>(version, seed),
                    12..=27 => check::<2>(version, seed),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn table_lookup_matches_the_mask_formulas() {
        for mask in 0..8 {
            for y in 0..40 {
                for x in 0..177 {
                    assert_eq!(
                        mask_row::<3>(mask, y).bit(x),
                        mask_bit(mask, x, y),
                        "{mask} {x} {y}"
                    );
                }
            }
        }
    }
}
