//! Device tokens: random, shown once, stored only as SHA-256, revocable.
//! [`DeviceAuth`] extracts the calling device from `Authorization: Bearer`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::blobs::{BlobId, BlobOwners, Uploader};
use crate::error::{ApiError, Code};
use crate::store::Device;

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

fn unauthorized(code: Code, message: &str) -> ApiError {
    ApiError::new(code, message)
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
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                unauthorized(
                    Code::AuthMissing,
                    "缺少设备令牌，请先注册设备 (no device token: enroll this device first)",
                )
            })?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            unauthorized(
                Code::AuthMalformed,
                "令牌格式应为 Bearer (use `Authorization: Bearer <token>`)",
            )
        })?;
        let hash = secret_hash(token);
        let store = state.store.clone();
        let device = tokio::task::spawn_blocking(move || store.device_by_token(&hash)).await??;
        match device {
            None => Err(unauthorized(
                Code::AuthBadToken,
                "设备令牌无效，请重新注册 (unknown device token: enroll again)",
            )),
            Some(d) if d.revoked => Err(unauthorized(
                Code::AuthRevoked,
                "此设备已被停用，请联系管理员 (this device was revoked; ask your administrator)",
            )),
            Some(d) if !d.active => Err(ApiError::new(
                Code::AuthInactive,
                "此设备的执法人员已停用，请联系管理员 (this device's inspector was deactivated; ask your administrator)",
            )),
            Some(d) => Ok(Self(d)),
        }
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
    DeviceAuth(device): DeviceAuth,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
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
