//! Deterministic randomness: every stream is derived from the seed and a label,
//! so adding a draw in one file does not shift the data of another.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub type GenRng = ChaCha8Rng;

/// An independent stream for (`seed`, `label`, `index`).
pub fn stream(seed: u64, label: &str, index: u64) -> GenRng {
    // FNV-1a over the label, mixed with seed and index.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&h.to_le_bytes());
    key[16..24].copy_from_slice(&index.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// A standard normal draw (Box–Muller).
pub fn normal(rng: &mut GenRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

pub fn chance(rng: &mut GenRng, p: f64) -> bool {
    rng.random::<f64>() < p
}

pub fn pick<'a, T>(rng: &mut GenRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}
