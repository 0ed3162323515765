//! Each op as the composition of Burn ops it replaces: the default body of every
//! [`VitBackend`](crate::VitBackend) method, what GPU backends run (their fusion compiles these
//! chains), and the reference the kernels are tested against.

use burn::tensor::FloatDType;
use burn::tensor::backend::Backend;
use burn::tensor::ops::{AttentionModuleOptions, FloatTensor};
use burn::tensor::{Shape, Tensor, TensorMetadata, TensorPrimitive};

/// `x` viewed as `[rows, last]`.
fn as_rows<B: Backend>(x: FloatTensor<B>) -> (FloatTensor<B>, Shape) {
    let shape = x.shape();
    let last = shape.last().copied().unwrap_or(1);
    let rows = shape.num_elements() / last.max(1);
    (B::float_reshape(x, Shape::new([rows, last])), shape)
}

/// Exact GELU: Burn's own op.
pub fn gelu<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    B::gelu(x)
}

/// `σ(kx)` with Burn ops, as `1/(1 + e^(−kx))` — a division: NdArray's `recip` and Burn's own
/// sigmoid lose ~5e-5 of relative accuracy.
fn sigmoid_of<B: Backend>(x: FloatTensor<B>, k: f64) -> FloatTensor<B> {
    let ones = B::float_ones(x.shape(), &B::float_device(&x), x.dtype().into());
    let e = B::float_exp(B::float_mul_scalar(x, (-k).into()));
    B::float_div(ones, B::float_add_scalar(e, 1.0.into()))
}

/// The tanh GELU's `t = tanh(√(2/π)(x + 0.044715x³))`.
fn gelu_tanh_t<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let cube = B::float_mul(B::float_mul(x.clone(), x.clone()), x.clone());
    let inner = B::float_add(x, B::float_mul_scalar(cube, 0.044715.into()));
    B::float_tanh(B::float_mul_scalar(inner, 0.797_884_560_802_865_4.into()))
}

/// `act(x)` with Burn ops.
pub fn activation<B: Backend>(x: FloatTensor<B>, act: crate::Activation) -> FloatTensor<B> {
    match act {
        crate::Activation::Gelu => gelu::<B>(x),
        crate::Activation::GeluTanh => {
            let t = gelu_tanh_t::<B>(x.clone());
            B::float_mul(
                B::float_mul_scalar(x, 0.5.into()),
                B::float_add_scalar(t, 1.0.into()),
            )
        }
        crate::Activation::QuickGelu | crate::Activation::Silu => {
            let s = sigmoid_of::<B>(x.clone(), act.sigmoid_scale() as f64);
            B::float_mul(x, s)
        }
    }
}

/// `grad · act'(x)` with Burn ops.
pub fn activation_backward<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
    act: crate::Activation,
) -> FloatTensor<B> {
    let derivative = match act {
        crate::Activation::Gelu => return gelu_backward::<B>(x, grad),
        crate::Activation::GeluTanh => {
            // ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
            let t = gelu_tanh_t::<B>(x.clone());
            let half_one_plus_t =
                B::float_mul_scalar(B::float_add_scalar(t.clone(), 1.0.into()), 0.5.into());
            let one_minus_t2 =
                B::float_add_scalar(B::float_neg(B::float_mul(t.clone(), t)), 1.0.into());
            let x2 = B::float_mul(x.clone(), x.clone());
            let du = B::float_mul_scalar(
                B::float_add_scalar(B::float_mul_scalar(x2, (3.0 * 0.044715).into()), 1.0.into()),
                0.797_884_560_802_865_4.into(),
            );
            let second = B::float_mul(
                B::float_mul(B::float_mul_scalar(x, 0.5.into()), one_minus_t2),
                du,
            );
            B::float_add(half_one_plus_t, second)
        }
        crate::Activation::QuickGelu | crate::Activation::Silu => {
            // σ(kx)(1 + kx(1 − σ(kx)))
            let k = act.sigmoid_scale() as f64;
            let s = sigmoid_of::<B>(x.clone(), k);
            let one_minus_s = B::float_add_scalar(B::float_neg(s.clone()), 1.0.into());
            let kx = B::float_mul_scalar(x, k.into());
            B::float_mul(
                s,
                B::float_add_scalar(B::float_mul(kx, one_minus_s), 1.0.into()),
            )
        }
    };
    B::float_mul(grad, derivative)
}

