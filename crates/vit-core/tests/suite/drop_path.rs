use burn::tensor::Tensor;
use vit_core::layers::drop_path::{DropPath, drop_path_schedule};
use vit_testing::{AB, B, device, values};

#[test]
fn drop_path_is_the_identity_at_inference() {
    let x = vit_testing::pseudo_random([8, 5, 4], 1);
    let out = DropPath::new(0.5).forward(x.clone());
    assert_eq!(values(&out), values(&x));
}

#[test]
fn drop_path_drops_whole_samples_while_training() {
    <AB as burn::tensor::backend::Backend>::seed(&device(), 42);
    let batch = 64;
    let x = Tensor::<AB, 3>::ones([batch, 6, 5], &device());
    let out = values(&DropPath::new(0.25).forward(x));
    let per_sample = 6 * 5;
    let mut dropped = 0;
    for sample in out.chunks(per_sample) {
        let first = sample[0];
        assert!(
            sample.iter().all(|&v| v == first),
            "a sample was partly dropped"
        );
        if first == 0.0 {
            dropped += 1;
        } else {
            // Survivors are scaled by 1 / keep so the expectation is unchanged.
            assert!(
                (first - 1.0 / 0.75).abs() < 1e-6,
                "survivor scaled by {first}"
            );
        }
    }
    assert!(
        (4..=32).contains(&dropped),
        "{dropped} of {batch} samples dropped at p = 0.25"
    );
}

#[test]
fn zero_rate_never_drops_even_while_training() {
    let x = Tensor::<AB, 2>::ones([16, 3], &device());
    assert!(
        values(&DropPath::new(0.0).forward(x))
            .iter()
            .all(|&v| v == 1.0)
    );
    let _ = Tensor::<B, 1>::zeros([1], &device());
}

#[test]
fn rates_rise_linearly_over_depth() {
    let rates = drop_path_schedule(0.1, 5);
    let expected = [0.0, 0.025, 0.05, 0.075, 0.1];
    for (got, want) in rates.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12);
    }
    assert_eq!(drop_path_schedule(0.3, 1), vec![0.0]);
}
