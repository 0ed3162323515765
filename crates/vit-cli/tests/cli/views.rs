//! `vit predict`, `vit attention`, `vit pos-embed` and `vit attention-distance` on the timm
//! fixtures, as a user runs them: outputs decode, are the expected size and are not blank; bad
//! input is an error with exit status ≠ 0.

use std::path::{Path, PathBuf};

/// `vit` on the CPU backend: the WGPU path of the same model code is covered by
/// `wgpu_parity.rs`, and lavapipe would make these runs slow.
fn vit(args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["--backend", "ndarray"];
    all.extend_from_slice(args);
    crate::common::vit(&all)
}

fn fixture(name: &str) -> String {
    vit_testing::timm_fixture(name).display().to_string()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vit-views-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 45×37 RGB picture with structure (a bright square on a gradient), as PNG and JPEG.
fn pictures(dir: &Path) -> (String, String) {
    let img = image::RgbImage::from_fn(45, 37, |x, y| {
        let inside = (10..25).contains(&x) && (8..20).contains(&y);
        if inside {
            image::Rgb([250, 240, 30])
        } else {
            image::Rgb([(x * 5) as u8, (y * 6) as u8, 90])
        }
    });
    let (png, jpg) = (dir.join("square.png"), dir.join("square.jpg"));
    img.save(&png).unwrap();
    img.save(&jpg).unwrap();
    (png.display().to_string(), jpg.display().to_string())
}

fn not_blank(path: &Path) -> (u32, u32) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let colours: std::collections::HashSet<_> = img.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 20, "{} is blank", path.display());
    img.dimensions()
}

