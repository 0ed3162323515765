//! timm's class-attention families against timm itself (fixtures from
//! `scripts/make_class_attention_fixtures.py`): CaiT's talking heads and class-attention blocks,
//! the blocks' maps as a backbone, its attention maps.

use vit_core::model::VisionModel;
use vit_variants::zoo::{ZooConfig, ZooModel};

use crate::timm_case::Case;

/// Fixture `name`, loaded as `family`.
fn case(name: &'static str, family: &str) -> Case {
    let c = crate::timm_case::case(name);
    let loaded = match &c.loaded.config {
        ZooConfig::Cait(_) => "cait",
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
