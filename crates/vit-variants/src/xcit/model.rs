//! XCiT: cross-covariance attention (attention over channels, not tokens), a local patch
//! interaction of depthwise convolutions, a convolutional patch embedding and Fourier position
//! features, then CaiT-style class attention (timm's `Xcit`; keys timm's but the patch
//! embedding's `Sequential`, read as `proj.{i}.conv` / `proj.{i}.bn`).

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, PaddingConfig2d};
use burn::tensor::{Tensor, TensorData};
use vit_core::VitBackend;
use vit_core::error::{Result, VitError};
use vit_core::features::{
    FeatureFormat, FeatureIndices, FeatureInfo, Intermediates, IntermediatesOptions,
};
use vit_core::inspect::{AttentionWeights, PatchFilters, PatchPositions};
use vit_core::layers::activation::Activation;
use vit_core::layers::batch_norm::{BatchNormAct, BatchNormActConfig};
use vit_core::layers::class_attention::{ClassAttn, ClassAttnConfig};
use vit_core::layers::drop_path::DropPath;
use vit_core::layers::init::{TIMM_INIT_STD, lazy_param, timm_linear, trunc_normal_timm};
use vit_core::layers::linear::{linear, linear_scaled};
use vit_core::layers::mlp::{Mlp, MlpConfig};
use vit_core::layers::norm::{Norm, maybe_norm};
use vit_core::layers::pooling::GlobalPool;
use vit_core::layers::stems::conv_stem::ConvNormAct;
use vit_core::model::VisionModel;
use vit_core::ops::depthwise_conv3x3;

use crate::cait::model::{layer_scale, scaled};
use crate::late_class_token::{
    block_feature_info, default_feature_maps, patch_block_intermediates, pooled_head,
};
use crate::xcit::config::{FOURIER_CHANNELS, XCIT_FAMILY, XcitConfig};

/// XCiT's Fourier position features of a `[rows, cols]` grid, `[1, 64, rows, cols]`, computed in
/// f32 in timm's order of operations (`PositionalEncodingFourier`: positions 1…H scaled to
/// `(0, 2π]`, 16 frequency pairs per axis, rows' features first).
pub fn fourier_features(grid: [usize; 2]) -> TensorData {
    const HIDDEN: usize = FOURIER_CHANNELS / 2;
    let [h, w] = grid;
    let scale = 2.0 * std::f32::consts::PI;
    let periods: Vec<f32> = (0..HIDDEN)
        .map(|k| 10000f32.powf((2 * (k / 2)) as f32 / HIDDEN as f32))
        .collect();
    let axis = |n: usize| -> Vec<f32> {
        (1..=n)
            .map(|i| i as f32 / (n as f32 + 1e-6) * scale)
            .collect()
    };
    let (ys, xs) = (axis(h), axis(w));
    let mut out = vec![0f32; FOURIER_CHANNELS * h * w];
    for (half, coords) in [(0, &ys), (1, &xs)] {
        for i in 0..h {
            for j in 0..w {
                let v = if half == 0 { coords[i] } else { coords[j] };
                for (k, period) in periods.iter().enumerate() {
                    let a = v / period;
                    // Channel pairs (sin, cos) of the same frequency.
                    let value = if k % 2 == 0 { a.sin() } else { a.cos() };
                    out[((half * HIDDEN + k) * h + i) * w + j] = value;
                }
            }
        }
    }
    TensorData::new(out, [1, FOURIER_CHANNELS, h, w])
}

/// timm's `PositionalEncodingFourier`: the Fourier features through a 1×1 convolution.
#[derive(Module, Debug)]
pub struct FourierPositions<B: VitBackend> {
    /// `64 → dim`, with a bias.
    pub token_projection: Conv2d<B>,
}

impl<B: VitBackend> FourierPositions<B> {
    /// The encoding of a grid, `[1, rows·cols, dim]`.
    pub fn forward(&self, grid: [usize; 2]) -> Tensor<B, 3> {
        let device = self.token_projection.weight.device();
        let features = Tensor::<B, 4>::from_data(fourier_features(grid), &device);
        let pos = self.token_projection.forward(features);
        let [_, d, h, w] = pos.dims();
        pos.reshape([1, d, h * w]).swap_dims(1, 2)
    }
}

