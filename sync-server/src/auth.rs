//! Device tokens: random, shown once, stored only as SHA-256, revocable.
//! [`DeviceAuth`] extracts the calling device from `Authorization: Bearer`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::blobs::{BlobId, BlobOwners, Uploader};
use crate::error::{ApiError, Code};
use crate::peer::ClientAddr;
use crate::store::{Device, TokenUse};

/// A fresh random secret (token or enrollment code material), hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// How a secret is stored.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

/// The device making the request.
#[derive(Debug, Clone)]
pub struct DeviceAuth(pub Device);

/// The token the request presented: its hash and how it stands (put in the
/// request's extensions by [`device_gate`], for the sync answer that may
/// replace it).
#[derive(Debug, Clone)]
pub struct Presented {
    pub hash: String,
    pub usage: TokenUse,
}

fn unauthorized(code: Code, message: &str) -> ApiError {
    ApiError::new(code, message)
}

/// Logs a refused device credential: the code, the address, and the device
/// when the token named one; never the token.
fn refused(code: Code, device: Option<&str>, addr: ClientAddr) {
    tracing::warn!(
        target: "fieldloop::auth",
        code = code.as_str(),
        device = device.unwrap_or("-"),
        %addr,
        "device credential refused"
    );
}

/// Authenticates the `Authorization: Bearer` token of a request at `now`.
pub async fn authenticate(
    parts: &mut Parts,
    state: &AppState,
    now: i64,
) -> Result<(Device, Presented), ApiError> {
    let addr = ClientAddr::from_request_parts(parts, state)
        .await
        .unwrap_or(ClientAddr(None));
    let fail = |code: Code, device: Option<&str>, message: &str| {
        refused(code, device, addr);
        unauthorized(code, message)
    };
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            fail(
                Code::AuthMissing,
                None,
                "缺少设备令牌，请先注册设备 (no device token: enroll this device first)",
            )
        })?;
    let token = header.strip_prefix("Bearer ").ok_or_else(|| {
        fail(
            Code::AuthMalformed,
            None,
            "令牌格式应为 Bearer (use `Authorization: Bearer <token>`)",
        )
    })?;
    // The store finds the token by its SHA-256 on a unique index: what a
    // caller could learn from timing is how many leading bytes of a hash it
    // cannot choose match, which tells nothing about any token.
    let hash = secret_hash(token);
    let store = state.store.clone();
    let lookup = hash.clone();
    let found = tokio::task::spawn_blocking(move || store.device_by_token(&lookup)).await??;
    let Some((device, usage)) = found else {
        return Err(fail(
            Code::AuthBadToken,
            None,
            "设备令牌无效，请重新注册 (unknown device token: enroll again)",
        ));
    };
    let lifetime = i64::try_from(state.limits.token_lifetime.as_millis()).unwrap_or(i64::MAX);
    // A revoked device hears so whatever its token's age: it erases itself.
    if device.revoked {
        return Err(fail(
            Code::AuthRevoked,
            Some(&device.id),
            "此设备已被停用，请联系管理员 (this device was revoked; ask your administrator)",
        ));
    }
    // Tablets' tokens expire and are replaced on sync; a supervisor's
    // review-API credential (for scripts, which do not sync) lasts until
    // it is revoked.
    let expired = match usage.previous_until {
        Some(until) => now > until,
        None => {
            device.role == fieldloop_core::Role::Inspector
                && now.saturating_sub(usage.issued_at) > lifetime
        }
    };
    if expired {
        return Err(fail(
            Code::AuthExpired,
            Some(&device.id),
            "设备令牌已过期，请重新注册本设备 (this tablet's token expired: enroll it again)",
        ));
    }
    if !device.active {
        refused(Code::AuthInactive, Some(&device.id), addr);
        return Err(ApiError::new(
            Code::AuthInactive,
            "此设备的执法人员已停用，请联系管理员 (this device's inspector was deactivated; ask your administrator)",
        ));
    }
    Ok((device, Presented { hash, usage }))
}

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Already authenticated by the device gate.
        if let Some(device) = parts.extensions.get::<Device>() {
            return Ok(Self(device.clone()));
        }
        let (device, presented) = authenticate(parts, state, crate::now_ms()).await?;
        parts.extensions.insert(presented);
        Ok(Self(device))
    }
}

/// The requests each device has in flight.
#[derive(Debug, Default)]
pub struct DeviceSlots(
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Semaphore>>>,
);

impl DeviceSlots {
    /// A slot for one more request of `device`, if it has fewer than `max` in flight.
    fn take(&self, device: &str, max: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let semaphore = {
            let mut slots = self.0.lock().unwrap_or_else(|p| p.into_inner());
            slots
                .entry(device.to_owned())
                .or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(max)))
                .clone()
        };
        semaphore.try_acquire_owned().ok()
    }
}

/// The gate of the device routes: authenticates the device, holds one of
/// its in-flight slots for the whole request (`503 server.busy` when it has
/// none left), and puts the device (and, for the blob routes, the
/// [`Uploader`]) in the request's extensions.
pub async fn device_gate(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (mut parts, body) = request.into_parts();
    let device = match authenticate(&mut parts, &state, crate::now_ms()).await {
        Ok((device, presented)) => {
            parts.extensions.insert(presented);
            device
        }
        Err(e) => return e.into_response(),
    };
    let mut request = axum::extract::Request::from_parts(parts, body);
    let Some(_slot) = state
        .device_slots
        .take(&device.id, state.limits.device_in_flight)
    else {
        return ApiError::new(
            Code::ServerBusy,
            "本设备同时发出的请求过多，请稍后重试 (this device has too many requests in flight; try again shortly)",
        )
        .into_response();
    };
    request.extensions_mut().insert(Uploader {
        device: device.id.clone(),
        team: device.team.clone(),
    });
    request.extensions_mut().insert(device);
    next.run(request).await
}

/// Blob ownership kept in the server's store.
#[derive(Clone)]
pub struct StoreOwners(pub std::sync::Arc<dyn crate::store::Store>);

impl std::fmt::Debug for StoreOwners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreOwners")
    }
}

impl BlobOwners for StoreOwners {
    fn visible(&self, who: &Uploader, id: &BlobId) -> std::io::Result<bool> {
        self.0
            .blob_visible(&who.team, &id.to_hex())
            .map_err(std::io::Error::other)
    }

    fn record(&self, who: &Uploader, id: &BlobId) -> std::io::Result<()> {
        self.0
            .record_blob_owner(&id.to_hex(), &who.team, &who.device, crate::now_ms())
            .map_err(std::io::Error::other)
    }
}
