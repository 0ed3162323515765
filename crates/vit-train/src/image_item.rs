//! One labelled image, as every data set here hands it to the batcher.

/// A decoded image `[channels, height, width]` (row-major, values in [0, 1]) and its class.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageItem {
    /// Pixel values, channel-major.
    pub pixels: Vec<f32>,
    /// Channels.
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// Class index.
    pub label: usize,
}
