//! Shared test helpers: the CPU backend and tensor comparisons.
#![allow(dead_code)]

use burn::backend::{Autodiff, NdArray};
use burn::tensor::{Tensor, TensorData};

/// Inference backend of the tests.
pub type B = NdArray<f32>;
/// Training backend of the tests (autodiff turns dropout and drop-path on).
pub type AB = Autodiff<NdArray<f32>>;

/// The CPU device.
pub fn device() -> burn::backend::ndarray::NdArrayDevice {
    Default::default()
}

/// A tensor's values as `f32`.
pub fn values<Bk: burn::tensor::backend::Backend, const D: usize>(t: &Tensor<Bk, D>) -> Vec<f32> {
    t.to_data().convert::<f32>().into_vec::<f32>().unwrap()
}

/// Largest absolute difference of two tensors of the same shape.
pub fn max_abs_diff<Bk: burn::tensor::backend::Backend, const D: usize>(
    a: &Tensor<Bk, D>,
    b: &Tensor<Bk, D>,
) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    values(a)
        .iter()
        .zip(values(b))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A deterministic pseudo-random tensor (values in [-1, 1)), independent of the backend RNG.
pub fn pseudo_random<const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    let n: usize = shape.iter().product();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let data: Vec<f32> = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_data(TensorData::new(data, shape), &device())
}

/// A fresh, empty temporary directory unique to this process and `name`.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vit-core-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A committed timm fixture (`tests/fixtures/timm/<name>` at the workspace root).
pub fn timm_fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/timm")
        .join(name)
}
