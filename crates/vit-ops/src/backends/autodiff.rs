//! `Autodiff<B>`: each op is one node of the graph whose backward pass calls `B`'s fused
//! backward method — where `B` has kernels. Elsewhere (and with the fast path off) the ops are
//! Burn's composed ones, differentiated by Burn as usual.

use burn::tensor::ops::FloatTensor;
use burn::tensor::{FloatDType, Shape, TensorMetadata};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::CheckpointStrategy;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};

use crate::{VitBackend, composed, fast_path_enabled};

/// Whether `Autodiff<B>` records the ops as fused nodes.
fn fused<B: VitBackend>() -> bool {
    B::vit_fused_autodiff() && fast_path_enabled()
}

#[derive(Debug)]
struct GeluBackward;

impl<B: VitBackend> Backward<B, 1> for GeluBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        if let [Some(parent)] = ops.parents {
            grads.register::<B>(parent.id, B::vit_gelu_backward(ops.state, grad));
        }
    }
}

#[derive(Debug)]
struct ActivationBackward;

impl<B: VitBackend> Backward<B, 1> for ActivationBackward {
    type State = (FloatTensor<B>, crate::Activation);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        if let [Some(parent)] = ops.parents {
            let (x, act) = ops.state;
            grads.register::<B>(parent.id, B::vit_activation_backward(x, grad, act));
        }
    }
}

#[derive(Debug)]
struct GluBackward;

impl<B: VitBackend> Backward<B, 2> for GluBackward {
    /// The gate, the value and the activation.
    type State = (FloatTensor<B>, FloatTensor<B>, crate::Activation);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (gate, value, act) = ops.state;
        let (dgate, dvalue) = B::vit_glu_backward(gate, value, grad, act);
        let [gate_node, value_node] = ops.parents;
        for (node, value) in [(gate_node, dgate), (value_node, dvalue)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

#[derive(Debug)]
struct RoundBackward;

impl<B: VitBackend> Backward<B, 1> for RoundBackward {
    type State = FloatDType;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        if let [Some(parent)] = ops.parents {
            grads.register::<B>(parent.id, B::vit_round(grad, ops.state));
        }
    }
}

#[derive(Debug)]
struct SoftmaxBackward;

impl<B: VitBackend> Backward<B, 1> for SoftmaxBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        if let [Some(parent)] = ops.parents {
            grads.register::<B>(parent.id, B::vit_softmax_backward(ops.state, grad));
        }
    }
}

#[derive(Debug)]
struct LayerNormBackward {
    eps: f64,
}

