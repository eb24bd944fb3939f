//! The documents a store's connection last read or wrote, kept in memory so
//! that the next edit, push or merge of the same task does not load it again
//! from its snapshot and chunks (decompressing and indexing the whole
//! history each time).
//!
//! The cache only ever holds what is committed: a write takes its task's
//! document out, changes it, and puts it back only once its transaction has
//! committed. A write that fails, or a crash that unwinds through it, leaves
//! the task out of the cache, and the next use loads it from the database.
//! Another connection's commit (a second store opened on the same file)
//! changes SQLite's `data_version`, and the whole cache is dropped at the
//! next use.

use std::collections::VecDeque;

use fieldloop_core::TaskDoc;
use rusqlite::Connection;

use super::StoreError;

/// Documents kept at most: a squad works on a few tasks at a time; the
/// sync of many tasks goes through them one by one and gains nothing from
/// keeping more.
pub(super) const CACHED_DOCS: usize = 8;

#[derive(Default)]
pub(super) struct DocCache {
    /// `PRAGMA data_version` when the entries were read.
    version: Option<i64>,
    /// Most recently used last: task id, document, its last chunk number.
    docs: VecDeque<(String, TaskDoc, u32)>,
}

impl std::fmt::Debug for DocCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocCache")
            .field("version", &self.version)
            .field(
                "tasks",
                &self.docs.iter().map(|(id, ..)| id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl DocCache {
    /// Drops everything if another connection committed since the entries
    /// were read.
    pub(super) fn check(&mut self, conn: &Connection) -> Result<(), StoreError> {
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.version != Some(version) {
            self.docs.clear();
            self.version = Some(version);
        }
        Ok(())
    }

    /// Takes task `id`'s document out (to change it), or loads it.
    pub(super) fn take(
        &mut self,
        conn: &Connection,
        id: &str,
    ) -> Result<(TaskDoc, u32), StoreError> {
        self.check(conn)?;
        match self.docs.iter().position(|(task, ..)| task == id) {
            Some(at) => {
                let (_, doc, seq) = self.docs.remove(at).expect("position is in range");
                Ok((doc, seq))
            }
            None => super::load(conn, id),
        }
    }

    /// A copy of task `id`'s document (to read it), loading and keeping it
    /// if needed.
    pub(super) fn copy(
        &mut self,
        conn: &Connection,
        id: &str,
    ) -> Result<(TaskDoc, u32), StoreError> {
        let (doc, seq) = self.take(conn, id)?;
        let copy = doc.clone();
        self.keep(id, doc, seq);
        Ok((copy, seq))
    }

    /// Runs `read` on task `id`'s document (loading and keeping it if
    /// needed). `read` must not change what the document holds.
    pub(super) fn with<T>(
        &mut self,
        conn: &Connection,
        id: &str,
        read: impl FnOnce(&mut TaskDoc) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let (mut doc, seq) = self.take(conn, id)?;
        let value = read(&mut doc)?;
        self.keep(id, doc, seq);
        Ok(value)
    }

    /// Keeps `doc` as task `id` is committed now, its last chunk `seq`.
    pub(super) fn keep(&mut self, id: &str, doc: TaskDoc, seq: u32) {
        self.docs.retain(|(task, ..)| task != id);
        if self.docs.len() >= CACHED_DOCS {
            self.docs.pop_front();
        }
        self.docs.push_back((id.to_owned(), doc, seq));
    }

    /// Copies of the kept documents, least recently used first.
    #[cfg(feature = "faults")]
    pub(super) fn entries(&self) -> Vec<(String, TaskDoc, u32)> {
        self.docs.iter().cloned().collect()
    }

    /// Keeps `docs` (least recently used first) in place of everything,
    /// as what `conn`'s database holds now.
    #[cfg(feature = "faults")]
    pub(super) fn replace(
        &mut self,
        conn: &Connection,
        docs: Vec<(String, TaskDoc, u32)>,
    ) -> Result<(), StoreError> {
        self.version = None;
        self.check(conn)?;
        self.docs = docs.into_iter().collect();
        while self.docs.len() > CACHED_DOCS {
            self.docs.pop_front();
        }
        Ok(())
    }
}
