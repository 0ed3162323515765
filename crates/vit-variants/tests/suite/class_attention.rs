//! timm's class-attention families against timm itself (fixtures from
//! `scripts/make_class_attention_fixtures.py`): CaiT's talking heads and class-attention blocks,
//! XCiT's cross-covariance blocks, convolutional patch embedding and Fourier positions, the
//! blocks' maps as a backbone, attention maps where there are token-to-token ones.

use vit_core::model::VisionModel;
use vit_variants::zoo::{ZooConfig, ZooModel};

use crate::timm_case::Case;

/// Fixture `name`, loaded as `family`.
fn case(name: &'static str, family: &str) -> Case {
    let c = crate::timm_case::case(name);
    let loaded = match &c.loaded.config {
        ZooConfig::Cait(_) => "cait",
        ZooConfig::Xcit(_) => "xcit",
        other => panic!("{name}: loaded as {other:?}"),
    };
    assert_eq!(loaded, family, "{name}");
    c
}

#[test]
fn cait_talking_heads_and_class_attention_match_timm() {
    let c = case("cait_s24", "cait");
    c.check();
    c.check_intermediates();
}

#[test]
fn cait_attention_maps_cover_the_patches_of_every_self_attention_block() {
    let c = case("cait_s24", "cait");
    let ZooModel::Cait(model) = &c.loaded.model else {
        unreachable!("a CaiT")
    };
    let maps = model.attention_weights(c.input("input")).unwrap();
    assert_eq!(maps.layers.len(), model.blocks.len());
    assert_eq!((maps.num_prefix, maps.class_token), (0, false));
    // 4x4 patches, 4 heads, no class token among them.
    assert_eq!(maps.layers[0].dims(), [2, 4, 16, 16]);
}

#[test]
fn cait_without_its_head_mixing_is_not_timms() {
    // The head-mixing maps must matter to the fixture: with `proj_l` / `proj_w` reset to the
    // identity, the logits leave timm's far behind.
    let mut c = case("cait_s24", "cait");
    let input = c.input("input");
    let ZooModel::Cait(model) = &mut c.loaded.model else {
        unreachable!("a CaiT")
    };
    let device = Default::default();
    for block in &mut model.blocks {
        for mix in [&mut block.attn.proj_l, &mut block.attn.proj_w] {
            let eye = burn::tensor::Tensor::eye(4, &device);
            mix.weight = burn::module::Param::from_tensor(eye);
            mix.bias = None;
        }
    }
    let diff =
        vit_testing::max_abs_diff_data(model.forward(input).into_data(), &c.io.tensors["logits"]);
    assert!(
        diff > 1e-2,
        "identity head mixing is only {diff} away from timm"
    );
}

#[test]
fn xcit_cross_covariance_blocks_and_class_attention_match_timm() {
    let c = case("xcit_p16", "xcit");
    c.check_intermediates();
    // timm's XCiT runs any size of whole patches; ours once asked to.
    let mut c = c;
    c.loaded.model.enable_dynamic_img_size();
    c.check();
}

#[test]
fn xcit_with_8_pixel_patches_and_every_token_normed_matches_timm() {
    case("xcit_p8_tokens_norm", "xcit").check();
}

#[test]
fn xcit_refuses_token_attention_maps_and_other_sizes_unless_asked() {
    let c = case("xcit_p16", "xcit");
    let err = c
        .loaded
        .model
        .attention_weights(c.input("input"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("across channels"), "{err}");
    let err = c
        .loaded
        .model
        .check_input(c.input("other.input").dims())
        .unwrap_err()
        .to_string();
    assert!(err.contains("dynamic_img_size"), "{err}");
}
