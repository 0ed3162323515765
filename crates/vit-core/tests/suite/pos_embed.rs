use burn::module::Module;
use vit_core::VisionTransformerConfig;
use vit_core::layers::pooling::GlobalPool;
use vit_core::layers::pos_embed::{PosEmbedKind, sincos_2d, sincos_2d_values};
use vit_core::weights::param_count::count_params;
use vit_testing::{B, device, values};

#[test]
fn sincos_values_follow_the_formula() {
    let (rows, cols, dim) = (3, 5, 16);
    let table = sincos_2d_values([rows, cols], dim, 10_000.0);
    assert_eq!(table.len(), rows * cols * dim);
    let q = dim / 4;
    for r in 0..rows {
        for c in 0..cols {
            let token = &table[(r * cols + c) * dim..][..dim];
            for k in 0..q {
                let omega = 1.0 / 10_000f64.powf(k as f64 / q as f64);
                let expected = [
                    (r as f64 * omega).sin(),
                    (r as f64 * omega).cos(),
                    (c as f64 * omega).sin(),
                    (c as f64 * omega).cos(),
                ];
                for (block, want) in expected.iter().enumerate() {
                    let got = token[block * q + k] as f64;
                    assert!(
                        (got - want).abs() < 1e-6,
                        "r{r} c{c} k{k} block{block}: {got} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn sincos_tensor_has_zero_prefix_rows() {
    let t = sincos_2d::<B>([2, 2], 8, 1, &device());
    assert_eq!(t.dims(), [1, 5, 8]);
    let v = values(&t);
    assert!(v[..8].iter().all(|&x| x == 0.0));
    // Token (0, 0): sin 0 = 0, cos 0 = 1 for rows and columns.
    assert_eq!(&v[8..16], &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
}

#[test]
fn sincos_embedding_is_a_constant_not_a_parameter() {
    let config = VisionTransformerConfig::new()
        .with_img_size([32, 32])
        .with_patch_size(8)
        .with_embed_dim(32)
        .with_depth(1)
        .with_num_heads(2)
        .with_num_classes(10);
    let learned = config.init::<B>(&device());
    let fixed = config
        .clone()
        .with_pos_embed(PosEmbedKind::Sincos)
        .init::<B>(&device());
    let none = config
        .clone()
        .with_pos_embed(PosEmbedKind::None)
        .init::<B>(&device());
    let table = (16 + 1) * 32;
    assert_eq!(count_params(&learned) - count_params(&fixed), table);
    assert_eq!(count_params(&fixed), count_params(&none));
    assert_eq!(count_params(&fixed), fixed.num_params());
    assert!(fixed.pos_embed.is_none() && fixed.pos_embed_fixed.is_some());
    assert!(none.pos_embed.is_none() && none.pos_embed_fixed.is_none());
    // The constant changes the output: position matters.
    let x = vit_testing::pseudo_random([1, 3, 32, 32], 3);
    let a = fixed.forward(x.clone());
    let mut shifted = fixed.clone();
    shifted.pos_embed_fixed = None;
    assert!(vit_testing::max_abs_diff(&a, &shifted.forward(x)) > 1e-4);
}

#[test]
fn sincos_without_class_token_covers_only_patches() {
    let model = VisionTransformerConfig::new()
        .with_img_size([16, 16])
        .with_patch_size(8)
        .with_embed_dim(16)
        .with_depth(1)
        .with_num_heads(2)
        .with_class_token(false)
        .with_global_pool(GlobalPool::Avg)
        .with_pos_embed(PosEmbedKind::Sincos)
        .init::<B>(&device());
    assert_eq!(model.pos_embed_fixed.unwrap().dims(), [1, 4, 16]);
}
