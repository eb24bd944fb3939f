//! `POST /api/v1/sync`: apply what a tablet sends, answer what it lacks.
//!
//! Stateless per request (see `fieldloop_core::sync`): every answer is
//! computed from the request and the stored documents, so a lost, repeated
//! or duplicated request or answer never corrupts anything. A batch is
//! checked whole before anything is written: one rejected change rejects
//! the batch, and nothing changes. A push the server ends up holding
//! exactly as pushed is answered by its index in `acks` alone.

use std::collections::HashSet;

use automerge::{AutoCommit, ChangeHash};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use fieldloop_core::policy::{self, Refusal, Rule, Writer};
use fieldloop_core::sync::{self as wire, DocPull, SyncRequest, SyncResponse};
use fieldloop_core::{ActorId, Role, Task};
use serde_bytes::ByteBuf;

use crate::auth::DeviceAuth;
use crate::console::TaskIndex;
use crate::delta_cache::DeltaCache;
use crate::doc_cache::DocCache;
use crate::error::{ApiError, Code, Concerns};
use crate::limits::Limits;
use crate::store::{
    Device, FeedTask, SNAPSHOT_AFTER_CHUNKS, Store, StoredTask, SyncCommit, TaskBase, TaskDelta,
    TaskSince, TaskWrite, same_heads,
};
use crate::{AppState, now_ms};

/// Documents one request may push.
pub use fieldloop_core::sync::MAX_PUSH_DOCS;

/// `POST /api/v1/sync`, with its body limit ([`crate::MAX_SYNC_BODY`]).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(
        "/api/v1/sync",
        axum::routing::post(sync).layer(axum::extract::DefaultBodyLimit::max(crate::MAX_SYNC_BODY)),
    )
}

pub async fn sync(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    presented: Option<axum::Extension<crate::auth::Presented>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // The media type, parameters (`; charset=…`) aside.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if device.role != Role::Inspector {
        return Err(ApiError::new(
            Code::AuthWrongRole,
            "同步只接受执法人员的设备令牌 (only an inspector's device token may sync)",
        ));
    }
    if content_type != wire::CONTENT_TYPE {
        return Err(ApiError::new(
            Code::SyncContentType,
            format!(
                "请求体应为 {} (the body must be {})",
                wire::CONTENT_TYPE,
                wire::CONTENT_TYPE
            ),
        ));
    }
    let request = wire::decode_request(&body)?;
    let store = state.store.clone();
    let limits = state.limits.clone();
    let caches = state.caches.clone();
    let response = tokio::task::spawn_blocking(move || {
        let now = now_ms();
        let mut response = run_cached(store.as_ref(), &device, &request, now, &limits, &caches)?;
        // A checkpoint of the receipt log once enough is new, looked for
        // after a sync that pushed (only a push adds receipts; the tick
        // covers the rest); the sync is committed whatever becomes of it.
        if !request.docs.is_empty()
            && let Err(e) =
                crate::audit::checkpoint_if_due(store.as_ref(), limits.checkpoint_every, now)
        {
            tracing::warn!(target: crate::audit::LOG_TARGET, "making a checkpoint failed: {e}");
        }
        if request.rotate
            && let Some(axum::Extension(presented)) = presented
        {
            response.token = rotate_token(store.as_ref(), &device, &presented, now, &limits)?;
        }
        Ok::<_, ApiError>(response)
    })
    .await??;
    Ok((
        [(header::CONTENT_TYPE, wire::CONTENT_TYPE)],
        wire::encode(&response),
    )
        .into_response())
}

/// A new token for a device whose presented token is due for replacement
/// (older than [`Limits::token_rotate_after`], or already replaced by one
/// that never reached the tablet); `None` when it is not due, or another
/// request replaced it meanwhile.
fn rotate_token(
    store: &dyn Store,
    device: &Device,
    presented: &crate::auth::Presented,
    now: i64,
    limits: &Limits,
) -> Result<Option<String>, ApiError> {
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let due = presented.usage.previous_until.is_some()
        || now.saturating_sub(presented.usage.issued_at) >= ms(limits.token_rotate_after);
    if !due {
        return Ok(None);
    }
    let token = crate::auth::random_hex(32);
    let replaced = store.rotate_device_token(
        &device.id,
        &presented.hash,
        &crate::auth::secret_hash(&token),
        now,
        now.saturating_add(ms(limits.token_grace)),
    )?;
    if replaced {
        tracing::info!(target: "fieldloop::auth", device = %device.id, "device token replaced");
    }
    Ok(replaced.then_some(token))
}

