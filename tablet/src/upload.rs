//! Resumable upload of one blob from the tablet's [`BlobStore`] to the sync
//! server, with tus 1.0 core semantics (see the server's `blobs` module).
//!
//! [`upload_blob`] asks the server how much of the blob it holds (`HEAD`),
//! creates the upload if it holds nothing (`POST` with `Upload-Length`),
//! then sends the rest in [`CHUNK_BYTES`] chunks (`PATCH` at the server's
//! `Upload-Offset`). Every acknowledged chunk is on the server's disk, so
//! after a cut connection the next call starts from the server's offset and
//! re-sends at most the chunk that was in flight. A blob the server already
//! has costs one `HEAD` and zero bytes.
//!
//! The blob is verified against its id before anything is sent, so a photo
//! damaged on the tablet's disk is reported here instead of being uploaded
//! and rejected by the server.

use fieldloop_core::ErrorCode;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::CONTENT_TYPE;

use crate::blobs::{BlobError, BlobId, BlobStore};

/// Bytes sent per `PATCH`.
pub const CHUNK_BYTES: u64 = 256 * 1024;
/// The tus protocol version spoken.
const TUS_VERSION: &str = "1.0.0";
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// How many answers in a row may move the upload backwards (409, or an
/// upload that vanished) before the upload gives up.
const MAX_SETBACKS: u32 = 5;

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadOutcome {
    /// Bytes of the blob sent in this call (zero if the server had it all).
    pub sent_bytes: u64,
    /// The server held the whole blob before this call sent anything.
    pub already_present: bool,
}

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The blob is missing or damaged on the tablet, or could not be read.
    #[error(transparent)]
    Local(#[from] BlobError),
    /// The server could not be reached or the connection broke.
    #[error(
        "the connection to the server failed ({0}); the upload continues where it \
         stopped at the next sync"
    )]
    Network(#[source] reqwest::Error),
    /// The server refused the device's token.
    #[error("the server refused this tablet's token (HTTP {status}); enroll the tablet again")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
    },
    /// The blob is over the server's size limit.
    #[error("the server does not accept a file this large: {message}")]
    TooLarge {
        /// The server's explanation.
        message: String,
    },
    /// The server received bytes that do not hash to the blob's id.
    #[error(
        "the server received bytes that do not match blob {id} and discarded them; \
         the upload starts over at the next sync"
    )]
    HashMismatch {
        /// The blob.
        id: BlobId,
    },
    /// The server refused a request for another reason.
    #[error("the server refused the upload (HTTP {status}, {code}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's error code, if it gave one.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server's answer does not follow the upload protocol.
    #[error(
        "the server's answer does not follow the upload protocol: {0}; check that the \
         tablet and the server run matching versions"
    )]
    Protocol(String),
}

impl UploadError {
    /// Stable machine code of the error, for the UI and the logs.
    pub fn code(&self) -> ErrorCode {
        match self {
            UploadError::Local(e) => e.code(),
            UploadError::Network(_) => ErrorCode::UploadNetwork,
            UploadError::Unauthorized { .. } => ErrorCode::UploadUnauthorized,
            UploadError::TooLarge { .. } => ErrorCode::UploadTooLarge,
            UploadError::HashMismatch { .. } => ErrorCode::UploadHashMismatch,
            UploadError::Rejected { .. } => ErrorCode::UploadRejected,
            UploadError::Protocol(_) => ErrorCode::UploadProtocol,
        }
    }
}

