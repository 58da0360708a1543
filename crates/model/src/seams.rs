//! The two seams through which the outside world enters pure code: time and randomness.

use crate::UtcTime;

/// A source of the current time. Pure code takes a `&dyn Clock` instead of reading the clock.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> UtcTime;
}

/// The operating system's clock; for binaries and servers, never for pure code under test.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UtcTime {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        UtcTime::from_epoch_seconds(secs).unwrap_or(UtcTime::UNIX_EPOCH)
    }
}

/// A clock stopped at one instant, for tests and deterministic generators.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub UtcTime);

impl Clock for FixedClock {
    fn now(&self) -> UtcTime {
        self.0
    }
}

/// A source of random bytes. Cryptographic code at the edge uses the system generator;
/// generators of test data use [`SeededRng`].
pub trait Rng: Send {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// A deterministic, *non-cryptographic* generator (SplitMix64) for test data and golden files.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator that always yields the same stream for the same seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` must be non-zero; 0 yields 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

impl Rng for SeededRng {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            for (d, s) in chunk.iter_mut().zip(bytes) {
                *d = s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(x, [0u8; 13]);
    }

    #[test]
    fn system_clock_is_after_2025() {
        assert!(SystemClock.now().epoch_seconds() > 1_735_689_600);
    }
}
