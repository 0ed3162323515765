//! The zoo as a backbone against timm (fixtures from `scripts/make_timm_fixtures.py`:
//! `intermediates.safetensors` from timm's own `forward_intermediates` and `features_only=True`,
//! `features.json` its `feature_info`): every map within 1e-4, same shapes, same feature info;
//! pruned models give the same maps; bad indices are clear errors.

use burn::tensor::{Tensor, TensorData};
use vit_core::features::{
    FeatureExtractor, FeatureFormat, FeatureIndices, FeatureInfo, FeatureOptions,
    IntermediatesOptions,
};
use vit_core::model::VisionModel;
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{B, max_abs_diff_data as max_diff, timm_fixture as fixture};
use vit_variants::zoo::{PretrainedModel, ZooModel};

const VIT_CASES: [&str; 25] = [
    "vit_cls",
    "vit_gap",
    "vit_p4_d3_h4",
    "vit_dynamic",
    "vit_dynamic_pad",
    "deit_distilled",
    // The catalogue's options (one fixture each): timm architectures built by their entrypoints.
    "cat_dinov2_reg",
    "cat_clip_quickgelu",
    "cat_siglip_tanh_map",
    "cat_siglip_reg_map",
    "cat_aimv2",
    "cat_dinov2_packed",
    "cat_radio_no_final_norm",
    "cat_beit3_inner_norms",
    "cat_res_post",
    "cat_pool_prefix",
    "cat_crop_remainder",
    "cat_diff_attention",
    "cat_parallel_block",
    "cat_parallel_mlp_bias",
    "cat_diff_parallel",
    "cat_hybrid_stem",
    "cat_hybrid_r50",
    "cat_hybrid_r26",
    "cat_hybrid_convstem",
];
const SWIN_CASES: [&str; 2] = ["swin_2stage", "swin_3stage"];

struct Case {
    model: ZooModel<B>,
    input: Tensor<B, 4>,
    timm: Checkpoint,
    name: &'static str,
}

fn case(name: &'static str) -> Case {
    let model = PretrainedModel::<B>::load(&fixture(name), None, None, &Default::default())
        .unwrap()
        .model;
    let mut io = Checkpoint::read(fixture(name).join("io.safetensors")).unwrap();
    let input = Tensor::from_data(io.take("input").unwrap(), &Default::default());
    let timm = Checkpoint::read(fixture(name).join("intermediates.safetensors")).unwrap();
    Case {
        model,
        input,
        timm,
        name,
    }
}

impl Case {
    /// `ours` against timm's `{prefix}.0`, `{prefix}.1`, …: same count, shapes and values.
    fn check(&self, prefix: &str, ours: Vec<TensorData>) {
        let theirs = (0..)
            .take_while(|i| self.timm.tensors.contains_key(&format!("{prefix}.{i}")))
            .count();
        assert_eq!(ours.len(), theirs, "{}: {prefix}: map count", self.name);
        for (i, a) in ours.into_iter().enumerate() {
            self.one(&format!("{prefix}.{i}"), a);
        }
    }

    /// `ours` against timm's `key`: same shape, within 1e-4.
    fn one(&self, key: &str, ours: TensorData) {
        let theirs = &self.timm.tensors[key];
        assert_eq!(ours.shape, theirs.shape, "{}: {key}: shape", self.name);
        let diff = max_diff(ours, theirs);
        assert!(
            diff <= 1e-4,
            "{}: {key} differs from timm by {diff}",
            self.name
        );
    }

    fn intermediates(&self, options: IntermediatesOptions) -> vit_core::features::Intermediates<B> {
        self.model
            .forward_intermediates(self.input.clone(), &options)
            .unwrap()
    }
}

fn data(maps: Vec<vit_core::features::FeatureMap<B>>) -> Vec<TensorData> {
    maps.into_iter().map(|m| m.into_data()).collect()
}

