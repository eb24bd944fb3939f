//! Leads (案源线索) as records of their own.
//!
//! A lead comes in from the console (typed in by a supervisor), from an
//! outside channel through the API with that channel's key (12345 hotline,
//! 互联网+监管, grid members, associations, media), or from a tablet: a lead
//! transfer recorded in a task becomes a lead in the receiving department's
//! inbox, carrying the evidence hashes and the task (see
//! [`transfer_leads`]). It is carried through a state machine to its
//! closure —
//!
//! ```text
//! received ─┬─ dispatch (分办) ──→ dispatched ─┐
//!           └─ transfer (转办) ──→ transferred ┴→ verified → handled → answered
//! any open state ── link duplicate ──→ duplicate (closed)
//! ```
//!
//! — every step kept in the lead's events with who and when ([`step`]).
//! A lead of an open lead's subject (same USCC) and department is linked to
//! it as a duplicate when it comes in, not handled twice.
//!
//! A lead flagged criminal (行刑衔接) is handed to the judicial side as an
//! evidence package ([`package`]); sending, receipt and acceptance are
//! recorded as events.

pub(crate) mod api;
pub(crate) mod console;
pub mod package;

use std::sync::Arc;

use fieldloop_core::{LeadTransfer, Millis};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use api::{ChannelKey, ChannelLeadAnswer, ChannelLeadRequest, LeadReply, create_channel_key};
pub use console::{
    ChannelKeyList, ChannelKeyRequest, ChannelKeyView, LeadList, LeadStepRequest, LeadTaskAnswer,
    LeadTaskRequest, LeadView, NewLeadRequest, available,
};

/// The longest summary of a lead, in characters.
pub const MAX_SUMMARY_CHARS: usize = 4_000;
/// The longest subject name, in characters.
pub const MAX_SUBJECT_NAME_CHARS: usize = 200;
/// The most attachments (SHA-256 hashes) one lead lists.
pub const MAX_ATTACHMENTS: usize = 200;
/// The most departments one lead is with.
pub const MAX_LEAD_DEPARTMENTS: usize = 20;
/// The longest reply to the source, in characters.
pub const MAX_ANSWER_CHARS: usize = 4_000;
/// The longest note on a step, in characters.
pub const MAX_NOTE_CHARS: usize = 2_000;
/// The longest reference a channel gives its lead (its own case number).
pub const MAX_REFERENCE_CHARS: usize = 64;
/// The largest JSON body of a lead endpoint.
pub const MAX_LEAD_BODY: usize = 64 * 1024;
/// Leads one console list answers at most (newest first).
pub const MAX_LEAD_LIST: usize = 1_000;
/// Leads one channel key may send a minute.
pub const LEADS_PER_MINUTE_PER_KEY: u32 = 60;
/// Wrong channel keys one address may present a minute before it is refused.
pub const FAILED_KEYS_PER_MINUTE: u32 = 10;
/// Who the server records for the steps it takes itself (duplicate links).
pub const SYSTEM: &str = "system";

/// Where a lead came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub enum Channel {
    /// 12345 政务服务便民热线.
    #[serde(rename = "hotline_12345")]
    Hotline12345,
    /// 互联网+监管.
    #[serde(rename = "internet_plus")]
    InternetPlus,
    /// 网格员.
    #[serde(rename = "grid")]
    Grid,
    /// 行业协会.
    #[serde(rename = "association")]
    Association,
    /// 媒体.
    #[serde(rename = "media")]
    Media,
    /// Typed in on the console.
    #[serde(rename = "console")]
    Console,
    /// A lead transfer (移送) recorded in a task on a tablet.
    #[serde(rename = "tablet_transfer")]
    TabletTransfer,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Hotline12345,
        Channel::InternetPlus,
        Channel::Grid,
        Channel::Association,
        Channel::Media,
        Channel::Console,
        Channel::TabletTransfer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hotline12345 => "hotline_12345",
            Self::InternetPlus => "internet_plus",
            Self::Grid => "grid",
            Self::Association => "association",
            Self::Media => "media",
            Self::Console => "console",
            Self::TabletTransfer => "tablet_transfer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    /// Channels that send through the API with a key of their own.
    pub fn is_outside(self) -> bool {
        !matches!(self, Self::Console | Self::TabletTransfer)
    }
}

