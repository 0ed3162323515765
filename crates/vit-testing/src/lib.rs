//! Test helpers shared by the vit-burn crates: the backend every test runs on, chosen by this
//! crate's features (ndarray by default; `flex` or `wgpu` to run the same tests there), tensor
//! comparisons, deterministic inputs, temporary folders and the committed timm fixtures.

pub mod alloc;
pub mod hub_server;
pub mod mutate;
pub mod ports;

use std::path::{Path, PathBuf};

use burn::backend::Autodiff;
use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

/// Inference backend of the tests.
#[cfg(feature = "wgpu")]
pub type B = burn::backend::Wgpu;
/// Inference backend of the tests.
#[cfg(all(feature = "flex", not(feature = "wgpu")))]
pub type B = burn_flex::Flex;
/// Inference backend of the tests.
#[cfg(not(any(feature = "flex", feature = "wgpu")))]
pub type B = burn::backend::NdArray<f32>;

/// Training backend of the tests (autodiff turns dropout and drop-path on).
pub type AB = Autodiff<B>;

/// The backend of the mixed-precision tests, whatever [`B`] is: flex computes in bf16 and f16
/// (NdArray has neither type; WGPU only where the adapter has f16).
pub type MixedB = burn_flex::Flex;
/// [`MixedB`] with autodiff.
pub type MixedAB = Autodiff<MixedB>;

/// The test backend's default device.
pub fn device() -> burn::tensor::Device<B> {
    Default::default()
}

/// A tensor's values as `f32`.
pub fn values<Bk: Backend, const D: usize>(t: &Tensor<Bk, D>) -> Vec<f32> {
    data_values(t.to_data())
}

/// Tensor data's values as `f32`.
pub fn data_values(data: TensorData) -> Vec<f32> {
    data.convert::<f32>().into_vec::<f32>().expect("float data")
}

/// Largest absolute difference of two tensors of the same shape.
pub fn max_abs_diff<Bk: Backend, const D: usize>(a: &Tensor<Bk, D>, b: &Tensor<Bk, D>) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    max_abs_diff_data(a.to_data(), &b.to_data())
}

/// Largest absolute difference of two arrays of the same shape.
pub fn max_abs_diff_data(a: TensorData, b: &TensorData) -> f32 {
    assert_eq!(a.shape, b.shape, "shapes differ");
    data_values(a)
        .iter()
        .zip(data_values(b.clone()))
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

/// A fresh, empty temporary folder unique to this process and `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vit-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary folder");
    dir
}

/// The repository's committed test data (`tests/fixtures` at the workspace root), or the folder
/// `VIT_FIXTURES` names: a test executable built here and run in another checkout (the GPU
/// check) finds the data there.
pub fn fixtures() -> PathBuf {
    match std::env::var_os("VIT_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"),
    }
}

/// A committed timm fixture folder (`tests/fixtures/timm/<name>`).
pub fn timm_fixture(name: &str) -> PathBuf {
    fixtures().join("timm").join(name)
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("target folder");
    for entry in std::fs::read_dir(from).expect("source folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Gives every float parameter of `module` a cheap deterministic value (`0.02 · sin(0.7 · i)`
/// over its elements; `1 +` that for a BatchNorm's `running_var`, which must stay positive)
/// instead of a random draw, keeping its id; every parameter requires gradients (asking a lazy
/// parameter whether it does would draw it). Shape and gradient-flow tests of large models then
/// spend no time in the backend's RNG.
pub fn patterned_weights<Bk: Backend, M: Module<Bk>>(module: M) -> M {
    #[derive(Default)]
    struct Patterned(Vec<String>);
    impl<Bk: Backend> ModuleMapper<Bk> for Patterned {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.0.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.0.pop();
        }
        fn map_float<const D: usize>(
            &mut self,
            param: Param<Tensor<Bk, D>>,
        ) -> Param<Tensor<Bk, D>> {
            let shape = param.lazy_shape();
            let device = param.lazy_device();
            let count = shape.num_elements() as i64;
            let value = Tensor::<Bk, 1, Int>::arange(0..count, &device)
                .float()
                .mul_scalar(0.7)
                .sin()
                .mul_scalar(0.02)
                .reshape(shape);
            let value = if self.0.last().is_some_and(|n| n == "running_var") {
                value + 1.0
            } else {
                value
            };
            Param::initialized(param.id, value.require_grad())
        }
    }
    module.map(&mut Patterned::default())
}

/// A fresh, empty temporary folder ([`temp_dir`]) that is removed when dropped, also when the
/// test fails; the path is `.0`.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates the folder for `name` (unique to this process).
    pub fn new(name: &str) -> Self {
        Self(temp_dir(name))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