fn load(bytes: &[u8]) -> Result<AutoCommit, ApiError> {
    AutoCommit::load(bytes).map_err(ApiError::internal)
}

/// Who a device writes as, with the departments its inspector is certified for.
fn writer(store: &dyn Store, device: &Device) -> Result<Writer, ApiError> {
    let actor = device
        .actor
        .parse::<ActorId>()
        .map_err(|e| ApiError::internal(format!("device {} has a bad actor: {e}", device.id)))?;
    let certified = match device.role {
        Role::Inspector => store.inspector(&device.person)?.map(|i| vec![i.department]),
        _ => None,
    };
    Ok(Writer {
        actor,
        person: device.person.clone(),
        role: device.role,
        certified,
    })
}

/// The answer for a refused batch: the rule's code, and the task, change
/// and path it concerns.
pub fn refused(task: &str, refusal: Refusal) -> ApiError {
    let code = match &refusal.rule {
        Rule::ActorMismatch => Code::SyncActorMismatch,
        Rule::NotOnTask => Code::PolicyNotOnTask,
        Rule::ForbiddenField => Code::PolicyForbiddenField,
        Rule::AppendOnly => Code::PolicyAppendOnly,
        Rule::NotYours => Code::PolicyNotYours,
        Rule::BadValue => Code::PolicyBadValue,
        Rule::TooLong(_) => Code::PolicyTooLong,
        Rule::Frozen(_) => Code::PolicyFrozen,
        Rule::EventNotAllowed(_) => Code::PolicyEventNotAllowed,
        Rule::Transition(_) => Code::StatusTransition,
        Rule::SubmitProblems(_) => Code::StatusSubmitProblems,
        Rule::RecordNotes(_) => Code::TaskRecordNotes,
    };
    ApiError::new(code, format!("任务 {task}：{}", refusal.message)).concerning(Concerns {
        task: Some(task.to_owned()),
        change: refusal.change.map(|c| c.to_string()),
        path: (!refusal.path.is_empty()).then_some(refusal.path),
    })
}

/// What applying a push came to.
enum Applied {
    /// The server held every change already (a resend after a lost answer).
    Nothing,
    /// New changes, checked: what to store.
    Write(Box<TaskWrite>),
    /// The changes build on changes the server lacks; nothing was applied.
    MissingDeps,
}

/// Applies the changes of a push to a copy of the stored document (`doc`,
/// loaded from `stored`) and checks them against the write policy; on
/// success `doc` is the result.
fn apply_push(
    doc: &mut AutoCommit,
    stored: &StoredTask,
    changes: &[u8],
    writer: &Writer,
    limits: &Limits,
) -> Result<Applied, ApiError> {
    let id = stored.id.as_str();
    let bad = |e: &dyn std::fmt::Display| {
        ApiError::new(
            Code::SyncBadChanges,
            format!("无法读取任务 {id} 的变更 (cannot read the changes): {e}"),
        )
        .concerning(Concerns::task(id))
    };
    let mut seen = HashSet::new();
    let new: Vec<automerge::Change> = wire::decode_changes(changes, &limits.budget)
        .map_err(|e| match e {
            wire::PushError::Wire(e) => bad(&e),
            wire::PushError::OverBudget(over) => {
                let code = match over {
                    wire::OverBudget::Changes(..) => Code::SyncTooManyChanges,
                    _ => Code::SyncTooManyOps,
                };
                ApiError::new(code, format!("任务 {id}：{over}")).concerning(Concerns::task(id))
            }
        })?
        .into_iter()
        .filter(|c| seen.insert(c.hash()) && doc.get_change_meta_by_hash(&c.hash()).is_none())
        .collect();
    if new.is_empty() {
        return Ok(Applied::Nothing);
    }
    let before = doc.get_heads();
    let mut merged = doc.clone();
    wire::apply_changes(&mut merged, new.clone()).map_err(|e| bad(&e))?;
    if !merged.get_missing_deps(&[]).is_empty() {
        return Ok(Applied::MissingDeps);
    }
    let verdict = policy::check(&mut merged, &new, writer).map_err(|r| refused(id, r))?;
    // One reading for the task's shape and its conflicts (the index's count).
    let walked = fieldloop_core::walk::Walked::new(&merged);
    let task = autosurgeon::hydrate::<_, Task>(&walked).map_err(|e| {
        ApiError::new(
            Code::SyncInvalidTask,
            format!("任务 {id} 的变更会使任务格式无效 (the task would be invalid): {e}"),
        )
        .concerning(Concerns {
            change: new
                .iter()
                .min_by_key(|c| c.seq())
                .map(|c| c.hash().to_string()),
            ..Concerns::task(id)
        })
    })?;
    let open_conflicts = walked
        .conflicts(&task.actors)
        .map_err(ApiError::internal)?
        .len();
    drop(walked);
    // Exactly what the stored document lacks.
    let added = merged.save_after(&before);
    let (doc_bytes, append) =
        stored_form(stored, &added, &mut merged, limits.doc_bytes).map_err(|saved| {
            ApiError::new(
                Code::SyncDocTooLarge,
                format!(
                    "任务 {id} 将达到 {saved} 字节，上限 {} (the task would be {saved} bytes, at most {})",
                    limits.doc_bytes, limits.doc_bytes
                ),
            )
            .concerning(Concerns::task(id))
        })?;
    let write = TaskWrite {
        id: id.to_owned(),
        team: stored.team.clone(),
        doc: doc_bytes,
        heads: merged.get_heads(),
        new_changes: new.iter().map(|c| c.hash()).collect(),
        added: Some(added),
        append,
        flags: verdict.flags,
        index: Some(TaskIndex::with_conflicts(task, open_conflicts)),
    };
    *doc = merged;
    Ok(Applied::Write(Box::new(write)))
}

