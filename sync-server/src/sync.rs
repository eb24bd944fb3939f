//! `POST /api/v1/sync`: apply what a tablet sends, answer what it lacks.
//!
//! Stateless per request (see `fieldloop_core::sync`): every answer is
//! computed from the request and the stored documents, so a lost, repeated
//! or duplicated request or answer never corrupts anything. A batch is
//! checked whole before anything is written: one rejected change rejects
//! the batch, and nothing changes. A push the server ends up holding
//! exactly as pushed is answered by its index in `acks` alone.

use std::collections::HashSet;

use automerge::{AutoCommit, ChangeHash, ROOT, ReadDoc};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldloop_core::sync::{self as wire, DocPull, SyncRequest, SyncResponse};
use fieldloop_core::task::ActorInfo;
use fieldloop_core::{Event, Role, Status, Task, status};
use serde_bytes::ByteBuf;

use crate::auth::DeviceAuth;
use crate::error::ApiError;
use crate::limits::Limits;
use crate::store::{Device, Store, TaskDelta, TaskSince, TaskWrite};
use crate::{AppState, now_ms};

/// Documents one request may push.
pub use fieldloop_core::sync::MAX_PUSH_DOCS;

pub async fn sync(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != wire::CONTENT_TYPE {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "sync.content_type",
            format!(
                "请求体应为 {} (the body must be {})",
                wire::CONTENT_TYPE,
                wire::CONTENT_TYPE
            ),
        ));
    }
    let request = wire::decode_request(&body)?;
    let store = state.store.clone();
    let writes = state.writes.clone();
    let limits = state.limits.clone();
    let response = tokio::task::spawn_blocking(move || {
        run(
            store.as_ref(),
            &device,
            &request,
            now_ms(),
            &writes,
            &limits,
        )
    })
    .await??;
    Ok((
        [(header::CONTENT_TYPE, wire::CONTENT_TYPE)],
        wire::encode(&response),
    )
        .into_response())
}

fn load(bytes: &[u8]) -> Result<AutoCommit, ApiError> {
    AutoCommit::load(bytes).map_err(ApiError::internal)
}

fn events(doc: &AutoCommit) -> Result<Vec<Event>, ApiError> {
    autosurgeon::hydrate_prop(doc, ROOT, "events").map_err(ApiError::internal)
}

/// Checks the changes `merged` adds to `before`, all made by `device`.
fn authorize(
    device: &Device,
    before: &AutoCommit,
    merged: &mut AutoCommit,
) -> Result<Vec<ChangeHash>, ApiError> {
    let mut before = before.clone();
    // Changes in `merged` that `before` lacks.
    let added = before.get_changes_added(merged);
    if added.is_empty() {
        // A resend of what the server already has (a lost or stale answer): nothing to check.
        return Ok(Vec::new());
    }
    for change in &added {
        if change.actor_id().to_hex_string() != device.actor {
            return Err(ApiError::forbidden(
                "sync.actor_mismatch",
                "变更不是由本设备作出的，整批已拒绝 (a change was not made by this device; the batch was rejected)",
            ));
        }
    }
    let task: Task = autosurgeon::hydrate(&*merged).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "sync.invalid_task",
            format!("变更后的任务格式无效 (the task would be invalid): {e}"),
        )
    })?;
    if device.role == Role::Inspector && !task.inspectors.contains(&device.person) {
        return Err(ApiError::forbidden(
            "sync.not_on_task",
            format!(
                "{} 不是该任务的执法人员 ({} is not an inspector of this task)",
                device.person, device.person
            ),
        ));
    }
    // The device may register only itself, as who it is.
    let registered: Option<&ActorInfo> = task.actors.get(&device.actor);
    let prior: std::collections::BTreeMap<String, ActorInfo> =
        autosurgeon::hydrate_prop(&before, ROOT, "actors").map_err(ApiError::internal)?;
    let others_unchanged = task
        .actors
        .iter()
        .filter(|(k, _)| **k != device.actor)
        .all(|(k, v)| prior.get(k) == Some(v));
    if registered.is_some_and(|a| a.person != device.person || a.role != device.role)
        || !others_unchanged
    {
        return Err(ApiError::forbidden(
            "sync.actor_mismatch",
            "设备登记信息被篡改 (the device registry of the task was tampered with)",
        ));
    }
    // Every new event must be the device's own and allowed for its role.
    let mut old = events(&before)?;
    for event in events(merged)? {
        if let Some(i) = old.iter().position(|e| *e == event) {
            old.swap_remove(i);
            continue;
        }
        if event.by != device.person
            || event.role != device.role
            || !status::role_may_record(device.role, event.kind)
        {
            return Err(ApiError::forbidden(
                "sync.event_not_allowed",
                format!(
                    "本设备无权记录“{:?}”事件 (this device may not record a {:?} event)",
                    event.kind, event.kind
                ),
            ));
        }
    }
    // Submitted means frozen: an inspector's change made on top of a
    // submitted (approved, published, cancelled) task is refused; one made
    // concurrently with the submission is kept.
    if device.role == Role::Inspector {
        for change in &added {
            let at_deps = merged.fork_at(change.deps()).map_err(ApiError::internal)?;
            let task_events = events(&at_deps)?;
            let inspectors: Vec<String> = autosurgeon::hydrate_prop(&at_deps, ROOT, "inspectors")
                .map_err(ApiError::internal)?;
            let frozen = status::fold(&task_events, &inspectors).status.filter(|s| {
                matches!(
                    s,
                    Status::Submitted | Status::Approved | Status::Published | Status::Cancelled
                )
            });
            if let Some(s) = frozen {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "sync.frozen",
                    format!(
                        "任务已{s}，不能再修改；请等待退回 (the task was {s} when this change was made; it cannot be edited unless returned)"
                    ),
                ));
            }
        }
    }
    Ok(added.iter().map(|c| c.hash()).collect())
}

