//! Media uploads and downloads against a real node: round trips with their
//! SHA-256, a 100 MiB upload streamed from a generator (against the real
//! binary, with its memory read from /proc), the size limit, empty and
//! lying uploads, interrupted uploads, `Range` requests, another user's
//! media, and content-addressed deduplication.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::ws::user;
use common::{Node, free_port, spawn_binary, terminate, wait_healthy};
use futures::{Stream, StreamExt as _};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const MIB: u64 = 1024 * 1024;
const LIMIT: u64 = 100 * MIB;

/// `n` pseudo-random bytes in 64 KiB chunks, made as they are sent.
fn generated(n: u64, seed: u64) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let chunk = 64 * 1024;
    let mut state = seed | 1;
    futures::stream::iter((0..n.div_ceil(chunk)).map(move |i| {
        let len = chunk.min(n - i * chunk) as usize;
        let mut buf = Vec::with_capacity(len);
        while buf.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            buf.extend_from_slice(&state.to_le_bytes());
        }
        buf.truncate(len);
        Ok(Bytes::from(buf))
    }))
}

async fn sha_of(stream: impl Stream<Item = Result<Bytes, std::io::Error>>) -> String {
    let mut hasher = Sha256::new();
    let mut stream = std::pin::pin!(stream);
    while let Some(chunk) = stream.next().await {
        hasher.update(chunk.unwrap());
    }
    hex::encode(hasher.finalize())
}

