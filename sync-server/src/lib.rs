//! Fieldloop's sync server: merges and stores task documents and blobs,
//! enforces who may change what, and (later) serves the supervisors' console.
//!
//! The router is a function of the [`AppState`] and [`serve`] takes any
//! listener, so tests run the real server on a port-0 socket.

pub mod audit;
pub mod auth;
pub mod blobs;
pub mod demo;
pub mod enroll;
pub mod error;
pub mod import;
pub mod limits;
pub mod review;
pub mod store;
pub mod sync;
pub mod tasks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::store::Store;

/// Largest sync request body accepted.
pub const MAX_SYNC_BODY: usize = 32 * 1024 * 1024;
/// Largest blob accepted.
pub const MAX_BLOB_BYTES: u64 = 200 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub throttle: Arc<enroll::Throttle>,
    pub blobs: Arc<blobs::BlobDir>,
    /// Held while a request reads, merges and writes task documents, so
    /// that two writers never overwrite each other's merge.
    pub writes: Arc<std::sync::Mutex<()>>,
    pub limits: Arc<limits::Limits>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, blobs: blobs::BlobDir) -> Self {
        Self {
            store,
            throttle: Arc::default(),
            blobs: Arc::new(blobs),
            writes: Arc::default(),
            limits: Arc::default(),
        }
    }

    /// The same state with other bounds.
    pub fn with_limits(mut self, limits: limits::Limits) -> Self {
        self.limits = Arc::new(limits);
        self
    }
}

/// The server's clock, milliseconds since the epoch.
pub fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Body of `GET /healthz`.
#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let owners: Arc<dyn blobs::BlobOwners> = Arc::new(auth::StoreOwners(state.store.clone()));
    let blob_routes = blobs::router(state.blobs.clone(), MAX_BLOB_BYTES, owners).route_layer(
        axum::middleware::from_fn_with_state(state.clone(), auth::uploader),
    );
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/enroll", post(enroll::enroll))
        .route(
            "/api/v1/sync",
            post(sync::sync).layer(DefaultBodyLimit::max(MAX_SYNC_BODY)),
        )
        .route("/api/v1/tasks/{id}/review", post(review::review))
        .with_state(state)
        .merge(blob_routes)
        .layer(axum::middleware::map_response(error::json_errors))
}

/// Serves the router on `listener` until `shutdown` completes, then lets
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    fn state(dir: &std::path::Path) -> super::AppState {
        let store = crate::store::sqlite::SqliteStore::open(dir).expect("store");
        let blobs = crate::blobs::BlobDir::open(dir.join("blobs")).expect("blobs");
        super::AppState::new(Arc::new(store), blobs)
    }

    #[tokio::test]
    async fn healthz_answers_ok() {
        let dir = tempfile::tempdir().expect("tempdir");
        let response = super::router(state(dir.path()))
            .oneshot(
                Request::get("/healthz")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["status"], "ok");
    }

    #[tokio::test]
    async fn sync_without_a_token_is_401_with_a_code() {
        let dir = tempfile::tempdir().expect("tempdir");
        let response = super::router(state(dir.path()))
            .oneshot(
                Request::post("/api/v1/sync")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["code"], "auth.missing");
    }
}
