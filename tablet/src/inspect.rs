//! Everything an inspector does with a task on the tablet, without a window:
//! the task as the screen shows it ([`TaskView`]), and the verbs (check in,
//! answer, photos, trace, findings, transfers, signatures, conflicts,
//! submit), each one durable change in the local store.
//!
//! The Tauri shell calls these one line per command; tests call them
//! directly. Every verb answers the new [`TaskView`], so the screen shows
//! exactly what was stored.

use fieldloop_core::ErrorCode;
use std::path::{Path, PathBuf};

use fieldloop_core::demo::DemoData;
use fieldloop_core::{
    Answer, Author, Conflict, Event, EventKind, Evidence, EvidenceKind, Finding, GeoPoint,
    HistoryEntry, LeadTransfer, Millis, NewEvidence, Outcome, Resolution, RiskClass, Severity,
    Signature, SignerRole, Status, SubmitProblem, Task, TaskDoc, TaskError, TracePoint, Window,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::blobs::{BlobError, BlobId, BlobStore};
use crate::photo::{PhotoError, PhotoLimits, store_photo};
use crate::qr::{QrError, verify_qr_svg, verify_url};
use crate::store::{Store, StoreError};
use crate::sync::{SyncError, keys};

/// Where the verification QR points when the tablet knows no server yet.
pub const DEFAULT_VERIFY_BASE: &str = "https://verify.fieldloop.cn";
/// Largest signature image accepted (a PNG from the signature pad).
pub const MAX_SIGNATURE_BYTES: usize = 2 * 1024 * 1024;

/// Why an inspector's action did not happen. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Qr(#[from] QrError),
    #[error("本设备尚未注册，请先扫描注册二维码 (this tablet is not enrolled yet)")]
    NotEnrolled,
    #[error("签名图片无效：{0}（请重新签名）(the signature image is not a valid PNG)")]
    BadSignature(String),
    #[error("本机保存的设备标识无效：{0}（请重新注册）(the stored device actor is invalid)")]
    BadStoredActor(String),
    #[error("请填写服务器地址，例如 http://192.168.1.10:7878 (enter the server address)")]
    ServerMissing,
    #[error(
        "服务器地址应以 http:// 或 https:// 开头：{0} (the server address must start with http:// or https://)"
    )]
    BadServerAddress(String),
    #[error("位置数据无效 (invalid position {lat}, {lon})")]
    BadPosition { lat: f64, lon: f64 },
}

impl From<TaskError> for AppError {
    fn from(e: TaskError) -> Self {
        Self::Store(StoreError::from(e))
    }
}

impl AppError {
    /// A stable machine code; the UI branches on it.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Store(e) => e.code(),
            Self::Photo(e) => e.code(),
            Self::Blob(e) => e.code(),
            Self::Sync(e) => e.code(),
            Self::Qr(e) => e.code(),
            Self::NotEnrolled => ErrorCode::SyncNotEnrolled,
            Self::BadSignature(_) => ErrorCode::AppBadSignature,
            Self::BadStoredActor(_) => ErrorCode::AppBadStoredActor,
            Self::ServerMissing => ErrorCode::AppServerMissing,
            Self::BadServerAddress(_) => ErrorCode::AppBadServerAddress,
            Self::BadPosition { .. } => ErrorCode::AppBadPosition,
        }
    }
}

/// A department as the screen names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DepartmentRef {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

/// An inspector of the task and their check-in, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct InspectorView {
    pub id: String,
    pub name: String,
    /// The inspector holding this tablet.
    pub me: bool,
    pub checked_in_at: Option<Millis>,
    pub checked_in_location: Option<GeoPoint>,
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ItemView {
    pub id: String,
    pub title: String,
    pub legal_basis: String,
    pub requires_evidence: bool,
    pub answer: Answer,
    /// Evidence attached to this item and not withdrawn.
    pub evidence: Vec<String>,
    /// Some field of this item has concurrent values to resolve.
    pub conflicted: bool,
}

/// The items of one department (进一次门、查多项事: one group per department).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ItemGroup {
    pub department: DepartmentRef,
    pub items: Vec<ItemView>,
    pub answered: u32,
}

/// A reason the task cannot be submitted yet, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ProblemView {
    pub problem: SubmitProblem,
    /// The item's title where the problem is about an item.
    pub item_title: Option<String>,
    pub message: String,
}

