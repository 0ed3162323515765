//! vit-train's readers of untrusted bytes under mutation fuzzing (see vit-core's
//! `untrusted_inputs.rs`): CIFAR binary batches with their class-name files, and training
//! configs (parsed and validated against their model). Each must end in an `Err` or a value —
//! never a panic, never an allocation far beyond the input. `VIT_FUZZ_CASES=N` for more cases.

use vit_testing::alloc::{Watching, largest_allocation};
use vit_testing::mutate::{cases, check};
use vit_train::TrainConfig;
use vit_train::data::cifar::{CifarKind, CifarSplit, read_cifar};

#[global_allocator]
static ALLOC: Watching = Watching;

/// The largest single allocation a reader may make for these kilobyte inputs.
const BOUND: usize = 16 << 20;

/// Three CIFAR-10 records (label byte + 3072 pixel bytes).
fn cifar10_batch() -> Vec<u8> {
    (0..3)
        .flat_map(|r| {
            std::iter::once(r as u8).chain((0..3072).map(move |i| ((i * 7 + r) % 256) as u8))
        })
        .collect()
}

#[test]
fn cifar_batches_and_their_class_names() {
    let dir = vit_testing::temp_dir("fuzz-cifar");
    let names = b"airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n".to_vec();
    let batch = cifar10_batch();
    // Every other case bends the names file instead of the batch.
    check(
        "cifar",
        &[batch.clone(), names.clone()],
        cases(1500),
        |bytes| {
            let (batch_bytes, names_bytes) = if bytes.len() > 1000 {
                (bytes, &names[..])
            } else {
                (&batch[..], bytes)
            };
            std::fs::write(dir.join("test_batch.bin"), batch_bytes).unwrap();
            std::fs::write(dir.join("batches.meta.txt"), names_bytes).unwrap();
            let (out, largest) =
                largest_allocation(|| read_cifar(&dir, CifarKind::Cifar10, CifarSplit::Test));
            assert!(largest <= BOUND, "a {largest}-byte allocation");
            if let Ok(images) = out {
                assert!(
                    images
                        .items
                        .iter()
                        .all(|i| i.label < images.class_names.len())
                );
            }
        },
    );
}

#[test]
fn training_configs_parsed_and_validated() {
    let dir = vit_testing::temp_dir("fuzz-train-config");
    let path = dir.join("train_config.json");
    let valid = vec![serde_json::to_vec_pretty(&TrainConfig::digits_default()).unwrap()];
    check("train_config.json", &valid, cases(1500), |bytes| {
        std::fs::write(&path, bytes).unwrap();
        let (_, largest) = largest_allocation(|| {
            if let Ok(config) = TrainConfig::load(&path)
                && let Some(model) = &config.model
            {
                let _ = config.validate(model);
            }
        });
        assert!(largest <= BOUND, "a {largest}-byte allocation");
    });
}