/// Where a lead stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum LeadState {
    Received,
    /// 分办: handed to the department(s) that deal with it.
    Dispatched,
    /// 转办: passed on to another department.
    Transferred,
    /// 核查: the facts were checked.
    Verified,
    /// 处置: dealt with.
    Handled,
    /// 答复: the source was answered; closed.
    Answered,
    /// A duplicate of an open lead, linked to it; closed.
    Duplicate,
}

impl LeadState {
    pub const ALL: [LeadState; 7] = [
        LeadState::Received,
        LeadState::Dispatched,
        LeadState::Transferred,
        LeadState::Verified,
        LeadState::Handled,
        LeadState::Answered,
        LeadState::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Dispatched => "dispatched",
            Self::Transferred => "transferred",
            Self::Verified => "verified",
            Self::Handled => "handled",
            Self::Answered => "answered",
            Self::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    /// Not closed yet (answered and duplicate leads are closed).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Answered | Self::Duplicate)
    }
}

/// How far an evidence package has gone to the judicial side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PackageStage {
    Sent,
    Received,
    Accepted,
}

/// The latest evidence package of a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PackageStatus {
    /// SHA-256 of the ZIP file.
    pub sha256: String,
    pub stage: PackageStage,
    #[ts(type = "number")]
    pub at: Millis,
}

/// A lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Lead {
    /// `XS-{year}-{number:06}`, given by the server.
    pub id: String,
    pub source: Channel,
    /// The source's own number for it (a 12345 work order), if it gave one.
    #[serde(default)]
    pub reference: Option<String>,
    #[ts(type = "number")]
    pub received_at: Millis,
    /// The subject's unified social credit code, when known.
    pub uscc: Option<String>,
    pub subject_name: String,
    pub summary: String,
    /// SHA-256 of each attachment (for a tablet transfer, the evidence).
    pub attachments: Vec<String>,
    /// The departments the lead is with now (its inbox).
    pub departments: Vec<String>,
    /// To be handed to the judicial side (行刑衔接).
    pub criminal: bool,
    pub state: LeadState,
    /// The open lead this one duplicates.
    pub duplicate_of: Option<String>,
    /// The reply to the source.
    pub answer: Option<String>,
    #[ts(type = "number | null")]
    pub answered_at: Option<Millis>,
    /// Tasks started from the lead.
    #[serde(default)]
    pub tasks: Vec<String>,
    /// For a tablet transfer: the task it was recorded in, and the transfer's id.
    pub source_task: Option<String>,
    pub source_transfer: Option<String>,
    #[serde(default)]
    pub package: Option<PackageStatus>,
    #[ts(type = "number")]
    pub updated_at: Millis,
}

/// What a step of a lead was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum LeadEventKind {
    Received,
    Dispatched,
    Transferred,
    Verified,
    Handled,
    Answered,
    DuplicateLinked,
    TaskStarted,
    PackageSent,
    PackageReceived,
    PackageAccepted,
}

/// One step of a lead, with who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LeadEvent {
    pub kind: LeadEventKind,
    /// A console user, an inspector (tablet transfers), a channel
    /// (`channel:hotline_12345`) or `system`.
    pub by: String,
    #[ts(type = "number")]
    pub at: Millis,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(optional, as = "Option<Vec<String>>")]
    pub departments: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub task: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub duplicate_of: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub sha256: Option<String>,
}

impl LeadEvent {
    pub fn new(kind: LeadEventKind, by: &str, at: Millis) -> Self {
        Self {
            kind,
            by: by.to_owned(),
            at,
            departments: Vec::new(),
            note: None,
            task: None,
            duplicate_of: None,
            sha256: None,
        }
    }
}

