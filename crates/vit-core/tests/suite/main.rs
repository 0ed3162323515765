//! vit-core's tests, one binary (each Burn-linked test binary costs a long link on small
//! machines). The backend is vit-testing's: ndarray, or flex/wgpu by its features.

mod atomic_file;
mod attention;
mod block;
mod drop_path;
mod hub_download;
mod mlp;
mod patch_embed;
mod pooling;
mod pos_embed;
mod resample;
mod rope;
mod timm_parity;
mod vit;
mod weights_loading;