#[test]
fn predict_gives_the_top_classes_for_vit_deit_and_swin() {
    let dir = temp_dir("predict");
    let (png, jpg) = pictures(&dir);
    for model in ["vit_cls", "deit_distilled", "swin_2stage"] {
        let (ok, stdout, stderr) = vit(&["predict", "--model", &fixture(model), &png, &jpg]);
        assert!(ok, "{model}: {stderr}");
        assert_eq!(
            stdout.lines().count(),
            12,
            "two images × (name + 5 classes):\n{stdout}"
        );
        let (ok, stdout, stderr) = vit(&[
            "predict",
            "--model",
            &fixture(model),
            "--json",
            "--top",
            "3",
            &png,
        ]);
        assert!(ok, "{model}: {stderr}");
        assert_eq!(
            stdout.lines().count(),
            1,
            "one JSON line per image: {stdout}"
        );
        let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let top = value["top"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        let probs: Vec<f64> = top
            .iter()
            .map(|t| t["probability"].as_f64().unwrap())
            .collect();
        assert!(probs.windows(2).all(|w| w[0] >= w[1]) && probs.iter().sum::<f64>() <= 1.0 + 1e-6);
        assert_eq!(
            top[0]["label"],
            top[0]["class"].to_string().as_str(),
            "no names: indices"
        );
    }
    // A folder (recursively, sorted) with one unreadable file: the good images are classified
    // and printed, the bad one is named, and the command fails.
    let folder = dir.join("folder");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::copy(&png, folder.join("b.png")).unwrap();
    std::fs::copy(&jpg, folder.join("sub/a.jpg")).unwrap();
    std::fs::write(folder.join("broken.png"), b"not a png").unwrap();
    let jpeg = std::fs::read(&jpg).unwrap();
    std::fs::write(folder.join("cut.jpg"), &jpeg[..jpeg.len() * 3 / 4]).unwrap();
    let (ok, stdout, stderr) = vit(&[
        "predict",
        "--model",
        &fixture("vit_cls"),
        "--json",
        folder.to_str().unwrap(),
    ]);
    assert!(!ok, "a bad image fails the command");
    let images: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["image"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(images.len(), 2, "{stdout}");
    assert!(
        images[0].ends_with("b.png") && images[1].ends_with("sub/a.jpg"),
        "{images:?}"
    );
    assert!(
        stderr.contains("broken.png")
            && stderr.contains("2 of 4")
            && stderr.contains("cut.jpg: a truncated JPEG"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn attention_draws_rollout_and_heads_for_vit_and_deit() {
    let dir = temp_dir("attention");
    let (png, _) = pictures(&dir);
    for model in ["vit_cls", "deit_distilled", "vit_gap"] {
        let out = dir.join(model);
        let (ok, _, stderr) = vit(&[
            "attention",
            "--model",
            &fixture(model),
            &png,
            "-o",
            &out.display().to_string(),
        ]);
        assert!(ok, "{model}: {stderr}");
        let (w, h) = not_blank(&out.join("square_rollout.png"));
        assert!(w > 400 && h > 200, "{w}x{h}");
        not_blank(&out.join("square_heads.png"));
    }
    // Two images with the same name from different folders: numbered, neither overwritten.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let twin = other.join("square.png");
    std::fs::copy(&png, &twin).unwrap();
    let out = dir.join("twins");
    let (ok, _, stderr) = vit(&[
        "attention",
        "--model",
        &fixture("vit_cls"),
        &png,
        twin.to_str().unwrap(),
        "-o",
        &out.display().to_string(),
    ]);
    assert!(ok, "{stderr}");
    for name in ["square_1", "square_2"] {
        not_blank(&out.join(format!("{name}_rollout.png")));
        not_blank(&out.join(format!("{name}_heads.png")));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pos_embed_and_attention_distance_draw_the_vit_papers_figures() {
    let dir = temp_dir("pos");
    let (png, jpg) = pictures(&dir);
    let out = dir.join("pos.png").display().to_string();
    let (ok, _, stderr) = vit(&[
        "pos-embed",
        "--model",
        &fixture("deit_distilled"),
        "-o",
        &out,
    ]);
    assert!(ok, "{stderr}");
    not_blank(Path::new(&out));
    let folder = dir.display().to_string();
    let (ok, _, stderr) = vit(&[
        "attention-distance",
        "--model",
        &fixture("vit_cls"),
        &png,
        &jpg,
        "-o",
        &folder,
    ]);
    assert!(ok, "{stderr}");
    not_blank(&dir.join("attention_distance.png"));
    let csv = std::fs::read_to_string(dir.join("attention_distance.csv")).unwrap();
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&fixture("vit_cls")).join("config.json")).unwrap(),
    )
    .unwrap();
    let (depth, heads) = (
        config["model_args"]["depth"].as_u64().unwrap() as usize,
        config["model_args"]["num_heads"].as_u64().unwrap() as usize,
    );
    assert_eq!(csv.lines().count(), 1 + depth * heads, "{csv}");
    for line in csv.lines().skip(1) {
        let d: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
        assert!((0.0..=32.0 * 1.5).contains(&d), "{line}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_images_and_unsupported_models_are_clear_errors() {
    let dir = temp_dir("bad");
    let (png, _) = pictures(&dir);
    let text = dir.join("notes.png");
    std::fs::write(&text, "not an image").unwrap();
    let text = text.display().to_string();
    let missing = dir.join("missing.jpg").display().to_string();
    for image in [&text, &missing] {
        let (ok, _, stderr) = vit(&["predict", "--model", &fixture("vit_cls"), image]);
        assert!(
            !ok && stderr.contains(image.as_str()) && !crate::panicked(&stderr),
            "{stderr}"
        );
    }
    let out = dir.display().to_string();
    for args in [
        vec![
            "attention",
            "--model",
            &fixture("swin_2stage"),
            &png,
            "-o",
            &out,
        ],
        vec!["pos-embed", "--model", &fixture("swin_2stage"), "-o", &out],
        vec![
            "attention-distance",
            "--model",
            &fixture("swin_2stage"),
            &png,
            "-o",
            &out,
        ],
    ] {
        let (ok, _, stderr) = vit(&args);
        assert!(
            !ok && stderr.contains("swin") && !crate::panicked(&stderr),
            "{stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `vit filters` gives numpy's principal components of the patch-embedding filters (up to
/// sign, `scripts/make_filter_pca_fixture.py`) for a ViT (fewer filters than inputs) and a Swin
/// (more), draws them, and says why a hybrid has none.
#[test]
fn filters_are_numpys_principal_components_and_hybrids_say_why_not() {
    let fixtures = vit_testing::fixtures().join("views/filters_pca");
    for (case, k) in [("vit_cls", 28), ("swin_2stage", 12)] {
        let dir = temp_dir(&format!("filters-{case}"));
        let (ok, _, stderr) = vit(&[
            "filters",
            "--model",
            &fixture(case),
            "-o",
            dir.to_str().unwrap(),
        ]);
        assert!(ok, "{case}: {stderr}");
        let ours = vit_core::npy::read(&dir.join("filters_pca.npy")).unwrap();
        let numpy = vit_core::npy::read(&fixtures.join(format!("{case}_components.npy"))).unwrap();
        let width = numpy.shape[1];
        assert_eq!(ours.shape[0], k, "{case}: {:?}", ours.shape);
        assert_eq!(ours.shape[1..].iter().product::<usize>(), width);
        for (i, (a, b)) in ours
            .data
            .chunks(width)
            .zip(numpy.data.chunks(width))
            .enumerate()
        {
            let same = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            let flipped = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x + y).abs())
                .fold(0.0, f32::max);
            assert!(
                same.min(flipped) < 1e-5,
                "{case} component {i}: {same} / {flipped}"
            );
        }
        let csv = std::fs::read_to_string(dir.join("filters_variance.csv")).unwrap();
        let variance = vit_core::npy::read(&fixtures.join(format!("{case}_variance.npy"))).unwrap();
        for (line, want) in csv.lines().skip(1).zip(&variance.data) {
            let got: f32 = line.split(',').nth(1).unwrap().parse().unwrap();
            assert!(
                (got - want).abs() <= 1e-5 * want.abs().max(1e-3),
                "{case}: {line} vs {want}"
            );
        }
        assert_eq!(csv.lines().count() - 1, variance.data.len());
        not_blank(&dir.join("filters_pca.png"));
        not_blank(&dir.join("filters_variance.png"));
    }
    let (ok, _, stderr) = vit(&[
        "filters",
        "--model",
        &fixture("cat_hybrid_r26"),
        "-o",
        "/tmp",
    ]);
    assert!(
        !ok && stderr.contains("hybrid") && stderr.contains("CNN stem"),
        "{stderr}"
    );
}

/// `vit attention-distance` against numpy on timm's own attention weights
/// (`scripts/make_attention_distance_fixture.py`): a hybrid, whose tokens are 32×32 input
/// pixels (the stem's stride times the patch), and a ViT with register tokens, which are left
/// out of the patch maps like the class token.
#[test]
fn attention_distance_matches_numpy_on_timms_weights_for_hybrids_and_register_tokens() {
    let fixtures = vit_testing::fixtures().join("views/attention_distance");
    for case in ["cat_hybrid_r26", "cat_dinov2_reg"] {
        let dir = temp_dir(&format!("distance-{case}"));
        let images: Vec<String> = (0..2)
            .map(|i| {
                fixtures
                    .join(format!("{case}_{i}.png"))
                    .display()
                    .to_string()
            })
            .collect();
        let (ok, _, stderr) = vit(&[
            "attention-distance",
            "--model",
            &fixture(case),
            &images[0],
            &images[1],
            "-o",
            dir.to_str().unwrap(),
        ]);
        assert!(ok, "{case}: {stderr}");
        let numpy = vit_core::npy::read(&fixtures.join(format!("{case}_distance.npy"))).unwrap();
        let heads = numpy.shape[1];
        let csv = std::fs::read_to_string(dir.join("attention_distance.csv")).unwrap();
        let rows: Vec<(usize, usize, f32)> = csv
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (
                    f[0].parse().unwrap(),
                    f[1].parse().unwrap(),
                    f[2].parse().unwrap(),
                )
            })
            .collect();
        assert_eq!(rows.len(), numpy.data.len(), "{case}: {csv}");
        for (layer, head, ours) in rows {
            let want = numpy.data[(layer - 1) * heads + head - 1];
            assert!(
                (ours - want).abs() < 2e-3,
                "{case} layer {layer} head {head}: {ours} vs {want}"
            );
        }
    }
}
