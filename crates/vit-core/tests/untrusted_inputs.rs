//! Every reader of untrusted bytes in vit-core under mutation fuzzing (`vit_testing::mutate`):
//! thousands of bent copies of valid `.npy` arrays, safetensors and PyTorch checkpoints (zip and
//! legacy pickles), timm `config.json` files (through to the model config, its cost and the
//! evaluation transform), PNG/JPEG images (decoded and transformed) and the hub's HTTP headers.
//! Each must end in an `Err` or a value: never a panic, never an allocation far beyond the input
//! (this binary's allocator notes the largest one). `VIT_FUZZ_CASES=N` runs N cases per reader
//! (`cargo xtask fuzz` runs a long campaign); CI runs the default.

use std::path::{Path, PathBuf};

use vit_core::npy::{self, Array};
use vit_core::preprocess::{EvalTransform, decode_image};
use vit_core::vit::import::vit_config_from_timm;
use vit_core::weights::checkpoint::LazyCheckpoint;
use vit_core::weights::timm_folder::TimmConfig;
use vit_testing::alloc::{Watching, largest_allocation};
use vit_testing::mutate::{cases, check};

#[global_allocator]
static ALLOC: Watching = Watching;

/// The largest single allocation a reader may make for one of these small inputs (they are
/// kilobytes; a reader trusting a declared size would ask for gigabytes).
const BOUND: usize = 16 << 20;

/// The decoder's own memory limit (image's default, 512 MiB) and some slack: a mutated header
/// may declare any size up to it.
const IMAGE_DECODER_BOUND: usize = 600 << 20;

/// A per-test scratch folder (tests run on parallel threads).
fn scratch(name: &str) -> PathBuf {
    vit_testing::temp_dir(&format!("fuzz-{name}"))
}

fn hostile(name: &str) -> Vec<u8> {
    std::fs::read(vit_testing::fixtures().join("hostile").join(name)).unwrap()
}

fn assert_bounded(what: &str, largest: usize, bound: usize) {
    assert!(
        largest <= bound,
        "{what}: a {largest}-byte allocation (bound {bound})"
    );
}

#[test]
fn npy_arrays() {
    let mut f64_file = npy::encode(&Array {
        shape: vec![3],
        data: vec![1.0, 2.0, 3.0],
    });
    // The same header as float64 with 8-byte values.
    let at = f64_file.windows(3).position(|w| w == b"<f4").unwrap();
    f64_file[at..at + 3].copy_from_slice(b"<f8");
    f64_file.truncate(f64_file.len() - 12);
    f64_file.extend((0..3).flat_map(|i| (i as f64).to_le_bytes()));
    let valid = vec![
        npy::encode(&Array {
            shape: vec![2, 3, 4, 4],
            data: (0..96).map(|i| i as f32).collect(),
        }),
        npy::encode(&Array {
            shape: vec![5],
            data: vec![0.5; 5],
        }),
        f64_file,
    ];
    let path = Path::new("fuzz.npy");
    check("npy", &valid, cases(4000), |bytes| {
        let (out, largest) = largest_allocation(|| npy::parse(bytes, path));
        assert_bounded("npy", largest, BOUND);
        if let Ok(array) = out {
            assert_eq!(array.shape.iter().product::<usize>(), array.data.len());
        }
    });
}

/// A safetensors file: its 8-byte header length, the JSON header, the data.
fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// Opens `bytes` as a checkpoint file named `name` and reads every tensor.
fn read_checkpoint(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let (_, largest) = largest_allocation(|| {
        if let Ok(checkpoint) = LazyCheckpoint::open(&path) {
            for weight in checkpoint.tensors.values() {
                let _ = weight.data();
            }
        }
    });
    assert_bounded(name, largest, BOUND);
}

#[test]
fn safetensors_checkpoints() {
    let dir = scratch("safetensors");
    let header = r#"{"__metadata__":{"format":"pt"},"blocks.0.norm1.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"head.bias":{"dtype":"F16","shape":[4],"data_offsets":[24,32]},"pos_embed":{"dtype":"BF16","shape":[1,2,2],"data_offsets":[32,40]}}"#;
    let data: Vec<u8> = (0..40).collect();
    let fixture = vit_testing::timm_fixture("vit_cls").join("autocast.safetensors");
    let valid = vec![safetensors(header, &data), std::fs::read(fixture).unwrap()];
    check("safetensors", &valid, cases(3000), |bytes| {
        read_checkpoint(&dir, "fuzz.safetensors", bytes)
    });
}