#[test]
fn every_block_and_stage_matches_timms_forward_intermediates() {
    for name in VIT_CASES.into_iter().chain(SWIN_CASES) {
        let c = case(name);
        let all = c.intermediates(IntermediatesOptions::default());
        c.check("all", data(all.maps));
    }
}

#[test]
fn normed_token_maps_with_prefix_tokens_match_timm() {
    for name in VIT_CASES {
        let c = case(name);
        let out = c.intermediates(IntermediatesOptions {
            indices: FeatureIndices::Last(1),
            output_fmt: FeatureFormat::Nlc,
            norm: true,
            return_prefix_tokens: true,
            ..Default::default()
        });
        c.check("norm_nlc", data(out.maps));
        c.check(
            "norm_nlc_prefix",
            out.prefix_tokens
                .into_iter()
                .map(|t| t.into_data())
                .collect(),
        );
        c.one("norm_nlc_final", out.features.into_data());
    }
    for name in SWIN_CASES {
        let c = case(name);
        let out = c.intermediates(IntermediatesOptions {
            norm: true,
            ..Default::default()
        });
        c.check("norm", data(out.maps));
    }
}

#[test]
fn selected_negative_and_repeated_indices_stop_early_as_timm() {
    for name in VIT_CASES.into_iter().chain(SWIN_CASES) {
        let c = case(name);
        let n = c.model.feature_info().len() as i64;
        let out = c.intermediates(IntermediatesOptions {
            indices: FeatureIndices::Select(vec![0, -n, 0]),
            stop_early: true,
            ..Default::default()
        });
        c.check("early", data(out.maps));
        c.one("early_final", out.features.into_data());
    }
}

#[test]
fn feature_extractors_match_timms_features_only_and_its_feature_info() {
    // (The narrowed hybrids have no timm entrypoint to build `features_only` from.)
    let with_features = |name: &&str| fixture(name).join("features.json").exists();
    for name in VIT_CASES
        .into_iter()
        .chain(SWIN_CASES)
        .filter(with_features)
    {
        let c = case(name);
        let info: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(name).join("features.json")).unwrap(),
        )
        .unwrap();
        let out_indices = info["out_indices"]
            .as_array()
            .map(|v| FeatureIndices::Select(v.iter().map(|i| i.as_i64().unwrap()).collect()));
        let expected: Vec<FeatureInfo> = info["feature_info"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| FeatureInfo {
                num_chs: e["num_chs"].as_u64().unwrap() as usize,
                reduction: e["reduction"].as_u64().unwrap() as usize,
                module: e["module"].as_str().unwrap().into(),
            })
            .collect();
        let extractor = FeatureExtractor::new(
            c.model.clone(),
            FeatureOptions {
                out_indices,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(extractor.feature_info(), expected.as_slice(), "{name}");
        c.check(
            "features_only",
            data(extractor.forward(c.input.clone()).unwrap()),
        );
    }
}

#[test]
fn pruned_models_give_the_same_maps_without_their_later_blocks_and_head() {
    for name in ["vit_p4_d3_h4", "swin_3stage"] {
        let c = case(name);
        let blocks = c.model.feature_info().len();
        let mut pruned = c.model.clone();
        let kept = pruned
            .prune_intermediate_layers(&FeatureIndices::Select(vec![0]), false, true)
            .unwrap();
        assert_eq!(kept, vec![0]);
        assert_eq!(
            pruned.feature_info().len(),
            1,
            "{name}: {blocks} blocks before"
        );
        assert_eq!(pruned.num_classes(), 0, "{name}: head dropped");
        let maps = pruned
            .forward_intermediates(
                c.input.clone(),
                &IntermediatesOptions::indices(FeatureIndices::Select(vec![0])),
            )
            .unwrap()
            .maps;
        c.one("all.0", maps.into_iter().next().unwrap().into_data());
    }
}

