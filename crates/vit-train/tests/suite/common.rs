//! Helpers shared by the training-run tests.

#![allow(dead_code)]

use vit_core::VisionTransformerConfig;
use vit_train::TrainConfig;
use vit_variants::zoo::ZooConfig;

/// The digits run shrunk to seconds: 8×8 input, one block of width 16.
pub fn tiny_digits(epochs: usize) -> TrainConfig {
    let mut config = TrainConfig::digits_default();
    config.model = Some(ZooConfig::Vit(
        VisionTransformerConfig::new()
            .with_img_size([8, 8])
            .with_patch_size(4)
            .with_in_chans(1)
            .with_num_classes(10)
            .with_embed_dim(16)
            .with_depth(1)
            .with_num_heads(2)
            .with_drop_path_rate(0.1),
    ));
    config.epochs = epochs;
    config.warmup_epochs = 0;
    config.num_workers = 1;
    config
}
