//! Counting parameters without materialising them.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Bool, Int, Tensor};
use vit_ops::VitBackend;

struct ParamCounter(usize);

impl<B: VitBackend> ModuleVisitor<B> for ParamCounter {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0 += param.lazy_shape().num_elements();
    }
    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, Int>>) {
        self.0 += param.lazy_shape().num_elements();
    }
    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, Bool>>) {
        self.0 += param.lazy_shape().num_elements();
    }
}

/// Number of parameters of `module`, read from shapes only: unlike `Module::num_params` it
/// does not initialise lazily-built weights, so counting ViT-H costs nothing.
pub fn count_params<B: VitBackend, M: Module<B>>(module: &M) -> usize {
    let mut counter = ParamCounter(0);
    module.visit(&mut counter);
    counter.0
}
