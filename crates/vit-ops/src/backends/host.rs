//! The glue between CPU backends' tensors and the kernels: each CPU backend says how to read a
//! tensor as a contiguous `f32` slice and how to wrap a `Vec<f32>` as a tensor; the op bodies
//! here are written once for all of them. Anything that is not `f32` (or with the fast path
//! switched off) goes to Burn's composed ops.

use std::mem::MaybeUninit;

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{DType, FloatDType, Shape, TensorMetadata};

use crate::kernels;
use crate::kernels::attention::{AttentionDims, ScoreBias};
use crate::{composed, fast_path_enabled};

/// A CPU backend whose float tensors the kernels can read and write.
pub(crate) trait HostTensors: Backend {
    /// Calls `f` with `t`'s elements in row-major order (copied only if `t` is a strided view).
    /// `t` must be `f32` (checked by the callers).
    fn read<R>(t: &FloatTensor<Self>, f: impl FnOnce(&[f32]) -> R) -> R;
    /// [`Self::read`] for an optional tensor (β, a bias).
    fn read_optional<R>(t: Option<&FloatTensor<Self>>, f: impl FnOnce(Option<&[f32]>) -> R) -> R {
        match t {
            Some(t) => Self::read(t, |data| f(Some(data))),
            None => f(None),
        }
    }
    /// A tensor of `shape` holding `data` (row-major), on the backend's device.
    fn wrap(shape: Shape, data: Vec<f32>, device: &Self::Device) -> FloatTensor<Self>;
}

/// Whether the kernels handle these tensors.
fn fast<B: Backend>(tensors: &[&FloatTensor<B>]) -> bool {
    fast_path_enabled() && tensors.iter().all(|t| t.dtype() == DType::F32)
}

/// A fresh output buffer of `n` elements that the kernel `fill` overwrites completely.
fn output(n: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut out = Vec::with_capacity(n);
    fill(&mut out.spare_capacity_mut()[..n]);
    // SAFETY: every kernel writes each element of its output buffer.
    unsafe { out.set_len(n) };
    out
}

fn last_dim(shape: &Shape) -> usize {
    shape.last().copied().unwrap_or(1)
}

pub(crate) fn gelu<B: HostTensors>(x: FloatTensor<B>) -> FloatTensor<B> {
    if !fast::<B>(&[&x]) {
        return composed::gelu::<B>(x);
    }
    let shape = x.shape();
    let data = B::read(&x, |x| {
        output(x.len(), |y| kernels::elementwise::gelu(x, y))
    });
    B::wrap(shape, data, &B::float_device(&x))
}

pub(crate) fn activation<B: HostTensors>(
    x: FloatTensor<B>,
    act: crate::Activation,
) -> FloatTensor<B> {
    if !fast::<B>(&[&x]) {
        return composed::activation::<B>(x, act);
    }
    let shape = x.shape();
    let data = B::read(&x, |x| {
        output(x.len(), |y| kernels::elementwise::activation(act, x, y))
    });
    B::wrap(shape, data, &B::float_device(&x))
}

pub(crate) fn activation_backward<B: HostTensors>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
    act: crate::Activation,
) -> FloatTensor<B> {
    if !fast::<B>(&[&x, &grad]) || x.shape() != grad.shape() {
        return composed::activation_backward::<B>(x, grad, act);
    }
    let shape = x.shape();
    let data = B::read(&x, |x| {
        B::read(&grad, |g| {
            output(x.len(), |dx| {
                kernels::elementwise::activation_backward(act, x, g, dx)
            })
        })
    });
    B::wrap(shape, data, &B::float_device(&x))
}

pub(crate) fn glu<B: HostTensors>(
    gate: FloatTensor<B>,
    value: FloatTensor<B>,
    act: crate::Activation,
) -> FloatTensor<B> {
    if !fast::<B>(&[&gate, &value]) || gate.shape() != value.shape() {
        return composed::glu::<B>(gate, value, act);
    }
    let shape = gate.shape();
    let data = B::read(&gate, |g| {
        B::read(&value, |v| {
            output(g.len(), |y| kernels::elementwise::glu(act, g, v, y))
        })
    });
    B::wrap(shape, data, &B::float_device(&gate))
}