/// How a merged task is stored, and its stored bytes: the stored bytes with
/// `added` after them (`true`: append) while few changes follow the
/// snapshot and the whole stays within `max_bytes`; else `merged` saved
/// whole, a new snapshot. `Err`: even saved whole it is over `max_bytes`
/// (its size saved whole).
fn stored_form(
    stored: &StoredTask,
    added: &[u8],
    merged: &mut AutoCommit,
    max_bytes: usize,
) -> Result<(Vec<u8>, bool), usize> {
    let appended = stored.doc.len() + added.len();
    if stored.chunks + 1 < SNAPSHOT_AFTER_CHUNKS && appended <= max_bytes {
        let mut bytes = Vec::with_capacity(appended);
        bytes.extend_from_slice(&stored.doc);
        bytes.extend_from_slice(added);
        return Ok((bytes, true));
    }
    // Saved whole, the document is usually smaller than its snapshot and
    // the changes after it: the bound is checked on what is stored.
    let saved = merged.save();
    match saved.len() <= max_bytes {
        true => Ok((saved, false)),
        false => Err(saved.len()),
    }
}

/// Tries to commit a request's pushes this many times when other devices
/// keep committing to the same tasks in between, then answers `server.busy`.
const COMMIT_ATTEMPTS: usize = 4;

/// A push applied and checked, not yet stored.
struct Prepared {
    index: usize,
    id: String,
    /// The server's heads the push was applied to.
    base: Vec<ChangeHash>,
    doc: AutoCommit,
    write: Option<TaskWrite>,
    resend: bool,
}

/// What a commit answers for the pushes.
struct Committed {
    pulls: Vec<DocPull>,
    acks: Vec<u32>,
    /// The device holds every feed entry up to here once it applies the answer.
    answered_up_to: u64,
    /// The directory's version as the commit read it, if it did.
    directory_version: Option<u64>,
}

/// Applies and checks every push against the stored documents, without any
/// lock: the expensive part (decoding, the write policy) runs beside other
/// requests' commits.
fn prepare(
    store: &dyn Store,
    device: &Device,
    request: &SyncRequest,
    writer: Option<&Writer>,
    limits: &Limits,
    docs: &DocCache,
) -> Result<Vec<Prepared>, ApiError> {
    let mut prepared = Vec::with_capacity(request.docs.len());
    for (index, push) in request.docs.iter().enumerate() {
        let stored = store
            .task(&push.id)?
            .filter(|t| t.team == device.team)
            .ok_or_else(|| {
                ApiError::new(
                    Code::SyncForbidden,
                    format!("无权访问任务 {} (no access to task {})", push.id, push.id),
                )
            })?;
        let mut doc = docs
            .load(&push.id, &stored.doc)
            .map_err(ApiError::internal)?;
        let base = doc.get_heads();
        let mut write = None;
        let mut resend = false;
        if !push.changes.is_empty() {
            let writer = writer.ok_or_else(|| ApiError::internal("a push without a writer"))?;
            match apply_push(&mut doc, &stored, &push.changes, writer, limits)? {
                Applied::Write(w) => write = Some(*w),
                Applied::Nothing => {}
                // The server lacks what the tablet assumed it has (restored
                // from a backup?): apply nothing, ask for everything.
                Applied::MissingDeps => resend = true,
            }
        }
        prepared.push(Prepared {
            index,
            id: push.id.clone(),
            base,
            doc,
            write,
            resend,
        });
    }
    Ok(prepared)
}

