//! The way back: zoo models written as timm hub folders (`PretrainedModel::save_timm`, `vit
//! convert --format timm`) hold timm's state dict exactly — same keys, shapes and values as the
//! file timm saved — and reload with timm's logits. (Python timm loading them:
//! `scripts/check_timm_export.py`.)

use burn::tensor::Tensor;
use vit_core::model::VisionModel;
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{B, max_abs_diff_data as max_diff, temp_dir, timm_fixture as fixture};
use vit_variants::zoo::PretrainedModel;

#[test]
fn exported_timm_folders_hold_timms_state_dict_and_reload_with_its_logits() {
    let out = temp_dir("timm-export");
    for case in [
        "vit_cls",
        "vit_gap",
        "vit_p4_d3_h4",
        "vit_map",
        "deit_distilled",
        "swin_2stage",
        // Every catalogue option timm's model_args can carry, or its architecture supplies.
        "cat_dinov2_reg",
        "cat_clip_quickgelu",
        "cat_siglip_tanh_map",
        "cat_aimv2",
        "cat_dinov2_packed",
        "cat_radio_no_final_norm",
        "cat_beit3_inner_norms",
        "cat_res_post",
        "cat_pool_prefix",
        "cat_crop_remainder",
        "cat_diff_attention",
        "cat_parallel_mlp_bias",
        "cat_diff_parallel",
        "cat_hybrid_stem",
        // timm's Eva layouts: separate q/k/v projections with EvaAttention's biases (EVA-02),
        // fused qkv with q_bias/v_bias (EVA-01), AttentionRope's biases (DINOv3 qkvb, PE),
        // learned rotary frequencies (mixed).
        "eva_eva02",
        "eva_eva02_clip",
        "eva_eva01",
        "eva_dinov3",
        "eva_dinov3_qkvb",
        "eva_rope_mixed",
        "eva_pe_core",
        "eva_sapiens2_gqa",
        // NaFlexViT: the linear (ph, pw, C) projection, the NHWC grid, the factorised tables.
        "naflex_gap",
        "naflex_parfac_gap",
        "naflex_siglip",
        "naflex_radio_v3",
        // Catalogue part 3: BEiT's tables and layout (per block, shared), ViT-relpos' MLPs,
        // Swin V2's `cpb_mlp` Sequential, Swin-S3's windows, CaiT, XCiT's patch-embedding
        // Sequential and BatchNorm counters.
        "beit_v1",
        "beit_shared",
        "relpos_gap",
        "relpos_shared",
        "relpos_cls",
        "relpos_res_post",
        "swinv2_2stage",
        "swinv2_pretrained_window",
        "swin_s3",
        "cait_s24",
        "xcit_p16",
        "xcit_p8_tokens_norm",
    ] {
        let loaded =
            PretrainedModel::<B>::load(&fixture(case), None, None, &Default::default()).unwrap();
        let folder = out.join(case);
        loaded.save_timm(&folder).unwrap();

        let weights = ["model.safetensors", "pytorch_model.bin"]
            .map(|f| fixture(case).join(f))
            .into_iter()
            .find(|p| p.exists())
            .unwrap();
        let original = Checkpoint::read(&weights).unwrap();
        let exported = Checkpoint::read(folder.join("model.safetensors")).unwrap();
        let keys = |c: &Checkpoint| c.tensors.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&exported), keys(&original), "{case}: timm's keys");
        for (key, tensor) in &original.tensors {
            assert_eq!(exported.tensors[key].shape, tensor.shape, "{case}: {key}");
            let diff = max_diff(exported.tensors[key].clone(), tensor);
            assert_eq!(diff, 0.0, "{case}: {key} values");
        }

        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("config.json")).unwrap())
                .unwrap();
        assert!(
            config["model_args"].is_object() && config["pretrained_cfg"]["mean"].is_array(),
            "{config}"
        );

        let reloaded =
            PretrainedModel::<B>::load(&folder, None, None, &Default::default()).unwrap();
        let mut io = Checkpoint::read(fixture(case).join("io.safetensors")).unwrap();
        let input = Tensor::<B, 4>::from_data(io.take("input").unwrap(), &Default::default());
        let logits = reloaded.model.forward(input).into_data();
        let diff = max_diff(logits, &io.tensors["logits"]);
        assert!(
            diff <= 1e-4,
            "{case}: reloaded logits differ from timm's by {diff}"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}
