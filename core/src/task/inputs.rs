//! What callers hand to the verbs: who is editing, the spec of a new task,
//! and a new piece of evidence.

use automerge::ActorId;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{EvidenceKind, Millis, Window};
use crate::domain::{GeoPoint, Handbook, Item, Subject};
use crate::error::TaskError;
use crate::status::Role;

/// Who is editing: the device's actor and the person and role behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub actor: ActorId,
    pub person: String,
    pub role: Role,
}

impl Author {
    pub fn new(actor: impl Into<ActorId>, person: impl Into<String>, role: Role) -> Self {
        Self {
            actor: actor.into(),
            person: person.into(),
            role,
        }
    }
}

/// What a supervisor fills in to create a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    pub id: String,
    pub code: String,
    pub subject: Subject,
    pub team: String,
    pub inspectors: Vec<String>,
    pub window: Window,
    pub verify_code: String,
    pub departments: Vec<String>,
    pub lead_department: String,
    /// The checklist, in order.
    pub items: Vec<Item>,
    /// Names written into the task (see [`Names`](super::Names)); the
    /// creator fills them from its directory.
    pub names: super::Names,
    /// The signed claim written into the task (see [`crate::claim`]); the
    /// server signs it once the rest of the spec is final.
    pub claim: Option<String>,
}

impl TaskSpec {
    /// Builds the spec of a joint task from an industry handbook: its
    /// departments and the catalog items it names.
    #[allow(clippy::too_many_arguments)]
    pub fn from_handbook(
        id: String,
        code: String,
        subject: Subject,
        handbook: &Handbook,
        catalog: &[Item],
        team: String,
        inspectors: Vec<String>,
        window: Window,
        verify_code: String,
    ) -> Result<Self, TaskError> {
        let items = handbook
            .items
            .iter()
            .map(|id| {
                catalog
                    .iter()
                    .find(|i| &i.id == id)
                    .cloned()
                    .ok_or_else(|| TaskError::UnknownItem(id.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            id,
            code,
            subject,
            team,
            inspectors,
            window,
            verify_code,
            departments: handbook.departments.clone(),
            lead_department: handbook.lead_department.clone(),
            items,
            names: super::Names::default(),
            claim: None,
        })
    }
}

/// The input of [`TaskDoc::add_evidence`](super::TaskDoc::add_evidence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct NewEvidence {
    pub sha256: String,
    pub kind: EvidenceKind,
    pub taken_at: Millis,
    pub location: Option<GeoPoint>,
    pub caption: Option<String>,
    pub mime: String,
    pub bytes: u64,
    pub thumb_sha256: Option<String>,
    pub display_sha256: Option<String>,
    pub item: Option<String>,
}