impl<B: VitBackend> Backward<B, 3> for LayerNormBackward {
    /// The input and γ.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, gamma) = ops.state;
        let (dx, dgamma, dbeta) = B::vit_layer_norm_backward(x, gamma, grad, self.eps);
        let [x_node, gamma_node, beta_node] = ops.parents;
        for (node, value) in [(x_node, dx), (gamma_node, dgamma), (beta_node, dbeta)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

#[derive(Debug)]
struct DepthwiseBackward {
    grid: [usize; 2],
}

impl<B: VitBackend> Backward<B, 3> for DepthwiseBackward {
    /// The input and the kernels.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight) = ops.state;
        let (dx, dweight, dbias) = B::vit_depthwise_conv3x3_backward(x, self.grid, weight, grad);
        let [x_node, weight_node, bias_node] = ops.parents;
        for (node, value) in [(x_node, dx), (weight_node, dweight), (bias_node, dbias)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

#[derive(Debug)]
struct RmsNormBackward {
    eps: f64,
}

impl<B: VitBackend> Backward<B, 2> for RmsNormBackward {
    /// The input and γ.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, gamma) = ops.state;
        let (dx, dgamma) = B::vit_rms_norm_backward(x, gamma, grad, self.eps);
        let [x_node, gamma_node] = ops.parents;
        for (node, value) in [(x_node, dx), (gamma_node, dgamma)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, value);
            }
        }
    }
}

#[derive(Debug)]
struct LinearBackward;

impl<B: VitBackend> Backward<B, 3> for LinearBackward {
    /// The input and the weight.
    type State = (FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight) = ops.state;
        let [x_node, w_node, b_node] = ops.parents;
        let (dx, dw, db) = B::vit_linear_backward(x, weight, grad, b_node.is_some());
        if let Some(node) = x_node {
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = w_node {
            grads.register::<B>(node.id, dw);
        }
        if let (Some(node), Some(db)) = (b_node, db) {
            grads.register::<B>(node.id, db);
        }
    }
}

#[derive(Debug)]
struct AttentionBackward {
    heads: usize,
    scale: f64,
}

impl<B: VitBackend> Backward<B, 2> for AttentionBackward {
    /// `qkv`, the softmax weights, and the bias's shape (to sum its gradient over the
    /// dimensions it was broadcast along).
    type State = (FloatTensor<B>, FloatTensor<B>, Option<Shape>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (qkv, weights, bias_shape) = ops.state;
        let [qkv_node, bias_node] = ops.parents;
        let with_scores = bias_node.is_some();
        let (dqkv, dscores) =
            B::vit_attention_backward(qkv, weights, grad, self.heads, self.scale, with_scores);
        if let Some(node) = qkv_node {
            grads.register::<B>(node.id, dqkv);
        }
        if let (Some(node), Some(mut ds), Some(shape)) = (bias_node, dscores, bias_shape) {
            let full = ds.shape();
            for dim in 0..2 {
                if shape[dim] == 1 && full[dim] != 1 {
                    ds = B::float_sum_dim(ds, dim);
                }
            }
            grads.register::<B>(node.id, ds);
        }
    }
}

#[derive(Debug)]
struct RopeBackward {
    heads: usize,
    prefix: usize,
    rotate_half: bool,
}

impl<B: VitBackend> Backward<B, 3> for RopeBackward {
    /// `qkv` (for the tables' gradients, when they are learned) and the tables.
    type State = (Option<FloatTensor<B>>, FloatTensor<B>, FloatTensor<B>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<B>(&ops.node);
        let (qkv, sin, cos) = ops.state;
        let [qkv_node, sin_node, cos_node] = ops.parents;
        if let Some(qkv) = qkv {
            let table_heads = sin.shape()[0];
            let (dsin, dcos) = composed::rope_qkv_table_grads::<B>(
                qkv,
                grad.clone(),
                self.heads,
                self.prefix,
                self.rotate_half,
                table_heads,
            );
            if let Some(node) = sin_node {
                grads.register::<B>(node.id, dsin);
            }
            if let Some(node) = cos_node {
                grads.register::<B>(node.id, dcos);
            }
        }
        if let Some(node) = qkv_node {
            // The transpose of a rotation is the opposite rotation.
            let dqkv = B::vit_rope_qkv(
                grad,
                B::float_neg(sin),
                cos,
                self.heads,
                self.prefix,
                self.rotate_half,
            );
            grads.register::<B>(node.id, dqkv);
        }
    }
}

/// A constant stand-in for an absent optional input (β, the bias): a node that never needs a
/// gradient, so its parent slot stays empty.
fn absent<B: VitBackend, C: CheckpointStrategy>(
    like: &FloatTensor<Autodiff<B, C>>,
) -> FloatTensor<Autodiff<B, C>> {
    use burn::tensor::ops::FloatTensorOps;
    <Autodiff<B, C> as FloatTensorOps<Autodiff<B, C>>>::float_zeros(
        Shape::new([1]),
        &<Autodiff<B, C> as FloatTensorOps<Autodiff<B, C>>>::float_device(like),
        burn::tensor::FloatDType::F32,
    )
}

impl<B: VitBackend, C: CheckpointStrategy> VitBackend for Autodiff<B, C> {
    fn vit_host_rounding() -> bool {
        B::vit_host_rounding()
    }

    fn vit_round(x: FloatTensor<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        if !B::vit_host_rounding() {
            return composed::round_to::<Self>(x, dtype);
        }
        match RoundBackward
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(dtype, B::vit_round(x.primitive, dtype)),
            OpsKind::UnTracked(prep) => prep.finish(B::vit_round(x.primitive, dtype)),
        }
    }