/// A step asked of a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// 分办 to these departments.
    Dispatch(Vec<String>),
    /// 转办 to another department.
    Transfer(String),
    Verify,
    Handle,
    /// The reply to the source.
    Answer(String),
    /// A duplicate of this open lead (the caller checks that it is open).
    LinkDuplicate(String),
    /// A task was started from it.
    StartTask(String),
    /// An evidence package with this SHA-256 was built and handed over.
    PackageSent(String),
    /// The judicial side confirmed receipt of the package with this SHA-256.
    PackageReceived(String),
    /// …and accepted it (立案).
    PackageAccepted(String),
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Self::Dispatch(_) => "分办 dispatch",
            Self::Transfer(_) => "转办 transfer",
            Self::Verify => "核查 verify",
            Self::Handle => "处置 handle",
            Self::Answer(_) => "答复 answer",
            Self::LinkDuplicate(_) => "关联重复 link as duplicate",
            Self::StartTask(_) => "发起任务 start a task",
            Self::PackageSent(_) => "移送证据包 send the evidence package",
            Self::PackageReceived(_) => "确认接收 record receipt",
            Self::PackageAccepted(_) => "确认受理 record acceptance",
        }
    }
}

/// Why a step cannot be taken. Nothing changes in any case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeadError {
    #[error("线索 {id} 处于“{state}”状态，不能{action} (lead {id} is {state}: cannot {action})")]
    WrongState {
        id: String,
        state: &'static str,
        action: &'static str,
    },
    #[error("线索 {0} 未标记为涉嫌犯罪，不移送司法 (lead {0} is not flagged criminal)")]
    NotCriminal(String),
    #[error(
        "证据包 {sha256} 不是线索 {id} 最近移送的证据包，或尚未到这一步 (package {sha256} is not lead {id}'s latest package, or not at that stage)"
    )]
    PackageStage { id: String, sha256: String },
    #[error("线索 {0} 已在该部门 (lead {0} is already with that department)")]
    SameDepartment(String),
    #[error("线索不能是它自己的重复 (a lead cannot duplicate itself)")]
    DuplicateOfSelf,
    #[error("请至少选择一个部门 (choose at least one department)")]
    NoDepartments,
    #[error("{0}")]
    Input(String),
}

impl LeadError {
    /// A state conflict (409) rather than bad input (422).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Self::WrongState { .. } | Self::NotCriminal(_) | Self::PackageStage { .. }
        )
    }
}

fn within(text: &str, max: usize, what: &str) -> Result<String, LeadError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(LeadError::Input(format!(
            "{what}最多 {max} 字 ({what} holds at most {max} characters)"
        )));
    }
    Ok(text.to_owned())
}

/// The departments asked for: trimmed, distinct, at least one, bounded.
pub fn departments_of(list: &[String]) -> Result<Vec<String>, LeadError> {
    if list.len() > MAX_LEAD_DEPARTMENTS {
        return Err(LeadError::Input(format!(
            "一条线索最多 {MAX_LEAD_DEPARTMENTS} 个部门 (at most {MAX_LEAD_DEPARTMENTS} departments)"
        )));
    }
    let mut out: Vec<String> = Vec::new();
    for d in list.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
        if d.len() > 64 {
            return Err(LeadError::Input(
                "部门代码过长 (a department code is too long)".into(),
            ));
        }
        if !out.iter().any(|o| o == d) {
            out.push(d.to_owned());
        }
    }
    if out.is_empty() {
        return Err(LeadError::NoDepartments);
    }
    Ok(out)
}

