//! A stand-in for the Hugging Face Hub on 127.0.0.1, for download tests without network: it
//! serves one folder as repository `repo` at revision `main`, with the hub's headers
//! (`X-Repo-Commit`; weights as LFS files: `X-Linked-Etag` = SHA-256, `X-Linked-Size`, and a
//! redirect to the storage, `/lfs/{repo}/{file}`), `Range` requests, and the faults a real
//! download meets.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The commit every served file reports.
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// What the server does wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Nothing.
    None,
    /// Every request answered with this status (401 gated, 404 missing, 500 …).
    Status(u16),
    /// The weights' `GET` sends this many bytes, then closes the connection.
    CutWeightsAfter(usize),
    /// The weights' size is announced this many bytes larger than sent.
    WrongWeightsSize(u64),
    /// The weights' ETag is this text (e.g. a path).
    WeightsEtag(String),
    /// Every answer's head is sent one header line per this interval, for ever (until the
    /// client hangs up or 10 minutes pass).
    TrickleHeaders(Duration),
    /// The weights' body is sent one byte per this interval.
    TrickleWeights(Duration),
    /// The weights redirect to this other server (`http://host:port`) instead of `/lfs/…` here.
    RedirectWeightsTo(String),
}

/// A running server; stopped on drop.
pub struct HubServer {
    /// `http://127.0.0.1:PORT`, for `HF_ENDPOINT`.
    pub endpoint: String,
    /// Every request line received (`HEAD /org/name/resolve/main/config.json`), with its
    /// `Range` header when it had one and ` auth` when it carried an `Authorization` header.
    pub requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn is_weights(file: &str) -> bool {
    file.ends_with(".safetensors") || file.ends_with(".bin")
}

/// The SHA-256 of `bytes` as lowercase hex (the ETag the hub gives an LFS file).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl HubServer {
    /// Serves the files of `folder` (flat) as `repo` (`org/name`) on a free port.
    pub fn start(repo: &str, folder: &Path, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (repo, folder) = (repo.to_string(), folder.to_path_buf());
        let thread = {
            let (stop, requests) = (stop.clone(), requests.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        // One thread per connection: a trickling answer must not hold the
                        // server (nor its `Drop`) up.
                        let (repo, folder, fault, requests) = (
                            repo.clone(),
                            folder.clone(),
                            fault.clone(),
                            requests.clone(),
                        );
                        std::thread::spawn(move || {
                            let _ = serve(stream, &repo, &folder, &fault, &requests);
                        });
                    }
                }
            })
        };
        Self {
            endpoint,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The request lines so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    mut stream: TcpStream,
    repo: &str,
    folder: &Path,
    fault: &Fault,
    requests: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut range = None;
    let mut auth = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if header
            .split_once(':')
            .is_some_and(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        {
            auth = true;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("range")
        {
            range = value
                .trim()
                .strip_prefix("bytes=")
                .and_then(|r| r.trim_end_matches('-').parse::<u64>().ok());
        }
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut logged = match range {
        Some(r) => format!("{method} {path} range={r}"),
        None => format!("{method} {path}"),
    };
    if auth {
        logged += " auth";
    }
    requests.lock().unwrap().push(logged);
    if let Fault::TrickleHeaders(every) = fault {
        stream.write_all(b"HTTP/1.1 200 OK\r\n")?;
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(600) {
            std::thread::sleep(*every);
            stream.write_all(b"x-slow: 1\r\n")?;
        }
        return Ok(());
    }
    let reply =
        |stream: &mut TcpStream, status: &str, headers: &[(String, String)], body: &[u8]| {
            let mut head = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
            for (k, v) in headers {
                head += &format!("{k}: {v}\r\n");
            }
            head += "\r\n";
            stream.write_all(head.as_bytes())?;
            stream.write_all(body)?;
            stream.flush()
        };
    if let Fault::Status(code) = fault {
        let status = format!("{code} Error");
        return reply(
            &mut stream,
            &status,
            &[("content-length".into(), "0".into())],
            b"",
        );
    }
    // Weights are LFS files: `resolve` redirects to the storage (`/lfs/…`), as the hub does.
    let prefix = format!("/{repo}/resolve/main/");
    let lfs_prefix = format!("/lfs/{repo}/");
    let (file, from_storage) = match (path.strip_prefix(&prefix), path.strip_prefix(&lfs_prefix)) {
        (Some(file), _) => (file, false),
        (None, Some(file)) => (file, true),
        _ => ("", false),
    };
    let local: PathBuf = folder.join(file);
    let bytes = match (file.contains('/') || file.is_empty(), std::fs::read(&local)) {
        (false, Ok(bytes)) => bytes,
        _ => {
            let headers = [
                ("content-length".to_string(), "0".to_string()),
                ("x-error-code".into(), "EntryNotFound".into()),
            ];
            return reply(&mut stream, "404 Not Found", &headers, b"");
        }
    };
    let weights = is_weights(file);
    let etag = match fault {
        Fault::WeightsEtag(etag) if weights => etag.clone(),
        _ if weights => sha256_hex(&bytes),
        _ => sha256_hex(&bytes)[..40].to_string(),
    };
    let announced = match fault {
        Fault::WrongWeightsSize(extra) if weights => bytes.len() as u64 + extra,
        _ => bytes.len() as u64,
    };
    let mut headers = vec![("x-repo-commit".to_string(), COMMIT.to_string())];
    if weights {
        headers.push(("x-linked-etag".into(), format!("\"{etag}\"")));
        headers.push(("x-linked-size".into(), announced.to_string()));
        headers.push(("etag".into(), "\"not-the-blob\"".into()));
    } else {
        headers.push(("etag".into(), format!("\"{etag}\"")));
    }
    if weights && !from_storage {
        let location = match fault {
            Fault::RedirectWeightsTo(other) => format!("{other}{lfs_prefix}{file}"),
            _ => format!("{lfs_prefix}{file}"),
        };
        headers.push(("location".into(), location));
        headers.push(("content-length".into(), "0".into()));
        return reply(&mut stream, "302 Found", &headers, b"");
    }
    if method == "HEAD" {
        headers.push(("content-length".into(), announced.to_string()));
        return reply(&mut stream, "200 OK", &headers, b"");
    }
    let start = range.unwrap_or(0).min(bytes.len() as u64) as usize;
    let body = &bytes[start..];
    let status = if start > 0 {
        "206 Partial Content"
    } else {
        "200 OK"
    };
    if start > 0 {
        headers.push((
            "content-range".into(),
            format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len()),
        ));
    }
    headers.push(("content-length".into(), body.len().to_string()));
    match fault {
        Fault::CutWeightsAfter(n) if weights => {
            // Announce everything, send part, hang up.
            reply(&mut stream, status, &headers, &body[..(*n).min(body.len())])
        }
        Fault::TrickleWeights(every) if weights => {
            reply(&mut stream, status, &headers, &[])?;
            for byte in body {
                std::thread::sleep(*every);
                stream.write_all(&[*byte])?;
            }
            Ok(())
        }
        _ => reply(&mut stream, status, &headers, body),
    }
}
