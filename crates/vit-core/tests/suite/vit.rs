use burn::module::Module;
use vit_core::layers::pooling::GlobalPool;
use vit_core::vit::vit_presets;
use vit_core::weights::config_file::{config_from_json, save_config};
use vit_core::weights::param_count::count_params;
use vit_core::{VisionTransformerConfig, VitError};
use vit_testing::{B, device, max_abs_diff, pseudo_random, values};

fn small() -> VisionTransformerConfig {
    VisionTransformerConfig::new()
        .with_img_size([32, 32])
        .with_patch_size(8)
        .with_embed_dim(24)
        .with_depth(3)
        .with_num_heads(3)
        .with_num_classes(7)
}

#[test]
fn presets_have_exactly_timms_parameter_counts() {
    for (name, expected) in [
        ("vit_tiny_patch16_224", 5_717_416),
        ("vit_small_patch16_224", 22_050_664),
        ("vit_base_patch16_224", 86_567_656),
        ("vit_base_patch32_224", 88_224_232),
        ("vit_large_patch16_224", 304_326_632),
        ("vit_huge_patch14_224", 630_764_800),
    ] {
        let model = VisionTransformerConfig::preset(name)
            .unwrap()
            .init::<B>(&device());
        assert_eq!(count_params(&model), expected, "{name}");
    }
    // ViT-H/14's timm default has no head; with an ImageNet-1k head it gains 1280·1000 + 1000.
    let huge_1k = VisionTransformerConfig::preset("vit_huge_patch14_224")
        .unwrap()
        .with_num_classes(1000);
    assert_eq!(
        count_params(&huge_1k.init::<B>(&device())),
        630_764_800 + 1_281_000
    );
}

#[test]
fn counting_shapes_agrees_with_burns_count() {
    let model = small().with_init_values(Some(0.1)).init::<B>(&device());
    assert_eq!(count_params(&model), model.num_params());
}

#[test]
fn base_16_costs_timms_17_6_gmacs() {
    let macs = VisionTransformerConfig::preset("vit_base_patch16_224")
        .unwrap()
        .macs();
    assert!((17.5e9..17.7e9).contains(&(macs as f64)), "{macs}");
    let tiny = VisionTransformerConfig::preset("vit_tiny_patch16_224")
        .unwrap()
        .macs() as f64;
    assert!((1.2e9..1.3e9).contains(&tiny), "{tiny}"); // timm: 1.3 GMACs
}

#[test]
fn forward_outputs_have_the_documented_shapes() {
    let model = small().init::<B>(&device());
    let x = pseudo_random([2, 3, 32, 32], 1);
    assert_eq!(model.forward(x.clone()).dims(), [2, 7]);
    assert_eq!(model.forward_features(x.clone()).dims(), [2, 17, 24]);
    assert_eq!(model.forward_pre_logits(x.clone()).dims(), [2, 24]);
    let inter = model.forward_blocks(x.clone(), true);
    assert_eq!(inter.blocks.len(), 3);
    assert_eq!(inter.attentions.len(), 3);
    assert_eq!(inter.attentions[0].dims(), [2, 3, 17, 17]);
    assert!(max_abs_diff(&inter.features, &model.forward_features(x.clone())) < 1e-5);
    // The last block's output, normed, is the features.
    let normed = model
        .norm
        .as_ref()
        .unwrap()
        .forward(inter.blocks[2].clone());
    assert!(max_abs_diff(&normed, &inter.features) < 1e-6);
    assert!(model.forward_blocks(x, false).attentions.is_empty());
}

#[test]
fn no_head_gives_pooled_features() {
    let model = small().with_num_classes(0).init::<B>(&device());
    assert!(model.head.is_none());
    let x = pseudo_random([2, 3, 32, 32], 2);
    let out = model.forward(x.clone());
    assert_eq!(out.dims(), [2, 24]);
    assert_eq!(values(&out), values(&model.forward_pre_logits(x)));
}

#[test]
fn logits_are_the_head_of_the_pre_logits() {
    let model = small().init::<B>(&device());
    let x = pseudo_random([1, 3, 32, 32], 3);
    let logits = model
        .head
        .as_ref()
        .unwrap()
        .forward(model.forward_pre_logits(x.clone()));
    assert!(max_abs_diff(&logits, &model.forward(x)) < 1e-6);
}

#[test]
fn timm_initialisation_statistics() {
    let model = VisionTransformerConfig::preset("vit_small_patch16_224")
        .unwrap()
        .init::<B>(&device());
    let block = model.blocks[0].as_block().unwrap();
    let attn = block.attn.as_attention().unwrap();
    let qkv = values(&attn.qkv.weight.val());
    let mean = qkv.iter().sum::<f32>() / qkv.len() as f32;
    let std = (qkv.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / qkv.len() as f32).sqrt();
    assert!(
        mean.abs() < 1e-3 && (std - 0.02).abs() < 1e-3,
        "mean {mean} std {std}"
    );
    assert!(qkv.iter().all(|v| v.abs() <= 2.0));
    assert!(
        values(&attn.qkv.bias.as_ref().unwrap().val())
            .iter()
            .all(|&b| b == 0.0)
    );
    assert!(
        values(&block.norm1.as_layer_norm().unwrap().gamma.val())
            .iter()
            .all(|&g| g == 1.0)
    );
    assert!(
        values(block.norm1.as_layer_norm().unwrap().beta.as_ref().unwrap())
            .iter()
            .all(|&b| b == 0.0)
    );
    let pos = values(&model.pos_embed.as_ref().unwrap().val());
    let pos_std = (pos.iter().map(|v| v * v).sum::<f32>() / pos.len() as f32).sqrt();
    assert!((pos_std - 0.02).abs() < 2e-3, "{pos_std}");
    let cls = values(&model.cls_token.as_ref().unwrap().val());
    assert!(cls.iter().all(|v| v.abs() < 1e-4));
}

