//! Every op of `VitBackend` against the Burn composition it replaces, forward and gradients,
//! on both CPU backends: odd sizes, size 1, strided (transposed) inputs, large magnitudes.
//! The composition runs in f64 (NdArray<f64>) on the same values, so that the comparison
//! measures the kernels' error rather than the f32 rounding of the reference.

use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData, activation};
use burn_flex::Flex;
use burn_ndarray::NdArray;
use vit_ops::VitBackend;

/// The f64 reference backend.
type R = NdArray<f64>;

/// The same values on the f64 reference backend.
fn f64_copy<B: Backend, const D: usize>(t: &Tensor<B, D>) -> Tensor<R, D> {
    let data = t.to_data().convert::<f64>();
    Tensor::from_data(data, &Default::default())
}

/// `|a − b| ≤ 1e-5·|b| + atol` everywhere; `atol` covers the f32 rounding of the inputs where
/// the result is a difference of larger terms (stated per op below).
fn assert_close<B: Backend, const D: usize>(
    got: Tensor<B, D>,
    want: Tensor<R, D>,
    atol: f64,
    what: &str,
) {
    assert_eq!(got.dims(), want.dims(), "{what}: shapes differ");
    let got = got.into_data().convert::<f64>().to_vec::<f64>().unwrap();
    let want = want.into_data().to_vec::<f64>().unwrap();
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let ok = (g - w).abs() <= 1e-5 * w.abs() + atol || (g.is_nan() && w.is_nan());
        assert!(ok, "{what}: element {i}: got {g}, want {w}");
    }
}

fn random<B: Backend, const D: usize>(shape: [usize; D], scale: f64, seed: u64) -> Tensor<B, D> {
    B::seed(&Default::default(), seed);
    Tensor::random(
        shape,
        Distribution::Uniform(-scale, scale),
        &Default::default(),
    )
}

fn gelu_reference<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone() * (x.div_scalar(std::f32::consts::SQRT_2).erf() + 1.0) * 0.5
}

/// The activations of `vit_ops::Activation` with Burn ops (f64 in the tests).
fn activation_reference<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    act: vit_ops::Activation,
) -> Tensor<B, D> {
    match act {
        vit_ops::Activation::Gelu => gelu_reference(x),
        vit_ops::Activation::GeluTanh => {
            let inner = (x.clone() + x.clone() * x.clone() * x.clone() * 0.044715)
                * (2.0 / std::f64::consts::PI).sqrt();
            x * (inner.tanh() + 1.0) * 0.5
        }
        _ => x.clone() * activation::sigmoid(x * act.sigmoid_scale() as f64),
    }
}

const ACTIVATIONS: [vit_ops::Activation; 4] = [
    vit_ops::Activation::Gelu,
    vit_ops::Activation::GeluTanh,
    vit_ops::Activation::QuickGelu,
    vit_ops::Activation::Silu,
];

fn rms_norm_reference<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
    eps: f64,
) -> Tensor<B, D> {
    let mean_square = (x.clone() * x.clone()).mean_dim(D - 1);
    x / (mean_square + eps).sqrt() * gamma.unsqueeze()
}

fn layer_norm_reference<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
    beta: Option<Tensor<B, 1>>,
    eps: f64,
) -> Tensor<B, D> {
    let mean = x.clone().mean_dim(D - 1);
    let centered = x - mean;
    let var = centered.clone().powi_scalar(2).mean_dim(D - 1);
    let y = centered / (var + eps).sqrt() * gamma.unsqueeze();
    match beta {
        Some(beta) => y + beta.unsqueeze(),
        None => y,
    }
}

fn linear_reference<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    w: Tensor<B, 2>,
    b: Option<Tensor<B, 1>>,
) -> Tensor<B, D> {
    let y = x.matmul(w.unsqueeze());
    match b {
        Some(b) => y + b.unsqueeze(),
        None => y,
    }
}

/// Shapes to try for an op over the last dimension, with a scale of the values.
const SHAPES: [([usize; 3], f64); 5] = [
    ([1, 1, 1], 1.0),
    ([1, 7, 13], 3.0),
    ([2, 3, 65], 1.0),
    ([3, 17, 197], 8.0),
    ([2, 5, 384], 100.0),
];

