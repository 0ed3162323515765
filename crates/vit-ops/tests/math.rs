//! The vectorised `exp` and `erf` against f64 references over their whole range.

use vit_ops::kernels::math;

/// Every 97th f32 bit pattern in `[lo, hi]` plus the edges: ~10⁵ points spread over all
/// exponents, subnormals included.
fn sweep(lo: f32, hi: f32) -> Vec<f32> {
    let mut xs: Vec<f32> = (0..u32::MAX / 97)
        .map(|i| f32::from_bits(i.wrapping_mul(97).wrapping_add(13)))
        .filter(|x| x.is_finite() && *x >= lo && *x <= hi)
        .step_by(200)
        .collect();
    xs.extend([
        lo,
        hi,
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
    ]);
    xs
}

/// Relative error of `got` against the f64 `want`, or the absolute error in units of the
/// smallest subnormal where `want` is below the normal range.
fn error(got: f32, want: f64) -> f64 {
    if want.abs() < f32::MIN_POSITIVE as f64 {
        (got as f64 - want).abs() / 1.401298464324817e-45 * 1e-7
    } else {
        ((got as f64 - want) / want).abs()
    }
}

#[test]
fn exp_is_within_2e7_relative_over_the_whole_range() {
    let mut worst = (0.0, 0.0f32);
    for x in sweep(-110.0, 95.0) {
        let want = (x as f64).exp();
        let want = if want > f32::MAX as f64 {
            f64::INFINITY
        } else {
            want
        };
        let got = math::exp(x);
        if want.is_infinite() {
            assert_eq!(got, f32::INFINITY, "exp({x})");
            continue;
        }
        let e = error(got, want);
        if e > worst.0 {
            worst = (e, x);
        }
    }
    assert!(
        worst.0 <= 2e-7,
        "exp: worst relative error {:e} at x = {}",
        worst.0,
        worst.1
    );
}

#[test]
fn exp_of_special_values() {
    assert_eq!(math::exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(math::exp(f32::NEG_INFINITY), 0.0);
    assert!(math::exp(f32::NAN).is_nan());
    assert_eq!(math::exp(0.0), 1.0);
    assert_eq!(math::exp(-0.0), 1.0);
    assert_eq!(math::exp(89.0), f32::INFINITY);
    assert_eq!(math::exp(-104.0), 0.0);
    // A subnormal result: e^-100 ≈ 3.7e-44.
    let sub = math::exp(-100.0);
    assert!(sub > 0.0 && sub < f32::MIN_POSITIVE, "{sub}");
}

#[test]
fn erf_is_within_2e7_relative_over_the_whole_range() {
    let mut worst = (0.0, 0.0f32);
    for x in sweep(-12.0, 12.0) {
        let want = libm::erf(x as f64);
        let got = math::erf(x);
        let e = error(got, want);
        if e > worst.0 {
            worst = (e, x);
        }
    }
    assert!(
        worst.0 <= 2e-7,
        "erf: worst relative error {:e} at x = {}",
        worst.0,
        worst.1
    );
}

#[test]
fn erf_of_special_values() {
    assert_eq!(math::erf(f32::INFINITY), 1.0);
    assert_eq!(math::erf(f32::NEG_INFINITY), -1.0);
    assert!(math::erf(f32::NAN).is_nan());
    assert_eq!(math::erf(0.0), 0.0);
    // Subnormal inputs: erf(x) ≈ 2x/√π.
    let x = 1e-40f32;
    assert!((math::erf(x) as f64 - 2.0 / std::f64::consts::PI.sqrt() * x as f64).abs() < 2e-45);
}

#[test]
fn gelu_is_accurate_including_the_negative_tail() {
    // 1 + erf(x/√2) computed as erfc keeps relative accuracy where it is tiny: 2e-6 down to
    // x = -4, 2e-5 in the tail below (|gelu| < 1.3e-4; the rounding of x² inside exp dominates
    // there; `0.5·x·(1 + erf)` as composed in f32 has no correct digit left at all).
    for x in sweep(-12.0, 12.0) {
        let xd = x as f64;
        let want = 0.5 * xd * libm::erfc(-xd / std::f64::consts::SQRT_2);
        let got = math::gelu(x) as f64;
        let rel = if x < -4.0 { 2e-5 } else { 2e-6 };
        let tol = rel * want.abs() + 1e-37;
        assert!((got - want).abs() <= tol, "gelu({x}) = {got}, want {want}");
        let dwant = 0.5 * libm::erfc(-xd / std::f64::consts::SQRT_2)
            + xd * (-0.5 * xd * xd).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let dgot = math::gelu_derivative(x) as f64;
        assert!(
            (dgot - dwant).abs() <= rel * dwant.abs() + 1e-7,
            "gelu'({x}) = {dgot}, want {dwant}"
        );
    }
}