/// Takes one step: the lead as it is after it, and the event that records
/// it. Pure: the caller stores both together, or neither.
pub fn step(
    lead: &Lead,
    action: &Action,
    by: &str,
    now: Millis,
) -> Result<(Lead, LeadEvent), LeadError> {
    use LeadState as S;
    let wrong = || LeadError::WrongState {
        id: lead.id.clone(),
        state: lead.state.as_str(),
        action: action.name(),
    };
    let mut next = lead.clone();
    next.updated_at = now;
    let event = |kind| LeadEvent::new(kind, by, now);
    let recorded = match action {
        Action::Dispatch(departments) => {
            if lead.state != S::Received {
                return Err(wrong());
            }
            next.departments = departments_of(departments)?;
            next.state = S::Dispatched;
            LeadEvent {
                departments: next.departments.clone(),
                ..event(LeadEventKind::Dispatched)
            }
        }
        Action::Transfer(department) => {
            if !matches!(lead.state, S::Received | S::Dispatched | S::Transferred) {
                return Err(wrong());
            }
            let to = departments_of(std::slice::from_ref(department))?;
            if lead.departments == to {
                return Err(LeadError::SameDepartment(lead.id.clone()));
            }
            next.departments = to;
            next.state = S::Transferred;
            LeadEvent {
                departments: next.departments.clone(),
                ..event(LeadEventKind::Transferred)
            }
        }
        Action::Verify => {
            if !matches!(lead.state, S::Dispatched | S::Transferred) {
                return Err(wrong());
            }
            next.state = S::Verified;
            event(LeadEventKind::Verified)
        }
        Action::Handle => {
            if lead.state != S::Verified {
                return Err(wrong());
            }
            next.state = S::Handled;
            event(LeadEventKind::Handled)
        }
        Action::Answer(reply) => {
            if lead.state != S::Handled {
                return Err(wrong());
            }
            let reply = within(reply, MAX_ANSWER_CHARS, "答复")?;
            if reply.is_empty() {
                return Err(LeadError::Input(
                    "请填写答复内容 (write the reply to the source)".into(),
                ));
            }
            next.state = S::Answered;
            next.answer = Some(reply.clone());
            next.answered_at = Some(now);
            LeadEvent {
                note: Some(reply),
                ..event(LeadEventKind::Answered)
            }
        }
        Action::LinkDuplicate(of) => {
            if !lead.state.is_open() {
                return Err(wrong());
            }
            if of.trim() == lead.id {
                return Err(LeadError::DuplicateOfSelf);
            }
            next.state = S::Duplicate;
            next.duplicate_of = Some(of.trim().to_owned());
            LeadEvent {
                duplicate_of: next.duplicate_of.clone(),
                ..event(LeadEventKind::DuplicateLinked)
            }
        }
        Action::StartTask(task) => {
            if !matches!(lead.state, S::Dispatched | S::Transferred | S::Verified) {
                return Err(wrong());
            }
            next.tasks.push(task.clone());
            LeadEvent {
                task: Some(task.clone()),
                ..event(LeadEventKind::TaskStarted)
            }
        }
        Action::PackageSent(sha256) => {
            if !lead.criminal {
                return Err(LeadError::NotCriminal(lead.id.clone()));
            }
            next.package = Some(PackageStatus {
                sha256: sha256.clone(),
                stage: PackageStage::Sent,
                at: now,
            });
            LeadEvent {
                sha256: Some(sha256.clone()),
                ..event(LeadEventKind::PackageSent)
            }
        }
        Action::PackageReceived(sha256) | Action::PackageAccepted(sha256) => {
            let (from, to, kind) = match action {
                Action::PackageReceived(_) => (
                    PackageStage::Sent,
                    PackageStage::Received,
                    LeadEventKind::PackageReceived,
                ),
                _ => (
                    PackageStage::Received,
                    PackageStage::Accepted,
                    LeadEventKind::PackageAccepted,
                ),
            };
            let at_stage = lead
                .package
                .as_ref()
                .is_some_and(|p| p.stage == from && &p.sha256 == sha256);
            if !at_stage {
                return Err(LeadError::PackageStage {
                    id: lead.id.clone(),
                    sha256: sha256.clone(),
                });
            }
            next.package = Some(PackageStatus {
                sha256: sha256.clone(),
                stage: to,
                at: now,
            });
            LeadEvent {
                sha256: Some(sha256.clone()),
                ..event(kind)
            }
        }
    };
    Ok((next, recorded))
}