fn forward_ops_match_burn<B: VitBackend>() {
    for (i, (shape, scale)) in SHAPES.into_iter().enumerate() {
        let x = random::<B, 3>(shape, scale, i as u64);
        let xr = f64_copy(&x);
        assert_close(
            vit_ops::gelu(x.clone()),
            gelu_reference(xr.clone()),
            1e-7,
            "gelu",
        );
        assert_close(
            vit_ops::softmax_last(x.clone()),
            activation::softmax(xr.clone(), 2),
            1e-8,
            "softmax",
        );
        for act in ACTIVATIONS {
            assert_close(
                vit_ops::activation(x.clone(), act),
                activation_reference(xr.clone(), act),
                1e-7,
                &format!("{act:?}"),
            );
        }
        let value = random::<B, 3>(shape, 2.0, 600 + i as u64);
        for act in ACTIVATIONS {
            assert_close(
                vit_ops::glu(x.clone(), value.clone(), act),
                activation_reference(xr.clone(), act) * f64_copy(&value),
                1e-6,
                &format!("glu {act:?}"),
            );
        }
        let gamma = random::<B, 1>([shape[2]], 2.0, 500 + i as u64);
        assert_close(
            vit_ops::rms_norm(x.clone(), gamma.clone(), 1e-5),
            rms_norm_reference(xr.clone(), f64_copy(&gamma), 1e-5),
            1e-6,
            "rms_norm",
        );
        let d = shape[2];
        let gamma = random::<B, 1>([d], 2.0, 100 + i as u64);
        let beta = random::<B, 1>([d], 1.0, 200 + i as u64);
        // An offset ten times the spread: the mean must be removed accurately.
        let shifted = x.clone() + 10.0 * scale;
        for beta in [Some(beta), None] {
            assert_close(
                vit_ops::layer_norm(shifted.clone(), gamma.clone(), beta.clone(), 1e-6),
                layer_norm_reference(
                    f64_copy(&shifted),
                    f64_copy(&gamma),
                    beta.as_ref().map(f64_copy),
                    1e-6,
                ),
                1e-5,
                "layer_norm",
            );
        }
        for out in [1, 5, 64] {
            let w = random::<B, 2>([d, out], 1.0, 300 + i as u64);
            let b = random::<B, 1>([out], 1.0, 400 + i as u64);
            for b in [Some(b), None] {
                // A sum of d products of size ≤ scale: f32 rounding grows with both.
                let atol = 1e-6 * scale * d as f64;
                assert_close(
                    vit_ops::linear(x.clone(), w.clone(), b.clone()),
                    linear_reference(xr.clone(), f64_copy(&w), b.as_ref().map(f64_copy)),
                    atol,
                    "linear",
                );
            }
        }
        // Strided views: the transpose of the two leading dims, and a narrowed one.
        let t = x.clone().swap_dims(0, 1);
        let tr = xr.clone().swap_dims(0, 1);
        assert_close(
            vit_ops::gelu(t.clone()),
            gelu_reference(tr.clone()),
            1e-7,
            "gelu (strided)",
        );
        assert_close(
            vit_ops::softmax_last(t.clone()),
            activation::softmax(tr, 2),
            1e-8,
            "softmax (strided)",
        );
        let half = shape[1].div_ceil(2);
        let n = x.clone().narrow(1, 0, half);
        assert_close(
            vit_ops::gelu(n),
            gelu_reference(xr.narrow(1, 0, half)),
            1e-7,
            "gelu (narrowed)",
        );
    }
}

