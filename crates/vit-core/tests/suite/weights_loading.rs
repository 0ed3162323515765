//! Loading weights: every way in (timm folder, bare safetensors/.bin with a config, our saved
//! folder), timm's fine-tuning adaptations, and the promised errors for bad files.

use std::path::Path;

use burn::tensor::Tensor;
use vit_core::vit::import::{PretrainedVit, load_vit_checkpoint, vit_config_from_timm};
use vit_core::weights::checkpoint::{Checkpoint, LazyCheckpoint, Weight};
use vit_core::weights::model_folder::{MODEL_CARD_FILE, WEIGHTS_FILE};
use vit_core::weights::timm_folder::TimmFolder;
use vit_core::{VisionTransformerConfig, VitError};
use vit_testing::{B, device, max_abs_diff, temp_dir, timm_fixture};

/// The fixture's input and timm's logits and pre-logits.
fn io(case: &str) -> (Tensor<B, 4>, Tensor<B, 2>, Tensor<B, 2>) {
    let mut io = Checkpoint::read(timm_fixture(case).join("io.safetensors")).unwrap();
    (
        Tensor::from_data(io.take("input").unwrap(), &device()),
        Tensor::from_data(io.take("logits").unwrap(), &device()),
        Tensor::from_data(io.take("pre_logits").unwrap(), &device()),
    )
}

fn fixture_config(case: &str) -> VisionTransformerConfig {
    vit_config_from_timm(&TimmFolder::open(timm_fixture(case)).unwrap().config).unwrap()
}

fn load(path: &Path, base: Option<VisionTransformerConfig>) -> Result<PretrainedVit<B>, VitError> {
    PretrainedVit::<B>::load(path, base, None, &device())
}

fn assert_logits(vit: &PretrainedVit<B>, case: &str) {
    let (input, logits, _) = io(case);
    let diff = max_abs_diff(&vit.model.forward(input), &logits);
    assert!(diff <= 1e-4, "logits differ from timm by {diff}");
}

#[test]
fn bare_safetensors_and_pytorch_bin_load_with_a_config() {
    let vit = load(
        &timm_fixture("vit_cls/model.safetensors"),
        Some(fixture_config("vit_cls")),
    )
    .unwrap();
    assert_logits(&vit, "vit_cls");
    let vit = load(
        &timm_fixture("vit_p4_d3_h4/pytorch_model.bin"),
        Some(fixture_config("vit_p4_d3_h4")),
    )
    .unwrap();
    assert_logits(&vit, "vit_p4_d3_h4");
}

#[test]
fn folder_config_and_pretrained_cfg_travel_with_the_model() {
    let vit = load(&timm_fixture("vit_gap"), None).unwrap();
    assert!(!vit.config.class_token);
    assert_eq!(vit.config.num_classes, 10);
    assert_eq!(vit.config.img_size, [32, 32]);
    assert_eq!(vit.pretrained_cfg.input_size, [3, 32, 32]);
    assert_eq!(vit.pretrained_cfg.mean, vec![0.5, 0.5, 0.5]);
    assert_eq!(vit.pretrained_cfg.extra["tag"], "fixture");
}

#[test]
fn saved_folder_round_trips_exactly() {
    let dir = temp_dir("saved-folder");
    let vit = load(&timm_fixture("vit_cls"), None).unwrap();
    let (input, _, _) = io("vit_cls");
    let before = vit.model.forward(input.clone());
    vit.save(&dir).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [WEIGHTS_FILE, MODEL_CARD_FILE],
        "no temp files left behind"
    );

    let again = load(&dir, None).unwrap();
    assert_eq!(again.pretrained_cfg.extra["tag"], "fixture");
    assert_eq!(max_abs_diff(&again.model.forward(input), &before), 0.0);
    // The record alone, with the config, loads too.
    let record = load(&dir.join(WEIGHTS_FILE), Some(fixture_config("vit_cls"))).unwrap();
    assert_eq!(record.config, again.config);
}

