//! The same ViT forward on WGPU and on ndarray. Runs with `--features vit-cli/wgpu`; without a
//! GPU it needs Mesa's software Vulkan (`apt-get install mesa-vulkan-drivers libvulkan1`).
#![cfg(all(feature = "wgpu", feature = "ndarray"))]

use burn::backend::{NdArray, Wgpu};
use burn::module::Module;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::{Tensor, TensorData};
use vit_core::VisionTransformerConfig;
use vit_core::pooling::GlobalPool;

#[test]
fn wgpu_forward_matches_ndarray() {
    let config = VisionTransformerConfig::new()
        .with_img_size([32, 32])
        .with_patch_size(8)
        .with_embed_dim(32)
        .with_depth(2)
        .with_num_heads(4)
        .with_num_classes(10)
        .with_init_values(Some(0.5))
        .with_global_pool(GlobalPool::Avg);
    let cpu = Default::default();
    let gpu = Default::default();
    // One set of weights, serialised once and loaded on both backends.
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let bytes = recorder
        .record(config.init::<NdArray>(&cpu).into_record(), ())
        .unwrap();
    let model = config
        .init::<NdArray>(&cpu)
        .load_record(recorder.load(bytes.clone(), &cpu).unwrap());
    let on_gpu = config
        .init::<Wgpu>(&gpu)
        .load_record(recorder.load(bytes, &gpu).unwrap());

    let n = 2 * 3 * 32 * 32;
    let pixels: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let data = TensorData::new(pixels, [2, 3, 32, 32]);
    let expected = model.forward(Tensor::<NdArray, 4>::from_data(data.clone(), &cpu));
    let got = on_gpu.forward(Tensor::<Wgpu, 4>::from_data(data, &gpu));
    let expected = expected.into_data().into_vec::<f32>().unwrap();
    let got = got.into_data().into_vec::<f32>().unwrap();
    let diff = expected
        .iter()
        .zip(&got)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(diff <= 1e-4, "WGPU and ndarray logits differ by {diff}");
}
