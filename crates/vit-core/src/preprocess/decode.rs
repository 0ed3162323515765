//! Decoding an image file (PNG or JPEG) from untrusted bytes: the decoder's default memory
//! limit applied (512 MiB: a bomb declaring 10⁶ × 10⁶ pixels is refused before allocating), a
//! truncated JPEG refused (the decoder would grey-fill it silently), an image without pixels
//! refused. Errors are the reason alone, for the caller to put beside the path.

use image::{DynamicImage, ImageReader};

/// Decodes `bytes` as a PNG or JPEG (the format guessed from the content).
pub fn decode_image(bytes: Vec<u8>) -> Result<DynamicImage, String> {
    if crate::preprocess::jpeg::is_truncated_jpeg(&bytes) {
        return Err("a truncated JPEG (no end-of-image marker): the file is incomplete".into());
    }
    let image = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read the image: {e}"))?
        .decode()
        .map_err(|e| format!("not a readable PNG/JPEG image: {e}"))?;
    if image.width() == 0 || image.height() == 0 {
        return Err("not a readable PNG/JPEG image: it has no pixels".into());
    }
    Ok(image)
}
