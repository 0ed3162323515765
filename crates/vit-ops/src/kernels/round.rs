//! Rounding f32 values to bf16's or f16's precision (round to nearest, ties to even) while
//! keeping them f32: what an autocast product's operands and result go through on a device
//! without fast half-precision arithmetic (the CPU), at memory speed.

use std::mem::MaybeUninit;

use burn::tensor::f16;

use crate::kernels::parallel::for_row_blocks;
use crate::kernels::simd::multiversion;

/// Elements per parallel block.
const BLOCK: usize = 8192;

/// The half-precision formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HalfFormat {
    /// bfloat16: f32's exponent, 8 bits of mantissa.
    Bf16,
    /// IEEE binary16: 11 bits of mantissa, range ±65504 (beyond: ±inf), subnormals below 6.1e-5.
    F16,
}

/// `x` rounded to bfloat16, nearest with ties to even (bit exact with `half`'s and PyTorch's
/// conversion; burn-flex 0.21's cast rounds a few values whose dropped bits are just above the
/// halfway point down instead, e.g. `0x3d3a8003`); NaN stays NaN.
#[inline(always)]
pub fn round_bf16(x: f32) -> f32 {
    let bits = x.to_bits();
    if x.is_nan() {
        return x;
    }
    let lsb = (bits >> 16) & 1;
    f32::from_bits(bits.wrapping_add(0x7fff + lsb) & 0xffff_0000)
}

multiversion! {
    fn round_bf16_block(x: &[f32], y: &mut [MaybeUninit<f32>]) {
        for (y, &x) in y.iter_mut().zip(x) {
            y.write(round_bf16(x));
        }
    }
}

fn round_f16_block(x: &[f32], y: &mut [MaybeUninit<f32>]) {
    for (y, &x) in y.iter_mut().zip(x) {
        y.write(f16::from_f32(x).to_f32());
    }
}

/// `y = x` rounded to `format`. `y` must be as long as `x`.
pub fn round_to(format: HalfFormat, x: &[f32], y: &mut [MaybeUninit<f32>]) {
    assert_eq!(
        x.len(),
        y.len(),
        "round_to: input and output lengths differ"
    );
    for_row_blocks(y, BLOCK, |start, y| {
        let x = &x[start * BLOCK..][..y.len()];
        match format {
            HalfFormat::Bf16 => round_bf16_block(x, y),
            HalfFormat::F16 => round_f16_block(x, y),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::bf16;

    fn round(format: HalfFormat, x: &[f32]) -> Vec<f32> {
        let mut y = Vec::with_capacity(x.len());
        round_to(format, x, &mut y.spare_capacity_mut()[..x.len()]);
        unsafe { y.set_len(x.len()) };
        y
    }

    #[test]
    fn rounding_is_the_conversion_to_the_half_type_and_back() {
        // Ties, subnormals, overflow, signs, specials, and a sweep of ordinary values.
        let mut x = vec![
            0.0,
            -0.0,
            1.0,
            1.0 + f32::EPSILON,
            1.0 + 1.0 / 256.0, // a tie between two bf16 values
            1.0 + 3.0 / 256.0, // a tie, rounding up to the even one
            65504.0,
            65520.0,
            1e-7,
            -3.0e38,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        x.extend((0..20_000).map(|i| ((i as f32) * 0.731).sin() * 10f32.powi(i % 9 - 4)));
        let bf = round(HalfFormat::Bf16, &x);
        let hf = round(HalfFormat::F16, &x);
        for (i, &v) in x.iter().enumerate() {
            assert_eq!(
                bf[i].to_bits(),
                bf16::from_f32(v).to_f32().to_bits(),
                "bf16 of {v}"
            );
            assert_eq!(
                hf[i].to_bits(),
                f16::from_f32(v).to_f32().to_bits(),
                "f16 of {v}"
            );
        }
        assert!(round(HalfFormat::Bf16, &[f32::NAN])[0].is_nan());
        assert!(round(HalfFormat::F16, &[f32::NAN])[0].is_nan());
    }
}
