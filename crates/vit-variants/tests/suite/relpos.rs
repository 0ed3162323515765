//! timm's relative-position families against timm itself (fixtures from
//! `scripts/make_relpos_fixtures.py`): Swin V2's cosine attention and bias MLP, Swin-S3's
//! windows per stage, BEiT's tables (per block and shared), ViT-relpos' MLPs
//! (per block, shared, with a class token, residual post-norm), and checkpoints whose tables are
//! made for another window or grid, resized while loading as timm's checkpoint filters do.

use burn::tensor::Tensor;
use vit_core::layers::rel_pos::RelPos;
use vit_core::model::VisionModel;
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{B, max_abs_diff_data as max_diff, timm_fixture as fixture};
use vit_variants::zoo::{PretrainedModel, ZooConfig, ZooModel};

use crate::timm_case::{Case, TOLERANCE};

/// Fixture `name`, loaded as `family`.
fn case(name: &'static str, family: &str) -> Case {
    let c = crate::timm_case::case(name);
    let loaded = match &c.loaded.config {
        ZooConfig::Beit(_) => "beit",
        ZooConfig::RelPos(_) => "vit_relpos",
        ZooConfig::Swin(_) => "swin",
        other => panic!("{name}: loaded as {other:?}"),
    };
    assert_eq!(loaded, family, "{name}");
    c
}

#[test]
fn beit_per_block_relative_position_tables_match_timm() {
    case("beit_v1", "beit").check();
}

#[test]
fn beit_shared_table_beside_an_absolute_embedding_matches_timm() {
    let c = case("beit_shared", "beit");
    let ZooModel::Vit(model) = &c.loaded.model else {
        unreachable!("a BEiT is a ViT")
    };
    assert!(matches!(model.shared_rel_pos, Some(RelPos::Table(_))));
    c.check();
}

#[test]
fn relpos_per_block_mlps_match_timm() {
    case("relpos_gap", "vit_relpos").check();
}

#[test]
fn relpos_shared_mlp_matches_timm() {
    let c = case("relpos_shared", "vit_relpos");
    let ZooModel::Vit(model) = &c.loaded.model else {
        unreachable!("a ViT-relpos is a ViT")
    };
    assert!(matches!(model.shared_rel_pos, Some(RelPos::Mlp(_))));
    c.check();
}

#[test]
fn relpos_class_token_gets_no_bias_as_timm() {
    case("relpos_cls", "vit_relpos").check();
}

#[test]
fn relpos_residual_post_norm_blocks_match_timm() {
    case("relpos_res_post", "vit_relpos").check();
}

#[test]
fn every_block_of_the_relative_position_families_matches_timms_forward_intermediates() {
    case("beit_v1", "beit").check_intermediates();
    case("relpos_gap", "vit_relpos").check_intermediates();
    case("swinv2_2stage", "swin").check_intermediates();
}

#[test]
fn swin_v2_cosine_attention_and_bias_mlp_match_timm() {
    case("swinv2_2stage", "swin").check();
}

#[test]
fn swin_v2_bias_mlp_keeps_its_pretraining_windows_scale_as_timm() {
    case("swinv2_pretrained_window", "swin").check();
}

#[test]
fn swin_v2_runs_other_input_sizes_as_timm() {
    case("swinv2_dynamic", "swin").check();
}

#[test]
fn swin_s3_window_per_stage_matches_timm() {
    case("swin_s3", "swin").check();
}

#[test]
fn the_relative_position_bias_is_not_a_no_op() {
    // Zeroing the tables (or the MLPs' output layers) must move the outputs far beyond the
    // tolerance, or the fixtures would not test the bias at all.
    for (name, family) in [("beit_v1", "beit"), ("relpos_gap", "vit_relpos")] {
        let c = case(name, family);
        let ZooModel::Vit(model) = c.loaded.model.clone() else {
            unreachable!("a ViT")
        };
        let mut model = model;
        for block in &mut model.blocks {
            let block = match block {
                vit_core::layers::block::EncoderBlock::Block(b) => b,
                _ => unreachable!("pre- or post-norm blocks"),
            };
            let vit_core::layers::block::BlockAttention::Attention(attn) = &mut block.attn else {
                unreachable!("plain attention")
            };
            attn.rel_pos = None;
        }
        let diff = max_diff(
            model.forward_features(c.input("input")).into_data(),
            &c.io.tensors["features"],
        );
        assert!(
            diff > 100.0 * TOLERANCE,
            "{name}: without its bias only {diff} away from timm"
        );
    }
}

/// `name`'s logits and features against timm's after loading its checkpoint made for another
/// size; the report says the tables were resized.
fn check_resized(name: &str, what: &str) {
    let dir = fixture(name);
    let loaded = PretrainedModel::<B>::load(&dir, None, None, &Default::default()).unwrap();
    assert!(
        loaded.report.adapted.iter().any(|a| a.contains(what)),
        "{name}: {:?}",
        loaded.report
    );
    let io = Checkpoint::read(dir.join("io.safetensors")).unwrap();
    let input = Tensor::<B, 4>::from_data(io.tensors["input"].clone(), &Default::default());
    loaded.model.check_input(input.dims()).unwrap();
    let features = max_diff(
        loaded.model.forward_features(input.clone()),
        &io.tensors["features"],
    );
    let logits = max_diff(
        loaded.model.forward(input).into_data(),
        &io.tensors["logits"],
    );
    eprintln!("{name}: features {features:.2e}, logits {logits:.2e}");
    assert!(
        features <= TOLERANCE && logits <= TOLERANCE,
        "{name}: features {features}, logits {logits}"
    );
}

#[test]
fn a_window_7_swin_checkpoint_loads_configured_for_window_12_as_timm() {
    // Once refused with "relative_position_bias_table: expected [529, 4], found [169, 4]".
    check_resized("swin_window_resize", "7x7 -> 12x12");
}

#[test]
fn a_beit_checkpoint_loads_at_another_grid_with_its_tables_resized_as_timm() {
    check_resized("beit_grid_resize", "from a 4x4 to a 6x6 grid");
}
