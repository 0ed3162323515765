//! `vit attention`, `vit pos-embed` and `vit attention-distance`: what a ViT or DeiT looks at,
//! drawn as PNGs (and a CSV of the distances).

use clap::Args;
use std::path::{Path, PathBuf};
use vit_core::VitBackend;

use vit_core::atomic_file::write_atomic;
use vit_core::inspect::{AttentionWeights, ImageAttention};
use vit_core::model::{ModelConfig, VisionModel};
use vit_viz::attention_maps::{
    attention_rollout, class_token_map, cosine_similarity_matrix, mean_attention_distance,
};

use crate::backend::BackendJob;
use crate::image_input::{ModelInput, batch, load_image};
use crate::model_source::ModelSource;
use vit_viz::figures;

type Error = Box<dyn std::error::Error>;

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    write_atomic(path, bytes).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    Ok(())
}

/// The file stem of an image, for naming what is drawn from it.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned())
}

/// A name per image for what is drawn from it: its stem, numbered (`x_1`, `x_2`, …) where two
/// images share one (`a/x.png` and `b/x.png`), so no picture overwrites another.
fn unique_stems<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Vec<String> {
    let stems: Vec<String> = paths.into_iter().map(stem).collect();
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    stems
        .iter()
        .map(|s| {
            if stems.iter().filter(|t| *t == s).count() == 1 {
                return s.clone();
            }
            let n = seen.entry(s.as_str()).or_insert(0);
            *n += 1;
            format!("{s}_{n}")
        })
        .collect()
}

/// What the attention views read: a model, images, and the folder the pictures go to.
#[derive(Args, Debug)]
pub struct ImageViewArgs {
    /// The model (ViT or DeiT).
    #[command(flatten)]
    pub source: ModelSource,
    /// Images (PNG/JPEG), or folders of them (searched as `vit predict` searches them).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, short, default_value = ".")]
    pub output: PathBuf,
}

/// One image as the model saw it, with the model's attention on it.
struct ImageView<B: VitBackend> {
    path: PathBuf,
    input: ModelInput,
    weights: AttentionWeights<B>,
    attention: ImageAttention,
}

impl ImageViewArgs {
    /// Runs every image through the model keeping the attention.
    fn views<B: VitBackend>(&self, device: &B::Device) -> Result<Vec<ImageView<B>>, Error> {
        let model = self.source.load::<B>(device)?;
        let [channels, _, _] = model.config.input_size();
        crate::commands::predict::expand_images(&self.images)?
            .iter()
            .map(|path| {
                let input = load_image(path, &model)?;
                let images = batch::<B>(&[&input], channels, device);
                let weights = model.model.attention_weights(images)?;
                let attention = weights.image(0)?;
                Ok(ImageView {
                    path: path.clone(),
                    input,
                    weights,
                    attention,
                })
            })
            .collect()
    }
}

/// The rows a "what the output looks at" map is read from: the class token's, or for a model
/// without one (average pooling) the mean over the patch tokens' rows.
fn output_row(matrix: &[f32], tokens: usize, num_prefix: usize, class_token: bool) -> Vec<f32> {
    if class_token {
        return matrix[..tokens].to_vec();
    }
    let patches = tokens - num_prefix;
    let mut row = vec![0.0; tokens];
    for query in num_prefix..tokens {
        for (r, v) in row
            .iter_mut()
            .zip(&matrix[query * tokens..(query + 1) * tokens])
        {
            *r += v / patches as f32;
        }
    }
    row
}

/// `vit attention`: attention rollout and the last layer's class-token attention per head.
#[derive(Args, Debug)]
pub struct AttentionView {
    /// Model, images and output folder.
    #[command(flatten)]
    pub args: ImageViewArgs,
}