/// Gradients of `Σ op(x)·r` for a random `r`, through vit-ops (f32, under `Autodiff<B>`) and
/// through the composed reference (f64, under `Autodiff<NdArray<f64>>`).
fn gradients_match_burn<B: VitBackend>()
where
    Autodiff<B>: VitBackend,
{
    type A<B> = Autodiff<B>;
    type AR = Autodiff<R>;
    for (i, (shape, scale)) in SHAPES.into_iter().enumerate() {
        let d = shape[2];
        let x0 = random::<B, 3>(shape, scale, 10 + i as u64);
        let r = random::<B, 3>(shape, 1.0, 20 + i as u64);
        let got = |f: &dyn Fn(Tensor<A<B>, 3>) -> Tensor<A<B>, 3>| {
            let x = Tensor::<A<B>, 3>::from_inner(x0.clone()).require_grad();
            let g = (f(x.clone()) * Tensor::from_inner(r.clone()))
                .sum()
                .backward();
            x.grad(&g).unwrap()
        };
        let want = |f: &dyn Fn(Tensor<AR, 3>) -> Tensor<AR, 3>| {
            let x = Tensor::<AR, 3>::from_inner(f64_copy(&x0)).require_grad();
            let g = (f(x.clone()) * Tensor::from_inner(f64_copy(&r)))
                .sum()
                .backward();
            x.grad(&g).unwrap()
        };
        assert_close(
            got(&|x| vit_ops::gelu(x)),
            want(&|x| gelu_reference(x)),
            1e-7,
            "d gelu",
        );
        assert_close(
            got(&|x| vit_ops::softmax_last(x)),
            want(&|x| activation::softmax(x, 2)),
            1e-7,
            "d softmax",
        );
        for act in ACTIVATIONS {
            assert_close(
                got(&|x| vit_ops::activation(x, act)),
                want(&|x| activation_reference(x, act)),
                1e-7,
                &format!("d {act:?}"),
            );
        }

        // LayerNorm: x, γ, β.
        let gamma0 = random::<B, 1>([d], 2.0, 30 + i as u64);
        let beta0 = random::<B, 1>([d], 1.0, 40 + i as u64);
        let x = Tensor::<A<B>, 3>::from_inner(x0.clone()).require_grad();
        let gamma = Tensor::<A<B>, 1>::from_inner(gamma0.clone()).require_grad();
        let beta = Tensor::<A<B>, 1>::from_inner(beta0.clone()).require_grad();
        let y = vit_ops::layer_norm(x.clone(), gamma.clone(), Some(beta.clone()), 1e-5);
        let g = (y * Tensor::from_inner(r.clone())).sum().backward();
        let xr = Tensor::<AR, 3>::from_inner(f64_copy(&x0)).require_grad();
        let gammar = Tensor::<AR, 1>::from_inner(f64_copy(&gamma0)).require_grad();
        let betar = Tensor::<AR, 1>::from_inner(f64_copy(&beta0)).require_grad();
        let yr = layer_norm_reference(xr.clone(), gammar.clone(), Some(betar.clone()), 1e-5);
        let gr = (yr * Tensor::from_inner(f64_copy(&r))).sum().backward();
        let rows = (shape[0] * shape[1]) as f64;
        assert_close(
            x.grad(&g).unwrap(),
            xr.grad(&gr).unwrap(),
            1e-6 / scale,
            "d layer_norm / dx",
        );
        assert_close(
            gamma.grad(&g).unwrap(),
            gammar.grad(&gr).unwrap(),
            1e-6 * rows,
            "d layer_norm / dγ",
        );
        assert_close(
            beta.grad(&g).unwrap(),
            betar.grad(&gr).unwrap(),
            1e-6 * rows,
            "d layer_norm / dβ",
        );

        // The gated unit: gate and value.
        let v0 = random::<B, 3>(shape, 2.0, 70 + i as u64);
        for act in ACTIVATIONS {
            let gate = Tensor::<A<B>, 3>::from_inner(x0.clone()).require_grad();
            let value = Tensor::<A<B>, 3>::from_inner(v0.clone()).require_grad();
            let g = (vit_ops::glu(gate.clone(), value.clone(), act)
                * Tensor::from_inner(r.clone()))
            .sum()
            .backward();
            let gater = Tensor::<AR, 3>::from_inner(f64_copy(&x0)).require_grad();
            let valuer = Tensor::<AR, 3>::from_inner(f64_copy(&v0)).require_grad();
            let gr = (activation_reference(gater.clone(), act)
                * valuer.clone()
                * Tensor::from_inner(f64_copy(&r)))
            .sum()
            .backward();
            assert_close(
                gate.grad(&g).unwrap(),
                gater.grad(&gr).unwrap(),
                1e-6,
                &format!("d glu {act:?} / dgate"),
            );
            assert_close(
                value.grad(&g).unwrap(),
                valuer.grad(&gr).unwrap(),
                1e-6,
                &format!("d glu {act:?} / dvalue"),
            );
        }

        // RMSNorm: x, γ.
        let x = Tensor::<A<B>, 3>::from_inner(x0.clone()).require_grad();
        let gamma = Tensor::<A<B>, 1>::from_inner(gamma0.clone()).require_grad();
        let g = (vit_ops::rms_norm(x.clone(), gamma.clone(), 1e-5) * Tensor::from_inner(r.clone()))
            .sum()
            .backward();
        let xr = Tensor::<AR, 3>::from_inner(f64_copy(&x0)).require_grad();
        let gammar = Tensor::<AR, 1>::from_inner(f64_copy(&gamma0)).require_grad();
        let gr = (rms_norm_reference(xr.clone(), gammar.clone(), 1e-5)
            * Tensor::from_inner(f64_copy(&r)))
        .sum()
        .backward();
        assert_close(
            x.grad(&g).unwrap(),
            xr.grad(&gr).unwrap(),
            1e-6 / scale,
            "d rms_norm / dx",
        );
        assert_close(
            gamma.grad(&g).unwrap(),
            gammar.grad(&gr).unwrap(),
            1e-6 * rows,
            "d rms_norm / dγ",
        );

        // Linear: x, W, b.
        let out = 7;
        let w0 = random::<B, 2>([d, out], 1.0, 50 + i as u64);
        let b0 = random::<B, 1>([out], 1.0, 60 + i as u64);
        let r_out = random::<B, 3>([shape[0], shape[1], out], 1.0, 70);
        let x = Tensor::<A<B>, 3>::from_inner(x0.clone()).require_grad();
        let w = Tensor::<A<B>, 2>::from_inner(w0.clone()).require_grad();
        let b = Tensor::<A<B>, 1>::from_inner(b0.clone()).require_grad();
        let g = (vit_ops::linear(x.clone(), w.clone(), Some(b.clone()))
            * Tensor::from_inner(r_out.clone()))
        .sum()
        .backward();
        let xr = Tensor::<AR, 3>::from_inner(f64_copy(&x0)).require_grad();
        let wr = Tensor::<AR, 2>::from_inner(f64_copy(&w0)).require_grad();
        let br = Tensor::<AR, 1>::from_inner(f64_copy(&b0)).require_grad();
        let gr = (linear_reference(xr.clone(), wr.clone(), Some(br.clone()))
            * Tensor::from_inner(f64_copy(&r_out)))
        .sum()
        .backward();
        assert_close(
            x.grad(&g).unwrap(),
            xr.grad(&gr).unwrap(),
            1e-6 * out as f64,
            "d linear / dx",
        );
        assert_close(
            w.grad(&g).unwrap(),
            wr.grad(&gr).unwrap(),
            1e-6 * scale * rows,
            "d linear / dW",
        );
        assert_close(
            b.grad(&g).unwrap(),
            br.grad(&gr).unwrap(),
            1e-6 * rows,
            "d linear / db",
        );
    }
}