/// One sync exchange for `device`. `writes` serialises the read-merge-write
/// of pushed documents between requests; answering from the feed needs no lock.
pub fn run(
    store: &dyn Store,
    device: &Device,
    request: &SyncRequest,
    now: i64,
    writes: &std::sync::Mutex<()>,
    limits: &Limits,
) -> Result<SyncResponse, ApiError> {
    if request.docs.len() > MAX_PUSH_DOCS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "sync.too_many_docs",
            format!(
                "一次最多同步 {MAX_PUSH_DOCS} 个任务 (at most {MAX_PUSH_DOCS} documents per request)"
            ),
        ));
    }
    // Read the feed's end first: anything committed later is sent again next time, never skipped.
    let feed_end = store.feed_end()?;
    // Any push is answered under the write lock, so that no other device's
    // commit can fall between reading a pushed document and `answered_up_to`.
    let _guard =
        (!request.docs.is_empty()).then(|| writes.lock().unwrap_or_else(|p| p.into_inner()));
    let mut writes = Vec::new();
    let mut pulls = Vec::new();
    let mut acks = Vec::new();
    let mut pushed = HashSet::new();
    for (index, push) in request.docs.iter().enumerate() {
        if !pushed.insert(push.id.clone()) {
            return Err(ApiError::bad_request(
                "sync.duplicate_doc",
                format!("任务 {} 出现了两次 (document sent twice)", push.id),
            ));
        }
        let stored = store
            .task(&push.id)?
            .filter(|t| t.team == device.team)
            .ok_or_else(|| {
                ApiError::forbidden(
                    "sync.forbidden",
                    format!("无权访问任务 {} (no access to task {})", push.id, push.id),
                )
            })?;
        let tablet_heads = wire::heads_from_wire(&push.heads)?;
        let mut doc = load(&stored.doc)?;
        let mut resend = false;
        if !push.changes.is_empty() {
            let bad_changes = |e: &dyn std::fmt::Display| {
                ApiError::bad_request(
                    "sync.bad_changes",
                    format!(
                        "无法读取任务 {} 的变更 (cannot read the changes): {e}",
                        push.id
                    ),
                )
            };
            wire::check_changes(&push.changes).map_err(|e| bad_changes(&e))?;
            let mut merged = doc.clone();
            merged.load_incremental(&push.changes).map_err(|e| {
                ApiError::bad_request(
                    "sync.bad_changes",
                    format!(
                        "无法读取任务 {} 的变更 (cannot read the changes): {e}",
                        push.id
                    ),
                )
            })?;
            if merged.get_missing_deps(&[]).is_empty() {
                let new = authorize(device, &doc, &mut merged)?;
                if !new.is_empty() {
                    writes.push(TaskWrite {
                        id: push.id.clone(),
                        team: stored.team.clone(),
                        doc: merged.save(),
                        heads: merged.get_heads(),
                        new_changes: new,
                        // Exactly what the stored document lacks: it is `doc`.
                        added: Some(merged.save_after(&doc.get_heads())),
                    });
                }
                doc = merged;
            } else {
                // The server lacks what the tablet assumed it has (restored
                // from a backup?): apply nothing, ask for everything.
                resend = true;
            }
        }
        let server_heads = doc.get_heads();
        if !resend && same_heads(&server_heads, &tablet_heads) {
            // The server holds exactly what the tablet has: nothing to send back.
            acks.push(u32::try_from(index).unwrap_or(u32::MAX));
            continue;
        }
        // The tablet has everything up to its heads; if the server lacks
        // one of them (it applied nothing, or was restored from a backup),
        // what the tablet has cannot be told apart: send the whole document.
        let has_tablet_heads = tablet_heads
            .iter()
            .all(|h| doc.get_change_by_hash(h).is_some());
        let (changes, full) = if has_tablet_heads && !resend {
            (doc.save_after(&tablet_heads), false)
        } else {
            (doc.save(), true)
        };
        pulls.push(DocPull {
            id: push.id.clone(),
            heads: wire::heads_to_wire(&server_heads),
            changes: ByteBuf::from(changes),
            full,
            resend,
        });
    }
    // Durable before the answer acknowledges anything.
    store.commit_sync(&writes, &device.id, now)?;
    // The pushed documents' answers hold every feed entry up to here; a
    // later commit to one of them (another device, once the lock is gone)
    // is sent below like any other change.
    let answered_up_to = store.feed_end()?;
    drop(_guard);

    let page = feed_page(
        store,
        &device.team,
        request.cursor,
        feed_end,
        &pushed,
        answered_up_to,
        limits,
    )?;
    pulls.extend(page.pulls);
    let ack_hash = if acks.is_empty() {
        None
    } else {
        wire::ack_hash(&request.docs, &acks).map(|h| ByteBuf::from(h.to_vec()))
    };
    Ok(SyncResponse {
        cursor: page.cursor,
        more: page.more,
        acks,
        ack_hash,
        docs: pulls,
    })
}

