//! Every preset of the registry, shrunk to one block per stage and the smallest input its patch
//! size and stages allow (the widths, heads and every layer stay the preset's): builds, runs
//! forward and backward on the test backend, gives finite logits of the right shape and finite,
//! non-zero gradients all the way back to the input image.

use burn::tensor::{Distribution, Tensor};
use vit_core::layers::stems::HybridBackboneConfig;
use vit_core::model::{ModelConfig, VisionModel};
use vit_testing::{AB, data_values, device, patterned_weights};
use vit_variants::zoo::ZooConfig;
use vit_variants::{catalogue, zoo_preset, zoo_presets};

/// The config with one block (per stage, for Swin) on a small input: a ViT is also narrowed to
/// 4 heads of 8 channels on a 2×2 grid of 4-pixel patches and at most 5 classes — every option
/// (tokens, norms, activations, MLP and block forms, pooling) stays the architecture's. For Swin,
/// a last stage of one token (its windows shrink to the stage, as in timm).
fn shrunk(config: ZooConfig) -> ZooConfig {
    match config {
        ZooConfig::Vit(c) if c.backbone.is_some() => {
            // A hybrid keeps its stem's structure (stages, one block each, 128 channels) and,
            // without a projection, the width its stem produces; 2×2 patches of its features.
            let classes = c.num_classes.min(5);
            let backbone = match c.backbone.clone() {
                Some(HybridBackboneConfig::Resnetv2 { layers, .. }) => {
                    Some(HybridBackboneConfig::Resnetv2 {
                        channels: vec![128; layers.len()],
                        layers: vec![1; layers.len()],
                        stem_chs: 64,
                    })
                }
                other => other,
            };
            let stride = backbone.as_ref().map_or(1, HybridBackboneConfig::stride);
            let side = 2 * c.patch_size * stride;
            let (dim, heads) = if c.embed_proj {
                (32, 4)
            } else {
                (c.embed_dim, c.num_heads)
            };
            ZooConfig::Vit(
                c.with_depth(1)
                    .with_backbone(backbone)
                    .with_embed_dim(dim)
                    .with_num_heads(heads)
                    .with_img_size([side, side])
                    .with_num_classes(classes),
            )
        }
        ZooConfig::Vit(c) => {
            let classes = c.num_classes.min(5);
            ZooConfig::Vit(
                c.with_depth(1)
                    .with_embed_dim(32)
                    .with_num_heads(4)
                    .with_patch_size(4)
                    .with_img_size([8, 8])
                    .with_num_classes(classes),
            )
        }
        // An Eva keeps every option; heads of 16 channels (rotary embeddings take 4 per
        // frequency pair); the architecture name is dropped so equal option sets run once.
        ZooConfig::Eva(c) => {
            let classes = c.num_classes.min(5);
            // Grouped-query attention stays grouped: 2 heads over 1 key/value head.
            let kv = c.num_kv_heads.as_ref().map(|_| vec![1]);
            ZooConfig::Eva(
                c.with_architecture(String::new())
                    .with_num_kv_heads(kv)
                    .with_depth(1)
                    .with_embed_dim(32)
                    .with_num_heads(2)
                    .with_patch_size(4)
                    .with_img_size([8, 8])
                    .with_num_classes(classes),
            )
        }
        // A NaFlexViT keeps its resampling (a 3×3 table for the 2×2 grid) and every option.
        ZooConfig::Naflex(c) => {
            let classes = c.num_classes.min(5);
            ZooConfig::Naflex(
                c.with_architecture(String::new())
                    .with_depth(1)
                    .with_embed_dim(32)
                    .with_num_heads(4)
                    .with_patch_size(4)
                    .with_img_size([8, 8])
                    .with_pos_embed_grid_size(Some([3, 3]))
                    .with_num_classes(classes),
            )
        }
        // A BEiT and a ViT-relpos keep their relative position bias (per block or shared) on
        // a 2×2 grid.
        ZooConfig::Beit(c) => {
            let classes = c.num_classes.min(5);
            ZooConfig::Beit(
                c.with_architecture(String::new())
                    .with_depth(1)
                    .with_embed_dim(32)
                    .with_num_heads(4)
                    .with_patch_size(4)
                    .with_img_size([8, 8])
                    .with_num_classes(classes),
            )
        }
        ZooConfig::RelPos(c) => {
            let classes = c.num_classes.min(5);
            ZooConfig::RelPos(
                c.with_architecture(String::new())
                    .with_depth(1)
                    .with_embed_dim(32)
                    .with_num_heads(4)
                    .with_patch_size(4)
                    .with_img_size([8, 8])
                    .with_num_classes(classes),
            )
        }
        // A CaiT keeps its talking heads and class-attention blocks, one of each.
        ZooConfig::Cait(c) => {
            let classes = c.num_classes.min(5);
            ZooConfig::Cait(
                c.with_architecture(String::new())
                    .with_depth(1)
                    .with_depth_token_only(1)
                    .with_embed_dim(32)
                    .with_num_heads(4)
                    .with_patch_size(4)
                    .with_img_size([8, 8])
                    .with_num_classes(classes),
            )
        }
        // An XCiT keeps its convolutional patch embedding (16 or 8 pixels), one block of each
        // kind, 32 channels in 4 heads.
        ZooConfig::Xcit(c) => {
            let classes = c.num_classes.min(5);
            let side = 2 * c.patch_size;
            ZooConfig::Xcit(
                c.with_architecture(String::new())
                    .with_depth(1)
                    .with_cls_attn_layers(1)
                    .with_embed_dim(32)
                    .with_num_heads(4)
                    .with_img_size([side, side])
                    .with_num_classes(classes),
            )
        }
        ZooConfig::Swin(c) => {
            let stages = c.depths.len();
            let side = c.patch_size << (stages - 1);
            ZooConfig::Swin(c.with_depths(vec![1; stages]).with_img_size([side, side]))
        }
    }
}

