//! What the image decoders do not check: a JPEG cut short (an interrupted download or copy)
//! decodes "successfully" with its missing rows filled in grey, and would be classified or
//! trained on silently.

/// Whether `bytes` is a JPEG (starts with the SOI marker `FF D8`) that has no end-of-image
/// marker `FF D9` — a truncated file. (Inside the compressed data `FF` is always followed by
/// `00` or a restart marker, so `FF D9` only occurs where an image ends.)
pub fn is_truncated_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8]) && !bytes.windows(2).any(|w| w == [0xFF, 0xD9])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jpeg_without_its_end_marker_is_truncated() {
        let whole = [0xFF, 0xD8, 0xFF, 0xDA, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD9];
        assert!(!is_truncated_jpeg(&whole));
        assert!(is_truncated_jpeg(&whole[..7]));
        assert!(!is_truncated_jpeg(b"\x89PNG not a jpeg"));
    }
}
