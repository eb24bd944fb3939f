//! Resumable blob upload: the real blob router on a port-0 socket, driven by
//! the tablet's upload client and by raw HTTP for bad input. Cut connections
//! are real: a TCP proxy between client and server counts the bytes sent
//! upstream and drops both sides after a given number of them.
//!
//! One suite, two stores: every case runs on the blob folder
//! (`blobs::folder::…`) and on a real S3 store, a Garage node with the
//! upload state in SQLite (`blobs::garage::…`).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use fieldloop_server::blobs::garage::TestGarage;
use fieldloop_server::blobs::{
    BlobDir, BlobOwners, Blobs, MAX_CHUNK_BYTES, ObjectBlobs, Quota, Uploader, router,
};
use fieldloop_server::store::Store;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_tablet::blobs::{BlobId, BlobStore};
use fieldloop_tablet::upload::{CHUNK_BYTES, UploadOutcome, upload_blob};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};

/// The size limit of the test server.
const MAX_BLOB: u64 = 2 * 1024 * 1024;
/// Allowance for the HTTP request heads in wire-byte counts.
const HEADS: u64 = 8 * 1024;

/// Who uploaded what, in memory, for the router alone.
#[derive(Debug, Default)]
struct Owners(std::sync::Mutex<BTreeSet<(String, String)>>);

impl BlobOwners for Owners {
    fn visible(
        &self,
        who: &Uploader,
        id: &fieldloop_server::blobs::BlobId,
    ) -> std::io::Result<bool> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .contains(&(who.team.clone(), id.to_hex())))
    }

    fn record(&self, who: &Uploader, id: &fieldloop_server::blobs::BlobId) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap()
            .insert((who.team.clone(), id.to_hex()));
        Ok(())
    }
}

/// Stands in for the server's token layer: the device is `x-device` (or
/// `D-1`) of team `x-team` (or `T-1`).
async fn as_device(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let who = {
        let header = |name: &str, default: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or(default)
                .to_owned()
        };
        Uploader {
            device: header("x-device", "D-1"),
            team: header("x-team", "T-1"),
        }
    };
    request.extensions_mut().insert(who);
    next.run(request).await
}

/// Where a test server keeps its blobs.
#[derive(Debug, Clone, Copy)]
enum Backend {
    /// `data/blobs` in the temp dir.
    Folder,
    /// A fresh bucket of the shared Garage node, upload state in SQLite.
    Garage,
}

/// The object store of a server on [`Backend::Garage`], and its database.
struct Objects {
    bucket: Arc<dyn ObjectStore>,
    store: Arc<dyn Store>,
    /// The database's folder.
    _db: tempfile::TempDir,
}

/// The blob router on a port-0 socket, with its folder in a temp dir (or its
/// bucket on Garage).
struct Server {
    base: String,
    addr: String,
    /// The temp dir: `data/blobs` is the blob folder; nothing else may appear.
    tmp: tempfile::TempDir,
    objects: Option<Objects>,
    /// The store the router serves, for the server's own sweeps.
    blobs: Blobs,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    fn start(backend: Backend) -> Server {
        Self::start_with(backend, MAX_BLOB)
    }

    /// [`Server::start`] accepting blobs of up to `max_blob` bytes.
    fn start_with(backend: Backend, max_blob: u64) -> Server {
        Self::start_full(backend, max_blob, Quota::default())
    }

