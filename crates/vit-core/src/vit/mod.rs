//! The Vision Transformer: its config ([`config`]), the model ([`model`]), timm's architectures
//! ([`catalogue`], generated) and the zoo's presets of them ([`presets`]), its cost ([`flops`]) and how timm checkpoints load into it ([`import`]).

mod architectures;
pub mod catalogue;
pub mod config;
pub mod flops;
pub mod import;
mod intermediates;
pub mod model;
pub mod presets;

pub use catalogue::{VIT_ARCHITECTURES, VitArchitecture, vit_architecture};
pub use config::VisionTransformerConfig;
pub use model::{VisionTransformer, VitBlockOutputs};
pub use presets::vit_presets;