/// Uploads blob `id` from `blobs` to the server at `base_url` (e.g.
/// `http://10.0.0.2:7878`), authenticated by the device `token`.
///
/// `progress(held, total)` is called with the bytes the server holds once
/// the upload's state is known and after each acknowledged chunk.
pub fn upload_blob(
    client: &Client,
    base_url: &str,
    token: &str,
    blobs: &BlobStore,
    id: &BlobId,
    mut progress: impl FnMut(u64, u64),
) -> Result<UploadOutcome, UploadError> {
    // The plain bytes, checked against the id (decrypted when the store
    // encrypts its files): what the server must end up holding.
    let content = blobs.get(id)?;
    let total = content.len() as u64;
    let upload = Upload {
        client,
        url: format!("{}/api/v1/blobs/{id}", base_url.trim_end_matches('/')),
        token,
        id: *id,
        total,
    };
    let (mut offset, created) = upload.start()?;
    let already_present = offset == total && !created;
    progress(offset, total);

    let mut sent_bytes = 0u64;
    let mut setbacks = 0u32;
    while offset < total {
        let len = CHUNK_BYTES.min(total - offset);
        let chunk = chunk_of(&content, offset, len);
        let response = upload.send(
            upload
                .client
                .patch(&upload.url)
                .header(CONTENT_TYPE, OFFSET_OCTET_STREAM)
                .header("Upload-Offset", offset)
                .body(chunk),
        )?;
        match response.status() {
            StatusCode::NO_CONTENT | StatusCode::OK => {
                let new_offset = upload_offset(&response)?;
                // Whole, though this chunk did not end it: another request
                // of this device finished it meanwhile (the server checked
                // its hash).
                if new_offset == total && offset + len != total {
                    offset = total;
                    progress(offset, total);
                    continue;
                }
                if new_offset != offset + len {
                    return Err(UploadError::Protocol(format!(
                        "after {len} bytes at offset {offset} the server is at {new_offset}"
                    )));
                }
                sent_bytes += len;
                offset = new_offset;
                setbacks = 0;
                progress(offset, total);
            }
            StatusCode::CONFLICT => {
                // Someone else (another device, or a request of ours whose
                // answer was lost) moved the upload: continue from there.
                offset = upload.within_total(upload_offset(&response)?)?;
                setbacks += 1;
            }
            StatusCode::NOT_FOUND => {
                // The upload was discarded meanwhile: create it again.
                offset = upload.create()?.0;
                setbacks += 1;
            }
            _ => return Err(upload.refusal(response)),
        }
        if setbacks > MAX_SETBACKS {
            return Err(UploadError::Protocol(format!(
                "the upload was moved back {setbacks} times in a row"
            )));
        }
    }
    Ok(UploadOutcome {
        sent_bytes,
        already_present,
    })
}

/// One upload's fixed parts.
struct Upload<'a> {
    client: &'a Client,
    url: String,
    token: &'a str,
    id: BlobId,
    total: u64,
}

impl Upload<'_> {
    /// Sends a request with the token and the tus version.
    fn send(&self, request: RequestBuilder) -> Result<Response, UploadError> {
        request
            .bearer_auth(self.token)
            .header("Tus-Resumable", TUS_VERSION)
            .send()
            .map_err(UploadError::Network)
    }

    /// Learns how much the server holds, creating the upload if it holds
    /// nothing. Returns the offset and whether this call created the upload.
    fn start(&self) -> Result<(u64, bool), UploadError> {
        let response = self.send(self.client.head(&self.url))?;
        match response.status() {
            StatusCode::OK => {
                let offset = upload_offset(&response)?;
                let length = header_u64(&response, "upload-length")?;
                if length == self.total && offset <= length {
                    return Ok((offset, false));
                }
                // An upload of another length: creating it again restarts it.
            }
            StatusCode::NOT_FOUND => {}
            _ => return Err(self.refusal(response)),
        }
        self.create()
    }

    /// `POST`: creates the upload (or finds it).
    fn create(&self) -> Result<(u64, bool), UploadError> {
        let response = self.send(
            self.client
                .post(&self.url)
                .header("Upload-Length", self.total),
        )?;
        let created = match response.status() {
            StatusCode::CREATED => true,
            StatusCode::OK => false,
            _ => return Err(self.refusal(response)),
        };
        let length = header_u64(&response, "upload-length")?;
        if length != self.total {
            return Err(UploadError::Protocol(format!(
                "the server holds blob {} as {length} bytes, the tablet as {}",
                self.id, self.total
            )));
        }
        Ok((self.within_total(upload_offset(&response)?)?, created))
    }

    fn within_total(&self, offset: u64) -> Result<u64, UploadError> {
        if offset > self.total {
            return Err(UploadError::Protocol(format!(
                "the server is at offset {offset} of a {}-byte blob",
                self.total
            )));
        }
        Ok(offset)
    }

    /// The error for an answer that is not a success.
    fn refusal(&self, response: Response) -> UploadError {
        let status = response.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return UploadError::Unauthorized {
                status: status.as_u16(),
            };
        }
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            code: String,
            message: String,
        }
        let (code, message) = match response.json::<ErrorBody>() {
            Ok(body) => (body.code, body.message),
            Err(_) => (
                String::new(),
                status
                    .canonical_reason()
                    .unwrap_or("no explanation given")
                    .to_owned(),
            ),
        };
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => UploadError::TooLarge { message },
            StatusCode::UNPROCESSABLE_ENTITY if code == "blob.hash_mismatch" => {
                UploadError::HashMismatch { id: self.id }
            }
            _ => UploadError::Rejected {
                status: status.as_u16(),
                code,
                message,
            },
        }
    }
}

