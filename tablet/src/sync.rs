//! The tablet's sync client: enrollment, and the exchange loop that pushes
//! local changes and pulls what the server has, until both sides are quiet.
//!
//! The network is behind [`Transport`] (HTTP here; an in-process network in
//! simulations). Every answer is applied in one store transaction before the
//! next request, so a sync cut at any point (app killed, network gone)
//! resumes where it stopped, and a lost or repeated exchange is harmless.

use std::time::Duration;

use fieldloop_core::ErrorCode;
use fieldloop_core::enroll::KeyPin;
use fieldloop_core::sync::{self as wire, PROTOCOL_VERSION, SyncRequest, SyncResponse};
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// Exchanges a loop may take before it gives up for now.
pub const MAX_ROUNDS: u32 = 50;

/// Setting keys of the enrollment.
pub mod keys {
    pub const SERVER: &str = "enroll.server";
    pub const TOKEN: &str = "enroll.token";
    pub const ACTOR: &str = "enroll.actor";
    pub const PERSON: &str = "enroll.person";
    pub const TEAM: &str = "enroll.team";
    pub const DEVICE: &str = "enroll.device";
    /// The enrolled inspector's name and team name, as the server gave them.
    pub const PERSON_NAME: &str = "enroll.person_name";
    pub const TEAM_NAME: &str = "enroll.team_name";
    /// The server keys the tablet trusts (`sha256:…`, space-separated);
    /// absent for a server enrolled without a pin.
    pub const PINS: &str = "enroll.pins";
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "无法连接服务器 {server}：{detail}（请检查网络，稍后会自动重试）(cannot reach the server)"
    )]
    Network { server: String, detail: String },
    /// The server did not show the pinned key: someone else answered.
    #[error(
        "服务器 {server} 出示的密钥 {presented} 与注册时绑定的 {pinned} 不符，已拒绝连接。网络可能被劫持；如服务器确已更换密钥，请重新注册 (the server presented key {presented}, not the pinned {pinned}: refused; the network may be hostile, or enroll again if the server's key really changed)"
    )]
    KeyMismatch {
        server: String,
        pinned: String,
        presented: String,
    },
    /// A pinned tablet could not make a secure connection (the server spoke
    /// plain HTTP, or the handshake failed).
    #[error(
        "无法与服务器 {server} 建立加密连接（应出示密钥 {pinned}）：{detail} (no secure connection to the server, which must show key {pinned})"
    )]
    Insecure {
        server: String,
        pinned: String,
        detail: String,
    },
    #[error(transparent)]
    Client(#[from] crate::tls::ClientError),
    #[error("{message}")]
    Server {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// The server refused one of this tablet's edits by the write policy.
    /// Sync sets the edit aside (see [`crate::store::Store::set_aside`]) and
    /// goes on with the rest.
    #[error("{message}")]
    Refused {
        code: ErrorCode,
        message: String,
        task: String,
        change: String,
    },
    #[error("服务器的答复无法读取：{0}（请更新应用）(unreadable answer from the server)")]
    BadAnswer(String),
    #[error("本设备尚未注册，请先扫描注册二维码 (this tablet is not enrolled yet)")]
    NotEnrolled,
    #[error("这不是 Fieldloop 注册码 (this is not a Fieldloop enrollment code)")]
    NotAnEnrollText,
    #[error("本机证据文件夹无法打开：{0}（请检查存储空间）(the evidence folder cannot be opened)")]
    BlobFolder(String),
    #[error("同步轮次过多，稍后将继续 (too many sync rounds; will continue later)")]
    TooManyRounds,
    #[error(
        "服务器发来的任务 {} 多次重新获取后仍无法使用，稍后将再试；如持续出现请联系管理员 (these tasks could not be repaired from the server yet)",
        .0.join("、")
    )]
    Unrepaired(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("证据文件上传失败：{0}")]
    Upload(#[from] crate::upload::UploadError),
}

