//! vit-core in your own Burn project: build a ViT, classify a batch, extract features and
//! attention maps. Run: `cargo run --release -p example-quickstart`
//! (`--no-default-features --features wgpu` for the GPU).

use burn::tensor::{Distribution, Tensor};
use vit_core::layers::GlobalPool;
use vit_core::prelude::*;
use vit_core::weights::param_count::count_params;

use example_backend::B;

fn main() {
    let device = burn::tensor::Device::<B>::default();

    // A preset, changed like any Burn config: 10 classes, average pooling.
    let config = VisionTransformerConfig::vit_tiny_patch16_224()
        .with_num_classes(10)
        .with_class_token(false)
        .with_global_pool(GlobalPool::Avg);
    let model = config.try_init::<B>(&device).expect("valid config");
    println!(
        "ViT-Ti/16, GAP head, 10 classes: {} parameters",
        count_params(&model)
    );

    let images = Tensor::<B, 4>::random([2, 3, 224, 224], Distribution::Normal(0.0, 1.0), &device);

    // Logits, checked against the model's expected input first.
    let logits = model
        .try_forward(images.clone())
        .expect("input fits the model");
    println!("logits {:?}", logits.dims());

    // Features for your own head, and every block's output with its attention weights.
    let pooled = model.forward_pre_logits(images.clone());
    let inter = model.forward_blocks(images, true);
    println!(
        "pooled {:?}; {} blocks, last attention {:?}",
        pooled.dims(),
        inter.blocks.len(),
        inter.attentions.last().map(|a| a.dims())
    );
}
