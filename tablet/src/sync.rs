//! The tablet's sync client: enrollment, and the exchange loop that pushes
//! local changes and pulls what the server has, until both sides are quiet.
//!
//! The network is behind [`Transport`] (HTTP here; an in-process network in
//! simulations). Every answer is applied in one store transaction before the
//! next request, so a sync cut at any point (app killed, network gone)
//! resumes where it stopped, and a lost or repeated exchange is harmless.

use std::time::Duration;

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
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "无法连接服务器 {server}：{detail}（请检查网络，稍后会自动重试）(cannot reach the server)"
    )]
    Network { server: String, detail: String },
    #[error("{message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    #[error("服务器的答复无法读取：{0}（请更新应用）(unreadable answer from the server)")]
    BadAnswer(String),
    #[error("本设备尚未注册，请先扫描注册二维码 (this tablet is not enrolled yet)")]
    NotEnrolled,
    #[error("同步轮次过多，稍后将继续 (too many sync rounds; will continue later)")]
    TooManyRounds,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    pub fn code(&self) -> &str {
        match self {
            Self::Network { .. } => "sync.network",
            Self::Server { code, .. } => code,
            Self::BadAnswer(_) => "sync.bad_answer",
            Self::NotEnrolled => "sync.not_enrolled",
            Self::TooManyRounds => "sync.too_many_rounds",
            Self::Store(e) => e.code(),
        }
    }

    /// Worth retrying later without anyone doing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Network { .. } | Self::TooManyRounds)
            || matches!(self, Self::Server { status, .. } if *status >= 500)
    }
}

/// Carries one sync request to the server and back.
pub trait Transport {
    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, SyncError>;
}

/// `{code, message}` of an error answer.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

fn server_error(status: u16, body: &[u8]) -> SyncError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => SyncError::Server {
            status,
            code: e.code,
            message: e.message,
        },
        Err(_) => SyncError::Server {
            status,
            code: "sync.http".into(),
            message: format!("服务器返回错误 {status} (the server answered {status})"),
        },
    }
}

/// HTTP transport with the device's token.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::blocking::Client,
    server: String,
    token: String,
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_default()
}

impl HttpTransport {
    pub fn new(server: &str, token: &str) -> Self {
        Self {
            client: client(),
            server: server.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    /// The transport of the enrolled device.
    pub fn from_store(store: &Store) -> Result<Self, SyncError> {
        match (store.setting(keys::SERVER)?, store.setting(keys::TOKEN)?) {
            (Some(server), Some(token)) => Ok(Self::new(&server, &token)),
            _ => Err(SyncError::NotEnrolled),
        }
    }
}

impl Transport for HttpTransport {
    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let network = |e: reqwest::Error| SyncError::Network {
            server: self.server.clone(),
            detail: e.to_string(),
        };
        let response = self
            .client
            .post(format!("{}/api/v1/sync", self.server))
            .bearer_auth(&self.token)
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

/// What the server gives an enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub device_id: String,
    pub token: String,
    pub actor: String,
    pub person: String,
    pub team: String,
}

/// Exchanges a one-time code for this device's token and actor, and keeps them.
pub fn enroll(
    store: &mut Store,
    server: &str,
    code: &str,
    device_name: &str,
) -> Result<Enrollment, SyncError> {
    let server = server.trim().trim_end_matches('/');
    let network = |e: reqwest::Error| SyncError::Network {
        server: server.to_owned(),
        detail: e.to_string(),
    };
    let response = client()
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
    for (key, value) in [
        (keys::SERVER, server),
        (keys::TOKEN, &enrollment.token),
        (keys::ACTOR, &enrollment.actor),
        (keys::PERSON, &enrollment.person),
        (keys::TEAM, &enrollment.team),
        (keys::DEVICE, &enrollment.device_id),
    ] {
        store.set_setting(key, value)?;
    }
    Ok(enrollment)
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
}

/// Syncs until both sides are quiet: nothing left to push, no more feed.
pub fn sync_now(
    store: &mut Store,
    transport: &dyn Transport,
    now: i64,
    mut progress: impl FnMut(&SyncReport),
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    while report.rounds < MAX_ROUNDS {
        let docs = store.pending_pushes()?;
        report.pushed += docs.len();
        let request = wire::encode(&SyncRequest {
            v: PROTOCOL_VERSION,
            cursor: store.sync_cursor()?,
            docs,
        });
        report.bytes_sent += request.len() as u64;
        let answer = transport.exchange(request)?;
        report.bytes_received += answer.len() as u64;
        report.rounds += 1;
        let response: SyncResponse =
            wire::decode(&answer).map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        let applied = store.apply_sync_response(&response, now)?;
        report.updated += applied.updated;
        report.added += applied.added;
        progress(&report);
        if !response.more && store.dirty_tasks()?.is_empty() {
            return Ok(report);
        }
    }
    Err(SyncError::TooManyRounds)
}
