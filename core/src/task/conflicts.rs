//! Concurrent edits that left several values, and resolving them.

use std::collections::BTreeMap;

use automerge::ROOT;

use super::{ActorInfo, Author, Millis, TaskDoc};
use crate::error::TaskError;
use crate::walk::hydrate_prop;

impl TaskDoc {
    /// Fields where concurrent edits left several values.
    pub fn conflicts(&self) -> Result<Vec<crate::Conflict>, TaskError> {
        let actors: BTreeMap<String, ActorInfo> = hydrate_prop(&self.doc, ROOT, "actors")?;
        crate::conflict::conflicts(&self.doc, &actors)
    }

    /// [`TaskDoc::conflicts`] with the time each value was written.
    pub fn conflicts_with_times(&mut self) -> Result<Vec<crate::Conflict>, TaskError> {
        let mut conflicts = self.conflicts()?;
        crate::conflict::add_times(&mut self.doc, &mut conflicts);
        Ok(conflicts)
    }

    /// Resolves one conflict by writing the chosen value over all of them.
    pub fn resolve_conflict(
        &mut self,
        author: &Author,
        at: Millis,
        path: &[String],
        choice: &crate::Resolution,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        let message = format!("解决冲突 {}", path.join("/"));
        self.change(author, at, message, |doc| {
            crate::conflict::resolve(doc, path, choice)
        })
    }
}