    /// [`Server::start_with`] with each device's `quota`.
    fn start_full(backend: Backend, max_blob: u64, quota: Quota) -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let (blobs, objects): (Blobs, _) = match backend {
            Backend::Folder => (
                BlobDir::open(tmp.path().join("data").join("blobs"))
                    .unwrap()
                    .with_quota(quota)
                    .into(),
                None,
            ),
            Backend::Garage => {
                let garage = TestGarage::shared().unwrap_or_else(|e| panic!("{e}"));
                let bucket = garage.objects(&garage.create_bucket().unwrap());
                let db = tempfile::tempdir().unwrap();
                let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db.path()).unwrap());
                let blobs = ObjectBlobs::new(bucket.clone(), store.clone())
                    .with_quota(quota)
                    .into();
                let objects = Objects {
                    bucket,
                    store,
                    _db: db,
                };
                (blobs, Some(objects))
            }
        };
        Self::serve(blobs, objects, tmp, max_blob)
    }

    /// A second instance of a server on [`Backend::Garage`]: its own router
    /// and port on the same bucket and database, with each device's `quota`.
    fn second_instance(&self, quota: Quota) -> Server {
        let objects = self.objects.as_ref().expect("a server on Garage");
        let blobs = ObjectBlobs::new(objects.bucket.clone(), objects.store.clone())
            .with_quota(quota)
            .into();
        let shared = Objects {
            bucket: objects.bucket.clone(),
            store: objects.store.clone(),
            _db: tempfile::tempdir().unwrap(),
        };
        Self::serve(blobs, Some(shared), tempfile::tempdir().unwrap(), MAX_BLOB)
    }

    fn serve(
        blobs: Blobs,
        objects: Option<Objects>,
        tmp: tempfile::TempDir,
        max_blob: u64,
    ) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let app = router(blobs.clone(), max_blob, Arc::new(Owners::default()))
            .layer(axum::middleware::from_fn(as_device));
        runtime.spawn(async move { axum::serve(listener, app).await });
        Server {
            base: format!("http://{addr}"),
            addr,
            tmp,
            objects,
            blobs,
            runtime: Some(runtime),
        }
    }

    fn blob_root(&self) -> PathBuf {
        self.tmp.path().join("data").join("blobs")
    }

    /// The bytes the store holds as the complete blob `id`.
    fn stored(&self, id: &str) -> Option<Vec<u8>> {
        match &self.objects {
            None => std::fs::read(self.blob_root().join(&id[..2]).join(id)).ok(),
            Some(objects) => {
                let key = ObjectPath::from(format!("blobs/{}/{id}", &id[..2]));
                let runtime = self.runtime.as_ref().unwrap();
                runtime.block_on(async {
                    let got = objects.bucket.get(&key).await.ok()?;
                    Some(got.bytes().await.unwrap().to_vec())
                })
            }
        }
    }

    /// Every key in the bucket.
    fn keys(&self, objects: &Objects) -> BTreeSet<String> {
        use futures_util::TryStreamExt;
        self.runtime.as_ref().unwrap().block_on(async {
            objects
                .bucket
                .list(None)
                .map_ok(|meta| meta.location.to_string())
                .try_collect()
                .await
                .unwrap()
        })
    }

    /// Everything the store holds: the temp dir's paths, or the bucket's
    /// keys and the database's uploads.
    fn snapshot(&self) -> BTreeSet<String> {
        match &self.objects {
            None => self
                .tree()
                .into_iter()
                .map(|p| p.display().to_string())
                .collect(),
            Some(objects) => {
                let mut all = self.keys(objects);
                for (device, sha) in objects.store.stale_uploads(i64::MAX, 1_000).unwrap() {
                    all.insert(format!("upload row {device} {sha}"));
                }
                all
            }
        }
    }

    /// What is left of uploads in progress: files under `partial/` (each
    /// device's folder aside), or parts, staged blobs and upload rows.
    fn leftovers(&self) -> Vec<String> {
        match &self.objects {
            None => self
                .partial_files()
                .into_iter()
                .map(|p| p.display().to_string())
                .collect(),
            Some(_) => self
                .snapshot()
                .into_iter()
                .filter(|k| !k.starts_with("blobs/"))
                .collect(),
        }
    }

    fn url(&self, id: &str) -> String {
        format!("{}/api/v1/blobs/{id}", self.base)
    }

    /// Every path under the temp dir.
    fn tree(&self) -> BTreeSet<PathBuf> {
        fn walk(dir: &Path, into: &mut BTreeSet<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                into.insert(path.clone());
                if path.is_dir() {
                    walk(&path, into);
                }
            }
        }
        let mut paths = BTreeSet::new();
        walk(self.tmp.path(), &mut paths);
        paths
    }

    /// Files of uploads in progress (each device's folder aside).
    fn partial_files(&self) -> Vec<PathBuf> {
        self.tree()
            .into_iter()
            .filter(|p| p.starts_with(self.blob_root().join("partial")) && p.is_file())
            .collect()
    }

    /// Checks that the server still answers (no handler took it down).
    fn assert_alive(&self) {
        let response = tus(http().head(self.url(&BlobId::of(b"probe").to_hex())))
            .send()
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A TCP proxy that counts the bytes sent towards the server and, when
/// `cut_after` is given, forwards only that many and then drops every
/// connection, present and future.
struct Proxy {
    base: String,
    upstream_bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    addr: String,
}

impl Proxy {
    fn start(upstream: &str, cut_after: Option<u64>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let upstream_bytes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(AtomicBool::new(false));
        let (counter, stopped, upstream) = (
            Arc::clone(&upstream_bytes),
            Arc::clone(&stop),
            upstream.to_owned(),
        );
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if cut.load(Ordering::SeqCst) {
                    continue; // dropped: the link is down
                }
                let server = TcpStream::connect(&upstream).unwrap();
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (counter, cut) = (Arc::clone(&counter), Arc::clone(&cut));
                thread::spawn(move || forward_up(client, server, &counter, cut_after, &cut));
                thread::spawn(move || {
                    let (mut from, mut to) = (s2, c2);
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        });
        Proxy {
            base: format!("http://{addr}"),
            upstream_bytes,
            stop,
            addr,
        }
    }

    fn bytes(&self) -> u64 {
        self.upstream_bytes.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr); // wakes the accept loop
    }
}

