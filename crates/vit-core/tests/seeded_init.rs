//! Alone in its own test binary: the backend RNG is process-global, so no other test may draw
//! from it while this one runs.

use burn::tensor::backend::Backend;
use vit_core::VisionTransformerConfig;
use vit_testing::{B, device, values};

#[test]
fn the_same_seed_builds_the_same_model_and_another_seed_does_not() {
    let config = VisionTransformerConfig::new()
        .with_img_size([16, 16])
        .with_patch_size(4)
        .with_embed_dim(16)
        .with_depth(2)
        .with_num_heads(2)
        .with_num_classes(3);
    let x = vit_testing::pseudo_random([1, 3, 16, 16], 1);
    let run = |seed| {
        B::seed(&device(), seed);
        values(&config.init::<B>(&device()).forward(x.clone()))
    };
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a, b);
    assert_ne!(a, c);
}
