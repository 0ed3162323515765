//! The switch that forces Burn's composed ops (its own test binary: the switch is global).

use burn::tensor::{Distribution, Tensor};
use burn_ndarray::NdArray;
use vit_ops::composed;

#[test]
fn switching_off_runs_exactly_the_composed_ops() {
    type B = NdArray<f32>;
    let x = Tensor::<B, 2>::random(
        [64, 197],
        Distribution::Normal(0.0, 3.0),
        &Default::default(),
    );
    let bits = |t: Tensor<B, 2>| {
        t.into_data()
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    let reference = bits(Tensor::from_primitive(
        burn::tensor::TensorPrimitive::Float(composed::gelu::<B>(
            x.clone().into_primitive().tensor(),
        )),
    ));

    assert!(
        vit_ops::fast_path_enabled(),
        "the kernels are on by default"
    );
    // The kernels' erf is not libm's: on 12 608 values some last bits differ.
    assert_ne!(
        bits(vit_ops::gelu(x.clone())),
        reference,
        "gelu ran Burn's op with the switch on"
    );

    vit_ops::set_fast_path(false);
    assert_eq!(bits(vit_ops::gelu(x.clone())), reference);
    vit_ops::set_fast_path(true);
    assert_ne!(bits(vit_ops::gelu(x)), reference);
}
