//! Enrollment: an administrator issues a one-time code for an inspector
//! (shown as text and as a QR code); the tablet exchanges it for its device
//! token and its own Automerge actor id. Codes expire, are used once, and
//! failed attempts are rate-limited per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::auth::{random_hex, secret_hash};
use crate::error::{ApiError, Code};
use crate::store::Store;
use crate::{AppState, now_ms};

/// Letters and digits that cannot be misread for each other.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 10;
/// Failed attempts allowed per client address and minute.
const MAX_FAILURES_PER_MINUTE: u32 = 10;

/// Creates a one-time code for `inspector`, valid for `ttl_ms`.
pub fn issue_code(
    store: &dyn Store,
    inspector: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<String, crate::store::StoreError> {
    let mut rng = rand::rng();
    let code: String = (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    store.create_enrollment(&secret_hash(&normalise(&code)), inspector, now + ttl_ms)?;
    Ok(code)
}

/// Codes are typed by hand: ignore case, spaces and dashes.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What the enrollment QR code holds.
pub fn enrollment_uri(server: &str, code: &str) -> String {
    format!("fieldloop://enroll?server={server}&code={code}")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub code: String,
    pub device_name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    /// Shown once; the server keeps only its hash.
    pub token: String,
    /// The Automerge actor id (hex) this device must use.
    pub actor: String,
    pub person: String,
    pub team: String,
}

/// Failed attempts per client address in the current minute.
#[derive(Debug, Default)]
pub struct Throttle(Mutex<HashMap<IpAddr, (i64, u32)>>);

impl Throttle {
    fn blocked(&self, ip: IpAddr, now: i64) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&ip)
            .is_some_and(|(minute, n)| *minute == now / 60_000 && *n >= MAX_FAILURES_PER_MINUTE)
    }

    fn fail(&self, ip: IpAddr, now: i64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(ip).or_insert((now / 60_000, 0));
        if entry.0 != now / 60_000 {
            *entry = (now / 60_000, 0);
        }
        entry.1 += 1;
    }
}

pub async fn enroll(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(request): Json<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ApiError> {
    let now = now_ms();
    if state.throttle.blocked(peer.ip(), now) {
        return Err(ApiError::new(
            Code::EnrollRateLimited,
            "尝试次数过多，请一分钟后再试 (too many attempts; wait a minute)",
        ));
    }
    let name = request
        .device_name
        .trim()
        .chars()
        .take(80)
        .collect::<String>();
    let code_hash = secret_hash(&normalise(&request.code));
    let token = random_hex(32);
    let token_hash = secret_hash(&token);
    let device_id = format!("D-{}", &random_hex(8));
    let actor = random_hex(16);
    let store = state.store.clone();
    let (id, actor_for_store) = (device_id.clone(), actor.clone());
    let result = tokio::task::spawn_blocking(move || {
        store.redeem_enrollment(&code_hash, now, &id, &token_hash, &actor_for_store, &name)
    })
    .await?;
    match result {
        Ok(device) => Ok(Json(EnrollResponse {
            device_id,
            token,
            actor,
            person: device.person,
            team: device.team,
        })),
        Err(e) => {
            state.throttle.fail(peer.ip(), now);
            Err(e.into())
        }
    }
}
