//! Loading, saving, merging and forking the Automerge document behind a task.

use automerge::{AutoCommit, ChangeHash};

use super::TaskDoc;
use crate::error::TaskError;

impl TaskDoc {
    /// Loads a document saved with [`TaskDoc::save`] (optionally followed by
    /// incremental chunks) and checks that it is a task.
    pub fn load(bytes: &[u8]) -> Result<Self, TaskError> {
        let doc = AutoCommit::load(bytes)?;
        let this = Self { doc };
        this.task()?;
        Ok(this)
    }

    /// Loads a document this program saved after checking it (a tablet's
    /// own store): Automerge still checks the bytes (chunk checksums and
    /// structure), but the document is not read through again as a task,
    /// which [`TaskDoc::load`] does and which costs as much as the load.
    pub fn load_checked_before(bytes: &[u8]) -> Result<Self, TaskError> {
        Ok(Self {
            doc: AutoCommit::load(bytes)?,
        })
    }

    /// Applies an incremental chunk or a `save_after` delta.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<usize, TaskError> {
        Ok(self.doc.load_incremental(bytes)?)
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes made since the last `save` or `save_incremental` of this
    /// value. A freshly loaded document has no such cursor and returns
    /// everything: use [`TaskDoc::save_after`] with the heads you started from.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    /// Everything that is not a dependency of `heads`.
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Merges another replica of the same task into this one.
    pub fn merge(&mut self, other: &mut TaskDoc) -> Result<(), TaskError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// An independent replica (another tablet's copy).
    pub fn fork(&mut self) -> TaskDoc {
        TaskDoc {
            doc: self.doc.fork(),
        }
    }

    /// Wraps a document read elsewhere (the policy's submit check).
    pub(crate) fn from_automerge(doc: AutoCommit) -> Self {
        Self { doc }
    }

    /// Wraps a document built elsewhere, checking that it is a task.
    pub fn from_document(doc: AutoCommit) -> Result<Self, TaskError> {
        let this = Self { doc };
        this.task()?;
        Ok(this)
    }

    /// The underlying Automerge document, for sync and storage layers.
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}
