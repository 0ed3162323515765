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
use vit_core::weights::hub_download::{Deadlines, HubClient, same_origin};
use vit_testing::hub_server::{COMMIT, Fault, HubServer, sha256_hex};
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
    // `config.json` arrived, the weights did not: not a cached model (a later run resumes).
    assert_eq!(cached_snapshot(&cache, &id()), None);
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

/// A part that holds every byte (the run was killed between the last write and the rename) is
/// checked and promoted without a request the server would answer with 416.
#[test]
fn a_complete_part_left_by_a_killed_run_is_promoted_without_a_request() {
    let cache = temp_dir("hub-full-part");
    let fixture = timm_fixture("vit_cls");
    let server = HubServer::start(REPO, &fixture, Fault::None);
    download(&server, &cache, None).unwrap();
    let blobs_dir = cache.join("models--timm--tiny-vit/blobs");
    let sha = blobs(&cache).into_iter().find(|b| b.len() == 64).unwrap();
    std::fs::rename(
        blobs_dir.join(&sha),
        blobs_dir.join(format!("{sha}.incomplete")),
    )
    .unwrap();
    std::fs::remove_file(
        cache
            .join("models--timm--tiny-vit/snapshots")
            .join(COMMIT)
            .join("model.safetensors"),
    )
    .unwrap();
    assert_eq!(cached_snapshot(&cache, &id()), None);
    let again = HubServer::start(REPO, &fixture, Fault::None);
    let snapshot = download(&again, &cache, None).unwrap();
    check_logits(&snapshot);
    assert!(
        !again
            .requests()
            .iter()
            .any(|r| r.starts_with("GET") && r.contains("safetensors")),
        "no weights request: {:?}",
        again.requests()
    );
    std::fs::remove_dir_all(&cache).unwrap();
}

/// A server that trickles its headers, or the weights a byte at a time, is cut off by the
/// deadlines instead of holding the run.
#[test]
fn slow_servers_are_cut_off_by_the_deadlines() {
    let cache = temp_dir("hub-slow");
    let fixture = timm_fixture("vit_cls");
    let limits = Deadlines {
        metadata: std::time::Duration::from_millis(1500),
        stall: std::time::Duration::from_millis(1500),
    };
    let client = |server: &HubServer| {
        HubClient::new(&server.endpoint, None, cache.clone()).with_deadlines(limits)
    };
    let headers = HubServer::start(
        REPO,
        &fixture,
        Fault::TrickleHeaders(std::time::Duration::from_millis(200)),
    );
    let started = std::time::Instant::now();
    let err = client(&headers)
        .download_model(&id())
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed().as_secs_f64() < 10.0,
        "{:?}: {err}",
        started.elapsed()
    );
    assert!(err.contains(REPO), "{err}");
    let body = HubServer::start(
        REPO,
        &fixture,
        Fault::TrickleWeights(std::time::Duration::from_millis(100)),
    );
    let started = std::time::Instant::now();
    let err = client(&body).download_model(&id()).unwrap_err().to_string();
    assert!(
        started.elapsed().as_secs_f64() < 10.0,
        "{:?}: {err}",
        started.elapsed()
    );
    assert!(err.contains("stalled"), "{err}");
    std::fs::remove_dir_all(&cache).unwrap();
}

/// The token goes to the endpoint's origin only: not to storage on another port, however
/// the addresses' text begins.
#[test]
fn the_token_goes_only_to_the_endpoints_origin() {
    assert!(same_origin(
        "https://huggingface.co",
        "https://huggingface.co/timm/x/resolve/main/a"
    ));
    assert!(same_origin("http://127.0.0.1:80", "http://127.0.0.1/x"));
    for other in [
        "http://127.0.0.1:8080/x",
        "http://127.0.0.1:80.evil.example/x",
        "https://127.0.0.1:80/x",
        "http://127.0.0.10:80/x",
        "not a url",
    ] {
        assert!(!same_origin("http://127.0.0.1:80", other), "{other}");
    }
    let cache = temp_dir("hub-token");
    let fixture = timm_fixture("vit_cls");
    let storage = HubServer::start(REPO, &fixture, Fault::None);
    let hub = HubServer::start(
        REPO,
        &fixture,
        Fault::RedirectWeightsTo(storage.endpoint.clone()),
    );
    let snapshot = download(&hub, &cache, Some("hf_secret")).unwrap();
    check_logits(&snapshot);
    assert!(
        hub.requests().iter().all(|r| r.ends_with(" auth")),
        "{:?}",
        hub.requests()
    );
    assert!(
        !storage.requests().is_empty() && storage.requests().iter().all(|r| !r.contains("auth")),
        "{:?}",
        storage.requests()
    );
    std::fs::remove_dir_all(&cache).unwrap();
}

/// Links planted in the cache (a snapshot folder or a part pointing at a user's files) are
/// refused: nothing outside the cache is written, truncated or deleted.
#[test]
fn links_in_the_cache_never_reach_outside_it() {
    let cache = temp_dir("hub-links");
    let user = temp_dir("hub-links-user");
    let fixture = timm_fixture("vit_cls");
    let precious = user.join("model.safetensors");
    std::fs::write(&precious, b"the user's own file").unwrap();
    let snapshots = cache.join("models--timm--tiny-vit/snapshots");
    std::fs::create_dir_all(&snapshots).unwrap();
    std::os::unix::fs::symlink(&user, snapshots.join(COMMIT)).unwrap();
    let server = HubServer::start(REPO, &fixture, Fault::None);
    let err = download(&server, &cache, None).unwrap_err();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read(&precious).unwrap(), b"the user's own file");

    // A part that links to the user's file is not written through.
    std::fs::remove_file(snapshots.join(COMMIT)).unwrap();
    let sha = sha256_hex(&std::fs::read(fixture.join("model.safetensors")).unwrap());
    let blobs_dir = cache.join("models--timm--tiny-vit/blobs");
    std::os::unix::fs::symlink(&precious, blobs_dir.join(format!("{sha}.incomplete"))).unwrap();
    let err = download(&server, &cache, None).unwrap_err();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read(&precious).unwrap(), b"the user's own file");
    std::fs::remove_dir_all(&cache).unwrap();
    std::fs::remove_dir_all(&user).unwrap();
}
