//! Latencies in a histogram of fixed size, so that a long soak's own bookkeeping does not grow
//! the process it measures (a `Vec` of every latency grows by 16 bytes per request).
//!
//! Log-linear buckets over microseconds: exact below 64 µs, then 32 buckets per power of two
//! (each within about 3 % of its values), up to 2^40 µs.

use std::time::Duration;

/// Sub-buckets per power of two above [`LINEAR`].
const SUB: u64 = 32;
/// Values below this many microseconds have a bucket each.
const LINEAR: u64 = 64;
/// Powers of two covered above [`LINEAR`] (2^6 … 2^40 µs).
const OCTAVES: u64 = 35;
const BUCKETS: usize = (LINEAR + OCTAVES * SUB) as usize;

/// Counts of latencies per bucket, and the largest latency exactly.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: Duration,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max: Duration::ZERO,
        }
    }
}

impl Histogram {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let index = bucket(micros).min(BUCKETS - 1);
        self.counts[index] += 1;
        self.total += 1;
        self.max = self.max.max(latency);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The latency at quantile `p` (0–1): the lower bound of the bucket holding it.
    pub fn percentile(&self, p: f64) -> Duration {
        let rank = ((p * self.total as f64).ceil() as u64).clamp(1, self.total.max(1));
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_micros(lower_bound(index));
            }
        }
        self.max
    }

    /// The largest latency recorded.
    pub fn max(&self) -> Duration {
        self.max
    }
}

fn bucket(micros: u64) -> usize {
    if micros < LINEAR {
        return micros as usize;
    }
    let octave = u64::from(63 - micros.leading_zeros()) - LINEAR.trailing_zeros() as u64;
    let shift = octave + LINEAR.trailing_zeros() as u64 - SUB.trailing_zeros() as u64;
    let sub = (micros >> shift) & (SUB - 1);
    (LINEAR + octave * SUB + sub) as usize
}

fn lower_bound(index: usize) -> u64 {
    let index = index as u64;
    if index < LINEAR {
        return index;
    }
    let octave = (index - LINEAR) / SUB;
    let sub = (index - LINEAR) % SUB;
    let shift = octave + LINEAR.trailing_zeros() as u64 - SUB.trailing_zeros() as u64;
    (LINEAR << octave) + (sub << shift)
}
