//! Downloads from a hub served on 127.0.0.1 (vit-testing's `HubServer`): the Python client's
//! cache layout, timm's logits from what was downloaded, resumption, and the errors — with
//! nothing left behind that a later call would take for a complete file.
#![cfg(feature = "hub")]

use std::path::Path;

use burn::tensor::Tensor;
use vit_core::VisionTransformerConfig;
use vit_core::weights::Pretrained;
use vit_core::weights::checkpoint::Checkpoint;
use vit_core::weights::hub_cache::{HubId, cached_snapshot};
use vit_core::weights::hub_download::HubClient;
use vit_testing::hub_server::{COMMIT, Fault, HubServer};
use vit_testing::{B, max_abs_diff_data, temp_dir, timm_fixture};

const REPO: &str = "timm/tiny-vit";

fn id() -> HubId {
    HubId::parse(REPO).unwrap()
}

fn download(
    server: &HubServer,
    cache: &Path,
    token: Option<&str>,
) -> Result<std::path::PathBuf, String> {
    HubClient::new(
        &server.endpoint,
        token.map(String::from),
        cache.to_path_buf(),
    )
    .download_model(&id())
    .map_err(|e| e.to_string())
}

/// The model in `snapshot` gives timm's logits on the fixture's input.
fn check_logits(snapshot: &Path) {
    let model =
        Pretrained::<VisionTransformerConfig, B>::load(snapshot, None, None, &Default::default())
            .unwrap()
            .model;
    let mut io = Checkpoint::read(timm_fixture("vit_cls").join("io.safetensors")).unwrap();
    let input = Tensor::<B, 4>::from_data(io.take("input").unwrap(), &Default::default());
    let diff = max_abs_diff_data(model.forward(input).into_data(), &io.tensors["logits"]);
    assert!(diff <= 1e-4, "logits differ from timm's by {diff}");
}

fn blobs(cache: &Path) -> Vec<String> {
    let dir = cache.join("models--timm--tiny-vit/blobs");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_model_downloads_into_the_python_cache_layout_and_gives_timms_logits() {
    let cache = temp_dir("hub-download");
    let server = HubServer::start(REPO, &timm_fixture("vit_cls"), Fault::None);
    let snapshot = download(&server, &cache, None).unwrap();
    let repo = cache.join("models--timm--tiny-vit");
    assert_eq!(snapshot, repo.join("snapshots").join(COMMIT));
    assert_eq!(
        std::fs::read_to_string(repo.join("refs/main")).unwrap(),
        COMMIT
    );
    let link = std::fs::read_link(snapshot.join("model.safetensors")).unwrap();
    assert!(link.starts_with("../../blobs"), "{link:?}");
    assert_eq!(
        link.file_name().unwrap().len(),
        64,
        "the blob is named by its SHA-256"
    );
    check_logits(&snapshot);
    assert!(
        server.requests().iter().any(|r| r.starts_with("GET /lfs/")),
        "the weights came from the storage the hub redirected to: {:?}",
        server.requests()
    );
    // What is cached is found without the server (the offline path of `hub_cache::resolve`).
    drop(server);
    assert_eq!(cached_snapshot(&cache, &id()), Some(snapshot));
    std::fs::remove_dir_all(&cache).unwrap();
}

#[test]
fn a_broken_download_is_resumed_and_a_wrong_one_discarded() {
    let cache = temp_dir("hub-resume");
    let cut = HubServer::start(REPO, &timm_fixture("vit_cls"), Fault::CutWeightsAfter(1000));
    let err = download(&cut, &cache, None).unwrap_err();
    assert!(err.contains("broke off after 1000"), "{err}");
    assert_eq!(
        cached_snapshot(&cache, &id()).map(|s| s.join("model.safetensors").exists()),
        Some(false)
    );
    let parts: Vec<String> = blobs(&cache)
        .into_iter()
        .filter(|b| b.ends_with(".incomplete"))
        .collect();
    assert_eq!(parts.len(), 1, "{:?}", blobs(&cache));
    drop(cut);
    let good = HubServer::start(REPO, &timm_fixture("vit_cls"), Fault::None);
    let snapshot = download(&good, &cache, None).unwrap();
    assert!(
        good.requests()
            .iter()
            .any(|r| r.starts_with("GET") && r.ends_with("range=1000")),
        "resumed with a Range request: {:?}",
        good.requests()
    );
    check_logits(&snapshot);
    assert!(!blobs(&cache).iter().any(|b| b.ends_with(".incomplete")));
    drop(good);

    let cache = temp_dir("hub-wrong-size");
    let wrong = HubServer::start(REPO, &timm_fixture("vit_cls"), Fault::WrongWeightsSize(10));
    let err = download(&wrong, &cache, None).unwrap_err();
    assert!(err.contains("discarded"), "{err}");
    assert!(
        !blobs(&cache)
            .iter()
            .any(|b| b.len() == 64 || b.ends_with(".incomplete")),
        "nothing a later call would trust: {:?}",
        blobs(&cache)
    );
}

#[test]
fn server_errors_are_named_and_server_paths_are_refused() {
    let cache = temp_dir("hub-errors");
    let fixture = timm_fixture("vit_cls");
    for (fault, token, expect) in [
        (Fault::Status(404), None, "not found"),
        (Fault::Status(401), None, "HF_TOKEN"),
        (Fault::Status(403), Some("hf_x"), "no access"),
        (Fault::Status(500), None, "HTTP 500"),
        (Fault::WeightsEtag("../../escape".into()), None, "refused"),
    ] {
        let server = HubServer::start(REPO, &fixture, fault.clone());
        let err = download(&server, &cache, token).unwrap_err();
        assert!(
            err.contains(expect) && err.contains(REPO),
            "{fault:?}: {err}"
        );
    }
    assert!(!cache.join("escape").exists() && !cache.parent().unwrap().join("escape").exists());
    // Nobody listening.
    let gone = HubServer::start(REPO, &fixture, Fault::None);
    let endpoint = gone.endpoint.clone();
    drop(gone);
    let err = HubClient::new(&endpoint, None, cache.clone())
        .download_model(&id())
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot reach"), "{err}");
    std::fs::remove_dir_all(&cache).unwrap();
}
