//! Status events: check-in on site, a supervisor's decisions, and the
//! append that checks each transition.

use automerge::ROOT;
use autosurgeon::reconcile_insert;

use super::edit::child;
use super::{Author, Millis, TaskDoc};
use crate::domain::GeoPoint;
use crate::error::TaskError;
use crate::status::{self, Event, EventKind};
use crate::walk::hydrate_prop;

impl TaskDoc {
    /// Records a check-in on site, with the position if the device has one.
    pub fn check_in(
        &mut self,
        author: &Author,
        at: Millis,
        location: Option<GeoPoint>,
    ) -> Result<(), TaskError> {
        let event = Event {
            kind: EventKind::CheckedIn,
            at,
            by: author.person.clone(),
            role: author.role,
            comment: None,
            location,
        };
        self.append_event(author, event, format!("{} 到场签到", author.person))
    }

    /// Records a supervisor's or admin's decision: returned, approved,
    /// published, cancelled or reopened.
    pub fn decide(
        &mut self,
        author: &Author,
        at: Millis,
        kind: EventKind,
        comment: Option<&str>,
    ) -> Result<(), TaskError> {
        if matches!(
            kind,
            EventKind::Assigned | EventKind::CheckedIn | EventKind::Submitted
        ) {
            return Err(TaskError::NotADecision(kind));
        }
        let verb = match kind {
            EventKind::Returned => "退回",
            EventKind::Approved => "审核通过",
            EventKind::Published => "公示",
            EventKind::Cancelled => "撤销",
            _ => "重新打开",
        };
        let message = match comment {
            Some(c) => format!("{} {verb}：{c}", author.person),
            None => format!("{} {verb}", author.person),
        };
        let event = Event {
            kind,
            at,
            by: author.person.clone(),
            role: author.role,
            comment: comment.map(str::to_owned),
            location: None,
        };
        self.append_event(author, event, message)
    }

    /// Appends a status event after checking that it applies now. A
    /// transition that does not apply is refused and nothing changes.
    pub(super) fn append_event(
        &mut self,
        author: &Author,
        event: Event,
        message: String,
    ) -> Result<(), TaskError> {
        let inspectors: Vec<String> = hydrate_prop(&self.doc, ROOT, "inspectors")?;
        let events: Vec<Event> = hydrate_prop(&self.doc, ROOT, "events")?;
        status::transition(
            status::fold(&events, &inspectors).status,
            &event,
            &inspectors,
        )?;
        let index = events.len();
        self.change(author, event.at, message, |doc| {
            let events = child(doc, &ROOT, "events")?;
            reconcile_insert(doc, events.clone(), index, &event)?;
            Ok(())
        })
    }
}