fn upload_offset(response: &Response) -> Result<u64, UploadError> {
    header_u64(response, "upload-offset")
}

fn header_u64(response: &Response, name: &str) -> Result<u64, UploadError> {
    let value = response.headers().get(name).ok_or_else(|| {
        UploadError::Protocol(format!("HTTP {} without {name}", response.status()))
    })?;
    value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| UploadError::Protocol(format!("{name} is not a number: {value:?}")))
}

/// The `len` bytes of `content` from `offset` (within it: the loop keeps
/// `offset + len <= total`).
fn chunk_of(content: &[u8], offset: u64, len: u64) -> Vec<u8> {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(content.len());
    let end = usize::try_from(offset.saturating_add(len))
        .unwrap_or(usize::MAX)
        .min(content.len());
    content[start..end].to_vec()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    //! The client against a scripted HTTP server: each test lists the
    //! answers, the server records the requests. The real server is driven
    //! by this client in `sync-server/tests/it/blobs.rs`.

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};
    use std::thread;

    use super::*;

    /// One request as the scripted server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        headers: Vec<(String, String)>,
        body_len: usize,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// Serves `answers` in order, one per connection, and records requests.
    fn scripted(answers: Vec<String>) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            for answer in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let method = line.split(' ').next().unwrap().to_owned();
                let mut headers = Vec::new();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let (name, value) = line.split_once(':').unwrap();
                    headers.push((name.to_owned(), value.trim().to_owned()));
                }
                let body_len: usize = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0u8; body_len];
                reader.read_exact(&mut body).unwrap();
                log.lock().unwrap().push(Seen {
                    method,
                    headers,
                    body_len,
                });
                let mut stream = reader.into_inner();
                stream.write_all(answer.as_bytes()).unwrap();
            }
        });
        (base, seen)
    }

    fn answer(status: &str, headers: &[(&str, String)], body: &str) -> String {
        let mut text = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        text
    }

    fn store_with(bytes: &[u8]) -> (tempfile::TempDir, BlobStore, BlobId) {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path().join("blobs")).unwrap();
        let id = store.put(bytes).unwrap();
        (dir, store, id)
    }

    fn client() -> Client {
        crate::tls::install_crypto();
        Client::builder().build().unwrap()
    }

    fn offsets(offset: u64, length: u64) -> Vec<(&'static str, String)> {
        vec![
            ("Upload-Offset", offset.to_string()),
            ("Upload-Length", length.to_string()),
        ]
    }

    #[test]
    fn creates_then_sends_chunks_with_token_and_tus_headers() {
        let data = vec![7u8; (CHUNK_BYTES + 10) as usize];
        let (_dir, store, id) = store_with(&data);
        let total = data.len() as u64;
        let (base, seen) = scripted(vec![
            answer("404 Not Found", &[], ""),
            answer("201 Created", &offsets(0, total), ""),
            answer(
                "204 No Content",
                &[("Upload-Offset", CHUNK_BYTES.to_string())],
                "",
            ),
            answer(
                "204 No Content",
                &[("Upload-Offset", total.to_string())],
                "",
            ),
        ]);
        let mut reports = Vec::new();
        let outcome = upload_blob(&client(), &base, "tok", &store, &id, |held, all| {
            reports.push((held, all))
        })
        .unwrap();
        assert_eq!(
            outcome,
            UploadOutcome {
                sent_bytes: total,
                already_present: false
            }
        );
        assert_eq!(reports, [(0, total), (CHUNK_BYTES, total), (total, total)]);
        let seen = seen.lock().unwrap().clone();
        let methods: Vec<_> = seen.iter().map(|s| s.method.as_str()).collect();
        assert_eq!(methods, ["HEAD", "POST", "PATCH", "PATCH"]);
        for request in &seen {
            assert_eq!(request.header("authorization"), Some("Bearer tok"));
            assert_eq!(request.header("tus-resumable"), Some("1.0.0"));
        }
        assert_eq!(seen[1].header("upload-length"), Some(&*total.to_string()));
        assert_eq!(seen[2].header("upload-offset"), Some("0"));
        assert_eq!(
            seen[2].header("content-type"),
            Some("application/offset+octet-stream")
        );
        assert_eq!(seen[2].body_len as u64, CHUNK_BYTES);
        assert_eq!(seen[3].body_len, 10);
    }

    #[test]
    fn a_blob_the_server_has_costs_one_head() {
        let (_dir, store, id) = store_with(b"evidence");
        let (base, seen) = scripted(vec![answer("200 OK", &offsets(8, 8), "")]);
        let outcome = upload_blob(&client(), &base, "t", &store, &id, |_, _| {}).unwrap();
        assert_eq!(
            outcome,
            UploadOutcome {
                sent_bytes: 0,
                already_present: true
            }
        );
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn resumes_from_the_servers_offset_and_follows_a_conflict() {
        let data: Vec<u8> = (0..3 * CHUNK_BYTES).map(|i| (i % 251) as u8).collect();
        let (_dir, store, id) = store_with(&data);
        let total = data.len() as u64;
        let (base, seen) = scripted(vec![
            answer("200 OK", &offsets(CHUNK_BYTES, total), ""),
            // Another device sent the second chunk meanwhile.
            answer(
                "409 Conflict",
                &[("Upload-Offset", (2 * CHUNK_BYTES).to_string())],
                r#"{"code":"blob.offset_mismatch","message":"m"}"#,
            ),
            answer(
                "204 No Content",
                &[("Upload-Offset", total.to_string())],
                "",
            ),
        ]);
        let outcome = upload_blob(&client(), &base, "t", &store, &id, |_, _| {}).unwrap();
        assert_eq!(outcome.sent_bytes, CHUNK_BYTES);
        assert!(!outcome.already_present);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen[1].header("upload-offset"),
            Some(&*CHUNK_BYTES.to_string())
        );
        assert_eq!(
            seen[2].header("upload-offset"),
            Some(&*(2 * CHUNK_BYTES).to_string())
        );
    }

    #[test]
    fn server_refusals_have_codes() {
        let (_dir, store, id) = store_with(b"evidence");
        let cases = [
            (answer("401 Unauthorized", &[], ""), "upload.unauthorized"),
            (
                answer(
                    "413 Payload Too Large",
                    &[],
                    r#"{"code":"blob.too_large","message":"over 10 bytes"}"#,
                ),
                "upload.too_large",
            ),
            (
                answer(
                    "412 Precondition Failed",
                    &[],
                    r#"{"code":"blob.tus_version","message":"m"}"#,
                ),
                "upload.rejected",
            ),
            (
                answer("500 Internal Server Error", &[], "oops"),
                "upload.rejected",
            ),
        ];
        for (reply, code) in cases {
            let (base, _) = scripted(vec![answer("404 Not Found", &[], ""), reply]);
            let err = upload_blob(&client(), &base, "t", &store, &id, |_, _| {}).unwrap_err();
            assert_eq!(err.code(), code, "{err}");
        }

        let (base, _) = scripted(vec![
            answer("404 Not Found", &[], ""),
            answer("201 Created", &offsets(0, 8), ""),
            answer(
                "422 Unprocessable Entity",
                &[],
                r#"{"code":"blob.hash_mismatch","message":"m"}"#,
            ),
        ]);
        let err = upload_blob(&client(), &base, "t", &store, &id, |_, _| {}).unwrap_err();
        assert_eq!(err.code(), "upload.hash_mismatch");
    }

    #[test]
    fn a_blob_finished_by_another_request_meanwhile_is_done_not_an_error() {
        // The first chunk's answer says the whole blob is held: another
        // request of this device finished it (the race seen on S3).
        let data = vec![7u8; (CHUNK_BYTES + 10) as usize];
        let (_dir, store, id) = store_with(&data);
        let total = data.len() as u64;
        let (base, seen) = scripted(vec![
            answer("404 Not Found", &[], ""),
            answer("201 Created", &offsets(0, total), ""),
            answer(
                "204 No Content",
                &[("Upload-Offset", total.to_string())],
                "",
            ),
        ]);
        let mut reports = Vec::new();
        let outcome = upload_blob(&client(), &base, "t", &store, &id, |held, all| {
            reports.push((held, all))
        })
        .unwrap();
        // Not counted as sent by this request; no second chunk.
        assert_eq!(outcome.sent_bytes, 0);
        assert_eq!(reports, [(0, total), (total, total)]);
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[test]
    fn answers_outside_the_protocol_are_errors_not_loops() {
        let (_dir, store, id) = store_with(b"evidence");
        // No Upload-Offset.
        let (base, _) = scripted(vec![answer("404 Not Found", &[], ""), {
            answer("201 Created", &[("Upload-Length", "8".to_owned())], "")
        }]);
        let err = upload_blob(&client(), &base, "t", &store, &id, |_, _| {}).unwrap_err();
        assert_eq!(err.code(), "upload.protocol");
        // An offset beyond the blob.
        let (base, _) = scripted(vec![
            answer("404 Not Found", &[], ""),
            answer("201 Created", &offsets(99, 8), ""),
        ]);
        let err = upload_blob(&client(), &base, "t", &store, &id, |_, _| {}).unwrap_err();
        assert_eq!(err.code(), "upload.protocol");
        // A server that answers 409 at offset 0 forever.
        let mut answers = vec![answer("200 OK", &offsets(0, 8), "")];
        for _ in 0..=MAX_SETBACKS {
            answers.push(answer(
                "409 Conflict",
                &[("Upload-Offset", "0".to_owned())],
                "",
            ));
        }
        let (base, _) = scripted(answers);
        let err = upload_blob(&client(), &base, "t", &store, &id, |_, _| {}).unwrap_err();
        assert_eq!(err.code(), "upload.protocol");
    }

    #[test]
    fn a_damaged_local_blob_is_not_sent() {
        let (_dir, store, id) = store_with(b"the original photo");
        std::fs::write(store.path_of(&id), b"the altered photo!").unwrap();
        let (base, seen) = scripted(vec![]);
        let err = upload_blob(&client(), &base, "t", &store, &id, |_, _| {}).unwrap_err();
        assert_eq!(err.code(), "blob.corrupt");
        let missing = BlobId::of(b"never stored");
        let err = upload_blob(&client(), &base, "t", &store, &missing, |_, _| {}).unwrap_err();
        assert_eq!(err.code(), "blob.not_found");
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn an_unreachable_server_is_a_network_error() {
        let (_dir, store, id) = store_with(b"evidence");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}/");
        let err = upload_blob(&client(), &base, "t", &store, &id, |_, _| {}).unwrap_err();
        assert_eq!(err.code(), "upload.network");
        assert!(err.to_string().contains("next sync"));
    }
}