/// If no pushed task changed since it was read, stores the writes durably
/// and answers each push; `None` if one did (nothing is stored then). The
/// store checks the bases and commits in one transaction
/// ([`Store::commit_sync`]); the entries between the feed's end before and
/// after it are this request's own, and the pushed documents' answers hold
/// them, so the device may move past them.
fn commit(
    store: &dyn Store,
    device: &Device,
    now: i64,
    prepared: Vec<Prepared>,
    tablet_heads: &[Vec<ChangeHash>],
    docs: &DocCache,
) -> Result<Option<Committed>, ApiError> {
    let bases: Vec<TaskBase<'_>> = prepared
        .iter()
        .map(|p| TaskBase {
            id: &p.id,
            heads: &p.base,
        })
        .collect();
    let to_store: Vec<TaskWrite> = prepared.iter().filter_map(|p| p.write.clone()).collect();
    // Durable before the answer acknowledges anything.
    let (answered_up_to, directory_version) =
        match store.commit_sync(&bases, &to_store, &device.id, now)? {
            SyncCommit::Done {
                feed_end,
                directory_version,
            } => (feed_end, directory_version),
            SyncCommit::Moved => return Ok(None),
        };
    drop(bases);
    // What the store now holds, for the next push to these tasks.
    for p in &prepared {
        if let Some(write) = &p.write {
            docs.keep(&p.id, &write.doc, &p.doc);
        }
    }
    let mut committed = answer_pushes(prepared, tablet_heads, answered_up_to);
    committed.directory_version = directory_version;
    Ok(Some(committed))
}

/// The answer to each push: an ack when the server now holds exactly the
/// tablet's heads, else what the tablet lacks.
fn answer_pushes(
    prepared: Vec<Prepared>,
    tablet_heads: &[Vec<ChangeHash>],
    answered_up_to: u64,
) -> Committed {
    let mut pulls = Vec::new();
    let mut acks = Vec::new();
    for Prepared {
        index,
        id,
        mut doc,
        resend,
        ..
    } in prepared
    {
        let tablet_heads = &tablet_heads[index];
        let server_heads = doc.get_heads();
        if !resend && same_heads(&server_heads, tablet_heads) {
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
            (doc.save_after(tablet_heads), false)
        } else {
            (doc.save(), true)
        };
        pulls.push(DocPull {
            id,
            heads: wire::heads_to_wire(&server_heads),
            changes: ByteBuf::from(changes),
            full,
            resend,
        });
    }
    Committed {
        pulls,
        acks,
        answered_up_to,
        directory_version: None,
    }
}

/// One sync exchange for `device`. Pushed documents are merged optimistically
/// and committed by compare-and-set on their heads, again when another
/// writer got there first; answering from the feed needs no lock.
pub fn run(
    store: &dyn Store,
    device: &Device,
    request: &SyncRequest,
    now: i64,
    limits: &Limits,
) -> Result<SyncResponse, ApiError> {
    run_cached(store, device, request, now, limits, &Caches::none())
}

/// What one instance keeps in memory between syncs: recent feed deltas
/// ([`crate::delta_cache`]) and task documents ([`crate::doc_cache`]).
#[derive(Debug, Default)]
pub struct Caches {
    pub deltas: DeltaCache,
    pub docs: DocCache,
}

impl Caches {
    /// Caches that keep nothing.
    pub fn none() -> Self {
        Self {
            deltas: DeltaCache::new(0),
            docs: DocCache::new(0),
        }
    }
}

