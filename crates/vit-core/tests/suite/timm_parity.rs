//! Parity with timm itself: models built by `scripts/make_timm_fixtures.py` (random weights,
//! fixed seed) loaded from their timm folders must reproduce timm's features, pre-logits and
//! logits on the same input within 1e-4.

use burn::tensor::Tensor;
use vit_core::vit::import::PretrainedVit;
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{B, device, max_abs_diff, timm_fixture};

const TOLERANCE: f32 = 1e-4;

/// Loads `case`'s folder, runs its input and compares with timm's outputs.
fn check_case(case: &str) {
    let dir = timm_fixture(case);
    let vit = PretrainedVit::<B>::load(&dir, None, None, &device()).unwrap();
    assert!(vit.report.fresh.is_empty(), "{case}: {:?}", vit.report);
    let mut io = Checkpoint::read(dir.join("io.safetensors")).unwrap();
    let mut take = |key: &str| io.take(key).unwrap();
    let input = Tensor::<B, 4>::from_data(take("input"), &device());
    let expect_features = Tensor::<B, 3>::from_data(take("features"), &device());
    let expect_pre_logits = Tensor::<B, 2>::from_data(take("pre_logits"), &device());
    let expect_logits = Tensor::<B, 2>::from_data(take("logits"), &device());

    vit.model.check_input(input.dims()).unwrap();
    let features = vit.model.forward_features(input);
    let pre_logits = vit.model.forward_head(features.clone(), true);
    let logits = vit.model.forward_head(features.clone(), false);
    for (what, diff) in [
        ("features", max_abs_diff(&features, &expect_features)),
        ("pre_logits", max_abs_diff(&pre_logits, &expect_pre_logits)),
        ("logits", max_abs_diff(&logits, &expect_logits)),
    ] {
        eprintln!("{case}: {what} max |ours - timm| = {diff:.2e}");
        assert!(
            diff <= TOLERANCE,
            "{case}: {what} differ from timm by {diff}"
        );
    }
}

#[test]
fn class_token_vit_matches_timm() {
    check_case("vit_cls");
}

#[test]
fn gap_vit_without_class_token_matches_timm() {
    check_case("vit_gap");
}

#[test]
fn other_patch_depth_heads_classes_from_pytorch_bin_match_timm() {
    check_case("vit_p4_d3_h4");
}

#[test]
fn attention_pooling_vit_matches_timm() {
    check_case("vit_map");
}

#[test]
fn dynamic_image_size_matches_timm() {
    check_case("vit_dynamic");
}

#[test]
fn dynamic_image_padding_matches_timm_at_a_size_of_partial_patches() {
    // Built at 32x32 with patch 8, run at 45x37: zero-padded to a 6x5 grid, as timm.
    check_case("vit_dynamic_pad");
}

/// The catalogue's options, each a timm architecture built by its own entrypoint and shrunk by
/// `model_args` (`scripts/make_timm_fixtures.py`, `CATALOGUE_CASES`).
#[test]
fn dinov2_register_tokens_match_timm() {
    check_case("cat_dinov2_reg");
}

#[test]
fn openai_clip_quickgelu_with_pre_norm_and_eps_1e5_matches_timm() {
    check_case("cat_clip_quickgelu");
}

#[test]
fn siglip_gelu_tanh_attention_pool_matches_timm() {
    check_case("cat_siglip_tanh_map");
}

#[test]
fn attention_pool_skips_register_tokens_as_timm() {
    check_case("cat_siglip_reg_map");
}

#[test]
fn aimv2_rmsnorm_embed_norm_swiglu_without_biases_matches_timm() {
    check_case("cat_aimv2");
}

#[test]
fn dinov2_giant_packed_swiglu_matches_timm() {
    check_case("cat_dinov2_packed");
}

#[test]
fn radio_without_final_norm_matches_timm() {
    check_case("cat_radio_no_final_norm");
}

#[test]
fn beit3_inner_attention_and_mlp_norms_match_timm() {
    check_case("cat_beit3_inner_norms");
}

#[test]
fn post_norm_blocks_match_timm() {
    check_case("cat_res_post");
}

#[test]
fn attention_pool_over_prefix_tokens_matches_timm() {
    check_case("cat_pool_prefix");
}

#[test]
fn a_size_that_does_not_split_into_patches_drops_the_remainder_as_timm() {
    check_case("cat_crop_remainder");
}

#[test]
fn resnet_stem_hybrid_matches_timm() {
    check_case("cat_hybrid_stem");
}

#[test]
fn r50_style_hybrid_with_weight_standardised_convs_and_group_norm_matches_timm() {
    check_case("cat_hybrid_r50");
}

#[test]
fn r26_style_four_stage_hybrid_matches_timm() {
    check_case("cat_hybrid_r26");
}

#[test]
fn convstem_hybrid_with_batch_norm_statistics_and_no_projection_matches_timm() {
    check_case("cat_hybrid_convstem");
}

#[test]
fn differential_attention_matches_timm() {
    check_case("cat_diff_attention");
}

#[test]
fn parallel_scaling_blocks_match_timm_with_and_without_qkv_bias() {
    check_case("cat_parallel_block");
    check_case("cat_parallel_mlp_bias");
}

#[test]
fn differential_parallel_blocks_match_timm() {
    check_case("cat_diff_parallel");
}
