//! [`NodeGroup`] in a build without the `multinode` feature: joining is an error saying so, and
//! no group can exist, so the other methods are never reached.

use std::convert::Infallible;

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use vit_core::VitAutodiffBackend;

use crate::cluster::NodeSpec;
use crate::error::{Result, TrainError};

/// A multi-node run's membership; this build cannot have one (see the `multinode` feature).
#[derive(Debug, Clone)]
pub struct NodeGroup(Infallible);

#[allow(missing_docs)]
impl NodeGroup {
    /// Always an error naming the missing feature.
    pub fn join(_: &NodeSpec, _: u64) -> Result<Self> {
        Err(TrainError::Config(
            "this build has no multi-node training: build vit-train with its `multinode` \
             feature (the `vit` binary has it by default)"
                .into(),
        ))
    }
    pub fn rank(&self) -> usize {
        match self.0 {}
    }
    pub fn nodes(&self) -> usize {
        match self.0 {}
    }
    pub fn set_advice(&self, _: String) {
        match self.0 {}
    }
    pub fn with_max_message(self, _: usize) -> Self {
        match self.0 {}
    }
    pub fn sum(&self, _: Vec<f32>, _: &str) -> Vec<f32> {
        match self.0 {}
    }
    pub fn gather_rows(&self, _: &[f32], _: &str) -> Vec<Vec<f32>> {
        match self.0 {}
    }
    pub fn agree_start(&self, _: usize) -> usize {
        match self.0 {}
    }
    pub fn broadcast_params<B: VitAutodiffBackend, M: AutodiffModule<B>>(&self, _: M) -> M {
        match self.0 {}
    }
    pub fn verify_same_weights<IB: Backend>(
        &self,
        _: Tensor<IB, 1>,
        _: &str,
    ) -> std::result::Result<(), String> {
        match self.0 {}
    }
    pub fn verify_once<B: VitAutodiffBackend, M: AutodiffModule<B>>(&self, _: &M) {
        match self.0 {}
    }
    pub fn mean_grads<B: VitAutodiffBackend, M: AutodiffModule<B>>(
        &self,
        _: &M,
        _: &mut GradientsParams,
    ) {
        match self.0 {}
    }
    pub fn any(&self, _: bool, _: &str) -> bool {
        match self.0 {}
    }
    pub fn finish(&self) {
        match self.0 {}
    }
}