/// A task as the task screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct TaskView {
    pub id: String,
    pub code: String,
    pub status: Option<Status>,
    pub subject_name: String,
    pub uscc: String,
    pub address: String,
    pub industry: String,
    pub risk_class: RiskClass,
    pub legal_rep: String,
    pub location: Option<GeoPoint>,
    pub window: Window,
    pub team: String,
    pub lead_department: String,
    pub departments: Vec<DepartmentRef>,
    pub inspectors: Vec<InspectorView>,
    pub groups: Vec<ItemGroup>,
    /// All evidence, withdrawn included (全程留痕), newest first.
    pub evidence: Vec<Evidence>,
    pub trace: Vec<TracePoint>,
    pub findings: Vec<Finding>,
    pub lead_transfers: Vec<LeadTransfer>,
    pub signatures: Vec<Signature>,
    pub conflicts: Vec<Conflict>,
    /// What stands in the way of submitting; empty when it may be submitted.
    pub problems: Vec<ProblemView>,
    /// The supervisor's comment while the task is returned.
    pub return_comment: Option<String>,
    pub events: Vec<Event>,
    /// The public verification address the task's QR code carries.
    pub verify_url: String,
    /// The person of this tablet may change the record now.
    pub editable: bool,
    /// The tablet holds changes the server has not acknowledged.
    pub dirty: bool,
    /// Edits of this tablet the server refused (set aside, kept to be seen).
    pub refused_edits: Vec<crate::store::RefusedEdit>,
}

/// Who this tablet is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Identity {
    pub person: String,
    pub name: String,
    pub team: Option<String>,
    /// The team's name, e.g. 东山镇综合执法队.
    pub team_name: Option<String>,
    /// The server it syncs with; `None` for a demo tablet without a server.
    pub server: Option<String>,
    pub device: Option<String>,
}

/// What a new finding says; who and when are filled in by the tablet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NewFinding {
    pub item_id: Option<String>,
    pub description: String,
    pub severity: Severity,
    pub rectification_order: Option<String>,
    pub rectification_deadline: Option<Millis>,
}

/// What a new lead transfer says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NewTransfer {
    pub to_department: String,
    pub summary: String,
    pub criminal: bool,
    /// Evidence handed over with the lead.
    pub evidence: Vec<String>,
}

/// One GPS fix from the platform's location service (or a test).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Fix {
    pub t: Millis,
    pub lat: f64,
    pub lon: f64,
    pub accuracy: f64,
}

/// Names of departments and inspectors. The tablet ships the directory of
/// the bundled data; codes it does not know are shown as they are.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    departments: Vec<DepartmentRef>,
    inspectors: Vec<(String, String)>,
    teams: Vec<(String, String)>,
}

impl Directory {
    /// The directory of the bundled data.
    pub fn bundled() -> Self {
        match DemoData::embedded() {
            Ok(data) => Self {
                departments: data
                    .departments
                    .into_iter()
                    .map(|d| DepartmentRef {
                        code: d.code,
                        name: d.name,
                        name_en: d.name_en,
                    })
                    .collect(),
                inspectors: data
                    .inspectors
                    .into_iter()
                    .map(|i| (i.id, i.name))
                    .collect(),
                teams: data.teams.into_iter().map(|t| (t.id, t.name)).collect(),
            },
            Err(_) => Self::default(),
        }
    }

    pub fn department(&self, code: &str) -> DepartmentRef {
        self.departments
            .iter()
            .find(|d| d.code == code)
            .cloned()
            .unwrap_or_else(|| DepartmentRef {
                code: code.to_owned(),
                name: code.to_owned(),
                name_en: code.to_owned(),
            })
    }

    pub fn team_name(&self, id: &str) -> Option<String> {
        self.teams
            .iter()
            .find(|(t, _)| t == id)
            .map(|(_, name)| name.clone())
    }

    pub fn inspector_name(&self, id: &str) -> String {
        self.inspectors
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| id.to_owned(), |(_, name)| name.clone())
    }
}

/// The tablet: its store, its blobs and the directory, and the verbs.
#[derive(Debug)]
pub struct Tablet {
    pub store: Store,
    pub blobs: BlobStore,
    pub directory: Directory,
    dir: PathBuf,
    limits: PhotoLimits,
}

