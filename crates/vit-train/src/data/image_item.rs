//! One labelled image, as every data set here hands it to the batcher.

/// A decoded image `[channels, height, width]` (row-major, 8-bit: 0 = black, 255 = white) and
/// its class. Eight bits keep a 50,000-image data set at 150 MB instead of 600 MB of floats.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageItem {
    /// Pixel values, channel-major.
    pub pixels: Vec<u8>,
    /// Channels.
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// Class index.
    pub label: usize,
}

impl ImageItem {
    /// The pixels as floats in [0, 1].
    pub fn to_unit_f32(&self) -> Vec<f32> {
        self.pixels.iter().map(|&v| v as f32 / 255.0).collect()
    }
}

/// Images with the class names their labels index: what every data-set reader returns.
#[derive(Debug, Clone)]
pub struct LabelledImages {
    /// The images, in the reader's order.
    pub items: Vec<ImageItem>,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
}
