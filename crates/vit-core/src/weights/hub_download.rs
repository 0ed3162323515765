//! Downloading a model repository from the Hugging Face Hub into the Python hub client's cache
//! (`models--org--name/{blobs,snapshots,refs}`), so that Python finds what we downloaded and we
//! find what Python did. Feature `hub`.
//!
//! The protocol is the hub's: `HEAD {endpoint}/{repo}/resolve/{revision}/{file}` gives the commit
//! (`X-Repo-Commit`), the blob's ETag (`X-Linked-Etag` for LFS files: their SHA-256) and size,
//! and for LFS files a redirect to the storage; the file is then fetched with `GET`, resumed
//! with `Range` from `blobs/<etag>.incomplete` after an interrupted download, checked (size;
//! SHA-256 when the ETag is one) and only then renamed to `blobs/<etag>` and linked from
//! `snapshots/<commit>/<file>`. HTTP is `ureq`'s. It is not `hf-hub`'s client because that
//! one (0.4.3) builds cache paths from the server's ETag and commit headers unchecked: a server
//! answering `ETag: "../../x"` would write outside the cache. Here both must be plain
//! identifiers, or the download is refused.
//!
//! Environment, as the Python client: `HF_ENDPOINT` (default `https://huggingface.co`),
//! `HF_TOKEN` (else the token file `$HF_HOME/token`, `~/.cache/huggingface/token`),
//! `HF_HUB_OFFLINE=1` (never touch the network: see [`offline`]), `HF_HUB_ETAG_TIMEOUT` (seconds
//! a metadata request may take in all, default 30) and `HF_HUB_DOWNLOAD_TIMEOUT` (seconds a
//! download may go without progress, default 60).
//!
//! What it will not do: send the token anywhere but the endpoint's own origin (scheme, host and
//! port compared, not text); wait for a server without a deadline (a metadata request has a
//! total deadline; a download must keep making progress, and has a total deadline scaled to its
//! size); write, truncate or delete anything through a symbolic link in the cache (the cache root
//! itself may be one), so a planted link cannot reach a file outside it.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::{Result, VitError};
use crate::weights::hub_cache::{HubId, SNAPSHOT_WEIGHTS};

/// Whether `HF_HUB_OFFLINE` asks for no network (`1`, `true`, `yes`, `on`).
pub fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// A client for one hub endpoint writing into one cache folder.
pub struct HubClient {
    endpoint: String,
    token: Option<String>,
    cache: PathBuf,
    agent: ureq::Agent,
    progress: bool,
    limits: Deadlines,
}

/// How long the client waits on a server.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// A metadata (`HEAD`) request, in all: a server trickling its headers is cut off here.
    pub metadata: Duration,
    /// A download without progress (fewer than [`MIN_PROGRESS_BYTES`] in this long) is cut
    /// off; also the fixed part of a download's total deadline.
    pub stall: Duration,
}

/// The bytes a download must bring in each `stall` window.
pub const MIN_PROGRESS_BYTES: u64 = 16 << 10;

/// The slowest transfer rate the total deadline of a download allows for (bytes per second):
/// 16 KiB/s, a 350 MB checkpoint in six hours.
const MIN_RATE: u64 = 16 << 10;

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            metadata: Duration::from_secs(30),
            stall: Duration::from_secs(60),
        }
    }
}

impl Deadlines {
    /// The defaults, or `HF_HUB_ETAG_TIMEOUT` / `HF_HUB_DOWNLOAD_TIMEOUT` (seconds).
    pub fn from_env() -> Self {
        let seconds = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64)
        };
        let default = Self::default();
        Self {
            metadata: seconds("HF_HUB_ETAG_TIMEOUT").unwrap_or(default.metadata),
            stall: seconds("HF_HUB_DOWNLOAD_TIMEOUT").unwrap_or(default.stall),
        }
    }
}

/// Whether `url` is on the same origin (scheme, host, port) as `endpoint`: where the token may
/// go. Text prefixes are not enough (`http://h:80` is a prefix of `http://h:8080`).
pub fn same_origin(endpoint: &str, url: &str) -> bool {
    match (url::Url::parse(endpoint), url::Url::parse(url)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin() && a.origin().is_tuple(),
        _ => false,
    }
}