pub(crate) fn glu_backward<B: HostTensors>(
    gate: FloatTensor<B>,
    value: FloatTensor<B>,
    grad: FloatTensor<B>,
    act: crate::Activation,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let same = gate.shape() == value.shape() && gate.shape() == grad.shape();
    if !fast::<B>(&[&gate, &value, &grad]) || !same {
        return composed::glu_backward::<B>(gate, value, grad, act);
    }
    let shape = gate.shape();
    let device = B::float_device(&gate);
    let (dgate, dvalue) = B::read(&gate, |g| {
        B::read(&value, |v| {
            B::read(&grad, |o| {
                let mut dvalue = Vec::new();
                let dgate = output(g.len(), |dg| {
                    dvalue = output(g.len(), |dv| {
                        kernels::elementwise::glu_backward(act, g, v, o, dg, dv)
                    })
                });
                (dgate, dvalue)
            })
        })
    });
    (
        B::wrap(shape.clone(), dgate, &device),
        B::wrap(shape, dvalue, &device),
    )
}

pub(crate) fn gelu_backward<B: HostTensors>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    if !fast::<B>(&[&x, &grad]) || x.shape() != grad.shape() {
        return composed::gelu_backward::<B>(x, grad);
    }
    let shape = x.shape();
    let data = B::read(&x, |x| {
        B::read(&grad, |g| {
            output(x.len(), |dx| kernels::elementwise::gelu_backward(x, g, dx))
        })
    });
    B::wrap(shape, data, &B::float_device(&x))
}

pub(crate) fn round_to<B: HostTensors>(x: FloatTensor<B>, dtype: FloatDType) -> FloatTensor<B> {
    let format = match dtype {
        FloatDType::BF16 => kernels::round::HalfFormat::Bf16,
        FloatDType::F16 => kernels::round::HalfFormat::F16,
        _ => return composed::round_to::<B>(x, dtype),
    };
    // Rounding is part of autocast's numbers, not a speed-up: it runs whatever the fast-path
    // switch says (only the tensor type decides).
    if x.dtype() != DType::F32 {
        return composed::round_to::<B>(x, dtype);
    }
    let shape = x.shape();
    let data = B::read(&x, |x| {
        output(x.len(), |y| kernels::round::round_to(format, x, y))
    });
    B::wrap(shape, data, &B::float_device(&x))
}

pub(crate) fn softmax<B: HostTensors>(x: FloatTensor<B>) -> FloatTensor<B> {
    if !fast::<B>(&[&x]) {
        return composed::softmax::<B>(x);
    }
    let shape = x.shape();
    let d = last_dim(&shape);
    let data = B::read(&x, |x| {
        output(x.len(), |y| kernels::softmax::softmax(x, y, d))
    });
    B::wrap(shape, data, &B::float_device(&x))
}

pub(crate) fn softmax_backward<B: HostTensors>(
    y: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    if !fast::<B>(&[&y, &grad]) || y.shape() != grad.shape() {
        return composed::softmax_backward::<B>(y, grad);
    }
    let shape = y.shape();
    let d = last_dim(&shape);
    let data = B::read(&y, |y| {
        B::read(&grad, |g| {
            output(y.len(), |dx| {
                kernels::softmax::softmax_backward(y, g, dx, d)
            })
        })
    });
    B::wrap(shape, data, &B::float_device(&y))
}

pub(crate) fn layer_norm<B: HostTensors>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: Option<FloatTensor<B>>,
    eps: f64,
) -> FloatTensor<B> {
    let mut all = vec![&x, &gamma];
    all.extend(beta.as_ref());
    if !fast::<B>(&all) {
        return composed::layer_norm::<B>(x, gamma, beta, eps);
    }
    let shape = x.shape();
    let data = B::read(&x, |x| {
        B::read(&gamma, |gamma| {
            let run = |beta: Option<&[f32]>| {
                output(x.len(), |y| {
                    kernels::layer_norm::layer_norm(x, gamma, beta, eps as f32, y)
                })
            };
            B::read_optional(beta.as_ref(), run)
        })
    });
    B::wrap(shape, data, &B::float_device(&x))
}