/// Attention from `qkv [b, n, 3·h·d]` written out in Burn ops: split, scores, softmax, merge.
fn attention_reference<B: Backend>(
    qkv: Tensor<B, 3>,
    heads: usize,
    scale: f64,
    bias: Option<Tensor<B, 4>>,
) -> Tensor<B, 3> {
    let [b, n, w] = qkv.dims();
    let d = w / (3 * heads);
    let x = qkv.reshape([b, n, 3, heads, d]).permute([2, 0, 3, 1, 4]);
    let part = |i: usize| x.clone().narrow(0, i, 1).squeeze_dim::<4>(0);
    let mut scores = part(0).matmul(part(1).swap_dims(2, 3)) * scale;
    if let Some(bias) = bias {
        scores = scores + bias;
    }
    activation::softmax(scores, 3)
        .matmul(part(2))
        .swap_dims(1, 2)
        .reshape([b, n, heads * d])
}

/// Attention shapes `[batch, tokens, heads, head_dim]` with each bias layout.
const ATTENTION: [[usize; 4]; 4] = [[1, 1, 1, 4], [2, 17, 4, 16], [3, 50, 3, 7], [1, 197, 6, 64]];

fn attention_matches_burn<B: VitBackend>()
where
    Autodiff<B>: VitBackend,
{
    type AR = Autodiff<R>;
    for (i, [b, n, h, d]) in ATTENTION.into_iter().enumerate() {
        let qkv = random::<B, 3>([b, n, 3 * h * d], 2.0, 500 + i as u64);
        let scale = (d as f64).powf(-0.5);
        let biases = [
            None,
            Some([1, h, n, n]),
            Some([b, 1, n, n]),
            Some([b, h, n, n]),
        ];
        for (j, bias_shape) in biases.into_iter().enumerate() {
            let bias = bias_shape.map(|shape| random::<B, 4>(shape, 3.0, 600 + j as u64));
            // Forward, on a contiguous and on a strided qkv.
            let want = attention_reference(f64_copy(&qkv), h, scale, bias.as_ref().map(f64_copy));
            let got = vit_ops::attention(qkv.clone(), h, scale, bias.clone());
            assert_close(got, want.clone(), 1e-6, "attention");
            let strided = qkv.clone().swap_dims(0, 1).swap_dims(0, 1);
            assert_close(
                vit_ops::attention(strided, h, scale, bias.clone()),
                want,
                1e-6,
                "attention (strided)",
            );

            // Gradients of Σ out·r for qkv and the bias.
            let r = random::<B, 3>([b, n, h * d], 1.0, 700);
            let x = Tensor::<Autodiff<B>, 3>::from_inner(qkv.clone()).require_grad();
            let bb = bias
                .clone()
                .map(|t| Tensor::<Autodiff<B>, 4>::from_inner(t).require_grad());
            let g = (vit_ops::attention(x.clone(), h, scale, bb.clone())
                * Tensor::from_inner(r.clone()))
            .sum()
            .backward();
            let xr = Tensor::<AR, 3>::from_inner(f64_copy(&qkv)).require_grad();
            let br = bias
                .as_ref()
                .map(|t| Tensor::<AR, 4>::from_inner(f64_copy(t)).require_grad());
            let gr = (attention_reference(xr.clone(), h, scale, br.clone())
                * Tensor::from_inner(f64_copy(&r)))
            .sum()
            .backward();
            assert_close(
                x.grad(&g).unwrap(),
                xr.grad(&gr).unwrap(),
                1e-6 * n as f64,
                "d attention / dqkv",
            );
            if let (Some(bb), Some(br)) = (bb, br) {
                assert_close(
                    bb.grad(&g).unwrap(),
                    br.grad(&gr).unwrap(),
                    1e-6 * b as f64,
                    "d attention / dbias",
                );
            }
        }
    }
}

