//! Connections: the accept loop and its bounds, so that one client holding
//! sockets open cannot take the server from everyone else.
//!
//! - At most [`Limits::connections`] connections at once; one more is
//!   closed as soon as it is accepted (and the process's open-file limit is
//!   raised to its hard limit at start, the cap kept below it).
//! - Request headers must arrive within [`Limits::header_timeout`], which
//!   also closes a kept-alive connection that stays idle that long (a client
//!   trickling headers a byte at a time is cut off).
//! - Bodies must arrive within [`Limits::body_timeout`] and a request is
//!   answered within [`Limits::request_timeout`] (`408`), see
//!   [`crate::router`].
//! - An accept that fails for lack of file descriptors waits a moment
//!   instead of spinning.
//! - With TLS, the handshake must end within [`Limits::header_timeout`]
//!   too, and runs on the connection's own task (a slow handshake holds up
//!   nobody else).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::AppState;
use crate::limits::Limits;

/// File descriptors kept free for the database, blobs and logs.
const SPARE_FILES: u64 = 64;
/// How long in-flight requests may finish after a shutdown was asked for.
const DRAIN: Duration = Duration::from_secs(20);

/// The connection cap to use: `limits.connections`, below the open-file
/// limit (raised to its hard limit first).
pub fn connection_cap(limits: &Limits) -> usize {
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let room = usize::try_from(files.saturating_sub(SPARE_FILES)).unwrap_or(usize::MAX);
    limits.connections.min(room.max(16))
}

/// Serves the router on `listener` until `shutdown` completes, then lets
/// requests in flight finish (for at most 20 seconds). With `tls`, every
/// connection is HTTPS.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let limits = state.limits.clone();
    let app = crate::router(state);
    let cap = connection_cap(&limits);
    let slots = Arc::new(Semaphore::new(cap));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before
                    // it was accepted): wait instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, cap, "connection refused: at the connection cap");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        );
        let service = TowerToHyperService::new(service);
        match &tls {
            None => {
                let connection =
                    graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(%peer, "connection ended: {e}");
                    }
                    drop(slot);
                });
            }
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                let (http, watcher) = (http.clone(), graceful.watcher());
                let deadline = limits.header_timeout;
                tokio::spawn(async move {
                    let stream = match tokio::time::timeout(deadline, handshake).await {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::info!(%peer, "TLS handshake failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::info!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let connection =
                        watcher.watch(http.serve_connection(TokioIo::new(stream), service));
                    if let Err(e) = connection.await {
                        tracing::debug!(%peer, "connection ended: {e}");
                    }
                    drop(slot);
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => tracing::warn!("requests still running at shutdown were cut"),
    }
    Ok(())
}