/// Copies client → server, counting, and cuts both sides at the limit.
fn forward_up(
    mut client: TcpStream,
    mut server: TcpStream,
    counter: &AtomicU64,
    cut_after: Option<u64>,
    cut: &AtomicBool,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = counter.fetch_add(n as u64, Ordering::SeqCst);
        if let Some(limit) = cut_after
            && before + n as u64 > limit
        {
            let keep = limit.saturating_sub(before) as usize;
            let _ = server.write_all(&buf[..keep]);
            counter.store(limit, Ordering::SeqCst);
            cut.store(true, Ordering::SeqCst);
            let _ = server.shutdown(Shutdown::Both);
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}

fn http() -> Client {
    fieldloop_tablet::tls::install_crypto();
    Client::builder().build().unwrap()
}

fn tus(request: RequestBuilder) -> RequestBuilder {
    request.header("Tus-Resumable", "1.0.0")
}

fn patch(client: &Client, url: &str, offset: u64, body: Vec<u8>) -> Response {
    tus(client.patch(url))
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset)
        .body(body)
        .send()
        .unwrap()
}

fn post(client: &Client, url: &str, length: u64) -> Response {
    tus(client.post(url))
        .header("Upload-Length", length)
        .send()
        .unwrap()
}

fn header(response: &Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

/// Checks an error answer: its status, its JSON `{code, message}`, and the
/// tus header every answer carries.
fn assert_error(response: Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status, "expected {code}");
    assert_eq!(
        response.headers().get("tus-resumable").unwrap(),
        "1.0.0",
        "{code}"
    );
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.len() > 20),
        "{body}"
    );
}

/// Bytes that do not compress or repeat.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn tablet_with(bytes: &[u8]) -> (tempfile::TempDir, BlobStore, BlobId) {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path().join("blobs")).unwrap();
    let id = store.put(bytes).unwrap();
    (dir, store, id)
}

fn get_blob(server: &Server, id: &BlobId) -> Vec<u8> {
    let response = http().get(server.url(&id.to_hex())).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().unwrap().to_vec()
}

fn a_blob_uploads_in_chunks_comes_back_identical_and_costs_nothing_twice(backend: Backend) {
    let server = Server::start(backend);
    let data = noise(1_300_000, 1);
    let (_t, store, id) = tablet_with(&data);
    let total = data.len() as u64;

    let proxy = Proxy::start(&server.addr, None);
    let mut reports = Vec::new();
    let outcome = upload_blob(&http(), &proxy.base, "token", &store, &id, |held, all| {
        reports.push((held, all));
    })
    .unwrap();
    assert_eq!(
        outcome,
        UploadOutcome {
            sent_bytes: total,
            already_present: false
        }
    );
    // One report for the start, one per 256 KiB chunk (5 chunks).
    let expected: Vec<_> = [0, 1, 2, 3, 4]
        .iter()
        .map(|i| (i * CHUNK_BYTES, total))
        .chain([(total, total)])
        .collect();
    assert_eq!(reports, expected);
    assert!(
        proxy.bytes() <= total + HEADS,
        "{} on the wire",
        proxy.bytes()
    );

    assert_eq!(get_blob(&server, &id), data);
    let hex = id.to_hex();
    assert_eq!(server.stored(&hex).unwrap(), data);
    assert!(server.leftovers().is_empty());

    let again = Proxy::start(&server.addr, None);
    let outcome = upload_blob(&http(), &again.base, "token", &store, &id, |_, _| {}).unwrap();
    assert_eq!(
        outcome,
        UploadOutcome {
            sent_bytes: 0,
            already_present: true
        }
    );
    assert!(
        again.bytes() < 1024,
        "{} bytes to learn it is there",
        again.bytes()
    );

    // POST of a complete blob says so: nothing to send.
    let response = post(&http(), &server.url(&hex), total);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "upload-offset"), Some(total));
    assert_eq!(header(&response, "upload-length"), Some(total));
}

fn a_cut_connection_resumes_and_resends_at_most_one_chunk(backend: Backend) {
    let server = Server::start(backend);
    let data = noise(1_300_000, 2);
    let (_t, store, id) = tablet_with(&data);
    let total = data.len() as u64;

    // The link goes down in the middle of the third chunk.
    let flaky = Proxy::start(&server.addr, Some(2 * CHUNK_BYTES + CHUNK_BYTES / 2));
    let err = upload_blob(&http(), &flaky.base, "token", &store, &id, |_, _| {}).unwrap_err();
    assert_eq!(err.code(), "upload.network", "{err}");

    let head = tus(http().head(server.url(&id.to_hex()))).send().unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    let held = header(&head, "upload-offset").unwrap();
    assert_eq!(
        held,
        2 * CHUNK_BYTES,
        "whole acknowledged chunks, no torn one"
    );
    assert_eq!(header(&head, "upload-length"), Some(total));

    let link = Proxy::start(&server.addr, None);
    let mut first_report = None;
    let outcome = upload_blob(&http(), &link.base, "token", &store, &id, |held, _| {
        first_report.get_or_insert(held);
    })
    .unwrap();
    assert_eq!(first_report, Some(held), "resumed from the server's offset");
    assert_eq!(outcome.sent_bytes, total - held);
    assert!(!outcome.already_present);

    let wire = flaky.bytes() + link.bytes();
    assert!(
        wire <= total + CHUNK_BYTES + HEADS,
        "{wire} bytes on the wire for a {total}-byte blob"
    );
    assert_eq!(get_blob(&server, &id), data);
    assert!(server.leftovers().is_empty());
}