impl SyncError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Network { .. } => ErrorCode::SyncNetwork,
            Self::KeyMismatch { .. } => ErrorCode::SyncKeyMismatch,
            Self::Insecure { .. } => ErrorCode::SyncTls,
            Self::Client(crate::tls::ClientError::PlainHttp { .. }) => ErrorCode::SyncPlainHttp,
            Self::Client(crate::tls::ClientError::Setup(_)) => ErrorCode::SyncTls,
            Self::Server { code, .. } | Self::Refused { code, .. } => *code,
            Self::BadAnswer(_) => ErrorCode::SyncBadAnswer,
            Self::NotEnrolled => ErrorCode::SyncNotEnrolled,
            Self::NotAnEnrollText => ErrorCode::EnrollBadText,
            Self::BlobFolder(_) => ErrorCode::SyncBlobFolder,
            Self::TooManyRounds => ErrorCode::SyncTooManyRounds,
            Self::Unrepaired(_) => ErrorCode::SyncUnrepaired,
            Self::Store(e) => e.code(),
            Self::Upload(e) => e.code(),
        }
    }

    /// Worth retrying later without anyone doing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Network { .. } | Self::TooManyRounds | Self::Unrepaired(_)
        ) || matches!(self, Self::Server { status, .. } if *status >= 500)
            || matches!(
                self,
                Self::Upload(
                    crate::upload::UploadError::Network(_)
                        | crate::upload::UploadError::Protocol(_)
                )
            )
    }
}

/// Carries one sync request to the server and back.
pub trait Transport {
    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, SyncError>;

    /// The server replaced the device's token (the new one is already
    /// kept in the store): send it from now on.
    fn token_rotated(&self, _token: &str) {}
}

/// `{code, message}` of an error answer, and for a refused change the task
/// and change it names.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
    task: Option<String>,
    change: Option<String>,
}

impl SyncError {
    /// The error an answer with `status` and this body stands for: a refusal
    /// of one change by the write policy when it names the task and change.
    pub fn from_answer(
        status: u16,
        code: String,
        message: String,
        task: Option<String>,
        change: Option<String>,
    ) -> Self {
        let known = ErrorCode::from_server(&code);
        // A code this version does not know keeps its words: the server's.
        let message = if known == ErrorCode::ServerUnknown {
            format!("{message} ({code})")
        } else {
            message
        };
        let code = known;
        let policy = code.as_str().starts_with("policy.")
            || code.as_str().starts_with("status.")
            || code == ErrorCode::SyncActorMismatch
            || code == ErrorCode::SyncInvalidTask;
        match (task, change) {
            (Some(task), Some(change)) if policy && (400..500).contains(&status) => Self::Refused {
                code,
                message,
                task,
                change,
            },
            _ => Self::Server {
                status,
                code,
                message,
            },
        }
    }
}

fn server_error(status: u16, body: &[u8]) -> SyncError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => SyncError::from_answer(status, e.code, e.message, e.task, e.change),
        Err(_) => SyncError::Server {
            status,
            code: ErrorCode::SyncHttp,
            message: format!("服务器返回错误 {status} (the server answered {status})"),
        },
    }
}

/// HTTP transport with the device's token.
#[derive(Debug)]
pub struct HttpTransport {
    client: crate::tls::Client,
    server: String,
    /// The device's token; replaced when the server rotates it.
    token: std::sync::RwLock<String>,
}

/// The pins kept at enrollment.
fn stored_pins(store: &Store) -> Result<Vec<KeyPin>, SyncError> {
    let Some(text) = store.setting(keys::PINS)? else {
        return Ok(Vec::new());
    };
    text.split_whitespace()
        .map(|p| {
            p.parse()
                .map_err(|e: fieldloop_core::enroll::BadKeyPin| SyncError::BadAnswer(e.to_string()))
        })
        .collect()
}

