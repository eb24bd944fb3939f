//! Creating a task document from a [`TaskSpec`].

use std::collections::BTreeMap;

use automerge::AutoCommit;
use automerge::transaction::CommitOptions;
use autosurgeon::reconcile;

use super::{
    ActorInfo, Answer, Author, ChecklistItem, MIN_CHECKED_IN, Millis, RecordNotes, SCHEMA, Task,
    TaskDoc, TaskKind, TaskSpec, TaskSubject,
};
use crate::error::TaskError;
use crate::status::{Event, EventKind, Role};

impl TaskDoc {
    /// Creates a task. Only a supervisor or an administrator may.
    pub fn create(spec: TaskSpec, author: &Author, at: Millis) -> Result<Self, TaskError> {
        Self::create_recheck(spec, author, at, None)
    }

    /// [`TaskDoc::create`], for a re-check task (复查) when `recheck_of` is
    /// given: the finding it follows up is written in the same change.
    pub fn create_recheck(
        spec: TaskSpec,
        author: &Author,
        at: Millis,
        recheck_of: Option<super::RecheckOf>,
    ) -> Result<Self, TaskError> {
        if !matches!(author.role, Role::Supervisor | Role::Admin) {
            return Err(TaskError::CreateNotAllowed);
        }
        let mut inspectors = spec.inspectors.clone();
        inspectors.sort();
        inspectors.dedup();
        if inspectors.len() < MIN_CHECKED_IN {
            return Err(TaskError::TooFewInspectors {
                have: inspectors.len(),
                need: MIN_CHECKED_IN,
            });
        }
        if spec.items.is_empty() {
            return Err(TaskError::EmptyChecklist);
        }
        if spec.window.due < spec.window.start {
            return Err(TaskError::BadWindow);
        }
        let checklist = spec
            .items
            .iter()
            .enumerate()
            .map(|(order, item)| {
                (
                    item.id.clone(),
                    ChecklistItem {
                        department: item.department.clone(),
                        title: item.title.clone(),
                        legal_basis: item.legal_basis.clone(),
                        requires_evidence: item.requires_evidence,
                        order: order as u64,
                        answer: Answer::default(),
                        evidence: Vec::new(),
                    },
                )
            })
            .collect();
        let kind = if spec.departments.len() > 1 {
            TaskKind::Joint
        } else {
            TaskKind::Single
        };
        let s = spec.subject;
        let task = Task {
            schema: SCHEMA,
            id: spec.id,
            code: spec.code,
            kind,
            subject: TaskSubject {
                uscc: s.uscc.to_string(),
                name: s.name,
                address: s.address,
                industry: s.industry,
                risk_class: s.risk_class,
                location: Some(s.location),
                legal_rep: s.legal_rep,
            },
            departments: spec.departments,
            lead_department: spec.lead_department,
            team: spec.team,
            inspectors: spec.inspectors,
            window: spec.window,
            verify_code: spec.verify_code,
            names: Some(spec.names),
            actors: BTreeMap::from([(
                author.actor.to_hex_string(),
                ActorInfo {
                    person: author.person.clone(),
                    role: author.role,
                },
            )]),
            checklist,
            evidence: BTreeMap::new(),
            trace: Vec::new(),
            findings: Vec::new(),
            lead_transfers: Vec::new(),
            signatures: Vec::new(),
            events: vec![Event {
                kind: EventKind::Assigned,
                at,
                by: author.person.clone(),
                role: author.role,
                comment: None,
                location: None,
            }],
            // Created empty with the task so that every tablet edits the
            // same map (field-level merge) rather than racing to create it.
            record_notes: Some(RecordNotes::default()),
            prints: Some(Vec::new()),
            recheck_of,
            claim: spec.claim,
        };
        let mut doc = AutoCommit::new().with_actor(author.actor.clone());
        reconcile(&mut doc, &task)?;
        let message = format!("创建任务 {}：{}", task.code, task.subject.name);
        doc.commit_with(
            CommitOptions::default()
                .with_message(message)
                .with_time(at.div_euclid(1000)),
        );
        Ok(Self { doc })
    }
}
