//! A data set laid out as one subfolder per class (`root/<class>/<image>.png|jpg|jpeg`), the
//! layout of torchvision's `ImageFolder`: classes are the sorted subfolder names and a label is
//! the index of its class in that order. Images are decoded with the `image` crate, converted to
//! greyscale or RGB, resized (bilinear) to one size and kept as channel-major 8-bit pixels.

use crate::error::{Result, TrainError};
use std::path::{Path, PathBuf};

use image::{ImageBuffer, Pixel};
use vit_core::preprocess::{Filter, resize_planes_u8, resize_rgb8};

use crate::data::image_item::{ImageItem, LabelledImages};

/// What to do with an image file that cannot be opened or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnreadable {
    /// Warn on stderr (path and reason), leave it out and list it in
    /// [`ImageFolderData::skipped`].
    Skip,
    /// Stop with an error naming the file.
    Fail,
}

/// The images of an image folder — class by class (the subfolder names, sorted), each class's
/// files in sorted order — and the files left out.
#[derive(Debug, Clone)]
pub struct ImageFolderData {
    /// The images and their class names.
    pub images: LabelledImages,
    /// Files left out under [`OnUnreadable::Skip`], with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// What the user should know about the folder (also printed on standard error): hidden
    /// class folders that were ignored, a single class.
    pub warnings: Vec<String>,
}

/// Reads every `.png`, `.jpg` and `.jpeg` file (any case) in the class subfolders of `root`,
/// as `channels` (1 = greyscale, 3 = RGB) × `size` (`[height, width]`) images.
///
/// Only the files directly inside each class folder are read; other files and entries whose
/// name starts with `.` are ignored. A class folder without images keeps its label, so labels
/// do not shift when a class is empty. Errors name the path: a missing root, a root without
/// class folders or without any readable image, and (under [`OnUnreadable::Fail`]) the first
/// unreadable image.
pub fn read_image_folder(
    root: &Path,
    channels: usize,
    size: [usize; 2],
    on_unreadable: OnUnreadable,
) -> Result<ImageFolderData> {
    if channels != 1 && channels != 3 {
        return Err(TrainError::Data(format!(
            "{channels} image channels: expected 1 (greyscale) or 3 (RGB)"
        )));
    }
    let [height, width] = size;
    let (h, w) = match (u32::try_from(height), u32::try_from(width)) {
        (Ok(h), Ok(w)) if h > 0 && w > 0 => (h, w),
        _ => {
            return Err(TrainError::Data(format!(
                "image size {height}×{width}: expected a positive height and width"
            )));
        }
    };
    if !root.is_dir() {
        return Err(TrainError::Data(format!(
            "{}: image folder not found: expected a directory with one subfolder per class",
            root.display()
        )));
    }
    let class_dirs: Vec<PathBuf> = sorted_entries(root)?
        .into_iter()
        .filter(|path| path.is_dir())
        .collect();
    if class_dirs.is_empty() {
        return Err(TrainError::Data(format!(
            "{}: no class subfolders: expected <root>/<class>/<image>.png|jpg|jpeg",
            root.display()
        )));
    }
    let class_names = class_dirs
        .iter()
        .map(|dir| {
            dir.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();

    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (label, dir) in class_dirs.iter().enumerate() {
        for path in sorted_entries(dir)?
            .into_iter()
            .filter(|path| path.is_file() && is_image(path))
        {
            match load(&path, channels, h, w) {
                Ok(pixels) => items.push(ImageItem {
                    pixels,
                    channels,
                    height,
                    width,
                    label,
                }),
                Err(reason) => match on_unreadable {
                    OnUnreadable::Fail => {
                        return Err(TrainError::Data(format!("{}: {reason}", path.display())));
                    }
                    OnUnreadable::Skip => {
                        eprintln!("warning: skipping {}: {reason}", path.display());
                        skipped.push((path, reason));
                    }
                },
            }
        }
    }
    if items.is_empty() {
        return Err(TrainError::Data(format!(
            "{}: no readable images (.png, .jpg, .jpeg) in its class subfolders ({} skipped)",
            root.display(),
            skipped.len()
        )));
    }
    let mut warnings = Vec::new();
    let hidden = hidden_dirs(root)?;
    if !hidden.is_empty() {
        warnings.push(format!(
            "{}: ignoring hidden folders {} (names starting with '.' are not classes)",
            root.display(),
            hidden.join(", ")
        ));
    }
    if class_dirs.len() == 1 {
        warnings.push(format!(
            "{}: only one class ({}): every prediction is that class, so the accuracy will be \
             100 % and mean nothing; a classifier needs at least two class folders",
            root.display(),
            class_dirs[0].display()
        ));
    }
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    Ok(ImageFolderData {
        images: LabelledImages { items, class_names },
        skipped,
        warnings,
    })
}

/// The names of `dir`'s hidden subfolders (sorted).
fn hidden_dirs(dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| TrainError::Data(format!("{}: cannot list: {e}", dir.display())))?;
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// The entries of `dir` without hidden ones, sorted so the order is the same on every machine.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let read_error =
        |e: std::io::Error| TrainError::Data(format!("{}: cannot list: {e}", dir.display()));
    let mut paths = std::fs::read_dir(dir)
        .map_err(read_error)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_error)?;
    paths.retain(|path| {
        !path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'))
    });
    paths.sort();
    Ok(paths)
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| ["png", "jpg", "jpeg"].contains(&ext.to_ascii_lowercase().as_str()))
}