/// The error of a failed request to `server` through `client`: a refused
/// key or a failed handshake of a pinned client said as such.
fn request_error(client: &crate::tls::Client, server: &str, e: &reqwest::Error) -> SyncError {
    if let Some(presented) = client.refused_key() {
        return SyncError::KeyMismatch {
            server: server.to_owned(),
            pinned: client.pins_text(),
            presented: presented.to_string(),
        };
    }
    if client.verifier.is_some() && is_tls_failure(e) {
        return SyncError::Insecure {
            server: server.to_owned(),
            pinned: client.pins_text(),
            detail: error_chain(e),
        };
    }
    SyncError::Network {
        server: server.to_owned(),
        detail: error_chain(e),
    }
}

/// Whether a TLS error is among the causes of `e`. An `io::Error` hides
/// the error it wraps from `source()` (it answers that error's source), so
/// its inner error is looked at through `get_ref`.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.is::<rustls::Error>() {
        return true;
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>()
        && let Some(inner) = io.get_ref()
        && is_tls_failure(inner)
    {
        return true;
    }
    e.source().is_some_and(is_tls_failure)
}

/// `e` and its causes, joined: reqwest's own message is often only "error
/// sending request".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(err) = cause {
        let more = err.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = err.source();
    }
    text
}

impl HttpTransport {
    /// A transport to `server` with `token`, trusting `pins` (see [`crate::tls`]).
    pub fn new(server: &str, token: &str, pins: &[KeyPin]) -> Result<Self, SyncError> {
        let server = server.trim_end_matches('/').to_owned();
        Ok(Self {
            client: crate::tls::Client::new(&server, pins)?,
            server,
            token: std::sync::RwLock::new(token.to_owned()),
        })
    }

    /// The transport of the enrolled device.
    pub fn from_store(store: &Store) -> Result<Self, SyncError> {
        match (store.setting(keys::SERVER)?, store.setting(keys::TOKEN)?) {
            (Some(server), Some(token)) => Self::new(&server, &token, &stored_pins(store)?),
            _ => Err(SyncError::NotEnrolled),
        }
    }

    fn token(&self) -> String {
        self.token
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn error(&self, e: &reqwest::Error) -> SyncError {
        request_error(&self.client, &self.server, e)
    }
}

impl Transport for HttpTransport {
    fn token_rotated(&self, token: &str) {
        *self
            .token
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = token.to_owned();
    }

    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let network = |e: reqwest::Error| self.error(&e);
        let response = self
            .client
            .http
            .post(format!("{}/api/v1/sync", self.server))
            .bearer_auth(self.token())
            .header(reqwest::header::CONTENT_TYPE, wire::CONTENT_TYPE)
            .body(request)
            .send()
            .map_err(network)?;
        let status = response.status().as_u16();
        let body = response.bytes().map_err(network)?;
        if status == 200 {
            Ok(body.to_vec())
        } else {
            Err(server_error(status, &body))
        }
    }
}

