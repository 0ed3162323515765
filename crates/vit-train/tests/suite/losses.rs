//! The losses against PyTorch's numbers and the optimiser's parameter groups and clipping.
//!
//! Reference values from the DeiT reference code's `DistillationLoss` and timm's
//! `SoftTargetCrossEntropy`, run in PyTorch 2.15 on the tensors below:
//! ```python
//! s_cls = [[1, 2, .5], [0, -1, 3]]; s_kd = [[.3, -.2, 1.5], [2, .1, -.7]]
//! t = [[2, 0, 1], [-1, .5, .2]]; labels = [1, 2]; T = 2; alpha = .3
//! base = F.cross_entropy(s_cls, labels)                                   # 0.2651263475
//! soft = F.kl_div(F.log_softmax(s_kd / T, 1), F.log_softmax(t / T, 1),
//!                 reduction='sum', log_target=True) * T * T / s_kd.numel()  # 0.3149659634
//! hard = F.cross_entropy(s_kd, t.argmax(1))                               # 1.8454308510
//! base * (1 - alpha) + soft * alpha                                       # 0.2800782323
//! base * (1 - alpha) + hard * alpha                                       # 0.7392176986
//! torch.sum(-tg * F.log_softmax(s_cls, -1), -1).mean()                    # 1.2151262760
//! ```

use burn::module::{Module, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor};
use vit_core::VisionTransformerConfig;
use vit_testing::{AB, B};
use vit_train::learner::loss::{DistillationKind, DistillationLoss, soft_target_cross_entropy};
use vit_train::optim::adamw::{GroupedAdamW, GroupedAdamWConfig, clip_grad_norm, global_grad_norm};

fn tensor(rows: [[f32; 3]; 2]) -> Tensor<B, 2> {
    Tensor::from_data(rows, &Default::default())
}

fn scalar(t: Tensor<B, 1>) -> f32 {
    t.into_scalar()
}

#[test]
fn deit_soft_and_hard_distillation_match_the_reference_code() {
    let s_cls = tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]);
    let s_kd = tensor([[0.3, -0.2, 1.5], [2.0, 0.1, -0.7]]);
    let teacher = tensor([[2.0, 0.0, 1.0], [-1.0, 0.5, 0.2]]);
    let labels = Tensor::<B, 1, Int>::from_data([1, 2], &Default::default());
    let base = CrossEntropyLossConfig::new()
        .init(&Default::default())
        .forward(s_cls.clone(), labels);
    assert!((scalar(base.clone()) - 0.265_126_35).abs() < 1e-6);
    let loss = |kind| DistillationLoss {
        kind,
        alpha: 0.3,
        tau: 2.0,
    };
    let soft = loss(DistillationKind::Soft).forward(base.clone(), s_kd.clone(), teacher.clone());
    assert!((scalar(soft) - 0.280_078_23).abs() < 1e-6);
    let hard = loss(DistillationKind::Hard).forward(base.clone(), s_kd.clone(), teacher.clone());
    assert!((scalar(hard) - 0.739_217_7).abs() < 1e-6);
    let none = loss(DistillationKind::None).forward(base.clone(), s_kd, teacher);
    assert_eq!(scalar(none), scalar(base));
}

#[test]
fn soft_target_cross_entropy_matches_timm() {
    let logits = tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]);
    let targets = tensor([[0.1, 0.7, 0.2], [0.5, 0.0, 0.5]]);
    let loss = scalar(soft_target_cross_entropy(logits, targets));
    assert!((loss - 1.215_126_3).abs() < 1e-6, "{loss}");
}

/// A one-block ViT on 8×8 grey images with 3 classes.
fn tiny_vit_config() -> VisionTransformerConfig {
    VisionTransformerConfig::new()
        .with_img_size([8, 8])
        .with_patch_size(4)
        .with_in_chans(1)
        .with_num_classes(3)
        .with_embed_dim(8)
        .with_depth(1)
        .with_num_heads(2)
}

fn tiny_vit() -> vit_core::VisionTransformer<AB> {
    tiny_vit_config().init(&Default::default())
}

/// Gradients equal to `value` for every parameter.
fn constant_grads(model: &vit_core::VisionTransformer<AB>, value: f32) -> GradientsParams {
    struct Fill<'a>(&'a mut GradientsParams, f32);
    impl burn::module::ModuleVisitor<AB> for Fill<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<AB, D>>) {
            let grad = param.val().inner().ones_like().mul_scalar(self.1);
            self.0.register::<B, D>(param.id, grad);
        }
    }
    let mut grads = GradientsParams::new();
    model.visit(&mut Fill(&mut grads, value));
    grads
}

fn params(model: &vit_core::VisionTransformer<AB>) -> std::collections::BTreeMap<String, Vec<f32>> {
    struct Collect<'a>(&'a mut Vec<Vec<f32>>);
    impl burn::module::ModuleVisitor<AB> for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<AB, D>>) {
            self.0.push(param.val().into_data().to_vec().unwrap());
        }
    }
    let mut values = Vec::new();
    model.visit(&mut Collect(&mut values));
    vit_core::weights::state_dict::torch_params(model)
        .into_iter()
        .map(|p| p.key)
        .zip(values)
        .collect()
}

