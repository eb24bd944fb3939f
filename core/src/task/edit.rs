//! How every verb writes: one change per verb with its author's actor
//! registered and the write policy checked, and the checks and lookups the
//! verbs share.

use automerge::transaction::CommitOptions;
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc};
use autosurgeon::{MaybeMissing, reconcile_prop};

use super::{ActorInfo, Author, Millis, TaskDoc};
use crate::error::TaskError;
use crate::status::{self, Event, Role, Status};
use crate::walk::hydrate_prop;

/// Object id of the map or list at `key` under `parent`.
pub(super) fn child(doc: &AutoCommit, parent: &ObjId, key: &str) -> Result<ObjId, TaskError> {
    match doc.get(parent, key)? {
        Some((automerge::Value::Object(_), id)) => Ok(id),
        _ => Err(TaskError::Malformed(format!("missing object “{key}”"))),
    }
}

impl TaskDoc {
    /// Runs `edit` as one change by `author` at `at` with `message`.
    /// On error nothing is committed.
    pub(super) fn change<T>(
        &mut self,
        author: &Author,
        at: Millis,
        message: String,
        edit: impl FnOnce(&mut AutoCommit) -> Result<T, TaskError>,
    ) -> Result<T, TaskError> {
        self.doc.set_actor(author.actor.clone());
        let before = self.doc.get_heads();
        let result = self
            .register_actor(author)
            .and_then(|()| edit(&mut self.doc));
        let value = match result {
            Ok(value) => value,
            Err(e) => {
                self.doc.rollback();
                return Err(e);
            }
        };
        let committed = self.doc.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(at.div_euclid(1000)),
        );
        // The same write policy the server applies, before anything is kept.
        if let Some(change) = committed.and_then(|hash| self.doc.get_change_by_hash(&hash)) {
            let writer = crate::policy::Writer {
                actor: author.actor.clone(),
                person: author.person.clone(),
                role: author.role,
                certified: None,
            };
            if let Err(refusal) = crate::policy::check(&mut self.doc, &[change], &writer) {
                self.doc = self.doc.fork_at(&before)?;
                self.doc.set_actor(author.actor.clone());
                return Err(TaskError::Refused(Box::new(refusal)));
            }
        }
        Ok(value)
    }

    fn register_actor(&mut self, author: &Author) -> Result<(), TaskError> {
        let actors = child(&self.doc, &ROOT, "actors")?;
        let key = author.actor.to_hex_string();
        let known: MaybeMissing<ActorInfo> = hydrate_prop(&self.doc, &actors, key.as_str())?;
        let info = ActorInfo {
            person: author.person.clone(),
            role: author.role,
        };
        match known {
            MaybeMissing::Present(k) if k == info => Ok(()),
            MaybeMissing::Present(k) => Err(TaskError::ActsForAnother {
                device: k.person,
                author: author.person.clone(),
            }),
            MaybeMissing::Missing => {
                Ok(reconcile_prop(&mut self.doc, &actors, key.as_str(), &info)?)
            }
        }
    }

    /// Refuses data edits by anyone but an inspector of the task, and any
    /// data edit once the task is submitted, approved, published or cancelled.
    /// Reads only the inspectors and events, not the whole document.
    pub(super) fn check_inspector_may_edit(&self, author: &Author) -> Result<(), TaskError> {
        let inspectors: Vec<String> = hydrate_prop(&self.doc, ROOT, "inspectors")?;
        if author.role != Role::Inspector || !inspectors.contains(&author.person) {
            return Err(TaskError::NotAnInspector(author.person.clone()));
        }
        let events: Vec<Event> = hydrate_prop(&self.doc, ROOT, "events")?;
        let status = status::fold(&events, &inspectors).status;
        if let Some(
            s @ (Status::Submitted | Status::Approved | Status::Published | Status::Cancelled),
        ) = status
        {
            return Err(TaskError::Frozen(s));
        }
        Ok(())
    }

    /// Whether the map at the root key `map` has `key`.
    pub(super) fn contains(&self, map: &str, key: &str) -> Result<bool, TaskError> {
        let obj = child(&self.doc, &ROOT, map)?;
        Ok(self.doc.get(&obj, key)?.is_some())
    }

    /// Length of the list at the root key `list`.
    pub(super) fn len_of(&self, list: &str) -> Result<usize, TaskError> {
        Ok(self.doc.length(&child(&self.doc, &ROOT, list)?))
    }
}
