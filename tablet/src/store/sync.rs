//! The store's side of sync: what to push, applying what the server
//! answered, the feed cursor and the enrollment, each in one transaction so
//! that a sync interrupted at any point resumes where it stopped.

use fieldloop_core::sync::{self as wire, DirectorySnapshot, DocPull, DocPush, SyncResponse};
use fieldloop_core::{ErrorCode, TaskDoc, TaskSummary, faults};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use ts_rs::TS;

use super::{COMPACT_AFTER_CHUNKS, Store, StoreError, compact_in, write_index};

const CURSOR: &str = "sync.cursor";
/// The paged-through mark of the last answer (the protocol's `cd`).
const FEED_DONE: &str = "sync.done";
/// The server's directory (JSON of [`DirectorySnapshot`], with its version).
const DIRECTORY: &str = "directory.snapshot";

/// What applying one answer did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Tasks that changed on the tablet.
    pub updated: usize,
    /// Tasks new to the tablet.
    pub added: usize,
    /// Tasks the server asked to be sent again in full.
    pub resend: usize,
    /// Pushes the server acknowledged as held exactly as pushed.
    pub acked: usize,
    /// Tasks whose copy could not be applied and are asked for again whole.
    pub repairs: usize,
    /// The answer brought a new directory.
    pub directory: bool,
}

/// An edit the server refused, kept on the tablet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RefusedEdit {
    /// The Automerge change (hex hash).
    pub change: String,
    /// What the edit did, as its change message says (e.g. “检查项 X：合格”).
    pub message: String,
    /// When it was made (the tablet's clock, ms since the epoch).
    #[ts(type = "number")]
    pub made_at: i64,
    /// The server's code (e.g. `policy.frozen`) and sentence.
    pub code: ErrorCode,
    pub reason: String,
    #[ts(type = "number")]
    pub refused_at: i64,
}

/// Times a task is asked for again whole before sync reports it as stuck.
pub const MAX_REPAIR_ATTEMPTS: u32 = 3;

/// Sets one setting, replacing its value.
const SET_SETTING: &str =
    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2";

