//! One row of modules as a bit set: bit x is column x, dark is 1. `W` 64-bit words hold the
//! row; the encoder picks the smallest `W` for the version (1 word up to version 11, 2 up to
//! version 27, 3 up to version 40) so that narrow symbols do not pay for 192 columns.

/// A row of `W` words; bits past the symbol are zero (light) in a row of the symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row<const W: usize>(pub(crate) [u64; W]);

impl<const W: usize> Default for Row<W> {
    fn default() -> Self {
        Self([0; W])
    }
}

impl<const W: usize> Row<W> {
    /// Every bit set.
    pub(crate) const ALL: Self = Self([u64::MAX; W]);

    /// The first `count` bits set.
    pub(crate) fn ones(count: usize) -> Self {
        Self(std::array::from_fn(|word| {
            let bits = count.saturating_sub(word * 64).min(64);
            if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            }
        }))
    }

    /// The first `W` words of a wider row.
    pub(crate) fn narrow<const WIDE: usize>(row: &Row<WIDE>) -> Self {
        Self(std::array::from_fn(|word| {
            row.0.get(word).copied().unwrap_or(0)
        }))
    }

    /// Whether bit x is set.
    #[cfg(test)]
    pub(crate) fn bit(&self, x: usize) -> bool {
        self.0
            .get(x / 64)
            .is_some_and(|word| (word >> (x % 64)) & 1 == 1)
    }

    /// Sets bit x to `value`.
    pub(crate) fn set(&mut self, x: usize, value: bool) {
        if let Some(word) = self.0.get_mut(x / 64) {
            let bit = 1u64 << (x % 64);
            if value {
                *word |= bit;
            } else {
                *word &= !bit;
            }
        }
    }

    /// Whether no bit is set.
    pub(crate) fn is_empty(self) -> bool {
        self.0.iter().all(|&word| word == 0)
    }

    pub(crate) fn and(self, other: Self) -> Self {
        self.zip(other, |a, b| a & b)
    }

    pub(crate) fn or(self, other: Self) -> Self {
        self.zip(other, |a, b| a | b)
    }

    pub(crate) fn xor(self, other: Self) -> Self {
        self.zip(other, |a, b| a ^ b)
    }

    /// Bits equal in both rows (NOT XOR).
    pub(crate) fn same(self, other: Self) -> Self {
        self.zip(other, |a, b| !(a ^ b))
    }

    pub(crate) fn not(self) -> Self {
        Self(self.0.map(|word| !word))
    }

    /// Number of bits set.
    pub(crate) fn count(self) -> u32 {
        self.0.iter().map(|word| word.count_ones()).sum()
    }

    /// Bit x takes bit x + k (zeros come in at the top), for 1 ≤ k < 64.
    pub(crate) fn shr(self, k: u32) -> Self {
        self.shr_filled(k, 0)
    }

    /// Like [`Row::shr`], with ones coming in: "light" past the last word.
    pub(crate) fn shr_ones(self, k: u32) -> Self {
        self.shr_filled(k, u64::MAX)
    }

    /// Bit x takes bit x − k (zeros come in at the bottom), for 1 ≤ k < 64.
    pub(crate) fn shl(self, k: u32) -> Self {
        self.shl_filled(k, 0)
    }

    /// Like [`Row::shl`], with ones coming in: "light" before the first column.
    pub(crate) fn shl_ones(self, k: u32) -> Self {
        self.shl_filled(k, u64::MAX)
    }

    fn shr_filled(self, k: u32, fill: u64) -> Self {
        let words = self.0;
        Self(std::array::from_fn(|index| {
            let here = words.get(index).copied().unwrap_or(fill);
            let above = words.get(index + 1).copied().unwrap_or(fill);
            here >> k | above << (64 - k)
        }))
    }

    fn shl_filled(self, k: u32, fill: u64) -> Self {
        let words = self.0;
        Self(std::array::from_fn(|index| {
            let here = words.get(index).copied().unwrap_or(fill);
            let below = index
                .checked_sub(1)
                .and_then(|below| words.get(below))
                .copied()
                .unwrap_or(fill);
            here << k | below >> (64 - k)
        }))
    }

    fn zip(self, other: Self, operation: impl Fn(u64, u64) -> u64) -> Self {
        let (a, b) = (self.0, other.0);
        Self(std::array::from_fn(|index| {
            operation(
                a.get(index).copied().unwrap_or(0),
                b.get(index).copied().unwrap_or(0),
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_carry_across_words_and_fill_as_asked() {
        let mut row = Row::<2>::default();
        row.set(63, true);
        assert!(row.shl(1).bit(64));
        assert!(row.shr(1).bit(62));
        assert!(Row::<2>::default().shr_ones(3).bit(127));
        assert!(!Row::<2>::default().shr_ones(3).bit(124));
        assert!(Row::<2>::default().shl_ones(3).bit(2));
        assert!(!Row::<2>::default().shl_ones(3).bit(3));
        assert_eq!(Row::<3>::ones(130).count(), 130);
        assert_eq!(Row::<1>::ones(64), Row::<1>::ALL);
    }
}