impl HttpTransport {
    /// `GET {server}{path}` (path with its query), with the device's token
    /// when `signed`: the status and at most `max_bytes` of the body (a
    /// longer body is [`SyncError::BadAnswer`]).
    pub fn get(
        &self,
        path: &str,
        signed: bool,
        max_bytes: usize,
    ) -> Result<(u16, Vec<u8>), SyncError> {
        let network = |e: reqwest::Error| self.error(&e);
        let mut request = self.client.http.get(format!("{}{path}", self.server));
        if signed {
            request = request.bearer_auth(self.token());
        }
        let response = request.send().map_err(network)?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|n| n > max_bytes as u64)
        {
            return Err(SyncError::BadAnswer(format!(
                "{path}: longer than {max_bytes} bytes"
            )));
        }
        let body = response.bytes().map_err(network)?;
        if body.len() > max_bytes {
            return Err(SyncError::BadAnswer(format!(
                "{path}: longer than {max_bytes} bytes"
            )));
        }
        Ok((status, body.to_vec()))
    }

    /// The error an answer with `status` and `body` stands for.
    pub fn answer_error(status: u16, body: &[u8]) -> SyncError {
        server_error(status, body)
    }

    /// Downloads blob `id` the device's team may read (`GET
    /// /api/v1/blobs/{id}`); `None` when the server has none it may see.
    /// The bytes are checked against the id by whoever stores them.
    pub fn download_blob(
        &self,
        id: &crate::blobs::BlobId,
        max_bytes: u64,
    ) -> Result<Option<Vec<u8>>, SyncError> {
        let network = |e: reqwest::Error| self.error(&e);
        let response = self
            .client
            .http
            .get(format!("{}/api/v1/blobs/{id}", self.server))
            .bearer_auth(self.token())
            .header("Tus-Resumable", "1.0.0")
            .send()
            .map_err(network)?;
        let status = response.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if status != 200 {
            let body = response.bytes().map_err(network)?;
            return Err(server_error(status, &body));
        }
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(SyncError::BadAnswer(format!(
                "blob {id} is larger than {max_bytes} bytes"
            )));
        }
        let body = response.bytes().map_err(network)?;
        if body.len() as u64 > max_bytes {
            return Err(SyncError::BadAnswer(format!(
                "blob {id} is larger than {max_bytes} bytes"
            )));
        }
        Ok(Some(body.to_vec()))
    }

    /// Uploads every queued evidence blob, oldest first; each one leaves the
    /// queue once the server holds it, so a cut upload resumes at the next
    /// sync. `progress(done, left, bytes_sent)` follows each blob.
    pub fn upload_pending(
        &self,
        store: &mut Store,
        blobs: &crate::blobs::BlobStore,
        mut progress: impl FnMut(usize, usize, u64),
    ) -> Result<u64, SyncError> {
        let queue = store.pending_uploads()?;
        let mut sent = 0u64;
        for (done, sha) in queue.iter().enumerate() {
            let Ok(id) = crate::blobs::BlobId::parse(sha) else {
                store.upload_done(sha)?;
                continue;
            };
            let outcome = crate::upload::upload_blob(
                &self.client.http,
                &self.server,
                &self.token(),
                blobs,
                &id,
                |_, _| {},
            )?;
            sent += outcome.sent_bytes;
            store.upload_done(sha)?;
            progress(done + 1, queue.len() - done - 1, sent);
        }
        Ok(sent)
    }
}

/// What the server gives an enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub device_id: String,
    pub token: String,
    pub actor: String,
    pub person: String,
    pub team: String,
    /// The inspector's name (servers before names were sent leave it out).
    #[serde(default)]
    pub person_name: Option<String>,
    /// The team's name.
    #[serde(default)]
    pub team_name: Option<String>,
}

impl Enrollment {
    /// Who this tablet edits as: its own actor, acting for its inspector.
    pub fn author(&self) -> Result<fieldloop_core::Author, SyncError> {
        let actor = self
            .actor
            .parse::<fieldloop_core::ActorId>()
            .map_err(|e| SyncError::BadAnswer(format!("actor id: {e}")))?;
        Ok(fieldloop_core::Author::new(
            actor,
            self.person.clone(),
            fieldloop_core::Role::Inspector,
        ))
    }
}

pub use fieldloop_core::enroll::EnrollTarget;

/// Reads `fieldloop://enroll?server=…&code=…` (the server's enrollment QR)
/// or a bare code.
pub fn parse_enroll_text(text: &str) -> Result<EnrollTarget, SyncError> {
    EnrollTarget::parse(text).map_err(|_| SyncError::NotAnEnrollText)
}

/// Exchanges a one-time code for this device's token and actor, and keeps them.
pub fn enroll(
    store: &mut Store,
    server: &str,
    code: &str,
    device_name: &str,
) -> Result<Enrollment, SyncError> {
    enroll_pinned(store, server, code, device_name, &[])
}

