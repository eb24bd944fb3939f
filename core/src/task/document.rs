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
}

impl Names {
    /// The names of a team (its `team_name`), `inspectors` and `departments`.
    pub fn of<'a>(
        team_name: &str,
        inspectors: impl IntoIterator<Item = &'a crate::domain::Inspector>,
        departments: impl IntoIterator<Item = &'a crate::domain::Department>,
    ) -> Self {
        Self {
            team: team_name.to_owned(),
            inspectors: inspectors
                .into_iter()
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
