//! Fieldloop's sync server: merges and stores task documents and blobs,
//! enforces who may change what, and (later) serves the supervisors' console.
//!
//! The router is a function of the [`AppState`] and [`serve`] takes any
//! listener, so tests run the real server on a port-0 socket.

pub mod audit;
pub mod auth;
pub mod blobs;
pub mod claims;
pub mod clock;
pub mod console;
pub mod delta_cache;
#[cfg(feature = "demo")]
pub mod demo;
pub mod doc_cache;
pub mod draws;
pub mod enroll;
pub mod error;
pub mod import;
pub mod leads;
pub mod limits;
pub mod net;
pub mod peer;
pub mod public;
pub mod rectify;
pub mod review;
pub mod store;
pub mod sync;
pub mod tasks;
pub mod tls;
pub mod verify;

use std::future::Future;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::store::Store;

/// Largest sync request body accepted.
pub const MAX_SYNC_BODY: usize = 32 * 1024 * 1024;
/// Largest blob accepted.
pub const MAX_BLOB_BYTES: u64 = 200 * 1024 * 1024;
/// The shortest period of the checkpoint tick, whatever the limits say.
pub const MIN_CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// Every crash point of the server's sync commit and blob upload
/// ([`fieldloop_core::faults::point`]), in the order a write reaches them.
/// docs/design.md ("Crash points") says what each one leaves on disk; the
/// crash-point suite crashes at each of them.
pub const CRASH_POINTS: &[&str] = &[
    "server.enroll.before_commit",
    "server.enroll.after_commit",
    "server.sync.before_commit",
    "server.sync.after_commit",
    "server.token.before_commit",
    "server.token.after_commit",
    "server.checkpoint.before_commit",
    "server.checkpoint.after_commit",
    "server.upload.length_synced",
    "server.upload.created",
    "server.upload.chunk_written",
    "server.upload.chunk_synced",
    "server.upload.verified",
    "server.upload.renamed",
    "server.upload.dir_synced",
    "server.upload.finished",
    "server.upload.owner_before_commit",
    "server.upload.owner_after_commit",
];

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub throttle: Arc<enroll::Throttle>,
    pub blobs: blobs::Blobs,
    pub limits: Arc<limits::Limits>,
    /// Requests in flight per device.
    pub device_slots: Arc<auth::DeviceSlots>,
    /// The console map's base layer.
    pub map: Arc<console::MapConfig>,
    /// The server's clock ([`AppState::now`]); real time unless
    /// `FIELDLOOP_CLOCK_FILE` moves it (test-only, see [`clock`]).
    pub clock: Arc<clock::Clock>,
    /// The printer of 笔录 and notices, loaded on first use
    /// ([`console::PrinterSlot`]).
    pub printer: Arc<console::PrinterSlot>,
    /// The lead endpoints' rate limits and the evidence package's printer.
    pub leads: Arc<leads::LeadsState>,
    /// 亮码检查: per-address limits and the feedback period.
    pub verify: Arc<verify::VerifyState>,
    /// The public checkpoint route's per-address limit.
    pub audit: Arc<audit::AuditState>,
    /// Recent feed deltas and task documents, shared by this instance's syncs.
    pub caches: Arc<sync::Caches>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, blobs: impl Into<blobs::Blobs>) -> Self {
        Self {
            store,
            throttle: Arc::default(),
            blobs: blobs.into(),
            limits: Arc::default(),
            device_slots: Arc::default(),
            map: Arc::default(),
            clock: Arc::new(clock::Clock::from_env()),
            printer: Arc::default(),
            leads: Arc::default(),
            verify: Arc::default(),
            audit: Arc::default(),
            caches: Arc::default(),
        }
    }

    /// The same state with another feedback period (days after the window's
    /// end a verify code still answers; `serve --feedback-days`).
    pub fn with_feedback_days(mut self, days: u32) -> Self {
        self.verify = Arc::new(verify::VerifyState::new(days));
        self
    }

    /// The same state with a printer for the evidence package's `record.pdf`.
    pub fn with_record_printer(mut self, printer: Arc<dyn leads::RecordPrinter>) -> Self {
        self.leads = Arc::new(leads::LeadsState::default().with_printer(printer));
        self
    }

    /// The same state with another printer (e.g. fonts from another folder).
    pub fn with_printer(mut self, printer: console::PrinterSlot) -> Self {
        self.printer = Arc::new(printer);
        self
    }

    /// The same state with another clock.
    pub fn with_clock(mut self, clock: clock::Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The server's time, milliseconds since the epoch: real time, moved by
    /// the test-only offset file if one is configured.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The same state with the console map's base layer.
    pub fn with_map(mut self, map: console::MapConfig) -> Self {
        self.map = Arc::new(map);
        self
    }

    /// The same state with other bounds.
    pub fn with_limits(mut self, limits: limits::Limits) -> Self {
        self.throttle = Arc::new(enroll::Throttle::new(limits.enrollments_per_address));
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

/// Body of `GET /healthz`: whether the server answers, and nothing an
/// attacker could match against a list of vulnerable versions.
#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Headers every answer carries: no MIME sniffing, no referrer sent on,
/// and, unless the handler chose otherwise (static assets, evidence),
/// `Cache-Control: no-store`, since most answers hold a token or a
/// person's data.
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Answers a request turned away by load shedding.
pub(crate) async fn shed(_: tower::BoxError) -> error::ApiError {
    error::ApiError::new(
        error::Code::ServerBusy,
        "服务器繁忙，请稍后重试 (the server is busy; try again shortly)",
    )
}

/// Every route of the server.
///
/// Sync and blob requests pass a gate: at most [`limits::Limits::in_flight`]
/// of them at once (more are answered `503 server.busy` at once rather than
/// queued) and [`limits::Limits::device_in_flight`] per device. Every
/// request's body must arrive within the body timeout and be answered
/// within the request timeout; `/healthz` passes no gate.
pub fn router(state: AppState) -> Router {
    let limits = state.limits.clone();
    let owners: Arc<dyn blobs::BlobOwners> = Arc::new(auth::StoreOwners(state.store.clone()));
    let gate = || {
        tower::ServiceBuilder::new()
            .layer(axum::error_handling::HandleErrorLayer::new(shed))
            .load_shed()
            .concurrency_limit(limits.in_flight)
    };
    let device_gate = axum::middleware::from_fn_with_state(state.clone(), auth::device_gate);
    let blob_routes = blobs::router(state.blobs.clone(), MAX_BLOB_BYTES, owners)
        .route_layer(device_gate.clone())
        .route_layer(gate());
    sync::router()
        .route_layer(device_gate)
        .route_layer(gate())
        .merge(enroll::router())
        .merge(review::router())
        .merge(console::router())
        .merge(leads::router())
        .merge(public::router().route_layer(gate()))
        .merge(verify::router().route_layer(gate()))
        .merge(audit::router().route_layer(gate()))
        .with_state(state)
        .merge(console::pages())
        .merge(blob_routes)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_timeout,
        ))
        .route("/healthz", get(healthz))
        .layer(axum::middleware::map_response(error::json_errors))
        .layer(axum::middleware::map_response(security_headers))
}