/// [`enroll`] with a server that must show one of `pins` (from the
/// enrollment QR code); the tablet keeps them and trusts no other key.
pub fn enroll_pinned(
    store: &mut Store,
    server: &str,
    code: &str,
    device_name: &str,
    pins: &[KeyPin],
) -> Result<Enrollment, SyncError> {
    let server = server.trim().trim_end_matches('/');
    let client = crate::tls::Client::new(server, pins)?;
    let network = |e: reqwest::Error| request_error(&client, server, &e);
    let response = client
        .http
        .post(format!("{server}/api/v1/enroll"))
        .json(&serde_json::json!({ "code": code, "device_name": device_name }))
        .send()
        .map_err(network)?;
    let status = response.status().as_u16();
    let body = response.bytes().map_err(network)?;
    if status != 200 {
        return Err(server_error(status, &body));
    }
    let enrollment: Enrollment =
        serde_json::from_slice(&body).map_err(|e| SyncError::BadAnswer(e.to_string()))?;
    let pins_text = pins
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    // In one transaction: a crash leaves the tablet enrolled or as it was,
    // never with a server and no token, or a token and no identity.
    let mut settings = vec![
        (keys::SERVER, Some(server)),
        (keys::TOKEN, Some(enrollment.token.as_str())),
        (keys::ACTOR, Some(enrollment.actor.as_str())),
        (keys::PERSON, Some(enrollment.person.as_str())),
        (keys::TEAM, Some(enrollment.team.as_str())),
        (keys::DEVICE, Some(enrollment.device_id.as_str())),
        (
            keys::PINS,
            (!pins_text.is_empty()).then_some(pins_text.as_str()),
        ),
    ];
    for (key, value) in [
        (keys::PERSON_NAME, &enrollment.person_name),
        (keys::TEAM_NAME, &enrollment.team_name),
    ] {
        if let Some(value) = value {
            settings.push((key, Some(value.as_str())));
        }
    }
    store.set_settings(&settings)?;
    Ok(enrollment)
}

/// Refusals one sync sets aside before it stops and says so.
pub const MAX_REFUSALS: usize = 20;

/// Edits of one task the server refused during a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedReport {
    pub task: String,
    pub code: ErrorCode,
    pub message: String,
    /// Changes set aside (the refused one and this tablet's later ones).
    pub edits: usize,
}

/// What one sync did, for the status line and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub rounds: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub pushed: usize,
    pub updated: usize,
    pub added: usize,
    /// Tasks whose copy could not be applied and were asked for again whole
    /// (a server that pages correctly never causes one).
    pub repairs: usize,
    /// Edits the server refused and the tablet set aside.
    pub refused: Vec<RefusedReport>,
    /// Evidence blobs uploaded, and those still waiting.
    pub uploaded: usize,
    pub uploads_left: usize,
    pub upload_bytes: u64,
    /// The server sent a new directory (names of departments, teams and inspectors).
    pub directory: bool,
    /// Photos of re-checked findings downloaded (see [`crate::recheck`]).
    pub downloaded: usize,
    /// Time spent on the tablet itself (building requests, decoding and
    /// applying answers, updating the index), in microseconds: the whole
    /// sync less the waits for the server.
    pub tablet_micros: u64,
}