/// `act(gate) ⊙ value` with Burn ops.
pub fn glu<B: Backend>(
    gate: FloatTensor<B>,
    value: FloatTensor<B>,
    act: crate::Activation,
) -> FloatTensor<B> {
    B::float_mul(activation::<B>(gate, act), value)
}

/// Gradients of the gated unit: `(grad ⊙ value ⊙ act'(gate), grad ⊙ act(gate))`.
pub fn glu_backward<B: Backend>(
    gate: FloatTensor<B>,
    value: FloatTensor<B>,
    grad: FloatTensor<B>,
    act: crate::Activation,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let dgate = activation_backward::<B>(gate.clone(), B::float_mul(grad.clone(), value), act);
    let dvalue = B::float_mul(grad, activation::<B>(gate, act));
    (dgate, dvalue)
}

/// `grad · (Φ(x) + x·φ(x))`, the derivative of the exact GELU (Burn's default `gelu_backward`
/// on NdArray is the tanh approximation's).
pub fn gelu_backward<B: Backend>(x: FloatTensor<B>, grad: FloatTensor<B>) -> FloatTensor<B> {
    let cdf = B::float_mul_scalar(
        B::float_add_scalar(
            B::float_erf(B::float_mul_scalar(
                x.clone(),
                std::f64::consts::FRAC_1_SQRT_2.into(),
            )),
            1.0.into(),
        ),
        0.5.into(),
    );
    let pdf = B::float_mul_scalar(
        B::float_exp(B::float_mul_scalar(
            B::float_mul(x.clone(), x.clone()),
            (-0.5).into(),
        )),
        (1.0 / (2.0 * std::f64::consts::PI).sqrt()).into(),
    );
    B::float_mul(grad, B::float_add(cdf, B::float_mul(x, pdf)))
}

/// Softmax over the last dimension: Burn's own op.
pub fn softmax<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let last = x.shape().num_dims() - 1;
    B::softmax(x, last)
}

/// `y ⊙ (grad − Σ_last grad⊙y)`.
pub fn softmax_backward<B: Backend>(y: FloatTensor<B>, grad: FloatTensor<B>) -> FloatTensor<B> {
    let last = y.shape().num_dims() - 1;
    let dot = B::float_sum_dim(B::float_mul(grad.clone(), y.clone()), last);
    B::float_mul(y, B::float_sub(grad, dot))
}

/// LayerNorm over the last dimension: Burn's own op.
pub fn layer_norm<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: Option<FloatTensor<B>>,
    eps: f64,
) -> FloatTensor<B> {
    B::layer_norm(x, gamma, beta, eps)
}

/// Gradients of LayerNorm: `(dx, dγ, dβ)`.
pub fn layer_norm_backward<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    grad: FloatTensor<B>,
    eps: f64,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let (x, shape) = as_rows::<B>(x);
    let (grad, _) = as_rows::<B>(grad);
    let d = shape.last().copied().unwrap_or(1);
    let gamma = B::float_reshape(gamma, Shape::new([1, d]));
    let mean = B::float_mean_dim(x.clone(), 1);
    let centered = B::float_sub(x, mean);
    let var = B::float_mean_dim(B::float_mul(centered.clone(), centered.clone()), 1);
    let rstd = B::float_powf_scalar(B::float_add_scalar(var, eps.into()), (-0.5).into());
    let xhat = B::float_mul(centered, rstd.clone());
    let g_hat = B::float_mul(grad.clone(), gamma);
    let mean_g = B::float_mean_dim(g_hat.clone(), 1);
    let mean_gx = B::float_mean_dim(B::float_mul(g_hat.clone(), xhat.clone()), 1);
    let dx = B::float_mul(
        rstd,
        B::float_sub(
            B::float_sub(g_hat, mean_g),
            B::float_mul(xhat.clone(), mean_gx),
        ),
    );
    let dgamma = B::float_reshape(
        B::float_sum_dim(B::float_mul(grad.clone(), xhat), 0),
        Shape::new([d]),
    );
    let dbeta = B::float_reshape(B::float_sum_dim(grad, 0), Shape::new([d]));
    (B::float_reshape(dx, shape), dgamma, dbeta)
}

