//! timm parity on WGPU: the committed timm fixtures (`tests/fixtures/timm`: ViT, DeiT, Swin)
//! loaded and run on the GPU backend must give timm's features and logits within 1e-4, as on
//! ndarray. Runs with `--features vit-cli/wgpu`; without a GPU it needs Mesa's software Vulkan
//! (`apt-get install mesa-vulkan-drivers libvulkan1`).

use burn::backend::Wgpu;
use burn::tensor::{Tensor, TensorData};
use vit_core::weights::checkpoint::Checkpoint;
use vit_variants::zoo::PretrainedModel;

fn max_abs_diff(a: TensorData, b: &TensorData) -> f32 {
    assert_eq!(a.shape, b.shape);
    let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn timm_fixtures_match_timm_on_wgpu() {
    let device = Default::default();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/timm");
    for case in [
        "vit_cls",
        "vit_gap",
        "vit_p4_d3_h4",
        "vit_map",
        "vit_dynamic",
        "deit_distilled",
        "swin_2stage",
    ] {
        let loaded = PretrainedModel::<Wgpu>::load(&root.join(case), None, None, &device).unwrap();
        let mut io = Checkpoint::read(root.join(case).join("io.safetensors")).unwrap();
        let input = Tensor::<Wgpu, 4>::from_data(io.take("input").unwrap(), &device);
        let features = max_abs_diff(
            loaded.model.forward_features(input.clone()),
            &io.tensors["features"],
        );
        let logits = max_abs_diff(
            loaded.model.forward(input).into_data(),
            &io.tensors["logits"],
        );
        assert!(
            features <= 1e-4 && logits <= 1e-4,
            "{case}: features {features}, logits {logits} from timm"
        );
    }
}