/// Rotary embeddings on `qkv [b, n, 3·h·d]` written out another way: `rot` as a signed
/// permutation matrix, q and k of the patch tokens rotated, the rest copied.
fn rope_reference<B: Backend>(
    qkv: Tensor<B, 3>,
    sin: Tensor<B, 3>,
    cos: Tensor<B, 3>,
    heads: usize,
    prefix: usize,
    rotate_half: bool,
) -> Tensor<B, 3> {
    let [b, n, w] = qkv.dims();
    let d = w / (3 * heads);
    let mut m = vec![0.0f64; d * d];
    for i in 0..d / 2 {
        let (a, c) = if rotate_half {
            (i, i + d / 2)
        } else {
            (2 * i, 2 * i + 1)
        };
        m[c * d + a] = -1.0; // rot[a] = -x[c]
        m[a * d + c] = 1.0; // rot[c] = x[a]
    }
    let device = qkv.device();
    let rot = Tensor::<B, 2>::from_data(TensorData::new(m, [d, d]), &device).cast(qkv.dtype());
    let x = qkv.reshape([b, n, 3, heads, d]);
    let p = n - prefix;
    let th = sin.dims()[0];
    let table = |t: Tensor<B, 3>| t.swap_dims(0, 1).reshape([1, p, 1, th, d]);
    let qk = x.clone().narrow(2, 0, 2).narrow(1, prefix, p);
    let rotated_part = qk
        .clone()
        .reshape([b * p * 2 * heads, d])
        .matmul(rot)
        .reshape([b, p, 2, heads, d]);
    let out = qk * table(cos) + rotated_part * table(sin);
    let mut parts = Vec::new();
    if prefix > 0 {
        parts.push(x.clone().narrow(2, 0, 2).narrow(1, 0, prefix));
    }
    parts.push(out);
    let qk = Tensor::cat(parts, 1);
    Tensor::cat(vec![qk, x.narrow(2, 2, 1)], 2).reshape([b, n, w])
}

/// [`f64_copy`] cast to f64 explicitly (the copy can arrive as f32).
fn f64_exact<B: Backend, const D: usize>(t: &Tensor<B, D>) -> Tensor<R, D> {
    f64_copy(t).cast(burn::tensor::FloatDType::F64)
}

