//! The model a run trains — fresh from `model`, or pretrained from `init` with a new head and
//! optionally a frozen backbone — and the distillation teacher.

use std::path::Path;
use vit_core::VitBackend;

use burn::module::Module;
use vit_core::model::ModelConfig;
use vit_core::preprocess::PretrainedCfg;
use vit_variants::zoo::{PretrainedModel, ZooConfig, ZooModel};

use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::run::finetune::freeze_backbone;

/// The error when a config names no model.
pub const NO_MODEL: &str =
    "the config needs `model` (an architecture) or `init` (pretrained weights)";

/// The model a run trains.
pub struct Built<B: VitBackend> {
    /// Its config (with the run's stochastic-depth rate).
    pub config: ZooConfig,
    /// The model, weights drawn or loaded.
    pub model: ZooModel<B>,
    /// The checkpoint's preprocessing (with `init`).
    pub pretrained_cfg: Option<PretrainedCfg>,
    /// What loading pretrained weights did (fresh head, frozen backbone, …).
    pub report: Vec<String>,
    /// Parameters the optimiser updates (fewer with a frozen backbone).
    pub trainable_params: usize,
}

/// The model to train, built from `model` or loaded from `init`, with its head sized for
/// `num_classes`.
pub fn build_model<B: VitBackend>(
    config: &TrainConfig,
    num_classes: usize,
    device: &B::Device,
) -> Result<Built<B>> {
    let Some(init) = &config.init else {
        let mut model = config
            .model
            .clone()
            .ok_or_else(|| TrainError::Config(NO_MODEL.into()))?;
        if model.num_classes() != num_classes {
            return Err(TrainError::Config(format!(
                "model.config.num_classes is {}, the data set has {num_classes} classes",
                model.num_classes()
            )));
        }
        if let Some(rate) = config.drop_path_rate {
            model.set_drop_path_rate(rate);
        }
        let net = model.try_init::<B>(device)?;
        let trainable_params = net.num_params();
        return Ok(Built {
            config: model,
            model: net,
            pretrained_cfg: None,
            report: Vec::new(),
            trainable_params,
        });
    };
    let loaded = vit_variants::model_location(&init.from, false)
        .and_then(|from| {
            PretrainedModel::<B>::load(&from, config.model.clone(), Some(num_classes), device)
        })
        .map_err(TrainError::model_field("init.from"))?;
    let r = &loaded.report;
    let mut report = vec![format!(
        "{} tensors loaded from {}",
        r.loaded,
        init.from.display()
    )];
    report.extend(r.fresh.iter().map(|k| format!("fresh (new head): {k}")));
    report.extend(r.adapted.iter().map(|k| format!("adapted: {k}")));
    report.extend(r.ignored.iter().map(|k| format!("ignored: {k}")));
    let pretrained_cfg = Some(loaded.pretrained_cfg);
    let mut model = loaded.config;
    let mut net = loaded.model;
    if let Some(rate) = config.drop_path_rate {
        // The stochastic-depth rate is a constant of the module: build it anew with the
        // rate and move the loaded weights in.
        model.set_drop_path_rate(rate);
        net = model.try_init::<B>(device)?.load_record(net.into_record());
    }
    let mut trainable_params = net.num_params();
    if init.freeze_backbone {
        let (frozen, trainable) = freeze_backbone(net);
        net = frozen;
        trainable_params = trainable;
        report.push(format!(
            "backbone frozen: {trainable} trainable parameters (the head)"
        ));
    }
    Ok(Built {
        config: model,
        model: net,
        pretrained_cfg,
        report,
        trainable_params,
    })
}

/// Loads the distillation teacher and checks it takes the student's input and predicts the
/// data set's classes.
pub fn build_teacher<B: VitBackend>(
    config: &TrainConfig,
    input: [usize; 3],
    class_names: &[String],
    device: &B::Device,
) -> Result<Option<ZooModel<B>>> {
    let num_classes = class_names.len();
    let Some(distillation) = &config.distillation else {
        return Ok(None);
    };
    let base = match &distillation.teacher_model {
        None => None,
        Some(name) if Path::new(name).is_file() => Some(
            ZooConfig::load_file(Path::new(name))
                .map_err(TrainError::model_field("distillation.teacher_model"))?,
        ),
        Some(name) => Some(
            ZooConfig::preset(name)
                .map_err(TrainError::model_field("distillation.teacher_model"))?,
        ),
    };
    let teacher = vit_variants::model_location(&distillation.teacher, false)
        .and_then(|teacher| PretrainedModel::<B>::load(&teacher, base, None, device))
        .map_err(TrainError::model_field("distillation.teacher"))?;
    if teacher.config.input_size() != input {
        return Err(TrainError::Config(format!(
            "distillation.teacher {} takes {:?} inputs ([channels, height, width]), the student \
             {input:?}",
            distillation.teacher.display(),
            teacher.config.input_size()
        )));
    }
    if teacher.config.num_classes() != num_classes {
        return Err(TrainError::Config(format!(
            "distillation.teacher {} predicts {} classes, the data set has {num_classes}",
            distillation.teacher.display(),
            teacher.config.num_classes()
        )));
    }
    if let Some(names) = &teacher.label_names
        && names != class_names
    {
        return Err(TrainError::Config(format!(
            "distillation.teacher {} names its classes {names:?}, the data set {class_names:?} \
             (same classes in the same order needed)",
            distillation.teacher.display()
        )));
    }
    Ok(Some(teacher.model.no_grad()))
}
