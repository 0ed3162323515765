//! Branch-free single-precision `exp` and `erf` that LLVM vectorises (no calls, only selects),
//! accurate to about 1–2 ulp: the tests check ≤ 2e-7 relative error against f64 over the whole
//! range, infinities, NaN and subnormal results included.

/// `1/√2`.
pub const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// `1/√(2π)`, the standard normal density at 0.
pub const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// `2^k` for an integer-valued `k` in `[-126, 127]`, built from its exponent bits.
///
/// Adding 2²³ puts the integer `k + 127` in the low mantissa bits, which the shift moves into
/// the exponent field (the rest shifts out). Unlike `k as i32` — a saturating conversion that
/// LLVM emits lane by lane — this stays in vector registers.
#[inline(always)]
fn pow2i(k: f32) -> f32 {
    f32::from_bits((k + (127.0 + 8_388_608.0)).to_bits() << 23)
}

/// `eˣ`: `2ⁿ·e^r` with `n = round(x·log₂e)`, `r` reduced in two steps (Cody–Waite) and `e^r` from
/// Cephes' degree-6 polynomial. `2ⁿ` is applied as two factors so that results down to the
/// smallest subnormal are right; `x > 88.72` gives `+inf`, `x < -103.98` gives `0`, NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5·2²³: adding and subtracting it rounds to the nearest integer without a call.
    const ROUND: f32 = 12_582_912.0;
    let xc = x.clamp(-104.0, 89.0);
    let n = (xc * LOG2E + ROUND) - ROUND;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    // n ∈ [-150, 129]: split so that each factor stays a normal number.
    let n1 = (n * 0.5 + ROUND) - ROUND;
    let n2 = n - n1;
    let y = er * pow2i(n1) * pow2i(n2);
    // clamp() lets NaN through, but the integer conversions above do not: restore it.
    if x.is_nan() { x } else { y }
}

/// `erfc(z)` for `z ≥ 0` with relative error ≈ 1.2e-7 (Numerical Recipes' `erfcc`, a Chebyshev
/// fit of `erfc(z)·e^{z²}` in `t = 1/(1 + z/2)`).
#[inline(always)]
fn erfc_nonneg(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * z);
    let mut p = 0.170_872_77_f32;
    p = p * t - 0.822_152_23;
    p = p * t + 1.488_515_9;
    p = p * t - 1.135_204;
    p = p * t + 0.278_868_07;
    p = p * t - 0.186_288_06;
    p = p * t + 0.096_784_18;
    p = p * t + 0.374_091_96;
    p = p * t + 1.000_023_7;
    p = p * t - 1.265_512_2;
    t * exp(p - z * z)
}

/// `erf(x)/x` near 0: the Maclaurin series of erf through x¹⁷ (error < 3e-9 for |x| ≤ 0.8).
#[inline(always)]
fn erf_series_over_x(x: f32) -> f32 {
    let x2 = x * x;
    let mut p = 1.646_211_4e-6_f32;
    p = p * x2 - 1.492_565e-5;
    p = p * x2 + 1.205_533_3e-4;
    p = p * x2 - 8.548_327e-4;
    p = p * x2 + 5.223_977_6e-3;
    p = p * x2 - 2.686_617_1e-2;
    p = p * x2 + 0.112_837_92;
    p = p * x2 - 0.376_126_4;
    p * x2 + std::f32::consts::FRAC_2_SQRT_PI
}

/// Below this |x| erf comes from its series, above from `1 − erfc`.
const SERIES_LIMIT: f32 = 0.8;

/// The error function.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let near = x * erf_series_over_x(x);
    let far = (1.0 - erfc_nonneg(a)).copysign(x);
    if a < SERIES_LIMIT { near } else { far }
}

/// `1 + erf(x)`, without the cancellation of computing it from `erf` when `x` is very negative
/// (there it is `erfc(−x)` directly): GELU's `2·Φ(x√2)`.
#[inline(always)]
pub fn one_plus_erf(x: f32) -> f32 {
    let a = x.abs();
    let near = 1.0 + x * erf_series_over_x(x);
    let tail = erfc_nonneg(a);
    let far = if x < 0.0 { tail } else { 2.0 - tail };
    if a < SERIES_LIMIT { near } else { far }
}

/// Exact GELU, `x·Φ(x)` (Φ the standard normal CDF), as timm and PyTorch's default compute it.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * one_plus_erf(x * FRAC_1_SQRT_2)
}

/// `d gelu(x) / dx = Φ(x) + x·φ(x)`.
#[inline(always)]
pub fn gelu_derivative(x: f32) -> f32 {
    let cdf = 0.5 * one_plus_erf(x * FRAC_1_SQRT_2);
    let pdf = FRAC_1_SQRT_2PI * exp(-0.5 * x * x);
    cdf + x * pdf
}

/// `σ(x) = 1/(1 + e^(−x))`; an overflowing `e^(−x)` gives exactly 0.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `√(2/π)`, the tanh-GELU's scale.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

/// The tanh GELU's argument `2u = 2√(2/π)(x + 0.044715x³)`: `½(1 + tanh u) = σ(2u)`, which
/// keeps the far negative tail accurate (no `1 + tanh` cancellation).
#[inline(always)]
fn gelu_tanh_2u(x: f32) -> f32 {
    2.0 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
}

/// GELU with the tanh approximation, `½x(1 + tanh(√(2/π)(x + 0.044715x³)))` = `x·σ(2u)`.
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    x * sigmoid(gelu_tanh_2u(x))
}

/// `d gelu_tanh(x) / dx = σ(2u) + x·σ(2u)(1 − σ(2u))·2u'`.
#[inline(always)]
pub fn gelu_tanh_derivative(x: f32) -> f32 {
    let s = sigmoid(gelu_tanh_2u(x));
    let du2 = 2.0 * SQRT_2_OVER_PI * (1.0 + 3.0 * 0.044715 * x * x);
    s + x * s * (1.0 - s) * du2
}

/// `x·σ(kx)`: SiLU (`k = 1`) and QuickGELU (`k = 1.702`).
#[inline(always)]
pub fn sigmoid_linear(x: f32, k: f32) -> f32 {
    x * sigmoid(k * x)
}

/// `d (x·σ(kx)) / dx = σ(kx)(1 + kx(1 − σ(kx)))`.
#[inline(always)]
pub fn sigmoid_linear_derivative(x: f32, k: f32) -> f32 {
    let s = sigmoid(k * x);
    s * (1.0 + k * x * (1.0 - s))
}

/// Lanes of the reductions below: 16 independent partial results let LLVM keep them in one
/// AVX-512 register (two AVX2 ones) instead of a serial chain, which strict float semantics
/// would otherwise force.
const LANES: usize = 16;

/// `Σ f(i)` over `0..n` with [`LANES`] partial sums.
#[inline(always)]
pub fn lane_sum(n: usize, f: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let full = n / LANES * LANES;
    for base in (0..full).step_by(LANES) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += f(base + l);
        }
    }
    let mut total = acc.iter().sum::<f32>();
    for i in full..n {
        total += f(i);
    }
    total
}

/// `Σ xs`.
#[inline(always)]
pub fn sum(xs: &[f32]) -> f32 {
    lane_sum(xs.len(), |i| xs[i])
}

/// `Σ a⊙b`.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    lane_sum(n, |i| a[i] * b[i])
}

/// `max xs` (`-inf` for an empty slice; NaN-ignoring like `f32::max`).
#[inline(always)]
pub fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = a.max(v);
        }
    }
    let m = acc.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    chunks.remainder().iter().fold(m, |m, &v| m.max(v))
}
