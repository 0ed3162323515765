//! What the models whose class token joins only after the patch blocks share (CaiT, XCiT): the
//! blocks' maps on the patch grid as a backbone, their feature info, and the pooled head.

use burn::nn::{Dropout, Linear};
use burn::tensor::Tensor;
use vit_core::VitBackend;
use vit_core::error::Result;
use vit_core::features::{
    FeatureFormat, FeatureIndices, FeatureInfo, FeatureMap, Intermediates, IntermediatesOptions,
};
use vit_core::layers::linear::linear;
use vit_core::layers::norm::{Norm, maybe_norm};
use vit_core::layers::pooling::{GlobalPool, pool_tokens};

/// The patch blocks' outputs `options.indices` names, as maps on `grid` (timm's
/// `forward_intermediates`: no prefix tokens, the class token joins later), and the final
/// features: `run(i, x)` runs block `i`, `finish` adds the class token after the last.
pub(crate) fn patch_block_intermediates<B: VitBackend>(
    mut x: Tensor<B, 3>,
    grid: [usize; 2],
    blocks: usize,
    options: &IntermediatesOptions,
    norm: &Option<Norm<B>>,
    mut run: impl FnMut(usize, Tensor<B, 3>) -> Tensor<B, 3>,
    finish: impl FnOnce(Tensor<B, 3>) -> Tensor<B, 3>,
) -> Result<Intermediates<B>> {
    let (take, max) = options.indices.resolve(blocks)?;
    let last = if options.stop_early { max } else { blocks - 1 };
    let mut maps = Vec::with_capacity(take.len());
    for i in 0..=last {
        x = run(i, x);
        if take.contains(&i) {
            let y = if options.norm {
                maybe_norm(norm, x.clone())
            } else {
                x.clone()
            };
            let [b, _, d] = y.dims();
            maps.push(FeatureMap::from_nhwc(
                y.reshape([b, grid[0], grid[1], d]),
                options.output_fmt,
            ));
        }
    }
    Ok(Intermediates {
        maps,
        prefix_tokens: Vec::new(),
        features: FeatureMap::Tokens(maybe_norm(norm, finish(x))),
    })
}

/// One entry per patch block: `dim` channels at the patch stride.
pub(crate) fn block_feature_info(blocks: usize, dim: usize, reduction: usize) -> Vec<FeatureInfo> {
    (0..blocks)
        .map(|i| FeatureInfo {
            num_chs: dim,
            reduction,
            module: format!("blocks.{i}"),
        })
        .collect()
}

/// timm's `features_only` for these models: the last 3 blocks, NCHW.
pub(crate) fn default_feature_maps(blocks: usize) -> (FeatureIndices, FeatureFormat) {
    (
        FeatureIndices::Last(3.min(blocks.max(1))),
        FeatureFormat::Nchw,
    )
}

/// Pools `features` (the class token when there is one and the pool is `token`, else the
/// patches' mean), then dropout and the classifier unless `pre_logits`.
pub(crate) fn pooled_head<B: VitBackend>(
    features: Tensor<B, 3>,
    pool: GlobalPool,
    class_token: bool,
    drop: &Dropout,
    head: &Option<Linear<B>>,
    pre_logits: bool,
) -> Tensor<B, 2> {
    let pooled = drop.forward(pool_tokens(features, pool, usize::from(class_token)));
    match (head, pre_logits) {
        (Some(head), false) => linear(head, pooled),
        _ => pooled,
    }
}
