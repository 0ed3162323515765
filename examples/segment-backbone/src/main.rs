//! A zoo model as the backbone of your own Burn model: a small FPN-style segmenter on the
//! feature pyramid of a Swin (`FeatureExtractor`, timm's `features_only=True`), trained for a
//! few steps on generated images of squares and discs, then run on new ones.
//!
//! `cargo run --release -p example-segment-backbone` — a small Swin from its config (random
//! init); `-- MODEL` starts from a pretrained zoo model instead (a timm folder, a saved model or
//! a hub id in the local hub cache, as `vit predict --model` takes; ViTs work too: their maps are
//! all at the patch stride). `--no-default-features --features wgpu|cuda` for the GPU.

mod data;
mod segmenter;

use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor};
use vit_core::features::{FeatureExtractor, FeatureOptions};
use vit_core::prelude::*;
use vit_variants::SwinTransformerConfig;
use vit_variants::zoo::{PretrainedModel, ZooConfig, ZooModel};

use example_backend::B;
use segmenter::{Segmenter, SegmenterConfig};

type A = Autodiff<B>;

const IMAGE: usize = 64;
const STEPS: usize = 60;
const BATCH: usize = 8;

fn backbone<Bk: VitBackend>(
    source: Option<&str>,
    device: &Bk::Device,
) -> Result<ZooModel<Bk>, Box<dyn std::error::Error>> {
    Ok(match source {
        Some(path) => {
            let mut model = PretrainedModel::<Bk>::load(path.as_ref(), None, None, device)?.model;
            // Any size of whole patches: the generated images are 64×64.
            model.enable_dynamic_img_size();
            model
        }
        None => ZooConfig::Swin(
            SwinTransformerConfig::new()
                .with_img_size([IMAGE, IMAGE])
                .with_patch_size(4)
                .with_embed_dim(32)
                .with_depths(vec![2, 2, 2])
                .with_num_heads(vec![2, 4, 8])
                .with_window_size(4)
                .with_drop_path_rate(0.0),
        )
        .try_init(device)?,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let device = burn::tensor::Device::<A>::default();
    let source = std::env::args().nth(1);
    let model = backbone::<A>(source.as_deref(), &device)?;
    // The pyramid: every stage of a Swin (strides 4, 8, 16 here), NCHW for the convolutions.
    let features = FeatureExtractor::new(
        model,
        FeatureOptions {
            output_fmt: Some(vit_core::features::FeatureFormat::Nchw),
            ..Default::default()
        },
    )?;
    for info in features.feature_info() {
        println!(
            "backbone map {}: {} channels, stride {}",
            info.module, info.num_chs, info.reduction
        );
    }
    let mut segmenter = SegmenterConfig::new(data::CLASSES).init(features, &device);
    let mut optim = AdamWConfig::new().with_weight_decay(0.01).init();

    let test = data::batch::<B>(16, 1_000, IMAGE, &Default::default());
    let before = evaluate(&segmenter, &test);
    for step in 1..=STEPS {
        let (images, masks) = data::batch::<A>(BATCH, step as u64, IMAGE, &device);
        let loss = segmenter.loss(images, masks)?;
        let grads = GradientsParams::from_grads(loss.backward(), &segmenter);
        segmenter = optim.step(2e-3, segmenter, grads);
        if step % 20 == 0 {
            println!("step {step}: loss {:.3}", loss.into_scalar());
        }
    }
    let after = evaluate(&segmenter, &test);
    println!(
        "held-out pixel accuracy {:.1} % → {:.1} %, mean IoU {:.2} → {:.2}",
        before.0 * 100.0,
        after.0 * 100.0,
        before.1,
        after.1
    );
    Ok(())
}

/// Pixel accuracy and mean IoU over the classes on `(images, masks)`, without gradients.
fn evaluate(
    segmenter: &Segmenter<A>,
    (images, masks): &(Tensor<B, 4>, Tensor<B, 3, Int>),
) -> (f32, f32) {
    let model = segmenter.valid();
    let predicted = model
        .forward(images.clone())
        .expect("images fit the backbone")
        .argmax(1)
        .squeeze_dim::<3>(1);
    data::scores(predicted, masks.clone(), data::CLASSES)
}
