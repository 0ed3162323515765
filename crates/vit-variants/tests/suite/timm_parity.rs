//! DeiT and Swin against timm itself (fixtures from `scripts/make_timm_fixtures.py`), the
//! Microsoft Swin layout, and the presets' parameter counts.

use std::path::Path;

use burn::tensor::Tensor;
use vit_core::model::VisionModel;
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{B, max_abs_diff_data as max_diff, timm_fixture as fixture};
use vit_variants::zoo::{PretrainedModel, ZooConfig, ZooModel};
use vit_variants::zoo_presets;

fn io(case: &str) -> Checkpoint {
    Checkpoint::read(fixture(case).join("io.safetensors")).unwrap()
}

fn load(path: &Path, base: Option<ZooConfig>) -> PretrainedModel<B> {
    PretrainedModel::<B>::load(path, base, None, &Default::default()).unwrap()
}

/// Features and logits of `model` on `case`'s input against timm's.
fn check(model: &ZooModel<B>, case: &str) {
    let mut io = io(case);
    let input = Tensor::<B, 4>::from_data(io.take("input").unwrap(), &Default::default());
    model.check_input(input.dims()).unwrap();
    let features = max_diff(
        model.forward_features(input.clone()),
        &io.tensors["features"],
    );
    let logits = max_diff(model.forward(input).into_data(), &io.tensors["logits"]);
    assert!(
        features <= 1e-4 && logits <= 1e-4,
        "{case}: features {features}, logits {logits}"
    );
}

#[test]
fn distilled_deit_matches_timm_at_inference_and_in_training() {
    let deit = load(&fixture("deit_distilled"), None);
    assert!(matches!(&deit.config, ZooConfig::Vit(c) if c.distilled));
    check(&deit.model, "deit_distilled");
    let ZooModel::Vit(model) = &deit.model else {
        unreachable!("a distilled DeiT is a ViT")
    };
    let mut io = io("deit_distilled");
    let input = Tensor::<B, 4>::from_data(io.take("input").unwrap(), &Default::default());
    let (cls, dist) = model.forward_train(input.clone());
    let dist = dist.expect("a distillation head");
    assert!(max_diff(cls.into_data(), &io.tensors["logits_cls"]) <= 1e-4);
    assert!(max_diff(dist.into_data(), &io.tensors["logits_dist"]) <= 1e-4);
    let pre = model.forward_head(model.forward_features(input), true);
    assert!(max_diff(pre.into_data(), &io.tensors["pre_logits"]) <= 1e-4);
}

#[test]
fn two_stage_swin_with_padded_shifted_windows_matches_timm() {
    let swin = load(&fixture("swin_2stage"), None);
    check(&swin.model, "swin_2stage");
}

#[test]
fn three_stage_swin_whose_last_stage_is_one_window_matches_timm() {
    let swin = load(&fixture("swin_3stage"), None);
    check(&swin.model, "swin_3stage");
}

#[test]
fn microsoft_swin_layout_loads_the_same_weights() {
    let config = ZooConfig::load_file(&fixture("swin_2stage/config.json")).unwrap();
    let swin = load(&fixture("swin_2stage/microsoft_layout.pth"), Some(config));
    assert!(
        swin.report.adapted[0].contains("Microsoft"),
        "{:?}",
        swin.report
    );
    assert!(swin.report.ignored.iter().any(|k| k.ends_with("attn_mask")));
    check(&swin.model, "swin_2stage");
}

#[test]
fn saved_deit_and_swin_round_trip() {
    for case in ["deit_distilled", "swin_2stage"] {
        let dir = vit_testing::temp_dir(&format!("saved-{case}"));
        load(&fixture(case), None).save(&dir).unwrap();
        let again = load(&dir, None);
        check(&again.model, case);
    }
}

#[test]
fn fine_tuning_gives_fresh_heads_of_the_new_size() {
    let deit = PretrainedModel::<B>::load(
        &fixture("deit_distilled"),
        None,
        Some(3),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(deit.report.fresh.len(), 4, "{:?}", deit.report);
    let swin =
        PretrainedModel::<B>::load(&fixture("swin_3stage"), None, Some(4), &Default::default())
            .unwrap();
    assert_eq!(swin.report.fresh, ["head.fc.weight", "head.fc.bias"]);
    let input = Tensor::<B, 4>::from_data(
        io("swin_3stage").take("input").unwrap(),
        &Default::default(),
    );
    assert_eq!(swin.model.forward(input).dims(), [2, 4]);
}

#[test]
fn presets_have_timms_parameter_counts() {
    let device = Default::default();
    for (name, count) in [
        ("deit_tiny_patch16_224", 5_717_416),
        ("deit_tiny_distilled_patch16_224", 5_910_800),
        ("deit_small_distilled_patch16_224", 22_436_432),
        ("deit_base_distilled_patch16_224", 87_338_192),
        ("deit_base_distilled_patch16_384", 87_630_032),
        ("deit_base_patch16_384", 86_859_496),
        ("deit3_small_patch16_224", 22_059_496),
        ("deit3_medium_patch16_224", 38_849_512),
        ("deit3_huge_patch14_224", 632_126_440),
        ("swin_tiny_patch4_window7_224", 28_288_354),
        ("swin_small_patch4_window7_224", 49_606_258),
        ("swin_base_patch4_window7_224", 87_768_224),
        ("swin_large_patch4_window7_224", 196_532_476),
        ("swin_base_patch4_window12_384", 87_903_584),
        ("swin_large_patch4_window12_384", 196_735_516),
    ] {
        let got = ZooConfig::preset(name)
            .unwrap()
            .num_params::<B>(&device)
            .unwrap();
        assert_eq!(got, count, "{name}");
    }
    assert!(zoo_presets().count() >= 33);
}
