//! bf16 and f16 autocast against timm: our low-precision forward of ViT, attention-pooled ViT,
//! distilled DeiT and Swin fixtures, next to what PyTorch's autocast gives on the same weights
//! and input (`scripts/make_autocast_fixtures.py`), on ndarray and flex (both round f32 tensors to
//! the type: neither has fast half-precision arithmetic).
//!
//! The tolerance is derived, not picked: rounding the products' operands to bf16 (8-bit
//! mantissa) or f16 (11-bit) moves the logits by an amount that depends on the model and input;
//! PyTorch's autocast measures it on each fixture (`d_torch = max |timm_autocast − timm_f32|`:
//! bf16 0.7–1.4e-2, f16 0.8–1.8e-3). Our rounding points differ slightly from PyTorch's (GELU and
//! the residual adds see f32 values), so ours may land on either side of it: we require
//! `max |ours_autocast − timm_f32| ≤ 2 · d_torch`, and that autocast moved our logits at all
//! (more than f32 noise), so a silently skipped cast fails.

use burn::tensor::{DType, Tensor};
use vit_core::VitBackend;
use vit_core::model::VisionModel;
use vit_core::precision::{Precision, autocast};
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{B, MixedB, max_abs_diff_data as max_diff, timm_fixture};
use vit_variants::zoo::PretrainedModel;

fn check(case: &str) {
    check_on::<B>(case);
    check_on::<MixedB>(case);
}

fn check_on<Bk: VitBackend>(case: &str) {
    let device = Default::default();
    let model = PretrainedModel::<Bk>::load(&timm_fixture(case), None, None, &device)
        .unwrap()
        .model;
    let mut io = Checkpoint::read(timm_fixture(case).join("io.safetensors")).unwrap();
    let torch = Checkpoint::read(timm_fixture(case).join("autocast.safetensors")).unwrap();
    let input = Tensor::<Bk, 4>::from_data(io.take("input").unwrap(), &device);
    let timm_f32 = &torch.tensors["logits_f32"];
    let ours_f32 = model.forward(input.clone()).into_data();
    assert!(max_diff(ours_f32.clone(), timm_f32) <= 1e-4, "{case}: f32");
    for precision in [Precision::Bf16, Precision::F16] {
        let logits = {
            let _scope = autocast(precision);
            model.forward(input.clone())
        };
        assert_eq!(
            logits.dtype(),
            DType::F32,
            "{case}: logits come back in f32"
        );
        let logits = logits.into_data();
        let d_torch = max_diff(
            torch.tensors[&format!("logits_{precision}")].clone(),
            timm_f32,
        );
        let d_ours = max_diff(logits.clone(), timm_f32);
        let moved = max_diff(logits, &ours_f32);
        let backend = Bk::name(&device);
        eprintln!(
            "{case} {precision} ({backend}): ours {d_ours:.2e}, PyTorch autocast {d_torch:.2e}"
        );
        assert!(
            d_ours <= 2.0 * d_torch,
            "{case} {precision} ({backend}): |ours − timm f32| = {d_ours:.2e} > 2 × PyTorch \
             autocast's {d_torch:.2e}"
        );
        assert!(
            moved > 1e-4,
            "{case} {precision}: the logits moved by {moved:.1e} only: no product ran in {precision}"
        );
    }
    // Autocast leaves the parameters alone.
    let mut dtypes = Vec::new();
    struct Dtypes<'a>(&'a mut Vec<DType>);
    impl<Bk: VitBackend> burn::module::ModuleVisitor<Bk> for Dtypes<'_> {
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<Bk, D>>) {
            self.0.push(p.val().dtype());
        }
    }
    burn::module::Module::visit(&model, &mut Dtypes(&mut dtypes));
    assert!(
        dtypes.iter().all(|d| *d == DType::F32),
        "{case}: {dtypes:?}"
    );
}

#[test]
fn vit_under_bf16_and_f16_autocast_stays_within_twice_pytorchs_autocast_error() {
    check("vit_cls");
}

#[test]
fn attention_pooled_vit_under_autocast_stays_within_twice_pytorchs_error() {
    check("vit_map");
}

#[test]
fn distilled_deit_under_autocast_stays_within_twice_pytorchs_error() {
    check("deit_distilled");
}

#[test]
fn swin_under_autocast_stays_within_twice_pytorchs_error() {
    check("swin_2stage");
}

#[test]
fn flex_rounds_f32_operands_and_gives_the_native_bf16_products() {
    use burn::tensor::FloatDType;
    use vit_core::layers::linear::linear_parts;
    use vit_core::precision::AutocastMode;
    let device = Default::default();
    let tensor = |shape: [usize; 2], seed| {
        Tensor::<MixedB, 2>::from_data(vit_testing::pseudo_random(shape, seed).into_data(), &device)
    };
    let (x, w) = (tensor([16, 64], 1), tensor([64, 32], 2));
    let bias = tensor([1, 32], 3).squeeze_dim::<1>(0);
    // The type itself: bf16 operands, flex's product (through f32), rounded to bf16.
    let native = x
        .clone()
        .cast(FloatDType::BF16)
        .matmul(w.clone().cast(FloatDType::BF16))
        .cast(FloatDType::F32)
        + bias.clone().unsqueeze();
    let _scope = autocast(Precision::Bf16);
    assert_eq!(
        AutocastMode::current::<MixedB>(&device),
        AutocastMode::Emulated(FloatDType::BF16)
    );
    let emulated = linear_parts(x, w, Some(bias));
    assert_eq!(emulated.dtype(), DType::F32);
    let (native, emulated) = (vit_testing::values(&native), vit_testing::values(&emulated));
    // Equal, but for a product whose f32 sums differ in the last bit landing on the other
    // side of a bf16 rounding boundary: one bf16 step (2⁻⁷ relative at most) apart.
    let mut equal = 0;
    for (n, e) in native.iter().zip(&emulated) {
        assert!((n - e).abs() <= n.abs() / 128.0 + 1e-6, "{n} vs {e}");
        equal += usize::from(n == e);
    }
    assert!(
        equal * 100 >= native.len() * 95,
        "{equal} of {} equal",
        native.len()
    );
}