#[test]
fn saved_weights_for_another_config_or_truncated_are_refused() {
    let dir = temp_dir("record-mismatch");
    load(&timm_fixture("vit_cls"), None)
        .unwrap()
        .save(&dir)
        .unwrap();
    let record = dir.join(WEIGHTS_FILE);
    for config in [
        fixture_config("vit_cls").with_embed_dim(24),
        fixture_config("vit_cls").with_depth(1),
        fixture_config("vit_cls").with_depth(3),
    ] {
        let err = load(&record, Some(config.clone())).unwrap_err().to_string();
        assert!(err.contains("model.bpk"), "{err}");
    }
    let bytes = std::fs::read(&record).unwrap();
    std::fs::write(&record, &bytes[..bytes.len() / 2]).unwrap();
    let err = load(&dir, None).unwrap_err().to_string();
    assert!(err.contains("model.bpk"), "{err}");
}

#[test]
fn other_class_count_gets_a_fresh_head_and_keeps_the_backbone() {
    let vit = PretrainedVit::<B>::load(&timm_fixture("vit_cls"), None, Some(4), &device()).unwrap();
    assert_eq!(vit.report.fresh, ["head.weight", "head.bias"]);
    assert_eq!(vit.label_names, None);
    let (input, _, pre_logits) = io("vit_cls");
    assert_eq!(vit.model.forward(input.clone()).dims(), [2, 4]);
    let diff = max_abs_diff(&vit.model.forward_pre_logits(input), &pre_logits);
    assert!(diff <= 1e-4, "backbone differs from timm by {diff}");
}

#[test]
fn headless_target_drops_the_head() {
    let vit = PretrainedVit::<B>::load(&timm_fixture("vit_cls"), None, Some(0), &device()).unwrap();
    assert_eq!(vit.report.ignored, ["head.weight", "head.bias"]);
    let (input, _, pre_logits) = io("vit_cls");
    let diff = max_abs_diff(&vit.model.forward(input), &pre_logits);
    assert!(diff <= 1e-4, "{diff}");
}

#[test]
fn position_embedding_is_resampled_for_another_image_size() {
    let config = fixture_config("vit_cls").with_img_size([48, 64]);
    let checkpoint = LazyCheckpoint::open(timm_fixture("vit_cls/model.safetensors")).unwrap();
    let (model, report) = load_vit_checkpoint::<B>(&config, checkpoint, &device()).unwrap();
    assert_eq!(report.adapted.len(), 1, "{report:?}");
    assert!(report.adapted[0].contains("4x4 to a 6x8"), "{report:?}");
    assert_eq!(model.pos_embed.unwrap().val().dims(), [1, 1 + 48, 48]);
}

