//! Models by Hugging Face Hub id, from the cache the Python hub client keeps
//! (`HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`, laid out as
//! `models--org--name/{refs,snapshots,blobs}`): what timm in Python already downloaded loads
//! here as it is, with no network. What is not cached is downloaded into that cache
//! ([`crate::weights::hub_download`], feature `hub`), unless `HF_HUB_OFFLINE=1`.

use std::path::{Path, PathBuf};

use crate::error::{Result, VitError};

/// A model repository on the Hub and a revision (branch, tag or commit; default `main`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubId {
    /// `org/name`.
    pub repo: String,
    /// What `@…` named, or `main`.
    pub revision: String,
}

impl HubId {
    /// Reads `hf-hub:org/name[@revision]` or a bare `org/name[@revision]` (one `/`, no leading
    /// `/` or `.`; a revision of such parts, `/`-separated as `refs/pr/1`); anything else is
    /// not a hub id. Every part becomes a cache path component, so none can be `..`.
    pub fn parse(text: &str) -> Option<Self> {
        let bare = text.strip_prefix("hf-hub:").unwrap_or(text);
        let (repo, revision) = match bare.split_once('@') {
            Some((repo, rev)) if !rev.is_empty() => (repo, rev),
            Some(_) => return None,
            None => (bare, "main"),
        };
        let (org, name) = repo.split_once('/')?;
        let valid = |part: &str| {
            !part.is_empty()
                && !part.starts_with('.')
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        let valid_revision = revision.split('/').all(valid);
        (valid(org) && valid(name) && valid_revision).then(|| Self {
            repo: repo.to_string(),
            revision: revision.to_string(),
        })
    }

    /// The repository's folder in the cache: `models--org--name`.
    pub fn cache_folder(&self) -> String {
        format!("models--{}", self.repo.replace('/', "--"))
    }
}

/// The hub cache the Python client uses, from the environment.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("HF_HUB_CACHE")
        .or_else(|| var("HF_HOME").map(|home| home.join("hub")))
        .or_else(|| var("HOME").map(|home| home.join(".cache/huggingface/hub")))
}

/// The weights files a downloaded snapshot holds (one of them), as the downloader fetches them.
pub const SNAPSHOT_WEIGHTS: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];

/// The snapshot folder of `id` in `cache`, if that revision was downloaded whole (its config and
/// weights): `refs/<revision>` names the commit for a branch or tag; a commit hash is looked up
/// directly.
pub fn cached_snapshot(cache: &Path, id: &HubId) -> Option<PathBuf> {
    let repo = cache.join(id.cache_folder());
    let commit = match std::fs::read_to_string(repo.join("refs").join(&id.revision)) {
        Ok(commit) => commit.trim().to_string(),
        Err(_) => id.revision.clone(),
    };
    // A commit is a hex string: never a path that could leave the cache.
    if commit.is_empty() || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let snapshot = repo.join("snapshots").join(commit);
    // Complete only with its weights: a download cut off after `config.json` must be resumed,
    // not taken for a model without weights.
    let complete = snapshot.join("config.json").is_file()
        && SNAPSHOT_WEIGHTS
            .iter()
            .any(|name| snapshot.join(name).is_file());
    complete.then_some(snapshot)
}

/// The snapshot of `id`: the cached one (no network), else — with the `hub` feature and unless
/// `HF_HUB_OFFLINE=1` — downloaded into the cache; otherwise an error that says where it was
/// looked for and how to get it.
pub fn resolve(id: &HubId) -> Result<PathBuf> {
    let cache = cache_dir();
    if let Some(snapshot) = cache.as_deref().and_then(|c| cached_snapshot(c, id)) {
        return Ok(snapshot);
    }
    let place = cache.as_ref().map_or_else(
        || "no cache folder (set HF_HUB_CACHE or HF_HOME)".to_string(),
        |c| format!("the Hugging Face cache at {}", c.display()),
    );
    let not_cached = |why: &str| VitError::Hub {
        repository: format!("{}@{}", id.repo, id.revision),
        message: format!("not a file or folder here, and not in {place}; {why}"),
    };
    #[cfg(feature = "hub")]
    {
        if crate::weights::hub_download::offline() {
            return Err(not_cached(
                "HF_HUB_OFFLINE is set, so it is not downloaded (unset it, or download it once)",
            ));
        }
        let Some(cache) = cache else {
            return Err(not_cached("nowhere to download it to"));
        };
        crate::weights::hub_download::HubClient::from_env(cache).download_model(id)
    }
    #[cfg(not(feature = "hub"))]
    Err(not_cached(&format!(
        "download it once (`huggingface-cli download {}`, or timm.create_model(..., \
         pretrained=True) in Python), or build with vit-core's `hub` feature",
        id.repo
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_parse_and_paths_do_not() {
        let id = HubId::parse("hf-hub:timm/vit_small_patch16_224.augreg_in21k_ft_in1k").unwrap();
        assert_eq!(id.repo, "timm/vit_small_patch16_224.augreg_in21k_ft_in1k");
        assert_eq!(id.revision, "main");
        assert_eq!(HubId::parse("timm/vit_b@v1.0").unwrap().revision, "v1.0");
        assert_eq!(
            HubId::parse("timm/vit_b@refs/pr/1").unwrap().revision,
            "refs/pr/1"
        );
        assert_eq!(
            id.cache_folder(),
            "models--timm--vit_small_patch16_224.augreg_in21k_ft_in1k"
        );
        for not in [
            "/abs/path",
            "./rel/x",
            "a/b/c",
            "noslash",
            "../x",
            "a/..",
            "x/y@",
            "x/y@../z",
            "x/y@refs//pr",
        ] {
            assert!(HubId::parse(not).is_none(), "{not}");
        }
    }
}
