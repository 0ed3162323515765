//! A module's gradients or parameters as one flat vector, in module-visit order (the same on
//! every node, unlike `ParamId`s, which are random per process): one all-reduce message for the
//! whole model instead of one per tensor.

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use vit_core::VitAutodiffBackend;

type Inner<B> = <B as burn::tensor::backend::AutodiffBackend>::InnerBackend;

/// Which parameters the vector holds, in order, and their sizes, to split it back.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    ids: Vec<ParamId>,
    sizes: Vec<usize>,
}

impl Layout {
    /// Elements in all.
    pub fn len(&self) -> usize {
        self.sizes.iter().sum()
    }

    /// Whether there is nothing to exchange.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct TakeGrads<'a, B: VitAutodiffBackend> {
    grads: &'a mut GradientsParams,
    parts: Vec<Tensor<Inner<B>, 1>>,
    layout: Layout,
}

impl<B: VitAutodiffBackend> ModuleVisitor<B> for TakeGrads<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<Inner<B>, D>(param.id) {
            let n = grad.shape().num_elements();
            self.layout.ids.push(param.id);
            self.layout.sizes.push(n);
            self.parts.push(grad.reshape([n]));
        }
    }
}

/// Takes every gradient of `module` out of `grads` into one vector (`None` when there are none).
pub fn take_grads<B: VitAutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &mut GradientsParams,
) -> Option<(Tensor<Inner<B>, 1>, Layout)> {
    let mut visitor = TakeGrads::<B> {
        grads,
        parts: Vec::new(),
        layout: Layout::default(),
    };
    module.visit(&mut visitor);
    let TakeGrads { parts, layout, .. } = visitor;
    (!parts.is_empty()).then(|| (Tensor::cat(parts, 0), layout))
}

struct PutGrads<'a, B: VitAutodiffBackend> {
    grads: &'a mut GradientsParams,
    flat: Tensor<Inner<B>, 1>,
    offset: usize,
    index: usize,
    layout: &'a Layout,
}

impl<B: VitAutodiffBackend> ModuleVisitor<B> for PutGrads<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if self.layout.ids.get(self.index) != Some(&param.id) {
            return; // no gradient (frozen)
        }
        let n = self.layout.sizes[self.index];
        let part = self
            .flat
            .clone()
            .narrow(0, self.offset, n)
            .reshape(param.lazy_shape());
        self.grads.register::<Inner<B>, D>(param.id, part);
        self.offset += n;
        self.index += 1;
    }
}

/// Puts the vector back as `module`'s gradients (those [`take_grads`] took).
pub fn put_grads<B: VitAutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &mut GradientsParams,
    flat: Tensor<Inner<B>, 1>,
    layout: &Layout,
) {
    let mut visitor = PutGrads::<B> {
        grads,
        flat,
        offset: 0,
        index: 0,
        layout,
    };
    module.visit(&mut visitor);
}

struct TakeParams<B: VitAutodiffBackend> {
    parts: Vec<Tensor<Inner<B>, 1>>,
    layout: Layout,
}

impl<B: VitAutodiffBackend> ModuleVisitor<B> for TakeParams<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val().inner();
        let n = value.shape().num_elements();
        self.layout.ids.push(param.id);
        self.layout.sizes.push(n);
        self.parts.push(value.reshape([n]));
    }
}

/// Every float parameter of `module` (values, no graph) as one vector.
pub fn params<B: VitAutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
) -> (Tensor<Inner<B>, 1>, Layout) {
    let mut visitor = TakeParams::<B> {
        parts: Vec::new(),
        layout: Layout::default(),
    };
    module.visit(&mut visitor);
    (Tensor::cat(visitor.parts, 0), visitor.layout)
}

struct SetParams<'a, B: VitAutodiffBackend> {
    flat: Tensor<Inner<B>, 1>,
    offset: usize,
    index: usize,
    layout: &'a Layout,
}

impl<B: VitAutodiffBackend> ModuleMapper<B> for SetParams<'_, B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let n = self.layout.sizes[self.index];
        let (id, value, mapper) = param.consume();
        let requires_grad = value.is_require_grad();
        let part = self
            .flat
            .clone()
            .narrow(0, self.offset, n)
            .reshape(value.shape());
        self.offset += n;
        self.index += 1;
        let mut value = Tensor::from_inner(part);
        if requires_grad {
            value = value.require_grad();
        }
        Param::from_mapped_value(id, value, mapper)
    }
}

/// `module` with its float parameters replaced by the vector's values (same order as
/// [`params`]); ids and which parameters train are kept.
pub fn set_params<B: VitAutodiffBackend, M: AutodiffModule<B>>(
    module: M,
    flat: Tensor<Inner<B>, 1>,
    layout: &Layout,
) -> M {
    module.map(&mut SetParams::<B> {
        flat,
        offset: 0,
        index: 0,
        layout,
    })
}

/// Every float parameter value of `module` (any backend, e.g. a trained inference model) as one
/// vector, in visit order.
pub fn values<Bk: burn::tensor::backend::Backend, M: burn::module::Module<Bk>>(
    module: &M,
) -> Tensor<Bk, 1> {
    struct Values<Bk: burn::tensor::backend::Backend>(Vec<Tensor<Bk, 1>>);
    impl<Bk: burn::tensor::backend::Backend> ModuleVisitor<Bk> for Values<Bk> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Bk, D>>) {
            let value = param.val();
            let n = value.shape().num_elements();
            self.0.push(value.reshape([n]));
        }
    }
    let mut visitor = Values(Vec::new());
    module.visit(&mut visitor);
    Tensor::cat(visitor.0, 0)
}