/// `1/√(mean(x²) + eps)` of each row of `x [rows, d]`, `[rows, 1]` (a division, not `recip`).
fn rms_rstd<B: Backend>(x: FloatTensor<B>, eps: f64) -> FloatTensor<B> {
    let mean_square = B::float_mean_dim(B::float_mul(x.clone(), x), 1);
    let rms = B::float_sqrt(B::float_add_scalar(mean_square, eps.into()));
    let ones = B::float_ones(rms.shape(), &B::float_device(&rms), rms.dtype().into());
    B::float_div(ones, rms)
}

/// RMSNorm with Burn ops: `x/√(mean(x²) + eps)·γ`.
pub fn rms_norm<B: Backend>(x: FloatTensor<B>, gamma: FloatTensor<B>, eps: f64) -> FloatTensor<B> {
    let (x, shape) = as_rows::<B>(x);
    let d = shape.last().copied().unwrap_or(1);
    let rstd = rms_rstd::<B>(x.clone(), eps);
    let gamma = B::float_reshape(gamma, Shape::new([1, d]));
    B::float_reshape(B::float_mul(B::float_mul(x, rstd), gamma), shape)
}

/// Gradients of RMSNorm: `(dx, dγ)`.
pub fn rms_norm_backward<B: Backend>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    grad: FloatTensor<B>,
    eps: f64,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let (x, shape) = as_rows::<B>(x);
    let (grad, _) = as_rows::<B>(grad);
    let d = shape.last().copied().unwrap_or(1);
    let gamma = B::float_reshape(gamma, Shape::new([1, d]));
    let rstd = rms_rstd::<B>(x.clone(), eps);
    let xhat = B::float_mul(x, rstd.clone());
    let g_hat = B::float_mul(grad.clone(), gamma);
    let mean_gx = B::float_mean_dim(B::float_mul(g_hat.clone(), xhat.clone()), 1);
    let dx = B::float_mul(
        rstd,
        B::float_sub(g_hat, B::float_mul(xhat.clone(), mean_gx)),
    );
    let dgamma = B::float_reshape(
        B::float_sum_dim(B::float_mul(grad, xhat), 0),
        Shape::new([d]),
    );
    (B::float_reshape(dx, shape), dgamma)
}

/// `x` rounded to `dtype`'s precision, as f32: a conversion there and back.
pub fn round_to<B: Backend>(x: FloatTensor<B>, dtype: FloatDType) -> FloatTensor<B> {
    B::float_cast(B::float_cast(x, dtype), FloatDType::F32)
}

/// `x·W + b` (`W` is `[in, out]`): Burn's own op.
pub fn linear<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
) -> FloatTensor<B> {
    B::linear(x, weight, bias)
}

/// Gradients of `linear`: `(dx, dW, db)` (`db` when `with_bias`).
pub fn linear_backward<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
    with_bias: bool,
) -> (FloatTensor<B>, FloatTensor<B>, Option<FloatTensor<B>>) {
    let dx = B::linear_x_backward(weight, grad.clone());
    let (x, _) = as_rows::<B>(x);
    let (grad, _) = as_rows::<B>(grad);
    let db = with_bias.then(|| {
        let d = grad.shape()[1];
        B::float_reshape(B::float_sum_dim(grad.clone(), 0), Shape::new([d]))
    });
    let dw = B::linear_weight_backward(x, grad);
    (dx, dw, db)
}