/// [`run`] answering from `caches.deltas` what it holds of the feed page's
/// tasks (see [`crate::delta_cache`]) and taking the pushed tasks'
/// documents from `caches.docs` where it holds them as stored
/// ([`crate::doc_cache`]), and keeping there what it reads and writes.
pub fn run_cached(
    store: &dyn Store,
    device: &Device,
    request: &SyncRequest,
    now: i64,
    limits: &Limits,
    caches: &Caches,
) -> Result<SyncResponse, ApiError> {
    if request.docs.len() > MAX_PUSH_DOCS {
        return Err(ApiError::new(
            Code::SyncTooManyDocs,
            format!(
                "一次最多同步 {MAX_PUSH_DOCS} 个任务 (at most {MAX_PUSH_DOCS} documents per request)"
            ),
        ));
    }
    // The body first: every hash well formed, every task once.
    let mut pushed = HashSet::new();
    let mut all_heads = Vec::with_capacity(request.docs.len());
    for push in &request.docs {
        if !pushed.insert(push.id.clone()) {
            return Err(ApiError::new(
                Code::SyncDuplicateDoc,
                format!("任务 {} 出现了两次 (document sent twice)", push.id),
            ));
        }
        all_heads.push(wire::heads_from_wire(&push.heads)?);
    }
    let writer = match request.docs.is_empty() {
        true => None,
        false => Some(writer(store, device)?),
    };
    let mut committed = None;
    for _ in 0..COMMIT_ATTEMPTS {
        // Decoding, merging and checking untrusted bytes happen before the
        // store's transaction, which only compares heads and writes.
        let prepared = prepare(
            store,
            device,
            request,
            writer.as_ref(),
            limits,
            &caches.docs,
        )?;
        if let Some(done) = commit(store, device, now, prepared, &all_heads, &caches.docs)? {
            committed = Some(done);
            break;
        }
        // Another device committed to one of these tasks meanwhile: again.
    }
    let Committed {
        mut pulls,
        acks,
        answered_up_to,
        directory_version,
    } = committed.ok_or_else(|| {
        ApiError::new(
            Code::ServerBusy,
            "任务正被同时修改，请稍后重试 (these tasks are being changed by others right now; try again shortly)",
        )
    })?;

    let feed = Feed {
        store,
        deltas: &caches.deltas,
    };
    let page = match request.done {
        Some(done) => feed_page_done(
            feed,
            &device.team,
            request.cursor,
            done,
            answered_up_to,
            &pushed,
            limits,
        )?,
        // A client older than `cd`.
        None => feed_page(
            feed,
            &device.team,
            request.cursor,
            answered_up_to,
            &pushed,
            limits,
        )?,
    };
    pulls.extend(page.pulls);
    let ack_hash = if acks.is_empty() {
        None
    } else {
        wire::ack_hash(&request.docs, &acks).map(|h| ByteBuf::from(h.to_vec()))
    };
    Ok(SyncResponse {
        done: request.done.map(|_| page.done),
        cursor: page.cursor,
        more: page.more,
        acks,
        ack_hash,
        docs: pulls,
        directory: match request.directory {
            Some(held) => directory_at(store, device, held, directory_version)?,
            // A client older than directories: an answer it can read.
            None => None,
        },
        token: None,
    })
}

/// The directory for `device`'s tablet, unless it already holds `held`:
/// every department and team, and the inspectors of the device's team.
pub fn directory_for(
    store: &dyn Store,
    device: &Device,
    held: u64,
) -> Result<Option<wire::DirectorySnapshot>, ApiError> {
    directory_at(store, device, held, None)
}

/// [`directory_for`] with the version already read (by the sync's commit),
/// if it was.
fn directory_at(
    store: &dyn Store,
    device: &Device,
    held: u64,
    version: Option<u64>,
) -> Result<Option<wire::DirectorySnapshot>, ApiError> {
    // The version is read before the rows: a change between the two reads
    // leaves the tablet with newer rows under an older version, which it
    // sends back next time and gets the directory again (never the other
    // way round, which would keep old names under the new version).
    let version = match version {
        Some(version) => version,
        None => store.directory_version()?,
    };
    if version == held {
        return Ok(None);
    }
    let rows = store.directory()?;
    Ok(Some(wire::DirectorySnapshot {
        version,
        departments: rows
            .departments
            .into_iter()
            .map(|d| wire::DirectoryDepartment {
                code: d.code,
                name: d.name,
                name_en: d.name_en,
            })
            .collect(),
        teams: rows
            .teams
            .into_iter()
            .map(|t| wire::DirectoryName {
                id: t.id,
                name: t.name,
            })
            .collect(),
        inspectors: rows
            .inspectors
            .into_iter()
            .filter(|(i, _)| i.team == device.team)
            .map(|(i, _)| wire::DirectoryName {
                id: i.id,
                name: i.name,
            })
            .collect(),
    }))
}

