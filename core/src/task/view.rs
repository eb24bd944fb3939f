//! Typed reads of a task document: the whole task, its status, the summary
//! for the task index, and the audit trail.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use automerge::transaction::Transactable as _;
use automerge::{ChangeHash, ROOT};
use autosurgeon::Hydrate;
use lru::LruCache;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{ActorInfo, Millis, Task, TaskDoc, TaskSubject, Window};
use crate::error::TaskError;
use crate::status::{self, Event, Status, StatusReport};
use crate::walk::{Walked, hydrate, hydrate_prop};

/// What the task index needs, without the whole document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TaskSummary {
    pub id: String,
    pub code: String,
    pub subject_name: String,
    pub uscc: String,
    pub status: Status,
    pub due: Millis,
    pub departments: Vec<String>,
}

/// The parts of a task its summary is made of (autosurgeon reads only the
/// keys named here).
#[derive(Hydrate)]
struct SummaryFields {
    id: String,
    code: String,
    subject: TaskSubject,
    departments: Vec<String>,
    inspectors: Vec<String>,
    window: Window,
    events: Vec<Event>,
}

/// The summary of the fields it is made of, however they were read.
fn summarise(
    id: String,
    code: String,
    subject: TaskSubject,
    events: &[Event],
    inspectors: &[String],
    due: Millis,
    departments: Vec<String>,
) -> Result<TaskSummary, TaskError> {
    let status = status::fold(events, inspectors)
        .status
        .ok_or_else(|| TaskError::Malformed("no valid “assigned” event".into()))?;
    Ok(TaskSummary {
        id,
        code,
        subject_name: subject.name,
        uscc: subject.uscc,
        status,
        due,
        departments,
    })
}

impl Task {
    /// [`TaskDoc::summary`] of a task already read whole, without reading
    /// the document again.
    pub fn summary(&self) -> Result<TaskSummary, TaskError> {
        summarise(
            self.id.clone(),
            self.code.clone(),
            self.subject.clone(),
            &self.events,
            &self.inspectors,
            self.window.due,
            self.departments.clone(),
        )
    }
}

/// Whole-task reads [`TaskDoc::task`] keeps, by heads: at most this many.
pub const TASK_READS_KEPT: usize = 128;
/// A whole-task read that read more than this ([`Walked::bytes_read`]) is
/// not kept, so the kept reads hold at most about
/// `TASK_READS_KEPT × TASK_READ_KEPT_BYTES` (32 MiB) whatever a device
/// wrote into its tasks. The benchmarks' task in progress (17 items, half
/// of them answered with a photo) reads about 21 KiB.
pub const TASK_READ_KEPT_BYTES: usize = 256 * 1024;

/// The process's kept whole-task reads, the most recently used kept (as
/// `Arc`s, so that the lock is held only to find one, not to copy it).
fn kept_reads() -> &'static Mutex<LruCache<Vec<ChangeHash>, Arc<Task>>> {
    static KEPT: OnceLock<Mutex<LruCache<Vec<ChangeHash>, Arc<Task>>>> = OnceLock::new();
    KEPT.get_or_init(|| {
        Mutex::new(LruCache::new(
            NonZeroUsize::new(TASK_READS_KEPT).expect("TASK_READS_KEPT is not zero"),
        ))
    })
}