/// Serves the router on `listener` until `shutdown` completes, then lets
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, None, shutdown).await
}

/// [`serve`], over HTTPS when given a TLS configuration (see [`tls`]).
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Uploads nobody finished are reclaimed now and then, and the query
    // planner's statistics kept fresh.
    let blobs = state.blobs.clone();
    let store = state.store.clone();
    let sweeper = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let held = store.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || held.refresh_statistics()).await
            {
                tracing::warn!("refreshing the query planner's statistics failed: {e}");
            }
            match blobs.reclaim_stale(blobs::STALE_UPLOAD).await {
                Ok(n) if n > 0 => tracing::info!("reclaimed {n} stale uploads"),
                Err(e) => tracing::warn!("reclaiming stale uploads failed: {e}"),
                _ => {}
            }
        }
    });
    // A checkpoint of the receipt log of anything new since the last one:
    // once before the first request is served (so that it never races a
    // sync's own and the log's head is published at start), then every
    // `checkpoint_interval` (syncs make one after every `checkpoint_every`
    // receipts as well).
    checkpoint_now(state.clone()).await;
    let ticking = state.clone();
    let checkpoints = tokio::spawn(async move {
        let period = ticking
            .limits
            .checkpoint_interval
            .max(MIN_CHECKPOINT_INTERVAL);
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            checkpoint_now(ticking.clone()).await;
        }
    });
    let served = net::serve(listener, state, tls, shutdown).await;
    sweeper.abort();
    checkpoints.abort();
    served
}

/// Signs a checkpoint of the receipt log if anything is new since the
/// last one; a failure is logged (the server goes on).
async fn checkpoint_now(state: AppState) {
    let made = tokio::task::spawn_blocking(move || {
        audit::make_checkpoint(state.store.as_ref(), state.now())
    })
    .await;
    if let Ok(Err(e)) = made {
        tracing::warn!(target: audit::LOG_TARGET, "making a checkpoint failed: {e}");
    }
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
