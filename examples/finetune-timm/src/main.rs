//! Fine-tune a timm checkpoint folder (`config.json` + `model.safetensors`, as the Hugging Face
//! hub ships them) on your own images: one subfolder per class. The head is replaced for your
//! classes; `--freeze` trains the head only (a linear probe).
//!
//! `cargo run --release -p example-finetune-timm -- TIMM_FOLDER IMAGE_FOLDER [--freeze]`

use std::path::PathBuf;

use burn::backend::Autodiff;
use vit_train::config::DataSpec;
use vit_train::data::image_folder::OnUnreadable;
use vit_train::run::finetune::InitSpec;
use vit_train::{Start, TrainConfig, train};

use example_backend::B;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let freeze = args.iter().any(|a| a == "--freeze");
    let paths: Vec<PathBuf> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    let [timm, images] = paths.as_slice() else {
        eprintln!("usage: example-finetune-timm TIMM_FOLDER IMAGE_FOLDER [--freeze]");
        std::process::exit(2);
    };

    let mut config = TrainConfig::digits_default();
    config.model = None; // the timm folder names the architecture
    config.init = Some(InitSpec {
        from: timm.clone(),
        freeze_backbone: freeze,
    });
    config.data = DataSpec::ImageFolder {
        train: images.clone(),
        test: None,
        test_fraction: 0.2,
        on_unreadable: OnUnreadable::Skip,
    };
    // Fine-tuning recipe: short, small learning rate, the checkpoint's normalisation (empty
    // mean/std = the folder's pretrained_cfg).
    config.epochs = 10;
    config.warmup_epochs = 1;
    config.lr = if freeze { 1e-2 } else { 5e-5 };
    config.batch_size = 16;
    config.mean = Vec::new();
    config.std = Vec::new();
    config.augment.hflip = true;
    config.augment.crop_padding = 0;
    config.augment.random_resized_crop = Some(vit_train::augment::RandomResizedCropConfig {
        scale: [0.5, 1.0],
        ..Default::default()
    });
    let out = PathBuf::from("target/runs/finetune");
    match train::<Autodiff<B>>(&config, &out, Default::default(), Start::Fresh) {
        Ok(summary) => {
            for line in &summary.init_report {
                println!("{line}");
            }
            println!(
                "test accuracy {:.2} % ({} trainable parameters); model in {}",
                summary.test_accuracy * 100.0,
                summary.trainable_params,
                summary.model_dir.display()
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