#[test]
fn pytorch_checkpoints() {
    let dir = scratch("pth");
    let valid = vec![
        hostile("small_state.pth"),
        hostile("small_state_legacy.pth"),
        hostile("huge_shape_legacy.pth"),
    ];
    check("pth", &valid, cases(3000), |bytes| {
        read_checkpoint(&dir, "fuzz.pth", bytes)
    });
}

/// A noisy 12×16 RGB image.
fn noise_rgb() -> Vec<u8> {
    (0..12 * 16 * 3).map(|i| (i * 37 % 251) as u8).collect()
}

#[test]
fn timm_configs_through_to_the_model_and_its_transform() {
    let dir = scratch("config");
    let path = dir.join("config.json");
    let valid: Vec<Vec<u8>> = ["vit_cls", "deit_distilled"]
        .iter()
        .map(|case| std::fs::read(vit_testing::timm_fixture(case).join("config.json")).unwrap())
        .collect();
    let image = noise_rgb();
    check("config.json", &valid, cases(3000), |bytes| {
        std::fs::write(&path, bytes).unwrap();
        let (_, largest) = largest_allocation(|| {
            let Ok(timm) = TimmConfig::read(&path) else {
                return;
            };
            if let Ok(config) = vit_config_from_timm(&timm)
                && config.validate().is_ok()
            {
                let _ = (config.macs(), config.param_estimate());
            }
            let cfg = &timm.pretrained_cfg;
            let [_, h, w] = cfg.input_size;
            let _ = cfg.eval_transform([h, w]).apply(&image, [12, 16]);
        });
        assert_bounded("config.json", largest, BOUND);
    });
}

/// Small PNG and JPEG files (RGB, greyscale, with alpha).
fn image_files() -> Vec<Vec<u8>> {
    let rgb = image::RgbImage::from_fn(9, 7, |x, y| {
        image::Rgb([(x * 28) as u8, (y * 36) as u8, 77])
    });
    let mut files = Vec::new();
    for (image, format) in [
        (
            image::DynamicImage::ImageRgb8(rgb.clone()),
            image::ImageFormat::Png,
        ),
        (
            image::DynamicImage::ImageRgb8(rgb.clone()),
            image::ImageFormat::Jpeg,
        ),
        (
            image::DynamicImage::ImageRgb8(rgb.clone())
                .into_luma8()
                .into(),
            image::ImageFormat::Png,
        ),
        (
            image::DynamicImage::ImageRgb8(rgb).into_rgba8().into(),
            image::ImageFormat::Png,
        ),
    ] {
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, format).unwrap();
        files.push(bytes.into_inner());
    }
    files
}

#[test]
fn images_decoded_and_transformed() {
    let transform = EvalTransform::default();
    check("image", &image_files(), cases(3000), |bytes| {
        let (decoded, largest) = largest_allocation(|| decode_image(bytes.to_vec()));
        assert_bounded("image decoding", largest, IMAGE_DECODER_BOUND);
        if let Ok(image) = decoded {
            let rgb = image.to_rgb8();
            let size = [rgb.height() as usize, rgb.width() as usize];
            let (_, largest) = largest_allocation(|| transform.apply(rgb.as_raw(), size));
            // The crop alone is computed: its size, whatever the image's.
            assert_bounded("image transform", largest, BOUND);
        }
    });
}

#[cfg(feature = "hub")]
#[test]
fn hub_file_headers() {
    use vit_core::weights::hub_download::FileMetadata;
    let valid = vec![
        b"X-Repo-Commit: 0123456789abcdef0123456789abcdef01234567\r\nX-Linked-Etag: \"a3f5e0c5d1b2a3f5e0c5d1b2a3f5e0c5d1b2a3f5e0c5d1b2a3f5e0c5d1b2a3f5\"\r\nX-Linked-Size: 271712\r\nETag: \"not-the-blob\"\r\n".to_vec(),
        b"x-repo-commit: 89ab\r\netag: W/\"0123abcd\"\r\ncontent-length: 518\r\n".to_vec(),
    ];
    check("hub headers", &valid, cases(4000), |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let headers: Vec<(String, String)> = text
            .split("\r\n")
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.to_string()))
            .collect();
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if let Ok(meta) = FileMetadata::from_headers("http://hub/x", lookup) {
            // What becomes a path is a plain identifier.
            for id in [&meta.commit, &meta.etag] {
                assert!(
                    !id.is_empty() && id.len() <= 128 && !id.contains(['/', '.', '\\']),
                    "{id:?}"
                );
            }
        }
    });
}