/// What went wrong fetching one file (a missing file is not always an error: the weights
/// fall back from `model.safetensors` to `pytorch_model.bin`).
enum FetchError {
    NotFound,
    Failed(String),
}

impl HubClient {
    /// A client configured from the environment, writing into `cache`.
    pub fn from_env(cache: PathBuf) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let token = var("HF_TOKEN").or_else(|| {
            let home = var("HF_HOME")
                .map(PathBuf::from)
                .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface")))?;
            let text = std::fs::read_to_string(home.join("token")).ok()?;
            Some(text.trim().to_string()).filter(|t| !t.is_empty())
        });
        let endpoint = var("HF_ENDPOINT").unwrap_or_else(|| "https://huggingface.co".into());
        Self::new(&endpoint, token, cache).with_deadlines(Deadlines::from_env())
    }

    /// The same client waiting on servers for at most `limits`.
    pub fn with_deadlines(mut self, limits: Deadlines) -> Self {
        self.agent = agent(limits);
        self.limits = limits;
        self
    }

    /// A client for `endpoint` (e.g. `https://huggingface.co`) sending `token`, writing into
    /// `cache`; a progress bar on a terminal.
    pub fn new(endpoint: &str, token: Option<String>, cache: PathBuf) -> Self {
        let limits = Deadlines::default();
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token,
            cache,
            agent: agent(limits),
            progress: std::io::stderr().is_terminal(),
            limits,
        }
    }

    /// Downloads `config.json` and the weights (`model.safetensors`, else `pytorch_model.bin`)
    /// of `id` into the cache; returns the snapshot folder.
    pub fn download_model(&self, id: &HubId) -> Result<PathBuf> {
        let config = self
            .fetch(id, "config.json")
            .map_err(|e| self.error(id, "config.json", e))?;
        let snapshot = config
            .parent()
            .expect("a snapshot file has a folder")
            .to_path_buf();
        let [safetensors, pickle] = SNAPSHOT_WEIGHTS;
        match self.fetch(id, safetensors) {
            Ok(_) => {}
            Err(FetchError::NotFound) => {
                self.fetch(id, pickle)
                    .map_err(|e| self.error(id, &format!("{safetensors} or {pickle}"), e))?;
            }
            Err(e) => return Err(self.error(id, safetensors, e)),
        }
        Ok(snapshot)
    }

    fn error(&self, id: &HubId, file: &str, e: FetchError) -> VitError {
        let message = match e {
            FetchError::NotFound => format!(
                "{file} not found at {} (no such repository, revision or file)",
                self.endpoint
            ),
            FetchError::Failed(m) => m,
        };
        VitError::Hub {
            repository: format!("{}@{}", id.repo, id.revision),
            message,
        }
    }

    fn request(&self, method: &str, url: &str) -> ureq::Request {
        let request = self.agent.request(method, url).set(
            "user-agent",
            concat!("vit-burn/", env!("CARGO_PKG_VERSION")),
        );
        match &self.token {
            // The token goes to the hub only, not to the storage a redirect points to.
            Some(token) if same_origin(&self.endpoint, url) => {
                request.set("authorization", &format!("Bearer {token}"))
            }
            _ => request,
        }
    }

    fn status_error(&self, id: &HubId, code: u16) -> FetchError {
        match code {
            404 => FetchError::NotFound,
            401 | 403 if self.token.is_none() => FetchError::Failed(format!(
                "the hub answered {code}: `{}` is gated or private — set HF_TOKEN (or log in \
                 with `huggingface-cli login`) with a token that has access",
                id.repo
            )),
            401 | 403 => FetchError::Failed(format!(
                "the hub answered {code}: the token (HF_TOKEN or the token file) has no access \
                 to `{}` (a gated model must be accepted on its page first)",
                id.repo
            )),
            _ => FetchError::Failed(format!("the hub answered HTTP {code}")),
        }
    }

    fn transport_error(&self, e: impl std::fmt::Display) -> FetchError {
        FetchError::Failed(format!(
            "cannot reach {} ({e}); nothing of it is in the cache at {} — retry when online, or \
             set HF_ENDPOINT to a mirror",
            self.endpoint,
            self.cache.display()
        ))
    }

    /// One file: metadata, then the blob (reused when complete, resumed when partial), then the
    /// snapshot link and the ref. Returns the snapshot path of the file.
    fn fetch(&self, id: &HubId, file: &str) -> std::result::Result<PathBuf, FetchError> {
        let url = format!(
            "{}/{}/resolve/{}/{file}",
            self.endpoint, id.repo, id.revision
        );
        let head = match self
            .request("HEAD", &url)
            .timeout(self.limits.metadata)
            .call()
        {
            Ok(r) => r,
            Err(ureq::Error::Status(code, _)) => return Err(self.status_error(id, code)),
            Err(e) => return Err(self.transport_error(e)),
        };
        let FileMetadata { commit, etag, size } =
            FileMetadata::from_headers(&url, |name| head.header(name).map(str::to_string))
                .map_err(FetchError::Failed)?;
        let download = match head.status() {
            300..=399 => match head.header("location") {
                Some(loc) => match url::Url::parse(&url).and_then(|base| base.join(loc)) {
                    Ok(target) if matches!(target.scheme(), "http" | "https") => target.to_string(),
                    _ => {
                        return Err(FetchError::Failed(format!(
                            "{url}: redirect to {loc:?}, not an http(s) address; refused"
                        )));
                    }
                },
                None => {
                    return Err(FetchError::Failed(format!(
                        "{url}: redirect without a location"
                    )));
                }
            },
            _ => url.clone(),
        };
        let repo = self.cache.join(id.cache_folder());
        let blobs = repo.join("blobs");
        self.real_dir(&blobs)?;
        let blob = blobs.join(&etag);
        no_link(&blob)?;
        let complete = std::fs::metadata(&blob).is_ok_and(|m| m.is_file() && m.len() == size);
        if !complete {
            self.download_blob(&download, &blob, size, &etag, file)?;
        }
        let snapshot = repo.join("snapshots").join(&commit);
        self.real_dir(&snapshot)?;
        let target = snapshot.join(file);
        link_blob(&blob, &target, &etag).map_err(|e| io(&target, e))?;
        if id.revision != commit {
            // `HubId::parse` admits only plain path parts in a revision (`main`, `refs/pr/1`).
            let reference = repo.join("refs").join(&id.revision);
            let folder = reference.parent().expect("refs/<revision> has a folder");
            self.real_dir(folder)?;
            no_link(&reference)?;
            crate::atomic_file::write_atomic(&reference, commit.as_bytes())
                .map_err(|e| io(&reference, e))?;
        }
        Ok(target)
    }

    /// Creates `dir` (under the cache) and checks that neither it nor any folder between it and
    /// the cache root is a symbolic link: what is written there stays in the cache.
    fn real_dir(&self, dir: &Path) -> std::result::Result<(), FetchError> {
        let below = dir
            .strip_prefix(&self.cache)
            .map_err(|_| FetchError::Failed(format!("{} is outside the cache", dir.display())))?;
        let mut current = self.cache.clone();
        for part in below.components() {
            current.push(part);
            match std::fs::symlink_metadata(&current) {
                Ok(meta) if meta.is_dir() => {}
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(FetchError::Failed(format!(
                        "{} is a symbolic link: the cache is only written through real \
                         folders (remove the link)",
                        current.display()
                    )));
                }
                Ok(_) => {
                    return Err(FetchError::Failed(format!(
                        "{} is in the way: expected a folder of the cache",
                        current.display()
                    )));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir(&current).map_err(|e| io(&current, e))?;
                }
                Err(e) => return Err(io(&current, e)),
            }
        }
        Ok(())
    }

    /// `GET` into `<blob>.incomplete` (resumed with `Range` when a part is there), checked,
    /// then renamed to `blob`. A second process on the same blob waits for the first.
    fn download_blob(
        &self,
        url: &str,
        blob: &Path,
        size: u64,
        etag: &str,
        file: &str,
    ) -> std::result::Result<(), FetchError> {
        let partial = blob.with_extension("incomplete");
        let lock_path = blob.with_extension("lock");
        no_link(&partial)?;
        no_link(&lock_path)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io(&lock_path, e))?;
        lock.lock().map_err(|e| io(&lock_path, e))?;
        if std::fs::metadata(blob).is_ok_and(|m| m.len() == size) {
            return Ok(()); // The other process finished it.
        }
        let mut have = std::fs::metadata(&partial).map_or(0, |m| m.len());
        if have >= size {
            // All the bytes arrived but the blob was never promoted (killed before the
            // rename): checked and promoted without asking the server for nothing.
            if have == size && self.promote(&partial, blob, etag, file).is_ok() {
                return Ok(());
            }
            let _ = std::fs::remove_file(&partial);
            have = 0;
        }
        let mut response = self.get(url, have, size)?;
        if response.status() == 416 && have > 0 {
            // The server will not resume this part: start over.
            let _ = std::fs::remove_file(&partial);
            have = 0;
            response = self.get(url, 0, size)?;
        }
        if response.status() >= 300 {
            return Err(FetchError::Failed(format!(
                "{file}: HTTP {} from {url}",
                response.status()
            )));
        }
        let resumed = response.status() == 206 && have > 0;
        let mut out = OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(&partial)
            .map_err(|e| io(&partial, e))?;
        let mut written = if resumed { have } else { 0 };
        let mut reader = response.into_reader().take(size - written + 1);
        let mut buffer = vec![0u8; 1 << 16];
        let started = Instant::now();
        let mut shown = Instant::now();
        // Progress is judged per window: a server trickling a byte at a time is cut off.
        let (mut window_start, mut window_bytes) = (Instant::now(), 0u64);
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = out.flush();
                    return Err(FetchError::Failed(format!(
                        "{file}: the download broke off after {written} of {size} bytes ({e}); \
                         the part is kept and the next run resumes it"
                    )));
                }
            };
            out.write_all(&buffer[..n]).map_err(|e| io(&partial, e))?;
            written += n as u64;
            window_bytes += n as u64;
            if window_start.elapsed() >= self.limits.stall {
                if window_bytes < MIN_PROGRESS_BYTES && written < size {
                    let _ = out.flush();
                    return Err(FetchError::Failed(format!(
                        "{file}: the download stalled ({window_bytes} bytes in {:.0} s, after \
                         {written} of {size}); the part is kept and the next run resumes it",
                        window_start.elapsed().as_secs_f64()
                    )));
                }
                (window_start, window_bytes) = (Instant::now(), 0);
            }
            if self.progress && shown.elapsed() > Duration::from_millis(200) {
                shown = Instant::now();
                progress_line(file, written, size, started.elapsed());
            }
        }
        out.sync_all().map_err(|e| io(&partial, e))?;
        drop(out);
        if self.progress {
            progress_line(file, written, size, started.elapsed());
            eprintln!();
        }
        if written != size {
            // A wrong size is never resumed: the part goes.
            let _ = std::fs::remove_file(&partial);
            return Err(FetchError::Failed(format!(
                "{file}: got {written} bytes where the hub announced {size}; discarded"
            )));
        }
        self.promote(&partial, blob, etag, file)
    }

    /// `GET url` from byte `from` (a `Range` request when resuming), with a total deadline
    /// scaled to what is left; a status is returned, not an error, so 416 can be handled.
    fn get(
        &self,
        url: &str,
        from: u64,
        size: u64,
    ) -> std::result::Result<ureq::Response, FetchError> {
        let left = size.saturating_sub(from);
        let deadline = self.limits.stall + Duration::from_secs(left / MIN_RATE);
        let mut request = self.request("GET", url).timeout(deadline);
        if from > 0 {
            request = request.set("range", &format!("bytes={from}-"));
        }
        match request.call() {
            Ok(r) => Ok(r),
            Err(ureq::Error::Status(_, r)) => Ok(r),
            Err(e) => Err(self.transport_error(e)),
        }
    }

    /// Checks a complete download (SHA-256 when the ETag is one) and renames it to `blob`; a
    /// mismatch discards it.
    fn promote(
        &self,
        partial: &Path,
        blob: &Path,
        etag: &str,
        file: &str,
    ) -> std::result::Result<(), FetchError> {
        if etag.len() == 64 && etag.chars().all(|c| c.is_ascii_hexdigit()) {
            let digest = sha256_file(partial).map_err(|e| io(partial, e))?;
            if !digest.eq_ignore_ascii_case(etag) {
                let _ = std::fs::remove_file(partial);
                return Err(FetchError::Failed(format!(
                    "{file}: SHA-256 {digest} does not match the hub's {etag}; discarded"
                )));
            }
        }
        std::fs::rename(partial, blob).map_err(|e| io(blob, e))
    }
}

