//! The Vision Transformer: its config ([`config`]), the model ([`model`]), timm's named presets
//! ([`presets`]), its cost ([`flops`]) and how timm checkpoints load into it ([`import`]).

pub mod config;
pub mod flops;
pub mod import;
mod intermediates;
pub mod model;
pub mod presets;

pub use config::VisionTransformerConfig;
pub use model::{VisionTransformer, VitBlockOutputs};
pub use presets::VIT_PRESETS;
