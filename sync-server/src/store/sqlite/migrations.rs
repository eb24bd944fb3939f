//! The schema, one `.sql` file per version, and the data steps that go
//! with some versions.

use fieldloop_core::TaskDoc;
use rusqlite::params;
use rusqlite_migration::{HookError, HookResult, M, Migrations};

/// V2's data step: the codes of the tasks created before V2, read from their documents.
fn index_task_codes(tx: &rusqlite::Transaction<'_>) -> HookResult {
    let tasks: Vec<(String, Vec<u8>)> = tx
        .prepare("SELECT id, doc FROM tasks")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, doc) in tasks {
        let task = TaskDoc::load(&doc)
            .and_then(|d| d.task())
            .map_err(|e| HookError::Hook(format!("task {id}: {e}")))?;
        tx.execute(
            "INSERT INTO task_codes (task_id, code, verify_code) VALUES (?1, ?2, ?3)",
            params![id, task.code, task.verify_code],
        )?;
    }
    Ok(())
}

/// V4's data step: blobs uploaded before V4 have no recorded uploader; each
/// evidence hash a task lists is given to the task's team.
fn own_listed_blobs(tx: &rusqlite::Transaction<'_>) -> HookResult {
    let tasks: Vec<(String, String, Vec<u8>)> = tx
        .prepare("SELECT id, team, doc FROM tasks")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (id, team, doc) in tasks {
        let task = TaskDoc::load(&doc)
            .and_then(|d| d.task())
            .map_err(|e| HookError::Hook(format!("task {id}: {e}")))?;
        for sha in task_blobs(&task) {
            tx.execute(
                "INSERT OR IGNORE INTO blob_owners (sha256, team, device_id, uploaded_at) VALUES (?1, ?2, 'before-v4', 0)",
                params![sha, team],
            )?;
        }
    }
    Ok(())
}

/// Every blob a task refers to: evidence, its display copies and thumbnails.
fn task_blobs(task: &fieldloop_core::Task) -> impl Iterator<Item = &String> {
    task.evidence.values().flat_map(|e| {
        std::iter::once(&e.sha256)
            .chain(e.thumb_sha256.as_ref())
            .chain(e.display_sha256.as_ref())
    })
}

/// V6's data step: the console's index rows of the tasks written before V6.
fn index_tasks(tx: &rusqlite::Transaction<'_>) -> HookResult {
    let tasks: Vec<(String, Vec<u8>)> = tx
        .prepare("SELECT id, doc FROM tasks")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, doc) in tasks {
        let index = TaskDoc::load(&doc)
            .and_then(|mut d| crate::console::TaskIndex::of(d.automerge()))
            .map_err(|e| HookError::Hook(format!("task {id}: {e}")))?;
        super::index::write_index(tx, &index, 0)?;
    }
    Ok(())
}

/// V10's data step: the lead transfers recorded in tasks before V10
/// become leads, as every task write makes them from then on.
fn lead_transfers_before_v10(tx: &rusqlite::Transaction<'_>) -> HookResult {
    let tasks: Vec<(String, Vec<u8>)> = tx
        .prepare("SELECT id, doc FROM tasks")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let now = crate::now_ms();
    for (id, doc) in tasks {
        let index = TaskDoc::load(&doc)
            .and_then(|mut d| crate::console::TaskIndex::of(d.automerge()))
            .map_err(|e| HookError::Hook(format!("task {id}: {e}")))?;
        super::leads::record_transfers(tx, &index, now)
            .map_err(|e| HookError::Hook(format!("task {id}: {e}")))?;
    }
    Ok(())
}

pub(super) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/v1.sql")),
        M::up_with_hook(include_str!("migrations/v2.sql"), index_task_codes),
        M::up(include_str!("migrations/v3.sql")),
        M::up_with_hook(include_str!("migrations/v4.sql"), own_listed_blobs),
        M::up(include_str!("migrations/v5.sql")),
        M::up_with_hook(include_str!("migrations/v6.sql"), index_tasks),
        M::up(include_str!("migrations/v7.sql")),
        M::up(include_str!("migrations/v8.sql")),
        M::up(include_str!("migrations/v9.sql")),
        M::up_with_hook(
            include_str!("migrations/v10.sql"),
            lead_transfers_before_v10,
        ),
        M::up(include_str!("migrations/v11.sql")),
        M::up(include_str!("migrations/v12.sql")),
        M::up(include_str!("migrations/v13.sql")),
        M::up(include_str!("migrations/v14.sql")),
        M::up(include_str!("migrations/v15.sql")),
        M::up(include_str!("migrations/v16.sql")),
    ])
}