pub(crate) fn layer_norm_backward<B: HostTensors>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    grad: FloatTensor<B>,
    eps: f64,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    if !fast::<B>(&[&x, &gamma, &grad]) || x.shape() != grad.shape() {
        return composed::layer_norm_backward::<B>(x, gamma, grad, eps);
    }
    let shape = x.shape();
    let d = last_dim(&shape);
    let device = B::float_device(&x);
    let (dx, dgamma, dbeta) = B::read(&x, |x| {
        B::read(&gamma, |gamma| {
            B::read(&grad, |g| {
                let mut affine = None;
                let dx = output(x.len(), |dx| {
                    affine = Some(kernels::layer_norm::layer_norm_backward(
                        x, gamma, g, eps as f32, dx,
                    ))
                });
                let (dgamma, dbeta) = affine.expect("the kernel ran");
                (dx, dgamma, dbeta)
            })
        })
    });
    (
        B::wrap(shape, dx, &device),
        B::wrap(Shape::new([d]), dgamma, &device),
        B::wrap(Shape::new([d]), dbeta, &device),
    )
}

pub(crate) fn rms_norm<B: HostTensors>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    eps: f64,
) -> FloatTensor<B> {
    if !fast::<B>(&[&x, &gamma]) || last_dim(&x.shape()) != gamma.shape().num_elements() {
        return composed::rms_norm::<B>(x, gamma, eps);
    }
    let shape = x.shape();
    let data = B::read(&x, |x| {
        B::read(&gamma, |gamma| {
            output(x.len(), |y| {
                kernels::rms_norm::rms_norm(x, gamma, eps as f32, y)
            })
        })
    });
    B::wrap(shape, data, &B::float_device(&x))
}

pub(crate) fn rms_norm_backward<B: HostTensors>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    grad: FloatTensor<B>,
    eps: f64,
) -> (FloatTensor<B>, FloatTensor<B>) {
    if !fast::<B>(&[&x, &gamma, &grad]) || x.shape() != grad.shape() {
        return composed::rms_norm_backward::<B>(x, gamma, grad, eps);
    }
    let shape = x.shape();
    let d = last_dim(&shape);
    let device = B::float_device(&x);
    let (dx, dgamma) = B::read(&x, |x| {
        B::read(&gamma, |gamma| {
            B::read(&grad, |g| {
                let mut dgamma = None;
                let dx = output(x.len(), |dx| {
                    dgamma = Some(kernels::rms_norm::rms_norm_backward(
                        x, gamma, g, eps as f32, dx,
                    ))
                });
                (dx, dgamma.expect("the kernel ran"))
            })
        })
    });
    (
        B::wrap(shape, dx, &device),
        B::wrap(Shape::new([d]), dgamma, &device),
    )
}

/// `(rows, d_in, d_out)` of a linear layer on `x`, if the shapes agree.
fn linear_dims(x: &Shape, weight: &Shape) -> Option<(usize, usize, usize)> {
    let k = last_dim(x);
    let [wk, n] = weight[..] else {
        return None;
    };
    (wk == k && x.num_dims() >= 1).then(|| (x.num_elements() / k.max(1), k, n))
}

pub(crate) fn linear<B: HostTensors>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
) -> FloatTensor<B> {
    let mut all = vec![&x, &weight];
    all.extend(bias.as_ref());
    let dims = linear_dims(&x.shape(), &weight.shape());
    let Some((m, k, n)) = dims.filter(|&(_, k, _)| k > 0 && fast::<B>(&all)) else {
        return composed::linear::<B>(x, weight, bias);
    };
    let mut shape = x.shape();
    *shape.last_mut().expect("x has a last dimension") = n;
    let data = B::read(&x, |x| {
        B::read(&weight, |w| {
            let run = |b: Option<&[f32]>| {
                output(m * n, |y| kernels::linear::linear(x, w, b, (m, k, n), y))
            };
            B::read_optional(bias.as_ref(), run)
        })
    });
    B::wrap(shape, data, &B::float_device(&x))
}

