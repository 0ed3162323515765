//! The data sets a training config can name, loaded into a training and a test split of
//! [`ImageItem`]s with their class names.

use crate::error::{Result, TrainError};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::data::cifar::{CifarKind, CifarSplit, read_cifar};
use crate::data::digits::{DIGIT_CLASSES, DigitsDataset, Split};
use crate::data::image_folder::{OnUnreadable, read_image_folder};
use crate::data::image_item::ImageItem;

/// Which data set to train on (`"data": {"kind": …}` in the config).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSpec {
    /// The embedded UCI digits (offline, in the repository).
    Digits,
    /// CIFAR-10, binary version (`cifar-10-batches-bin/` or its parent).
    Cifar10 {
        /// Folder of the data set.
        path: PathBuf,
    },
    /// CIFAR-100, binary version (`cifar-100-binary/` or its parent).
    Cifar100 {
        /// Folder of the data set.
        path: PathBuf,
        /// Train on the 20 superclasses instead of the 100 classes.
        #[serde(default)]
        coarse: bool,
    },
    /// One subfolder per class of PNG/JPEG images (torchvision's ImageFolder).
    ImageFolder {
        /// The training images.
        train: PathBuf,
        /// The test images (same class folders); absent: the last `test_fraction` of each
        /// class's sorted files is held out.
        #[serde(default)]
        test: Option<PathBuf>,
        /// Share of each class held out when there is no `test` folder.
        #[serde(default = "default_test_fraction")]
        test_fraction: f64,
        /// `skip` (warn and leave out) or `fail` on an image that cannot be decoded.
        #[serde(default = "default_on_unreadable")]
        on_unreadable: OnUnreadable,
    },
}

fn default_test_fraction() -> f64 {
    0.2
}

fn default_on_unreadable() -> OnUnreadable {
    OnUnreadable::Skip
}

/// The loaded splits.
#[derive(Debug, Clone)]
pub struct DataSplits {
    /// Training images.
    pub train: Vec<ImageItem>,
    /// Test images (also the validation split of the Learner).
    pub test: Vec<ImageItem>,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
}

impl DataSpec {
    /// Reads the command line's short form: `digits`, `cifar10:PATH`, `cifar100:PATH`,
    /// `cifar100-coarse:PATH` or `image-folder:PATH` (a held-out fifth of each class is the
    /// test split).
    pub fn parse(spec: &str) -> Result<Self> {
        let (kind, path) = spec.split_once(':').unwrap_or((spec, ""));
        let path = PathBuf::from(path);
        let need_path = |kind: &str| {
            TrainError::Data(format!(
                "--data {kind}:PATH needs the data set's folder after `:`"
            ))
        };
        Ok(match kind {
            "digits" => Self::Digits,
            "cifar10" | "cifar100" | "cifar100-coarse" | "image-folder"
                if path.as_os_str().is_empty() =>
            {
                return Err(need_path(kind));
            }
            "cifar10" => Self::Cifar10 { path },
            "cifar100" => Self::Cifar100 {
                path,
                coarse: false,
            },
            "cifar100-coarse" => Self::Cifar100 { path, coarse: true },
            "image-folder" => Self::ImageFolder {
                train: path,
                test: None,
                test_fraction: default_test_fraction(),
                on_unreadable: default_on_unreadable(),
            },
            other => {
                return Err(TrainError::Data(format!(
                    "--data {other}: expected digits, cifar10:PATH, cifar100:PATH, \
                     cifar100-coarse:PATH or image-folder:PATH"
                )));
            }
        })
    }

    /// The channels of the images: 1 for the digits, 3 for the rest (image folders are read as
    /// RGB unless the model is greyscale).
    pub fn channels(&self) -> usize {
        match self {
            Self::Digits => 1,
            _ => 3,
        }
    }

