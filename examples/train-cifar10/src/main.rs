//! Train a small ViT on CIFAR-10 from the binary files (`cifar-10-batches-bin/`, from
//! <https://www.cs.toronto.edu/~kriz/cifar.html>) with DeiT's recipe: random resized crop, flips,
//! RandAugment, Mixup/CutMix, random erasing, label smoothing, AdamW + warm-up + cosine.
//!
//! `cargo run --release -p example-train-cifar10 -- PATH [EPOCHS] [OUT]`
//! (`--no-default-features --features cuda` for an NVIDIA GPU).

use std::path::PathBuf;

use burn::backend::Autodiff;
use vit_core::VisionTransformerConfig;
use vit_train::config::{AugmentConfig, DataSpec};
use vit_train::{Start, TrainConfig, train};
use vit_variants::zoo::ZooConfig;

use example_backend::B;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!(
            "usage: example-train-cifar10 PATH [EPOCHS] [OUT]  (PATH holds cifar-10-batches-bin/)"
        );
        std::process::exit(2);
    };
    let epochs = args.next().and_then(|e| e.parse().ok()).unwrap_or(100);
    let out = args
        .next()
        .map_or_else(|| PathBuf::from("target/runs/cifar10"), PathBuf::from);

    // A ViT-Ti-sized model (dim 192, 3 heads) with 4×4 patches: 64 tokens at 32×32.
    let vit = VisionTransformerConfig::new()
        .with_img_size([32, 32])
        .with_patch_size(4)
        .with_num_classes(10)
        .with_embed_dim(192)
        .with_depth(9)
        .with_num_heads(3)
        .with_mlp_ratio(2.0)
        .with_drop_path_rate(0.1);
    let mut config = TrainConfig::digits_default();
    config.model = Some(ZooConfig::Vit(vit));
    config.data = DataSpec::Cifar10 { path };
    config.epochs = epochs;
    config.batch_size = 128;
    config.lr = 1e-3;
    config.warmup_epochs = 5;
    config.grad_clip = Some(1.0);
    config.mean = vec![0.4914, 0.4822, 0.4465];
    config.std = vec![0.2470, 0.2435, 0.2616];
    config.augment = AugmentConfig {
        hflip: true,
        random_resized_crop: Some(Default::default()),
        rand_augment: Some(Default::default()),
        random_erasing: Some(Default::default()),
        mixup: Some(Default::default()),
        ..Default::default()
    };
    config.num_workers = 2;
    // Re-running continues the run if an epoch was checkpointed.
    let checkpoints = out.join("learner/checkpoint");
    let start = if vit_train::learner::checkpoint::last_complete_epoch(&checkpoints).is_some() {
        Start::Resume
    } else {
        Start::Fresh
    };
    match train::<Autodiff<B>>(&config, &out, Default::default(), start) {
        Ok(summary) => println!(
            "test accuracy {:.2} % after {} epochs; model in {}",
            summary.test_accuracy * 100.0,
            summary.history.len(),
            summary.model_dir.display()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
