//! The typed shape of the task document, read and written through autosurgeon.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Millis;
use crate::domain::{GeoPoint, RiskClass};
use crate::status::{self, Event, Role, StatusReport};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Several departments in one visit (进一次门、查多项事).
    #[autosurgeon(rename = "joint")]
    Joint,
    /// One department alone (the exception).
    #[autosurgeon(rename = "single")]
    Single,
}

/// The inspected business as recorded on the task.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct TaskSubject {
    pub uscc: String,
    pub name: String,
    pub address: String,
    pub industry: String,
    pub risk_class: RiskClass,
    pub location: Option<GeoPoint>,
    pub legal_rep: String,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
pub struct Window {
    pub start: Millis,
    pub due: Millis,
}

/// Which person and role a device's Automerge actor stands for.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct ActorInfo {
    pub person: String,
    pub role: Role,
}

/// The answer to one checklist item.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 合格
    #[autosurgeon(rename = "pass")]
    Pass,
    /// 不合格
    #[autosurgeon(rename = "fail")]
    Fail,
    /// 不涉及
    #[autosurgeon(rename = "not_applicable")]
    NotApplicable,
}

#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
pub struct Answer {
    pub result: Option<Outcome>,
    pub value: Option<String>,
    pub note: Option<String>,
}

#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct ChecklistItem {
    pub department: String,
    pub title: String,
    pub legal_basis: String,
    pub requires_evidence: bool,
    /// Position in the handbook, for display.
    pub order: u64,
    pub answer: Answer,
    /// SHA-256 of the evidence attached to this item.
    pub evidence: Vec<String>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    #[autosurgeon(rename = "photo")]
    Photo,
    #[autosurgeon(rename = "signature")]
    Signature,
    #[autosurgeon(rename = "audio")]
    Audio,
    #[autosurgeon(rename = "document")]
    Document,
}

/// Metadata of one piece of evidence; the bytes are a blob named by `sha256`.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct Evidence {
    pub sha256: String,
    pub kind: EvidenceKind,
    pub taken_at: Millis,
    pub by: String,
    pub location: Option<GeoPoint>,
    pub caption: Option<String>,
    pub mime: String,
    pub bytes: u64,
    pub thumb_sha256: Option<String>,
    pub display_sha256: Option<String>,
    /// The checklist item it supports, if any.
    pub item: Option<String>,
    /// Withdrawn evidence stays in the record (全程留痕) but no longer counts.
    pub withdrawn_at: Option<Millis>,
    pub withdrawn_by: Option<String>,
    pub withdrawn_reason: Option<String>,
}

impl Evidence {
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn_at.is_some()
    }
}

/// One point of the GPS track recorded on site.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct TracePoint {
    pub t: Millis,
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres.
    pub accuracy: f64,
    pub by: String,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[autosurgeon(rename = "minor")]
    Minor,
    #[autosurgeon(rename = "major")]
    Major,
    #[autosurgeon(rename = "critical")]
    Critical,
}

/// A problem found on site, with its rectification order (责令整改) if one was issued.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct Finding {
    pub id: String,
    pub item_id: Option<String>,
    pub description: String,
    pub severity: Severity,
    pub rectification_order: Option<String>,
    pub rectification_deadline: Option<Millis>,
    pub by: String,
    pub at: Millis,
}

/// A case lead handed to another department (移送), possibly to criminal justice (行刑衔接).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct LeadTransfer {
    pub id: String,
    pub to_department: String,
    pub summary: String,
    pub evidence: Vec<String>,
    pub criminal: bool,
    pub by: String,
    pub at: Millis,
}

/// Who signs the record on site.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SignerRole {
    /// An inspector of the task (执法人员).
    #[autosurgeon(rename = "inspector")]
    Inspector,
    /// The business's representative (企业负责人或代表).
    #[autosurgeon(rename = "enterprise")]
    Enterprise,
}

/// A signature on the record, or a refusal to sign (拒签) with its reason.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct Signature {
    pub role: SignerRole,
    /// The signer's name (an inspector's id for inspectors).
    pub signer: String,
    /// SHA-256 of the signature image (also listed under `evidence`); `None` when refused.
    pub image: Option<String>,
    /// Why the signer refused; `None` when signed.
    pub refused_reason: Option<String>,
    /// Who recorded it (the inspector holding the tablet).
    pub by: String,
    pub at: Millis,
}

/// Longest text accepted in one field of the 现场检查笔录 (characters).
pub const MAX_RECORD_NOTE_CHARS: usize = 2_000;

/// What the 现场检查笔录 says besides the checklist: where and when, who was
/// present, the scripted notices with the party's answers, and the party's
/// statement. Written by the task's inspectors on the tablet; each field is
/// its own key, so two tablets editing different fields both keep theirs.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
pub struct RecordNotes {
    /// 检查地点 (the tablet pre-fills the subject's address).
    pub place: String,
    /// 检查时间 from.
    pub started_at: Option<Millis>,
    /// 检查时间 to.
    pub ended_at: Option<Millis>,
    /// 现场负责人 / 被检查人 present.
    pub party_present: String,
    /// His or her role (职务).
    pub party_role: String,
    /// 法定代表人（负责人）.
    pub legal_representative: String,
    /// 记录人: an inspector id of the task.
    pub recorder: String,
    /// 见证人 name, "" when none.
    pub witness: String,
    /// Answer to “出示执法证件，你是否看清楚？”.
    pub credentials_answer: String,
    /// Answer to the notice of the right to state and defend and the duty to answer truthfully.
    pub rights_answer: String,
    /// Answer to “你是否申请回避？”.
    pub recusal_answer: String,
    /// 当事人的陈述和申辩.
    pub party_statement: String,
}