fn a_wrong_offset_is_409_with_the_current_offset(backend: Backend) {
    let server = Server::start(backend);
    let data = noise(300, 3);
    let url = server.url(&BlobId::of(&data).to_hex());
    let client = http();
    assert_eq!(post(&client, &url, 300).status(), StatusCode::CREATED);

    let response = patch(&client, &url, 0, data[..100].to_vec());
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&response, "upload-offset"), Some(100));

    for wrong in [0, 99, 101, 5000] {
        let response = patch(&client, &url, wrong, data[..100].to_vec());
        assert_eq!(header(&response, "upload-offset"), Some(100), "{wrong}");
        assert_error(response, StatusCode::CONFLICT, "blob.offset_mismatch");
    }
    let response = patch(&client, &url, 100, data[100..].to_vec());
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&response, "upload-offset"), Some(300));
    // Once complete, a PATCH is told the upload is whole.
    let response = patch(&client, &url, 200, data[200..].to_vec());
    assert_eq!(header(&response, "upload-offset"), Some(300));
    assert_error(response, StatusCode::CONFLICT, "blob.offset_mismatch");
    server.assert_alive();
}

fn bytes_that_do_not_match_the_hash_are_discarded(backend: Backend) {
    let server = Server::start(backend);
    let claimed = noise(600_000, 4);
    let mut sent = claimed.clone();
    sent[400_000] ^= 1;
    let hex = BlobId::of(&claimed).to_hex();
    let url = server.url(&hex);
    let client = http();
    assert_eq!(post(&client, &url, 600_000).status(), StatusCode::CREATED);
    let mut offset = 0;
    let mut last = None;
    for chunk in sent.chunks(CHUNK_BYTES as usize) {
        let response = patch(&client, &url, offset, chunk.to_vec());
        offset += chunk.len() as u64;
        if offset < 600_000 {
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
        } else {
            last = Some(response);
        }
    }
    assert_error(
        last.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "blob.hash_mismatch",
    );

    assert_eq!(server.stored(&hex), None, "nothing kept");
    assert!(server.leftovers().is_empty(), "partial removed");
    let head = tus(client.head(&url)).send().unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    let response = client.get(&url).send().unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "blob.not_found");
    // The upload is gone: a PATCH must create it again first.
    let response = patch(&client, &url, 0, sent[..10].to_vec());
    assert_error(response, StatusCode::NOT_FOUND, "blob.upload_not_found");
    server.assert_alive();
}

/// Sends `request_line_target` verbatim (no URL normalisation) and returns
/// the status code.
fn raw_status(server: &Server, method: &str, target: &str, extra: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{extra}\
         Content-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

fn bad_ids_and_path_tricks_are_400_and_create_nothing(backend: Backend) {
    let server = Server::start(backend);
    let before = server.snapshot();
    let good = BlobId::of(b"x").to_hex();
    let targets = [
        "..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "..%2f..%2fescape".to_owned(),
        "%2e%2e".to_owned(),
        "..".to_owned(),
        "../../../../tmp/escape".to_owned(),
        "..%5C..%5Cescape".to_owned(),
        good.to_uppercase(),
        good[..63].to_owned(),
        format!("{good}0"),
        format!("{}g", &good[..63]),
        format!("{}%00", &good[..63]),
        format!("{}%FF", &good[..62]),
        format!("{}%2F", &good[..63]),
        format!("{}/{}", &good[..2], &good[2..]),
        format!("{good}/../../escape"),
        format!("%2Fpartial%2F{}", &good[..52]),
        "partial".to_owned(),
        format!("{}%C3%A9", &good[..62]),
    ];
    let with_tus = "Tus-Resumable: 1.0.0\r\n";
    for target in &targets {
        let path = format!("/api/v1/blobs/{target}");
        let cases: [(&str, String, &[u8]); 4] = [
            ("HEAD", with_tus.to_owned(), b""),
            ("GET", String::new(), b""),
            ("POST", format!("{with_tus}Upload-Length: 10\r\n"), b""),
            (
                "PATCH",
                format!(
                    "{with_tus}Upload-Offset: 0\r\n\
                     Content-Type: application/offset+octet-stream\r\n"
                ),
                b"0123456789",
            ),
        ];
        for (method, extra, body) in cases {
            let status = raw_status(&server, method, &path, &extra, body);
            assert_eq!(status, 400, "{method} {path}");
        }
    }
    // The JSON of one of them.
    let response = tus(http().post(server.url("..%2F..%2Fetc")))
        .header("Upload-Length", 10)
        .send()
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "blob.bad_id");

    assert_eq!(
        server.snapshot(),
        before,
        "no file or folder created anywhere"
    );
    server.assert_alive();
}

