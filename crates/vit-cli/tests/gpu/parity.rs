//! timm parity on the GPU backends: the committed timm fixtures (`tests/fixtures/timm`: ViT,
//! DeiT, Swin) loaded and run there must give timm's features and logits within 1e-4, as on
//! ndarray; and Burn's fused attention kernel (the default on GPU backends) must agree with the
//! materialised scores. WGPU without a GPU needs Mesa's software Vulkan
//! (`apt-get install mesa-vulkan-drivers libvulkan1`).

use burn::tensor::Tensor;
use vit_core::VitBackend;
use vit_core::layers::{AttentionPath, BlockAttention, EncoderBlock};
use vit_core::model::VisionModel;
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{max_abs_diff_data as max_abs_diff, timm_fixture};
use vit_variants::zoo::{PretrainedModel, ZooModel};

/// Every committed timm fixture.
const CASES: [&str; 8] = [
    "vit_cls",
    "vit_gap",
    "vit_p4_d3_h4",
    "vit_map",
    "vit_dynamic",
    "vit_dynamic_pad",
    "deit_distilled",
    "swin_2stage",
];

fn load<B: VitBackend>(case: &str) -> (PretrainedModel<B>, Tensor<B, 4>, Checkpoint) {
    let device = Default::default();
    let loaded = PretrainedModel::<B>::load(&timm_fixture(case), None, None, &device).unwrap();
    let mut io = Checkpoint::read(timm_fixture(case).join("io.safetensors")).unwrap();
    let input = Tensor::from_data(io.take("input").unwrap(), &device);
    (loaded, input, io)
}

fn timm_fixtures_match_timm<B: VitBackend>() {
    let mut failures = Vec::new();
    for case in CASES {
        let (loaded, input, io) = load::<B>(case);
        let features = max_abs_diff(
            loaded.model.forward_features(input.clone()),
            &io.tensors["features"],
        );
        let logits = max_abs_diff(
            loaded.model.forward(input).into_data(),
            &io.tensors["logits"],
        );
        // Printed for the GPU check's log (`--nocapture`), whatever the outcome.
        println!("parity {case}: features {features:.2e}, logits {logits:.2e}");
        if !(features <= 1e-4 && logits <= 1e-4) {
            failures.push(format!("{case}: features {features}, logits {logits}"));
        }
    }
    assert!(
        failures.is_empty(),
        "differ from timm by more than 1e-4: {failures:?}"
    );
}

fn fused_attention_and_materialised_scores_agree<B: VitBackend>() {
    let (loaded, input, _) = load::<B>("vit_cls");
    let ZooModel::Vit(mut vit) = loaded.model else {
        unreachable!("vit_cls is a ViT")
    };
    assert!(
        vit.blocks
            .iter()
            .filter_map(|b| b.as_block()?.attn.as_attention())
            .all(|attn| attn.path == AttentionPath::Fused),
        "GPU backends take Burn's fused attention by default"
    );
    let fused = vit.forward(input.clone()).into_data();
    for block in &mut vit.blocks {
        if let EncoderBlock::Block(block) = block
            && let BlockAttention::Attention(attn) = &mut block.attn
        {
            attn.path = AttentionPath::Materialized;
        }
    }
    let materialised = vit.forward(input).into_data();
    let diff = max_abs_diff(fused, &materialised);
    println!("fused vs materialised logits: {diff:.2e}");
    assert!(
        diff <= 1e-4,
        "fused vs materialised logits differ by {diff}"
    );
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use burn::backend::Wgpu;

    #[test]
    fn timm_fixtures_match_timm_on_wgpu() {
        super::timm_fixtures_match_timm::<Wgpu>();
    }

    #[test]
    fn fused_attention_and_materialised_scores_agree_on_wgpu() {
        super::fused_attention_and_materialised_scores_agree::<Wgpu>();
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use burn::backend::Cuda;

    #[test]
    fn timm_fixtures_match_timm_on_cuda() {
        super::timm_fixtures_match_timm::<Cuda>();
    }

    #[test]
    fn fused_attention_and_materialised_scores_agree_on_cuda() {
        super::fused_attention_and_materialised_scores_agree::<Cuda>();
    }
}