impl Tablet {
    /// Opens (creating if need be) the tablet's data in `dir`.
    pub fn open(dir: &Path) -> Result<Self, AppError> {
        let store = Store::open(dir)?;
        let blobs = BlobStore::open(dir.join("blobs"))?;
        Ok(Self {
            store,
            blobs,
            directory: Directory::bundled(),
            dir: dir.to_owned(),
            limits: PhotoLimits::default(),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Who this tablet acts for, if it is enrolled (or a demo tablet).
    pub fn identity(&self) -> Result<Option<Identity>, AppError> {
        let Some(person) = self.store.setting(keys::PERSON)? else {
            return Ok(None);
        };
        let team = self.store.setting(keys::TEAM)?;
        Ok(Some(Identity {
            name: self.directory.inspector_name(&person),
            person,
            team_name: team.as_deref().and_then(|t| self.directory.team_name(t)),
            team,
            server: self.store.setting(keys::SERVER)?,
            device: self.store.setting(keys::DEVICE)?,
        }))
    }

    /// The author of this tablet's edits.
    pub fn author(&self) -> Result<Author, AppError> {
        let (Some(actor), Some(person)) = (
            self.store.setting(keys::ACTOR)?,
            self.store.setting(keys::PERSON)?,
        ) else {
            return Err(AppError::NotEnrolled);
        };
        let actor = actor
            .parse::<fieldloop_core::ActorId>()
            .map_err(|e| AppError::BadStoredActor(e.to_string()))?;
        Ok(Author::new(actor, person, fieldloop_core::Role::Inspector))
    }

    /// Makes a tablet without a server act for the first inspector of the
    /// demo tasks, so the demo can be tried offline. Does nothing on an
    /// enrolled tablet.
    pub fn adopt_demo_identity(&mut self) -> Result<(), AppError> {
        if self.store.setting(keys::PERSON)?.is_some() {
            return Ok(());
        }
        let rows = self.store.list_tasks(&crate::store::TaskQuery {
            limit: Some(1),
            ..Default::default()
        })?;
        let Some(row) = rows.first() else {
            return Ok(());
        };
        let task = self.store.open_task(&row.id)?.task()?;
        let Some(person) = task.inspectors.first() else {
            return Ok(());
        };
        let actor = fieldloop_core::ActorId::random().to_hex_string();
        self.store.set_setting(keys::ACTOR, &actor)?;
        self.store.set_setting(keys::PERSON, person)?;
        self.store.set_setting(keys::TEAM, &task.team)?;
        Ok(())
    }

    /// Enrolls this tablet with the text of the enrollment QR code (or a
    /// typed code and `server`). Answers who the tablet is now.
    pub fn enroll(
        &mut self,
        text: &str,
        server: Option<&str>,
        device_name: &str,
    ) -> Result<Identity, AppError> {
        let target = crate::sync::parse_enroll_text(text)?;
        let server = target
            .server
            .as_deref()
            .or(server.map(str::trim).filter(|s| !s.is_empty()))
            .ok_or(AppError::ServerMissing)?
            .to_owned();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(AppError::BadServerAddress(server));
        }
        crate::sync::enroll(&mut self.store, &server, &target.code, device_name)?;
        self.identity()?.ok_or(AppError::NotEnrolled)
    }

    /// The task as the task screen shows it.
    pub fn task_view(&self, task_id: &str) -> Result<TaskView, AppError> {
        let mut doc = self.store.open_task(task_id)?;
        let me = self.store.setting(keys::PERSON)?;
        let dirty = self.store.is_dirty(task_id)?;
        let mut view = build_view(
            &mut doc,
            &self.directory,
            me.as_deref(),
            &self.verify_base()?,
            dirty,
        )?;
        view.refused_edits = self.store.refused_edits(task_id)?;
        Ok(view)
    }

    /// The task's audit trail, oldest first.
    pub fn history(&self, task_id: &str) -> Result<Vec<HistoryEntry>, AppError> {
        Ok(self.store.open_task(task_id)?.history()?)
    }

    /// The verification QR code as SVG, drawn offline.
    pub fn verify_qr(&self, task_id: &str) -> Result<String, AppError> {
        let task = self.store.open_task(task_id)?.task()?;
        Ok(verify_qr_svg(&self.verify_base()?, &task.verify_code)?)
    }

    /// Where verification links point: the enrolled server, else the default.
    fn verify_base(&self) -> Result<String, AppError> {
        Ok(self
            .store
            .setting(keys::SERVER)?
            .unwrap_or_else(|| DEFAULT_VERIFY_BASE.to_owned()))
    }

    /// Runs one verb on the task as this tablet's author and answers the new view.
    fn act(
        &mut self,
        task_id: &str,
        now: Millis,
        verb: impl FnOnce(&mut TaskDoc, &Author) -> Result<(), TaskError>,
    ) -> Result<TaskView, AppError> {
        let author = self.author()?;
        self.store.edit(task_id, now, |doc| verb(doc, &author))?;
        self.task_view(task_id)
    }

    pub fn check_in(
        &mut self,
        task_id: &str,
        now: Millis,
        location: Option<GeoPoint>,
    ) -> Result<TaskView, AppError> {
        self.act(task_id, now, |doc, a| doc.check_in(a, now, location))
    }

    pub fn answer(
        &mut self,
        task_id: &str,
        now: Millis,
        item_id: &str,
        result: Option<Outcome>,
        value: Option<&str>,
        note: Option<&str>,
    ) -> Result<TaskView, AppError> {
        self.act(task_id, now, |doc, a| {
            doc.record_answer(a, now, item_id, result, value, note)
        })
    }

    /// Runs a photo through the pipeline, keeps its three blobs, attaches it
    /// to the task (and item) and queues the blobs for upload.
    pub fn add_photo(
        &mut self,
        task_id: &str,
        now: Millis,
        item_id: Option<&str>,
        bytes: &[u8],
        location: Option<GeoPoint>,
    ) -> Result<TaskView, AppError> {
        let author = self.author()?;
        // An unknown task is refused before the (slow) pipeline runs.
        self.store.open_task(task_id)?;
        let photo = store_photo(&self.blobs, bytes, &self.limits)?;
        let location = location.or(photo.gps.map(|g| GeoPoint {
            lat: g.latitude,
            lon: g.longitude,
        }));
        let new = NewEvidence {
            sha256: photo.original_sha256.to_string(),
            kind: EvidenceKind::Photo,
            taken_at: photo.taken_at.and_then(camera_time_millis).unwrap_or(now),
            location,
            caption: None,
            mime: photo.mime.to_owned(),
            bytes: photo.original_len,
            thumb_sha256: Some(photo.thumbnail.sha256.to_string()),
            display_sha256: Some(photo.display.sha256.to_string()),
            item: item_id.map(str::to_owned),
        };
        self.store
            .edit(task_id, now, |doc| doc.add_evidence(&author, now, new))?;
        self.store.queue_uploads(
            task_id,
            &[
                photo.original_sha256,
                photo.display.sha256,
                photo.thumbnail.sha256,
            ],
            now,
        )?;
        self.task_view(task_id)
    }

    pub fn set_caption(
        &mut self,
        task_id: &str,
        now: Millis,
        sha256: &str,
        caption: &str,
    ) -> Result<TaskView, AppError> {
        self.act(task_id, now, |doc, a| {
            doc.set_caption(a, now, sha256, caption)
        })
    }

    pub fn withdraw_evidence(
        &mut self,
        task_id: &str,
        now: Millis,
        sha256: &str,
        reason: &str,
    ) -> Result<TaskView, AppError> {
        self.act(task_id, now, |doc, a| {
            doc.withdraw_evidence(a, now, sha256, reason)
        })
    }

    /// Appends GPS fixes to the task's trace.
    pub fn add_trace(
        &mut self,
        task_id: &str,
        now: Millis,
        fixes: &[Fix],
    ) -> Result<TaskView, AppError> {
        for f in fixes {
            if !(-90.0..=90.0).contains(&f.lat)
                || !(-180.0..=180.0).contains(&f.lon)
                || !f.accuracy.is_finite()
                || f.accuracy < 0.0
            {
                return Err(AppError::BadPosition {
                    lat: f.lat,
                    lon: f.lon,
                });
            }
        }
        let points: Vec<_> = fixes
            .iter()
            .map(|f| {
                (
                    f.t,
                    GeoPoint {
                        lat: f.lat,
                        lon: f.lon,
                    },
                    f.accuracy,
                )
            })
            .collect();
        self.act(task_id, now, |doc, a| doc.add_trace(a, now, &points))
    }

    pub fn add_finding(
        &mut self,
        task_id: &str,
        now: Millis,
        new: NewFinding,
    ) -> Result<TaskView, AppError> {
        let finding = Finding {
            id: fieldloop_core::ActorId::random().to_hex_string()[..16].to_owned(),
            item_id: new.item_id,
            description: new.description.trim().to_owned(),
            severity: new.severity,
            rectification_order: new
                .rectification_order
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty()),
            rectification_deadline: new.rectification_deadline,
            by: String::new(),
            at: now,
        };
        self.act(task_id, now, |doc, a| doc.add_finding(a, now, finding))
    }

    pub fn add_lead_transfer(
        &mut self,
        task_id: &str,
        now: Millis,
        new: NewTransfer,
    ) -> Result<TaskView, AppError> {
        let transfer = LeadTransfer {
            id: fieldloop_core::ActorId::random().to_hex_string()[..16].to_owned(),
            to_department: new.to_department.trim().to_owned(),
            summary: new.summary.trim().to_owned(),
            evidence: new.evidence,
            criminal: new.criminal,
            by: String::new(),
            at: now,
        };
        self.act(task_id, now, |doc, a| {
            doc.add_lead_transfer(a, now, transfer)
        })
    }

    /// Keeps a signature image (a PNG from the signature pad) and records it.
    pub fn sign(
        &mut self,
        task_id: &str,
        now: Millis,
        role: SignerRole,
        signer: &str,
        png: &[u8],
    ) -> Result<TaskView, AppError> {
        check_signature_png(png)?;
        let author = self.author()?;
        self.store.open_task(task_id)?;
        let id = self.blobs.put(png)?;
        let image = NewEvidence {
            sha256: id.to_string(),
            kind: EvidenceKind::Signature,
            taken_at: now,
            location: None,
            caption: None,
            mime: "image/png".into(),
            bytes: png.len() as u64,
            thumb_sha256: None,
            display_sha256: None,
            item: None,
        };
        self.store.edit(task_id, now, |doc| {
            doc.sign(&author, now, role, signer, image)
        })?;
        self.store.queue_uploads(task_id, &[id], now)?;
        self.task_view(task_id)
    }

    pub fn refuse_to_sign(
        &mut self,
        task_id: &str,
        now: Millis,
        role: SignerRole,
        signer: &str,
        reason: &str,
    ) -> Result<TaskView, AppError> {
        self.act(task_id, now, |doc, a| {
            doc.refuse_to_sign(a, now, role, signer, reason)
        })
    }

    pub fn resolve_conflict(
        &mut self,
        task_id: &str,
        now: Millis,
        path: &[String],
        choice: &Resolution,
    ) -> Result<TaskView, AppError> {
        self.act(task_id, now, |doc, a| {
            doc.resolve_conflict(a, now, path, choice)
        })
    }

    pub fn submit(&mut self, task_id: &str, now: Millis) -> Result<TaskView, AppError> {
        self.act(task_id, now, |doc, a| doc.submit(a, now))
    }

    /// The bytes of a blob (a thumbnail, a display copy, a signature).
    pub fn blob(&self, sha256: &str) -> Result<Vec<u8>, AppError> {
        let id = BlobId::parse(sha256).map_err(BlobError::from)?;
        Ok(self.blobs.get(&id)?)
    }
}

/// The camera's EXIF time in milliseconds since the epoch. Without a
/// recorded offset the camera is taken to be on China Standard Time (UTC+8).
fn camera_time_millis(t: crate::photo::TakenAt) -> Option<Millis> {
    let date = chrono::NaiveDate::from_ymd_opt(t.year.into(), t.month.into(), t.day.into())?;
    let local = date.and_hms_opt(t.hour.into(), t.minute.into(), t.second.min(59).into())?;
    let offset_minutes = i64::from(t.offset_minutes.unwrap_or(8 * 60));
    Some((local.and_utc().timestamp() - offset_minutes * 60) * 1000)
}

/// A signature must be a PNG the tablet can decode, of a sensible size.
fn check_signature_png(png: &[u8]) -> Result<(), AppError> {
    if png.len() > MAX_SIGNATURE_BYTES {
        return Err(AppError::BadSignature(format!(
            "{} bytes, at most {MAX_SIGNATURE_BYTES}",
            png.len()
        )));
    }
    let format = image::guess_format(png).map_err(|e| AppError::BadSignature(e.to_string()))?;
    if format != image::ImageFormat::Png {
        return Err(AppError::BadSignature(format!("{format:?}, not PNG")));
    }
    let reader = image::ImageReader::with_format(std::io::Cursor::new(png), format);
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| AppError::BadSignature(e.to_string()))?;
    if w == 0 || h == 0 || w > 4096 || h > 4096 {
        return Err(AppError::BadSignature(format!("{w}×{h} pixels")));
    }
    image::load_from_memory_with_format(png, format)
        .map_err(|e| AppError::BadSignature(e.to_string()))?;
    Ok(())
}

