use burn::tensor::{Tensor, TensorData};
use vit_core::VisionTransformerConfig;
use vit_core::layers::pooling::{AttentionPoolConfig, GlobalPool, pool_tokens};
use vit_testing::{B, device, values};

fn tokens() -> Tensor<B, 3> {
    // batch 1, 4 tokens (1 prefix), dim 2
    let data = vec![100.0f32, -100.0, 1.0, 6.0, 3.0, 2.0, 5.0, 4.0];
    Tensor::from_data(TensorData::new(data, [1, 4, 2]), &device())
}

#[test]
fn token_pooling_takes_the_class_token() {
    assert_eq!(
        values(&pool_tokens(tokens(), GlobalPool::Token, 1)),
        vec![100.0, -100.0]
    );
}

#[test]
fn average_pooling_skips_prefix_tokens() {
    assert_eq!(
        values(&pool_tokens(tokens(), GlobalPool::Avg, 1)),
        vec![3.0, 4.0]
    );
    assert_eq!(
        values(&pool_tokens(tokens(), GlobalPool::Avg, 0)),
        vec![27.25, -22.0]
    );
}

#[test]
fn max_pooling_skips_prefix_tokens() {
    assert_eq!(
        values(&pool_tokens(tokens(), GlobalPool::Max, 1)),
        vec![5.0, 6.0]
    );
}

#[test]
fn attention_pool_returns_one_vector_per_image() {
    let pool = AttentionPoolConfig::new(16)
        .with_num_heads(4)
        .init::<B>(&device());
    let x = vit_testing::pseudo_random([3, 9, 16], 1);
    assert_eq!(pool.forward(x.clone()).dims(), [3, 16]);
    // The pooled vector depends on the tokens, not only on the latent query.
    let other = vit_testing::pseudo_random([3, 9, 16], 2);
    assert!(vit_testing::max_abs_diff(&pool.forward(x), &pool.forward(other)) > 1e-4);
}

fn small(pool: GlobalPool, class_token: bool) -> VisionTransformerConfig {
    VisionTransformerConfig::new()
        .with_img_size([16, 16])
        .with_patch_size(4)
        .with_embed_dim(16)
        .with_depth(2)
        .with_num_heads(2)
        .with_num_classes(5)
        .with_global_pool(pool)
        .with_class_token(class_token)
}

#[test]
fn each_pooling_mode_gives_logits_with_timms_norm_placement() {
    let x = vit_testing::pseudo_random([2, 3, 16, 16], 11);
    for (pool, class_token, fc_norm) in [
        (GlobalPool::Token, true, false),
        (GlobalPool::Avg, false, true),
        (GlobalPool::Avg, true, true),
        (GlobalPool::Max, false, true),
        (GlobalPool::Map, false, false),
    ] {
        let model = small(pool, class_token).init::<B>(&device());
        assert_eq!(model.forward(x.clone()).dims(), [2, 5], "{pool:?}");
        assert_eq!(model.fc_norm.is_some(), fc_norm, "{pool:?}");
        assert_eq!(model.norm.is_some(), !fc_norm, "{pool:?}");
        assert_eq!(model.attn_pool.is_some(), pool == GlobalPool::Map);
    }
}

#[test]
fn gap_pre_logits_is_fc_norm_of_the_patch_mean() {
    let model = small(GlobalPool::Avg, true).init::<B>(&device());
    let x = vit_testing::pseudo_random([2, 3, 16, 16], 12);
    let features = model.forward_features(x.clone());
    let mean = features.narrow(1, 1, 16).mean_dim(1).squeeze_dim::<2>(1);
    let expected = model.fc_norm.as_ref().unwrap().forward(mean);
    assert!(vit_testing::max_abs_diff(&model.forward_pre_logits(x), &expected) < 1e-5);
}

#[test]
fn token_pooling_without_class_token_is_a_config_error() {
    let err = small(GlobalPool::Token, false)
        .try_init::<B>(&device())
        .unwrap_err();
    assert!(err.to_string().contains("global_pool"), "{err}");
}