/// `[batch, tokens, heads, head_dim, prefix, table_heads]`.
const ROPE: [[usize; 6]; 4] = [
    [1, 4, 1, 4, 0, 1],
    [2, 17, 3, 8, 1, 1],
    [3, 21, 2, 16, 5, 2],
    [2, 197, 6, 64, 1, 6],
];

/// `[b, h, w, c]` shapes for the depthwise convolution: one token, odd sides, a channel count
/// below and above a vector, XCiT's.
const DEPTHWISE: [[usize; 4]; 4] = [[1, 1, 1, 3], [2, 3, 5, 7], [2, 6, 4, 33], [2, 14, 14, 64]];

/// The depthwise convolution as Burn's grouped `conv2d` on the channels-first map (f64).
fn depthwise_reference(
    x: Tensor<AutodiffR, 3>,
    [h, w]: [usize; 2],
    weight: Tensor<AutodiffR, 2>,
    bias: Tensor<AutodiffR, 1>,
) -> Tensor<AutodiffR, 3> {
    let [b, n, c] = x.dims();
    let map = x.swap_dims(1, 2).reshape([b, c, h, w]);
    let options = burn::tensor::ops::ConvOptions::new([1, 1], [1, 1], [1, 1], c);
    let out = burn::tensor::module::conv2d(map, weight.reshape([c, 1, 3, 3]), Some(bias), options);
    out.reshape([b, c, n]).swap_dims(1, 2)
}

type AutodiffR = Autodiff<R>;

fn depthwise_matches_burn<B: VitBackend>()
where
    Autodiff<B>: VitBackend,
{
    for (i, [b, h, w, c]) in DEPTHWISE.into_iter().enumerate() {
        let seed = 900 + 10 * i as u64;
        let what = format!("depthwise {b}x{h}x{w}x{c}");
        let x = random::<B, 3>([b, h * w, c], 2.0, seed);
        let weight = random::<B, 2>([c, 9], 1.0, seed + 1);
        let bias = random::<B, 1>([c], 1.0, seed + 2);
        let r = random::<B, 3>([b, h * w, c], 1.0, seed + 3);
        let ad2 = |t: &Tensor<B, 2>| Tensor::<Autodiff<B>, 2>::from_inner(t.clone()).require_grad();
        let (xa, wa, ba) = (
            Tensor::<Autodiff<B>, 3>::from_inner(x.clone()).require_grad(),
            ad2(&weight),
            Tensor::<Autodiff<B>, 1>::from_inner(bias.clone()).require_grad(),
        );
        let out = vit_ops::depthwise_conv3x3(xa.clone(), [h, w], wa.clone(), Some(ba.clone()));
        let g = (out.clone() * Tensor::from_inner(r.clone()))
            .sum()
            .backward();

        let xr = Tensor::<AutodiffR, 3>::from_inner(f64_exact(&x)).require_grad();
        let wr = Tensor::<AutodiffR, 2>::from_inner(f64_exact(&weight)).require_grad();
        let br = Tensor::<AutodiffR, 1>::from_inner(f64_exact(&bias)).require_grad();
        let want = depthwise_reference(xr.clone(), [h, w], wr.clone(), br.clone());
        let gr = (want.clone() * Tensor::from_inner(f64_exact(&r)))
            .sum()
            .backward();

        assert_close(out.inner(), want.inner(), 1e-5, &what);
        assert_close(
            xa.grad(&g).unwrap(),
            xr.grad(&gr).unwrap(),
            1e-5,
            &format!("{what} dx"),
        );
        assert_close(
            wa.grad(&g).unwrap(),
            wr.grad(&gr).unwrap(),
            1e-4,
            &format!("{what} dw"),
        );
        assert_close(
            ba.grad(&g).unwrap(),
            br.grad(&gr).unwrap(),
            1e-4,
            &format!("{what} db"),
        );
        // Without a bias: the same numbers less the bias.
        let plain = vit_ops::depthwise_conv3x3(x.clone(), [h, w], weight.clone(), None);
        let biased = vit_ops::depthwise_conv3x3(x, [h, w], weight, Some(bias.clone()));
        assert_close(
            plain + bias.unsqueeze::<3>(),
            f64_exact(&biased),
            1e-5,
            &format!("{what} without bias"),
        );
    }
}

