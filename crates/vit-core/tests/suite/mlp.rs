use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use vit_core::layers::mlp::{MlpConfig, MlpKind};
use vit_testing::{B, device, values};

fn identity_weights(mlp: &mut vit_core::layers::mlp::Mlp<B>, n: usize) {
    let eye = Tensor::<B, 2>::eye(n, &device());
    let zero = Tensor::<B, 1>::zeros([n], &device());
    for linear in [&mut mlp.fc1, &mut mlp.fc1_g, &mut mlp.fc1_x]
        .into_iter()
        .flatten()
    {
        linear.weight = Param::from_tensor(eye.clone());
        linear.bias = Some(Param::from_tensor(zero.clone()));
    }
    mlp.fc2.weight = Param::from_tensor(eye);
    mlp.fc2.bias = Some(Param::from_tensor(zero));
}

#[test]
fn mlp_uses_exact_erf_gelu() {
    let mut mlp = MlpConfig::new(3, 3).init::<B>(&device());
    identity_weights(&mut mlp, 3);
    let x = Tensor::<B, 2>::from_data(TensorData::new(vec![1.0f32, -0.5, 2.0], [1, 3]), &device());
    let out = values(&mlp.forward(x));
    // x·Φ(x) with the exact normal CDF (the tanh approximation differs by ~1e-4 here).
    let expected = [0.841_344_8f32, -0.154_268_77, 1.954_499_7];
    for (got, want) in out.iter().zip(expected) {
        assert!((got - want).abs() < 2e-6, "{got} vs {want}");
    }
}

#[test]
fn swiglu_gates_the_value_with_silu() {
    // timm's blocks hand SwiGLU the model's act_layer: SiLU for the SwiGLU families.
    let mut mlp = MlpConfig::new(2, 2)
        .with_kind(MlpKind::Swiglu)
        .with_act(vit_core::layers::Activation::Silu)
        .init::<B>(&device());
    assert!(mlp.fc1.is_none() && mlp.fc1_g.is_some() && mlp.fc1_x.is_some());
    identity_weights(&mut mlp, 2);
    let x = Tensor::<B, 2>::from_data(TensorData::new(vec![1.5f32, -2.0], [1, 2]), &device());
    let out = values(&mlp.forward(x));
    let silu = |v: f32| v / (1.0 + (-v).exp());
    assert!((out[0] - silu(1.5) * 1.5).abs() < 1e-6);
    assert!((out[1] - silu(-2.0) * -2.0).abs() < 1e-6);
}

#[test]
fn hidden_width_follows_the_config() {
    let mlp = MlpConfig::new(8, 40).init::<B>(&device());
    assert_eq!(mlp.fc1.unwrap().weight.dims(), [8, 40]);
    assert_eq!(mlp.fc2.weight.dims(), [40, 8]);
}
