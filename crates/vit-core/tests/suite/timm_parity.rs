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
