//! See what a trained ViT sees, with the library calls behind `vit attention`, `vit pos-embed`
//! and `vit attention-distance`: takes the model the main job trains
//! (`cargo run --release -p vit-cli -- train` → `target/runs/digits/model`), writes a few test
//! digits as PNGs (inputs for `vit predict` and friends), and draws for the first one the
//! attention rollout, the position-embedding similarity grid and the attention distances.
//!
//! `cargo run --release -p example-attention-maps -- [MODEL] [OUT]`

use std::path::{Path, PathBuf};

use burn::tensor::{Tensor, TensorData};
use vit_core::atomic_file::write_atomic;
use vit_core::inspect::ImageAttention;
use vit_core::model::{ModelConfig, VisionModel};
use vit_train::data::digits::{DigitsDataset, Split};
use vit_variants::zoo::PretrainedModel;
use vit_viz::attention_maps::{
    attention_rollout, class_token_map, cosine_similarity_matrix, mean_attention_distance,
};
use vit_viz::figures;

use example_backend::B;

fn main() {
    let mut args = std::env::args().skip(1);
    let model_dir = args
        .next()
        .map_or_else(|| PathBuf::from("target/runs/digits/model"), PathBuf::from);
    let out = args
        .next()
        .map_or_else(|| PathBuf::from("target/runs/digits/views"), PathBuf::from);
    if let Err(e) = run(&model_dir, &out) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(model_dir: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let device = Default::default();
    let model = PretrainedModel::<B>::load(model_dir, None, None, &device)?;
    std::fs::create_dir_all(out)?;

    // A few test digits as 8×8 PNGs: inputs for `vit predict/attention/attention-distance`.
    let digits = DigitsDataset::new(Split::Test).into_items();
    for (i, digit) in digits.iter().take(8).enumerate() {
        let path = out.join(format!("digit_{i}_label_{}.png", digit.label));
        image::GrayImage::from_raw(8, 8, digit.pixels.clone())
            .ok_or("an 8x8 digit")?
            .save(&path)?;
    }

    // The first digit at the model's input size, as training fed it (bilinear, [0,1], normalised).
    let [_, h, w] = model.config.input_size();
    let digit = &digits[0];
    let unit =
        vit_core::preprocess::bilinear::resize_bilinear(&digit.to_unit_f32(), 1, [8, 8], [h, w]);
    let (mean, std) = (
        model.pretrained_cfg.mean[0] as f32,
        model.pretrained_cfg.std[0] as f32,
    );
    let input: Vec<f32> = unit.iter().map(|v| (v - mean) / std).collect();
    let images = Tensor::<B, 4>::from_data(TensorData::new(input, [1, 1, h, w]), &device);
    let rgb: Vec<u8> = unit
        .iter()
        .flat_map(|v| [(v * 255.0).round() as u8; 3])
        .collect();

    // Every block's attention [1, heads, tokens, tokens], then the rollout's class-token row.
    let weights = model.model.attention_weights(images)?;
    let ImageAttention {
        layers,
        heads,
        tokens,
    } = weights.image(0)?;
    let rollout = attention_rollout(&layers, heads, tokens)?;
    let map = class_token_map(&rollout[..tokens], weights.num_prefix, weights.grid)?;
    let title = format!("digit {}: attention rollout", digit.label);
    write_atomic(
        &out.join("rollout.png"),
        &figures::heatmap_overlay_png(&title, &rgb, [h, w], &map, weights.grid)?,
    )?;

    // How similar each patch's position embedding is to the others'.
    let pos = model.model.patch_positions()?;
    let similarity = cosine_similarity_matrix(&pos.vectors, pos.grid[0] * pos.grid[1], pos.dim)?;
    write_atomic(
        &out.join("pos_embed.png"),
        &figures::similarity_grid_png("Position embedding similarity", &similarity, pos.grid)?,
    )?;

    // How far each head looks, per layer (one image here; `vit attention-distance` averages).
    let distances = layers
        .iter()
        .map(|l| {
            mean_attention_distance(
                l,
                heads,
                tokens,
                weights.num_prefix,
                weights.grid,
                weights.patch_size,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let diagonal = ((h * h + w * w) as f32).sqrt();
    write_atomic(
        &out.join("attention_distance.png"),
        &figures::attention_distance_png("Mean attention distance", &distances, diagonal)?,
    )?;
    println!(
        "wrote 8 digit PNGs, rollout.png, pos_embed.png and attention_distance.png to {}",
        out.display()
    );
    Ok(())
}
