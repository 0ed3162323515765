//! Mutation fuzzing on stable Rust: valid files bent into thousands of invalid ones, for the
//! property every reader of untrusted bytes must have — an `Err` or a value, never a panic,
//! never an allocation far beyond the input (see [`crate::alloc`]).
//!
//! The mutations are those that find bugs in binary and text headers: bit flips, bytes set to
//! boundary values, truncation, appended junk, duplicated and deleted runs, and — for numbers
//! written as text (JSON, `.npy` headers) — digits replaced by huge, negative or empty ones.
//! Deterministic: a case is its seed, printed when it fails.

/// How many cases a property runs: `VIT_FUZZ_CASES` (the opt-in long run, e.g.
/// `cargo xtask fuzz`), else `default`.
pub fn cases(default: usize) -> usize {
    std::env::var("VIT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The generator of case `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Numbers a mutated text number becomes: boundaries of every integer width, negatives,
/// non-numbers.
const TEXT_NUMBERS: [&str; 12] = [
    "0",
    "-1",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "4611686018427387904",
    "99999999999999999999999",
    "1e308",
    "1e30",
    "NaN",
    "",
    "-9223372036854775808",
];

/// Bytes a mutated byte becomes.
const BOUNDARY_BYTES: [u8; 8] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, b'9', b'"'];

/// `valid` with 1–4 mutations of case `seed` applied.
pub fn mutate(valid: &[u8], seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut bytes = valid.to_vec();
    for _ in 0..1 + rng.below(4) {
        mutate_once(&mut bytes, &mut rng);
    }
    bytes
}

fn mutate_once(bytes: &mut Vec<u8>, rng: &mut Rng) {
    if bytes.is_empty() {
        bytes.push(rng.next_u64() as u8);
        return;
    }
    let at = rng.below(bytes.len());
    match rng.below(8) {
        0 => bytes[at] ^= 1 << rng.below(8),
        1 => bytes[at] = BOUNDARY_BYTES[rng.below(BOUNDARY_BYTES.len())],
        2 => bytes.truncate(at),
        3 => {
            let n = 1 + rng.below(64);
            bytes.extend((0..n).map(|_| rng.next_u64() as u8));
        }
        4 => {
            // A run duplicated in place.
            let n = 1 + rng.below(bytes.len() - at).min(256);
            let run = bytes[at..at + n].to_vec();
            bytes.splice(at..at, run);
        }
        5 => {
            let n = 1 + rng.below(bytes.len() - at).min(256);
            bytes.drain(at..at + n);
        }
        6 => replace_text_number(bytes, at, rng),
        _ => {
            // Four bytes set to a boundary of a little-endian u32/i32 (lengths, offsets).
            let value: u32 = [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff][rng.below(5)];
            for (i, b) in value.to_le_bytes().iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at + i) {
                    *slot = *b;
                }
            }
        }
    }
}

/// Replaces the run of ASCII digits nearest after `at` (if any) with one of [`TEXT_NUMBERS`].
fn replace_text_number(bytes: &mut Vec<u8>, at: usize, rng: &mut Rng) {
    let Some(start) = (at..bytes.len()).find(|&i| bytes[i].is_ascii_digit()) else {
        return;
    };
    let end = (start..bytes.len())
        .find(|&i| !bytes[i].is_ascii_digit())
        .unwrap_or(bytes.len());
    let number = TEXT_NUMBERS[rng.below(TEXT_NUMBERS.len())]
        .as_bytes()
        .to_vec();
    bytes.splice(start..end, number);
}

/// Runs `property` on `cases` mutations of each of `valid`, catching panics: a panic fails
/// with the case's seed, so it can be replayed with [`mutate`].
pub fn check(name: &str, valid: &[Vec<u8>], cases: usize, mut property: impl FnMut(&[u8])) {
    for seed in 0..cases as u64 {
        let original = &valid[seed as usize % valid.len()];
        let input = mutate(original, seed);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| property(&input)));
        if outcome.is_err() {
            panic!(
                "{name}: case {seed} (a mutation of valid input {}) panicked; replay with \
                 vit_testing::mutate::mutate(valid, {seed})",
                seed as usize % valid.len()
            );
        }
    }
}