fn over_the_size_limit_is_413(backend: Backend) {
    let server = Server::start(backend);
    let client = http();
    let before = server.snapshot();

    // A declared length over the limit.
    let big = noise(MAX_BLOB as usize + 1, 5);
    let (_t, store, id) = tablet_with(&big);
    let response = post(&client, &server.url(&id.to_hex()), MAX_BLOB + 1);
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "blob.too_large");
    let err = upload_blob(&client, &server.base, "t", &store, &id, |_, _| {}).unwrap_err();
    assert_eq!(err.code(), "upload.too_large", "{err}");
    assert!(err.to_string().contains("bytes"), "{err}");
    let response = post(&client, &server.url(&id.to_hex()), u64::MAX);
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "blob.too_large");
    assert_eq!(server.snapshot(), before);

    // A chunk that runs past the declared length.
    let data = noise(10, 6);
    let url = server.url(&BlobId::of(&data).to_hex());
    assert_eq!(post(&client, &url, 10).status(), StatusCode::CREATED);
    let response = patch(&client, &url, 0, noise(11, 7));
    assert_error(
        response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "blob.beyond_length",
    );
    assert_eq!(patch(&client, &url, 0, data[..4].to_vec()).status(), 204);
    let response = patch(&client, &url, 4, noise(7, 8));
    assert_error(
        response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "blob.beyond_length",
    );
    let head = tus(client.head(&url)).send().unwrap();
    assert_eq!(header(&head, "upload-offset"), Some(4), "nothing appended");

    let empty = raw_status(
        &server,
        "PATCH",
        &format!("/api/v1/blobs/{}", BlobId::of(&data).to_hex()),
        "Tus-Resumable: 1.0.0\r\nUpload-Offset: 4\r\n\
         Content-Type: application/offset+octet-stream\r\n",
        &[],
    );
    assert_eq!(empty, 204, "an empty PATCH is harmless");

    // A PATCH body over the per-request limit: one declared that large is
    // refused before a byte of it is read, one actually sent as well.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "PATCH /api/v1/blobs/{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Tus-Resumable: 1.0.0\r\nUpload-Offset: 4\r\n\
         Content-Type: application/offset+octet-stream\r\n\
         Content-Length: 10000000000\r\n\r\n",
        BlobId::of(&data).to_hex()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("blob.chunk_too_large"), "{answer}");

    let upload = noise(2 * MAX_CHUNK_BYTES, 9);
    let url = server.url(&BlobId::of(&upload).to_hex());
    assert_eq!(
        post(&client, &url, upload.len() as u64).status(),
        StatusCode::CREATED
    );
    // Its own client: the server closes that connection, which must not be
    // reused for the next request.
    match tus(http().patch(&url))
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", 0)
        .body(upload[..MAX_CHUNK_BYTES + 1].to_vec())
        .send()
    {
        Ok(response) => {
            assert_error(
                response,
                StatusCode::PAYLOAD_TOO_LARGE,
                "blob.chunk_too_large",
            );
        }
        // The server may answer and close before it has read the body.
        Err(e) => assert!(!e.is_timeout(), "{e}"),
    }
    let head = tus(client.head(&url)).send().unwrap();
    assert_eq!(header(&head, "upload-offset"), Some(0));
    server.assert_alive();
}

fn a_missing_or_wrong_tus_version_is_412(backend: Backend) {
    let server = Server::start(backend);
    let client = http();
    let url = server.url(&BlobId::of(b"v").to_hex());
    for version in [None, Some("0.2.2"), Some("1.0"), Some("")] {
        let with = |r: RequestBuilder| match version {
            Some(v) => r.header("Tus-Resumable", v),
            None => r,
        };
        let requests = [
            with(client.post(&url)).header("Upload-Length", 1),
            with(client.patch(&url))
                .header("Upload-Offset", 0)
                .header("Content-Type", "application/offset+octet-stream")
                .body(b"v".to_vec()),
        ];
        for request in requests {
            let response = request.send().unwrap();
            assert_eq!(response.headers().get("tus-version").unwrap(), "1.0.0");
            assert_error(
                response,
                StatusCode::PRECONDITION_FAILED,
                "blob.tus_version",
            );
        }
        let response = with(client.head(&url)).send().unwrap();
        assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    }
    assert!(server.leftovers().is_empty());
    // GET needs no tus header.
    let response = client.get(&url).send().unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "blob.not_found");
    server.assert_alive();
}