/// `POST /v1/media?filename=`; answers (status, JSON body or null).
async fn upload(
    base: &str,
    token: &str,
    filename: &str,
    content_type: Option<&str>,
    body: reqwest::Body,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/v1/media"))
        .query(&[("filename", filename)])
        .bearer_auth(token)
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let r = request.send().await.expect("upload");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `GET /v1/media/{id}` with an optional `Range`; answers the response.
async fn download(base: &str, token: &str, id: &str, range: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .get(format!("{base}/v1/media/{id}"))
        .bearer_auth(token);
    if let Some(range) = range {
        request = request.header("range", range);
    }
    request.send().await.expect("download")
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

/// Every file below `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Blob files and spool files of a node's data directory.
fn stored(data: &Path) -> (usize, usize) {
    (
        files(&data.join("media")).len(),
        files(&data.join("media-spool")).len(),
    )
}

const TEXT: &[u8] = b"hello media, these bytes are plain text\n";

#[tokio::test]
async fn round_trip_with_sha256_ranges_and_headers() {
    let node = Node::start().await;
    let (ana, token) = user(&node.client(), "ana").await;
    let (status, info) = upload(
        &node.base,
        &token,
        "note.txt",
        Some("text/plain; charset=utf-8"),
        TEXT.into(),
    )
    .await;
    assert_eq!(status, 201, "{info}");
    assert_eq!(info["uploader"], ana.as_str());
    assert_eq!(info["filename"], "note.txt");
    assert_eq!(info["content_type"], "text/plain");
    assert_eq!(info["size"], TEXT.len() as u64);
    assert_eq!(info["sha256"], hex::encode(Sha256::digest(TEXT)));
    let id = info["media_id"].as_str().unwrap();

    let r = download(&node.base, &token, id, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/plain");
    assert_eq!(header(&r, "content-length"), TEXT.len().to_string());
    assert_eq!(header(&r, "accept-ranges"), "bytes");
    assert_eq!(&r.bytes().await.unwrap()[..], TEXT);

    let size = TEXT.len();
    let cases = [
        ("bytes=0-4", 0..5),
        ("bytes=6-10", 6..11),
        ("bytes=-7", size - 7..size),
        ("bytes=30-", 30..size),
        ("bytes=30-100000", 30..size),
    ];
    for (range, want) in cases {
        let r = download(&node.base, &token, id, Some(range)).await;
        assert_eq!(r.status(), 206, "{range}");
        let content_range = format!("bytes {}-{}/{size}", want.start, want.end - 1);
        assert_eq!(header(&r, "content-range"), content_range, "{range}");
        assert_eq!(header(&r, "content-length"), want.len().to_string());
        assert_eq!(&r.bytes().await.unwrap()[..], &TEXT[want], "{range}");
    }
    for range in [format!("bytes={size}-"), "bytes=1000-2000".to_owned()] {
        let r = download(&node.base, &token, id, Some(&range)).await;
        assert_eq!(r.status(), 416, "{range}");
        assert_eq!(header(&r, "content-range"), format!("bytes */{size}"));
    }
    // Several ranges at once are answered with the whole media.
    let r = download(&node.base, &token, id, Some("bytes=0-1,4-5")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..], TEXT);
}

#[tokio::test]
async fn another_users_media_is_not_found_and_ids_do_not_leak() {
    let node = Node::start().await;
    let (_, ana) = user(&node.client(), "ana").await;
    let (_, bo) = user(&node.client(), "bob").await;
    let (status, info) = upload(&node.base, &ana, "a.txt", None, TEXT.into()).await;
    assert_eq!(status, 201, "{info}");
    let id = info["media_id"].as_str().unwrap();
    let theirs = download(&node.base, &bo, id, None).await;
    assert_eq!(theirs.status(), 404);
    let theirs: Value = theirs.json().await.unwrap();
    let missing = download(&node.base, &bo, "m_nonexistent", None).await;
    assert_eq!(missing.status(), 404);
    let missing: Value = missing.json().await.unwrap();
    assert_eq!(theirs, missing, "an existing id answers like a missing one");
    assert_eq!(theirs["error"]["code"], "not_found");
    let anonymous = reqwest::get(format!("{}/v1/media/{id}", node.base))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn empty_lying_and_unnamed_uploads_are_refused_and_leave_nothing() {
    let node = Node::start().await;
    let (_, token) = user(&node.client(), "ana").await;
    let (status, body) = upload(&node.base, &token, "empty.bin", None, Vec::new().into()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");
    let (status, body) = upload(
        &node.base,
        &token,
        "fake.png",
        Some("image/png"),
        TEXT.into(),
    )
    .await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["error"]["code"], "unsupported_media");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    let (status, body) = upload(
        &node.base,
        &token,
        "png.txt",
        Some("text/plain"),
        png.clone().into(),
    )
    .await;
    assert_eq!(status, 415, "{body}");
    let (status, body) = upload(&node.base, &token, "a/b.png", None, png.clone().into()).await;
    assert_eq!(status, 400, "{body}");
    let r = reqwest::Client::new()
        .post(format!("{}/v1/media", node.base))
        .bearer_auth(&token)
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "no filename");
    assert_eq!(stored(node.dir.path()), (0, 0));

    // A real PNG with no declared type is stored as one.
    let (status, info) = upload(&node.base, &token, "dot.png", None, png.into()).await;
    assert_eq!(status, 201, "{info}");
    assert_eq!(info["content_type"], "image/png");
}

#[tokio::test]
async fn the_same_bytes_are_stored_once() {
    let node = Node::start().await;
    let (_, ana) = user(&node.client(), "ana").await;
    let (_, bo) = user(&node.client(), "bob").await;
    let (_, first) = upload(&node.base, &ana, "one.txt", None, TEXT.into()).await;
    let (_, second) = upload(&node.base, &bo, "two.txt", None, TEXT.into()).await;
    assert_ne!(first["media_id"], second["media_id"]);
    assert_eq!(first["sha256"], second["sha256"]);
    assert_eq!(stored(node.dir.path()), (1, 0), "one blob, no spool files");
    for (token, info) in [(&ana, &first), (&bo, &second)] {
        let r = download(&node.base, token, info["media_id"].as_str().unwrap(), None).await;
        assert_eq!(&r.bytes().await.unwrap()[..], TEXT);
    }
}

#[tokio::test]
async fn over_100_mib_is_too_large_and_leaves_nothing() {
    let node = Node::start().await;
    let (_, token) = user(&node.client(), "ana").await;
    let body = reqwest::Body::wrap_stream(generated(LIMIT + 1, 7));
    let (status, body) = upload(&node.base, &token, "big.bin", None, body).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "too_large");
    assert_eq!(stored(node.dir.path()), (0, 0));
}

#[tokio::test]
async fn an_interrupted_upload_leaves_nothing() {
    let node = Node::start().await;
    let (_, token) = user(&node.client(), "ana").await;
    let broken = generated(4 * MIB, 3)
        .take(20)
        .chain(futures::stream::once(async {
            Err(std::io::Error::other("the client gave up"))
        }));
    let result = reqwest::Client::new()
        .post(format!("{}/v1/media?filename=cut.bin", node.base))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(broken))
        .send()
        .await;
    assert!(result.is_err(), "the client's body failed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored(node.dir.path()) != (0, 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stored(node.dir.path()), (0, 0));
}

/// Resident and peak resident memory of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Runs `work` while sampling the resident memory of `pid` every 20 ms;
/// answers its output and the highest sample, in KiB.
async fn peak_rss<T>(pid: u32, work: impl std::future::Future<Output = T>) -> (T, u64) {
    let mut work = std::pin::pin!(work);
    let mut peak = memory_kib(pid).0;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    loop {
        tokio::select! {
            out = &mut work => return (out, peak.max(memory_kib(pid).0)),
            _ = tick.tick() => peak = peak.max(memory_kib(pid).0),
        }
    }
}

/// 100 MiB up and down through the real binary, streamed from a generator
/// on both sides; prints throughput and the node's memory (no assertion on
/// time; memory is held to a generous bound).
#[tokio::test]
async fn a_100_mib_upload_and_download_stream_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        "[auth]\nargon2_memory_kib = 64\nargon2_iterations = 1\n",
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = spawn_binary(
        &[
            "--listen",
            &listen,
            "--data",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
        dir.path(),
    );
    let base = format!("http://{listen}");
    wait_healthy(&base).await;
    let client = client::Client::new(&base).unwrap();
    let (_, token) = user(&client, "ana").await;
    let pid = child.id();
    let (before, _) = memory_kib(pid);

    let started = Instant::now();
    let body = reqwest::Body::wrap_stream(generated(LIMIT, 11));
    let (upload, up_peak) = peak_rss(pid, upload(&base, &token, "big.bin", None, body)).await;
    let up = started.elapsed();
    let (status, info) = upload;
    assert_eq!(status, 201, "{info}");
    assert_eq!(info["size"], LIMIT);
    let expected = sha_of(generated(LIMIT, 11)).await;
    assert_eq!(info["sha256"], expected.as_str());

    let started = Instant::now();
    let id = info["media_id"].as_str().unwrap();
    let fetch = async {
        let r = download(&base, &token, id, None).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "content-length"), LIMIT.to_string());
        sha_of(r.bytes_stream().map(|c| c.map_err(std::io::Error::other))).await
    };
    let (downloaded, down_peak) = peak_rss(pid, fetch).await;
    let down = started.elapsed();
    assert_eq!(downloaded, expected);

    let (_, hwm) = memory_kib(pid);
    let mib_per_s = |d: Duration| 100.0 / d.as_secs_f64();
    println!(
        "100 MiB: upload {:.1} MiB/s ({up:?}), download (hashed by the client as it arrives) {:.1} MiB/s ({down:?}); \
         node RSS before {before} KiB, peak during upload {up_peak} KiB (+{} KiB), during download {down_peak} KiB (+{} KiB), VmHWM {hwm} KiB",
        mib_per_s(up),
        mib_per_s(down),
        up_peak.saturating_sub(before),
        down_peak.saturating_sub(before),
    );
    // Holding the file in memory would add 100 MiB; allow far less.
    let grown = up_peak.max(down_peak).saturating_sub(before);
    assert!(grown < 32 * 1024, "the node's memory grew by {grown} KiB");
    assert_eq!(stored(&data), (1, 0), "one blob, no spool file left");
    assert!(terminate(&mut child).success());
}

#[tokio::test]
async fn a_declared_length_over_100_mib_is_refused_before_the_body() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let node = Node::start().await;
    let (_, token) = user(&node.client(), "ana").await;
    let addr = node.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/media?filename=huge.bin HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        LIMIT + 1
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("too_large"), "{answer}");
    assert_eq!(stored(node.dir.path()), (0, 0));
}

#[tokio::test]
async fn spool_files_of_a_stopped_node_are_removed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("media-spool");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(spool.join("0190.part"), b"half an upload").unwrap();
    let node = Node::start_in(dir, common::fast_raw()).await;
    assert_eq!(stored(node.dir.path()), (0, 0));
}