    fn vit_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !fused::<B>() {
            return composed::gelu::<Self>(x);
        }
        match GeluBackward
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::vit_gelu(x.primitive.clone());
                prep.finish(x.primitive, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::vit_gelu(x.primitive)),
        }
    }

    fn vit_activation(x: FloatTensor<Self>, act: crate::Activation) -> FloatTensor<Self> {
        if !fused::<B>() {
            return composed::activation::<Self>(x, act);
        }
        match ActivationBackward
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::vit_activation(x.primitive.clone(), act);
                prep.finish((x.primitive, act), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::vit_activation(x.primitive, act)),
        }
    }

    fn vit_glu(
        gate: FloatTensor<Self>,
        value: FloatTensor<Self>,
        act: crate::Activation,
    ) -> FloatTensor<Self> {
        if !fused::<B>() {
            return composed::glu::<Self>(gate, value, act);
        }
        match GluBackward
            .prepare::<C>([gate.node.clone(), value.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::vit_glu(gate.primitive.clone(), value.primitive.clone(), act);
                prep.finish((gate.primitive, value.primitive, act), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::vit_glu(gate.primitive, value.primitive, act))
            }
        }
    }

    fn vit_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if !fused::<B>() {
            return composed::softmax::<Self>(x);
        }
        match SoftmaxBackward
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::vit_softmax(x.primitive);
                prep.finish(out.clone(), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::vit_softmax(x.primitive)),
        }
    }

    fn vit_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: Option<FloatTensor<Self>>,
        eps: f64,
    ) -> FloatTensor<Self> {
        if !fused::<B>() {
            return composed::layer_norm::<Self>(x, gamma, beta, eps);
        }
        let beta_node = beta.clone().unwrap_or_else(|| absent::<B, C>(&x));
        let nodes = [x.node.clone(), gamma.node.clone(), beta_node.node.clone()];
        let beta = beta.map(|b| b.primitive);
        match (LayerNormBackward { eps })
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out =
                    B::vit_layer_norm(x.primitive.clone(), gamma.primitive.clone(), beta, eps);
                prep.finish((x.primitive, gamma.primitive), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::vit_layer_norm(x.primitive, gamma.primitive, beta, eps))
            }
        }
    }

    fn vit_depthwise_conv3x3(
        x: FloatTensor<Self>,
        grid: [usize; 2],
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        if !fused::<B>() {
            return composed::depthwise_conv3x3::<Self>(x, grid, weight, bias);
        }
        let bias_node = bias.clone().unwrap_or_else(|| absent::<B, C>(&x));
        let nodes = [x.node.clone(), weight.node.clone(), bias_node.node.clone()];
        let bias = bias.map(|b| b.primitive);
        match (DepthwiseBackward { grid })
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::vit_depthwise_conv3x3(
                    x.primitive.clone(),
                    grid,
                    weight.primitive.clone(),
                    bias,
                );
                prep.finish((x.primitive, weight.primitive), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::vit_depthwise_conv3x3(
                x.primitive,
                grid,
                weight.primitive,
                bias,
            )),
        }
    }

    fn vit_rms_norm(x: FloatTensor<Self>, gamma: FloatTensor<Self>, eps: f64) -> FloatTensor<Self> {
        if !fused::<B>() {
            return composed::rms_norm::<Self>(x, gamma, eps);
        }
        match (RmsNormBackward { eps })
            .prepare::<C>([x.node.clone(), gamma.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::vit_rms_norm(x.primitive.clone(), gamma.primitive.clone(), eps);
                prep.finish((x.primitive, gamma.primitive), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::vit_rms_norm(x.primitive, gamma.primitive, eps))
            }
        }
    }

    fn vit_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        if !fused::<B>() {
            return composed::linear::<Self>(x, weight, bias);
        }
        let bias_node = bias.clone().unwrap_or_else(|| absent::<B, C>(&x));
        let nodes = [x.node.clone(), weight.node.clone(), bias_node.node.clone()];
        let bias = bias.map(|b| b.primitive);
        match LinearBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::vit_linear(x.primitive.clone(), weight.primitive.clone(), bias);
                prep.finish((x.primitive, weight.primitive), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::vit_linear(x.primitive, weight.primitive, bias))
            }
        }
    }

    fn vit_attention(
        qkv: FloatTensor<Self>,
        heads: usize,
        scale: f64,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        if !fused::<B>() {
            return composed::attention::<Self>(qkv, heads, scale, bias);
        }
        let bias_node = bias.clone().unwrap_or_else(|| absent::<B, C>(&qkv));
        let nodes = [qkv.node.clone(), bias_node.node.clone()];
        let bias_shape = bias.as_ref().map(|b| b.primitive.shape());
        let bias = bias.map(|b| b.primitive);
        match (AttentionBackward { heads, scale })
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, weights) =
                    B::vit_attention_with_weights(qkv.primitive.clone(), heads, scale, bias);
                prep.finish((qkv.primitive, weights, bias_shape), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::vit_attention(qkv.primitive, heads, scale, bias))
            }
        }
    }

    fn vit_rope_qkv(
        qkv: FloatTensor<Self>,
        sin: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        heads: usize,
        prefix: usize,
        rotate_half: bool,
    ) -> FloatTensor<Self> {
        if !fused::<B>() {
            return composed::rope_qkv::<Self>(qkv, sin, cos, heads, prefix, rotate_half);
        }
        let nodes = [qkv.node.clone(), sin.node.clone(), cos.node.clone()];
        // Learned tables (RoPE-ViT mixed) need `qkv` kept for their gradients.
        let learned = !sin.node.requirement.is_none() || !cos.node.requirement.is_none();
        match (RopeBackward {
            heads,
            prefix,
            rotate_half,
        })
        .prepare::<C>(nodes)
        .compute_bound()
        .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::vit_rope_qkv(
                    qkv.primitive.clone(),
                    sin.primitive.clone(),
                    cos.primitive.clone(),
                    heads,
                    prefix,
                    rotate_half,
                );
                let kept = learned.then_some(qkv.primitive);
                prep.finish((kept, sin.primitive, cos.primitive), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::vit_rope_qkv(
                qkv.primitive,
                sin.primitive,
                cos.primitive,
                heads,
                prefix,
                rotate_half,
            )),
        }
    }
}