pub(crate) fn linear_backward<B: HostTensors>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
    with_bias: bool,
) -> (FloatTensor<B>, FloatTensor<B>, Option<FloatTensor<B>>) {
    let dims = linear_dims(&x.shape(), &weight.shape());
    let Some((m, k, n)) = dims.filter(|_| fast::<B>(&[&x, &weight, &grad])) else {
        return composed::linear_backward::<B>(x, weight, grad, with_bias);
    };
    let x_shape = x.shape();
    let device = B::float_device(&x);
    let (dx, dw, db) = B::read(&x, |x| {
        B::read(&weight, |w| {
            B::read(&grad, |g| {
                kernels::linear::linear_backward(x, w, g, (m, k, n), with_bias)
            })
        })
    });
    (
        B::wrap(x_shape, dx, &device),
        B::wrap(Shape::new([k, n]), dw, &device),
        db.map(|db| B::wrap(Shape::new([n]), db, &device)),
    )
}

/// The attention sizes of `qkv [b, n, 3·heads·d]` and the layout of `bias`, if the kernels
/// handle them (bias `[1 | b, 1 | heads, n, n]`).
fn attention_dims(
    qkv: &Shape,
    heads: usize,
    bias: Option<&Shape>,
) -> Option<(AttentionDims, Option<(bool, bool)>)> {
    let [batch, tokens, width] = qkv[..] else {
        return None;
    };
    if heads == 0 || width % (3 * heads) != 0 {
        return None;
    }
    let d = AttentionDims {
        batch,
        tokens,
        heads,
        head_dim: width / (3 * heads),
    };
    let layout = match bias {
        None => None,
        Some(shape) => {
            let [bb, bh, n1, n2] = shape[..] else {
                return None;
            };
            let ok = (bb == 1 || bb == batch)
                && (bh == 1 || bh == heads)
                && n1 == tokens
                && n2 == tokens;
            if !ok {
                return None;
            }
            Some((bb == batch && batch > 1, bh == heads && heads > 1))
        }
    };
    Some((d, layout))
}

/// Runs the attention kernel; `with_weights` also returns the probabilities.
fn run_attention<B: HostTensors>(
    qkv: &FloatTensor<B>,
    d: AttentionDims,
    scale: f64,
    bias: Option<(&FloatTensor<B>, (bool, bool))>,
    with_weights: bool,
) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
    let device = B::float_device(qkv);
    let out_len = d.batch * d.tokens * d.heads * d.head_dim;
    let weights_len = d.batch * d.heads * d.tokens * d.tokens;
    let (out, weights) = B::read(qkv, |qkv| {
        let run = |bias: Option<ScoreBias<'_>>| {
            let mut weights = with_weights.then(|| Vec::with_capacity(weights_len));
            let out = output(out_len, |out| {
                let w = weights
                    .as_mut()
                    .map(|w: &mut Vec<f32>| &mut w.spare_capacity_mut()[..weights_len]);
                kernels::attention::attention(qkv, d, scale as f32, bias, out, w)
            });
            if let Some(w) = weights.as_mut() {
                // SAFETY: the kernel wrote every weight.
                unsafe { w.set_len(weights_len) };
            }
            (out, weights)
        };
        match bias {
            Some((bias, (per_image, per_head))) => B::read(bias, |data| {
                run(Some(ScoreBias {
                    data,
                    per_image,
                    per_head,
                }))
            }),
            None => run(None),
        }
    });
    (
        B::wrap(
            Shape::new([d.batch, d.tokens, d.heads * d.head_dim]),
            out,
            &device,
        ),
        weights.map(|w| {
            B::wrap(
                Shape::new([d.batch, d.heads, d.tokens, d.tokens]),
                w,
                &device,
            )
        }),
    )
}

pub(crate) fn attention<B: HostTensors>(
    qkv: FloatTensor<B>,
    heads: usize,
    scale: f64,
    bias: Option<FloatTensor<B>>,
) -> FloatTensor<B> {
    let mut all = vec![&qkv];
    all.extend(bias.as_ref());
    let dims = attention_dims(
        &qkv.shape(),
        heads,
        bias.as_ref().map(|b| b.shape()).as_ref(),
    );
    match dims.filter(|_| fast::<B>(&all)) {
        Some((d, layout)) => run_attention::<B>(&qkv, d, scale, bias.as_ref().zip(layout), false).0,
        None => composed::attention::<B>(qkv, heads, scale, bias),
    }
}

