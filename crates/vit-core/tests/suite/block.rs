use burn::module::Param;
use burn::tensor::Tensor;
use vit_core::layers::block::BlockConfig;
use vit_testing::{B, device, max_abs_diff, pseudo_random};

#[test]
fn block_is_residual_around_both_branches() {
    let mut block = BlockConfig::new(16, 4).init::<B>(&device());
    let x = pseudo_random([2, 5, 16], 3);
    assert!(max_abs_diff(&block.forward(x.clone()), &x) > 1e-3);
    // With both output projections zeroed, each branch adds nothing: the block is the identity.
    let zero = |linear: &mut burn::nn::Linear<B>| {
        linear.weight = Param::from_tensor(linear.weight.val().zeros_like());
        linear.bias = linear
            .bias
            .take()
            .map(|b| Param::from_tensor(b.val().zeros_like()));
    };
    let vit_core::layers::BlockAttention::Attention(attn) = &mut block.attn else {
        unreachable!("a plain block")
    };
    zero(&mut attn.proj);
    zero(&mut block.mlp.fc2);
    assert!(max_abs_diff(&block.forward(x.clone()), &x) < 1e-7);
}

#[test]
fn layer_scale_multiplies_each_branch() {
    let block = BlockConfig::new(8, 2)
        .with_init_values(Some(0.0))
        .init::<B>(&device());
    assert_eq!(block.ls1.as_ref().unwrap().gamma.dims(), [8]);
    let x = pseudo_random([1, 4, 8], 4);
    // gamma = 0 silences both branches.
    assert!(max_abs_diff(&block.forward(x.clone()), &x) < 1e-7);
    let with_ls = BlockConfig::new(8, 2)
        .with_init_values(Some(1e-5))
        .init::<B>(&device());
    let out = with_ls.forward(x.clone());
    let diff = max_abs_diff(&out, &x);
    assert!(diff > 0.0 && diff < 1e-3, "{diff}");
}

#[test]
fn block_hands_back_attention_weights_with_the_same_output() {
    let block = BlockConfig::new(12, 3).init::<B>(&device());
    let x = pseudo_random([2, 6, 12], 9);
    let (out, weights) = block.forward_with_attention(x.clone());
    assert_eq!(weights.dims(), [2, 3, 6, 6]);
    assert!(max_abs_diff(&out, &block.forward(x)) < 1e-5);
    let _: Tensor<B, 4> = weights;
}

#[test]
fn layer_norm_epsilon_is_timms() {
    let block = BlockConfig::new(8, 2).init::<B>(&device());
    let text = format!("{block:?}");
    assert!(text.contains("epsilon: 1e-6"), "{text}");
}