/// A new lead as received, before the store gives it its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadDraft {
    pub source: Channel,
    pub reference: Option<String>,
    pub received_at: Millis,
    pub uscc: Option<String>,
    pub subject_name: String,
    pub summary: String,
    pub attachments: Vec<String>,
    pub departments: Vec<String>,
    pub criminal: bool,
    /// Who it was received from (recorded on the `received` event).
    pub by: String,
    pub source_task: Option<String>,
    pub source_transfer: Option<String>,
    /// Link it to an open lead of the same subject and department.
    pub detect_duplicates: bool,
}

impl LeadDraft {
    /// The lead it becomes as `id`.
    pub fn into_lead(self, id: String, now: Millis) -> Lead {
        Lead {
            id,
            source: self.source,
            reference: self.reference,
            received_at: self.received_at,
            uscc: self.uscc,
            subject_name: self.subject_name,
            summary: self.summary,
            attachments: self.attachments,
            departments: self.departments,
            criminal: self.criminal,
            state: LeadState::Received,
            duplicate_of: None,
            answer: None,
            answered_at: None,
            tasks: Vec::new(),
            source_task: self.source_task,
            source_transfer: self.source_transfer,
            package: None,
            updated_at: now,
        }
    }
}

/// What a lead sent or typed in says, checked: the subject's USCC (when
/// given) valid, texts within their bounds, attachments SHA-256 hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadInput {
    pub reference: Option<String>,
    pub received_at: Option<Millis>,
    pub uscc: Option<String>,
    pub subject_name: String,
    pub summary: String,
    pub attachments: Vec<String>,
    pub departments: Vec<String>,
    pub criminal: bool,
}

/// Checks `input` (departments are checked against the directory by the caller).
pub fn check_input(input: &LeadInput, now: Millis) -> Result<LeadInput, LeadError> {
    let uscc = match input
        .uscc
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        None => None,
        Some(u) => Some(
            fieldloop_core::Uscc::parse(u)
                .map_err(|e| {
                    LeadError::Input(format!(
                        "统一社会信用代码 “{}” 有误 (bad USCC): {e}",
                        u.chars().take(40).collect::<String>()
                    ))
                })?
                .to_string(),
        ),
    };
    let subject_name = within(&input.subject_name, MAX_SUBJECT_NAME_CHARS, "对象名称")?;
    let summary = within(&input.summary, MAX_SUMMARY_CHARS, "线索内容")?;
    if summary.is_empty() {
        return Err(LeadError::Input(
            "请填写线索内容 (the summary is empty)".into(),
        ));
    }
    if subject_name.is_empty() && uscc.is_none() {
        return Err(LeadError::Input(
            "请填写对象名称或统一社会信用代码 (name the subject or give its USCC)".into(),
        ));
    }
    let reference = match &input.reference {
        Some(r) => Some(within(r, MAX_REFERENCE_CHARS, "来源编号")?).filter(|r| !r.is_empty()),
        None => None,
    };
    if input.attachments.len() > MAX_ATTACHMENTS {
        return Err(LeadError::Input(format!(
            "附件最多 {MAX_ATTACHMENTS} 个 (at most {MAX_ATTACHMENTS} attachments)"
        )));
    }
    let mut attachments: Vec<String> = Vec::new();
    for a in &input.attachments {
        let a = a.trim().to_ascii_lowercase();
        if fieldloop_core::blob::BlobId::parse(&a).is_err() {
            return Err(LeadError::Input(format!(
                "附件 “{}” 不是 SHA-256 值 (an attachment is not a SHA-256 hex digest)",
                a.chars().take(80).collect::<String>()
            )));
        }
        if !attachments.contains(&a) {
            attachments.push(a);
        }
    }
    let departments = if input.departments.is_empty() {
        Vec::new()
    } else {
        departments_of(&input.departments)?
    };
    // A time from the source, not in the future (a minute's skew allowed).
    let received_at = match input.received_at {
        Some(at) if at > now + 60_000 || at < 0 => {
            return Err(LeadError::Input(
                "接收时间不能晚于现在 (received_at is in the future)".into(),
            ));
        }
        Some(at) => at,
        None => now,
    };
    Ok(LeadInput {
        reference,
        received_at: Some(received_at),
        uscc,
        subject_name,
        summary,
        attachments,
        departments,
        criminal: input.criminal,
    })
}

