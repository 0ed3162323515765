//! Turning an image into the tensor a model expects: timm's evaluation transform (Pillow-exact
//! resize, crop modes, normalisation), the `pretrained_cfg` that configures it, and the
//! ImageNet-1k class names.

pub mod bilinear;
pub mod decode;
pub mod eval_transform;
pub mod imagenet;
pub mod jpeg;
pub mod pretrained_cfg;

pub use decode::decode_image;
pub use eval_transform::{
    CropMode, DEFAULT_CROP_PCT, EvalTransform, Filter, IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD,
    center_crop_rgb8, resize_planes_u8, resize_rgb8, resize_rgb8_window,
};
pub use pretrained_cfg::PretrainedCfg;
