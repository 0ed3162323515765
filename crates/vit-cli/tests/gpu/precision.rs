//! Mixed precision on the GPU backends: where the device computes in bf16/f16, the autocast
//! forward of the ViT, attention-pooled ViT, DeiT and Swin fixtures stays within twice the
//! distance PyTorch's own autocast puts between its logits and f32 (the bound and its derivation:
//! vit-variants' `precision` suite); where it does not, the precision is refused with an error
//! naming it (WGPU has no bf16 arithmetic; f16 only where the adapter has `shader-f16`).

use burn::tensor::Tensor;
use vit_core::VitBackend;
use vit_core::model::VisionModel;
use vit_core::precision::{Precision, autocast};
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{max_abs_diff_data as max_abs_diff, timm_fixture};
use vit_variants::zoo::PretrainedModel;

const CASES: [&str; 4] = ["vit_cls", "vit_map", "deit_distilled", "swin_2stage"];

fn autocast_matches_pytorch_autocast<B: VitBackend>() {
    let device: B::Device = Default::default();
    let mut failures = Vec::new();
    for precision in [Precision::Bf16, Precision::F16] {
        if let Err(refused) = precision.check_backend::<B>(&device) {
            println!("precision {precision}: refused on this device: {refused}");
            assert!(refused.contains(&precision.to_string()), "{refused}");
            continue;
        }
        for case in CASES {
            let model = PretrainedModel::<B>::load(&timm_fixture(case), None, None, &device)
                .unwrap()
                .model;
            let mut io = Checkpoint::read(timm_fixture(case).join("io.safetensors")).unwrap();
            let torch = Checkpoint::read(timm_fixture(case).join("autocast.safetensors")).unwrap();
            let input = Tensor::<B, 4>::from_data(io.take("input").unwrap(), &device);
            let logits = {
                let _scope = autocast(precision);
                model.forward(input).into_data()
            };
            let timm_f32 = &torch.tensors["logits_f32"];
            let d_torch = max_abs_diff(
                torch.tensors[&format!("logits_{precision}")].clone(),
                timm_f32,
            );
            let d_ours = max_abs_diff(logits, timm_f32);
            println!(
                "precision {precision} {case}: ours {d_ours:.2e}, PyTorch autocast {d_torch:.2e}"
            );
            if d_ours.is_nan() || d_ours > 2.0 * d_torch {
                failures.push(format!(
                    "{precision} {case}: {d_ours:.2e} > 2 × {d_torch:.2e}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[cfg(feature = "wgpu")]
#[test]
fn autocast_matches_pytorch_autocast_on_wgpu() {
    autocast_matches_pytorch_autocast::<burn::backend::Wgpu>();
}

#[cfg(feature = "cuda")]
#[test]
fn autocast_matches_pytorch_autocast_on_cuda() {
    autocast_matches_pytorch_autocast::<burn::backend::Cuda>();
}