/// Syncs until both sides are quiet: nothing left to push, no more feed.
pub fn sync_now(
    store: &mut Store,
    transport: &dyn Transport,
    now: i64,
    mut progress: impl FnMut(&SyncReport),
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let started = std::time::Instant::now();
    let mut waited = std::time::Duration::ZERO;
    let tablet_time = |report: &mut SyncReport, waited: std::time::Duration| {
        let spent = started.elapsed().saturating_sub(waited);
        report.tablet_micros = u64::try_from(spent.as_micros()).unwrap_or(u64::MAX);
    };
    while report.rounds < MAX_ROUNDS {
        let docs = store.pending_pushes()?;
        report.pushed += docs.len();
        let request = SyncRequest {
            v: PROTOCOL_VERSION,
            cursor: store.sync_cursor()?,
            docs,
            directory: Some(store.directory_version()?),
            rotate: true,
            done: Some(store.feed_done()?),
        };
        let body = wire::encode(&request);
        report.bytes_sent += body.len() as u64;
        let asked = std::time::Instant::now();
        let exchanged = transport.exchange(body);
        waited += asked.elapsed();
        let answer = match exchanged {
            // An edit the server refused is set aside, kept for the
            // inspector to see, and the rest goes on.
            Err(SyncError::Refused {
                code,
                message,
                task,
                change,
            }) if report.refused.len() < MAX_REFUSALS => {
                report.rounds += 1;
                let set_aside = store.set_aside(&task, &change, code, &message, now)?;
                report.refused.push(RefusedReport {
                    task,
                    code,
                    message,
                    edits: set_aside,
                });
                continue;
            }
            other => other?,
        };
        report.bytes_received += answer.len() as u64;
        report.rounds += 1;
        let response: SyncResponse =
            wire::decode(&answer).map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        // Acks refer to this request's pushes.
        let applied = store.apply_sync_response(&request.docs, &response, now)?;
        report.updated += applied.updated;
        report.added += applied.added;
        report.repairs += applied.repairs;
        report.directory |= applied.directory;
        if let Some(token) = &response.token {
            // Kept with the answer; the next request carries it.
            transport.token_rotated(token);
        }
        tablet_time(&mut report, waited);
        progress(&report);
        // A task that stays unusable after several whole copies does not
        // hold up the others; it is reported once everything else is done.
        let stuck = store.stuck_repairs()?;
        let repairing = store.repairs()?.len() > stuck.len();
        if !response.more && store.dirty_tasks()?.is_empty() && !repairing {
            tablet_time(&mut report, waited);
            return if stuck.is_empty() {
                Ok(report)
            } else {
                Err(SyncError::Unrepaired(stuck))
            };
        }
    }
    Err(SyncError::TooManyRounds)
}

/// When the background sync runs next: every `interval_ms` while all is
/// well; after failures, exponentially later (`min_retry_ms` doubling up to
/// `max_retry_ms`), spread by jitter so a squad's tablets coming back into
/// coverage together do not hit the server at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub interval_ms: u64,
    pub min_retry_ms: u64,
    pub max_retry_ms: u64,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            interval_ms: 5 * 60_000,
            min_retry_ms: 5_000,
            max_retry_ms: 15 * 60_000,
        }
    }
}

impl Schedule {
    /// Delay before the next attempt after `failures` consecutive failures
    /// (0: the last sync succeeded). `jitter` in [0, 1) adds up to a quarter.
    pub fn next_delay_ms(&self, failures: u32, jitter: f64) -> u64 {
        let base = if failures == 0 {
            self.interval_ms
        } else {
            let doubled = self
                .min_retry_ms
                .saturating_mul(1u64 << (failures - 1).min(32));
            doubled.min(self.max_retry_ms)
        };
        let jitter = jitter.clamp(0.0, 1.0);
        base + (base as f64 * 0.25 * jitter) as u64
    }
}

/// What the background sync tells the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStatus {
    Syncing(SyncReport),
    Synced {
        report: SyncReport,
        at: i64,
    },
    /// Will retry by itself in `retry_in_ms`.
    Offline {
        code: ErrorCode,
        message: String,
        retry_in_ms: u64,
    },
    /// Needs a person (revoked device, not enrolled, rejected change): no retry until woken.
    NeedsAttention {
        code: ErrorCode,
        message: String,
    },
}

/// Messages to the background sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Sync now (the user asked, or the network came back).
    Now,
    Stop,
}

