//! Per-address counters for the in-process store, in memory of a fixed
//! size that no flood can flush: a count-min sketch per window length.
//!
//! Why: per-address limits exist for floods from many addresses, and a map
//! with one entry per address fills under exactly those floods. When the
//! map forgot counters to make room, every address's count started again at
//! zero: the limits were void while the store was full. Here a counter is
//! never forgotten; a flood can only make counts read *higher* (cells shared
//! with other addresses), so a limit errs closed, never open.
//!
//! Windows are fixed and aligned (epochs of the window's length from the
//! store's start): an event counts in the epoch it falls in, and a limited
//! address may try again when the epoch ends. Each count is the smallest of
//! `DEPTH` cells picked by a hash keyed at random per process, so that no
//! one can aim collisions at a chosen address.

use std::{
    hash::{BuildHasher, RandomState},
    time::Duration,
};
use tokio::time::Instant;

/// Cells per row: with `DEPTH` rows of u16, 1 MiB per window length.
const WIDTH: usize = 1 << 17;
const DEPTH: usize = 4;

/// One window length's sketch, for its current epoch.
struct Sketch {
    window: Duration,
    epoch: u64,
    cells: Box<[u16]>,
}

/// The counters of every window length in use (a handful: the limits' own).
pub(super) struct Tally {
    origin: Instant,
    hasher: RandomState,
    sketches: Vec<Sketch>,
}

impl Tally {
    pub(super) fn new(origin: Instant) -> Tally {
        Tally { origin, hasher: RandomState::new(), sketches: Vec::new() }
    }

    /// The `DEPTH` cells of `key`, one per row (double hashing of one hash).
    fn cells(&self, key: &str) -> [usize; DEPTH] {
        let hash = self.hasher.hash_one(key);
        let (h1, h2) = (hash as u32 as usize, (hash >> 32) as usize | 1);
        std::array::from_fn(|row| row * WIDTH + (h1.wrapping_add(row.wrapping_mul(h2)) % WIDTH))
    }

    /// The sketch for `window`, cleared if its epoch has passed; and how
    /// long the current epoch has left.
    fn sketch(&mut self, window: Duration, now: Instant) -> (&mut Sketch, Duration) {
        let window = window.max(Duration::from_millis(1));
        let since = now.saturating_duration_since(self.origin);
        let epoch = (since.as_millis() / window.as_millis()) as u64;
        let ends = self.origin + window * (epoch as u32 + 1);
        let index = match self.sketches.iter().position(|s| s.window == window) {
            Some(index) => index,
            None => {
                self.sketches.push(Sketch { window, epoch, cells: vec![0; WIDTH * DEPTH].into_boxed_slice() });
                self.sketches.len() - 1
            }
        };
        let sketch = &mut self.sketches[index];
        if sketch.epoch != epoch {
            sketch.cells.fill(0);
            sketch.epoch = epoch;
        }
        (sketch, ends.saturating_duration_since(now))
    }

    /// The count of `key` in its window's current epoch.
    pub(super) fn count(&mut self, key: &str, window: Duration, now: Instant) -> u64 {
        let cells = self.cells(key);
        let (sketch, _) = self.sketch(window, now);
        cells.iter().map(|&c| u64::from(sketch.cells[c])).min().unwrap_or(0)
    }

    /// How long the current epoch of `window` has left.
    pub(super) fn epoch_left(&mut self, window: Duration, now: Instant) -> Duration {
        self.sketch(window, now).1
    }

    /// Counts one event of `key`; returns the new count and how long until
    /// the epoch ends.
    pub(super) fn increment(&mut self, key: &str, window: Duration, now: Instant) -> (u64, Duration) {
        let cells = self.cells(key);
        let (sketch, left) = self.sketch(window, now);
        for &c in &cells {
            sketch.cells[c] = sketch.cells[c].saturating_add(1);
        }
        (cells.iter().map(|&c| u64::from(sketch.cells[c])).min().unwrap_or(0), left)
    }

    /// Bytes held: fixed per window length in use.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.sketches.len() * WIDTH * DEPTH * std::mem::size_of::<u16>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn counts_are_exact_for_a_few_keys_and_start_again_each_epoch() {
        let mut tally = Tally::new(Instant::now());
        let now = Instant::now();
        for n in 1..=5 {
            assert_eq!(tally.increment("a", MINUTE, now).0, n);
        }
        assert_eq!(tally.count("a", MINUTE, now), 5);
        assert_eq!(tally.count("b", MINUTE, now), 0);
        assert_eq!(tally.count("a", Duration::from_secs(3600), now), 0, "each window length counts apart");
        let later = now + Duration::from_secs(59);
        assert_eq!(tally.increment("a", MINUTE, later), (6, Duration::from_secs(1)), "the epoch's end is the retry");
        assert_eq!(tally.count("a", MINUTE, now + MINUTE), 0);
    }

    /// The attack the sketch exists for: counters from a million addresses
    /// in one epoch. Memory stays what it was, and an address that counted
    /// its limit still reads at least that: a flood errs closed, never open.
    #[tokio::test(start_paused = true)]
    async fn a_flood_of_addresses_neither_grows_it_nor_opens_a_limit() {
        let mut tally = Tally::new(Instant::now());
        let now = Instant::now();
        for _ in 0..30 {
            tally.increment("~lookup:ip:198.51.100.7/32", MINUTE, now);
        }
        let bytes = tally.bytes();
        for i in 0..1_000_000u32 {
            tally.increment(&format!("~lookup:ip:{}/32", std::net::Ipv4Addr::from(i)), MINUTE, now);
        }
        assert_eq!(tally.bytes(), bytes, "fixed size");
        assert!(tally.count("~lookup:ip:198.51.100.7/32", MINUTE, now) >= 30, "never lower than the truth");
        // And a person who did little reads little, even after the flood.
        let person = tally.count("~lookup:ip:203.0.113.9/32", MINUTE, now);
        assert!(person < 30, "a new address reads {person} after a million others' one each");
    }
}
