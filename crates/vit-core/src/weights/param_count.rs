//! Counting parameters without materialising them.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Bool, Int, Tensor};
use vit_ops::VitBackend;

/// Counts elements, leaving out BatchNorm's running statistics: timm (PyTorch) keeps those as
/// buffers, not parameters, and its counts are what ours are compared with.
#[derive(Default)]
struct ParamCounter(usize, Vec<String>);

impl<B: VitBackend> ModuleVisitor<B> for ParamCounter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.1.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.1.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let buffer = self
            .1
            .last()
            .is_some_and(|n| n == "running_mean" || n == "running_var");
        if !buffer {
            self.0 += param.lazy_shape().num_elements();
        }
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
    let mut counter = ParamCounter::default();
    module.visit(&mut counter);
    counter.0
}