#[test]
fn input_of_another_size_is_an_error_not_a_panic() {
    let model = small().init::<B>(&device());
    let err = model
        .try_forward(pseudo_random([1, 3, 40, 40], 1))
        .unwrap_err();
    assert!(matches!(err, VitError::InputShape { .. }), "{err}");
    assert!(err.to_string().contains("32, 32"), "{err}");
    let err = model
        .try_forward(pseudo_random([1, 3, 30, 32], 1))
        .unwrap_err();
    assert!(err.to_string().contains("height 30") && err.to_string().contains("patch size 8"));
    assert!(model.try_forward(pseudo_random([1, 3, 32, 32], 1)).is_ok());
}

#[test]
fn invalid_configs_name_the_field() {
    let cases = [
        // Smaller than one patch (a size that merely does not split builds, as in timm).
        (small().with_img_size([6, 32]), "patch size 8"),
        (small().with_num_heads(5), "num_heads"),
        (small().with_drop_path_rate(1.5), "drop_path_rate"),
        (small().with_mlp_ratio(0.0), "mlp_ratio"),
        // Sizes far past any model: errors naming the field, not a wrapped cost estimate or
        // a capacity-overflow panic when the layers are allocated.
        (small().with_mlp_ratio(1e30), "mlp_ratio"),
        (small().with_mlp_ratio(f64::INFINITY), "mlp_ratio"),
        (small().with_depth(1 << 30), "depth"),
        (
            small().with_embed_dim(1 << 40).with_num_heads(1),
            "embed_dim",
        ),
        (small().with_num_classes(usize::MAX), "num_classes"),
        (
            small().with_img_size([1 << 15, 1 << 15]).with_patch_size(4),
            "img_size",
        ),
        (small().with_img_size([usize::MAX, 32]), "img_size"),
        (small().with_class_token(false), "global_pool"),
        (
            small()
                .with_embed_dim(18)
                .with_num_heads(3)
                .with_pos_embed(vit_core::layers::pos_embed::PosEmbedKind::Sincos),
            "pos_embed",
        ),
    ];
    for (config, needle) in cases {
        let err = config.try_init::<B>(&device()).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}

#[test]
fn linear_patch_embedding_model_matches_the_conv_model() {
    let conv = small().init::<B>(&device());
    let x = pseudo_random([2, 3, 32, 32], 4);
    // Lazily-initialised parameters are drawn on first use: run once before cloning.
    let from_conv = conv.forward(x.clone());
    let mut linear = conv.clone();
    linear.patch_embed = linear.patch_embed.to_linear();
    assert!(max_abs_diff(&from_conv, &linear.forward(x)) < 1e-5);
}

fn configs_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

#[test]
fn every_preset_has_its_config_file() {
    for (name, config) in vit_presets() {
        let path = configs_dir().join(format!("{name}.json"));
        let loaded = VisionTransformerConfig::load_file(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(loaded, config, "{}", path.display());
    }
}

#[test]
fn config_round_trips_through_a_file() {
    let dir = std::env::temp_dir().join(format!("vit-core-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.json");
    let config = small()
        .with_global_pool(GlobalPool::Map)
        .with_init_values(Some(1e-5));
    save_config(&config, &path).unwrap();
    let back = VisionTransformerConfig::load_file(&path).unwrap();
    assert_eq!(back, config);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn config_files_reject_unknown_fields_by_name() {
    let path = std::path::Path::new("my_model.json");
    let base = VisionTransformerConfig::new();
    let err = config_from_json(r#"{"embed_dims": 64, "depth": 2}"#, path, &base).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("my_model.json") && message.contains("embed_dims"),
        "{message}"
    );
    // Missing fields take their defaults.
    let config = config_from_json(r#"{"depth": 2}"#, path, &base).unwrap();
    assert_eq!(config.depth, 2);
    assert_eq!(config.embed_dim, 768);
    let err = config_from_json(r#"{"depth": "two"}"#, path, &base).unwrap_err();
    assert!(err.to_string().contains("my_model.json"), "{err}");
    let err = config_from_json(r#"{"global_pool": "mean"}"#, path, &base).unwrap_err();
    assert!(err.to_string().contains("mean"), "{err}");
}

#[test]
fn missing_config_file_names_the_path() {
    let err = VisionTransformerConfig::load_file("/nonexistent/vit.json").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/vit.json"), "{err}");
}

#[test]
fn unknown_preset_names_the_closest_ones() {
    let err = VisionTransformerConfig::preset("vit_gigantic").unwrap_err();
    assert!(
        err.to_string().contains("vit_gigantic_patch14_clip_224"),
        "{err}"
    );
}
