//! Submitting a task for review, and what stands in the way.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Author, MIN_CHECKED_IN, Millis, Outcome, SignerRole, Task, TaskDoc};
use crate::Conflict;
use crate::error::TaskError;
use crate::status::{Event, EventKind};

/// Why a task cannot be submitted yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SubmitProblem {
    TooFewCheckedIn {
        have: u32,
        need: u32,
    },
    Unanswered {
        item: String,
    },
    MissingEvidence {
        item: String,
    },
    /// An inspector who checked in has not signed the record.
    InspectorUnsigned {
        inspector: String,
    },
    /// The business's representative has neither signed nor refused to sign.
    EnterpriseUnsigned,
    OpenConflict {
        path: String,
    },
}

impl std::fmt::Display for SubmitProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooFewCheckedIn { have, need } => {
                write!(f, "签到执法人员不足：已签到 {have} 人，至少需要 {need} 人")
            }
            Self::Unanswered { item } => write!(f, "检查项 {item} 尚未填写结果"),
            Self::MissingEvidence { item } => write!(f, "检查项 {item} 需要上传证据"),
            Self::InspectorUnsigned { inspector } => {
                write!(f, "执法人员 {inspector} 尚未签名")
            }
            Self::EnterpriseUnsigned => write!(f, "企业负责人尚未签名，也未记录拒签"),
            Self::OpenConflict { path } => write!(f, "{path} 存在未解决的冲突"),
        }
    }
}

impl TaskDoc {
    /// What stands in the way of submitting, item by item. Empty means the
    /// task may be submitted.
    pub fn submit_problems(&self) -> Result<Vec<SubmitProblem>, TaskError> {
        let task = self.task()?;
        let conflicts = crate::conflict::conflicts(&self.doc, &task.actors)?;
        Ok(task.submit_problems(&conflicts))
    }

    /// Submits the task for review, if every check passes.
    pub fn submit(&mut self, author: &Author, at: Millis) -> Result<(), TaskError> {
        let problems = self.submit_problems()?;
        if !problems.is_empty() {
            return Err(TaskError::SubmitBlocked(problems));
        }
        let event = Event {
            kind: EventKind::Submitted,
            at,
            by: author.person.clone(),
            role: author.role,
            comment: None,
            location: None,
        };
        self.append_event(author, event, format!("{} 提交审核", author.person))
    }
}

impl Task {
    /// [`TaskDoc::submit_problems`] of a task already read, given the
    /// fields where concurrent edits left several values (each is a
    /// problem): one reading of the document serves the record and its
    /// checks.
    pub fn submit_problems(&self, conflicts: &[Conflict]) -> Vec<SubmitProblem> {
        let mut problems = Vec::new();
        let report = self.status_report();
        if report.checked_in.len() < MIN_CHECKED_IN {
            problems.push(SubmitProblem::TooFewCheckedIn {
                have: report.checked_in.len() as u32,
                need: MIN_CHECKED_IN as u32,
            });
        }
        for (id, item) in self.items_in_order() {
            match item.answer.result {
                None => problems.push(SubmitProblem::Unanswered { item: id.clone() }),
                Some(Outcome::NotApplicable) => {}
                Some(_) if item.requires_evidence => {
                    let has = item
                        .evidence
                        .iter()
                        .any(|sha| self.evidence.get(sha).is_some_and(|e| !e.is_withdrawn()));
                    if !has {
                        problems.push(SubmitProblem::MissingEvidence { item: id.clone() });
                    }
                }
                Some(_) => {}
            }
        }
        // The record is signed by every inspector who checked in, and signed
        // or refused (拒签) by the business.
        for person in &report.checked_in {
            let signed = self.signatures.iter().any(|s| {
                s.role == SignerRole::Inspector && &s.signer == person && s.image.is_some()
            });
            if !signed {
                problems.push(SubmitProblem::InspectorUnsigned {
                    inspector: person.clone(),
                });
            }
        }
        if !self
            .signatures
            .iter()
            .any(|s| s.role == SignerRole::Enterprise)
        {
            problems.push(SubmitProblem::EnterpriseUnsigned);
        }
        for c in conflicts {
            problems.push(SubmitProblem::OpenConflict {
                path: c.path.join("/"),
            });
        }
        problems
    }
}
