//! `vit filters`: the principal components of a model's linear patch-embedding filters, drawn
//! as the ViT paper's Figure 7 (left), with the explained-variance curve and the numbers.

use clap::Args;
use std::path::PathBuf;
use vit_core::VitBackend;

use vit_core::atomic_file::write_atomic;
use vit_core::model::VisionModel;
use vit_core::npy;
use vit_viz::charts::{Panel, Series, encode_png, line_panels_png};
use vit_viz::filters::{FilterPca, components_grid_rgb, filter_pca};

use crate::backend::BackendJob;
use crate::model_source::ModelSource;

type Error = Box<dyn std::error::Error>;

/// `vit filters --model M [-o DIR] [-k 28]`.
#[derive(Args, Debug)]
pub struct FiltersView {
    /// The model (ViT, DeiT or Swin: any with a linear patch embedding).
    #[command(flatten)]
    pub source: ModelSource,
    /// Principal components to draw and save.
    #[arg(short, long, default_value_t = 28)]
    pub k: usize,
    /// Output folder: filters_pca.png, filters_variance.png, filters_pca.npy
    /// ([k, channels, patch, patch]) and filters_variance.csv.
    #[arg(long, short, default_value = ".")]
    pub output: PathBuf,
}

impl BackendJob for FiltersView {
    type Output = Result<String, Error>;

    fn run<B: VitBackend>(self, device: B::Device) -> Self::Output {
        if self.k == 0 {
            return Err("-k: at least one component".into());
        }
        let model = self.source.load::<B>(&device)?;
        let filters = model.model.patch_filters()?;
        let pca = filter_pca(&filters, self.k)?;
        std::fs::create_dir_all(&self.output)
            .map_err(|e| format!("{}: {e}", self.output.display()))?;
        let mut written = Vec::new();
        let mut write = |name: &str, bytes: &[u8]| -> Result<(), Error> {
            let path = self.output.join(name);
            write_atomic(&path, bytes)
                .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
            written.push(path.display().to_string());
            Ok(())
        };
        // Seven across, as the paper's 28 in four rows; cells of at least 64 pixels.
        let scale = (64 / pca.patch[0].max(pca.patch[1]).max(1)).max(4);
        let (rgb, width, height) = components_grid_rgb(&pca, 7, scale);
        write("filters_pca.png", &encode_png(&rgb, width, height)?)?;
        write("filters_variance.png", &variance_png(&pca)?)?;
        let [ph, pw] = pca.patch;
        write(
            "filters_pca.npy",
            &npy::encode(&npy::Array {
                shape: vec![pca.components.len(), pca.channels, ph, pw],
                data: pca.components.iter().flatten().map(|&v| v as f32).collect(),
            }),
        )?;
        write("filters_variance.csv", variance_csv(&pca).as_bytes())?;
        Ok(format!(
            "{} filters of {}x{}x{}: the first {} components explain {:.1} % of their variance\nwrote {}",
            filters.filters,
            pca.channels,
            ph,
            pw,
            pca.components.len(),
            100.0
                * pca
                    .explained_ratio()
                    .iter()
                    .take(pca.components.len())
                    .sum::<f64>(),
            written.join("\nwrote ")
        ))
    }
}

/// `component,variance,ratio,cumulative` per principal direction.
fn variance_csv(pca: &FilterPca) -> String {
    let mut cumulative = 0.0;
    let mut text = String::from("component,variance,ratio,cumulative\n");
    for (i, (v, r)) in pca.variance.iter().zip(pca.explained_ratio()).enumerate() {
        cumulative += r;
        text += &format!("{},{v:.9e},{r:.9},{cumulative:.9}\n", i + 1);
    }
    text
}

/// The explained variance per component and cumulated.
fn variance_png(pca: &FilterPca) -> Result<Vec<u8>, String> {
    let ratio = pca.explained_ratio();
    let mut cumulative = 0.0;
    let points = |f: &mut dyn FnMut(usize, f64) -> f64| -> Vec<(f64, f64)> {
        ratio
            .iter()
            .enumerate()
            .map(|(i, &r)| ((i + 1) as f64, f(i, r)))
            .collect()
    };
    let each = points(&mut |_, r| 100.0 * r);
    let cumulated = points(&mut |_, r| {
        cumulative += r;
        100.0 * cumulative
    });
    let panel = |title: &str, name: &str, points: Vec<(f64, f64)>| Panel {
        title: title.into(),
        x_label: "principal component".into(),
        y_label: "% of the variance".into(),
        series: vec![Series {
            name: name.into(),
            points,
        }],
    };
    line_panels_png(
        "Patch-embedding filters: explained variance",
        &[
            panel("per component", "explained", each),
            panel("cumulative", "cumulative", cumulated),
        ],
        1000,
        420,
    )
}