fn rope_matches_burn<B: VitBackend>()
where
    Autodiff<B>: VitBackend,
{
    type AR = Autodiff<R>;
    for (i, [b, n, h, d, prefix, th]) in ROPE.into_iter().enumerate() {
        for rotate_half in [false, true] {
            let seed = 800 + 10 * i as u64 + u64::from(rotate_half);
            let qkv = random::<B, 3>([b, n, 3 * h * d], 2.0, seed);
            // Tables as RoPE lays them out: both channels of a rotated pair share their value.
            let layout = |t: Tensor<B, 3>| {
                let [a, p, half] = t.dims();
                if rotate_half {
                    Tensor::cat(vec![t.clone(), t], 2)
                } else {
                    t.reshape([a, p, half, 1])
                        .expand([a, p, half, 2])
                        .reshape([a, p, 2 * half])
                }
            };
            let sin = layout(random::<B, 3>([th, n - prefix, d / 2], 1.0, seed + 1));
            let cos = layout(random::<B, 3>([th, n - prefix, d / 2], 1.0, seed + 2));
            let what =
                format!("rope {b}x{n} h{h} d{d} prefix {prefix} tables {th} half {rotate_half}");
            let want = rope_reference(
                f64_exact(&qkv),
                f64_exact(&sin),
                f64_exact(&cos),
                h,
                prefix,
                rotate_half,
            );
            let got = vit_ops::rope_qkv(
                qkv.clone(),
                sin.clone(),
                cos.clone(),
                h,
                prefix,
                rotate_half,
            );
            assert_close(got, want, 1e-6, &what);

            // Gradients of Σ out·r for qkv and both (learned) tables.
            let r = random::<B, 3>([b, n, 3 * h * d], 1.0, seed + 3);
            let ad =
                |t: &Tensor<B, 3>| Tensor::<Autodiff<B>, 3>::from_inner(t.clone()).require_grad();
            let (x, s, c) = (ad(&qkv), ad(&sin), ad(&cos));
            let g = (vit_ops::rope_qkv(x.clone(), s.clone(), c.clone(), h, prefix, rotate_half)
                * Tensor::from_inner(r.clone()))
            .sum()
            .backward();
            let adr = |t: &Tensor<B, 3>| Tensor::<AR, 3>::from_inner(f64_exact(t)).require_grad();
            let (xr, sr, cr) = (adr(&qkv), adr(&sin), adr(&cos));
            let gr = (rope_reference(xr.clone(), sr.clone(), cr.clone(), h, prefix, rotate_half)
                * Tensor::from_inner(f64_exact(&r)))
            .sum()
            .backward();
            assert_close(
                x.grad(&g).unwrap(),
                xr.grad(&gr).unwrap(),
                1e-6,
                &format!("d {what} / dqkv"),
            );
            let atol = 1e-6 * (b * 2 * h) as f64;
            assert_close(
                s.grad(&g).unwrap(),
                sr.grad(&gr).unwrap(),
                atol,
                &format!("d {what} / dsin"),
            );
            assert_close(
                c.grad(&g).unwrap(),
                cr.grad(&gr).unwrap(),
                atol,
                &format!("d {what} / dcos"),
            );

            // Fixed tables: only the gradient of qkv is asked for (the kernel's transpose alone).
            let x = ad(&qkv);
            let g = (vit_ops::rope_qkv(
                x.clone(),
                Tensor::from_inner(sin.clone()),
                Tensor::from_inner(cos.clone()),
                h,
                prefix,
                rotate_half,
            ) * Tensor::from_inner(r.clone()))
            .sum()
            .backward();
            assert_close(
                x.grad(&g).unwrap(),
                xr.grad(&gr).unwrap(),
                1e-6,
                &format!("d {what} / dqkv, fixed tables"),
            );
        }
    }
}

/// A product big enough to be split over threads by the GEMM, against the f64 reference.
fn large_linear_matches_burn<B: VitBackend>() {
    let (m, k, n) = (300, 512, 384);
    let x = random::<B, 2>([m, k], 1.0, 900);
    let w = random::<B, 2>([k, n], 1.0, 901);
    let b = random::<B, 1>([n], 1.0, 902);
    let want = linear_reference(f64_copy(&x), f64_copy(&w), Some(f64_copy(&b)));
    assert_close(
        vit_ops::linear(x, w, Some(b)),
        want,
        1e-6 * k as f64,
        "large linear",
    );
}

