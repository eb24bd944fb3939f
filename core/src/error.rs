//! Errors of the task document.

use crate::status::{Rejection, Status};
use crate::task::SubmitProblem;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("任务文档已损坏或不是任务 (the task document is damaged or not a task): {0}")]
    Malformed(String),
    #[error("无法读取任务文档 (cannot read the task document): {0}")]
    Automerge(Box<automerge::AutomergeError>),
    #[error("任务文档字段不符合格式 (a task field has the wrong shape): {0}")]
    Hydrate(Box<autosurgeon::HydrateError>),
    #[error("无法写入任务文档 (cannot write the task document): {0}")]
    Reconcile(Box<autosurgeon::ReconcileError>),
    #[error("{0}")]
    NotAllowed(String),
    #[error("状态变更无效 (this status change does not apply): {0}")]
    Transition(Box<Rejection>),
    #[error("任务已{0}，不能再修改检查记录 (the task is {0} and can no longer be edited)")]
    Frozen(Status),
    #[error("暂不能提交 (cannot submit yet): {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("；"))]
    SubmitBlocked(Vec<SubmitProblem>),
    #[error(
        "至少需要 {need} 名执法人员，这里只有 {have} 名 (at least {need} inspectors are needed, there are {have})"
    )]
    TooFewInspectors { have: usize, need: usize },
    #[error("检查清单不能为空 (the checklist is empty)")]
    EmptyChecklist,
    #[error("截止时间早于开始时间 (the due date is before the start)")]
    BadWindow,
    #[error("没有检查项 {0} (no checklist item {0})")]
    UnknownItem(String),
    #[error("没有证据 {0} (no evidence {0})")]
    UnknownEvidence(String),
    #[error("证据 {0} 已添加过 (evidence {0} is already attached)")]
    DuplicateEvidence(String),
    #[error("“{0}” 不是 SHA-256 十六进制值 (not a SHA-256 hex digest)")]
    BadHash(String),
    #[error("请填写原因 (a reason is required)")]
    ReasonRequired,
    #[error("{0} 处没有冲突 (there is no conflict at {0})")]
    NoConflict(String),
    #[error("{0}")]
    Invalid(String),
    /// The write policy refused the edit (see [`crate::policy`]).
    #[error("{0}")]
    Refused(Box<crate::policy::Refusal>),
}

impl TaskError {
    /// A stable machine code; the UI branches on it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) | Self::Automerge(_) | Self::Hydrate(_) | Self::Reconcile(_) => {
                "task.malformed"
            }
            Self::NotAllowed(_) => "task.not_allowed",
            Self::Transition(r) => r.code(),
            Self::Frozen(_) => "task.frozen",
            Self::SubmitBlocked(_) => "task.submit_blocked",
            Self::TooFewInspectors { .. } => "task.too_few_inspectors",
            Self::EmptyChecklist => "task.empty_checklist",
            Self::BadWindow => "task.bad_window",
            Self::UnknownItem(_) => "task.unknown_item",
            Self::UnknownEvidence(_) => "task.unknown_evidence",
            Self::DuplicateEvidence(_) => "task.duplicate_evidence",
            Self::BadHash(_) => "task.bad_hash",
            Self::ReasonRequired => "task.reason_required",
            Self::NoConflict(_) => "task.no_conflict",
            Self::Invalid(_) => "task.invalid",
            Self::Refused(r) => r.code(),
        }
    }
}

/// The wrapped errors are boxed so that `Result<_, TaskError>` stays small.
macro_rules! boxed_from {
    ($($source:ty => $variant:ident),* $(,)?) => {
        $(impl From<$source> for TaskError {
            fn from(e: $source) -> Self {
                Self::$variant(Box::new(e))
            }
        })*
    };
}

boxed_from! {
    automerge::AutomergeError => Automerge,
    autosurgeon::HydrateError => Hydrate,
    autosurgeon::ReconcileError => Reconcile,
    Rejection => Transition,
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_stay_small() {
        assert!(std::mem::size_of::<super::TaskError>() <= 48);
    }
}