/// The longest commit or ETag taken as a file name (a SHA-256 is 64 characters).
const MAX_ID_LEN: usize = 128;

/// What the hub's `HEAD` answer says of a file, checked before any of it becomes a path or a
/// size: the commit (a hex hash), the blob's ETag (a plain identifier: `X-Linked-Etag` for LFS
/// files, else `ETag`) and its size (`X-Linked-Size`, else `Content-Length`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetadata {
    /// `X-Repo-Commit`.
    pub commit: String,
    /// The blob's name in the cache.
    pub etag: String,
    /// Bytes.
    pub size: u64,
}

impl FileMetadata {
    /// Reads and checks the headers (`header(name)` looks one up, case-insensitively); `url`
    /// names the file in errors.
    pub fn from_headers(
        url: &str,
        header: impl Fn(&str) -> Option<String>,
    ) -> std::result::Result<Self, String> {
        let header = |name: &str| header(name).map(|v| v.trim().to_string());
        let commit = header("x-repo-commit").unwrap_or_default();
        let etag = header("x-linked-etag")
            .or_else(|| header("etag"))
            .unwrap_or_default()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_string();
        let size: Option<u64> = header("x-linked-size")
            .or_else(|| header("content-length"))
            .and_then(|v| v.parse().ok());
        // Both become path components: plain identifiers only.
        if commit.is_empty()
            || commit.len() > MAX_ID_LEN
            || !commit.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err(format!(
                "{url}: the hub's commit header {commit:?} is not a commit hash; refused"
            ));
        }
        if etag.is_empty()
            || etag.len() > MAX_ID_LEN
            || !etag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "{url}: the hub's ETag {etag:?} is not a plain identifier; refused"
            ));
        }
        let Some(size) = size else {
            return Err(format!("{url}: the hub gave no size; refused"));
        };
        Ok(Self { commit, etag, size })
    }
}

