//! Recent feed deltas kept in memory, so that the many tablets of a squad
//! syncing after the same edit do not each read it from the database.
//!
//! What a device at cursor `c` lacks of a task (its heads at `c` and the
//! changes of its entries after `c`, [`TaskSince`]) depends on `c` only
//! through the task's first feed entry after `c`: its heads at `c` are
//! those of the entry just before that one, and the changes are those of
//! that entry and every later one. A feed page lists each task with that
//! first entry and its latest (`FeedTask::first`, `FeedTask::last`), so
//! the key `(task, first, last)` names exactly one delta for every cursor
//! that lists it so: no invalidation is needed, across instances too
//! (feed entries never change once committed; a new entry makes a new
//! `last`). A delta read from the store may carry entries committed after
//! the listing, beyond `last`: that answer was right when read and stays
//! right for the key (the device merely receives those changes early, as
//! it would from the store).
//!
//! Only deltas of changes are kept ([`TaskDelta::Changes`], at most
//! [`DELTA_CACHE_ENTRY_BYTES`] each), in two generations: when the newer
//! holds half of [`DELTA_CACHE_BYTES`] it becomes the older and the older
//! is dropped, so the cache never holds more than its bound and what was
//! used lately stays (a hit in the older generation moves to the newer).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::{FeedTask, TaskDelta, TaskSince};

/// Bytes of changes the cache of one instance holds at most, by default.
pub const DELTA_CACHE_BYTES: usize = 32 * 1024 * 1024;
/// A delta larger than this is not kept (it is rare, and would crowd out
/// many small ones).
pub const DELTA_CACHE_ENTRY_BYTES: usize = 256 * 1024;

type Key = (String, u64, u64);

#[derive(Debug, Default)]
struct Generations {
    newer: HashMap<Key, TaskSince>,
    newer_bytes: usize,
    older: HashMap<Key, TaskSince>,
    older_bytes: usize,
}

/// See the module documentation.
#[derive(Debug)]
pub struct DeltaCache {
    generations: Mutex<Generations>,
    /// Bytes held at most (both generations together); 0: nothing kept.
    budget: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for DeltaCache {
    fn default() -> Self {
        Self::new(DELTA_CACHE_BYTES)
    }
}

/// The bytes an entry is counted for.
fn size(key: &Key, since: &TaskSince) -> usize {
    let changes = match &since.delta {
        TaskDelta::Changes(changes) => changes.len(),
        TaskDelta::Whole { doc, .. } => doc.len(),
    };
    changes + key.0.len() + since.heads.len() * 32 + 64
}

impl DeltaCache {
    /// A cache holding at most `budget` bytes (0: a cache that keeps nothing).
    pub fn new(budget: usize) -> Self {
        Self {
            generations: Mutex::default(),
            budget,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn key(task: &FeedTask) -> Key {
        (task.id.clone(), task.first, task.last)
    }

    /// The delta of `task` as listed, if kept.
    pub fn get(&self, task: &FeedTask) -> Option<TaskSince> {
        let key = Self::key(task);
        let mut g = self.lock();
        let found = match g.newer.get(&key) {
            Some(since) => Some(since.clone()),
            None => g.older.remove(&key).map(|since| {
                g.older_bytes = g.older_bytes.saturating_sub(size(&key, &since));
                let copy = since.clone();
                self.insert(&mut g, key, since);
                copy
            }),
        };
        drop(g);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps the delta of `task` as listed, when it is changes and small.
    pub fn put(&self, task: &FeedTask, since: &TaskSince) {
        let small =
            matches!(&since.delta, TaskDelta::Changes(c) if c.len() <= DELTA_CACHE_ENTRY_BYTES);
        if !small || self.budget == 0 {
            return;
        }
        let mut g = self.lock();
        self.insert(&mut g, Self::key(task), since.clone());
    }

    fn insert(&self, g: &mut Generations, key: Key, since: TaskSince) {
        let bytes = size(&key, &since);
        if bytes > self.budget / 2 {
            return;
        }
        if let Some(old) = g.newer.remove(&key) {
            // The same key again (two requests read it at once).
            g.newer_bytes = g.newer_bytes.saturating_sub(size(&key, &old));
        }
        if g.newer_bytes + bytes > self.budget / 2 {
            g.older = std::mem::take(&mut g.newer);
            g.older_bytes = std::mem::take(&mut g.newer_bytes);
        }
        g.newer.insert(key, since);
        g.newer_bytes += bytes;
    }

    /// (hits, misses) since the start.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Bytes held now (both generations).
    pub fn bytes(&self) -> usize {
        let g = self.lock();
        g.newer_bytes + g.older_bytes
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn task(id: &str, first: u64, last: u64) -> FeedTask {
        FeedTask {
            id: id.into(),
            first,
            last,
        }
    }

    fn changes(n: usize, byte: u8) -> TaskSince {
        TaskSince {
            heads: Vec::new(),
            delta: TaskDelta::Changes(vec![byte; n]),
        }
    }

    #[test]
    fn a_delta_is_found_by_its_task_first_and_last_entry_only() {
        let cache = DeltaCache::default();
        cache.put(&task("a", 5, 9), &changes(10, 1));
        assert_eq!(cache.get(&task("a", 5, 9)), Some(changes(10, 1)));
        // Another first entry (a cursor past entry 5) or a newer last entry
        // (something committed since) is another delta.
        assert_eq!(cache.get(&task("a", 6, 9)), None);
        assert_eq!(cache.get(&task("a", 5, 10)), None);
        assert_eq!(cache.get(&task("b", 5, 9)), None);
        assert_eq!(cache.counts(), (1, 3));
    }

    #[test]
    fn whole_documents_large_deltas_and_a_zero_budget_keep_nothing() {
        let cache = DeltaCache::default();
        let whole = TaskSince {
            heads: Vec::new(),
            delta: TaskDelta::Whole {
                doc: vec![0; 10],
                base: None,
                chunks: 0,
            },
        };
        cache.put(&task("a", 1, 1), &whole);
        cache.put(&task("b", 1, 1), &changes(DELTA_CACHE_ENTRY_BYTES + 1, 0));
        assert_eq!(cache.get(&task("a", 1, 1)), None);
        assert_eq!(cache.get(&task("b", 1, 1)), None);
        assert_eq!(cache.bytes(), 0);
        let off = DeltaCache::new(0);
        off.put(&task("a", 1, 1), &changes(1, 0));
        assert_eq!(off.get(&task("a", 1, 1)), None);
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_keeps_what_was_used_lately() {
        let budget = 64 * 1024;
        let cache = DeltaCache::new(budget);
        // A delta used all along survives many others passing through.
        cache.put(&task("hot", 1, 1), &changes(1_000, 7));
        for n in 0..1_000u64 {
            cache.put(&task("cold", n, n), &changes(1_000, 0));
            assert!(cache.bytes() <= budget, "{} bytes", cache.bytes());
            assert!(cache.get(&task("hot", 1, 1)).is_some(), "lost at {n}");
        }
        // The oldest cold ones are gone.
        assert_eq!(cache.get(&task("cold", 0, 0)), None);
        assert!(cache.get(&task("cold", 999, 999)).is_some());
        // The same key twice counts once.
        let before = cache.bytes();
        cache.put(&task("cold", 999, 999), &changes(1_000, 0));
        assert_eq!(cache.bytes(), before);
    }
}