/// Builds the screen's view of a task document.
pub fn build_view(
    doc: &mut TaskDoc,
    directory: &Directory,
    me: Option<&str>,
    verify_base: &str,
    dirty: bool,
) -> Result<TaskView, AppError> {
    let task: Task = doc.task()?;
    let report = task.status_report();
    let conflicts = doc.conflicts_with_times()?;
    let problems = doc.submit_problems()?;
    let title_of = |id: &str| task.checklist.get(id).map(|i| i.title.clone());

    let check_ins: Vec<&Event> = task
        .events
        .iter()
        .filter(|e| e.kind == EventKind::CheckedIn)
        .collect();
    let inspectors = task
        .inspectors
        .iter()
        .map(|id| {
            let check_in = report
                .checked_in
                .contains(id)
                .then(|| check_ins.iter().find(|e| &e.by == id))
                .flatten();
            InspectorView {
                id: id.clone(),
                name: directory.inspector_name(id),
                me: me == Some(id.as_str()),
                checked_in_at: check_in.map(|e| e.at),
                checked_in_location: check_in.and_then(|e| e.location),
            }
        })
        .collect();

    let mut groups: Vec<ItemGroup> = task
        .departments
        .iter()
        .map(|code| ItemGroup {
            department: directory.department(code),
            items: Vec::new(),
            answered: 0,
        })
        .collect();
    for (id, item) in task.items_in_order() {
        let index = match groups
            .iter()
            .position(|g| g.department.code == item.department)
        {
            Some(i) => i,
            None => {
                groups.push(ItemGroup {
                    department: directory.department(&item.department),
                    items: Vec::new(),
                    answered: 0,
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[index];
        if item.answer.result.is_some() {
            group.answered += 1;
        }
        group.items.push(ItemView {
            id: id.clone(),
            title: item.title.clone(),
            legal_basis: item.legal_basis.clone(),
            requires_evidence: item.requires_evidence,
            answer: item.answer.clone(),
            evidence: item
                .evidence
                .iter()
                .filter(|sha| task.evidence.get(*sha).is_some_and(|e| !e.is_withdrawn()))
                .cloned()
                .collect(),
            conflicted: conflicts
                .iter()
                .any(|c| c.path.len() > 1 && c.path[0] == "checklist" && &c.path[1] == id),
        });
    }
    groups.retain(|g| !g.items.is_empty());

    let problems = problems
        .into_iter()
        .map(|problem| {
            let item_title = match &problem {
                SubmitProblem::Unanswered { item } | SubmitProblem::MissingEvidence { item } => {
                    title_of(item)
                }
                _ => None,
            };
            let message = match &item_title {
                Some(title) => format!("{problem}（{title}）"),
                None => problem.to_string(),
            };
            ProblemView {
                problem,
                item_title,
                message,
            }
        })
        .collect();

    let mut evidence: Vec<Evidence> = task.evidence.values().cloned().collect();
    evidence.sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then(a.sha256.cmp(&b.sha256)));

    let editable = me.is_some_and(|me| task.inspectors.iter().any(|i| i == me))
        && matches!(
            report.status,
            Some(Status::Assigned | Status::InProgress | Status::Returned)
        );

    Ok(TaskView {
        id: task.id.clone(),
        code: task.code.clone(),
        status: report.status,
        subject_name: task.subject.name.clone(),
        uscc: task.subject.uscc.clone(),
        address: task.subject.address.clone(),
        industry: task.subject.industry.clone(),
        risk_class: task.subject.risk_class,
        legal_rep: task.subject.legal_rep.clone(),
        location: task.subject.location,
        window: task.window,
        team: task.team.clone(),
        lead_department: task.lead_department.clone(),
        departments: task
            .departments
            .iter()
            .map(|d| directory.department(d))
            .collect(),
        inspectors,
        groups,
        evidence,
        trace: task.trace.clone(),
        findings: task.findings.clone(),
        lead_transfers: task.lead_transfers.clone(),
        signatures: task.signatures.clone(),
        conflicts,
        problems,
        return_comment: report.return_comment.clone(),
        events: task.events.clone(),
        verify_url: verify_url(verify_base, &task.verify_code),
        editable,
        dirty,
        refused_edits: Vec::new(),
    })
}