/// Decodes one image into channel-major pixels of the requested shape.
/// The error is the reason alone: the caller puts it beside the path, to skip or to fail.
fn load(path: &Path, channels: usize, height: u32, width: u32) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot open the image: {e}"))?;
    let image = vit_core::preprocess::decode_image(bytes)?;
    Ok(if channels == 1 {
        channel_major(image.to_luma8(), height, width)
    } else {
        channel_major(image.to_rgb8(), height, width)
    })
}

/// Resizes (bilinear) unless already `height`×`width`, then de-interleaves to `[c, h, w]`.
fn channel_major<P: Pixel<Subpixel = u8> + 'static>(
    image: ImageBuffer<P, Vec<u8>>,
    height: u32,
    width: u32,
) -> Vec<u8> {
    let (w0, h0) = image.dimensions();
    let c = usize::from(P::CHANNEL_COUNT);
    let mut raw = image.into_raw();
    if (w0, h0) != (width, height) {
        // Pillow's bilinear, as `vit predict` resizes (squash) for a model this run saves;
        // RGB is resized interleaved, as decoded, and de-interleaved once below.
        let [from, to] = [
            [h0 as usize, w0 as usize],
            [height as usize, width as usize],
        ];
        raw = match c {
            3 => resize_rgb8(&raw, from, to, Filter::Bilinear),
            _ => resize_planes_u8(&raw, c, from, to, Filter::Bilinear),
        }
        .expect("decoded images have 1 or 3 channels and their stated size");
    }
    (0..c)
        .flat_map(|ch| raw.iter().skip(ch).step_by(c).copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use image::{GrayImage, Luma, Rgb, RgbImage};

    use super::*;

    use vit_testing::TempDir;

    /// A 6-wide, 4-high RGB image whose channels differ.
    fn colour() -> RgbImage {
        RgbImage::from_fn(6, 4, |x, y| Rgb([(x * 40) as u8, (y * 60) as u8, 200]))
    }

    fn grey() -> GrayImage {
        GrayImage::from_fn(6, 4, |x, y| Luma([(x * 10 + y * 50) as u8]))
    }

    /// `bird/` (empty), `cat/a.png`, `cat/b.jpg`, `cat/notes.txt`, `dog/c.png` and four
    /// unreadable files in `dog/` (one a truncated JPEG), plus hidden entries.
    fn tree(root: &Path) {
        for class in ["bird", "cat", "dog", ".hidden"] {
            std::fs::create_dir_all(root.join(class)).unwrap();
        }
        colour().save(root.join("cat/a.png")).unwrap();
        RgbImage::from_pixel(8, 8, Rgb([10, 120, 250]))
            .save(root.join("cat/b.JPG"))
            .unwrap();
        std::fs::write(root.join("cat/notes.txt"), "not an image").unwrap();
        grey().save(root.join("dog/c.png")).unwrap();
        grey().save(root.join(".hidden/d.png")).unwrap();
        grey().save(root.join("dog/.e.png")).unwrap();
        let png = std::fs::read(root.join("dog/c.png")).unwrap();
        std::fs::write(root.join("dog/broken.png"), &png[..png.len() / 2]).unwrap();
        // A JPEG cut short: the decoder would fill the missing rows in grey and say nothing.
        let jpg = std::fs::read(root.join("cat/b.JPG")).unwrap();
        std::fs::write(root.join("dog/cut.jpg"), &jpg[..jpg.len() * 3 / 4]).unwrap();
        std::fs::write(root.join("dog/empty.jpg"), []).unwrap();
        std::fs::write(root.join("dog/text.png"), "hello, I am text").unwrap();
    }

    #[test]
    fn skip_keeps_good_images_and_lists_broken_ones() {
        let tmp = TempDir::new("image-folder-skip");
        tree(&tmp.0);
        let data = read_image_folder(&tmp.0, 3, [4, 6], OnUnreadable::Skip).unwrap();
        assert_eq!(data.images.class_names, ["bird", "cat", "dog"]);
        assert!(
            data.warnings.len() == 1 && data.warnings[0].contains(".hidden"),
            "{:?}",
            data.warnings
        );
        let labels: Vec<_> = data.images.items.iter().map(|item| item.label).collect();
        assert_eq!(labels, [1, 1, 2]);
        for item in &data.images.items {
            assert_eq!((item.channels, item.height, item.width), (3, 4, 6));
            assert_eq!(item.pixels.len(), 3 * 4 * 6);
        }
        // PNG is lossless and already 4×6: exact planes R, G, B.
        let expected: Vec<u8> = (0..3)
            .flat_map(|c| colour().pixels().map(move |p| p[c]).collect::<Vec<_>>())
            .collect();
        assert_eq!(data.images.items[0].pixels, expected);
        // A greyscale PNG read as RGB repeats its plane three times.
        let plane: Vec<u8> = grey().into_raw();
        assert_eq!(data.images.items[2].pixels, plane.repeat(3));
        // The JPEG is lossy: a flat colour comes back close to itself after resizing.
        let jpeg = &data.images.items[1].pixels;
        for (c, want) in [10i32, 120, 250].into_iter().enumerate() {
            assert!(
                jpeg[c * 24..(c + 1) * 24]
                    .iter()
                    .all(|&v| (v as i32 - want).abs() <= 8)
            );
        }
        let skipped: Vec<_> = data.skipped.iter().map(|(path, _)| path.clone()).collect();
        let dog = tmp.0.join("dog");
        assert_eq!(
            skipped,
            [
                dog.join("broken.png"),
                dog.join("cut.jpg"),
                dog.join("empty.jpg"),
                dog.join("text.png")
            ]
        );
        for (path, reason) in &data.skipped {
            let expected = if path.ends_with("cut.jpg") {
                "a truncated JPEG"
            } else {
                "not a readable PNG/JPEG image: "
            };
            assert!(reason.starts_with(expected), "{}: {reason}", path.display());
        }
    }

    #[test]
    fn fail_names_the_first_broken_file() {
        let tmp = TempDir::new("image-folder-fail");
        tree(&tmp.0);
        let err = read_image_folder(&tmp.0, 3, [4, 6], OnUnreadable::Fail)
            .unwrap_err()
            .to_string();
        let path = tmp.0.join("dog/broken.png").display().to_string();
        assert!(
            err.starts_with(&format!("{path}: not a readable PNG/JPEG image: ")),
            "{err}"
        );
    }

    #[test]
    fn greyscale_and_resize() {
        let tmp = TempDir::new("image-folder-grey");
        tree(&tmp.0);
        let data = read_image_folder(&tmp.0, 1, [4, 6], OnUnreadable::Skip).unwrap();
        assert!(data.images.items.iter().all(|item| item.channels == 1));
        assert_eq!(data.images.items[2].pixels, grey().into_raw());

        let data = read_image_folder(&tmp.0, 3, [5, 9], OnUnreadable::Skip).unwrap();
        for item in &data.images.items {
            assert_eq!((item.channels, item.height, item.width), (3, 5, 9));
            assert_eq!(item.pixels.len(), 3 * 5 * 9);
        }
    }

    #[test]
    fn bad_roots_and_arguments_are_errors() {
        let tmp = TempDir::new("image-folder-bad");
        let gone = tmp.0.join("nowhere");
        let err = read_image_folder(&gone, 3, [4, 4], OnUnreadable::Skip)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&gone.display().to_string()), "{err}");
        assert!(err.contains("not found"), "{err}");

        let err = read_image_folder(&tmp.0, 3, [4, 4], OnUnreadable::Skip)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no class subfolders"), "{err}");

        std::fs::create_dir_all(tmp.0.join("cat")).unwrap();
        std::fs::write(tmp.0.join("cat/notes.txt"), "text").unwrap();
        let err = read_image_folder(&tmp.0, 3, [4, 4], OnUnreadable::Skip)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&tmp.0.display().to_string()), "{err}");
        assert!(err.contains("no readable images"), "{err}");

        let err = read_image_folder(&tmp.0, 2, [4, 4], OnUnreadable::Skip)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected 1 (greyscale) or 3 (RGB)"), "{err}");
        let err = read_image_folder(&tmp.0, 3, [0, 4], OnUnreadable::Skip)
            .unwrap_err()
            .to_string();
        assert!(err.contains("positive height and width"), "{err}");
    }

    #[test]
    fn a_single_class_folder_is_read_with_a_warning() {
        let tmp = TempDir::new("image-folder-one-class");
        std::fs::create_dir_all(tmp.0.join("cat")).unwrap();
        colour().save(tmp.0.join("cat/a.png")).unwrap();
        let data = read_image_folder(&tmp.0, 3, [4, 6], OnUnreadable::Fail).unwrap();
        assert_eq!(data.images.class_names, ["cat"]);
        assert!(
            data.warnings.iter().any(|w| w.contains("only one class")),
            "{:?}",
            data.warnings
        );
    }
}