/// Cross-covariance attention (timm's `XCA`): per head, the `d×d` covariance of the
/// L2-normalised (over tokens) queries and keys, scaled by a learned temperature, mixes the
/// values' channels.
#[derive(Module, Debug)]
pub struct Xca<B: VitBackend> {
    /// Per-head temperature `[heads, 1, 1]`.
    pub temperature: Param<Tensor<B, 3>>,
    /// Fused query/key/value projection.
    pub qkv: Linear<B>,
    /// Output projection.
    pub proj: Linear<B>,
    /// Dropout on the attention weights.
    pub attn_drop: Dropout,
    /// Dropout after `proj`.
    pub proj_drop: Dropout,
    /// Heads.
    pub num_heads: usize,
}

/// `max(‖x‖, 1e-12)` over the last axis (`F.normalize`'s divisor), `[..., 1]`.
fn l2_norm<B: VitBackend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    x.powi_scalar(2).sum_dim(3).sqrt().clamp_min(1e-12)
}

impl<B: VitBackend> Xca<B> {
    /// `x [batch, tokens, dim]` → same shape, times the LayerScale `gamma` when given (folded
    /// into the output projection).
    pub fn forward(&self, x: Tensor<B, 3>, gamma: Option<Tensor<B, 1>>) -> Tensor<B, 3> {
        let [b, n, c] = x.dims();
        let h = self.num_heads;
        let qkv = linear(&self.qkv, x).reshape([b, n, 3, h, c / h]);
        // [batch, heads, head_dim, tokens]
        let part = |i: usize| {
            qkv.clone()
                .narrow(2, i, 1)
                .reshape([b, n, h, c / h])
                .permute([0, 2, 3, 1])
        };
        let (q, k, v) = (part(0), part(1), part(2));
        // normalize(q)·normalize(k)ᵀ = (q·kᵀ) / (‖qᵢ‖·‖kⱼ‖): the norms divide the small
        // `head_dim × head_dim` product instead of every token's queries and keys.
        let norms = l2_norm(q.clone()) * l2_norm(k.clone()).swap_dims(2, 3);
        let temperature = self.temperature.val().reshape([1, h, 1, 1]);
        let scores = q.matmul(k.swap_dims(2, 3)) / norms * temperature;
        let weights = self.attn_drop.forward(vit_core::ops::softmax_last(scores));
        let out = weights.matmul(v).permute([0, 3, 1, 2]).reshape([b, n, c]);
        let out = match gamma {
            Some(gamma) => linear_scaled(&self.proj, out, gamma),
            None => linear(&self.proj, out),
        };
        self.proj_drop.forward(out)
    }
}

/// The local patch interaction (timm's `LPI`): depthwise 3×3, activation, BatchNorm, depthwise
/// 3×3, on the token map.
#[derive(Module, Debug)]
pub struct Lpi<B: VitBackend> {
    /// First depthwise convolution.
    pub conv1: Conv2d<B>,
    /// Its activation.
    pub act: Activation,
    /// BatchNorm (inference form: running statistics).
    pub bn: BatchNormAct<B>,
    /// Second depthwise convolution.
    pub conv2: Conv2d<B>,
}

impl<B: VitBackend> Lpi<B> {
    /// `x [batch, tokens, dim]` on a `grid` → same shape, times the LayerScale `gamma` when
    /// given (folded into the second convolution's kernels and bias).
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        grid: [usize; 2],
        gamma: Option<Tensor<B, 1>>,
    ) -> Tensor<B, 3> {
        let c = x.dims()[2];
        // Both depthwise convolutions run on the tokens as they are (vit-ops' channels-last
        // kernel: no layout copies). conv2(bn(y))·γ = conv2'(y) + conv2'(t), conv2' = conv2's
        // kernels times s·γ: the norm's scale s folds into the kernels, its shift t becomes a
        // map of one image (smaller at the borders, where the zero padding has no shift) added
        // with conv2's bias.
        let kernels = |conv: &Conv2d<B>| conv.weight.val().reshape([c, 9]);
        let hidden = depthwise_conv3x3(
            x,
            grid,
            kernels(&self.conv1),
            self.conv1.bias.as_ref().map(|b| b.val()),
        );
        let hidden = self.act.forward(hidden);
        let (scale, shift) = self.bn.scale_shift();
        let (scale, kernels2, bias2) = match &gamma {
            Some(gamma) => (
                scale * gamma.clone(),
                kernels(&self.conv2) * gamma.clone().unsqueeze_dim::<2>(1),
                self.conv2.bias.as_ref().map(|b| b.val() * gamma.clone()),
            ),
            None => (
                scale,
                kernels(&self.conv2),
                self.conv2.bias.as_ref().map(|b| b.val()),
            ),
        };
        let folded = kernels(&self.conv2) * scale.unsqueeze_dim::<2>(1);
        let shift_map = shift.reshape([1, 1, c]).expand([1, grid[0] * grid[1], c]);
        let constant = depthwise_conv3x3(shift_map, grid, kernels2, bias2);
        depthwise_conv3x3(hidden, grid, folded, None) + constant
    }
}