/// The HTTP agent: no automatic redirects (the token must not follow them), bounded connects
/// and reads.
fn agent(limits: Deadlines) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout_connect(Duration::from_secs(15).min(limits.metadata))
        .timeout_read(limits.stall)
        .build()
}

/// Refuses to write through `path` when it is a symbolic link (planted in the cache, it could
/// point at a user's file).
fn no_link(path: &Path) -> std::result::Result<(), FetchError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(FetchError::Failed(format!(
            "{} is a symbolic link where the cache keeps a file; refused (remove the link)",
            path.display()
        ))),
        _ => Ok(()),
    }
}

fn io(path: &Path, e: std::io::Error) -> FetchError {
    FetchError::Failed(format!("{}: {e}", path.display()))
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// `snapshots/<commit>/<file>` → `../../blobs/<etag>`, as the Python client links them (a copy
/// where symbolic links are not available).
fn link_blob(blob: &Path, target: &Path, etag: &str) -> std::io::Result<()> {
    if std::fs::symlink_metadata(target).is_ok() {
        std::fs::remove_file(target)?;
    }
    #[cfg(unix)]
    {
        let _ = blob;
        std::os::unix::fs::symlink(Path::new("../../blobs").join(etag), target)
    }
    #[cfg(not(unix))]
    {
        let _ = etag;
        std::fs::copy(blob, target).map(|_| ())
    }
}

fn progress_line(file: &str, done: u64, size: u64, elapsed: Duration) {
    let fraction = if size == 0 {
        1.0
    } else {
        done as f64 / size as f64
    };
    let filled = (fraction * 30.0) as usize;
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-3) / 1e6;
    eprint!(
        "\r{file} [{}{}] {:.1}/{:.1} MB {rate:.1} MB/s",
        "#".repeat(filled),
        " ".repeat(30 - filled.min(30)),
        done as f64 / 1e6,
        size as f64 / 1e6
    );
}
