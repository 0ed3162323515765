//! Rotary tables against timm's own modules at real sizes (head width 64, `scripts/
//! make_rope_fixtures.py`): each layout at its family's native grid and at another one —
//! `RotaryEmbeddingCat` (EVA-02: `ij`, interleaved, reference-grid rescaling; PE: `xy`, grid
//! offset), `RotaryEmbeddingDinoV3` (centred coordinates, rotate-half) and
//! `RotaryEmbeddingMixed` (learned per-block frequencies).

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use vit_core::layers::rope::{GridIndexing, Rope, RopeConfig, RopeKind};
use vit_core::weights::checkpoint::Checkpoint;
use vit_testing::{B, device, fixtures, max_abs_diff_data};

const HEAD_DIM: usize = 64;

fn timm() -> Checkpoint {
    Checkpoint::read(fixtures().join("rope/tables.safetensors")).unwrap()
}

/// Our table for `grid` against timm's `[patches, 2·d]` (sin | cos), or per block and head
/// `[depth, heads, patches, 2·d]` for learned frequencies.
fn check(rope: &Rope<B>, grid: [usize; 2], expected: &TensorData, name: &str) {
    let tables = rope.tables(grid, 0, &device());
    let values = expected.clone().convert::<f32>().into_vec::<f32>().unwrap();
    let shape = match expected.shape[..] {
        [patches, width] => [1, 1, patches, width],
        [depth, heads, patches, width] => [depth, heads, patches, width],
        _ => panic!("{name}: unexpected table shape {:?}", expected.shape),
    };
    let theirs = Tensor::<B, 4>::from_data(TensorData::new(values, shape), &device());
    let depth = theirs.dims()[0];
    for block in 0..depth {
        let table = tables.block(block);
        let want = theirs.clone().narrow(0, block, 1);
        for (what, ours, part) in [("sin", &table.sin, 0), ("cos", &table.cos, 1)] {
            let want = want.clone().narrow(3, part * HEAD_DIM, HEAD_DIM);
            let diff = max_abs_diff_data(ours.to_data(), &want.to_data());
            eprintln!("{name} block {block} {what}: max |ours - timm| = {diff:.2e}");
            assert!(
                diff <= 2e-7,
                "{name} block {block}: {what} differs from timm by {diff}"
            );
        }
    }
}

fn rope(config: RopeConfig) -> Rope<B> {
    config.init(HEAD_DIM, 1, 1, &device())
}

#[test]
fn eva02_tables_match_timm_at_the_reference_grid_and_rescaled() {
    let io = timm();
    let eva02 = rope(RopeConfig::new().with_ref_feat_shape(Some([16, 16])));
    check(&eva02, [16, 16], &io.tensors["eva02_16x16"], "eva02 16x16");
    check(&eva02, [10, 10], &io.tensors["eva02_10x10"], "eva02 10x10");
}

#[test]
fn perception_encoder_tables_match_timm_in_xy_order_with_an_offset() {
    let io = timm();
    let pe = rope(
        RopeConfig::new()
            .with_grid_indexing(GridIndexing::Xy)
            .with_grid_offset(1.0)
            .with_ref_feat_shape(Some([24, 24])),
    );
    check(&pe, [12, 12], &io.tensors["pe_12x12"], "pe 12x12");
    check(&pe, [9, 15], &io.tensors["pe_9x15"], "pe 9x15");
}

#[test]
fn dinov3_tables_match_timm_at_two_grids() {
    let io = timm();
    let dinov3 = rope(
        RopeConfig::new()
            .with_kind(RopeKind::Dinov3)
            .with_temperature(100.0)
            .with_rotate_half(true),
    );
    check(
        &dinov3,
        [14, 14],
        &io.tensors["dinov3_14x14"],
        "dinov3 14x14",
    );
    check(&dinov3, [8, 12], &io.tensors["dinov3_8x12"], "dinov3 8x12");
}