#[test]
fn every_distinct_option_set_runs_forward_and_backward_with_one_block() {
    let device = device();
    let mut seen: Vec<String> = Vec::new();
    let mut names = Vec::new();
    for (name, config) in zoo_presets() {
        names.push(name);
        let config = shrunk(config);
        let key = serde_json::to_string(&config).unwrap();
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
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
    }
    // Far fewer option sets than architectures, but more than the classic ViT/DeiT/Swin ones.
    assert!(seen.len() >= 25, "only {} option sets", seen.len());
    for family in [
        "vit_",
        "deit_",
        "deit3_",
        "swin_",
        "aimv2_",
        "beit3_",
        "vit_base_r50_",
    ] {
        assert!(names.iter().any(|n| n.starts_with(family)), "{family}");
    }
    assert!(zoo_preset("deit_small_distilled_patch16_224").is_ok());
}

#[test]
fn every_buildable_architecture_has_timms_parameter_count_without_allocating() {
    let device = device();
    let mut checked = 0;
    for entry in catalogue() {
        let (Ok(config), Some(timm)) = (&entry.config, entry.timm_params) else {
            continue;
        };
        // Counted on the built module (lazy parameters: nothing drawn) and from the config alone;
        // a model too large for this machine's memory (DINOv3 7B) is refused before building,
        // so only its estimate is compared.
        assert_eq!(config.param_estimate(), timm, "{}: estimate", entry.name);
        match config.num_params::<vit_testing::B>(&device) {
            Ok(built) => assert_eq!(built as u64, timm, "{}: built model", entry.name),
            Err(e) => assert!(
                e.to_string().contains("more than the") && timm > 2_000_000_000,
                "{}: {e}",
                entry.name
            ),
        }
        checked += 1;
    }
    assert!(checked >= 150, "{checked}");
}

#[test]
fn every_catalogued_architecture_builds_and_arguments_we_lack_are_refused_by_name() {
    // timm 1.0.31's whole ViT family and its `eva.py` build.
    for entry in catalogue() {
        assert!(entry.config.is_ok(), "{}: {:?}", entry.name, entry.config);
    }
    // A folder asking for something still missing names the argument and what is supported.
    let mut args = serde_json::Map::new();
    args.insert("patch_drop_rate".into(), serde_json::json!(0.5));
    let err = vit_core::vit::import::apply_timm_vit_args_map(
        &vit_core::VisionTransformerConfig::new(),
        &args,
        None,
        std::path::Path::new("config.json"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("patch_drop_rate") && err.contains("config.json"),
        "{err}"
    );
}

#[test]
fn typed_constructors_are_the_catalogues_configs() {
    use vit_core::VisionTransformerConfig;
    let dinov2 = VisionTransformerConfig::vit_base_patch14_reg4_dinov2();
    assert_eq!(
        (
            dinov2.reg_tokens,
            dinov2.img_size,
            dinov2.no_embed_class,
            dinov2.num_classes
        ),
        (4, [518, 518], true, 0)
    );
    assert_eq!(dinov2.init_values, Some(1e-5));
    let clip = VisionTransformerConfig::vit_base_patch16_clip_quickgelu_224();
    assert!(clip.pre_norm && !clip.patch_bias && clip.norm_eps == 1e-5);
    assert_eq!(clip.act_layer, vit_core::layers::Activation::QuickGelu);
    assert_eq!(
        ZooConfig::preset("vit_so400m_patch14_siglip_384").unwrap(),
        ZooConfig::Vit(VisionTransformerConfig::vit_so400m_patch14_siglip_384())
    );
}

#[test]
fn unknown_presets_are_errors_naming_the_three_closest() {
    let message = zoo_preset("vit_small_patch14_dinov3")
        .unwrap_err()
        .to_string();
    assert!(message.contains("vit_small_patch14_dinov3"), "{message}");
    assert!(message.contains("vit_small_patch14_dinov2"), "{message}");
    let listed = zoo_presets()
        .filter(|(name, _)| message.contains(&format!(" {name}")))
        .count();
    assert!(listed <= 3, "{message}");
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
    // 4,000 blocks (within the size bounds): ~28 G parameters, 113 GB of weights.
    let huge = VisionTransformerConfig::vit_base_patch16_224().with_depth(4_000);
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