#[test]
fn weight_decay_skips_biases_norms_tokens_and_position_embeddings() {
    let model = tiny_vit();
    let before = params(&model);
    let mut optim = GroupedAdamW::new(GroupedAdamWConfig {
        weight_decay: 0.5,
        max_grad_norm: None,
        grad_scale: 1.0,
    });
    // Zero gradients: Adam moves nothing, so any change is weight decay (× (1 − lr·wd)).
    let after = params(&optim.step(0.1, model.clone(), constant_grads(&model, 0.0)));
    for (key, old) in &before {
        let new = &after[key];
        let decayed = key.ends_with("weight") && old.len() > 8 && !key.contains("norm");
        for (o, n) in old.iter().zip(new) {
            let expected = if decayed { o * 0.95 } else { *o };
            assert!(
                (n - expected).abs() < 1e-6,
                "{key}: {o} -> {n}, decayed {decayed}"
            );
        }
    }
    for key in [
        "cls_token",
        "pos_embed",
        "norm.weight",
        "blocks.0.attn.qkv.bias",
    ] {
        assert_eq!(before[key], after[key], "{key} is not decayed");
    }
    assert_ne!(
        before["blocks.0.attn.qkv.weight"],
        after["blocks.0.attn.qkv.weight"]
    );
}

#[test]
fn clipping_scales_all_gradients_to_the_global_norm_as_pytorch() {
    let model = tiny_vit();
    let count: usize = vit_core::weights::state_dict::torch_params(&model)
        .iter()
        .map(|p| p.shape.iter().product::<usize>())
        .sum();
    let grads = constant_grads(&model, 2.0);
    let norm = global_grad_norm(&model, &grads);
    assert!(
        (norm - 2.0 * (count as f32).sqrt()).abs() / norm < 1e-5,
        "{norm}"
    );
    assert_eq!(
        vit_train::optim::adamw::clip_coefficient(norm, 2.0 * norm),
        1.0
    );
    let c = vit_train::optim::adamw::clip_coefficient(norm, 1.0);
    assert!((c - 1.0 / (norm + 1e-6)).abs() < 1e-9);
    let (clipped, before) = clip_grad_norm(&model, grads, 1.0, 1.0);
    assert_eq!(before, norm);
    let after = global_grad_norm(&model, &clipped);
    assert!(
        (after - 1.0).abs() < 1e-4,
        "clipped to the max norm: {after}"
    );
    // Every gradient scaled by the same factor: still constant, now 2·c.
    let (unchanged, _) = clip_grad_norm(&model, clipped, 10.0, 1.0);
    let again = global_grad_norm(&model, &unchanged);
    assert!((again - after).abs() < 1e-6, "below the max: untouched");
    // Two devices' summed gradients are halved first, then clipped as one mean gradient.
    let (halved, pre) = clip_grad_norm(&model, constant_grads(&model, 2.0), 1e9, 0.5);
    assert!((pre - norm / 2.0).abs() / norm < 1e-5);
    assert!((global_grad_norm(&model, &halved) - norm / 2.0).abs() / norm < 1e-5);
}

#[test]
fn a_distilled_student_is_trained_on_the_class_head_and_the_teacher_term() {
    use vit_core::model::VisionModel;
    use vit_train::data::batcher::ImageBatch;
    use vit_train::learner::classifier::{Classifier, LossSettings};
    use vit_variants::zoo::ZooConfig;
    let device = Default::default();
    let vit = tiny_vit_config();
    let student = ZooConfig::Vit(vit.clone().with_distilled(true))
        .try_init::<AB>(&device)
        .unwrap();
    let teacher = ZooConfig::Vit(vit).try_init::<AB>(&device).unwrap();
    let images =
        Tensor::<AB, 4>::random([4, 1, 8, 8], burn::tensor::Distribution::Default, &device);
    let labels = Tensor::<AB, 1, Int>::from_data([0, 1, 2, 1], &device);
    let distillation = DistillationLoss {
        kind: DistillationKind::Soft,
        alpha: 0.4,
        tau: 3.0,
    };
    let (cls, dist) = student.forward_train(images.clone());
    let dist = dist.expect("a distilled student has a distillation head");
    let base = CrossEntropyLossConfig::new()
        .init(&device)
        .forward(cls, labels.clone());
    let expected = distillation.forward(base, dist, teacher.forward(images.clone()));
    let classifier = Classifier {
        model: student,
        teacher: Some(teacher),
        loss: LossSettings {
            label_smoothing: 0.0,
            distillation: Some(distillation),
        },
        mixed: Default::default(),
        nodes: None,
    };
    let batch = ImageBatch {
        images,
        labels,
        targets: None,
        seed: 0,
    };
    let (loss, _) = classifier.training_loss(&batch);
    let (got, want): (f32, f32) = (loss.into_scalar(), expected.into_scalar());
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
}