/// What a re-check task (复查) re-checks: the finding of an earlier task
/// whose rectification order it follows up, with that finding's photos.
/// Written by the server when it creates the re-check; tablets never write it.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct RecheckOf {
    /// The server's rectification record this re-check closes.
    pub rectification: String,
    pub task_id: String,
    pub task_code: String,
    /// The original finding as it was recorded.
    pub finding: Finding,
    /// The title of the finding's checklist item, if it has one.
    pub item_title: Option<String>,
    /// The original photos of the finding (evidence on its item, not withdrawn).
    pub photos: Vec<RecheckPhoto>,
}

/// One photo of the original finding: its blob and its smaller copies.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct RecheckPhoto {
    pub sha256: String,
    pub thumb_sha256: Option<String>,
    pub display_sha256: Option<String>,
    pub mime: String,
    pub caption: Option<String>,
    pub taken_at: Millis,
}

/// A print of the record on a tablet (or the server): which document, the
/// file's name and the SHA-256 of its bytes, who printed it and when. The
/// PDFs are deterministic, so the hash identifies what was handed over.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct PrintedRecord {
    /// SHA-256 of the PDF, lowercase hex.
    pub sha256: String,
    /// Which document: `inspection_record` (现场检查笔录).
    pub document: String,
    /// The file's name, e.g. `T-2026-0001-1a2b3c4d.pdf`.
    pub file: String,
    pub by: String,
    pub at: Millis,
}

/// Names as the server knew them when it created the task, so that a
/// tablet shows people, departments and the team by name without a
/// directory of its own. Written once, with the task; codes it does not
/// name are shown as they are.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
pub struct Names {
    /// The team's name.
    pub team: String,
    /// Inspector id → name.
    pub inspectors: BTreeMap<String, String>,
    /// Department code → its names.
    pub departments: BTreeMap<String, DepartmentNames>,
    /// Inspector id → badge number (执法证号), for the printed record;
    /// `None` in documents made before badges were written into tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[autosurgeon(missing = "Default::default")]
    pub badges: Option<BTreeMap<String, String>>,
}

impl Names {
    /// The names of a team (its `team_name`), `inspectors` and `departments`.
    pub fn of<'a>(
        team_name: &str,
        inspectors: impl IntoIterator<Item = &'a crate::domain::Inspector>,
        departments: impl IntoIterator<Item = &'a crate::domain::Department>,
    ) -> Self {
        let inspectors: Vec<&crate::domain::Inspector> = inspectors.into_iter().collect();
        Self {
            team: team_name.to_owned(),
            badges: Some(
                inspectors
                    .iter()
                    .filter(|i| !i.badge_no.is_empty())
                    .map(|i| (i.id.clone(), i.badge_no.clone()))
                    .collect(),
            ),
            inspectors: inspectors
                .iter()
                .map(|i| (i.id.clone(), i.name.clone()))
                .collect(),
            departments: departments
                .into_iter()
                .map(|d| {
                    let names = DepartmentNames {
                        name: d.name.clone(),
                        name_en: d.name_en.clone(),
                    };
                    (d.code.clone(), names)
                })
                .collect(),
        }
    }
}

/// A department's names in Chinese and English.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct DepartmentNames {
    pub name: String,
    pub name_en: String,
}

/// The whole task document.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct Task {
    pub schema: u64,
    pub id: String,
    pub code: String,
    pub kind: TaskKind,
    pub subject: TaskSubject,
    pub departments: Vec<String>,
    pub lead_department: String,
    pub team: String,
    pub inspectors: Vec<String>,
    pub window: Window,
    /// Random and unguessable; the public QR code points to `/v/{verify_code}`.
    pub verify_code: String,
    /// Names of the team, inspectors and departments at creation; `None` in
    /// documents made before names were written into tasks.
    pub names: Option<Names>,
    /// Actor id (hex) → who acts through it.
    pub actors: BTreeMap<String, ActorInfo>,
    pub checklist: BTreeMap<String, ChecklistItem>,
    pub evidence: BTreeMap<String, Evidence>,
    pub trace: Vec<TracePoint>,
    pub findings: Vec<Finding>,
    pub lead_transfers: Vec<LeadTransfer>,
    pub signatures: Vec<Signature>,
    pub events: Vec<Event>,
    /// The 笔录 fields; `None` in documents made before they existed.
    #[autosurgeon(missing = "Default::default")]
    pub record_notes: Option<RecordNotes>,
    /// Prints of the record with their hashes (append-only); `None` in
    /// documents made before prints were recorded.
    #[autosurgeon(missing = "Default::default")]
    pub prints: Option<Vec<PrintedRecord>>,
    /// For a re-check task (复查): the finding it follows up. Server-written.
    #[autosurgeon(missing = "Default::default")]
    pub recheck_of: Option<RecheckOf>,
    /// The server-signed claim of 亮码检查 (`FL1:<base45>`, see
    /// [`crate::claim`]) that the tablet's QR code carries. Server-written;
    /// `None` in documents made before claims existed or without a key.
    #[autosurgeon(missing = "Default::default")]
    pub claim: Option<String>,
}

impl Task {
    /// Folds the events into the current status.
    pub fn status_report(&self) -> StatusReport {
        status::fold(&self.events, &self.inspectors)
    }

    /// Checklist items in handbook order.
    pub fn items_in_order(&self) -> Vec<(&String, &ChecklistItem)> {
        let mut items: Vec<_> = self.checklist.iter().collect();
        items.sort_by_key(|(id, item)| (item.order, *id));
        items
    }
}