#[test]
fn mismatched_checkpoint_lists_every_problem_and_loads_nothing() {
    let config = fixture_config("vit_cls");
    let mut checkpoint = LazyCheckpoint::open(timm_fixture("vit_cls/model.safetensors")).unwrap();
    checkpoint
        .tensors
        .remove("blocks.1.attn.qkv.weight")
        .unwrap();
    let extra = checkpoint.tensors["norm.bias"].clone();
    checkpoint
        .tensors
        .insert("blocks.1.attn.q_norm.weight".into(), extra);
    let wide = burn::tensor::TensorData::new(vec![0.0f32; 96], [96]);
    checkpoint
        .tensors
        .insert("norm.weight".into(), Weight::from_data("norm.weight", wide));
    let err = load_vit_checkpoint::<B>(&config, checkpoint, &device()).unwrap_err();
    let VitError::WeightsMismatch(mismatch) = &err else {
        panic!("{err}")
    };
    assert_eq!(mismatch.missing.len(), 1);
    assert_eq!(mismatch.missing[0].key, "blocks.1.attn.qkv.weight");
    assert_eq!(mismatch.missing[0].shape, [144, 48]);
    assert_eq!(mismatch.unexpected[0].key, "blocks.1.attn.q_norm.weight");
    assert_eq!(mismatch.mismatched[0].key, "norm.weight");
    assert_eq!(
        (
            mismatch.mismatched[0].expected.clone(),
            mismatch.mismatched[0].found.clone()
        ),
        (vec![48], vec![96])
    );
    let message = err.to_string();
    for needle in [
        "model.safetensors",
        "missing     blocks.1.attn.qkv.weight (expected shape [144, 48])",
        "unexpected  blocks.1.attn.q_norm.weight",
        "norm.weight: expected [48], found [96]",
    ] {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
}

/// Writes `bytes` to `dir/name` and returns the error loading it with vit_cls's config gives.
fn load_error(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let err = load(&path, Some(fixture_config("vit_cls"))).unwrap_err();
    assert!(matches!(err, VitError::Checkpoint { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(name),
        "the error must name the file: {message}"
    );
    message
}

#[test]
fn truncated_or_corrupt_files_are_errors_naming_the_file() {
    let dir = temp_dir("corrupt");
    let safetensors = std::fs::read(timm_fixture("vit_cls/model.safetensors")).unwrap();
    let bin = std::fs::read(timm_fixture("vit_p4_d3_h4/pytorch_model.bin")).unwrap();
    load_error(
        &dir,
        "half.safetensors",
        &safetensors[..safetensors.len() / 2],
    );
    load_error(&dir, "header.safetensors", &safetensors[..20]);
    load_error(&dir, "empty.safetensors", b"");
    load_error(&dir, "half.bin", &bin[..bin.len() / 2]);
    load_error(&dir, "noise.pth", &[7u8; 4096]);
    load_error(&dir, "text.pt", b"not a checkpoint at all");
    load_error(&dir, "weights.onnx", &safetensors);
    let missing = load(
        &dir.join("absent.safetensors"),
        Some(fixture_config("vit_cls")),
    )
    .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("absent.safetensors: no such file"),
        "{missing}"
    );
}

#[test]
fn bare_file_without_a_config_is_an_error() {
    let err = load(&timm_fixture("vit_cls/model.safetensors"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("preset or a config file"), "{err}");
}

/// Writes a folder with `config` as config.json (and the vit_cls weights unless `weights` is false).
fn folder_error(name: &str, config: &str, weights: bool) -> String {
    let dir = temp_dir(name);
    std::fs::write(dir.join("config.json"), config).unwrap();
    if weights {
        std::fs::copy(
            timm_fixture("vit_cls/model.safetensors"),
            dir.join("model.safetensors"),
        )
        .unwrap();
    }
    load(&dir, None).unwrap_err().to_string()
}

#[test]
fn malformed_timm_folders_are_errors_naming_file_and_field() {
    let empty = temp_dir("empty-folder");
    let err = load(&empty, None).unwrap_err().to_string();
    assert!(err.contains("config.json"), "{err}");

    let err = folder_error("no-arch", r#"{"num_classes": 10}"#, true);
    assert!(
        err.contains("config.json") && err.contains("`architecture`"),
        "{err}"
    );

    let err = folder_error("bad-json", r#"{"architecture": "#, true);
    assert!(err.contains("not valid JSON"), "{err}");

    let err = folder_error(
        "unknown-arch",
        r#"{"architecture": "vit_tiny_patch16_244"}"#,
        true,
    );
    assert!(
        err.contains("unknown architecture `vit_tiny_patch16_244`")
            && err.contains("vit_tiny_patch16_224"),
        "{err}"
    );

    let args =
        r#"{"architecture": "vit_tiny_patch16_224", "model_args": {"patch_drop_rate": 0.5}}"#;
    let err = folder_error("patch-drop", args, true);
    assert!(err.contains("model_args.patch_drop_rate"), "{err}");

    let args = r#"{"architecture": "vit_tiny_patch16_224", "model_args": {"embed_dims": 48}}"#;
    let err = folder_error("typo", args, true);
    assert!(err.contains("model_args.embed_dims"), "{err}");

    let err = folder_error(
        "no-weights",
        r#"{"architecture": "vit_tiny_patch16_224"}"#,
        false,
    );
    assert!(
        err.contains("model.safetensors or pytorch_model.bin"),
        "{err}"
    );

    // A real folder whose weights do not fit the architecture it names.
    let err = folder_error(
        "wrong-weights",
        r#"{"architecture": "vit_tiny_patch16_224"}"#,
        true,
    );
    assert!(
        err.contains("does not fit the model") && err.contains("pos_embed"),
        "{err}"
    );
}

#[test]
fn checkpoints_are_read_tensor_by_tensor_when_used_not_when_opened() {
    // Opening reads the header only: zeroing the file's data afterwards shows in every value
    // read later, so a model load never holds the file's copy of all its weights at once.
    let dir = temp_dir("lazy-checkpoint");
    let path = dir.join("model.safetensors");
    std::fs::copy(timm_fixture("vit_cls/model.safetensors"), &path).unwrap();
    let lazy = LazyCheckpoint::open(&path).unwrap();
    let eager = Checkpoint::read(&path).unwrap();
    assert_eq!(lazy.tensors.len(), eager.tensors.len());
    let qkv = &lazy.tensors["blocks.0.attn.qkv.weight"];
    assert_eq!(qkv.shape(), [144, 48]);
    assert_eq!(
        qkv.data().unwrap(),
        eager.tensors["blocks.0.attn.qkv.weight"]
    );

    let mut bytes = std::fs::read(&path).unwrap();
    let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[header..].fill(0);
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::io::Write::write_all(&mut file, &bytes).unwrap();
    drop(file);
    let values = qkv.data().unwrap().into_vec::<f32>().unwrap();
    assert!(values.iter().all(|v| *v == 0.0), "read at open time");
    assert!(lazy.largest_f32_bytes() >= 144 * 48 * 4);
}

/// `torch.save` files whose tensor declares far more elements than its storage (10^11 and
/// 2·10^8 over 7 stored floats, `scripts/make_hostile_fixtures.py`) are refused when opened,
/// before anything is allocated for them (they used to abort the process after asking for
/// 400 GB, or take 776 MiB before failing).
#[test]
fn tensors_declaring_more_bytes_than_their_file_are_refused_before_allocating() {
    let dir = vit_testing::fixtures().join("hostile");
    for name in [
        "huge_shape.pth",
        "huge_shape_legacy.pth",
        "moderate_shape.pth",
    ] {
        let path = dir.join(name);
        let err = LazyCheckpoint::open(&path).unwrap_err().to_string();
        assert!(
            err.contains(name)
                && err.contains("`weight` declares shape")
                && err.contains("more bytes than the whole file"),
            "{name}: {err}"
        );
    }
}

/// A tensor its storage cannot fill is an error when read (the reader zero-padded it: silently
/// wrong weights), and a view with other strides is refused when opened (the reader would read
/// it as contiguous).
#[test]
fn short_storages_and_strided_views_are_errors_not_wrong_weights() {
    let dir = vit_testing::fixtures().join("hostile");
    let short = LazyCheckpoint::open(dir.join("short_storage.pth")).unwrap();
    let err = short.tensors["weight"].data().unwrap_err();
    assert!(
        err.contains("needs 12 elements") && err.contains("holds 7"),
        "{err}"
    );
    let err = LazyCheckpoint::open(dir.join("expanded_view.pth"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("non-contiguous") && err.contains(".contiguous()"),
        "{err}"
    );
    // A plain state dict still reads, every dtype as f32.
    let ok = Checkpoint::read(dir.join("small_state.pth")).unwrap();
    assert_eq!(
        ok.tensors["relative_position_index"].shape.as_slice(),
        [3, 3]
    );
}
