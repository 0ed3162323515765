//! Data: the data sets a config can name ([`spec`]), their readers ([`digits`], [`cifar`],
//! [`image_folder`]), the decoded image ([`image_item`]), the epoch order ([`epoch_data`]) and
//! batching with augmentation ([`batcher`]).

pub mod batcher;
pub mod cifar;
pub mod digits;
pub mod epoch_data;
pub mod image_folder;
pub mod image_item;
pub mod spec;

pub use spec::{DataSpec, DataSplits};
