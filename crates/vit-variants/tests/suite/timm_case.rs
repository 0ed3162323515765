//! One timm fixture folder loaded by name, checked against timm's outputs: features,
//! pre-logits and logits at the built size, and at another size when the fixture has one
//! (`other.*`). Shared by the families' parity tests.

use burn::tensor::Tensor;
use vit_core::model::VisionModel;
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{B, max_abs_diff_data as max_diff, timm_fixture as fixture};
use vit_variants::zoo::PretrainedModel;

pub const TOLERANCE: f32 = 1e-4;

pub struct Case {
    /// The fixture's name.
    pub name: &'static str,
    /// The model as loaded.
    pub loaded: PretrainedModel<B>,
    /// timm's inputs and outputs.
    pub io: Checkpoint,
}

/// Loads fixture `name` (nothing left freshly initialised).
pub fn case(name: &'static str) -> Case {
    let dir = fixture(name);
    let loaded = PretrainedModel::<B>::load(&dir, None, None, &Default::default()).unwrap();
    assert!(
        loaded.report.fresh.is_empty(),
        "{name}: {:?}",
        loaded.report
    );
    let io = Checkpoint::read(dir.join("io.safetensors")).unwrap();
    Case { name, loaded, io }
}

impl Case {
    /// The input `key` of the fixture.
    pub fn input(&self, key: &str) -> Tensor<B, 4> {
        Tensor::from_data(self.io.tensors[key].clone(), &Default::default())
    }

    /// `ours` within the tolerance of timm's `key`.
    pub fn assert_close(&self, what: &str, ours: burn::tensor::TensorData, key: &str) {
        let diff = max_diff(ours, &self.io.tensors[key]);
        eprintln!("{}: {what} max |ours - timm| = {diff:.2e}", self.name);
        assert!(
            diff <= TOLERANCE,
            "{}: {what} differ from timm by {diff}",
            self.name
        );
    }

    /// Features, pre-logits and logits at the built size; at the other size too when the
    /// fixture has one. Through the zoo's interface, so any family runs it.
    pub fn check(&self) {
        let model = &self.loaded.model;
        let input = self.input("input");
        model.check_input(input.dims()).unwrap();
        self.assert_close(
            "features",
            model.forward_features(input.clone()),
            "features",
        );
        self.assert_close(
            "pre_logits",
            model.forward_pre_logits(input.clone()).into_data(),
            "pre_logits",
        );
        self.assert_close("logits", model.forward(input).into_data(), "logits");
        if self.io.tensors.contains_key("other.input") {
            let other = self.input("other.input");
            model.check_input(other.dims()).unwrap();
            self.assert_close(
                "features at another size",
                model.forward_features(other.clone()),
                "other.features",
            );
            self.assert_close(
                "logits at another size",
                model.forward(other).into_data(),
                "other.logits",
            );
        }
    }

    /// Every map `forward_intermediates` gives (NCHW) against timm's `intermediates.{i}`.
    pub fn check_intermediates(&self) {
        use vit_core::features::{FeatureFormat, IntermediatesOptions};
        let maps = self
            .loaded
            .model
            .forward_intermediates(
                self.input("input"),
                &IntermediatesOptions {
                    output_fmt: FeatureFormat::Nchw,
                    ..Default::default()
                },
            )
            .unwrap()
            .maps;
        let count = (0..)
            .take_while(|i| self.io.tensors.contains_key(&format!("intermediates.{i}")))
            .count();
        assert!(count > 0, "{}: the fixture has no intermediates", self.name);
        assert_eq!(maps.len(), count, "{}: map count", self.name);
        for (i, map) in maps.into_iter().enumerate() {
            self.assert_close(
                &format!("map {i}"),
                map.into_data(),
                &format!("intermediates.{i}"),
            );
        }
    }
}