/// A cross-covariance block (timm's `XCABlock`: attention, local patch interaction and MLP,
/// each pre-norm with LayerScale).
#[derive(Module, Debug)]
pub struct XcaBlock<B: VitBackend> {
    /// Norm before attention.
    pub norm1: Norm<B>,
    /// Cross-covariance attention.
    pub attn: Xca<B>,
    /// Norm before the local patch interaction.
    pub norm3: Norm<B>,
    /// The local patch interaction.
    pub local_mp: Lpi<B>,
    /// Norm before the MLP.
    pub norm2: Norm<B>,
    /// The MLP.
    pub mlp: Mlp<B>,
    /// LayerScale of the attention branch.
    pub gamma1: Param<Tensor<B, 1>>,
    /// LayerScale of the local patch interaction.
    pub gamma3: Param<Tensor<B, 1>>,
    /// LayerScale of the MLP branch.
    pub gamma2: Param<Tensor<B, 1>>,
    /// Stochastic depth of the branches.
    pub drop_path: DropPath,
}

impl<B: VitBackend> XcaBlock<B> {
    /// `x [batch, patches, dim]` on a `grid` → same shape. Each LayerScale is folded into the
    /// last layer of its branch.
    pub fn forward(&self, x: Tensor<B, 3>, grid: [usize; 2]) -> Tensor<B, 3> {
        let attn = self
            .attn
            .forward(self.norm1.forward(x.clone()), Some(self.gamma1.val()));
        let x = x + self.drop_path.forward(attn);
        let local =
            self.local_mp
                .forward(self.norm3.forward(x.clone()), grid, Some(self.gamma3.val()));
        let x = x + self.drop_path.forward(local);
        let mlp = self
            .mlp
            .forward_scaled(self.norm2.forward(x.clone()), Some(self.gamma2.val()));
        x + self.drop_path.forward(mlp)
    }
}

/// XCiT's class-attention block (timm's `ClassAttentionBlock`).
#[derive(Module, Debug)]
pub struct XcitClassBlock<B: VitBackend> {
    /// Norm of every token before attention.
    pub norm1: Norm<B>,
    /// Class attention.
    pub attn: ClassAttn<B>,
    /// Norm before the MLP (of the class token, or of every token with `tokens_norm`).
    pub norm2: Norm<B>,
    /// The MLP (on the class token).
    pub mlp: Mlp<B>,
    /// LayerScale of the attention branch.
    pub gamma1: Param<Tensor<B, 1>>,
    /// LayerScale of the MLP branch.
    pub gamma2: Param<Tensor<B, 1>>,
    /// Norm every token before the MLP.
    pub tokens_norm: bool,
}

impl<B: VitBackend> XcitClassBlock<B> {
    /// `x [batch, 1 + patches, dim]` (class token first) → same shape, exactly as timm's block
    /// (whose patch tokens also change: they gain their normed selves and are doubled by the
    /// second residual).
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, n, d] = x.dims();
        let normed = self.norm1.forward(x.clone());
        let (cls, _) = self.attn.forward(normed.clone(), false);
        let attended = Tensor::cat(vec![cls, normed.narrow(1, 1, n - 1)], 1);
        let x = x + scaled(&self.gamma1, attended);
        let x = if self.tokens_norm {
            self.norm2.forward(x)
        } else {
            let cls = self.norm2.forward(x.clone().narrow(1, 0, 1));
            Tensor::cat(vec![cls, x.narrow(1, 1, n - 1)], 1)
        };
        let cls = scaled(&self.gamma2, self.mlp.forward(x.clone().narrow(1, 0, 1)));
        let update = Tensor::cat(vec![cls, x.clone().narrow(1, 1, n - 1)], 1);
        debug_assert_eq!(update.dims(), [b, n, d]);
        x + update
    }
}

