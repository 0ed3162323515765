//! CIFAR-10 and CIFAR-100 read from their official binary releases (`cifar-10-binary.tar.gz`,
//! `cifar-100-binary.tar.gz` from <https://www.cs.toronto.edu/~kriz/cifar.html>, unpacked).
//!
//! Every record is its label byte(s) followed by 3,072 pixel bytes: 1,024 red, 1,024 green,
//! 1,024 blue, each a row-major 32×32 plane — already the channel-major layout of
//! [`ImageItem`], so records are copied as they are. Records are counted from 0 in errors.

use crate::error::{Result, TrainError};
use std::io::ErrorKind;
use std::path::Path;

use crate::data::image_item::{ImageItem, LabelledImages};

const SIDE: usize = 32;
const PIXELS: usize = 3 * SIDE * SIDE;

/// The names CIFAR-10 ships in `batches.meta.txt`, used when that file is absent.
const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Which CIFAR data set, and for CIFAR-100 which labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CifarKind {
    /// CIFAR-10: 10 classes, folder `cifar-10-batches-bin/`.
    Cifar10,
    /// CIFAR-100, folder `cifar-100-binary/`.
    Cifar100 {
        /// The 20 superclasses instead of the 100 fine classes.
        coarse: bool,
    },
}

/// Which part of the official split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CifarSplit {
    /// The 50,000 training images.
    Train,
    /// The 10,000 test images.
    Test,
}

/// Reads one split of CIFAR-10 or CIFAR-100 from `dir`: the folder holding the `.bin` files or
/// its parent (the folder the archive was unpacked into).
///
/// Errors name the file and, for bad data, the record: a missing folder or file, an empty file,
/// a file that is not a whole number of records, a label out of range, or a names file with the
/// wrong number of names.
pub fn read_cifar(dir: &Path, kind: CifarKind, split: CifarSplit) -> Result<LabelledImages> {
    let (folder, layout) = match kind {
        CifarKind::Cifar10 => (
            "cifar-10-batches-bin",
            "the CIFAR-10 binary layout (data_batch_1.bin … data_batch_5.bin, test_batch.bin) — \
             download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html \
             and unpack it",
        ),
        CifarKind::Cifar100 { .. } => (
            "cifar-100-binary",
            "the CIFAR-100 binary layout (train.bin, test.bin) — download \
             cifar-100-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and \
             unpack it",
        ),
    };
    let files: &[&str] = match (kind, split) {
        (CifarKind::Cifar10, CifarSplit::Train) => &[
            "data_batch_1.bin",
            "data_batch_2.bin",
            "data_batch_3.bin",
            "data_batch_4.bin",
            "data_batch_5.bin",
        ],
        (CifarKind::Cifar10, CifarSplit::Test) => &["test_batch.bin"],
        (CifarKind::Cifar100 { .. }, CifarSplit::Train) => &["train.bin"],
        (CifarKind::Cifar100 { .. }, CifarSplit::Test) => &["test.bin"],
    };
    // The label bytes leading each record (name, class count), and which of them is the label.
    let (labels, used, names_file): (&[(&str, usize)], usize, &str) = match kind {
        CifarKind::Cifar10 => (&[("label", 10)], 0, "batches.meta.txt"),
        CifarKind::Cifar100 { coarse } => (
            &[("coarse label", 20), ("fine label", 100)],
            if coarse { 0 } else { 1 },
            if coarse {
                "coarse_label_names.txt"
            } else {
                "fine_label_names.txt"
            },
        ),
    };

    let nested = dir.join(folder);
    let dir = if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    };
    if !dir.is_dir() {
        return Err(TrainError::Data(format!(
            "{} not found: expected {layout}",
            dir.display()
        )));
    }

    let record = labels.len() + PIXELS;
    let mut items = Vec::new();
    for name in files {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(TrainError::Data(format!(
                "{} not found: expected {layout}",
                path.display()
            )));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| TrainError::Data(format!("{}: cannot read: {e}", path.display())))?;
        if bytes.is_empty() {
            return Err(TrainError::Data(format!(
                "{}: empty file, expected {record}-byte records",
                path.display()
            )));
        }
        if bytes.len() % record != 0 {
            return Err(TrainError::Data(format!(
                "{}: {} bytes is not a whole number of {record}-byte records: record {} is \
                 truncated",
                path.display(),
                bytes.len(),
                bytes.len() / record
            )));
        }
        for (index, rec) in bytes.chunks_exact(record).enumerate() {
            for (&value, &(what, classes)) in rec.iter().zip(labels) {
                if usize::from(value) >= classes {
                    return Err(TrainError::Data(format!(
                        "{}: record {index} has {what} {value}, expected 0..={}",
                        path.display(),
                        classes - 1
                    )));
                }
            }
            items.push(ImageItem {
                pixels: rec[labels.len()..].to_vec(),
                channels: 3,
                height: SIDE,
                width: SIDE,
                label: usize::from(rec[used]),
            });
        }
    }

    let classes = labels[used].1;
    let class_names = match read_names(&dir.join(names_file), classes)? {
        Some(names) => names,
        None if kind == CifarKind::Cifar10 => CIFAR10_CLASSES.map(String::from).to_vec(),
        None => (0..classes).map(|i| i.to_string()).collect(),
    };
    Ok(LabelledImages { items, class_names })
}

