//! Errors of the task document.

use crate::codes::ErrorCode;
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
    #[error("只有监管人员或管理员可以创建任务 (only a supervisor or admin may create a task)")]
    CreateNotAllowed,
    #[error(
        "本设备已登记为 {device}，不能以 {author} 的身份编辑 (this device acts for {device}, not {author})"
    )]
    ActsForAnother { device: String, author: String },
    #[error("{0} 不是本任务的执法人员，不能修改检查记录 ({0} is not an inspector of this task)")]
    NotAnInspector(String),
    #[error("{0:?} 不是审核决定 ({0:?} is not a decision)")]
    NotADecision(crate::status::EventKind),
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
    #[error("请填写签名人 (name the signer)")]
    SignerRequired,
    #[error("问题描述不能为空 (a finding needs a description)")]
    FindingWithoutDescription,
    #[error(
        "责令整改需同时填写整改要求和期限 (a rectification order needs both the order and a deadline)"
    )]
    RectificationIncomplete,
    #[error(
        "移送需写明接收部门和案情摘要 (a transfer needs the receiving department and a summary)"
    )]
    TransferIncomplete,
    #[error("冲突只能用单个值解决 (a conflict is resolved with a single value)")]
    NotScalar,
    #[error("{0} 不是冲突的取值之一 ({0} is not one of the conflicting values)")]
    NotAConflictingValue(String),
    #[error("该值不适用于此字段 (that value does not fit this field): {0}")]
    ValueDoesNotFit(String),
    #[error("演示数据无效 (the demo data is not usable): {0}")]
    DemoData(String),
    /// The 笔录 fields fail their checks (see [`crate::RecordNotes::validate`]).
    #[error("{0}")]
    RecordNotes(Box<crate::task::RecordNotesError>),
    /// The write policy refused the edit (see [`crate::policy`]).
    #[error("{0}")]
    Refused(Box<crate::policy::Refusal>),
}

impl TaskError {
    /// A stable machine code; the UI branches on it.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Malformed(_) | Self::Automerge(_) | Self::Hydrate(_) | Self::Reconcile(_) => {
                ErrorCode::TaskMalformed
            }
            Self::CreateNotAllowed => ErrorCode::TaskCreateNotAllowed,
            Self::ActsForAnother { .. } => ErrorCode::TaskActsForAnother,
            Self::NotAnInspector(_) => ErrorCode::TaskNotAnInspector,
            Self::NotADecision(_) => ErrorCode::TaskNotADecision,
            Self::Transition(r) => r.code(),
            Self::Frozen(_) => ErrorCode::TaskFrozen,
            Self::SubmitBlocked(_) => ErrorCode::TaskSubmitBlocked,
            Self::TooFewInspectors { .. } => ErrorCode::TaskTooFewInspectors,
            Self::EmptyChecklist => ErrorCode::TaskEmptyChecklist,
            Self::BadWindow => ErrorCode::TaskBadWindow,
            Self::UnknownItem(_) => ErrorCode::TaskUnknownItem,
            Self::UnknownEvidence(_) => ErrorCode::TaskUnknownEvidence,
            Self::DuplicateEvidence(_) => ErrorCode::TaskDuplicateEvidence,
            Self::BadHash(_) => ErrorCode::TaskBadHash,
            Self::ReasonRequired => ErrorCode::TaskReasonRequired,
            Self::NoConflict(_) => ErrorCode::TaskNoConflict,
            Self::SignerRequired => ErrorCode::TaskSignerRequired,
            Self::FindingWithoutDescription => ErrorCode::TaskFindingDescription,
            Self::RectificationIncomplete => ErrorCode::TaskRectificationIncomplete,
            Self::TransferIncomplete => ErrorCode::TaskTransferIncomplete,
            Self::NotScalar => ErrorCode::TaskNotScalar,
            Self::NotAConflictingValue(_) => ErrorCode::TaskNotAConflictingValue,
            Self::ValueDoesNotFit(_) => ErrorCode::TaskValueDoesNotFit,
            Self::DemoData(_) => ErrorCode::TaskDemoData,
            Self::RecordNotes(_) => ErrorCode::TaskRecordNotes,
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
