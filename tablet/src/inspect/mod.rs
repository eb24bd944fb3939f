//! Everything an inspector does with a task on the tablet, without a window:
//! the task as the screen shows it ([`TaskView`]), and the verbs (check in,
//! answer, photos, trace, findings, transfers, signatures, conflicts,
//! submit), each one durable change in the local store.
//!
//! The Tauri shell calls these one line per command; tests call them
//! directly. Every verb answers the new [`TaskView`], so the screen shows
//! exactly what was stored.

use std::path::{Path, PathBuf};

use fieldloop_core::ErrorCode;
use fieldloop_core::{
    Author, EvidenceKind, Finding, GeoPoint, HistoryEntry, LeadTransfer, Millis, NewEvidence,
    Outcome, Resolution, Severity, SignerRole, TaskDoc, TaskError,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::blobs::{BlobError, BlobId, BlobStore};
use crate::photo::{PhotoError, PhotoLimits, store_photo};
use crate::qr::{QrError, signed_verify_qr_svg};
use crate::store::{Store, StoreError};
use crate::sync::{SyncError, keys};

/// Where the verification QR points when the tablet knows no server yet.
pub const DEFAULT_VERIFY_BASE: &str = "https://verify.fieldloop.cn";
pub use crate::photo::MAX_SIGNATURE_BYTES;

mod error;
mod forms;
mod notes;
mod print;
mod view;
mod wipe;

pub use error::AppError;
pub use fieldloop_core::record::{
    DepartmentRef, Directory, InspectorView, ItemGroup, ItemView, ProblemView, RecordView,
    build_record,
};
pub use forms::{Fix, Identity, NewFinding, NewTransfer};
pub use print::{FONTS_DIR, PRINTS_DIR, PrintedFile};
pub use view::TaskView;
pub use wipe::{UnsyncedTask, UnsyncedWork};

/// The tablet: its store, its blobs and the directory, and the verbs.
#[derive(Debug)]
pub struct Tablet {
    pub store: Store,
    pub blobs: BlobStore,
    /// Names known without a server: the bundled demo data's in a demo
    /// build. The directory the server sends comes first ([`Tablet::names`]).
    pub directory: Directory,
    dir: PathBuf,
    limits: PhotoLimits,
    /// Loaded on the first print (the fonts are large).
    printer: std::sync::OnceLock<fieldloop_print::Printer>,
}

impl Tablet {
    /// Opens (creating if need be) the tablet's data in `dir`.
    pub fn open(dir: &Path) -> Result<Self, AppError> {
        let store = Store::open(dir)?;
        let blobs = BlobStore::open_for(dir)?;
        // At start nothing is being stored yet: temporary files are what
        // puts cut short by a crash left behind.
        blobs.remove_stale_temp_files()?;
        Ok(Self {
            store,
            blobs,
            #[cfg(feature = "demo")]
            directory: Directory::bundled(),
            #[cfg(not(feature = "demo"))]
            directory: Directory::default(),
            dir: dir.to_owned(),
            limits: PhotoLimits::default(),
            printer: std::sync::OnceLock::new(),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The names of departments, teams and inspectors: the directory the
    /// server last sent, then [`Tablet::directory`]'s.
    pub fn names(&self) -> Result<Directory, AppError> {
        Ok(match self.store.directory()? {
            Some(snapshot) => Directory::from_snapshot(&snapshot).or(&self.directory),
            None => self.directory.clone(),
        })
    }

    /// Who this tablet acts for, if it is enrolled (or a demo tablet): names
    /// from the server's directory, else those given at enrollment.
    pub fn identity(&self) -> Result<Option<Identity>, AppError> {
        let Some(person) = self.store.setting(keys::PERSON)? else {
            return Ok(None);
        };
        let team = self.store.setting(keys::TEAM)?;
        let synced = self
            .store
            .directory()?
            .map(|s| Directory::from_snapshot(&s))
            .unwrap_or_default();
        let name = match (
            synced.find_inspector(&person),
            self.store.setting(keys::PERSON_NAME)?,
        ) {
            (Some(name), _) => name.to_owned(),
            (None, Some(name)) => name,
            (None, None) => self.directory.inspector_name(&person),
        };
        let team_name = match (
            team.as_deref().and_then(|t| synced.team_name(t)),
            self.store.setting(keys::TEAM_NAME)?,
        ) {
            (Some(name), _) => Some(name),
            (None, Some(name)) => Some(name),
            (None, None) => team.as_deref().and_then(|t| self.directory.team_name(t)),
        };
        Ok(Some(Identity {
            name,
            person,
            team_name,
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
    #[cfg(feature = "demo")]
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
        let pins = target
            .key_pins()
            .map_err(|_| crate::sync::SyncError::NotAnEnrollText)?;
        crate::sync::enroll_pinned(&mut self.store, &server, &target.code, device_name, &pins)?;
        self.identity()?.ok_or(AppError::NotEnrolled)
    }

    /// The task as the task screen shows it.
    pub fn task_view(&self, task_id: &str) -> Result<TaskView, AppError> {
        let mut doc = self.store.open_task(task_id)?;
        let me = self.store.setting(keys::PERSON)?;
        let dirty = self.store.is_dirty(task_id)?;
        let names = self.names()?;
        let record = build_record(&mut doc, &names, me.as_deref(), &self.verify_base()?)?;
        Ok(TaskView {
            record,
            known_departments: names.departments(),
            dirty,
            refused_edits: self.store.refused_edits(task_id)?,
        })
    }

    /// The task's audit trail, oldest first.
    pub fn history(&self, task_id: &str) -> Result<Vec<HistoryEntry>, AppError> {
        Ok(self.store.open_task(task_id)?.history()?)
    }

    /// The verification QR code as SVG, drawn offline.
    pub fn verify_qr(&self, task_id: &str) -> Result<String, AppError> {
        let task = self.store.open_task(task_id)?.task()?;
        Ok(signed_verify_qr_svg(
            &self.verify_base()?,
            &task.verify_code,
            task.claim.as_deref(),
        )?)
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
            taken_at: photo
                .taken_at
                .and_then(crate::photo::camera_time_millis)
                .unwrap_or(now),
            location,
            caption: None,
            mime: photo.mime.to_owned(),
            bytes: photo.original_len,
            thumb_sha256: Some(photo.thumbnail.sha256.to_string()),
            display_sha256: Some(photo.display.sha256.to_string()),
            item: item_id.map(str::to_owned),
        };
        // The evidence and its three files' place in the upload queue in
        // one transaction: a crash between them would keep the photo in
        // the task and never send it.
        let files = [
            photo.original_sha256,
            photo.display.sha256,
            photo.thumbnail.sha256,
        ];
        self.store.edit_queueing(task_id, now, &files, |doc| {
            doc.add_evidence(&author, now, new)
        })?;
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
        crate::photo::check_signature_png(png).map_err(|e| AppError::BadSignature(e.0))?;
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
        self.store.edit_queueing(task_id, now, &[id], |doc| {
            doc.sign(&author, now, role, signer, image)
        })?;
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
