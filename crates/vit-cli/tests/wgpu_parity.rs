//! timm parity on WGPU: the committed timm fixtures (`tests/fixtures/timm`) loaded and run on the
//! GPU backend must give timm's logits and features within 1e-4, as on ndarray. Runs with
//! `--features vit-cli/wgpu`; without a GPU it needs Mesa's software Vulkan
//! (`apt-get install mesa-vulkan-drivers libvulkan1`).
#![cfg(feature = "wgpu")]

use burn::backend::Wgpu;
use burn::tensor::Tensor;
use vit_core::checkpoint::Checkpoint;
use vit_core::vit_import::load_vit;

fn max_abs_diff<const D: usize>(a: Tensor<Wgpu, D>, b: Tensor<Wgpu, D>) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b).abs().max().into_scalar()
}

#[test]
fn timm_fixtures_match_timm_on_wgpu() {
    let device = Default::default();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/timm");
    for case in [
        "vit_cls",
        "vit_gap",
        "vit_p4_d3_h4",
        "vit_map",
        "vit_dynamic",
    ] {
        let vit = load_vit::<Wgpu>(&root.join(case), None, None, &device).unwrap();
        let mut io = Checkpoint::read(root.join(case).join("io.safetensors")).unwrap();
        let mut take = |key: &str| io.take(key).unwrap();
        let input = Tensor::<Wgpu, 4>::from_data(take("input"), &device);
        let features = Tensor::<Wgpu, 3>::from_data(take("features"), &device);
        let logits = Tensor::<Wgpu, 2>::from_data(take("logits"), &device);
        let ours = vit.model.forward_features(input);
        let ours_logits = vit.model.forward_head(ours.clone(), false);
        let (df, dl) = (
            max_abs_diff(ours, features),
            max_abs_diff(ours_logits, logits),
        );
        assert!(
            df <= 1e-4 && dl <= 1e-4,
            "{case}: features {df}, logits {dl} from timm"
        );
    }
}
