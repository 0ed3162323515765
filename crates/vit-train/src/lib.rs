//! Placeholder: filled by a later issue.
#![warn(missing_docs)]
