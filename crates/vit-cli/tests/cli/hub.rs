//! Models by timm name and hub id, downloaded from a hub served on 127.0.0.1 into the Python
//! client's cache, then loaded from that cache with the server gone and `HF_HUB_OFFLINE=1`.

use std::path::Path;
use std::process::Command;

use vit_testing::hub_server::{Fault, HubServer};
use vit_testing::{temp_dir, timm_fixture};

const NAME: &str = "vit_small_patch16_224.augreg_in21k_ft_in1k";
const REPO: &str = "timm/vit_small_patch16_224.augreg_in21k_ft_in1k";

/// `vit forward -m MODEL …` with only these hub variables set: (success, stderr, logits).
fn forward(model: &[&str], cache: &Path, env: &[(&str, &str)]) -> (bool, String, Vec<f32>) {
    let out = cache.join("out.npy");
    let _ = std::fs::remove_file(&out);
    let input = timm_fixture("vit_cls/input.npy");
    let mut command = Command::new(env!("CARGO_BIN_EXE_vit"));
    command
        .arg("forward")
        .args(model)
        .args(["-i", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .env("HF_HUB_CACHE", cache)
        .env_remove("HF_TOKEN")
        .env_remove("HF_HOME")
        .env_remove("HF_ENDPOINT")
        .env_remove("HF_HUB_OFFLINE");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    let logits = vit_core::npy::read(&out)
        .map(|a| a.data)
        .unwrap_or_default();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        logits,
    )
}

fn timm_logits() -> Vec<f32> {
    vit_core::npy::read(&timm_fixture("vit_cls/logits.npy"))
        .unwrap()
        .data
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-4)
}

#[test]
fn every_name_form_downloads_into_the_hub_cache_and_then_loads_offline() {
    for model in [
        vec!["-m", NAME],
        vec!["-m", "vit_small_patch16_224", "--pretrained"],
        vec!["-m", REPO],
        vec![
            "-m",
            "hf-hub:timm/vit_small_patch16_224.augreg_in21k_ft_in1k@main",
        ],
    ] {
        let cache = temp_dir("cli-hub");
        let server = HubServer::start(REPO, &timm_fixture("vit_cls"), Fault::None);
        let online = [("HF_ENDPOINT", server.endpoint.as_str())];
        let (ok, stderr, logits) = forward(&model, &cache, &online);
        assert!(ok, "{model:?}: {stderr}");
        assert!(
            close(&logits, &timm_logits()),
            "{model:?}: timm's logits from the download"
        );
        assert!(
            server
                .requests()
                .iter()
                .any(|r| r.starts_with("GET") && r.ends_with("model.safetensors")),
            "{model:?}: downloaded"
        );
        drop(server);
        // The same call with no server and the network forbidden: from the cache.
        let (ok, stderr, logits) = forward(&model, &cache, &[("HF_HUB_OFFLINE", "1")]);
        assert!(ok, "{model:?} offline: {stderr}");
        assert!(close(&logits, &timm_logits()), "{model:?} offline");
        // A bare architecture without --pretrained says what to add.
        let (ok, stderr, _) = forward(
            &["-m", "vit_small_patch16_224"],
            &cache,
            &[("HF_HUB_OFFLINE", "1")],
        );
        assert!(!ok && stderr.contains("--pretrained"), "{stderr}");
        std::fs::remove_dir_all(&cache).unwrap();
    }
}

#[test]
fn offline_without_a_cached_copy_and_a_gated_repository_are_clear_errors() {
    let cache = temp_dir("cli-hub-errors");
    let (ok, stderr, _) = forward(&["-m", NAME], &cache, &[("HF_HUB_OFFLINE", "1")]);
    assert!(
        !ok && stderr.contains("HF_HUB_OFFLINE") && stderr.contains(REPO),
        "{stderr}"
    );
    let gated = HubServer::start(REPO, &timm_fixture("vit_cls"), Fault::Status(401));
    let (ok, stderr, _) = forward(
        &["-m", NAME],
        &cache,
        &[("HF_ENDPOINT", gated.endpoint.as_str())],
    );
    assert!(!ok && stderr.contains("HF_TOKEN"), "{stderr}");
    let (ok, stderr, _) = forward(&["-m", "vit_small_patch16_224.augreg_in99k"], &cache, &[]);
    assert!(
        !ok && stderr.contains("augreg_in21k_ft_in1k"),
        "closest tags named: {stderr}"
    );
    std::fs::remove_dir_all(&cache).unwrap();
}

#[test]
fn models_pretrained_lists_tags_with_hub_ids_and_top1() {
    let output = Command::new(env!("CARGO_BIN_EXE_vit"))
        .args(["models", "--pretrained"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("vit_small_patch16_224.augreg_in21k_ft_in1k*"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains(REPO) && line.contains("81.40"), "{line}");
}

#[test]
fn fine_tuning_starts_from_a_timm_name() {
    let cache = temp_dir("cli-hub-init");
    let images = cache.join("images");
    for (class, colour) in [("red", [220u8, 30, 30]), ("blue", [30u8, 30, 220])] {
        std::fs::create_dir_all(images.join(class)).unwrap();
        for i in 0..4u8 {
            let img = image::RgbImage::from_fn(20, 20, |x, y| {
                image::Rgb(colour.map(|c| c.saturating_add(((x + y) as u8 + i) % 20)))
            });
            img.save(images.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let server = HubServer::start(REPO, &timm_fixture("vit_cls"), Fault::None);
    let data = format!("image-folder:{}", images.display());
    let run = cache.join("run");
    let output = Command::new(env!("CARGO_BIN_EXE_vit"))
        .args(["train", "--init", NAME, "--data", &data, "--epochs", "1"])
        .args(["--batch-size", "4", "-o", run.to_str().unwrap()])
        .env("HF_HUB_CACHE", &cache)
        .env("HF_ENDPOINT", &server.endpoint)
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_OFFLINE")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("test accuracy") && stdout.contains("fresh (new head)"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&cache).unwrap();
}
