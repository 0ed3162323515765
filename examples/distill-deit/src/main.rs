//! DeiT distillation: a distilled DeiT student (class + distillation token) learns the embedded
//! digits from the labels and from a teacher — any zoo model folder, e.g. the ViT the main job
//! trains (`cargo run --release -p vit-cli -- train` writes `target/runs/digits/model`).
//!
//! `cargo run --release -p example-distill-deit -- [TEACHER] [soft|hard]`

use std::path::PathBuf;

use burn::backend::Autodiff;
use vit_train::config::DistillationConfig;
use vit_train::learner::loss::DistillationKind;
use vit_train::{Start, TrainConfig, train};
use vit_variants::zoo::ZooConfig;

use example_backend::B;

fn main() {
    let mut args = std::env::args().skip(1);
    let teacher = args
        .next()
        .map_or_else(|| PathBuf::from("target/runs/digits/model"), PathBuf::from);
    let kind = match args.next().as_deref() {
        None | Some("hard") => DistillationKind::Hard,
        Some("soft") => DistillationKind::Soft,
        Some(other) => {
            eprintln!("unknown distillation kind `{other}`: soft or hard");
            std::process::exit(2);
        }
    };

    // The student: the default digits ViT with DeiT's distillation token and second head.
    let mut config = TrainConfig::digits_default();
    if let Some(ZooConfig::Vit(vit)) = &mut config.model {
        vit.distilled = true;
    }
    config.distillation = Some(DistillationConfig {
        teacher,
        teacher_model: None,
        kind,
        alpha: 0.5,
        tau: 1.0,
    });
    let out = PathBuf::from(format!("target/runs/distill-{kind:?}").to_lowercase());
    match train::<Autodiff<B>>(&config, &out, Default::default(), Start::Fresh) {
        Ok(summary) => println!(
            "student test accuracy {:.2} %; model in {}",
            summary.test_accuracy * 100.0,
            summary.model_dir.display()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