impl BackendJob for AttentionView {
    type Output = Result<String, Error>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        let mut written = Vec::new();
        let views = self.args.views::<B>(&device)?;
        let names = unique_stems(views.iter().map(|v| v.path.as_path()));
        for (
            ImageView {
                path: _,
                input,
                weights,
                attention,
            },
            name,
        ) in views.into_iter().zip(names)
        {
            let (layers, heads, tokens) = (attention.layers, attention.heads, attention.tokens);
            let (prefix, grid) = (weights.num_prefix, weights.grid);
            let rollout = attention_rollout(&layers, heads, tokens)?;
            let rollout_map = class_token_map(
                &output_row(&rollout, tokens, prefix, weights.class_token),
                prefix,
                grid,
            )?;
            let who = if weights.class_token {
                "class token"
            } else {
                "mean of the patches"
            };
            let rollout_png = self.args.output.join(format!("{name}_rollout.png"));
            let title = format!(
                "{name}: attention rollout over {} layers ({who})",
                layers.len()
            );
            write(
                &rollout_png,
                &figures::heatmap_overlay_png(&title, &input.rgb, input.size, &rollout_map, grid)?,
            )?;
            written.push(rollout_png);

            let last = layers
                .last()
                .ok_or("the model has no transformer blocks (depth 0)")?;
            let mut panels = vec![("rollout".to_string(), rollout_map)];
            for h in 0..heads {
                let head = &last[h * tokens * tokens..(h + 1) * tokens * tokens];
                let row = output_row(head, tokens, prefix, weights.class_token);
                panels.push((
                    format!("layer {} head {}", layers.len(), h + 1),
                    class_token_map(&row, prefix, grid)?,
                ));
            }
            let heads_png = self.args.output.join(format!("{name}_heads.png"));
            let title = format!("{name}: rollout and the last layer's {who} attention per head");
            write(
                &heads_png,
                &figures::overlay_panels_png(&title, &input.rgb, input.size, &panels, grid)?,
            )?;
            written.push(heads_png);
        }
        Ok(written
            .iter()
            .map(|p| format!("wrote {}", p.display()))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

/// `vit pos-embed`: cosine similarity of each patch's position embedding to all the others.
#[derive(Args, Debug)]
pub struct PosEmbedView {
    /// The model (ViT or DeiT with a position embedding).
    #[command(flatten)]
    pub source: ModelSource,
    /// Output PNG.
    #[arg(long, short, default_value = "pos_embed.png")]
    pub output: PathBuf,
}

impl BackendJob for PosEmbedView {
    type Output = Result<String, Error>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        let model = self.source.load::<B>(&device)?;
        let pos = model.model.patch_positions()?;
        let count = pos.grid[0] * pos.grid[1];
        let similarity = cosine_similarity_matrix(&pos.vectors, count, pos.dim)?;
        let kind = if pos.learned {
            "learned"
        } else {
            "fixed sin-cos"
        };
        let title = format!(
            "Position embedding similarity ({kind}, {}x{} patches)",
            pos.grid[0], pos.grid[1]
        );
        write(
            &self.output,
            &figures::similarity_grid_png(&title, &similarity, pos.grid)?,
        )?;
        Ok(format!("wrote {}", self.output.display()))
    }
}

/// `vit attention-distance`: mean attention distance per head and layer, averaged over the
/// images; writes `attention_distance.png` and `attention_distance.csv` in the output folder.
#[derive(Args, Debug)]
pub struct DistanceView {
    /// Model, images (averaged over) and output folder.
    #[command(flatten)]
    pub args: ImageViewArgs,
}

impl BackendJob for DistanceView {
    type Output = Result<String, Error>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        let mut sums: Vec<Vec<f32>> = Vec::new();
        let mut size = [0, 0];
        for view in self.args.views::<B>(&device)? {
            size = view.input.size;
            let (weights, attention) = (&view.weights, &view.attention);
            for (l, layer) in attention.layers.iter().enumerate() {
                let d = mean_attention_distance(
                    layer,
                    attention.heads,
                    attention.tokens,
                    weights.num_prefix,
                    weights.grid,
                    weights.patch_size,
                )?;
                match sums.get_mut(l) {
                    Some(sum) => sum.iter_mut().zip(d).for_each(|(s, v)| *s += v),
                    None => sums.push(d),
                }
            }
        }
        let n = self.args.images.len() as f32;
        let means: Vec<Vec<f32>> = sums
            .into_iter()
            .map(|l| l.into_iter().map(|s| s / n).collect())
            .collect();
        let mut csv = String::from("layer,head,mean_distance_px\n");
        for (l, heads) in means.iter().enumerate() {
            for (h, d) in heads.iter().enumerate() {
                csv += &format!("{},{},{d:.3}\n", l + 1, h + 1);
            }
        }
        let diagonal = ((size[0] * size[0] + size[1] * size[1]) as f32).sqrt();
        let png = self.args.output.join("attention_distance.png");
        let csv_path = self.args.output.join("attention_distance.csv");
        let title = format!(
            "Mean attention distance per head ({} images)",
            self.args.images.len()
        );
        write(
            &png,
            &figures::attention_distance_png(&title, &means, diagonal)?,
        )?;
        write(&csv_path, csv.as_bytes())?;
        Ok(format!(
            "wrote {}\nwrote {}",
            png.display(),
            csv_path.display()
        ))
    }
}
