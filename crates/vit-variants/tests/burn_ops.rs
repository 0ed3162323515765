//! With the switch set to Burn's composed ops (`vit_ops::set_fast_path(false)`, what
//! `VIT_OPS=burn` does), DeiT and Swin still match timm: the switch is a real fallback, not a
//! second code path left untested. Its own test binary, since the switch is process-wide.

use burn::tensor::Tensor;
use vit_core::model::VisionModel;
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{B, max_abs_diff_data as max_diff, timm_fixture as fixture};
use vit_variants::zoo::PretrainedModel;

#[test]
fn burns_composed_ops_match_timm_too() {
    vit_core::ops::set_fast_path(false);
    assert!(!vit_core::ops::fast_path_enabled());
    for case in ["deit_distilled", "swin_2stage"] {
        let model = PretrainedModel::<B>::load(&fixture(case), None, None, &Default::default())
            .unwrap()
            .model;
        let mut io = Checkpoint::read(fixture(case).join("io.safetensors")).unwrap();
        let input = Tensor::<B, 4>::from_data(io.take("input").unwrap(), &Default::default());
        let logits = max_diff(model.forward(input).into_data(), &io.tensors["logits"]);
        assert!(
            logits <= 1e-4,
            "{case}: logits differ from timm's by {logits}"
        );
    }
}