/// The non-blank lines of a names file, `None` if it does not exist (the names are optional).
fn read_names(path: &Path, expected: usize) -> Result<Option<Vec<String>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(TrainError::Data(format!(
                "{}: cannot read: {e}",
                path.display()
            )));
        }
    };
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect();
    if names.len() != expected {
        return Err(TrainError::Data(format!(
            "{}: {} class names, expected {expected} (one per line)",
            path.display(),
            names.len()
        )));
    }
    Ok(Some(names))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    use vit_testing::TempDir;

    /// Pixel bytes that differ from record to record, so a mix-up shows.
    fn pixels(seed: usize) -> Vec<u8> {
        (0..PIXELS).map(|i| (i * 7 + seed * 13) as u8).collect()
    }

    /// Writes records made of `labels` followed by `pixels(seed)`.
    fn write_records(path: &Path, records: &[(Vec<u8>, usize)]) {
        let bytes: Vec<u8> = records
            .iter()
            .flat_map(|(labels, seed)| labels.iter().copied().chain(pixels(*seed)))
            .collect();
        std::fs::write(path, bytes).unwrap();
    }

    /// A CIFAR-10 tree with 3 records per batch: batch `b` record `r` has label `(3b + r) % 10`.
    fn cifar10_tree(root: &Path) -> PathBuf {
        let dir = root.join("cifar-10-batches-bin");
        std::fs::create_dir_all(&dir).unwrap();
        for b in 0..6 {
            let name = match b {
                5 => "test_batch.bin".to_string(),
                _ => format!("data_batch_{}.bin", b + 1),
            };
            let records: Vec<_> = (0..3)
                .map(|r| (vec![((3 * b + r) % 10) as u8], 3 * b + r))
                .collect();
            write_records(&dir.join(name), &records);
        }
        dir
    }

    #[test]
    fn reads_cifar10_labels_pixels_and_default_names() {
        let tmp = TempDir::new("cifar-c10");
        let dir = cifar10_tree(&tmp.0);
        let train = read_cifar(&dir, CifarKind::Cifar10, CifarSplit::Train).unwrap();
        assert_eq!(train.items.len(), 15);
        assert_eq!(train.class_names, CIFAR10_CLASSES.map(String::from));
        for (i, item) in train.items.iter().enumerate() {
            assert_eq!(item.label, i % 10);
            assert_eq!((item.channels, item.height, item.width), (3, 32, 32));
            assert_eq!(item.pixels, pixels(i));
        }
        let test = read_cifar(&dir, CifarKind::Cifar10, CifarSplit::Test).unwrap();
        let labels: Vec<_> = test.items.iter().map(|item| item.label).collect();
        assert_eq!(labels, [5, 6, 7]);
        assert_eq!(test.items[2].pixels, pixels(17));
    }

    #[test]
    fn accepts_parent_dir_and_reads_names_file() {
        let tmp = TempDir::new("cifar-c10-parent");
        let dir = cifar10_tree(&tmp.0);
        let names: String = (0..10).map(|i| format!("class{i}\n")).collect();
        std::fs::write(dir.join("batches.meta.txt"), names + "\n\n").unwrap();
        let data = read_cifar(&tmp.0, CifarKind::Cifar10, CifarSplit::Test).unwrap();
        assert_eq!(data.items.len(), 3);
        assert_eq!(data.class_names[0], "class0");
        assert_eq!(data.class_names[9], "class9");
    }

    #[test]
    fn reads_cifar100_fine_and_coarse_labels() {
        let tmp = TempDir::new("cifar-c100");
        let dir = tmp.0.join("cifar-100-binary");
        std::fs::create_dir_all(&dir).unwrap();
        let records = [(vec![19, 99], 0), (vec![3, 42], 1)];
        write_records(&dir.join("train.bin"), &records);
        write_records(&dir.join("test.bin"), &records[..1]);
        let coarse: String = (0..20).map(|i| format!("super{i}\n")).collect();
        std::fs::write(dir.join("coarse_label_names.txt"), coarse).unwrap();

        let fine = read_cifar(
            &tmp.0,
            CifarKind::Cifar100 { coarse: false },
            CifarSplit::Train,
        )
        .unwrap();
        assert_eq!(fine.items.len(), 2);
        assert_eq!((fine.items[0].label, fine.items[1].label), (99, 42));
        assert_eq!(fine.items[1].pixels, pixels(1));
        assert_eq!(fine.class_names.len(), 100);
        assert_eq!(fine.class_names[42], "42");

        let coarse = read_cifar(
            &dir,
            CifarKind::Cifar100 { coarse: true },
            CifarSplit::Train,
        )
        .unwrap();
        assert_eq!((coarse.items[0].label, coarse.items[1].label), (19, 3));
        assert_eq!(coarse.class_names[3], "super3");

        let test = read_cifar(&dir, CifarKind::Cifar100 { coarse: true }, CifarSplit::Test);
        assert_eq!(test.unwrap().items.len(), 1);
    }

    #[test]
    fn missing_dir_or_file_names_the_path() {
        let tmp = TempDir::new("cifar-missing");
        let gone = tmp.0.join("nowhere");
        let err = read_cifar(&gone, CifarKind::Cifar10, CifarSplit::Train)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&gone.display().to_string()), "{err}");
        assert!(err.contains("cifar-10-binary.tar.gz"), "{err}");

        let dir = cifar10_tree(&tmp.0);
        std::fs::remove_file(dir.join("data_batch_4.bin")).unwrap();
        let err = read_cifar(&dir, CifarKind::Cifar10, CifarSplit::Train)
            .unwrap_err()
            .to_string();
        let path = dir.join("data_batch_4.bin").display().to_string();
        assert!(err.contains(&format!("{path} not found")), "{err}");

        let err = read_cifar(
            &dir,
            CifarKind::Cifar100 { coarse: false },
            CifarSplit::Test,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("test.bin not found"), "{err}");
        assert!(err.contains("cifar-100-binary.tar.gz"), "{err}");
    }

    #[test]
    fn truncated_and_empty_files_name_file_and_record() {
        let tmp = TempDir::new("cifar-truncated");
        let dir = cifar10_tree(&tmp.0);
        let path = dir.join("test_batch.bin");
        let records: Vec<_> = (0..10).map(|i| (vec![i as u8], i)).collect();
        write_records(&path, &records);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.push(1);
        std::fs::write(&path, &bytes).unwrap();
        let err = read_cifar(&dir, CifarKind::Cifar10, CifarSplit::Test)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(
            err.contains("30731 bytes is not a whole number of 3073-byte records"),
            "{err}"
        );
        assert!(err.contains("record 10 is truncated"), "{err}");

        std::fs::write(&path, []).unwrap();
        let err = read_cifar(&dir, CifarKind::Cifar10, CifarSplit::Test)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("empty file"), "{err}");
    }

    #[test]
    fn label_out_of_range_names_file_and_record() {
        let tmp = TempDir::new("cifar-label");
        let dir = cifar10_tree(&tmp.0);
        let path = dir.join("data_batch_2.bin");
        write_records(&path, &[(vec![1], 0), (vec![12], 1)]);
        let err = read_cifar(&dir, CifarKind::Cifar10, CifarSplit::Train)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(
            err.contains("record 1 has label 12, expected 0..=9"),
            "{err}"
        );

        let dir = tmp.0.join("cifar-100-binary");
        std::fs::create_dir_all(&dir).unwrap();
        write_records(&dir.join("test.bin"), &[(vec![0, 0], 0), (vec![20, 5], 1)]);
        let err = read_cifar(
            &dir,
            CifarKind::Cifar100 { coarse: false },
            CifarSplit::Test,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("record 1 has coarse label 20, expected 0..=19"),
            "{err}"
        );
    }

    #[test]
    fn names_file_with_wrong_count_is_an_error() {
        let tmp = TempDir::new("cifar-names");
        let dir = cifar10_tree(&tmp.0);
        let path = dir.join("batches.meta.txt");
        std::fs::write(&path, "airplane\nautomobile\n").unwrap();
        let err = read_cifar(&dir, CifarKind::Cifar10, CifarSplit::Test)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("2 class names, expected 10"), "{err}");
    }
}