impl TaskDoc {
    /// The typed view of the whole document.
    ///
    /// Reading a task whole costs a few hundred microseconds for a demo
    /// task, and the same state is read again and again: the server before
    /// and after a push, a tablet checking what it pulled and then showing
    /// it. A document's heads are hashes of its whole history, so two
    /// documents with the same heads and nothing uncommitted hold the same
    /// task: such reads are kept, by heads, for the whole process
    /// ([`TASK_READS_KEPT`] of them, none larger than
    /// [`TASK_READ_KEPT_BYTES`]) and given again as copies. A document
    /// with uncommitted operations is always read through.
    pub fn task(&self) -> Result<Task, TaskError> {
        let heads = self.doc.base_heads();
        if heads.is_empty() || self.doc.pending_ops() > 0 {
            return Ok(hydrate(&self.doc)?);
        }
        let kept = kept_reads()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&heads)
            .cloned();
        if let Some(task) = kept {
            return Ok(Task::clone(&task));
        }
        let walked = Walked::new(&self.doc);
        let task: Task = autosurgeon::hydrate(&walked)?;
        if walked.bytes_read() <= TASK_READ_KEPT_BYTES {
            kept_reads()
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .put(heads, Arc::new(task.clone()));
        }
        Ok(task)
    }

    /// [`TaskDoc::task`] read from this document itself, never a kept read:
    /// for checks that two documents with the same heads read alike.
    pub fn task_fresh(&self) -> Result<Task, TaskError> {
        Ok(hydrate(&self.doc)?)
    }

    /// [`TaskDoc::task_fresh`] and [`TaskDoc::conflicts`] from one reading
    /// of the document.
    pub fn task_and_conflicts_fresh(&self) -> Result<(Task, Vec<crate::Conflict>), TaskError> {
        crate::walk::task_and_conflicts(&self.doc)
    }

    pub fn status_report(&self) -> Result<StatusReport, TaskError> {
        let events: Vec<Event> = hydrate_prop(&self.doc, ROOT, "events")?;
        let inspectors: Vec<String> = hydrate_prop(&self.doc, ROOT, "inspectors")?;
        Ok(status::fold(&events, &inspectors))
    }

    /// The derived status; a document without a valid `assigned` event is malformed.
    pub fn status(&self) -> Result<Status, TaskError> {
        self.status_report()?
            .status
            .ok_or_else(|| TaskError::Malformed("no valid “assigned” event".into()))
    }

    /// What the task index needs. Reads only those parts of the document
    /// (not its evidence, trace or answers), so it costs the same however
    /// much was recorded; [`TaskDoc::task`] is what checks the whole.
    pub fn summary(&self) -> Result<TaskSummary, TaskError> {
        let head: SummaryFields = hydrate(&self.doc)?;
        summarise(
            head.id,
            head.code,
            head.subject,
            &head.events,
            &head.inspectors,
            head.window.due,
            head.departments,
        )
    }

    /// The audit trail: every change, who made it, when and what.
    pub fn history(&mut self) -> Result<Vec<crate::HistoryEntry>, TaskError> {
        let actors: BTreeMap<String, ActorInfo> = hydrate_prop(&self.doc, ROOT, "actors")?;
        Ok(crate::history::entries(&mut self.doc, &actors))
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable as _;
    use automerge::{ActorId, ROOT, ReadDoc as _};

    use super::{PoisonError, TASK_READ_KEPT_BYTES, kept_reads};
    use crate::demo::DemoData;
    use crate::{Author, Role, TaskDoc};

    fn demo_task() -> TaskDoc {
        let data = DemoData::embedded().expect("demo data");
        let spec = data.task_specs(1, 0).expect("spec").remove(0);
        let supervisor = Author::new(ActorId::from(vec![200; 16]), "S-001", Role::Supervisor);
        TaskDoc::create(spec, &supervisor, 0).expect("create")
    }

    fn is_kept(doc: &mut TaskDoc) -> bool {
        let heads = doc.heads();
        kept_reads()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&heads)
    }

    #[test]
    fn a_read_larger_than_the_bound_is_given_but_not_kept() {
        let mut small = demo_task();
        small.task().expect("read");
        assert!(is_kept(&mut small));
        // Whatever a device managed to write into a task: read, not kept.
        let mut big = demo_task();
        let long = "长".repeat(TASK_READ_KEPT_BYTES / 3 + 1);
        let doc = big.automerge();
        let subject = match doc.get(ROOT, "subject") {
            Ok(Some((_, subject))) => subject,
            other => panic!("no subject: {other:?}"),
        };
        doc.put(&subject, "name", long.as_str()).expect("put");
        doc.commit();
        assert_eq!(big.task().expect("read").subject.name, long);
        assert!(!is_kept(&mut big));
    }
}
