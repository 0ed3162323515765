//! Weights in and out: timm checkpoints (`.safetensors`, PyTorch pickles) and folders, the
//! state-dict mapping onto our modules, our own saved folders (`model.json` + Burnpack), config
//! files, and [`pretrained::Pretrained`], which loads any of them for any model family.

pub mod cast;
pub mod checkpoint;
pub mod config_file;
pub mod hub_cache;
#[cfg(feature = "hub")]
pub mod hub_download;
pub mod model_folder;
pub mod param_count;
pub mod pretrained;
pub mod state_dict;
pub mod timm_export;
pub mod timm_folder;

pub use pretrained::{ModelFamily, Pretrained};
