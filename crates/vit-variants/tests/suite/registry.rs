//! Every preset of the registry, shrunk to one block per stage and the smallest input its patch
//! size and stages allow (the widths, heads and every layer stay the preset's): builds, runs
//! forward and backward on the test backend, gives finite logits of the right shape and finite,
//! non-zero gradients all the way back to the input image.

use burn::tensor::{Distribution, Tensor};
use vit_core::model::{ModelConfig, VisionModel};
use vit_testing::{AB, data_values, device, patterned_weights};
use vit_variants::zoo::ZooConfig;
use vit_variants::{zoo_preset, zoo_presets};

/// The preset with one block (per stage, for Swin) on a small input: a 2×2 patch grid for a
/// ViT; for Swin, a last stage of one token (its windows shrink to the stage, as in timm).
fn shrunk(config: ZooConfig) -> ZooConfig {
    match config {
        ZooConfig::Vit(c) => {
            let side = 2 * c.patch_size;
            ZooConfig::Vit(c.with_depth(1).with_img_size([side, side]))
        }
        ZooConfig::Swin(c) => {
            let stages = c.depths.len();
            let side = c.patch_size << (stages - 1);
            ZooConfig::Swin(c.with_depths(vec![1; stages]).with_img_size([side, side]))
        }
    }
}

#[test]
fn every_preset_runs_forward_and_backward_with_one_block() {
    let device = device();
    let mut names = Vec::new();
    for (name, config) in zoo_presets() {
        let config = shrunk(config);
        // Initialisation is tested elsewhere (seeded init, parameter counts): here every layer's
        // shapes and gradients, with weights that cost no random draws.
        let model = patterned_weights(config.try_init::<AB>(&device).unwrap());
        let [c, h, w] = config.input_size();
        let images =
            Tensor::<AB, 4>::random([1, c, h, w], Distribution::Default, &device).require_grad();
        let logits = model.forward(images.clone());
        let outputs = match config.num_classes() {
            0 => model.num_features(),
            n => n,
        };
        assert_eq!(logits.dims(), [1, outputs], "{name}");
        let values = data_values(logits.to_data());
        assert!(values.iter().all(|v| v.is_finite()), "{name}: logits");
        let grads = logits.sum().backward();
        let grad = data_values(
            images
                .grad(&grads)
                .expect("the input has a gradient")
                .into_data(),
        );
        assert!(grad.iter().all(|g| g.is_finite()), "{name}: input gradient");
        assert!(
            grad.iter().any(|g| *g != 0.0),
            "{name}: zero input gradient"
        );
        names.push(name);
    }
    // Every family is in the registry, and a name finds its preset.
    for family in ["vit_", "deit_", "deit3_", "swin_"] {
        assert!(names.iter().any(|n| n.starts_with(family)), "{family}");
    }
    assert!(zoo_preset("deit_small_distilled_patch16_224").is_ok());
}

#[test]
fn unknown_presets_are_errors_listing_every_name() {
    let message = zoo_preset("vit_gigantic").unwrap_err().to_string();
    assert!(message.contains("vit_gigantic"), "{message}");
    for (name, _) in zoo_presets() {
        assert!(message.contains(name), "{name} missing from: {message}");
    }
}

#[test]
fn parameter_estimates_from_configs_match_the_built_models() {
    use vit_core::model::ModelConfig;
    // timm's counts (as `presets_have_timms_parameter_counts` checks on built models).
    for (name, timm) in [
        ("vit_tiny_patch16_224", 5_717_416u64),
        ("vit_base_patch16_224", 86_567_656),
        ("deit_small_distilled_patch16_224", 22_436_432),
        ("swin_tiny_patch4_window7_224", 28_288_354),
        ("swin_base_patch4_window12_384", 87_903_584),
    ] {
        let config = vit_variants::zoo_preset(name).unwrap();
        let estimate = config.param_estimate();
        let off = (estimate as f64 - timm as f64).abs() / timm as f64;
        assert!(off < 0.01, "{name}: estimate {estimate} vs timm {timm}");
    }
}

#[test]
fn a_config_too_large_for_memory_is_refused_before_allocating() {
    use vit_core::VisionTransformerConfig;
    let huge = VisionTransformerConfig::vit_base_patch16_224().with_depth(1_000_000);
    let started = std::time::Instant::now();
    let err = huge
        .try_init::<vit_testing::B>(&Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("depth") && err.contains("memory"), "{err}");
    assert!(
        started.elapsed().as_secs() < 5,
        "refused up front, not after allocating"
    );
}
