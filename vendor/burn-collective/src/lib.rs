mod global;
pub use global::*;
// vit-burn patch: the error inside `CollectiveError::Global`, so that callers can match it.
pub use global::shared::GlobalCollectiveError;

mod config;
pub use config::*;

mod api;
pub use api::*;

mod local;

#[cfg(test)]
mod tests;