fn tensor<B: Backend, const D: usize>(x: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(x))
}

fn primitive<B: Backend, const D: usize>(x: Tensor<B, D>) -> FloatTensor<B> {
    x.into_primitive().tensor()
}

/// `qkv [b, n, 3·h·d]` (timm's layout) as `[q, k, v]`, each `[b, h, n, d]`.
fn split_qkv<B: Backend>(qkv: FloatTensor<B>, heads: usize) -> [Tensor<B, 4>; 3] {
    let qkv = tensor::<B, 3>(qkv);
    let [b, n, w] = qkv.dims();
    let x = qkv
        .reshape([b, n, 3 * heads, w / (3 * heads)])
        .swap_dims(1, 2);
    std::array::from_fn(|part| x.clone().narrow(1, part * heads, heads))
}

/// `[b, h, n, d]` → `[b, n, h·d]`.
fn merge_heads<B: Backend>(x: Tensor<B, 4>) -> FloatTensor<B> {
    let [b, h, n, d] = x.dims();
    primitive(x.swap_dims(1, 2).reshape([b, n, h * d]))
}

/// Self-attention from the fused `qkv`: Burn's attention op (flash-attention kernels on the
/// CubeCL backends).
pub fn attention<B: Backend>(
    qkv: FloatTensor<B>,
    heads: usize,
    scale: f64,
    bias: Option<FloatTensor<B>>,
) -> FloatTensor<B> {
    let [q, k, v] = split_qkv::<B>(qkv, heads);
    let [b, h, n, _] = q.dims();
    let bias = bias.map(|bias| tensor::<B, 4>(bias).expand([b, h, n, n]));
    let options = AttentionModuleOptions {
        scale: Some(scale),
        ..Default::default()
    };
    merge_heads(burn::tensor::module::attention(
        q, k, v, None, bias, options,
    ))
}

/// Self-attention with the scores materialised: `(out, weights)`, weights `[b, h, n, n]`.
pub fn attention_with_weights<B: Backend>(
    qkv: FloatTensor<B>,
    heads: usize,
    scale: f64,
    bias: Option<FloatTensor<B>>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let [q, k, v] = split_qkv::<B>(qkv, heads);
    let mut scores = q.mul_scalar(scale).matmul(k.swap_dims(2, 3));
    if let Some(bias) = bias {
        scores = scores + tensor::<B, 4>(bias);
    }
    let weights = burn::tensor::activation::softmax(scores, 3);
    let out = merge_heads(weights.clone().matmul(v));
    (out, primitive(weights))
}

/// Gradients of attention from its weights: `(dqkv, dscores)` (`dscores [b, h, n, n]` when
/// `with_scores`: the gradient of the scores, hence of an additive bias before broadcasting).
pub fn attention_backward<B: Backend>(
    qkv: FloatTensor<B>,
    weights: FloatTensor<B>,
    grad: FloatTensor<B>,
    heads: usize,
    scale: f64,
    with_scores: bool,
) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
    let [q, k, v] = split_qkv::<B>(qkv, heads);
    let p = tensor::<B, 4>(weights);
    let [b, h, n, d] = q.dims();
    let go = tensor::<B, 3>(grad).reshape([b, n, h, d]).swap_dims(1, 2);
    let dv = p.clone().swap_dims(2, 3).matmul(go.clone());
    let dp = go.matmul(v.swap_dims(2, 3));
    let ds = p.clone() * (dp.clone() - (dp * p).sum_dim(3));
    let dq = ds.clone().matmul(k).mul_scalar(scale);
    let dk = ds.clone().swap_dims(2, 3).matmul(q).mul_scalar(scale);
    let dqkv = Tensor::cat(vec![dq, dk, dv], 1)
        .swap_dims(1, 2)
        .reshape([b, n, 3 * h * d]);
    (primitive(dqkv), with_scores.then(|| primitive(ds)))
}