/// An XCiT.
#[derive(Module, Debug)]
pub struct Xcit<B: VitBackend> {
    /// The convolutional patch embedding (stride-2 3×3 convolutions with BatchNorm, GELU
    /// between them).
    pub patch_embed: Vec<ConvNormAct<B>>,
    /// The class token `[1, 1, dim]`, joined before the class-attention blocks (absent once
    /// pruned with its head).
    pub cls_token: Option<Param<Tensor<B, 3>>>,
    /// The Fourier position encoding.
    pub pos_embed: Option<FourierPositions<B>>,
    /// Dropout after the position encoding.
    pub pos_drop: Dropout,
    /// The cross-covariance blocks.
    pub blocks: Vec<XcaBlock<B>>,
    /// The class-attention blocks.
    pub cls_attn_blocks: Vec<XcitClassBlock<B>>,
    /// The final norm (absent once pruned).
    pub norm: Option<Norm<B>>,
    /// Dropout before the head.
    pub head_drop: Dropout,
    /// The classifier (absent when `num_classes = 0`).
    pub head: Option<Linear<B>>,
    /// How the features are pooled.
    pub global_pool: GlobalPool,
    /// Patch side in pixels.
    pub patch_size: usize,
    /// Input channels.
    pub in_chans: usize,
    /// Token width.
    pub embed_dim: usize,
    /// The input size the model was built for.
    pub img_size: [usize; 2],
    /// Inputs of any size of whole patches.
    pub dynamic_img_size: bool,
}