#[test]
fn bad_indices_are_errors_naming_the_range() {
    let c = case("vit_cls");
    for (indices, expect) in [
        (FeatureIndices::Select(vec![2]), "2 is out of range"),
        (FeatureIndices::Select(vec![-3]), "-3 is out of range"),
        (FeatureIndices::Last(0), "1 to 2"),
        (FeatureIndices::Last(3), "1 to 2"),
        (FeatureIndices::Select(vec![]), "no index"),
    ] {
        let err = c
            .model
            .forward_intermediates(c.input.clone(), &IntermediatesOptions::indices(indices))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expect), "{err}");
    }
    let wrong_size = Tensor::<B, 4>::zeros([1, 3, 33, 32], &Default::default());
    let err = c
        .model
        .forward_intermediates(wrong_size, &IntermediatesOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("33"), "{err}");
}

/// `swin_2stage`'s weights at other sizes against timm (`sizes.safetensors`).
fn sizes() -> Checkpoint {
    Checkpoint::read(fixture("swin_2stage").join("sizes.safetensors")).unwrap()
}

fn swin(case: &Case) -> vit_variants::swin::SwinTransformer<B> {
    match case.model.clone() {
        ZooModel::Swin(m) => m,
        _ => unreachable!("a Swin fixture"),
    }
}

fn check_outputs(
    model: &vit_variants::swin::SwinTransformer<B>,
    timm: &mut Checkpoint,
    name: &str,
) {
    let input = Tensor::<B, 4>::from_data(
        timm.take(&format!("{name}.input")).unwrap(),
        &Default::default(),
    );
    model.check_input(input.dims()).unwrap();
    let features = max_diff(
        model.forward_features(input.clone()).into_data(),
        &timm.tensors[&format!("{name}.features")],
    );
    let logits = max_diff(
        model.forward(input).into_data(),
        &timm.tensors[&format!("{name}.logits")],
    );
    assert!(
        features <= 1e-4 && logits <= 1e-4,
        "{name}: features {features}, logits {logits} from timm"
    );
}

#[test]
fn swin_runs_any_size_of_whole_patches_with_masks_built_for_it() {
    let c = case("swin_2stage");
    let mut model = swin(&c);
    let odd = Tensor::<B, 4>::zeros([1, 3, 36, 52], &Default::default());
    let err = model.check_input(odd.dims()).unwrap_err().to_string();
    assert!(err.contains("strict_img_size"), "{err}");
    assert!(VisionModel::enable_dynamic_img_size(&mut model));
    let mut timm = sizes();
    check_outputs(&model, &mut timm, "dynamic");
    // Maps smaller than one window are padded to one, as timm does.
    check_outputs(&model, &mut timm, "small");
    for [h, w] in [[37, 52], [1, 4], [0, 4]] {
        let not_patches = Tensor::<B, 4>::zeros([1, 3, h, w], &Default::default());
        let err = model
            .check_input(not_patches.dims())
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("{h}")), "{h}x{w}: {err}");
        let err = model
            .forward_intermediates(not_patches, &IntermediatesOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("patch"), "{h}x{w}: {err}");
    }
}

#[test]
fn swin_set_input_size_resizes_windows_and_bias_tables_as_timm() {
    let c = case("swin_2stage");
    let mut timm = sizes();
    for (name, size, window) in [
        ("window8", [48, 48], Some([8, 8])),
        ("scaled", [60, 40], None),
    ] {
        let mut model = swin(&c);
        model.set_input_size(size, window).unwrap();
        for (s, stage) in model.layers.iter().enumerate() {
            for (b, block) in stage.blocks.iter().enumerate() {
                let key = format!("{name}.layers.{s}.blocks.{b}.attn.relative_position_bias_table");
                let diff = max_diff(
                    block
                        .attn
                        .relative_position_bias_table
                        .as_ref()
                        .expect("a V1 table")
                        .val()
                        .into_data(),
                    &timm.tensors[&key],
                );
                assert!(diff <= 1e-5, "{key}: {diff}");
            }
        }
        check_outputs(&model, &mut timm, name);
    }
    let mut model = swin(&c);
    let err = model
        .set_input_size([41, 40], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("41"), "{err}");
}