/// The patch tokens' queries and keys of `qkv [b, n, 3·h·d]` as `[b, p, 2, h, d]`, with the
/// prefix tokens' `[b, prefix, 2, h, d]` (if any) and the values `[b, n, 1, h, d]` apart.
fn rope_parts<B: Backend>(
    qkv: FloatTensor<B>,
    heads: usize,
    prefix: usize,
) -> (Option<Tensor<B, 5>>, Tensor<B, 5>, Tensor<B, 5>) {
    let qkv = tensor::<B, 3>(qkv);
    let [b, n, w] = qkv.dims();
    let x = qkv.reshape([b, n, 3, heads, w / (3 * heads)]);
    let qk = x.clone().narrow(2, 0, 2);
    (
        (prefix > 0).then(|| qk.clone().narrow(1, 0, prefix)),
        qk.narrow(1, prefix, n - prefix),
        x.narrow(2, 2, 1),
    )
}

/// A table `[th, p, d]` as `[1, p, 1, th, d]`, broadcasting over the images and q/k.
fn rope_table<B: Backend>(t: FloatTensor<B>) -> Tensor<B, 5> {
    let t = tensor::<B, 3>(t);
    let [th, p, d] = t.dims();
    t.swap_dims(0, 1).reshape([1, p, 1, th, d])
}

/// `rot(x)` over the last dimension: `[-x₁, x₀, -x₃, x₂, …]` (interleaved) or
/// `[-x_{d/2..}, x_{..d/2}]` (`rotate_half`).
fn rope_rotate<B: Backend>(x: Tensor<B, 5>, rotate_half: bool) -> Tensor<B, 5> {
    let [b, p, g, h, d] = x.dims();
    if rotate_half {
        let first = x.clone().narrow(4, 0, d / 2);
        let second = x.narrow(4, d / 2, d / 2);
        return Tensor::cat(vec![second.neg(), first], 4);
    }
    let pairs = x.reshape([b * p * g, h, d / 2, 2]);
    let even = pairs.clone().narrow(3, 0, 1);
    let odd = pairs.narrow(3, 1, 1);
    Tensor::cat(vec![odd.neg(), even], 3).reshape([b, p, g, h, d])
}

/// Rotary embeddings on `qkv [b, n, 3·h·d]`: the queries and keys of the tokens after the first
/// `prefix` become `x·cos + rot(x)·sin` (tables `[1 | h, n − prefix, d]`); values and prefix
/// tokens pass unchanged.
pub fn rope_qkv<B: Backend>(
    qkv: FloatTensor<B>,
    sin: FloatTensor<B>,
    cos: FloatTensor<B>,
    heads: usize,
    prefix: usize,
    rotate_half: bool,
) -> FloatTensor<B> {
    let shape = qkv.shape();
    let (before, patches, v) = rope_parts::<B>(qkv, heads, prefix);
    let rotated = patches.clone() * rope_table::<B>(cos)
        + rope_rotate(patches, rotate_half) * rope_table::<B>(sin);
    let qk = match before {
        Some(before) => Tensor::cat(vec![before, rotated], 1),
        None => rotated,
    };
    let [b, n, w] = [shape[0], shape[1], shape[2]];
    primitive(Tensor::cat(vec![qk, v], 2).reshape([b, n, w]))
}

