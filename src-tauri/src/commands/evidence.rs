//! Evidence files: photos and signatures in (raw bytes), blobs out.

use fieldloop_core::ErrorCode;
use fieldloop_core::{GeoPoint, SignerRole};
use fieldloop_tablet::background::now_ms;
use fieldloop_tablet::inspect::TaskView;
use tauri::State;
use tauri::ipc::{Request, Response};

use super::{header, raw_body, required_header};
use crate::{AppStore, CommandError};

/// A photo: the file's bytes as the body; headers `x-task`, optional
/// `x-item`, and `x-lat`/`x-lon` when the tablet knows where it is.
#[tauri::command]
pub async fn add_photo(
    store: State<'_, AppStore>,
    request: Request<'_>,
) -> Result<TaskView, CommandError> {
    let task = required_header(&request, "x-task")?;
    let item = header(&request, "x-item")?;
    let location = match (header(&request, "x-lat")?, header(&request, "x-lon")?) {
        (Some(lat), Some(lon)) => lat
            .parse()
            .ok()
            .zip(lon.parse().ok())
            .map(|(lat, lon)| GeoPoint { lat, lon }),
        _ => None,
    };
    let bytes = raw_body(&request)?.to_vec();
    store
        .run(move |t| t.add_photo(&task, now_ms(), item.as_deref(), &bytes, location))
        .await
}

/// A signature: the PNG as the body; headers `x-task`, `x-role`
/// (`inspector` or `enterprise`) and `x-signer`.
#[tauri::command]
pub async fn sign(
    store: State<'_, AppStore>,
    request: Request<'_>,
) -> Result<TaskView, CommandError> {
    let task = required_header(&request, "x-task")?;
    let role = match required_header(&request, "x-role")?.as_str() {
        "inspector" => SignerRole::Inspector,
        "enterprise" => SignerRole::Enterprise,
        other => {
            return Err(CommandError::new(
                ErrorCode::AppBadRequest,
                format!("unknown signer role {other}"),
            ));
        }
    };
    let signer = required_header(&request, "x-signer")?;
    let png = raw_body(&request)?.to_vec();
    store
        .run(move |t| t.sign(&task, now_ms(), role, &signer, &png))
        .await
}

/// The bytes of a thumbnail, display copy or signature image.
#[tauri::command]
pub async fn blob(store: State<'_, AppStore>, sha256: String) -> Result<Response, CommandError> {
    store.run(move |t| t.blob(&sha256)).await.map(Response::new)
}
