//! Attention weights and patch position embeddings of the zoo's models.

use burn::tensor::{Distribution, Tensor};
use vit_core::VisionTransformerConfig;
use vit_core::layers::pos_embed::PosEmbedKind;
use vit_core::model::VisionModel;
use vit_testing::B;
use vit_variants::zoo::ZooConfig;

fn small_vit() -> VisionTransformerConfig {
    VisionTransformerConfig::new()
        .with_img_size([16, 16])
        .with_patch_size(4)
        .with_embed_dim(16)
        .with_depth(3)
        .with_num_heads(2)
        .with_num_classes(5)
}

#[test]
fn attention_weights_have_one_stochastic_matrix_per_block_and_the_token_layout() {
    let device = Default::default();
    let images = Tensor::<B, 4>::random([1, 3, 16, 16], Distribution::Normal(0.0, 1.0), &device);
    for (config, prefix) in [
        (ZooConfig::Vit(small_vit()), 1),
        (ZooConfig::Vit(small_vit().with_distilled(true)), 2),
    ] {
        let model = config.try_init::<B>(&device).unwrap();
        let weights = model.attention_weights(images.clone()).unwrap();
        assert_eq!(weights.layers.len(), 3);
        assert_eq!(
            (weights.num_prefix, weights.grid, weights.patch_size),
            (prefix, [4, 4], 4)
        );
        assert_eq!(weights.layers[0].dims(), [1, 2, 16 + prefix, 16 + prefix]);
        let sums = weights.layers[2]
            .clone()
            .sum_dim(3)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "softmax rows");
        let pos = model.patch_positions().unwrap();
        assert_eq!(
            (pos.grid, pos.dim, pos.vectors.len(), pos.learned),
            ([4, 4], 16, 256, true)
        );
    }
}

#[test]
fn swin_and_models_without_position_embedding_are_errors_naming_why() {
    let device = Default::default();
    let none = ZooConfig::Vit(small_vit().with_pos_embed(PosEmbedKind::None));
    let err = none
        .try_init::<B>(&device)
        .unwrap()
        .patch_positions()
        .unwrap_err();
    assert!(err.to_string().contains("pos_embed: none"), "{err}");
    let sincos = ZooConfig::Vit(small_vit().with_pos_embed(PosEmbedKind::Sincos));
    assert!(
        !sincos
            .try_init::<B>(&device)
            .unwrap()
            .patch_positions()
            .unwrap()
            .learned
    );

    let ZooConfig::Swin(swin) = ZooConfig::preset("swin_tiny_patch4_window7_224").unwrap() else {
        panic!("a Swin preset")
    };
    let swin = ZooConfig::Swin(
        swin.with_img_size([32, 32])
            .with_embed_dim(8)
            .with_depths(vec![1])
            .with_num_heads(vec![2])
            .with_window_size(4),
    );
    let model = swin.try_init::<B>(&device).unwrap();
    let images = Tensor::<B, 4>::zeros([1, 3, 32, 32], &device);
    let err = model.attention_weights(images).unwrap_err().to_string();
    assert!(err.contains("swin") && err.contains("ViT or DeiT"), "{err}");
    assert!(model.patch_positions().is_err());
}
