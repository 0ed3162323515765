use burn::tensor::{Tensor, TensorData};
use vit_core::layers::attention::AttentionConfig;
use vit_testing::{B, device, max_abs_diff, pseudo_random, values};

#[test]
fn attention_weights_have_the_promised_shape_and_rows_sum_to_one() {
    let attn = AttentionConfig::new(32)
        .with_num_heads(4)
        .init::<B>(&device());
    let x = pseudo_random([2, 7, 32], 1);
    let (out, weights) = attn.forward_with_weights(x);
    assert_eq!(out.dims(), [2, 7, 32]);
    assert_eq!(weights.dims(), [2, 4, 7, 7]);
    let sums = values(&weights.clone().sum_dim(3));
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
    assert!(values(&weights).iter().all(|&w| w >= 0.0));
}

#[test]
fn fused_path_and_weights_path_give_the_same_output() {
    let attn = AttentionConfig::new(48)
        .with_num_heads(6)
        .init::<B>(&device());
    let x = pseudo_random([3, 10, 48], 2);
    let fused = attn.forward(x.clone());
    let (explicit, _) = attn.forward_with_weights(x);
    let diff = max_abs_diff(&fused, &explicit);
    assert!(diff < 1e-5, "paths differ by {diff}");
}

#[test]
fn attention_matches_a_hand_written_reference() {
    // One head, dim 2: check q·kᵀ/√d, softmax and the head split against direct maths.
    let attn = AttentionConfig::new(4)
        .with_num_heads(2)
        .init::<B>(&device());
    let x = pseudo_random([1, 3, 4], 5);
    let (out, weights) = attn.forward_with_weights(x.clone());

    let qkv = values(&attn.qkv.forward(x));
    let (n, d, h, hd) = (3, 4, 2, 2);
    let at =
        |t: usize, which: usize, head: usize, i: usize| qkv[t * 3 * d + which * d + head * hd + i];
    let mut context = vec![0.0f32; n * d];
    for head in 0..h {
        for i in 0..n {
            let scores: Vec<f32> = (0..n)
                .map(|j| {
                    (0..hd)
                        .map(|e| at(i, 0, head, e) * at(j, 1, head, e))
                        .sum::<f32>()
                        / (hd as f32).sqrt()
                })
                .collect();
            let max = scores.iter().cloned().fold(f32::MIN, f32::max);
            let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f32 = exp.iter().sum();
            for (j, e_j) in exp.iter().enumerate() {
                let w = e_j / total;
                let got =
                    values(
                        &weights
                            .clone()
                            .slice([0..1, head..head + 1, i..i + 1, j..j + 1]),
                    )[0];
                assert!((got - w).abs() < 1e-5);
                for e in 0..hd {
                    context[i * d + head * hd + e] += w * at(j, 2, head, e);
                }
            }
        }
    }
    let context = Tensor::<B, 3>::from_data(TensorData::new(context, [1, n, d]), &device());
    let expected = attn.proj.forward(context);
    assert!(max_abs_diff(&out, &expected) < 1e-5);
}

#[test]
fn qkv_bias_is_optional() {
    let attn = AttentionConfig::new(8)
        .with_num_heads(2)
        .with_qkv_bias(false)
        .init::<B>(&device());
    assert!(attn.qkv.bias.is_none());
    assert!(attn.proj.bias.is_some());
}