fn other_bad_requests_are_clear_4xx(backend: Backend) {
    let server = Server::start(backend);
    let client = http();
    let data = noise(20, 10);
    let url = server.url(&BlobId::of(&data).to_hex());

    for length in [
        "",
        "-1",
        "+5",
        "abc",
        "1e3",
        "5 5",
        "99999999999999999999999",
    ] {
        let response = tus(client.post(&url))
            .header("Upload-Length", length)
            .send()
            .unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "blob.bad_header");
    }
    let response = tus(client.post(&url)).send().unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "blob.bad_header");

    let response = patch(&client, &url, 0, data.clone());
    assert_error(response, StatusCode::NOT_FOUND, "blob.upload_not_found");
    assert_eq!(post(&client, &url, 20).status(), StatusCode::CREATED);
    assert_eq!(
        post(&client, &url, 20).status(),
        StatusCode::OK,
        "idempotent"
    );

    let response = tus(client.patch(&url))
        .header("Upload-Offset", 0)
        .header("Content-Type", "application/octet-stream")
        .body(data.clone())
        .send()
        .unwrap();
    assert_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "blob.bad_content_type",
    );
    let response = tus(client.patch(&url))
        .header("Content-Type", "application/offset+octet-stream")
        .body(data.clone())
        .send()
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "blob.bad_header");

    let response = client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/blobs", server.base),
        )
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers().get("tus-version").unwrap(), "1.0.0");
    assert_eq!(header(&response, "tus-max-size"), Some(MAX_BLOB));

    let response = tus(client.delete(&url)).send().unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    server.assert_alive();
}

