//! timm's `eva.py` family against timm itself (fixtures from `scripts/make_eva_fixtures.py`):
//! each rotary layout at the built size and at another one, the key layouts, the backbone maps.

use vit_testing::max_abs_diff_data as max_diff;
use vit_variants::zoo::{ZooConfig, ZooModel};

use crate::timm_case::{Case, TOLERANCE};

/// Fixture `name`, loaded as an Eva.
fn case(name: &'static str) -> Case {
    let c = crate::timm_case::case(name);
    assert!(
        matches!(c.loaded.config, ZooConfig::Eva(_)),
        "{name}: loaded as {:?}",
        c.loaded.config
    );
    c
}

#[test]
fn eva02_interleaved_rope_with_reference_grid_matches_timm() {
    case("eva_eva02").check();
}

#[test]
fn eva02_rope_follows_a_dynamic_image_size_as_timm() {
    case("eva_eva02_dynamic").check();
}

#[test]
fn eva02_clip_swiglu_with_inner_norm_matches_timm() {
    case("eva_eva02_clip").check();
}

#[test]
fn dinov3_rotate_half_rope_matches_timm_at_two_sizes() {
    case("eva_dinov3").check();
    case("eva_dinov3_qkvb").check();
}

#[test]
fn learned_mixed_rope_matches_timm_at_two_sizes() {
    case("eva_rope_mixed").check();
}

#[test]
fn axial_rope_in_xy_order_beside_an_absolute_embedding_matches_timm() {
    case("eva_rope_ape").check();
}

#[test]
fn perception_encoder_pre_norm_offset_grid_and_attention_pool_match_timm() {
    case("eva_pe_core").check();
}

#[test]
fn sapiens2_grouped_query_attention_with_qk_norms_matches_timm_at_two_sizes() {
    case("eva_sapiens2_gqa").check();
}

#[test]
fn post_norm_eva_blocks_match_timm() {
    case("eva_post_norm").check();
}

#[test]
fn perception_encoder_spatial_without_final_norms_matches_timm() {
    case("eva_pe_spatial").check();
}

#[test]
fn swiglu_hidden_width_rounded_up_as_timm_aligns_it() {
    case("eva_swiglu_align").check();
}

#[test]
fn eva01_without_rope_matches_timm() {
    case("eva_eva01").check();
}

#[test]
fn every_block_of_the_rotary_families_matches_timms_forward_intermediates() {
    for name in ["eva_eva02", "eva_dinov3", "eva_rope_mixed"] {
        case(name).check_intermediates();
    }
}

#[test]
fn the_interleaved_and_rotate_half_layouts_are_not_interchangeable() {
    // The classic silent bug: a table built for one layout applied in the other. Each fixture
    // must tell them apart by far more than the parity tolerance.
    for name in ["eva_eva02", "eva_dinov3"] {
        let mut c = case(name);
        let input = c.input("input");
        let ZooModel::Vit(model) = &mut c.loaded.model else {
            unreachable!("an Eva model is a ViT")
        };
        let rope = model.rope.as_mut().expect("a rotary model");
        rope.rotate_half = !rope.rotate_half;
        let features = model.forward_features(input).into_data();
        let diff = max_diff(features, &c.io.tensors["features"]);
        assert!(
            diff > 100.0 * TOLERANCE,
            "{name}: the other layout is only {diff} away from timm"
        );
    }
}
