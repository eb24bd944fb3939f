//! Task documents kept in memory as this instance last read or wrote them,
//! so that a push does not load its task from the stored bytes again.
//!
//! Loading a task's document (about 0.2 ms for a task in progress, more
//! as it grows) is most of what a push costs beside applying its changes;
//! copying a loaded one costs about 60 times less. A kept document is
//! given only for the very bytes it was loaded from or stored as (the
//! task's snapshot and the changes appended after it): the store is read
//! as before and its bytes compared with the kept ones, so what was
//! written meanwhile by another instance, restored from a backup or
//! changed in any other way is loaded afresh. No invalidation is needed.
//!
//! At most [`DOC_CACHE_BYTES`] of stored bytes are kept (the document in
//! memory is a few times that), none larger than [`DOC_CACHE_ENTRY_BYTES`];
//! the least recently used go first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use automerge::{ActorId, AutoCommit, AutomergeError};
use lru::LruCache;

/// Stored bytes the documents kept by one instance add up to at most, by default.
pub const DOC_CACHE_BYTES: usize = 16 * 1024 * 1024;
/// A document stored larger than this is not kept.
pub const DOC_CACHE_ENTRY_BYTES: usize = 512 * 1024;

/// One kept document and the bytes it stands for.
struct Kept {
    bytes: Vec<u8>,
    doc: AutoCommit,
}

struct Inner {
    kept: LruCache<String, Kept>,
    bytes: usize,
}

/// See the module documentation.
pub struct DocCache {
    inner: Mutex<Inner>,
    /// Stored bytes kept at most; 0: a cache that keeps nothing.
    budget: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for DocCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("DocCache")
            .field("tasks", &inner.kept.len())
            .field("bytes", &inner.bytes)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Default for DocCache {
    fn default() -> Self {
        Self::new(DOC_CACHE_BYTES)
    }
}

impl DocCache {
    /// A cache of at most `budget` stored bytes (0: one that keeps nothing).
    pub fn new(budget: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                kept: LruCache::unbounded(),
                bytes: 0,
            }),
            budget,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Task `id`'s document from its stored `bytes`: a copy of the kept one
    /// if it was kept for exactly these bytes, else loaded (and kept). Like
    /// a loaded document, the copy has an actor of its own.
    pub fn load(&self, id: &str, bytes: &[u8]) -> Result<AutoCommit, AutomergeError> {
        let copy = self
            .lock()
            .kept
            .get(id)
            .filter(|kept| kept.bytes == bytes)
            .map(|kept| kept.doc.clone());
        if let Some(mut doc) = copy {
            self.hits.fetch_add(1, Ordering::Relaxed);
            doc.set_actor(ActorId::random());
            return Ok(doc);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let doc = AutoCommit::load(bytes)?;
        self.keep(id, bytes, &doc);
        Ok(doc)
    }

    /// Keeps `doc` as task `id`'s document stored as `bytes` (what `doc`
    /// loads from: its snapshot, whole or with changes appended).
    pub fn keep(&self, id: &str, bytes: &[u8], doc: &AutoCommit) {
        if self.budget == 0 || bytes.len() > DOC_CACHE_ENTRY_BYTES.min(self.budget) {
            return;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.kept.pop(id) {
            inner.bytes -= old.bytes.len();
        }
        while inner.bytes + bytes.len() > self.budget {
            match inner.kept.pop_lru() {
                Some((_, old)) => inner.bytes -= old.bytes.len(),
                None => break,
            }
        }
        inner.bytes += bytes.len();
        inner.kept.put(
            id.to_owned(),
            Kept {
                bytes: bytes.to_vec(),
                doc: doc.clone(),
            },
        );
    }

    /// Loads answered from a kept document, and loaded from bytes.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable as _;
    use automerge::{AutoCommit, ROOT, ReadDoc as _};

    use super::DocCache;

    fn doc_with(name: &str) -> (AutoCommit, Vec<u8>) {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "name", name).expect("put");
        let bytes = doc.save();
        (doc, bytes)
    }

    fn name(doc: &AutoCommit) -> String {
        match doc.get(ROOT, "name").expect("get") {
            Some((value, _)) => value.into_string().expect("a string"),
            None => panic!("no name"),
        }
    }

    #[test]
    fn a_kept_document_is_given_only_for_its_own_bytes() {
        let cache = DocCache::default();
        let (_, first) = doc_with("甲");
        let loaded = cache.load("T-1", &first).expect("load");
        assert_eq!(cache.hits_and_misses(), (0, 1));
        let again = cache.load("T-1", &first).expect("load");
        assert_eq!(cache.hits_and_misses(), (1, 1));
        assert_eq!(name(&again), "甲");
        // Copies, each with an actor of its own.
        assert_ne!(loaded.get_actor(), again.get_actor());
        // Other bytes for the same task (written by another instance):
        // loaded from them, not the kept document.
        let (_, second) = doc_with("乙");
        assert_eq!(name(&cache.load("T-1", &second).expect("load")), "乙");
        assert_eq!(cache.hits_and_misses(), (1, 2));
        // Bytes that do not load are refused as before.
        assert!(cache.load("T-1", b"not a document").is_err());
    }

    #[test]
    fn a_written_document_is_kept_for_the_bytes_it_saves_to_within_the_budget() {
        let (mut doc, _) = doc_with("甲");
        doc.put(ROOT, "name", "丙").expect("put");
        let written = doc.save();
        let (_, other) = doc_with("丁");
        // Room for two documents.
        let cache = DocCache::new(written.len() + other.len());
        cache.keep("T-1", &written, &doc);
        assert_eq!(name(&cache.load("T-1", &written).expect("load")), "丙");
        assert_eq!(cache.hits_and_misses(), (1, 0));
        // Two more tasks: the least recently used one goes.
        cache.load("T-2", &other).expect("load");
        cache.load("T-3", &other).expect("load");
        cache.load("T-1", &written).expect("load");
        assert_eq!(cache.hits_and_misses(), (1, 3), "T-1 was dropped for T-3");
        cache.load("T-3", &other).expect("load");
        assert_eq!(cache.hits_and_misses(), (2, 3), "T-3 stayed");
        // A cache of nothing keeps nothing.
        let none = DocCache::new(0);
        none.load("T-1", &written).expect("load");
        none.load("T-1", &written).expect("load");
        assert_eq!(none.hits_and_misses(), (0, 2));
    }
}