/// One answer's share of the feed.
#[derive(Debug)]
struct FeedPage {
    pulls: Vec<DocPull>,
    /// The cursor to hand back: the device holds every feed entry up to it.
    cursor: u64,
    more: bool,
}

/// The tasks of `team` changed after `cursor`, each sent with everything
/// it gained after `cursor`, at most a page of them, and the cursor the
/// device may move to.
///
/// The cursor must never pass a feed entry of a task the device was not
/// sent: the next answer would treat the task as held up to there and send
/// only what came later, which the device cannot apply. So tasks come in
/// the order of their *first* entry after `cursor`, each whole (everything
/// after `cursor`), and a page that stops early ends just before the first
/// entry of the first task it left out. Every entry up to that point
/// belongs to a task the page carried in full. A page that holds everything
/// ends at `feed_end`, read before the tasks were: an entry committed later
/// is sent again next time, never skipped.
///
/// Pushed documents were answered under the write lock with everything up
/// to `answered_up_to`; they are left out unless they changed after it.
fn feed_page(
    store: &dyn Store,
    team: &str,
    cursor: u64,
    feed_end: u64,
    pushed: &HashSet<String>,
    answered_up_to: u64,
    limits: &Limits,
) -> Result<FeedPage, ApiError> {
    // A cursor beyond the feed's end (the server was restored from an
    // older backup) is brought back to it, never echoed.
    let cursor = cursor.min(feed_end);
    let changed = store.changed_since(team, cursor, limits.feed_page_docs + pushed.len() + 1)?;
    let mut pulls = Vec::new();
    let mut bytes = 0usize;
    for task in changed {
        if pushed.contains(&task.id) && task.last <= answered_up_to {
            continue;
        }
        let page_full = pulls.len() >= limits.feed_page_docs
            || (bytes >= limits.feed_page_bytes && !pulls.is_empty());
        if page_full {
            return Ok(FeedPage {
                pulls,
                cursor: task.first - 1,
                more: true,
            });
        }
        // Tasks are never deleted: a feed entry without its task is damage.
        let since = store.task_since(&task.id, cursor)?.ok_or_else(|| {
            ApiError::internal(format!("feed entry of a missing task {}", task.id))
        })?;
        let pull = pull_since(task.id, since)?;
        bytes += pull.changes.len();
        pulls.push(pull);
    }
    Ok(FeedPage {
        pulls,
        cursor: feed_end,
        more: false,
    })
}

/// What the device lacks of a task it held as of the cursor: the changes
/// made after it, or the whole document if the task did not exist then.
fn pull_since(id: String, since: TaskSince) -> Result<DocPull, ApiError> {
    let (heads, changes, full) = match since.delta {
        TaskDelta::Changes(changes) => (since.heads, changes, false),
        TaskDelta::Whole { doc, base: None } => (since.heads, doc, true),
        TaskDelta::Whole {
            doc,
            base: Some(base),
        } => {
            // Feed entries without their changes: from the document.
            let mut doc = load(&doc)?;
            let heads = doc.get_heads();
            if base.iter().all(|h| doc.get_change_by_hash(h).is_some()) {
                (heads, doc.save_after(&base), false)
            } else {
                (heads, doc.save(), true)
            }
        }
    };
    Ok(DocPull {
        id,
        heads: wire::heads_to_wire(&heads),
        changes: ByteBuf::from(changes),
        full,
        resend: false,
    })
}

/// The same set of heads, in whatever order they were listed.
fn same_heads(a: &[ChangeHash], b: &[ChangeHash]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    a == b
}
