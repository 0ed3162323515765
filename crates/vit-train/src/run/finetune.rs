//! Fine-tuning: the starting weights (a timm folder, a saved model, or a bare checkpoint with a
//! config) with a fresh head for the data set's classes, and optionally a frozen backbone.

use std::collections::HashSet;
use std::path::PathBuf;
use vit_core::VitBackend;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use vit_core::weights::state_dict::torch_param_ids;
use vit_variants::zoo::ZooModel;

/// `"init"` in the training config.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InitSpec {
    /// A timm folder (`config.json` + weights), a folder `vit train`/`vit convert` wrote, or a
    /// bare `.safetensors`/`.pth`/`.bin`/`.bpk` file (then `model` gives the architecture).
    pub from: PathBuf,
    /// Train only the classifier head(s): a linear probe on the pretrained features.
    #[serde(default)]
    pub freeze_backbone: bool,
}

/// The classifier parameters: `head` (ViT, Swin's `head.fc`) and DeiT's `head_dist`.
pub fn is_head(key: &str) -> bool {
    key.split('.')
        .any(|part| part == "head" || part == "head_dist")
}

struct Freeze {
    frozen: HashSet<ParamId>,
}

impl<B: VitBackend> ModuleMapper<B> for Freeze {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        if self.frozen.contains(&param.id) {
            param.set_require_grad(false)
        } else {
            param
        }
    }
}

/// Stops gradients to every parameter but the classifier head(s); returns the model and how
/// many parameters stay trainable.
pub fn freeze_backbone<B: VitBackend>(model: ZooModel<B>) -> (ZooModel<B>, usize) {
    let params = torch_param_ids(&model);
    let trainable = params
        .iter()
        .filter(|(p, _)| is_head(&p.key))
        .map(|(p, _)| p.shape.iter().product::<usize>())
        .sum();
    let frozen = params
        .into_iter()
        .filter(|(p, _)| !is_head(&p.key))
        .map(|(_, id)| id)
        .collect();
    (model.map(&mut Freeze { frozen }), trainable)
}
