//! `vit predict`: the top classes of images, with their probabilities.

use clap::Args;
use std::path::PathBuf;
use vit_core::VitBackend;

use burn::tensor::activation::softmax;
use serde_json::json;
use vit_core::model::{ModelConfig, VisionModel};
use vit_core::preprocess::imagenet::IMAGENET_CLASSES;

use crate::backend::BackendJob;
use crate::image_input::{batch, load_image};
use crate::model_source::ModelSource;
use crate::precision_arg::PrecisionArg;

/// The `predict` command's arguments.
#[derive(Args, Debug)]
pub struct Predict {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// Image files (PNG, JPEG) or folders of them (searched recursively, in sorted order).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Classes to show per image.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Print JSON Lines instead of text: one object per image.
    #[arg(long)]
    pub json: bool,
    /// Autocast precision.
    #[command(flatten)]
    pub precision: PrecisionArg,
}

/// Class names: the model's own, else ImageNet-1k's for 1000 classes, else the indices.
pub fn class_names(label_names: Option<&[String]>, classes: usize) -> Vec<String> {
    match label_names {
        Some(names) if names.len() == classes => names.to_vec(),
        _ if classes == IMAGENET_CLASSES.len() => {
            IMAGENET_CLASSES.iter().map(|s| s.to_string()).collect()
        }
        _ => (0..classes).map(|i| i.to_string()).collect(),
    }
}

impl BackendJob for Predict {
    type Output = Result<String, Box<dyn std::error::Error>>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        let _autocast = self.precision.enter::<B>(&device)?;
        let model = self.source.load::<B>(&device)?;
        let classes = model.config.num_classes();
        if classes == 0 {
            return Err(
                "the model has no classifier head (num_classes = 0): nothing to predict".into(),
            );
        }
        let names = class_names(model.label_names.as_deref(), classes);
        let [channels, _, _] = model.config.input_size();
        // Every image that loads is classified; the ones that do not are reported at the end
        // (and make the command fail) instead of losing every result.
        let mut paths = Vec::new();
        let mut inputs = Vec::new();
        let mut failed = Vec::new();
        for path in expand_images(&self.images)? {
            match load_image(&path, &model) {
                Ok(input) => {
                    paths.push(path);
                    inputs.push(input);
                }
                Err(e) => failed.push(e.to_string()),
            }
        }
        let mut results = Vec::new();
        for (paths, chunk) in paths.chunks(16).zip(inputs.chunks(16)) {
            let refs: Vec<_> = chunk.iter().collect();
            let probs = softmax(model.model.forward(batch::<B>(&refs, channels, &device)), 1);
            let probs: Vec<f32> = probs
                .into_data()
                .convert::<f32>()
                .into_vec()
                .map_err(|e| format!("{e:?}"))?;
            for (path, row) in paths.iter().zip(probs.chunks(classes)) {
                let mut order: Vec<usize> = (0..classes).collect();
                order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
                order.truncate(self.top.max(1));
                results.push((
                    path.clone(),
                    order.into_iter().map(|c| (c, row[c])).collect::<Vec<_>>(),
                ));
            }
        }
        let text = self.render(&results, &names)?;
        if failed.is_empty() {
            return Ok(text);
        }
        if !text.is_empty() {
            println!("{text}");
        }
        Err(format!(
            "{} of {} images could not be classified:\n  {}",
            failed.len(),
            failed.len() + results.len(),
            failed.join("\n  ")
        )
        .into())
    }
}

impl Predict {
    /// The results as text (or JSON Lines with `--json`: one object per image).
    fn render(
        &self,
        results: &[(PathBuf, Vec<(usize, f32)>)],
        names: &[String],
    ) -> Result<String, Box<dyn std::error::Error>> {
        if self.json {
            let lines: Vec<String> = results
                .iter()
                .map(|(path, top)| {
                    json!({
                        "image": path.display().to_string(),
                        "top": top.iter().map(|&(c, p)| json!({"class": c, "label": names[c], "probability": p})).collect::<Vec<_>>(),
                    })
                    .to_string()
                })
                .collect();
            return Ok(lines.join("\n"));
        }
        let mut text = String::new();
        for (path, top) in results {
            text += &format!("{}\n", printable(path));
            for &(c, p) in top {
                let name = &names[c];
                let index = if *name == c.to_string() {
                    String::new()
                } else {
                    format!(" ({c})")
                };
                text += &format!("  {:>7.3} %  {name}{index}\n", p * 100.0);
            }
        }
        Ok(text.trim_end().to_string())
    }
}

/// How deep a folder given to `predict` is searched.
const MAX_FOLDER_DEPTH: usize = 32;

/// The image files named by `args`: files as given, folders searched recursively (sorted, hidden
/// entries skipped) for PNG and JPEG files. Each real folder is read once, however many links
/// lead to it (a link loop ends there), and no deeper than [`MAX_FOLDER_DEPTH`].
pub fn expand_images(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut visited = std::collections::HashSet::new();
    for arg in args {
        if arg.is_dir() {
            let before = out.len();
            collect_images(arg, 0, &mut visited, &mut out)?;
            if out.len() == before {
                return Err(format!(
                    "{}: no PNG or JPEG files in this folder",
                    arg.display()
                ));
            }
        } else {
            out.push(arg.clone());
        }
    }
    Ok(out)
}

fn collect_images(
    dir: &std::path::Path,
    depth: usize,
    visited: &mut std::collections::HashSet<(u64, u64)>,
    out: &mut Vec<PathBuf>,
) -> Result<(), String> {
    let meta =
        std::fs::metadata(dir).map_err(|e| format!("{}: cannot read: {e}", dir.display()))?;
    if !visited.insert(folder_identity(&meta)) {
        return Ok(());
    }
    if depth > MAX_FOLDER_DEPTH {
        return Err(format!(
            "{}: folders nested more than {MAX_FOLDER_DEPTH} deep",
            dir.display()
        ));
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot read: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_images(&path, depth + 1, visited, out)?;
        } else if path.extension().is_some_and(|e| {
            matches!(
                e.to_ascii_lowercase().to_str(),
                Some("png" | "jpg" | "jpeg")
            )
        }) {
            // An image reached through several links is listed once.
            let seen = std::fs::metadata(&path).is_ok_and(|m| !visited.insert(folder_identity(&m)));
            if !seen {
                out.push(path);
            }
        }
    }
    Ok(())
}

/// What identifies a file or folder whatever path reaches it: device and inode (Unix).
#[cfg(unix)]
fn folder_identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// Elsewhere no identity is known: depth alone bounds the walk.
#[cfg(not(unix))]
fn folder_identity(_meta: &std::fs::Metadata) -> (u64, u64) {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    (0, NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// A path as text safe for a terminal: control characters (a newline or an escape sequence in
/// a file name) are shown escaped, not sent raw.
pub fn printable(path: &std::path::Path) -> String {
    path.display()
        .to_string()
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}