    /// Loads both splits for a model with input `[channels, height, width]`; an empty split
    /// is an error.
    pub fn load(&self, input: [usize; 3]) -> Result<DataSplits> {
        let splits = self.load_splits(input)?;
        for (name, split) in [("training", &splits.train), ("test", &splits.test)] {
            if split.is_empty() {
                return Err(TrainError::Data(format!(
                    "the {name} split of {self:?} has no images (with an image folder and no \
                     `test` folder, `test_fraction` holds out part of each class)"
                )));
            }
        }
        Ok(splits)
    }

    fn load_splits(&self, [channels, h, w]: [usize; 3]) -> Result<DataSplits> {
        match self {
            Self::Digits => {
                let all = |split| DigitsDataset::new(split).into_items();
                Ok(DataSplits {
                    train: all(Split::Train),
                    test: all(Split::Test),
                    class_names: DIGIT_CLASSES.iter().map(|s| s.to_string()).collect(),
                })
            }
            Self::Cifar10 { path } => cifar(path, CifarKind::Cifar10),
            Self::Cifar100 { path, coarse } => cifar(path, CifarKind::Cifar100 { coarse: *coarse }),
            Self::ImageFolder {
                train,
                test,
                test_fraction,
                on_unreadable,
            } => {
                let read = |root| {
                    read_image_folder(root, channels, [h, w], *on_unreadable)
                        .map(|data| data.images)
                };
                let train_data = read(train)?;
                let (train_items, test_items) = match test {
                    Some(test) => {
                        let test_data = read(test)?;
                        if test_data.class_names != train_data.class_names {
                            return Err(TrainError::Data(format!(
                                "{} and {} must have the same class folders: {:?} vs {:?}",
                                train.display(),
                                test.display(),
                                train_data.class_names,
                                test_data.class_names
                            )));
                        }
                        (train_data.items, test_data.items)
                    }
                    None => hold_out(train_data.items, *test_fraction),
                };
                Ok(DataSplits {
                    train: train_items,
                    test: test_items,
                    class_names: train_data.class_names,
                })
            }
        }
    }

    /// Checks the fields serde cannot and that the data fits a model with `channels` inputs.
    pub fn validate(&self, channels: usize) -> Result<()> {
        match self {
            Self::Digits if channels != 1 => Err(TrainError::Data(format!(
                "the digits are greyscale: the model needs in_chans = 1, has {channels}"
            ))),
            Self::Cifar10 { .. } | Self::Cifar100 { .. } if channels != 3 => Err(TrainError::Data(
                format!("CIFAR images are RGB: the model needs in_chans = 3, has {channels}"),
            )),
            Self::ImageFolder { test_fraction, .. }
                if !(*test_fraction > 0.0 && *test_fraction < 1.0) =>
            {
                Err(TrainError::Data(format!(
                    "data.test_fraction must be in (0, 1), got {test_fraction}"
                )))
            }
            _ => Ok(()),
        }
    }
}

fn cifar(path: &std::path::Path, kind: CifarKind) -> Result<DataSplits> {
    let train = read_cifar(path, kind, CifarSplit::Train)?;
    let test = read_cifar(path, kind, CifarSplit::Test)?;
    Ok(DataSplits {
        train: train.items,
        test: test.items,
        class_names: train.class_names,
    })
}

/// Splits off the last `fraction` of each class (the items come class by class, sorted).
fn hold_out(items: Vec<ImageItem>, fraction: f64) -> (Vec<ImageItem>, Vec<ImageItem>) {
    let classes = items.iter().map(|i| i.label + 1).max().unwrap_or(0);
    let mut per_class = vec![0usize; classes];
    items.iter().for_each(|i| per_class[i.label] += 1);
    let mut seen = vec![0usize; classes];
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for item in items {
        let n = per_class[item.label];
        let keep = n - (n as f64 * fraction).round() as usize;
        seen[item.label] += 1;
        if seen[item.label] > keep {
            test.push(item);
        } else {
            train.push(item);
        }
    }
    (train, test)
}