pub(crate) fn attention_with_weights<B: HostTensors>(
    qkv: FloatTensor<B>,
    heads: usize,
    scale: f64,
    bias: Option<FloatTensor<B>>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let mut all = vec![&qkv];
    all.extend(bias.as_ref());
    let dims = attention_dims(
        &qkv.shape(),
        heads,
        bias.as_ref().map(|b| b.shape()).as_ref(),
    );
    match dims.filter(|_| fast::<B>(&all)) {
        Some((d, layout)) => {
            let (out, weights) =
                run_attention::<B>(&qkv, d, scale, bias.as_ref().zip(layout), true);
            (out, weights.expect("weights were asked for"))
        }
        None => composed::attention_with_weights::<B>(qkv, heads, scale, bias),
    }
}

pub(crate) fn attention_backward<B: HostTensors>(
    qkv: FloatTensor<B>,
    weights: FloatTensor<B>,
    grad: FloatTensor<B>,
    heads: usize,
    scale: f64,
    with_scores: bool,
) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
    let dims = attention_dims(&qkv.shape(), heads, None)
        .map(|(d, _)| d)
        .filter(|d| {
            weights.shape()[..] == [d.batch, d.heads, d.tokens, d.tokens]
                && grad.shape()[..] == [d.batch, d.tokens, d.heads * d.head_dim]
        });
    let Some(d) = dims.filter(|_| fast::<B>(&[&qkv, &weights, &grad])) else {
        return composed::attention_backward::<B>(qkv, weights, grad, heads, scale, with_scores);
    };
    let device = B::float_device(&qkv);
    let qkv_shape = qkv.shape();
    let scores_len = d.batch * d.heads * d.tokens * d.tokens;
    let (dqkv, dscores) = B::read(&qkv, |qkv| {
        B::read(&weights, |p| {
            B::read(&grad, |g| {
                let mut dscores = with_scores.then(|| Vec::with_capacity(scores_len));
                let dqkv = output(qkv.len(), |dqkv| {
                    let ds = dscores
                        .as_mut()
                        .map(|v: &mut Vec<f32>| &mut v.spare_capacity_mut()[..scores_len]);
                    kernels::attention::attention_backward(qkv, p, g, d, scale as f32, dqkv, ds)
                });
                if let Some(ds) = dscores.as_mut() {
                    // SAFETY: the kernel wrote every element.
                    unsafe { ds.set_len(scores_len) };
                }
                (dqkv, dscores)
            })
        })
    });
    (
        B::wrap(qkv_shape, dqkv, &device),
        dscores.map(|ds| {
            B::wrap(
                Shape::new([d.batch, d.heads, d.tokens, d.tokens]),
                ds,
                &device,
            )
        }),
    )
}

pub(crate) fn rope_qkv<B: HostTensors>(
    qkv: FloatTensor<B>,
    sin: FloatTensor<B>,
    cos: FloatTensor<B>,
    heads: usize,
    prefix: usize,
    rotate_half: bool,
) -> FloatTensor<B> {
    let (shape, table) = (qkv.shape(), sin.shape());
    let dims = match (&shape[..], &table[..]) {
        (&[batch, tokens, width], &[table_heads, patches, head_dim])
            if heads > 0
                && width == 3 * heads * head_dim
                && head_dim.is_multiple_of(2)
                && prefix + patches == tokens
                && (table_heads == 1 || table_heads == heads)
                && cos.shape() == table =>
        {
            Some(kernels::rope::RopeDims {
                batch,
                tokens,
                heads,
                head_dim,
                prefix,
                table_heads,
            })
        }
        _ => None,
    };
    let Some(d) = dims.filter(|_| fast::<B>(&[&qkv, &sin, &cos])) else {
        return composed::rope_qkv::<B>(qkv, sin, cos, heads, prefix, rotate_half);
    };
    let data = B::read(&qkv, |x| {
        B::read(&sin, |s| {
            B::read(&cos, |c| {
                output(x.len(), |out| {
                    kernels::rope::rope_qkv(x, s, c, d, rotate_half, out)
                })
            })
        })
    });
    B::wrap(shape, data, &B::float_device(&qkv))
}