impl XcitConfig {
    /// Builds the model after [`Self::validate`], with timm's initialisation.
    pub fn try_init<B: VitBackend>(&self, device: &B::Device) -> Result<Xcit<B>> {
        self.validate()?;
        vit_core::memory::check_weights_fit(self, "depth / embed_dim")?;
        let d = self.embed_dim;
        let norm = || self.norm_layer.init(d, self.norm_eps, device);
        let mlp = || {
            MlpConfig::new(d, (d as f64 * self.mlp_ratio) as usize)
                .with_act(self.act_layer)
                .with_drop(self.proj_drop_rate)
                .init(device)
        };
        let channels = self.embed_channels();
        let mut cin = self.in_chans;
        let patch_embed = channels
            .iter()
            .enumerate()
            .map(|(i, &cout)| {
                let layer = ConvNormAct {
                    conv: Conv2dConfig::new([cin, cout], [3, 3])
                        .with_stride([2, 2])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .with_bias(false)
                        .init(device),
                    bn: Some(
                        BatchNormActConfig::new(cout)
                            .with_act((i + 1 < channels.len()).then_some(self.act_layer))
                            .init(device),
                    ),
                };
                cin = cout;
                layer
            })
            .collect();
        let depthwise = || {
            Conv2dConfig::new([d, d], [3, 3])
                .with_groups(d)
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let heads = self.num_heads;
        let blocks = (0..self.depth)
            .map(|_| XcaBlock {
                norm1: norm(),
                attn: Xca {
                    temperature: lazy_param([heads, 1, 1], device, move |device| {
                        Tensor::ones([heads, 1, 1], device)
                    }),
                    qkv: timm_linear(d, 3 * d, self.qkv_bias, device),
                    proj: timm_linear(d, d, true, device),
                    attn_drop: DropoutConfig::new(self.attn_drop_rate).init(),
                    proj_drop: DropoutConfig::new(self.proj_drop_rate).init(),
                    num_heads: heads,
                },
                norm3: norm(),
                local_mp: Lpi {
                    conv1: depthwise(),
                    act: self.act_layer,
                    bn: BatchNormActConfig::new(d).init(device),
                    conv2: depthwise(),
                },
                norm2: norm(),
                mlp: mlp(),
                gamma1: layer_scale(d, self.eta, device),
                gamma3: layer_scale(d, self.eta, device),
                gamma2: layer_scale(d, self.eta, device),
                drop_path: DropPath::new(self.drop_path_rate),
            })
            .collect();
        let cls_attn_blocks = (0..self.cls_attn_layers)
            .map(|_| XcitClassBlock {
                norm1: norm(),
                attn: ClassAttnConfig::new(d, heads)
                    .with_qkv_bias(self.qkv_bias)
                    .with_attn_drop(self.attn_drop_rate)
                    .with_proj_drop(self.proj_drop_rate)
                    .init(device),
                norm2: norm(),
                mlp: mlp(),
                gamma1: layer_scale(d, self.eta, device),
                gamma2: layer_scale(d, self.eta, device),
                tokens_norm: self.tokens_norm,
            })
            .collect();
        Ok(Xcit {
            patch_embed,
            cls_token: Some(lazy_param([1, 1, d], device, move |device| {
                trunc_normal_timm([1, 1, d], TIMM_INIT_STD, device)
            })),
            pos_embed: self.use_pos_embed.then(|| FourierPositions {
                token_projection: Conv2dConfig::new([FOURIER_CHANNELS, d], [1, 1]).init(device),
            }),
            pos_drop: DropoutConfig::new(self.pos_drop_rate).init(),
            blocks,
            cls_attn_blocks,
            norm: Some(norm()),
            head_drop: DropoutConfig::new(self.drop_rate).init(),
            head: (self.num_classes > 0).then(|| timm_linear(d, self.num_classes, true, device)),
            global_pool: self.global_pool,
            patch_size: self.patch_size,
            in_chans: self.in_chans,
            embed_dim: d,
            img_size: self.img_size,
            dynamic_img_size: self.dynamic_img_size,
        })
    }

    /// Builds the model.
    ///
    /// # Panics
    /// On an invalid config; use [`Self::try_init`] for configs that come from users.
    pub fn init<B: VitBackend>(&self, device: &B::Device) -> Xcit<B> {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }
}

fn unsupported(operation: &str, reason: &str) -> VitError {
    VitError::Unsupported {
        operation: operation.into(),
        family: XCIT_FAMILY.into(),
        reason: reason.into(),
    }
}

impl<B: VitBackend> Xcit<B> {
    /// The patch tokens with their position encoding `[batch, patches, dim]`, and their grid.
    fn embed(&self, images: Tensor<B, 4>) -> (Tensor<B, 3>, [usize; 2]) {
        let mut x = images;
        for layer in &self.patch_embed {
            x = layer.forward(x);
        }
        let [b, d, h, w] = x.dims();
        let mut tokens = x.reshape([b, d, h * w]).swap_dims(1, 2);
        if let Some(pos) = &self.pos_embed {
            tokens = tokens + pos.forward([h, w]);
        }
        (self.pos_drop.forward(tokens), [h, w])
    }

    /// The class token prepended and run through the class-attention blocks (the patches as
    /// they are once the class token was pruned).
    fn with_class_token(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let Some(cls) = &self.cls_token else {
            return x;
        };
        let [b, _, d] = x.dims();
        let mut x = Tensor::cat(vec![cls.val().expand([b, 1, d]), x], 1);
        for block in &self.cls_attn_blocks {
            x = block.forward(x);
        }
        x
    }

    /// All tokens `[batch, 1 + patches, dim]` after both kinds of block and the final norm.
    pub fn forward_features(&self, images: Tensor<B, 4>) -> Tensor<B, 3> {
        let (mut x, grid) = self.embed(images);
        for block in &self.blocks {
            x = block.forward(x, grid);
        }
        maybe_norm(&self.norm, self.with_class_token(x))
    }

    /// Pools the features (the class token, or the patches' mean) and applies the head.
    pub fn forward_head(&self, features: Tensor<B, 3>, pre_logits: bool) -> Tensor<B, 2> {
        pooled_head(
            features,
            self.global_pool,
            self.cls_token.is_some(),
            &self.head_drop,
            &self.head,
            pre_logits,
        )
    }
}

impl<B: VitBackend> VisionModel<B> for Xcit<B> {
    fn check_input(&self, [_, c, h, w]: [usize; 4]) -> Result<()> {
        let p = self.patch_size;
        let fits = if self.dynamic_img_size {
            h > 0 && w > 0 && h % p == 0 && w % p == 0
        } else {
            [h, w] == self.img_size
        };
        if c != self.in_chans || !fits {
            let wanted = if self.dynamic_img_size {
                format!("a size of whole {p}-pixel patches")
            } else {
                format!(
                    "{}x{} (build it with `dynamic_img_size = true` to run other sizes)",
                    self.img_size[0], self.img_size[1]
                )
            };
            return Err(VitError::InvalidConfig {
                field: "input".into(),
                reason: format!(
                    "expected {} channels at {wanted}, got {c} channels at {h}x{w}",
                    self.in_chans
                ),
            });
        }
        Ok(())
    }

    fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), false)
    }

    fn forward_pre_logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_head(self.forward_features(images), true)
    }

    fn forward_features(&self, images: Tensor<B, 4>) -> TensorData {
        Xcit::forward_features(self, images).into_data()
    }

    fn num_classes(&self) -> usize {
        self.head.as_ref().map_or(0, |h| h.weight.lazy_shape()[1])
    }

    fn num_features(&self) -> usize {
        self.embed_dim
    }

    fn reset_classifier(&mut self, num_classes: usize, device: &B::Device) -> Vec<String> {
        self.head =
            (num_classes > 0).then(|| timm_linear(self.embed_dim, num_classes, true, device));
        if num_classes == 0 {
            return Vec::new();
        }
        vec!["head.weight".into(), "head.bias".into()]
    }

    fn enable_dynamic_img_size(&mut self) -> bool {
        self.dynamic_img_size = true;
        true
    }

    fn attention_weights(&self, _images: Tensor<B, 4>) -> Result<AttentionWeights<B>> {
        Err(unsupported(
            "token attention maps",
            "XCiT attends across channels (a head_dim x head_dim cross-covariance per head), \
             not between tokens; only its last class-attention blocks look at patches",
        ))
    }

    /// The projected Fourier encoding of the built grid (learned through its projection).
    fn patch_positions(&self) -> Result<PatchPositions> {
        let Some(pos) = &self.pos_embed else {
            return Err(unsupported(
                "the position embedding",
                "this model is built with `use_pos_embed: false`",
            ));
        };
        let grid = self.img_size.map(|s| s / self.patch_size);
        let vectors = pos
            .forward(grid)
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .map_err(|e| unsupported("the position embedding", &format!("{e:?}")))?;
        Ok(PatchPositions {
            vectors,
            grid,
            dim: self.embed_dim,
            learned: true,
        })
    }

    fn patch_filters(&self) -> Result<PatchFilters> {
        Err(unsupported(
            "patch embedding filters",
            "XCiT embeds patches with a stack of stride-2 3x3 convolutions, not one linear \
             filter per patch",
        ))
    }

    /// The cross-covariance blocks' outputs on the patch grid (the class token joins only
    /// later: there are no prefix tokens to return).
    fn forward_intermediates(
        &self,
        images: Tensor<B, 4>,
        options: &IntermediatesOptions,
    ) -> Result<Intermediates<B>> {
        self.check_input(images.dims())?;
        let (x, grid) = self.embed(images);
        patch_block_intermediates(
            x,
            grid,
            self.blocks.len(),
            options,
            &self.norm,
            |i, x| self.blocks[i].forward(x, grid),
            |x| self.with_class_token(x),
        )
    }

    fn feature_info(&self) -> Vec<FeatureInfo> {
        block_feature_info(self.blocks.len(), self.embed_dim, self.patch_size)
    }

    /// Drops the blocks after the last of `indices`; with `prune_head` the class token, its
    /// blocks and the head (pooling becomes the patches' mean); with `prune_norm` the norm.
    fn prune_intermediate_layers(
        &mut self,
        indices: &FeatureIndices,
        prune_norm: bool,
        prune_head: bool,
    ) -> Result<Vec<usize>> {
        let (take, max) = indices.resolve(self.blocks.len())?;
        self.blocks.truncate(max + 1);
        if prune_norm {
            self.norm = None;
        }
        if prune_head {
            self.cls_token = None;
            self.cls_attn_blocks.clear();
            self.head = None;
            self.global_pool = GlobalPool::Avg;
        }
        Ok(take)
    }

    fn default_feature_maps(&self) -> (FeatureIndices, FeatureFormat) {
        default_feature_maps(self.blocks.len())
    }
}
