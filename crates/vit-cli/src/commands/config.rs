//! `vit config` (a preset's config as JSON, to edit and pass back) and `vit check` (what a
//! config file builds).

use std::path::PathBuf;

use clap::Args;
use vit_core::atomic_file::write_atomic;
use vit_core::model::ModelConfig;
use vit_variants::zoo::ZooConfig;

type Error = Box<dyn std::error::Error>;

/// `vit config` arguments.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Preset name, e.g. vit_small_patch16_224 (see `vit models`).
    pub preset: String,
    /// Write the config to this file instead of printing it.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

impl ConfigArgs {
    /// Prints the preset's config, or writes it (atomically) to `--output`.
    pub fn run(self) -> Result<(), Error> {
        // ViT configs are written plain (as configs/vit_*.json); Swin with its family.
        let text = match ZooConfig::preset(&self.preset)? {
            ZooConfig::Vit(config) => serde_json::to_string_pretty(&config)?,
            other => serde_json::to_string_pretty(&other)?,
        };
        match self.output {
            Some(path) => {
                write_atomic(&path, format!("{text}\n").as_bytes())
                    .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            None => println!("{text}"),
        }
        Ok(())
    }
}

/// `vit check` arguments.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// A config file (JSON), e.g. configs/vit_tiny_patch16_224.json, or a saved model.json.
    pub config: PathBuf,
}

impl CheckArgs {
    /// Reads and validates the config, then prints what it builds.
    pub fn run(self) -> Result<(), Error> {
        let config = ZooConfig::load_file(&self.config)?;
        config.validate()?;
        let [c, h, w] = config.input_size();
        println!(
            "ok: {} at {c}x{h}x{w}, {} classes, {:.2} GMACs",
            config.family(),
            config.num_classes(),
            config.macs() as f64 / 1e9
        );
        // A ViT size that does not split into patches builds, as in timm; say what it drops.
        if let vit_variants::zoo::ZooConfig::Vit(vit) = &config
            && vit.backbone.is_none()
        {
            let p = vit.patch_size;
            for (side, size) in [("height", h), ("width", w)] {
                if !size.is_multiple_of(p) {
                    println!(
                        "note: image {side} {size} is not a multiple of the patch size {p}: the \
                         last {} pixels are dropped (as timm's strided convolution does); {} or \
                         {} would use every pixel",
                        size % p,
                        size - size % p,
                        size - size % p + p
                    );
                }
            }
        }
        Ok(())
    }
}
