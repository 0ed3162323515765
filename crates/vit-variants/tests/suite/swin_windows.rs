//! Swin's window arithmetic against hand-worked cases: partition and reverse, the relative
//! position index, and the shifted-window mask.

use vit_core::layers::rel_pos_bias::relative_position_index;
use vit_testing::{B, data_values, device, pseudo_random, values};
use vit_variants::swin::windows::{shifted_window_mask, window_partition, window_reverse};

#[test]
fn partition_cuts_row_major_windows_and_reverse_undoes_it() {
    // [batch 2, 6 rows, 4 cols, 3 channels] into 3×2 windows: 2·(2·2) windows of 6 tokens.
    let x = pseudo_random([2, 6, 4, 3], 5);
    let windows = window_partition(x.clone(), [3, 2]);
    assert_eq!(windows.dims(), [8, 6, 3]);
    let (map, cut) = (values(&x), values(&windows));
    let at = |b: usize, y: usize, xx: usize, c: usize| map[((b * 6 + y) * 4 + xx) * 3 + c];
    // Window 3 of image 1 is the bottom-right one: rows 3..6, columns 2..4; token 4 of it is
    // its row 2, column 0.
    let window = 4 + 3;
    let token = 4;
    for c in 0..3 {
        assert_eq!(cut[(window * 6 + token) * 3 + c], at(1, 3 + 2, 2, c));
    }
    let back = window_reverse(windows, [3, 2], [6, 4]);
    assert_eq!(values(&back), map);
}

#[test]
fn relative_position_index_of_a_2x2_window_is_timms() {
    // (Δrow + 1)·3 + (Δcol + 1) for every (query, key) pair, row-major.
    assert_eq!(
        relative_position_index([2, 2], false),
        [4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4]
    );
    // Every pair of a window with itself reads the table's centre row.
    let index = relative_position_index([3, 4], false);
    let centre = 2 * 7 + 3;
    for i in 0..12 {
        assert_eq!(index[i * 12 + i], centre);
    }
}

#[test]
fn shifted_window_mask_separates_the_regions_of_the_rolled_image() {
    // A 4×4 map, 2×2 windows, shift 1: the top-left window lies in one region (no masking);
    // the bottom-right one straddles four regions (only each token with itself).
    let mask = shifted_window_mask::<B>([4, 4], [2, 2], [1, 1], &device());
    assert_eq!(mask.dims(), [4, 4, 4]);
    let m = data_values(mask.into_data());
    let entry = |w: usize, q: usize, k: usize| m[(w * 4 + q) * 4 + k];
    for q in 0..4 {
        for k in 0..4 {
            assert_eq!(entry(0, q, k), 0.0);
            assert_eq!(entry(3, q, k), if q == k { 0.0 } else { -100.0 });
            // Queries and keys mask each other symmetrically.
            for w in 0..4 {
                assert_eq!(entry(w, q, k), entry(w, k, q));
            }
        }
    }
    // The top-right window splits by column only: tokens 0, 2 (left column) apart from 1, 3.
    assert_eq!(entry(1, 0, 2), 0.0);
    assert_eq!(entry(1, 0, 1), -100.0);
}