impl Store {
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        // One statement: its own transaction.
        faults::point("tablet.setting.before_commit");
        self.conn
            .prepare_cached(SET_SETTING)?
            .execute(params![key, value])?;
        faults::point("tablet.setting.after_commit");
        Ok(())
    }

    /// Sets (`Some`) or deletes (`None`) several settings in one
    /// transaction: a crash leaves all of them or none (an enrollment's
    /// server, token and identity belong together).
    pub fn set_settings(&mut self, settings: &[(&str, Option<&str>)]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (key, value) in settings {
            match value {
                Some(value) => tx
                    .prepare_cached(SET_SETTING)?
                    .execute(params![key, value])?,
                None => tx
                    .prepare_cached("DELETE FROM settings WHERE key = ?1")?
                    .execute([key])?,
            };
        }
        faults::point("tablet.setting.before_commit");
        tx.commit()?;
        faults::point("tablet.setting.after_commit");
        Ok(())
    }

    pub fn delete_setting(&mut self, key: &str) -> Result<(), StoreError> {
        faults::point("tablet.setting.before_commit");
        self.conn
            .prepare_cached("DELETE FROM settings WHERE key = ?1")?
            .execute([key])?;
        faults::point("tablet.setting.after_commit");
        Ok(())
    }

    /// Queues blobs for upload to the server (once each), on their own.
    /// The app queues the files of an edit with the edit
    /// ([`Store::edit_queueing`]), so that a crash cannot keep a photo in a
    /// task and out of the queue.
    pub fn queue_uploads(
        &mut self,
        task_id: &str,
        blobs: &[crate::blobs::BlobId],
        now: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        queue_in(&tx, task_id, blobs, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Blobs still to upload, oldest first.
    pub fn pending_uploads(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT sha256 FROM blob_uploads ORDER BY queued_at, sha256")?;
        let ids = stmt.query_map([], |r| r.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    /// The server holds this blob now.
    pub fn upload_done(&mut self, sha256: &str) -> Result<(), StoreError> {
        // One statement: its own transaction.
        faults::point("tablet.upload_done.before_commit");
        self.conn
            .execute("DELETE FROM blob_uploads WHERE sha256 = ?1", [sha256])?;
        faults::point("tablet.upload_done.after_commit");
        Ok(())
    }

    /// The feed position up to which every answer has been applied.
    pub fn sync_cursor(&self) -> Result<u64, StoreError> {
        Ok(self
            .setting(CURSOR)?
            .and_then(|c| c.parse().ok())
            .unwrap_or(0))
    }

    /// The paged-through mark of the last answer: besides every feed entry
    /// up to the cursor, the tablet holds every task whose latest entry is
    /// at or before it. Never behind the cursor.
    pub fn feed_done(&self) -> Result<u64, StoreError> {
        let cursor = self.sync_cursor()?;
        let done = self
            .setting(FEED_DONE)?
            .and_then(|c| c.parse().ok())
            .unwrap_or(cursor);
        Ok(done.max(cursor))
    }

    /// Pushes for tasks with changes the server has not acknowledged, as
    /// many as one request may carry (the rest go in the next request).
    pub fn pending_pushes(&self) -> Result<Vec<DocPush>, StoreError> {
        self.pending_pushes_up_to(wire::MAX_PUSH_DOCS, wire::MAX_PUSH_BYTES)
    }

    /// At most `max_docs` pushes, stopping once their changes pass
    /// `max_bytes` (a single larger document still goes alone).
    pub fn pending_pushes_up_to(
        &self,
        max_docs: usize,
        max_bytes: usize,
    ) -> Result<Vec<DocPush>, StoreError> {
        let mut pushes: Vec<DocPush> = Vec::new();
        let mut bytes = 0;
        // Tasks to repair first. Their push carries the tablet's heads (and
        // its own unsent changes), so the server answers all they lack.
        for id in self.repairs()? {
            if pushes.len() >= max_docs {
                return Ok(pushes);
            }
            let push = match self.push_of(&id) {
                Ok(push) => push,
                Err(StoreError::NotFound(_)) => DocPush {
                    id,
                    heads: Vec::new(),
                    changes: ByteBuf::new(),
                },
                Err(e) => return Err(e),
            };
            bytes += push.changes.len();
            pushes.push(push);
        }
        let repairing: std::collections::HashSet<String> =
            pushes.iter().map(|p| p.id.clone()).collect();
        for id in self.dirty_tasks()? {
            if repairing.contains(&id) {
                continue;
            }
            if pushes.len() >= max_docs || (bytes >= max_bytes && !pushes.is_empty()) {
                break;
            }
            let push = self.push_of(&id)?;
            bytes += push.changes.len();
            pushes.push(push);
        }
        Ok(pushes)
    }

    /// A task's push: its heads and what the server lacks of it as far as
    /// the tablet knows (`save_after` of the heads the server last held).
    fn push_of(&self, id: &str) -> Result<DocPush, StoreError> {
        self.cache.borrow_mut().with(&self.conn, id, |doc| {
            let known: Vec<u8> = self
                .conn
                .prepare_cached("SELECT server_heads FROM documents WHERE task_id = ?1")?
                .query_row([id], |r| r.get(0))?;
            let known = fieldloop_core::sync::heads_from_bytes(&known);
            Ok(DocPush {
                changes: ByteBuf::from(doc.save_after(&known)),
                heads: wire::heads_to_wire(&doc.heads()),
                id: id.to_owned(),
            })
        })
    }

    /// Sets aside an edit the server refused: the change `change` (hex) of
    /// `task_id` and every later change of this tablet's own actor (each
    /// builds on the one before) leave the document, which is rebuilt from
    /// the rest, and are kept in `refused_edits` with the server's code and
    /// sentence, so that what was typed on site is shown, never silently
    /// lost. Returns how many changes were set aside; an error if the change
    /// is not one of this tablet's own unacknowledged ones.
    pub fn set_aside(
        &mut self,
        task_id: &str,
        change: &str,
        code: ErrorCode,
        reason: &str,
        now: i64,
    ) -> Result<usize, StoreError> {
        let refused: fieldloop_core::ChangeHash = change
            .parse()
            .map_err(|_| StoreError::NotSetAside(change.to_owned()))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let cache = self.cache.get_mut();
        // Rebuilt below: whatever the outcome, the cached copy is stale.
        let (mut doc, last_seq) = cache.take(&tx, task_id)?;
        let known: Vec<u8> = tx
            .prepare_cached("SELECT server_heads FROM documents WHERE task_id = ?1")?
            .query_row([task_id], |r| r.get(0))?;
        let known = fieldloop_core::sync::heads_from_bytes(&known);
        let am = doc.automerge();
        let target = am
            .get_change_by_hash(&refused)
            .ok_or_else(|| StoreError::NotSetAside(change.to_owned()))?;
        // Only changes the server does not hold can be set aside.
        let unacked: std::collections::HashSet<_> =
            am.get_changes(&known).iter().map(|c| c.hash()).collect();
        if !unacked.contains(&refused) {
            return Err(StoreError::NotSetAside(change.to_owned()));
        }
        let actor = target.actor_id().clone();
        let (aside, kept): (Vec<_>, Vec<_>) = am
            .get_changes(&[])
            .into_iter()
            .partition(|c| *c.actor_id() == actor && c.seq() >= target.seq());
        let mut rebuilt = automerge::AutoCommit::new();
        rebuilt
            .apply_changes(kept)
            .map_err(|e| StoreError::Task(Box::new(e.into())))?;
        let mut rebuilt = TaskDoc::from_document(rebuilt)?;
        for c in &aside {
            tx.execute(
                "INSERT INTO refused_edits (task_id, change_hash, bytes, message, made_at, code, reason, refused_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
                params![
                    task_id,
                    c.hash().to_string(),
                    c.raw_bytes(),
                    c.message().unwrap_or(""),
                    c.timestamp().saturating_mul(1000),
                    code.as_str(),
                    reason,
                    now
                ],
            )?;
        }
        compact_in(&tx, task_id, &mut rebuilt, last_seq)?;
        let dirty = !rebuilt.save_after(&known).is_empty();
        write_index(&tx, &rebuilt.summary()?, dirty, now)?;
        tx.prepare_cached("UPDATE task_index SET dirty = ?2 WHERE task_id = ?1")?
            .execute(params![task_id, dirty])?;
        faults::point("tablet.set_aside.before_commit");
        tx.commit()?;
        faults::point("tablet.set_aside.after_commit");
        Ok(aside.len())
    }

    /// The edits of a task the server refused, oldest first.
    pub fn refused_edits(&self, task_id: &str) -> Result<Vec<RefusedEdit>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT change_hash, message, made_at, code, reason, refused_at FROM refused_edits
             WHERE task_id = ?1 ORDER BY made_at, rowid",
        )?;
        let rows = stmt.query_map([task_id], |r| {
            Ok(RefusedEdit {
                change: r.get(0)?,
                message: r.get(1)?,
                made_at: r.get(2)?,
                code: ErrorCode::from_server(&r.get::<_, String>(3)?),
                reason: r.get(4)?,
                refused_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Tasks asked for again whole, oldest first.
    pub fn repairs(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT task_id FROM repairs ORDER BY asked_at, task_id")?;
        let ids = stmt.query_map([], |r| r.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    /// Tasks that stayed unusable after [`MAX_REPAIR_ATTEMPTS`] whole copies.
    pub fn stuck_repairs(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT task_id FROM repairs WHERE attempts >= ?1 ORDER BY task_id")?;
        let ids = stmt.query_map([MAX_REPAIR_ATTEMPTS], |r| r.get(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    /// Applies a server answer to a request that pushed `pushed`: records
    /// the pushed heads of each acknowledged push as what the server has,
    /// merges each document, records what the server has, clears the dirty
    /// flag where the server has everything, and moves the cursor, all in
    /// one transaction. Acks count only if they were made for these very
    /// pushes ([`SyncResponse::acked`]): a stale answer acknowledges nothing.
    pub fn apply_sync_response(
        &mut self,
        pushed: &[DocPush],
        response: &SyncResponse,
        now: i64,
    ) -> Result<Applied, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut applied = Applied::default();
        let cache = self.cache.get_mut();
        cache.check(&tx)?;
        // Documents as this transaction leaves them, kept once it commits.
        let mut kept = Vec::new();
        // Acks first: an entry for the same document later in the answer
        // (the server lists each document once, but an answer is not
        // trusted to) then has the last word.
        for push in response.acked(pushed) {
            apply_ack(&tx, cache, &mut kept, push, &mut applied)?;
        }
        for pull in &response.docs {
            apply_pull(&tx, cache, &mut kept, pull, now, &mut applied)?;
        }
        let set =
            |key: &str, value: String| tx.prepare_cached(SET_SETTING)?.execute(params![key, value]);
        set(CURSOR, response.cursor.to_string())?;
        // A server older than `cd` pages by the cursor alone.
        set(
            FEED_DONE,
            response.done.unwrap_or(response.cursor).to_string(),
        )?;
        if let Some(token) = &response.token {
            // In the answer's transaction: a crash cannot leave the tablet
            // with the cursor of this answer and the token it replaced.
            set(crate::sync::keys::TOKEN, token.clone())?;
        }
        if let Some(directory) = &response.directory {
            // Plain strings and numbers: serialising cannot fail.
            set(
                DIRECTORY,
                serde_json::to_string(directory).unwrap_or_default(),
            )?;
            applied.directory = true;
        }
        faults::point("tablet.sync_apply.before_commit");
        tx.commit()?;
        for (id, doc, seq) in kept {
            cache.keep(&id, doc, seq);
        }
        faults::point("tablet.sync_apply.after_commit");
        Ok(applied)
    }

    /// The version of the directory the server last sent (0: none yet).
    pub fn directory_version(&self) -> Result<u64, StoreError> {
        Ok(self.directory()?.map_or(0, |d| d.version))
    }

    /// The directory the server last sent, if any. A stored copy that cannot
    /// be read counts as none (and its version as 0, so the next sync
    /// fetches it again).
    pub fn directory(&self) -> Result<Option<DirectorySnapshot>, StoreError> {
        Ok(self
            .setting(DIRECTORY)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }
}

/// Whether a merged copy holds every change it refers to and reads as a task.
/// Queues `blobs` of `task_id` for upload in the caller's transaction.
pub(super) fn queue_in(
    conn: &rusqlite::Connection,
    task_id: &str,
    blobs: &[crate::blobs::BlobId],
    now: i64,
) -> Result<(), StoreError> {
    for id in blobs {
        conn.prepare_cached("INSERT INTO blob_uploads (sha256, task_id, queued_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?
            .execute(params![id.to_string(), task_id, now],
        )?;
    }
    Ok(())
}

fn complete(doc: &mut TaskDoc) -> Option<TaskSummary> {
    // The whole document is read as a task here, where it arrives: the
    // store loads what it keeps without reading it through again. The
    // index's summary comes from that one reading.
    if !doc.automerge().get_missing_deps(&[]).is_empty() {
        return None;
    }
    doc.task().ok().and_then(|task| task.summary().ok())
}

/// Asks the server for `id` again whole at the next exchange (the stored
/// copy, if any, is left as it was).
fn ask_repair(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    now: i64,
    applied: &mut Applied,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO repairs (task_id, asked_at) VALUES (?1, ?2)
         ON CONFLICT (task_id) DO UPDATE SET attempts = attempts + 1",
        params![id, now],
    )?;
    applied.repairs += 1;
    Ok(())
}

/// The server holds `push` exactly: its heads are what the server has.
fn apply_ack(
    tx: &rusqlite::Transaction<'_>,
    cache: &mut super::cache::DocCache,
    kept: &mut Vec<(String, TaskDoc, u32)>,
    push: &DocPush,
    applied: &mut Applied,
) -> Result<(), StoreError> {
    let heads = wire::heads_from_wire(&push.heads)?;
    let exists: bool = tx
        .prepare_cached("SELECT count(*) FROM documents WHERE task_id = ?1")?
        .query_row([&push.id], |r| r.get::<_, i64>(0))?
        > 0;
    // The server holds exactly the heads the tablet has: nothing is missing.
    tx.prepare_cached("DELETE FROM repairs WHERE task_id = ?1")?
        .execute([&push.id])?;
    if !exists {
        return Ok(());
    }
    let (mut doc, seq) = take(tx, cache, kept, &push.id)?;
    // Still dirty if the tablet changed the document after building the push.
    let dirty = !doc.save_after(&heads).is_empty();
    kept.push((push.id.clone(), doc, seq));
    mark_server_heads(tx, &push.id, &heads, dirty)?;
    applied.acked += 1;
    Ok(())
}

fn apply_pull(
    tx: &rusqlite::Transaction<'_>,
    cache: &mut super::cache::DocCache,
    kept: &mut Vec<(String, TaskDoc, u32)>,
    pull: &DocPull,
    now: i64,
    applied: &mut Applied,
) -> Result<(), StoreError> {
    let server_heads = wire::heads_from_wire(&pull.heads)?;
    let exists: bool = tx
        .prepare_cached("SELECT count(*) FROM documents WHERE task_id = ?1")?
        .query_row([&pull.id], |r| r.get::<_, i64>(0))?
        > 0;
    if !exists {
        // A task new to the tablet must arrive whole: anything else (a
        // delta without what it builds on) is asked for again.
        let mut doc = match TaskDoc::load_checked_before(&pull.changes) {
            Ok(doc) => doc,
            Err(_) => return ask_repair(tx, &pull.id, now, applied),
        };
        let Some(summary) = complete(&mut doc) else {
            return ask_repair(tx, &pull.id, now, applied);
        };
        // A whole answer (`f`) is a saved document by the protocol: it is
        // kept as received, since it loaded and was checked above, and not
        // saved again: that save was a quarter of a fresh tablet's own time
        // (the sync bench). Anything else is saved.
        let saved;
        let snapshot: &[u8] = if pull.full {
            &pull.changes
        } else {
            saved = doc.save();
            &saved
        };
        tx.prepare_cached(
            "INSERT INTO documents (task_id, snapshot, snapshot_seq, server_heads) VALUES (?1, ?2, 0, ?3)",
        )?
        .execute(params![
            pull.id,
            snapshot,
            fieldloop_core::sync::heads_to_bytes(&server_heads)
        ])?;
        write_index(tx, &summary, false, now)?;
        tx.prepare_cached("DELETE FROM repairs WHERE task_id = ?1")?
            .execute([&pull.id])?;
        applied.added += 1;
        kept.push((pull.id.clone(), doc, 0));
        return Ok(());
    }
    // Left out of the cache if it cannot be merged: the stored copy stays.
    let (mut doc, mut last_seq) = take(tx, cache, kept, &pull.id)?;
    let before = doc.heads();
    let merged = if pull.full {
        TaskDoc::load_checked_before(&pull.changes).and_then(|mut theirs| doc.merge(&mut theirs))
    } else if !pull.changes.is_empty() {
        doc.load_incremental(&pull.changes).map(|_| ())
    } else {
        Ok(())
    };
    if merged.is_err() {
        return ask_repair(tx, &pull.id, now, applied);
    }
    // Nothing new merged: the copy is the one kept, read whole when it
    // arrived or was edited. Otherwise changes that build on something the
    // tablet lacks wait in Automerge's queue and change nothing; the stored
    // copy stays as it was and the task is asked for again whole.
    let queued = !doc.automerge().get_missing_deps(&[]).is_empty();
    let summary = if !queued && doc.heads() == before {
        doc.summary()?
    } else {
        match complete(&mut doc) {
            Some(summary) => summary,
            None => return ask_repair(tx, &pull.id, now, applied),
        }
    };
    tx.prepare_cached("DELETE FROM repairs WHERE task_id = ?1")?
        .execute([&pull.id])?;
    let chunk = doc.save_after(&before);
    if !chunk.is_empty() {
        tx.prepare_cached("INSERT INTO doc_chunks (task_id, seq, bytes) VALUES (?1, ?2, ?3)")?
            .execute(params![pull.id, last_seq + 1, chunk])?;
        applied.updated += 1;
        let snapshot_seq: u32 = tx
            .prepare_cached("SELECT snapshot_seq FROM documents WHERE task_id = ?1")?
            .query_row([&pull.id], |r| r.get(0))?;
        if last_seq + 1 - snapshot_seq >= COMPACT_AFTER_CHUNKS {
            compact_in(tx, &pull.id, &mut doc, last_seq + 1)?;
        }
        last_seq += 1;
    }
    let known = if pull.resend {
        Vec::new()
    } else {
        server_heads
    };
    if pull.resend {
        applied.resend += 1;
    }
    // Dirty while the tablet has a change the server does not.
    let dirty = pull.resend || !doc.save_after(&known).is_empty();
    write_index(tx, &summary, dirty, now)?;
    mark_server_heads(tx, &pull.id, &known, dirty)?;
    kept.push((pull.id.clone(), doc, last_seq));
    Ok(())
}

/// What the server holds of task `id` (its heads), and whether the tablet
/// has changes beyond them.
fn mark_server_heads(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    heads: &[automerge::ChangeHash],
    dirty: bool,
) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE documents SET server_heads = ?2 WHERE task_id = ?1")?
        .execute(params![id, fieldloop_core::sync::heads_to_bytes(heads)])?;
    tx.prepare_cached("UPDATE task_index SET dirty = ?2 WHERE task_id = ?1")?
        .execute(params![id, dirty])?;
    Ok(())
}

/// Task `id`'s document as this transaction has it so far: from what it
/// already changed, the cache, or the database.
fn take(
    tx: &rusqlite::Transaction<'_>,
    cache: &mut super::cache::DocCache,
    kept: &mut Vec<(String, TaskDoc, u32)>,
    id: &str,
) -> Result<(TaskDoc, u32), StoreError> {
    match kept.iter().rposition(|(task, ..)| task == id) {
        Some(at) => {
            let (_, doc, seq) = kept.remove(at);
            Ok((doc, seq))
        }
        None => cache.take(tx, id),
    }
}