/// Where a feed page's deltas come from: the instance's cache of recent
/// deltas, and the store for the rest.
#[derive(Clone, Copy)]
struct Feed<'a> {
    store: &'a dyn Store,
    deltas: &'a DeltaCache,
}

/// One answer's share of the feed.
#[derive(Debug)]
struct FeedPage {
    pulls: Vec<DocPull>,
    /// The cursor to hand back: the device holds every feed entry up to it.
    cursor: u64,
    /// The paged-through mark to hand back (a request with `cd`): the
    /// device also holds every task whose latest entry is at or before it.
    done: u64,
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
/// ends at `end`, read before the tasks were: an entry committed later is
/// sent again next time, never skipped.
///
/// Pushed documents were answered with everything up to `end`; they are
/// left out unless they changed after it.
fn feed_page(
    feed: Feed<'_>,
    team: &str,
    cursor: u64,
    end: u64,
    pushed: &HashSet<String>,
    limits: &Limits,
) -> Result<FeedPage, ApiError> {
    // A cursor beyond the feed's end (the server was restored from an
    // older backup) is brought back to it, never echoed.
    let cursor = cursor.min(end);
    let changed =
        feed.store
            .changed_since(team, cursor, limits.feed_page_docs + pushed.len() + 1)?;
    let changed: Vec<FeedTask> = changed
        .into_iter()
        .filter(|task| !(pushed.contains(&task.id) && task.last <= end))
        .collect();
    let mut reader = Deltas::new(feed, cursor, &changed);
    let mut pulls = Vec::new();
    let mut bytes = 0usize;
    for task in &changed {
        if page_full(&pulls, bytes, limits) {
            return Ok(FeedPage {
                pulls,
                cursor: task.first - 1,
                done: task.first - 1,
                more: true,
            });
        }
        let pull = reader.next(limits.feed_page_docs - pulls.len())?;
        bytes += pull.changes.len();
        pulls.push(pull);
    }
    Ok(FeedPage {
        pulls,
        cursor: end,
        done: end,
        more: false,
    })
}

/// [`feed_page`] for a device that sends its paged-through mark `done`:
/// it holds every entry up to `cursor`, and whole every task whose latest
/// entry is at or before `done`.
///
/// The tasks it lacks are those with an entry after `cursor` and their
/// latest entry after `done`. They come in the order of that latest entry,
/// each with everything it gained after `cursor`; a page that stops early
/// keeps `cursor` and moves `done` to the latest entry of the last task it
/// carried (or passed over as answered with the push). Every task whose
/// latest entry is at or before the new mark was either held before or is
/// on this page, and no task is sent twice while paging: a fresh tablet of
/// a team with many tasks edited in turn takes one page per
/// `feed_page_docs` tasks, where [`feed_page`] (whose cursor may only move
/// to just before the first entry of the first task it left out) sends the
/// same tasks again on every page their later entries reach. A page that
/// holds everything ends at `end` (both marks), read before the tasks
/// were: an entry committed later is sent again next time, never skipped.
/// The mark never passes `end` either, so an entry committed while this
/// page was read can never be counted as held.
fn feed_page_done(
    feed: Feed<'_>,
    team: &str,
    cursor: u64,
    done: u64,
    end: u64,
    pushed: &HashSet<String>,
    limits: &Limits,
) -> Result<FeedPage, ApiError> {
    let cursor = cursor.min(end);
    // A mark behind the cursor means nothing more than the cursor; one
    // beyond the feed's end (a server restored from a backup) is brought
    // back to it.
    let done = done.clamp(cursor, end);
    let unsent =
        feed.store
            .unsent_since(team, cursor, done, limits.feed_page_docs + pushed.len() + 1)?;
    let answered = |task: &FeedTask| pushed.contains(&task.id) && task.last <= end;
    let to_pull: Vec<FeedTask> = unsent.iter().filter(|t| !answered(t)).cloned().collect();
    let mut reader = Deltas::new(feed, cursor, &to_pull);
    let mut pulls = Vec::new();
    let mut bytes = 0usize;
    let mut through = done;
    for task in unsent {
        if answered(&task) {
            // Answered with the push, whole up to `end`.
            through = through.max(task.last);
            continue;
        }
        if page_full(&pulls, bytes, limits) {
            return Ok(FeedPage {
                pulls,
                cursor,
                done: through,
                more: true,
            });
        }
        let pull = reader.next(limits.feed_page_docs - pulls.len())?;
        bytes += pull.changes.len();
        pulls.push(pull);
        through = through.max(task.last.min(end));
    }
    Ok(FeedPage {
        pulls,
        cursor: end,
        done: end,
        more: false,
    })
}

/// Whether a page holding `pulls` (`bytes` of changes) takes no more: a
/// single larger document still goes alone.
fn page_full(pulls: &[DocPull], bytes: usize, limits: &Limits) -> bool {
    pulls.len() >= limits.feed_page_docs || (bytes >= limits.feed_page_bytes && !pulls.is_empty())
}

/// Tasks whose deltas one store call reads at most while a page is filled:
/// a round trip per batch, not per task, and no more read ahead than a
/// page stopped by its byte bound would waste.
pub const PULL_BATCH: usize = 16;

/// The deltas of a page's tasks, from the cache where it holds them and
/// otherwise read in batches of up to [`PULL_BATCH`] as the page takes
/// them, in the order given.
struct Deltas<'a> {
    store: &'a dyn Store,
    cache: &'a DeltaCache,
    cursor: u64,
    tasks: &'a [FeedTask],
    /// The next task to hand out.
    next: usize,
    /// Read, not yet handed out: the tasks from `next` on.
    ready: std::collections::VecDeque<Option<TaskSince>>,
}