fn concurrent_patches_do_not_corrupt_a_blob(backend: Backend) {
    let server = Server::start(backend);
    let data = noise(4 * CHUNK_BYTES as usize + 1000, 11);
    let (_t, store, id) = tablet_with(&data);
    let url = server.url(&id.to_hex());
    assert_eq!(
        post(&http(), &url, data.len() as u64).status(),
        StatusCode::CREATED
    );

    // Eight requests race for the first chunk: one wins, the others are
    // told where the upload now is.
    let barrier = Arc::new(Barrier::new(8));
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (barrier, url) = (Arc::clone(&barrier), url.clone());
            let chunk = data[..CHUNK_BYTES as usize].to_vec();
            thread::spawn(move || {
                let client = http();
                barrier.wait();
                let response = patch(&client, &url, 0, chunk);
                (response.status(), header(&response, "upload-offset"))
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    let won = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(won, 1, "{results:?}");
    for (status, offset) in &results {
        assert!(
            *status == StatusCode::NO_CONTENT || *status == StatusCode::CONFLICT,
            "{results:?}"
        );
        assert_eq!(*offset, Some(CHUNK_BYTES));
    }

    // Two tablets upload the rest at once; both finish, the blob is intact.
    let store = Arc::new(store);
    let uploads: Vec<_> = (0..2)
        .map(|_| {
            let (store, base) = (Arc::clone(&store), server.base.clone());
            thread::spawn(move || upload_blob(&http(), &base, "t", &store, &id, |_, _| {}))
        })
        .collect();
    let mut sent = 0;
    for upload in uploads {
        sent += upload.join().unwrap().unwrap().sent_bytes;
    }
    let rest = data.len() as u64 - CHUNK_BYTES;
    assert!(sent >= rest && sent <= 2 * rest, "{sent}");
    assert_eq!(get_blob(&server, &id), data);
    assert!(server.leftovers().is_empty());
}

fn an_empty_blob_uploads(backend: Backend) {
    let server = Server::start(backend);
    let (_t, store, id) = tablet_with(b"");
    let outcome = upload_blob(&http(), &server.base, "t", &store, &id, |_, _| {}).unwrap();
    assert_eq!(
        outcome,
        UploadOutcome {
            sent_bytes: 0,
            already_present: false
        }
    );
    assert_eq!(get_blob(&server, &id), b"");
    let outcome = upload_blob(&http(), &server.base, "t", &store, &id, |_, _| {}).unwrap();
    assert!(outcome.already_present);
}

/// A client acting as `device` of `team`.
fn as_(device: &'static str, team: &'static str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-device", device.parse().unwrap());
    headers.insert("x-team", team.parse().unwrap());
    fieldloop_tablet::tls::install_crypto();
    Client::builder().default_headers(headers).build().unwrap()
}

fn a_blob_is_seen_by_the_team_that_uploaded_it_and_an_upload_by_its_device_only(backend: Backend) {
    let server = Server::start(backend);
    let data = noise(300, 7);
    let id = BlobId::of(&data).to_string();
    let url = server.url(&id);
    let (mine, mate, stranger) = (as_("D-1", "T-1"), as_("D-2", "T-1"), as_("D-3", "T-2"));

    // D-1 has sent a third when a device of another team posts the same hash.
    assert_eq!(post(&mine, &url, 300).status(), StatusCode::CREATED);
    assert_eq!(
        patch(&mine, &url, 0, data[..100].to_vec()).status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        tus(stranger.head(&url)).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let theirs = post(&stranger, &url, 300);
    assert_eq!(theirs.status(), StatusCode::CREATED, "a session of its own");
    assert_eq!(header(&theirs, "upload-offset"), Some(0));
    // It cannot append to, reset or read D-1's upload.
    let response = patch(&stranger, &url, 100, data[100..200].to_vec());
    assert_eq!(header(&response, "upload-offset"), Some(0));
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(post(&stranger, &url, 5).status(), StatusCode::CREATED);
    let head = tus(mine.head(&url)).send().unwrap();
    assert_eq!(
        header(&head, "upload-offset"),
        Some(100),
        "D-1's upload is untouched"
    );

    // D-1 finishes: its team sees the blob, the other team does not.
    assert_eq!(
        patch(&mine, &url, 100, data[100..].to_vec()).status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        mate.get(&url).send().unwrap().bytes().unwrap().to_vec(),
        data
    );
    let zero = post(&mate, &url, 300);
    assert_eq!(
        (zero.status(), header(&zero, "upload-offset")),
        (StatusCode::OK, Some(300))
    );
    assert_eq!(
        stranger.get(&url).send().unwrap().status(),
        StatusCode::NOT_FOUND,
        "same answer as a missing blob"
    );
    let own = tus(stranger.head(&url)).send().unwrap();
    assert_eq!(
        (header(&own, "upload-offset"), header(&own, "upload-length")),
        (Some(0), Some(5)),
        "HEAD tells only of its own session"
    );
    let missing = server.url(&BlobId::of(b"nothing here").to_string());
    assert_eq!(
        stranger.get(&missing).send().unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // Sending every byte proves possession: then that team sees it too.
    assert_eq!(post(&stranger, &url, 300).status(), StatusCode::CREATED);
    assert_eq!(
        patch(&stranger, &url, 0, data.clone()).status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        stranger.get(&url).send().unwrap().bytes().unwrap().to_vec(),
        data
    );
    assert!(server.leftovers().is_empty(), "{:?}", server.leftovers());
}

/// An upload nobody touched is swept away (the server does it hourly for
/// uploads untouched for two days): its bytes and its state go, the
/// device starts it over, and complete blobs stay.
fn uploads_nobody_touched_are_reclaimed(backend: Backend) {
    let server = Server::start(backend);
    let client = http();
    let kept = noise(1_000, 12);
    let kept_url = server.url(&BlobId::of(&kept).to_hex());
    assert_eq!(
        post(&client, &kept_url, 1_000).status(),
        StatusCode::CREATED
    );
    assert_eq!(patch(&client, &kept_url, 0, kept.clone()).status(), 204);
    let left = noise(3_000, 13);
    let url = server.url(&BlobId::of(&left).to_hex());
    assert_eq!(post(&client, &url, 3_000).status(), StatusCode::CREATED);
    assert_eq!(
        patch(&client, &url, 0, left[..1_000].to_vec()).status(),
        204
    );
    assert!(!server.leftovers().is_empty());

    let runtime = server.runtime.as_ref().unwrap();
    // Younger than the bound: kept.
    let swept = runtime.block_on(
        server
            .blobs
            .reclaim_stale(std::time::Duration::from_secs(3600)),
    );
    assert_eq!(swept.unwrap(), 0);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let swept = runtime.block_on(
        server
            .blobs
            .reclaim_stale(std::time::Duration::from_millis(10)),
    );
    assert!(swept.unwrap() >= 1);
    assert!(server.leftovers().is_empty(), "{:?}", server.leftovers());
    let head = tus(client.head(&url)).send().unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    let response = patch(&client, &url, 1_000, left[1_000..].to_vec());
    assert_error(response, StatusCode::NOT_FOUND, "blob.upload_not_found");
    assert_eq!(get_blob(&server, &BlobId::of(&kept)), kept);
}

/// A blob longer than what the object store assembles in one `PUT`
/// (`ASSEMBLY_PART_BYTES`) goes into place as a multipart upload, whole.
fn a_blob_longer_than_one_assembly_part_comes_back_whole(backend: Backend) {
    let length = fieldloop_server::blobs::ASSEMBLY_PART_BYTES + 300_000;
    let server = Server::start_with(backend, 2 * length as u64);
    let data = noise(length, 14);
    let (_t, store, id) = tablet_with(&data);
    let outcome = upload_blob(&http(), &server.base, "t", &store, &id, |_, _| {}).unwrap();
    assert_eq!(outcome.sent_bytes, length as u64);
    assert!(
        get_blob(&server, &id) == data,
        "the bytes came back changed"
    );
    assert!(server.stored(&id.to_hex()).unwrap() == data);
    assert!(server.leftovers().is_empty(), "{:?}", server.leftovers());
}

/// In the bucket each chunk is an object: an upload takes a bounded number
/// of them; the one past the bound discards it, and the device uploads it
/// again in larger chunks.
#[test]
fn an_upload_into_the_bucket_takes_a_bounded_number_of_chunks() {
    let quota = Quota {
        chunks_per_upload: 3,
        ..Quota::default()
    };
    let server = Server::start_full(Backend::Garage, MAX_BLOB, quota);
    let client = http();
    let data = noise(10, 15);
    let url = server.url(&BlobId::of(&data).to_hex());
    assert_eq!(post(&client, &url, 10).status(), StatusCode::CREATED);
    for n in 0..3u64 {
        let byte = data[n as usize..=n as usize].to_vec();
        assert_eq!(patch(&client, &url, n, byte).status(), 204);
    }
    let response = patch(&client, &url, 3, data[3..4].to_vec());
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "blob.quota");
    assert!(server.leftovers().is_empty(), "{:?}", server.leftovers());
    let head = tus(client.head(&url)).send().unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    // Again, in one chunk.
    assert_eq!(post(&client, &url, 10).status(), StatusCode::CREATED);
    assert_eq!(patch(&client, &url, 0, data.clone()).status(), 204);
    assert_eq!(get_blob(&server, &BlobId::of(&data)), data);
}

/// Past its daily bytes a device's chunk is refused with 429 and nothing
/// counted: its next, smaller blob still goes through, and another device
/// is not held back.
fn a_device_past_its_daily_bytes_is_refused(backend: Backend) {
    let quota = Quota {
        bytes_per_day: 10,
        ..Quota::default()
    };
    let server = Server::start_full(backend, MAX_BLOB, quota);
    let client = http();
    let first = noise(8, 21);
    let url = server.url(&BlobId::of(&first).to_hex());
    assert_eq!(post(&client, &url, 8).status(), StatusCode::CREATED);
    assert_eq!(patch(&client, &url, 0, first.clone()).status(), 204);
    let second = noise(5, 22);
    let url = server.url(&BlobId::of(&second).to_hex());
    assert_eq!(post(&client, &url, 5).status(), StatusCode::CREATED);
    let response = patch(&client, &url, 0, second.clone());
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "blob.quota");
    let head = tus(client.head(&url)).send().unwrap();
    assert_eq!(header(&head, "Upload-Offset"), Some(0), "nothing taken");
    let small = noise(2, 23);
    let url = server.url(&BlobId::of(&small).to_hex());
    assert_eq!(post(&client, &url, 2).status(), StatusCode::CREATED);
    assert_eq!(patch(&client, &url, 0, small.clone()).status(), 204);
    assert_eq!(get_blob(&server, &BlobId::of(&small)), small);
    // Another device of the team still sends.
    let other = as_("D-OTHER", "T-1");
    let url = server.url(&BlobId::of(&second).to_hex());
    assert_eq!(post(&other, &url, 5).status(), StatusCode::CREATED);
    assert_eq!(patch(&other, &url, 0, second.clone()).status(), 204);
}

/// Two instances on one bucket and database count a device's bytes
/// against one daily total: what it sent through one is not sent again
/// through the other.
#[test]
fn the_daily_bytes_are_one_total_across_instances() {
    let quota = Quota {
        bytes_per_day: 10,
        ..Quota::default()
    };
    let one = Server::start_full(Backend::Garage, MAX_BLOB, quota);
    let other = one.second_instance(quota);
    let client = http();
    let first = noise(8, 31);
    let url = one.url(&BlobId::of(&first).to_hex());
    assert_eq!(post(&client, &url, 8).status(), StatusCode::CREATED);
    assert_eq!(patch(&client, &url, 0, first).status(), 204);
    let second = noise(5, 32);
    let url = other.url(&BlobId::of(&second).to_hex());
    assert_eq!(post(&client, &url, 5).status(), StatusCode::CREATED);
    let response = patch(&client, &url, 0, second);
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "blob.quota");
    let small = noise(2, 33);
    let url = other.url(&BlobId::of(&small).to_hex());
    assert_eq!(post(&client, &url, 2).status(), StatusCode::CREATED);
    assert_eq!(patch(&client, &url, 0, small).status(), 204);
}

/// Each case on each store.
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod folder {
            $(#[test]
            fn $case() {
                super::$case(super::Backend::Folder);
            })*
        }
        mod garage {
            $(#[test]
            fn $case() {
                super::$case(super::Backend::Garage);
            })*
        }
    };
}

on_both_stores!(
    a_blob_uploads_in_chunks_comes_back_identical_and_costs_nothing_twice,
    a_cut_connection_resumes_and_resends_at_most_one_chunk,
    a_wrong_offset_is_409_with_the_current_offset,
    bytes_that_do_not_match_the_hash_are_discarded,
    bad_ids_and_path_tricks_are_400_and_create_nothing,
    over_the_size_limit_is_413,
    a_missing_or_wrong_tus_version_is_412,
    other_bad_requests_are_clear_4xx,
    concurrent_patches_do_not_corrupt_a_blob,
    an_empty_blob_uploads,
    a_blob_is_seen_by_the_team_that_uploaded_it_and_an_upload_by_its_device_only,
    uploads_nobody_touched_are_reclaimed,
    a_blob_longer_than_one_assembly_part_comes_back_whole,
    a_device_past_its_daily_bytes_is_refused,
);
