use vit_core::VitError;
use vit_core::layers::patch_embed::{PatchEmbedConfig, PatchEmbedKind, PatchProjection};
use vit_testing::{B, device, max_abs_diff, pseudo_random};

#[test]
fn conv_and_linear_forms_give_the_same_output_from_the_same_weights() {
    let conv = PatchEmbedConfig::new()
        .with_img_size([32, 48])
        .with_patch_size(8)
        .with_in_chans(3)
        .with_embed_dim(24)
        .init::<B>(&device());
    assert!(matches!(conv.proj, Some(PatchProjection::Conv(_))));
    let images = pseudo_random([2, 3, 32, 48], 7);
    let from_conv = conv.forward(images.clone());
    assert_eq!(from_conv.dims(), [2, 4 * 6, 24]);

    let linear = conv.to_linear();
    assert!(matches!(linear.proj, Some(PatchProjection::Linear(_))));
    let from_linear = linear.forward(images);
    let diff = max_abs_diff(&from_conv, &from_linear);
    assert!(
        diff < 1e-5,
        "conv and linear patch embeddings differ by {diff}"
    );
}

#[test]
fn flattened_patches_are_channel_major_rows_in_raster_order() {
    let embed = PatchEmbedConfig::new()
        .with_img_size([4, 4])
        .with_patch_size(2)
        .with_in_chans(2)
        .with_embed_dim(4)
        .with_kind(PatchEmbedKind::Linear)
        .init::<B>(&device());
    // pixel value = 100·c + 10·y + x
    let data: Vec<f32> = (0..2)
        .flat_map(|c| (0..4).flat_map(move |y| (0..4).map(move |x| (100 * c + 10 * y + x) as f32)))
        .collect();
    let images = burn::tensor::Tensor::<B, 4>::from_data(
        burn::tensor::TensorData::new(data, [1, 2, 4, 4]),
        &device(),
    );
    let patches = vit_testing::values(&embed.flatten_patches(images));
    // Second patch (row 0, col 1) covers x = 2..4, y = 0..2.
    let second = &patches[8..16];
    assert_eq!(second, &[2.0, 3.0, 12.0, 13.0, 102.0, 103.0, 112.0, 113.0]);
}

#[test]
fn image_side_not_divisible_by_patch_names_both_sizes() {
    let err = PatchEmbedConfig::new()
        .with_img_size([224, 230])
        .with_patch_size(16)
        .try_init::<B>(&device())
        .unwrap_err();
    assert!(matches!(
        err,
        VitError::NotDivisible {
            side: "width",
            size: 230,
            patch_size: 16,
            ..
        }
    ));
    let message = err.to_string();
    assert!(
        message.contains("230") && message.contains("16"),
        "{message}"
    );
}

#[test]
fn input_of_the_wrong_size_is_rejected_before_running() {
    let embed = PatchEmbedConfig::new()
        .with_img_size([32, 32])
        .with_patch_size(8)
        .with_embed_dim(8)
        .init::<B>(&device());
    let err = embed.check_input([1, 3, 33, 32]).unwrap_err();
    assert!(err.to_string().contains("height 33"), "{err}");
    let err = embed.check_input([1, 1, 32, 32]).unwrap_err();
    assert!(matches!(err, VitError::InputShape { .. }), "{err}");
}
