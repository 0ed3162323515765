//! timm parity on WGPU: the committed timm fixtures (`tests/fixtures/timm`: ViT, DeiT, Swin)
//! loaded and run on the GPU backend must give timm's features and logits within 1e-4, as on
//! ndarray; and there Burn's fused attention kernel (the default on GPU backends) must agree
//! with the materialised scores. Without a GPU it needs Mesa's software Vulkan
//! (`apt-get install mesa-vulkan-drivers libvulkan1`).

use burn::backend::Wgpu;
use burn::tensor::Tensor;
use vit_core::layers::AttentionPath;
use vit_core::model::VisionModel;
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{max_abs_diff_data as max_abs_diff, timm_fixture};
use vit_variants::zoo::{PretrainedModel, ZooModel};

fn load(case: &str) -> (PretrainedModel<Wgpu>, Checkpoint) {
    let device = Default::default();
    let loaded = PretrainedModel::<Wgpu>::load(&timm_fixture(case), None, None, &device).unwrap();
    let io = Checkpoint::read(timm_fixture(case).join("io.safetensors")).unwrap();
    (loaded, io)
}

#[test]
fn timm_fixtures_match_timm_on_wgpu() {
    for case in [
        "vit_cls",
        "vit_gap",
        "vit_p4_d3_h4",
        "vit_map",
        "vit_dynamic",
        "deit_distilled",
        "swin_2stage",
    ] {
        let (loaded, mut io) = load(case);
        let input = Tensor::<Wgpu, 4>::from_data(io.take("input").unwrap(), &Default::default());
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

#[test]
fn fused_attention_and_materialised_scores_agree_on_wgpu() {
    let (loaded, mut io) = load("vit_cls");
    let ZooModel::Vit(mut vit) = loaded.model else {
        unreachable!("vit_cls is a ViT")
    };
    assert!(
        vit.blocks
            .iter()
            .all(|b| b.attn.path == AttentionPath::Fused),
        "GPU backends take Burn's fused attention by default"
    );
    let input = Tensor::<Wgpu, 4>::from_data(io.take("input").unwrap(), &Default::default());
    let fused = vit.forward(input.clone()).into_data();
    for block in &mut vit.blocks {
        block.attn.path = AttentionPath::Materialized;
    }
    let materialised = vit.forward(input).into_data();
    let diff = max_abs_diff(fused, &materialised);
    assert!(
        diff <= 1e-4,
        "fused vs materialised logits differ by {diff}"
    );
}