#[test]
fn mixed_tables_from_learned_frequencies_match_timm_at_two_grids() {
    let io = timm();
    let mut mixed = RopeConfig::new()
        .with_kind(RopeKind::Mixed)
        .with_temperature(10.0)
        .with_grid_indexing(GridIndexing::Xy)
        .init::<B>(HEAD_DIM, 1, 2, &device());
    let freqs = Tensor::<B, 4>::from_data(
        io.tensors["mixed_freqs"].clone().convert::<f32>(),
        &device(),
    );
    assert_eq!(
        mixed.freqs.as_ref().unwrap().val().dims(),
        freqs.dims(),
        "rope.freqs has timm's shape"
    );
    mixed.freqs = Some(Param::from_tensor(freqs));
    check(&mixed, [14, 14], &io.tensors["mixed_14x14"], "mixed 14x14");
    check(&mixed, [8, 12], &io.tensors["mixed_8x12"], "mixed 8x12");
}

/// Band 0's angle (frequency 1) of each patch on coordinate axis `axis`, from a table's sines and
/// cosines (interleaved layout: axis 0's bands first, then axis 1's).
fn band0_angles(table: &vit_core::layers::rope::RopeTable<B>, axis: usize) -> Vec<f32> {
    let slot = axis * HEAD_DIM / 2;
    let values = |t: &Tensor<B, 4>| {
        t.clone()
            .narrow(3, slot, 1)
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .unwrap()
    };
    let (sin, cos) = (values(&table.sin), values(&table.cos));
    sin.iter().zip(&cos).map(|(s, c)| s.atan2(*c)).collect()
}

#[test]
fn a_training_time_shift_moves_every_position_of_an_axis_by_one_amount_within_its_bound() {
    let rope = rope(RopeConfig::new().with_shift_coords(Some(0.4)));
    let plain = rope.tables_with(
        [5, 7],
        0,
        vit_core::layers::rope::CoordAugment::NONE,
        &device(),
    );
    for _ in 0..4 {
        let augment = rope.draw_augment(&device());
        assert!(augment.shift.iter().all(|s| s.abs() <= 0.4), "{augment:?}");
        assert_eq!(augment.scale, [1.0, 1.0]);
        let moved = rope.tables_with([5, 7], 0, augment, &device());
        for axis in 0..2 {
            let (before, after) = (
                band0_angles(plain.block(0), axis),
                band0_angles(moved.block(0), axis),
            );
            for (b, a) in before.iter().zip(&after) {
                // The same shift for every patch (angles compared modulo 2π).
                let d = (a - b - augment.shift[axis]).rem_euclid(std::f32::consts::TAU);
                assert!(
                    d.min(std::f32::consts::TAU - d) < 1e-4,
                    "axis {axis}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn rotary_tables_are_augmented_while_training_only() {
    use vit_testing::AB;
    let config = RopeConfig::new()
        .with_kind(RopeKind::Dinov3)
        .with_temperature(100.0)
        .with_rotate_half(true)
        .with_rescale_coords(Some(2.0));
    let table = |t: &vit_core::layers::rope::RopeTables<B>| t.block(0).sin.to_data();
    // Inference: the plain table, every call.
    let infer = config.init::<B>(HEAD_DIM, 1, 1, &device());
    let plain = infer.tables_with(
        [6, 6],
        0,
        vit_core::layers::rope::CoordAugment::NONE,
        &device(),
    );
    assert_eq!(table(&infer.tables([6, 6], 0, &device())), table(&plain));
    // Training: a fresh shared rescale in [1/2, 2] per call.
    let train = config.init::<AB>(HEAD_DIM, 1, 1, &device());
    let draws: Vec<_> = (0..3).map(|_| train.draw_augment(&device())).collect();
    for d in &draws {
        assert_eq!(d.shift, [0.0, 0.0]);
        assert_eq!(d.scale[0], d.scale[1], "one factor for both axes");
        assert!((0.5..=2.0).contains(&d.scale[0]), "{d:?}");
    }
    assert_ne!(draws[0], draws[1]);
    let a = train.tables([6, 6], 0, &device()).block(0).sin.to_data();
    let b = train.tables([6, 6], 0, &device()).block(0).sin.to_data();
    assert_ne!(a, b, "two training steps draw two augmentations");
}