/// The kernel's dimensions for `x [b, h·w, c]` on `grid` with `weight [c, 9]`, if they agree.
fn depthwise_dims(
    x: &Shape,
    grid: [usize; 2],
    weight: &Shape,
) -> Option<kernels::depthwise::DepthwiseDims> {
    match (&x[..], &weight[..]) {
        (&[batch, tokens, channels], &[wc, 9]) if wc == channels && tokens == grid[0] * grid[1] => {
            Some(kernels::depthwise::DepthwiseDims {
                batch,
                height: grid[0],
                width: grid[1],
                channels,
            })
        }
        _ => None,
    }
}

pub(crate) fn depthwise_conv3x3<B: HostTensors>(
    x: FloatTensor<B>,
    grid: [usize; 2],
    weight: FloatTensor<B>,
    bias: Option<FloatTensor<B>>,
) -> FloatTensor<B> {
    let dims = depthwise_dims(&x.shape(), grid, &weight.shape()).filter(|d| {
        bias.as_ref()
            .is_none_or(|b| b.shape().num_elements() == d.channels)
    });
    let tensors: Vec<&FloatTensor<B>> = [Some(&x), Some(&weight), bias.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    let Some(dims) = dims.filter(|_| fast::<B>(&tensors)) else {
        return composed::depthwise_conv3x3::<B>(x, grid, weight, bias);
    };
    let shape = x.shape();
    let data = B::read(&x, |x| {
        B::read(&weight, |w| {
            let run = |b: &[f32]| {
                output(x.len(), |out| {
                    kernels::depthwise::depthwise_conv3x3(x, w, b, dims, out)
                })
            };
            match &bias {
                Some(bias) => B::read(bias, run),
                None => run(&[]),
            }
        })
    });
    B::wrap(shape, data, &B::float_device(&x))
}

pub(crate) fn depthwise_conv3x3_backward<B: HostTensors>(
    x: FloatTensor<B>,
    grid: [usize; 2],
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let dims =
        depthwise_dims(&x.shape(), grid, &weight.shape()).filter(|_| x.shape() == grad.shape());
    let Some(dims) = dims.filter(|_| fast::<B>(&[&x, &weight, &grad])) else {
        return composed::depthwise_conv3x3_backward::<B>(x, grid, weight, grad);
    };
    let shape = x.shape();
    let c = dims.channels;
    let device = B::float_device(&x);
    let (dx, dw, db) = B::read(&x, |x| {
        B::read(&weight, |w| {
            B::read(&grad, |g| {
                let mut grads = None;
                let dx = output(x.len(), |dx| {
                    grads = Some(kernels::depthwise::depthwise_conv3x3_backward(
                        x, w, g, dims, dx,
                    ))
                });
                let (dw, db) = grads.expect("the kernel ran");
                (dx, dw, db)
            })
        })
    });
    (
        B::wrap(shape, dx, &device),
        B::wrap(Shape::new([c, 9]), dw, &device),
        B::wrap(Shape::new([c]), db, &device),
    )
}

/// Implements [`VitBackend`](crate::VitBackend) for a [`HostTensors`] backend with the kernels.
macro_rules! host_vit_backend {
    ([$($generics:tt)*] $backend:ty $(where $($bounds:tt)*)?) => {
        impl<$($generics)*> $crate::VitBackend for $backend $(where $($bounds)*)? {
            fn vit_fused_autodiff() -> bool {
                true
            }
            fn vit_host_rounding() -> bool {
                true
            }
            fn vit_round(x: FloatTensor<Self>, dtype: burn::tensor::FloatDType) -> FloatTensor<Self> {
                host::round_to::<Self>(x, dtype)
            }
            fn vit_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
                host::gelu::<Self>(x)
            }
            fn vit_gelu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
                host::gelu_backward::<Self>(x, grad)
            }
            fn vit_activation(x: FloatTensor<Self>, act: $crate::Activation) -> FloatTensor<Self> {
                host::activation::<Self>(x, act)
            }
            fn vit_activation_backward(
                x: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                act: $crate::Activation,
            ) -> FloatTensor<Self> {
                host::activation_backward::<Self>(x, grad, act)
            }
            fn vit_rms_norm(
                x: FloatTensor<Self>,
                gamma: FloatTensor<Self>,
                eps: f64,
            ) -> FloatTensor<Self> {
                host::rms_norm::<Self>(x, gamma, eps)
            }
            fn vit_rms_norm_backward(
                x: FloatTensor<Self>,
                gamma: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                eps: f64,
            ) -> (FloatTensor<Self>, FloatTensor<Self>) {
                host::rms_norm_backward::<Self>(x, gamma, grad, eps)
            }
            fn vit_glu(
                gate: FloatTensor<Self>,
                value: FloatTensor<Self>,
                act: $crate::Activation,
            ) -> FloatTensor<Self> {
                host::glu::<Self>(gate, value, act)
            }
            fn vit_glu_backward(
                gate: FloatTensor<Self>,
                value: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                act: $crate::Activation,
            ) -> (FloatTensor<Self>, FloatTensor<Self>) {
                host::glu_backward::<Self>(gate, value, grad, act)
            }
            fn vit_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
                host::softmax::<Self>(x)
            }
            fn vit_softmax_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
                host::softmax_backward::<Self>(y, grad)
            }
            fn vit_layer_norm(
                x: FloatTensor<Self>,
                gamma: FloatTensor<Self>,
                beta: Option<FloatTensor<Self>>,
                eps: f64,
            ) -> FloatTensor<Self> {
                host::layer_norm::<Self>(x, gamma, beta, eps)
            }
            fn vit_layer_norm_backward(
                x: FloatTensor<Self>,
                gamma: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                eps: f64,
            ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
                host::layer_norm_backward::<Self>(x, gamma, grad, eps)
            }
            fn vit_linear(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                bias: Option<FloatTensor<Self>>,
            ) -> FloatTensor<Self> {
                host::linear::<Self>(x, weight, bias)
            }
            fn vit_attention(
                qkv: FloatTensor<Self>,
                heads: usize,
                scale: f64,
                bias: Option<FloatTensor<Self>>,
            ) -> FloatTensor<Self> {
                host::attention::<Self>(qkv, heads, scale, bias)
            }
            fn vit_attention_with_weights(
                qkv: FloatTensor<Self>,
                heads: usize,
                scale: f64,
                bias: Option<FloatTensor<Self>>,
            ) -> (FloatTensor<Self>, FloatTensor<Self>) {
                host::attention_with_weights::<Self>(qkv, heads, scale, bias)
            }
            fn vit_attention_backward(
                qkv: FloatTensor<Self>,
                weights: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                heads: usize,
                scale: f64,
                with_scores: bool,
            ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
                host::attention_backward::<Self>(qkv, weights, grad, heads, scale, with_scores)
            }
            fn vit_linear_backward(
                x: FloatTensor<Self>,
                weight: FloatTensor<Self>,
                grad: FloatTensor<Self>,
                with_bias: bool,
            ) -> (FloatTensor<Self>, FloatTensor<Self>, Option<FloatTensor<Self>>) {
                host::linear_backward::<Self>(x, weight, grad, with_bias)
            }
            fn vit_rope_qkv(
                qkv: FloatTensor<Self>,
                sin: FloatTensor<Self>,
                cos: FloatTensor<Self>,
                heads: usize,
                prefix: usize,
                rotate_half: bool,
            ) -> FloatTensor<Self> {
                host::rope_qkv::<Self>(qkv, sin, cos, heads, prefix, rotate_half)
            }
            fn vit_depthwise_conv3x3(
                x: FloatTensor<Self>,
                grid: [usize; 2],
                weight: FloatTensor<Self>,
                bias: Option<FloatTensor<Self>>,
            ) -> FloatTensor<Self> {
                host::depthwise_conv3x3::<Self>(x, grid, weight, bias)
            }
            fn vit_depthwise_conv3x3_backward(
                x: FloatTensor<Self>,
                grid: [usize; 2],
                weight: FloatTensor<Self>,
                grad: FloatTensor<Self>,
            ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
                host::depthwise_conv3x3_backward::<Self>(x, grid, weight, grad)
            }
        }
    };
}

#[allow(unused_imports)]
pub(crate) use host_vit_backend;
