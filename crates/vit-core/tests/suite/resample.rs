//! Position-embedding resampling against timm's `resample_abs_pos_embed` (fixtures from
//! `scripts/make_timm_fixtures.py`): bicubic with antialias, prefix tokens kept apart.

use burn::tensor::Tensor;
use vit_core::layers::resample::{bicubic_aa_weights, resample_abs_pos_embed};
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{B, device, max_abs_diff, timm_fixture, values};

fn fixture(key: &str) -> Tensor<B, 3> {
    let mut file = Checkpoint::read(timm_fixture("resample.safetensors")).unwrap();
    Tensor::from_data(file.take(key).unwrap(), &device())
}

#[test]
fn upsampling_with_class_token_matches_timm() {
    let pos = fixture("pos_prefix1_4x4");
    for (to, key) in [
        ([6, 6], "pos_prefix1_4x4_to_6x6"),
        ([3, 5], "pos_prefix1_4x4_to_3x5"),
    ] {
        let ours = resample_abs_pos_embed(pos.clone(), [4, 4], to, 1);
        let diff = max_abs_diff(&ours, &fixture(key));
        assert!(diff <= 1e-5, "{key}: differs from timm by {diff}");
    }
}

#[test]
fn antialiased_downsampling_and_non_square_grids_match_timm() {
    let pos = fixture("pos_prefix0_7x7");
    for (to, key) in [
        ([3, 3], "pos_prefix0_7x7_to_3x3"),
        ([10, 4], "pos_prefix0_7x7_to_10x4"),
    ] {
        let ours = resample_abs_pos_embed(pos.clone(), [7, 7], to, 0);
        let diff = max_abs_diff(&ours, &fixture(key));
        assert!(diff <= 1e-5, "{key}: differs from timm by {diff}");
    }
}

#[test]
fn class_token_is_kept_apart() {
    let pos = fixture("pos_prefix1_4x4");
    let ours = resample_abs_pos_embed(pos.clone(), [4, 4], [6, 6], 1);
    assert_eq!(ours.dims(), [1, 37, 8]);
    assert_eq!(
        values(&ours.slice([0..1, 0..1, 0..8])),
        values(&pos.slice([0..1, 0..1, 0..8]))
    );
}

#[test]
fn weights_rows_sum_to_one_and_same_size_is_identity() {
    for (input, output) in [(4, 6), (7, 3), (14, 24), (24, 14)] {
        let w = bicubic_aa_weights(input, output);
        for row in w.chunks(input) {
            let sum: f32 = row.iter().sum();
            assert!(
                (sum - 1.0).abs() < 1e-6,
                "{input}->{output}: row sums to {sum}"
            );
        }
    }
    let identity = bicubic_aa_weights(5, 5);
    for i in 0..5 {
        for j in 0..5 {
            let expect = if i == j { 1.0 } else { 0.0 };
            assert!((identity[i * 5 + j] - expect).abs() < 1e-7);
        }
    }
}
