//! timm's NaFlexViT at fixed resolution against timm itself (`scripts/make_naflex_fixtures.py`):
//! image batches at the built size and another, the position table resampled from its own grid
//! in each of the pretrained models' ways.

use vit_variants::zoo::ZooConfig;

use crate::timm_case::Case;

/// Fixture `name`, loaded as a NaFlexViT.
fn case(name: &'static str) -> Case {
    let c = crate::timm_case::case(name);
    assert!(
        matches!(c.loaded.config, ZooConfig::Naflex(_)),
        "{name}: loaded as {:?}",
        c.loaded.config
    );
    c
}

#[test]
fn learned_grid_resampled_bicubic_with_antialiasing_matches_timm() {
    case("naflex_gap").check();
}

#[test]
fn aspect_preserving_resampling_crops_as_timm() {
    case("naflex_par_gap").check();
}

#[test]
fn factorised_row_and_column_tables_match_timm() {
    case("naflex_parfac_gap").check();
}

#[test]
fn siglip2_naflex_bilinear_antialiased_with_attention_pool_matches_timm() {
    case("naflex_siglip").check();
}

#[test]
fn c_radio_bilinear_tables_with_and_without_aligned_corners_match_timm() {
    case("naflex_radio_v3").check();
    case("naflex_radio_v4").check();
}