impl<'a> Deltas<'a> {
    fn new(feed: Feed<'a>, cursor: u64, tasks: &'a [FeedTask]) -> Self {
        Self {
            store: feed.store,
            cache: feed.deltas,
            cursor,
            tasks,
            next: 0,
            ready: std::collections::VecDeque::new(),
        }
    }

    /// The next task as a device that holds it as of the cursor lacks it;
    /// `room`: how many more the page may take (the most read ahead).
    fn next(&mut self, room: usize) -> Result<DocPull, ApiError> {
        if self.ready.is_empty() {
            let end = (self.next + room.clamp(1, PULL_BATCH)).min(self.tasks.len());
            let batch = &self.tasks[self.next..end];
            // `Some`: known (from the cache, or read below).
            let mut found: Vec<Option<Option<TaskSince>>> =
                batch.iter().map(|t| self.cache.get(t).map(Some)).collect();
            let missing: Vec<String> = batch
                .iter()
                .zip(&found)
                .filter(|(_, known)| known.is_none())
                .map(|(t, _)| t.id.clone())
                .collect();
            if !missing.is_empty() {
                let mut read = self.store.tasks_since(&missing, self.cursor)?.into_iter();
                for (task, slot) in batch.iter().zip(found.iter_mut()) {
                    if slot.is_none() {
                        let since = read.next().flatten();
                        if let Some(since) = &since {
                            self.cache.put(task, since);
                        }
                        *slot = Some(since);
                    }
                }
            }
            self.ready = found.into_iter().map(Option::flatten).collect();
        }
        let id = self
            .tasks
            .get(self.next)
            .map(|t| t.id.clone())
            .ok_or_else(|| ApiError::internal("a page asked for more tasks than listed"))?;
        self.next += 1;
        // Tasks are never deleted: a feed entry without its task is damage.
        let since = self
            .ready
            .pop_front()
            .flatten()
            .ok_or_else(|| ApiError::internal(format!("feed entry of a missing task {id}")))?;
        pull_since(id, since)
    }
}