/// Gradients of [`rope_qkv`]'s tables from its input and output gradient: `(dsin, dcos)`, each
/// `[table_heads, p, d]` (summed over the images, q and k, and the heads a shared table serves).
pub fn rope_qkv_table_grads<B: Backend>(
    qkv: FloatTensor<B>,
    grad: FloatTensor<B>,
    heads: usize,
    prefix: usize,
    rotate_half: bool,
    table_heads: usize,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let (_, x, _) = rope_parts::<B>(qkv, heads, prefix);
    let (_, g, _) = rope_parts::<B>(grad, heads, prefix);
    let [_, p, _, h, d] = x.dims();
    let reduce = |t: Tensor<B, 5>| {
        let t = t.sum_dim(0).sum_dim(2).reshape([p, h, d]);
        let t = if table_heads == 1 { t.sum_dim(1) } else { t };
        primitive(t.swap_dims(0, 1))
    };
    let dcos = reduce(g.clone() * x.clone());
    let dsin = reduce(g * rope_rotate(x, rotate_half));
    (dsin, dcos)
}

/// Tokens `[b, h·w, c]` as the map `[b, c, h, w]` (a copy).
fn tokens_to_map<B: Backend>(x: FloatTensor<B>, [h, w]: [usize; 2]) -> Tensor<B, 4> {
    let x = tensor::<B, 3>(x);
    let [b, _, c] = x.dims();
    x.swap_dims(1, 2).reshape([b, c, h, w])
}

/// A map `[b, c, h, w]` back as tokens `[b, h·w, c]`.
fn map_to_tokens<B: Backend>(x: Tensor<B, 4>) -> FloatTensor<B> {
    let [b, c, h, w] = x.dims();
    primitive(x.reshape([b, c, h * w]).swap_dims(1, 2))
}

/// Depthwise 3×3 convolution, stride 1, zero padding 1, on channels-last tokens `[b, h·w, c]`
/// (`weight [c, 9]`, `bias [c]`): Burn's grouped convolution between two layout copies.
pub fn depthwise_conv3x3<B: Backend>(
    x: FloatTensor<B>,
    grid: [usize; 2],
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
) -> FloatTensor<B> {
    let map = tokens_to_map::<B>(x, grid);
    let c = map.dims()[1];
    let weight = tensor::<B, 2>(weight).reshape([c, 1, 3, 3]);
    let options = burn::tensor::ops::ConvOptions::new([1, 1], [1, 1], [1, 1], c);
    let out = burn::tensor::module::conv2d(map, weight, bias.map(tensor::<B, 1>), options);
    map_to_tokens(out)
}

/// Gradients of [`depthwise_conv3x3`]: `(dx, dweight [c, 9], dbias [c])` — `dx` the same
/// convolution with the taps reversed, `dweight` each tap's neighbours times the gradient.
pub fn depthwise_conv3x3_backward<B: Backend>(
    x: FloatTensor<B>,
    grid: [usize; 2],
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let weight = tensor::<B, 2>(weight);
    let c = weight.dims()[0];
    let reversed = weight.flip([1]);
    let dx = depthwise_conv3x3::<B>(grad.clone(), grid, primitive(reversed), None);
    let g = tokens_to_map::<B>(grad, grid);
    let [b, _, h, w] = g.dims();
    let x = tokens_to_map::<B>(x, grid);
    let device = x.device();
    let padded = Tensor::cat(
        vec![
            Tensor::zeros([b, c, 1, w], &device),
            x,
            Tensor::zeros([b, c, 1, w], &device),
        ],
        2,
    );
    let padded = Tensor::cat(
        vec![
            Tensor::zeros([b, c, h + 2, 1], &device),
            padded,
            Tensor::zeros([b, c, h + 2, 1], &device),
        ],
        3,
    );
    let taps: Vec<Tensor<B, 2>> = (0..9)
        .map(|t| {
            let (dy, dx) = (t / 3, t % 3);
            let shifted = padded.clone().slice([0..b, 0..c, dy..dy + h, dx..dx + w]);
            (shifted * g.clone())
                .sum_dim(3)
                .sum_dim(2)
                .sum_dim(0)
                .reshape([c, 1])
        })
        .collect();
    let dweight = Tensor::cat(taps, 1);
    let dbias = g.sum_dim(3).sum_dim(2).sum_dim(0).reshape([c]);
    (dx, primitive(dweight), primitive(dbias))
}