/// Runs sync in a loop on this thread until [`Wake::Stop`] or the sender is
/// dropped: at once, then on `schedule`, or when woken. `sync` does one
/// [`sync_now`]; `clock` gives the time; `jitter` a number in [0, 1).
pub fn run_background(
    schedule: Schedule,
    wake: &std::sync::mpsc::Receiver<Wake>,
    mut sync: impl FnMut(&mut dyn FnMut(&SyncReport)) -> Result<SyncReport, SyncError>,
    mut clock: impl FnMut() -> i64,
    mut jitter: impl FnMut() -> f64,
    mut status: impl FnMut(SyncStatus),
) {
    let mut failures = 0u32;
    loop {
        let mut progress = |r: &SyncReport| status(SyncStatus::Syncing(r.clone()));
        let outcome = sync(&mut progress);
        let delay = match outcome {
            Ok(report) => {
                failures = 0;
                status(SyncStatus::Synced {
                    report,
                    at: clock(),
                });
                Some(schedule.next_delay_ms(0, jitter()))
            }
            Err(e) if e.is_transient() => {
                failures += 1;
                let retry_in_ms = schedule.next_delay_ms(failures, jitter());
                status(SyncStatus::Offline {
                    code: e.code(),
                    message: e.to_string(),
                    retry_in_ms,
                });
                Some(retry_in_ms)
            }
            Err(e) => {
                status(SyncStatus::NeedsAttention {
                    code: e.code(),
                    message: e.to_string(),
                });
                None
            }
        };
        let next = match delay {
            Some(ms) => wake.recv_timeout(Duration::from_millis(ms)),
            None => wake
                .recv()
                .map_err(|_| std::sync::mpsc::RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(Wake::Now) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Ok(Wake::Stop) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_spreads_it() {
        let s = Schedule {
            interval_ms: 300_000,
            min_retry_ms: 5_000,
            max_retry_ms: 60_000,
        };
        let delays: Vec<u64> = (0..7).map(|f| s.next_delay_ms(f, 0.0)).collect();
        assert_eq!(
            delays,
            [300_000, 5_000, 10_000, 20_000, 40_000, 60_000, 60_000]
        );
        assert_eq!(s.next_delay_ms(1, 0.999_999), 6_249);
        assert_eq!(s.next_delay_ms(u32::MAX, 0.0), 60_000, "no overflow");
    }

    fn offline() -> SyncError {
        SyncError::Network {
            server: "s".into(),
            detail: "down".into(),
        }
    }

    #[test]
    fn the_background_loop_retries_transient_errors_and_waits_for_a_person_on_others() {
        let (tx, rx) = std::sync::mpsc::channel();
        // Two network failures, a success, then a revoked device.
        let mut results = vec![
            Err(offline()),
            Err(offline()),
            Ok(SyncReport {
                rounds: 1,
                ..Default::default()
            }),
            Err(SyncError::Server {
                status: 401,
                code: ErrorCode::AuthRevoked,
                message: "revoked".into(),
            }),
        ]
        .into_iter();
        let statuses = std::cell::RefCell::new(Vec::new());
        let schedule = Schedule {
            interval_ms: 1,
            min_retry_ms: 1,
            max_retry_ms: 4,
        };
        let tx_stop = tx.clone();
        run_background(
            schedule,
            &rx,
            |_| {
                let next = results.next().unwrap_or(Ok(SyncReport::default()));
                if results.len() == 0 {
                    // After the last scripted result, stop once it has been reported.
                    tx_stop.send(Wake::Stop).expect("send");
                }
                next
            },
            || 7,
            || 0.0,
            |s| statuses.borrow_mut().push(s),
        );
        let statuses = statuses.into_inner();
        let kinds: Vec<&str> = statuses
            .iter()
            .map(|s| match s {
                SyncStatus::Syncing(_) => "syncing",
                SyncStatus::Synced { .. } => "synced",
                SyncStatus::Offline { .. } => "offline",
                SyncStatus::NeedsAttention { .. } => "attention",
            })
            .collect();
        assert_eq!(kinds, ["offline", "offline", "synced", "attention"]);
        assert!(matches!(
            &statuses[1],
            SyncStatus::Offline { retry_in_ms: 2, .. }
        ));
        drop(tx);
    }
}