/// What the device lacks of a task it held as of the cursor: the changes
/// made after it, or the whole document if the task did not exist then.
///
/// A whole document stored as a snapshot with runs of changes after it is
/// saved again before it is sent: each run carries its changes' own
/// headers and columns, so tasks pushed to 8 more times weigh about 1.5
/// times their compact save as stored (`tests/benches/sync.rs`, the third
/// tablet), and the tablet would take longer to load them.
fn pull_since(id: String, since: TaskSince) -> Result<DocPull, ApiError> {
    let (heads, changes, full) = match since.delta {
        TaskDelta::Changes(changes) => (since.heads, changes, false),
        TaskDelta::Whole {
            doc,
            base: None,
            chunks: 0,
        } => (since.heads, doc, true),
        TaskDelta::Whole {
            doc, base: None, ..
        } => (since.heads, load(&doc)?.save(), true),
        TaskDelta::Whole {
            doc,
            base: Some(base),
            ..
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

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ReadDoc};

    use super::*;

    /// A stored task with `chunks` runs of changes after its snapshot, and
    /// the same task with one more edit, and what that edit added.
    fn stored_and_edited(chunks: u32) -> (StoredTask, AutoCommit, Vec<u8>) {
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "padding", "x".repeat(2_000))
            .expect("put");
        doc.commit();
        let mut bytes = doc.save();
        for n in 0..chunks {
            let before = doc.get_heads();
            doc.put(automerge::ROOT, "n", i64::from(n)).expect("put");
            doc.commit();
            bytes.extend(doc.save_after(&before));
        }
        let stored = StoredTask {
            id: "t".into(),
            team: "team".into(),
            doc: bytes,
            chunks,
        };
        let before = doc.get_heads();
        doc.put(automerge::ROOT, "last", true).expect("put");
        doc.commit();
        let added = doc.save_after(&before);
        (stored, doc, added)
    }

    #[test]
    fn a_push_appends_until_the_chunk_limit_or_the_size_bound_then_saves_whole() {
        let (stored, mut merged, added) = stored_and_edited(3);
        let (bytes, append) =
            stored_form(&stored, &added, &mut merged, usize::MAX).expect("stored");
        assert!(append);
        assert_eq!(bytes, [stored.doc.as_slice(), &added].concat());
        let mut loaded = AutoCommit::load(&bytes).expect("load");
        assert_eq!(loaded.get_heads(), merged.get_heads());
        assert!(loaded.get(automerge::ROOT, "last").expect("get").is_some());

        // One more run of changes would reach the limit: saved whole.
        let (stored, mut merged, added) = stored_and_edited(SNAPSHOT_AFTER_CHUNKS - 1);
        let (bytes, append) =
            stored_form(&stored, &added, &mut merged, usize::MAX).expect("stored");
        assert!(!append);
        assert_eq!(bytes, merged.save());

        // Appended, it would pass the bound; saved whole, it is within it.
        let (stored, mut merged, added) = stored_and_edited(20);
        let whole = merged.save().len();
        let appended = stored.doc.len() + added.len();
        assert!(whole < appended, "{whole} saved whole, {appended} appended");
        let (bytes, append) =
            stored_form(&stored, &added, &mut merged, appended - 1).expect("stored");
        assert!(!append);
        assert_eq!(bytes.len(), whole);
        // Over the bound even saved whole: refused, with its size.
        assert_eq!(
            stored_form(&stored, &added, &mut merged, whole - 1),
            Err(whole)
        );
    }

    #[test]
    fn a_whole_answer_of_a_task_with_appended_changes_is_saved_again_compact() {
        let (stored, _, _) = stored_and_edited(8);
        let mut doc = AutoCommit::load(&stored.doc).expect("load");
        let heads = doc.get_heads();
        let whole = |doc: Vec<u8>, chunks: u32| TaskSince {
            heads: heads.clone(),
            delta: TaskDelta::Whole {
                doc,
                base: None,
                chunks,
            },
        };
        let pull = pull_since("t".into(), whole(stored.doc.clone(), stored.chunks)).expect("pull");
        assert!(pull.full);
        assert_eq!(pull.changes.as_slice(), doc.save().as_slice());
        assert!(
            pull.changes.len() < stored.doc.len(),
            "{} sent, {} stored",
            pull.changes.len(),
            stored.doc.len()
        );
        let mut sent = AutoCommit::load(&pull.changes).expect("load what was sent");
        assert_eq!(sent.get_heads(), heads);
        assert_eq!(pull.heads, wire::heads_to_wire(&heads));
        // Stored with no runs after the snapshot: sent as stored, not
        // loaded and saved again (these bytes would change if they were).
        let pull = pull_since("t".into(), whole(stored.doc.clone(), 0)).expect("pull");
        assert_eq!(pull.changes.as_slice(), stored.doc.as_slice());
        // Bytes that are not a document: an error, not a panic.
        let mut broken = stored.doc.clone();
        broken.truncate(stored.doc.len() - 3);
        assert!(pull_since("t".into(), whole(broken, stored.chunks)).is_err());
    }
}