/// The leads a task's lead transfers make (one per transfer), as the store
/// records them with the task's write: received in the receiving
/// department's inbox, carrying the transfer's evidence hashes and the
/// task. Keyed by task and transfer, so a re-push changes nothing.
pub fn transfer_leads(
    task_id: &str,
    uscc: &str,
    subject_name: &str,
    transfers: &[LeadTransfer],
    now: Millis,
) -> Vec<LeadDraft> {
    transfers
        .iter()
        .map(|t| {
            let summary: String = t.summary.trim().chars().take(MAX_SUMMARY_CHARS).collect();
            let mut attachments: Vec<String> = Vec::new();
            for e in t.evidence.iter().take(MAX_ATTACHMENTS) {
                if !attachments.contains(e) {
                    attachments.push(e.clone());
                }
            }
            LeadDraft {
                source: Channel::TabletTransfer,
                reference: None,
                received_at: now,
                uscc: fieldloop_core::Uscc::parse(uscc)
                    .ok()
                    .map(|u| u.to_string()),
                subject_name: subject_name.chars().take(MAX_SUBJECT_NAME_CHARS).collect(),
                summary,
                attachments,
                departments: vec![t.to_department.trim().chars().take(64).collect()],
                criminal: t.criminal,
                by: t.by.clone(),
                source_task: Some(task_id.to_owned()),
                source_transfer: Some(t.id.clone()),
                detect_duplicates: false,
            }
        })
        .collect()
}

/// The record printer the evidence package uses for `record.pdf`; none is
/// configured by default, and the package then holds no PDF.
pub trait RecordPrinter: Send + Sync {
    /// The 现场检查笔录 of `task` as PDF bytes.
    fn record_pdf(&self, task: &fieldloop_core::Task) -> Result<Vec<u8>, String>;
}

/// What the lead endpoints share: the rate limits of the channel API and
/// the printer for the evidence package.
pub struct LeadsState {
    per_key: governor::DefaultKeyedRateLimiter<String>,
    failures: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
    pub printer: Option<Arc<dyn RecordPrinter>>,
}

impl std::fmt::Debug for LeadsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeadsState")
            .field("printer", &self.printer.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for LeadsState {
    fn default() -> Self {
        let per_minute = |n: u32| {
            governor::Quota::per_minute(
                std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN),
            )
        };
        Self {
            per_key: governor::RateLimiter::keyed(per_minute(LEADS_PER_MINUTE_PER_KEY)),
            failures: governor::RateLimiter::keyed(per_minute(FAILED_KEYS_PER_MINUTE)),
            printer: None,
        }
    }
}

impl LeadsState {
    /// The same with a printer for `record.pdf`.
    pub fn with_printer(mut self, printer: Arc<dyn RecordPrinter>) -> Self {
        self.printer = Some(printer);
        self
    }

    /// Counts one request of a channel key; `false` over the limit.
    fn allow_key(&self, key_id: &str) -> bool {
        self.per_key.check_key(&key_id.to_owned()).is_ok()
    }

    /// Whether `ip` is still allowed to present a key after failures.
    fn failures_left(&self, ip: Option<std::net::IpAddr>) -> bool {
        ip.is_none_or(|ip| self.failures.check_key(&ip).is_ok())
    }
}

/// The lead routes: the channel API and the console's.
pub fn router() -> axum::Router<crate::AppState> {
    api::router()
        .merge(console::router())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_LEAD_BODY))
}

#[cfg(test)]
mod tests;