/// A frozen bias and an input without gradient: only the gradients asked for come back.
fn partial_gradients<B: VitBackend>()
where
    Autodiff<B>: VitBackend,
{
    let x = Tensor::<Autodiff<B>, 2>::from_inner(random::<B, 2>([4, 6], 1.0, 1));
    let w = Tensor::<Autodiff<B>, 2>::from_inner(random::<B, 2>([6, 3], 1.0, 2)).require_grad();
    let b = Tensor::<Autodiff<B>, 1>::from_inner(random::<B, 1>([3], 1.0, 3));
    let g = vit_ops::linear(x.clone(), w.clone(), Some(b.clone()))
        .sum()
        .backward();
    assert!(w.grad(&g).is_some());
    assert!(x.grad(&g).is_none() && b.grad(&g).is_none());
    let want = f64_copy(&x.inner())
        .sum_dim(0)
        .reshape([6, 1])
        .expand([6, 3]);
    assert_close(w.grad(&g).unwrap(), want, 1e-6, "dW of Σ(xW + b)");
}

/// Values from `TensorData` keep working when not f32 (f64 tensors go to Burn's ops).
fn other_dtypes_fall_back<B: VitBackend>() {
    let x = Tensor::<B, 2>::from_data(TensorData::from([[0.5f64, -1.0, 2.0]]), &Default::default())
        .cast(burn::tensor::FloatDType::F64);
    let y = vit_ops::gelu(x.clone());
    assert_eq!(y.dtype(), x.dtype());
}

macro_rules! backend_tests {
    ($module:ident, $backend:ty) => {
        mod $module {
            use super::*;
            #[test]
            fn forward_ops_match_burn() {
                super::forward_ops_match_burn::<$backend>();
            }
            #[test]
            fn gradients_match_burn() {
                super::gradients_match_burn::<$backend>();
            }
            #[test]
            fn attention_matches_burn() {
                super::attention_matches_burn::<$backend>();
            }
            #[test]
            fn rope_matches_burn() {
                super::rope_matches_burn::<$backend>();
            }
            #[test]
            fn depthwise_matches_burn() {
                super::depthwise_matches_burn::<$backend>();
            }
            #[test]
            fn large_linear_matches_burn() {
                super::large_linear_matches_burn::<$backend>();
            }
            #[test]
            fn partial_gradients() {
                super::partial_gradients::<$backend>();
            }
            #[test]
            fn other_dtypes_fall_back() {
                super::other_dtypes_fall_back::<$backend>();
            }
        }
    };
}

backend_tests!(ndarray, NdArray<f32>);
backend_tests!(flex, Flex);

/// Rounding to bf16/f16 as autocast uses it on the CPU: the kernel equals Flex's own conversion
/// there and back on these values (Flex has the half types; its bf16 cast differs on a rare bit
/// pattern, see `kernels::round`), and under autodiff the gradient is rounded the same way, as
/// the gradient of a conversion there and back is.
#[test]
fn rounding_to_half_precision_and_its_gradient_are_the_conversions() {
    use burn::tensor::FloatDType;
    fn check<B: VitBackend>() {
        for dtype in [FloatDType::BF16, FloatDType::F16] {
            // f32 whatever the device's default float type is now: the f64 reference tensors of
            // the tests running beside this one share NdArray's device.
            let x = random::<Autodiff<B>, 2>([7, 33], 300.0, 5)
                .cast(FloatDType::F32)
                .require_grad();
            let flex = Tensor::<Flex, 2>::from_data(x.to_data(), &Default::default());
            let want = flex.clone().cast(dtype).cast(FloatDType::F32).into_data();
            let y = vit_ops::round_to(x.clone(), dtype);
            assert_eq!(y.to_data(), want, "{dtype:?} forward");
            let upstream = random::<Autodiff<B>, 2>([7, 33], 3.0, 6).cast(FloatDType::F32);
            let grads = (y * upstream.clone()).sum().backward();
            let grad = x.grad(&grads).unwrap().into_data();
            let upstream = Tensor::<Flex, 2>::from_data(upstream.to_data(), &Default::default());
            let want = upstream.cast(dtype).cast(FloatDType::F32).into_data();
            assert_eq!(grad, want, "{dtype:?} gradient");
        }
    }
    check::<NdArray<f32>>();
    check::<Flex>();
}
