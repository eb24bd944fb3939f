//! Power cuts: the tablet's and the server's stores lose everything they
//! did not fsync, at every fsync of a scenario, and still keep every
//! acknowledged edit, pass SQLite's integrity check and converge on the
//! next reliable sync.
//!
//! The stores run on the power-cut VFS (`fieldloop_powercut`). A first run
//! of the scenario counts each side's `xSync` calls (K) and checks that it
//! passes every crash point of the tablet; then, for each k in 0..K
//! (sampled evenly above [`MAX_CUTS_PER_SIDE`]), the scenario runs again and
//! the power of one side goes off at its k-th sync: once losing everything
//! unsynced, once keeping a random subset of the unsynced sectors (a disk
//! that wrote part of its cache). That side's store is reopened on the
//! ordinary VFS and checked; the other side keeps running.
//!
//! Evidence files are cut at the crash points of the tablet's blob store
//! (`tablet.blob.*`) and of the server's uploads (`server.upload.*`, a real
//! server on a port): a file written but not fsynced is cut to a random
//! length (or, on the server, keeps its new length with zeros where the
//! data did not arrive), names not yet made durable by a folder fsync are
//! undone; the evidence is then whole or absent, never partial, and the
//! upload completes.
//!
//! One cut alone: `POWERCUT_ONLY=Tablet:12 cargo test -p fieldloop-tests
//! --test it powercut`.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use fieldloop_core::checkpoint::{ChainEntry, ReceiptFields};
use fieldloop_core::demo::DemoData;
use fieldloop_core::sync::{self as wire, SyncRequest};
use fieldloop_core::{ActorId, Author, GeoPoint, Role, TaskDoc, faults};
use fieldloop_powercut::{Loss, PowerCut};
use fieldloop_server::limits::Limits;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_server::store::{Device, Store as _};
use fieldloop_tablet::blobs::{BlobId, BlobStore};
use fieldloop_tablet::store::{Store as TabletStore, TaskQuery};
use fieldloop_tablet::sync::{SyncError, Transport, sync_now};

const NOW: i64 = fieldloop_tests::NOW;
const INSPECTOR: &str = "I-001";
const SERVER_DB: &str = "fieldloop-server.sqlite3";
/// Demo tasks on the server.
const SERVER_TASKS: usize = 3;
/// A setting the scenario writes.
const SETTING: &str = "powercut.mark";
/// What the forged edit writes (the server refuses it).
const FORGED_NAME: &str = "另一家公司";
/// At most this many syncs per side are cut at (evenly spread over its
/// syncs; each twice, losing all or part of what was not synced), so the
/// suite stays well under a minute in a debug build.
const MAX_CUTS_PER_SIDE: u64 = 64;
/// Names one cut to run alone (`Tablet:12`, `Server:3`).
const ONLY_ENV: &str = "POWERCUT_ONLY";
/// Edits before the first push, between the pushes, and after a restart.
const EDITS: [i64; 3] = [5, 4, 3];

/// The server's data folder with the demo people and tasks and one
/// enrolled device, made once and copied for each run.
fn template() -> &'static (tempfile::TempDir, Device, String) {
    static TEMPLATE: std::sync::OnceLock<(tempfile::TempDir, Device, String)> =
        std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("template store");
        fieldloop_server::demo::seed_tasks(&store, SERVER_TASKS, NOW).expect("demo tasks");
        // Enrolled now (not at demo time): its token must not have expired
        // when the upload test sends it over HTTP.
        let enrolled = fieldloop_server::now_ms();
        let code = fieldloop_server::enroll::issue_code(&store, INSPECTOR, enrolled, 3_600_000)
            .expect("code");
        let actor = format!("{:032x}", 0x0dd_ba11u64);
        let device = store
            .redeem_enrollment(
                &fieldloop_server::auth::secret_hash(&code),
                enrolled,
                "D-powercut",
                &fieldloop_server::auth::secret_hash(TOKEN),
                &actor,
                "powercut",
            )
            .expect("enroll");
        // Closing checkpoints the WAL into the database file.
        drop(store);
        (dir, device, actor)
    })
}

fn author() -> Author {
    Author::new(
        template().2.parse::<ActorId>().expect("actor hex"),
        INSPECTOR,
        Role::Inspector,
    )
}

/// A fresh copy of the template server's folder.
fn server_dir(root: &Path) -> PathBuf {
    let dir = root.join("server");
    std::fs::create_dir_all(&dir).expect("server dir");
    for entry in std::fs::read_dir(template().0.path()).expect("template") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
        }
    }
    dir
}

/// The latest checkpoint the server published (seq, head).
type Published = std::rc::Rc<RefCell<Option<(i64, String)>>>;

/// The server in this process, reached as the HTTP handler reaches it
/// (`fieldloop_server::sync::run`, then a checkpoint when one is due)
/// without a socket.
struct Server {
    store: SqliteStore,
    limits: Limits,
    /// The power-cut VFS it runs on, if any.
    power: Option<PowerCut>,
    published: Published,
}

/// A checkpoint after every sync that adds receipts (the default is one
/// per thousand), so that power cuts land in checkpoint writes too.
const CHECKPOINT_EVERY: u64 = 1;

impl Server {
    fn open(dir: &Path, power: Option<PowerCut>, published: &Published) -> Result<Self, String> {
        fieldloop_server::store::sqlite::set_test_vfs(power.map(|p| p.name()));
        let store = SqliteStore::open(dir);
        fieldloop_server::store::sqlite::set_test_vfs(None);
        Ok(Self {
            store: store.map_err(|e| format!("server store: {e}"))?,
            power,
            published: published.clone(),
            // Small feed pages: a sync takes several rounds.
            limits: Limits {
                feed_page_docs: 1,
                ..Default::default()
            },
        })
    }

    fn stamps(&self, task: &str) -> Vec<i64> {
        let stored = self
            .store
            .task(task)
            .expect("read")
            .expect("task on server");
        stamps_of(&mut TaskDoc::load(&stored.doc).expect("server doc"))
    }
}

impl Transport for Server {
    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let request: SyncRequest =
            wire::decode(&request).map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        let device = &template().1;
        match fieldloop_server::sync::run(&self.store, device, &request, NOW, &self.limits) {
            Ok(response) => {
                // As the handler: after a push; a failed checkpoint leaves
                // the sync done.
                if !request.docs.is_empty()
                    && let Ok(Some(made)) = fieldloop_server::audit::checkpoint_if_due(
                        &self.store,
                        CHECKPOINT_EVERY,
                        NOW,
                    )
                    && !self.power.is_some_and(|p| p.is_cut())
                {
                    *self.published.borrow_mut() = Some((made.seq, made.head));
                }
                Ok(wire::encode(&response))
            }
            Err(e) => Err(SyncError::from_answer(
                e.status().as_u16(),
                e.code.as_str().to_owned(),
                e.message,
                e.concerns.task,
                e.concerns.change,
            )),
        }
    }
}

fn stamps_of(doc: &mut TaskDoc) -> Vec<i64> {
    let mut stamps: Vec<i64> = doc
        .task()
        .expect("task")
        .trace
        .iter()
        .map(|p| p.t)
        .collect();
    stamps.sort_unstable();
    stamps
}

/// The scenario's evidence file.
fn evidence() -> Vec<u8> {
    b"photo bytes of the power-cut scenario".repeat(100)
}

/// A demo task the server does not have, for `insert_task`.
fn local_task() -> TaskDoc {
    let data = DemoData::embedded().expect("demo data");
    let spec = data
        .task_specs(SERVER_TASKS + 1, NOW)
        .expect("specs")
        .pop()
        .expect("one more spec than the server has");
    let supervisor = Author::new(
        ActorId::from(b"fieldloop-demo-supervisor".as_slice()),
        "S-DEMO",
        Role::Supervisor,
    );
    TaskDoc::create(spec, &supervisor, NOW).expect("demo task")
}

/// The subject's name of a task as the document has it.
fn subject_name(doc: &mut TaskDoc) -> String {
    doc.task().expect("task").subject.name
}

fn open_tablet(dir: &Path, vfs: Option<&'static str>) -> Result<TabletStore, String> {
    fieldloop_tablet::store::set_test_vfs(vfs);
    let store = TabletStore::open(dir);
    fieldloop_tablet::store::set_test_vfs(None);
    store.map_err(|e| format!("tablet store: {e}"))
}

/// What the scenario saw acknowledged before the power went.
#[derive(Debug, Default)]
struct Acked {
    /// The task edited (once the first sync brought it).
    task: Option<String>,
    /// Trace stamps of edits the tablet store acknowledged.
    edits: Vec<i64>,
    /// The stamp of the last edit begun (acknowledged or cut short).
    last_tried: i64,
    /// Stamps the server acknowledged (a sync that returned Ok).
    on_server: Vec<i64>,
    /// The evidence blob was stored, and queued for upload with the edit
    /// of this stamp…
    queued: Option<BlobId>,
    queue_stamp: i64,
    /// …and later marked uploaded (tried; acknowledged).
    upload_tried: bool,
    uploaded: bool,
    /// A setting written.
    setting: bool,
    /// A task made on the tablet (one the server does not have).
    local_task: Option<String>,
    /// An edit the server refuses was made (tried; acknowledged)…
    forged_tried: bool,
    forged: bool,
    /// …and a sync set it aside.
    set_aside: bool,
    /// The tablet kept its receipts up to this seq, and this checkpoint.
    audit_receipts: i64,
    audit_checkpoint: Option<(i64, String)>,
}

/// Which side loses its power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Tablet,
    Server,
}

/// One run's world: both stores on their own power-cut VFS.
struct World {
    root: tempfile::TempDir,
    tablet_vfs: PowerCut,
    server_vfs: PowerCut,
    tablet: Option<TabletStore>,
    server: Option<Server>,
    acked: Acked,
    published: Published,
}

impl World {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        server_dir(root.path());
        Self {
            root,
            tablet_vfs: PowerCut::new(),
            server_vfs: PowerCut::new(),
            tablet: None,
            server: None,
            acked: Acked::default(),
            published: Published::default(),
        }
    }

    fn tablet_dir(&self) -> PathBuf {
        self.root.path().join("tablet")
    }

    fn server_dir(&self) -> PathBuf {
        self.root.path().join("server")
    }

    fn cut(&self) -> bool {
        self.tablet_vfs.is_cut() || self.server_vfs.is_cut()
    }

    /// Runs one step; `Ok(false)` once the power is off (the step's result
    /// counts for nothing then).
    fn step(&mut self, what: &str, f: impl FnOnce(&mut Self) -> Result<(), String>) -> bool {
        let result = f(self);
        if self.cut() {
            return false;
        }
        if let Err(e) = result {
            panic!("{what} failed with the power on: {e}");
        }
        true
    }

    fn tablet(&mut self) -> &mut TabletStore {
        self.tablet.as_mut().expect("tablet open")
    }

    fn edit(&mut self, stamp: i64) -> Result<(), String> {
        self.edit_queueing(stamp, &[])
    }

    /// An edit that adds the trace point `stamp` and queues `uploads` with it.
    fn edit_queueing(&mut self, stamp: i64, uploads: &[BlobId]) -> Result<(), String> {
        let task = self.acked.task.clone().expect("a task");
        let who = author();
        self.acked.last_tried = stamp;
        self.tablet()
            .edit_queueing(&task, NOW, uploads, |doc| {
                doc.add_trace(
                    &who,
                    NOW,
                    &[(
                        stamp,
                        GeoPoint {
                            lat: 25.6,
                            lon: 115.3,
                        },
                        5.0,
                    )],
                )
            })
            .map_err(|e| e.to_string())?;
        if !self.cut() {
            self.acked.edits.push(stamp);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), String> {
        let server = self.server.as_ref().expect("server up");
        let tablet = self.tablet.as_mut().expect("tablet open");
        sync_now(tablet, server, NOW, |_| {}).map_err(|e| format!("sync: {e}"))?;
        if !self.cut() {
            self.acked.on_server = self.acked.edits.clone();
        }
        Ok(())
    }

    /// The first sync brings the tasks; the scenario edits one of its
    /// inspector's.
    fn first_sync(&mut self) -> Result<(), String> {
        self.sync()?;
        let tablet = self.tablet();
        let rows = tablet
            .list_tasks(&TaskQuery::default())
            .map_err(|e| e.to_string())?;
        let task = rows
            .into_iter()
            .map(|r| r.id)
            .find(|id| {
                tablet.open_task(id).is_ok_and(|d| {
                    d.task()
                        .is_ok_and(|t| t.inspectors.iter().any(|p| p == INSPECTOR))
                })
            })
            .ok_or("no task of the inspector on the tablet")?;
        self.acked.task = Some(task);
        Ok(())
    }

    /// The scenario: open both stores, a first sync, edits, a push, an
    /// evidence blob queued for upload, compaction, more edits, a push, the
    /// upload done, a restart of both, more edits, a last push. Stops at
    /// the power cut.
    fn run(&mut self) {
        let blobs = BlobStore::open_for(&self.tablet_dir()).expect("blob store");
        let mut stamp = 0;
        let opened = self.step("open the server", |w| {
            w.server = Some(Server::open(
                &w.server_dir(),
                Some(w.server_vfs),
                &w.published,
            )?);
            Ok(())
        }) && self.step("open the tablet", |w| {
            w.tablet = Some(open_tablet(&w.tablet_dir(), Some(w.tablet_vfs.name()))?);
            Ok(())
        }) && self.step("first sync", Self::first_sync);
        if !opened {
            return;
        }
        if !self.step("a setting", |w| {
            w.tablet()
                .set_setting(SETTING, "1")
                .map_err(|e| e.to_string())?;
            w.acked.setting = !w.cut();
            Ok(())
        }) {
            return;
        }
        if !self.step("a task made on the tablet", |w| {
            let summary = w
                .tablet()
                .insert_task(&mut local_task(), false, NOW)
                .map_err(|e| e.to_string())?;
            if !w.cut() {
                w.acked.local_task = Some(summary.id);
            }
            Ok(())
        }) {
            return;
        }
        for _ in 0..EDITS[0] {
            stamp += 1;
            if !self.step("edit", |w| w.edit(stamp)) {
                return;
            }
        }
        if !self.step("push", Self::sync) {
            return;
        }
        let evidence = evidence();
        stamp += 1;
        let queued = self.step("an edit queueing an upload", |w| {
            let id = blobs.put(&evidence).map_err(|e| e.to_string())?;
            w.acked.queue_stamp = stamp;
            w.edit_queueing(stamp, &[id])?;
            if !w.cut() {
                w.acked.queued = Some(id);
            }
            Ok(())
        });
        if !queued {
            return;
        }
        if !self.step("compact", |w| {
            let task = w.acked.task.clone().expect("task");
            w.tablet().compact(&task).map_err(|e| e.to_string())
        }) {
            return;
        }
        for _ in 0..EDITS[1] {
            stamp += 1;
            if !self.step("edit", |w| w.edit(stamp)) {
                return;
            }
        }
        if !self.step("push", Self::sync) {
            return;
        }
        if !self.step("audit fetch", Self::fetch_audit) {
            return;
        }
        if !self.step("upload done", |w| {
            let id = w.acked.queued.expect("queued").to_string();
            w.acked.upload_tried = true;
            w.tablet().upload_done(&id).map_err(|e| e.to_string())?;
            if !w.cut() {
                w.acked.uploaded = true;
            }
            Ok(())
        }) {
            return;
        }
        if !self.step("restart both", |w| {
            w.tablet = None;
            w.server = None;
            w.server = Some(Server::open(
                &w.server_dir(),
                Some(w.server_vfs),
                &w.published,
            )?);
            w.tablet = Some(open_tablet(&w.tablet_dir(), Some(w.tablet_vfs.name()))?);
            Ok(())
        }) {
            return;
        }
        for _ in 0..EDITS[2] {
            stamp += 1;
            if !self.step("edit", |w| w.edit(stamp)) {
                return;
            }
        }
        if !self.step("last push", Self::sync) {
            return;
        }
        if !self.step("an edit the server refuses", Self::forge) {
            return;
        }
        self.step("a sync that sets it aside", |w| {
            let server = w.server.as_ref().expect("server up");
            let tablet = w.tablet.as_mut().expect("tablet open");
            let report = sync_now(tablet, server, NOW, |_| {}).map_err(|e| e.to_string())?;
            if report.refused.len() != 1 {
                return Err(format!("one refusal expected: {report:?}"));
            }
            if !w.cut() {
                w.acked.set_aside = true;
            }
            Ok(())
        });
    }

    /// What `fieldloop_tablet::audit::fetch` does after a sync, in process:
    /// the tablet keeps its new receipts and the server's latest
    /// checkpoint.
    fn fetch_audit(&mut self) -> Result<(), String> {
        let (tablet_vfs, server_vfs) = (self.tablet_vfs, self.server_vfs);
        let cut = || tablet_vfs.is_cut() || server_vfs.is_cut();
        let server = self.server.as_ref().expect("server up");
        let tablet = self.tablet.as_mut().expect("tablet open");
        let after = tablet.audit_last_receipt_seq().map_err(|e| e.to_string())?;
        let receipts: Vec<ChainEntry> = server
            .store
            .device_receipts(&template().1.id, after, 1000)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|r| ChainEntry {
                seq: r.seq,
                prev: r.prev,
                hash: r.hash,
                fields: Some(ReceiptFields {
                    change_hash: r.change_hash,
                    task_id: r.task_id,
                    device_id: r.device_id,
                    received_at: r.received_at,
                }),
            })
            .collect();
        let last = receipts.last().map_or(after, |r| r.seq);
        tablet
            .add_audit_receipts(&receipts)
            .map_err(|e| e.to_string())?;
        if !cut() {
            self.acked.audit_receipts = last;
        }
        let latest = server.store.checkpoint(None).map_err(|e| e.to_string())?;
        if let Some(cp) = latest {
            tablet
                .set_audit_checkpoint(&cp)
                .map_err(|e| e.to_string())?;
            if !cut() {
                self.acked.audit_checkpoint = Some((cp.seq, cp.head));
            }
        }
        Ok(())
    }

    /// Renames the task's subject as the inspector may not.
    fn forge(&mut self) -> Result<(), String> {
        let task = self.acked.task.clone().expect("a task");
        let actor = author().actor;
        self.acked.forged_tried = true;
        self.tablet()
            .edit(&task, NOW, |d| {
                let doc = d.automerge();
                doc.set_actor(actor.clone());
                let subject = match automerge::ReadDoc::get(doc, &automerge::ROOT, "subject") {
                    Ok(Some((_, subject))) => subject,
                    other => panic!("no subject: {other:?}"),
                };
                automerge::transaction::Transactable::put(doc, &subject, "name", FORGED_NAME)
                    .expect("put");
                doc.commit_with(
                    automerge::transaction::CommitOptions::default().with_message("篡改"),
                );
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        self.acked.forged = !self.cut();
        Ok(())
    }

    /// After the cut: `side` is reopened from what reached its disk; the
    /// other side keeps running. Checks everything acknowledged is there,
    /// the files are intact and a reliable sync converges.
    fn recover(mut self, side: Side, label: &str) {
        match side {
            Side::Tablet => {
                self.tablet = None;
                self.tablet_vfs.discard();
                let store = open_tablet(&self.tablet_dir(), None)
                    .unwrap_or_else(|e| panic!("{label}: the tablet does not reopen: {e}"));
                assert_eq!(
                    store.integrity_check().expect("integrity check"),
                    vec!["ok".to_string()],
                    "{label}: tablet database"
                );
                self.tablet = Some(store);
            }
            Side::Server => {
                self.server = None;
                self.server_vfs.discard();
                let server = Server::open(&self.server_dir(), None, &self.published)
                    .unwrap_or_else(|e| panic!("{label}: the server does not reopen: {e}"));
                let check = rusqlite::Connection::open(self.server_dir().join(SERVER_DB))
                    .expect("server db");
                let ok: String = check
                    .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                    .expect("integrity check");
                assert_eq!(ok, "ok", "{label}: server database");
                let receipts = server.store.receipts().expect("receipts");
                fieldloop_server::store::verify_receipts(&receipts)
                    .unwrap_or_else(|e| panic!("{label}: receipt chain: {e}"));
                // A checkpoint once published stays, and the log still
                // reaches it with the same hash; none covers a lost entry.
                let latest = server.store.checkpoint(None).expect("checkpoint");
                if let Some((seq, head)) = self.published.borrow().clone() {
                    let kept = server.store.checkpoint(Some(seq)).expect("checkpoint");
                    assert_eq!(
                        kept.map(|c| c.head),
                        Some(head),
                        "{label}: published checkpoint {seq} lost"
                    );
                }
                if let Some(latest) = latest {
                    let entry = receipts.iter().find(|r| r.seq == latest.seq);
                    assert_eq!(
                        entry.map(|r| &r.hash),
                        Some(&latest.head),
                        "{label}: checkpoint {} does not match the log",
                        latest.seq
                    );
                }
                self.server = Some(server);
            }
        }
        // A side that did not get as far as opening its store opens now.
        if self.server.is_none() {
            self.server =
                Some(Server::open(&self.server_dir(), None, &self.published).expect("server"));
        }
        if self.tablet.is_none() {
            self.tablet = Some(open_tablet(&self.tablet_dir(), None).expect("tablet"));
        }
        let acked = std::mem::take(&mut self.acked);
        let Some(task) = acked.task.clone() else {
            assert!(acked.edits.is_empty());
            return self.converge(label, &acked);
        };
        // Nothing the tablet acknowledged is lost…
        if side == Side::Tablet {
            let mut doc = self
                .tablet()
                .open_task(&task)
                .unwrap_or_else(|e| panic!("{label}: task {task} lost on the tablet: {e}"));
            let present = stamps_of(&mut doc);
            // Nothing but whole edits the scenario made: the acknowledged
            // ones and at most the one the cut interrupted.
            let made: Vec<i64> = (1..=acked.last_tried).collect();
            assert!(
                present.iter().all(|s| made.contains(s)) && present.len() >= acked.edits.len(),
                "{label}: edits on the tablet {present:?}, made {made:?}"
            );
            for stamp in &acked.edits {
                assert!(
                    present.contains(stamp),
                    "{label}: acknowledged edit {stamp} lost on the tablet; present {present:?}"
                );
            }
            if acked.setting {
                assert_eq!(
                    self.tablet().setting(SETTING).expect("setting").as_deref(),
                    Some("1"),
                    "{label}: acknowledged setting lost"
                );
            }
            let tablet = self.tablet();
            assert!(
                tablet.audit_last_receipt_seq().expect("receipts") >= acked.audit_receipts,
                "{label}: receipts the tablet kept are lost"
            );
            if let Some((seq, head)) = &acked.audit_checkpoint {
                let kept = tablet.audit_checkpoint().expect("checkpoint");
                assert!(
                    kept.is_some_and(|c| c.seq >= *seq && (c.seq != *seq || c.head == *head)),
                    "{label}: the checkpoint the tablet took went back"
                );
            }
            if let Some(local) = &acked.local_task {
                self.tablet()
                    .open_task(local)
                    .unwrap_or_else(|e| panic!("{label}: task made on the tablet lost: {e}"));
            }
            if acked.forged {
                // In the document still, or set aside: never gone.
                let mut doc = self.tablet().open_task(&task).expect("task");
                let refused = self.tablet().refused_edits(&task).expect("refused");
                assert!(
                    subject_name(&mut doc) == FORGED_NAME || !refused.is_empty(),
                    "{label}: the acknowledged (refused) edit vanished"
                );
                if acked.set_aside {
                    assert!(!refused.is_empty(), "{label}: the set-aside edit is gone");
                }
            }
            let pending = self.tablet().pending_uploads().expect("uploads");
            let evidence = BlobId::of(&evidence());
            // The edit and its file's place in the queue come together.
            if present.contains(&acked.queue_stamp) && !acked.upload_tried {
                assert!(
                    pending.contains(&evidence.to_string()),
                    "{label}: the edit is there, its file not queued"
                );
            }
            if let Some(id) = acked.queued {
                let queued = pending.contains(&id.to_string());
                // Cut while being marked uploaded: either is right.
                if acked.uploaded || !acked.upload_tried {
                    assert_eq!(
                        queued, !acked.uploaded,
                        "{label}: upload queue (uploaded: {})",
                        acked.uploaded
                    );
                }
                let blobs = BlobStore::open_for(&self.tablet_dir()).expect("blobs");
                blobs
                    .get(&id)
                    .unwrap_or_else(|e| panic!("{label}: queued evidence unreadable: {e}"));
            }
        }
        // …nor anything the server acknowledged.
        let on_server = self.server.as_ref().expect("server").stamps(&task);
        for stamp in &acked.on_server {
            assert!(
                on_server.contains(stamp),
                "{label}: edit {stamp} the server acknowledged is lost there; present {on_server:?}"
            );
        }
        self.converge(label, &acked);
    }

    /// A reliable sync brings both sides to the same heads, with every
    /// acknowledged edit on both.
    fn converge(&mut self, label: &str, acked: &Acked) {
        let server = self.server.as_ref().expect("server");
        let tablet = self.tablet.as_mut().expect("tablet");
        sync_now(tablet, server, NOW, |_| {})
            .unwrap_or_else(|e| panic!("{label}: reliable sync after the cut: {e}"));
        assert!(
            tablet.dirty_tasks().expect("dirty").is_empty(),
            "{label}: the tablet still holds unsent edits after a sync"
        );
        for row in tablet
            .list_tasks(&TaskQuery::default())
            .expect("list tasks")
        {
            if acked.local_task.as_ref() == Some(&row.id) {
                // Made on this tablet, never pushed (inserted clean).
                continue;
            }
            let stored = server
                .store
                .task(&row.id)
                .expect("read")
                .expect("task on server");
            let mut on_server = TaskDoc::load(&stored.doc).expect("server doc");
            let mut on_tablet = tablet.open_task(&row.id).expect("tablet doc");
            assert_eq!(
                on_server.heads(),
                on_tablet.heads(),
                "{label}: task {} differs after a reliable sync",
                row.id
            );
        }
        if let Some(task) = &acked.task {
            let stored = server.store.task(task).expect("read").expect("task");
            let mut doc = TaskDoc::load(&stored.doc).expect("server doc");
            assert_ne!(
                subject_name(&mut doc),
                FORGED_NAME,
                "{label}: the server took the forged edit"
            );
            if acked.forged_tried {
                let mut mine = tablet.open_task(task).expect("task");
                let kept = tablet.refused_edits(task).expect("refused");
                assert!(
                    subject_name(&mut mine) != FORGED_NAME && (kept.len() == 1 || !acked.forged),
                    "{label}: the refused edit is set aside once ({} kept)",
                    kept.len()
                );
            }
            let on_server = server.stamps(task);
            for stamp in &acked.edits {
                assert!(
                    on_server.contains(stamp),
                    "{label}: acknowledged edit {stamp} not on the server after the sync"
                );
            }
        }
    }
}

/// The sample of `0..k`: all of it, or `max` evenly spread points
/// (always the first and the last).
fn sample(k: u64, max: u64) -> Vec<u64> {
    if k <= max {
        return (0..k).collect();
    }
    let mut picks: Vec<u64> = (0..max).map(|i| i * (k - 1) / (max - 1)).collect();
    picks.dedup();
    picks
}

#[test]
fn a_power_cut_at_any_sync_loses_nothing_acknowledged() {
    faults::quiet_crashes();
    let started = std::time::Instant::now();
    // Count each side's syncs in a run without a cut (and the tablet's
    // crash points it passes); then cut both at the end, which must lose
    // nothing either.
    let points = std::rc::Rc::new(RefCell::new(std::collections::BTreeSet::new()));
    let seen = points.clone();
    faults::set_hook(Box::new(move |name| {
        seen.borrow_mut().insert(name);
    }));
    let (tablet_syncs, server_syncs) = {
        let mut world = World::new();
        world.run();
        faults::clear_hook();
        assert!(!world.cut());
        assert_eq!(
            world.acked.edits.len() as i64,
            EDITS.iter().sum::<i64>() + 1,
            "the whole scenario ran (its edits and the one queueing a file)"
        );
        assert!(world.acked.uploaded && world.acked.set_aside && world.acked.setting);
        let counts = (world.tablet_vfs.syncs(), world.server_vfs.syncs());
        world.tablet_vfs.cut_now(Loss::All);
        world.server_vfs.cut_now(Loss::All);
        world.server = None;
        world.server_vfs.discard();
        world.server =
            Some(Server::open(&world.server_dir(), None, &world.published).expect("server"));
        world.recover(Side::Tablet, "cut after the scenario");
        counts
    };
    assert!(
        tablet_syncs > 20 && server_syncs > 5,
        "the scenario syncs: tablet {tablet_syncs}, server {server_syncs}"
    );
    let passed: Vec<&str> = fieldloop_tablet::CRASH_POINTS
        .iter()
        .copied()
        .filter(|p| points.borrow().contains(p))
        .collect();
    // The scenario goes through every write the tablet makes durable, so
    // the cuts land in each of them (a new one must join the scenario).
    assert_eq!(
        passed,
        fieldloop_tablet::CRASH_POINTS,
        "the scenario passes every crash point of the tablet"
    );
    let mut runs = 0;
    let mut kept = 0;
    // `POWERCUT_ONLY=Tablet:12` runs that one cut (both ways) alone.
    let only = std::env::var(ONLY_ENV).ok();
    for (side, syncs) in [(Side::Tablet, tablet_syncs), (Side::Server, server_syncs)] {
        for k in sample(syncs, MAX_CUTS_PER_SIDE) {
            if only.as_ref().is_some_and(|o| *o != format!("{side:?}:{k}")) {
                continue;
            }
            for loss in [Loss::All, Loss::Torn(k)] {
                kept += cut_run(side, k, syncs, loss);
                runs += 1;
            }
        }
    }
    eprintln!(
        "power cuts: tablet K = {tablet_syncs}, server K = {server_syncs}; {runs} cut runs \
         (+1 after the scenario), torn cuts kept {kept} unsynced sectors; {:.1} s; \
         the scenario passes {} of the tablet's {} crash points: {passed:?}",
        started.elapsed().as_secs_f64(),
        passed.len(),
        fieldloop_tablet::CRASH_POINTS.len()
    );
}

/// Runs the scenario with `side`'s power cut at its `k`-th sync, then
/// recovers and checks. Returns the unsynced sectors a torn cut kept.
fn cut_run(side: Side, k: u64, syncs: u64, loss: Loss) -> u64 {
    let label = format!(
        "{side:?} power cut at sync {k} of {syncs} ({loss:?}; alone: \
         {ONLY_ENV}={side:?}:{k} cargo test -p fieldloop-tests --test it powercut)"
    );
    let mut world = World::new();
    let vfs = match side {
        Side::Tablet => world.tablet_vfs,
        Side::Server => world.server_vfs,
    };
    vfs.cut_at_sync(k, loss);
    world.run();
    assert!(vfs.is_cut(), "{label}: the run never reached that sync");
    world.recover(side, &label);
    vfs.kept_sectors()
}

/// The checks above can fail: a disk that ignores fsync loses acknowledged
/// edits at a power cut, on either side, and the recovery check says so.
#[test]
fn a_disk_that_ignores_fsync_is_caught() {
    for side in [Side::Tablet, Side::Server] {
        let mut world = World::new();
        let vfs = match side {
            Side::Tablet => world.tablet_vfs,
            Side::Server => world.server_vfs,
        };
        vfs.ignore_syncs();
        world.run();
        assert!(!world.cut());
        vfs.cut_now(Loss::All);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            world.recover(side, "fsync ignored");
        }))
        .expect_err("the loss is noticed");
        let message = caught.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("lost"), "{side:?}: {message}");
    }
}

/// The blob store's crash points, and what a power cut there leaves.
const BLOB_POINTS: [&str; 4] = [
    "tablet.blob.temp_written",
    "tablet.blob.temp_synced",
    "tablet.blob.renamed",
    "tablet.blob.dir_synced",
];

/// What the disk holds of a put cut short at a point (the process and its
/// destructors never ran on, so this is put back after the unwind).
#[derive(Debug, Default)]
struct BlobDisk {
    /// The temporary file and the bytes of it that reached the disk.
    temp: Option<(PathBuf, Vec<u8>)>,
    /// The temporary file's name before its rename, for undoing it.
    temp_name: Option<PathBuf>,
    /// The blob's place, whose rename did not reach the disk.
    undo_rename: Option<PathBuf>,
}

fn temp_file_of(blobs: &BlobStore) -> Option<PathBuf> {
    std::fs::read_dir(blobs.root().join("tmp"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".blob-"))
        })
}

#[test]
fn a_power_cut_at_each_blob_point_leaves_the_evidence_whole_or_absent() {
    faults::quiet_crashes();
    for point in BLOB_POINTS {
        assert!(
            fieldloop_tablet::CRASH_POINTS.contains(&point),
            "{point} is a crash point of the tablet"
        );
    }
    let listed: Vec<&str> = fieldloop_tablet::CRASH_POINTS
        .iter()
        .copied()
        .filter(|p| p.starts_with("tablet.blob."))
        .collect();
    assert_eq!(listed, BLOB_POINTS, "every blob crash point is cut here");
    let mut runs = 0;
    for point in BLOB_POINTS {
        for seed in 0..3u64 {
            let label = format!("power cut at {point} (seed {seed})");
            let root = tempfile::tempdir().expect("tempdir");
            let dir = root.path().join("tablet");
            let vfs = PowerCut::new();
            let mut store = open_tablet(&dir, Some(vfs.name())).expect("tablet");
            let blobs = BlobStore::open_for(&dir).expect("blobs");
            // A task to queue the upload against is not needed: the queue
            // takes any task id.
            let evidence: Vec<u8> = (0..20_000u32)
                .map(|i| (i * 7 + seed as u32) as u8)
                .collect();
            let id = BlobId::of(&evidence);
            let disk = std::rc::Rc::new(RefCell::new(BlobDisk::default()));
            let hook_disk = disk.clone();
            let hook_blobs = blobs.clone();
            let hook_vfs = vfs;
            let mut rng_state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            faults::set_hook(Box::new(move |name| {
                let mut disk = hook_disk.borrow_mut();
                if name == "tablet.blob.temp_written" {
                    disk.temp_name = temp_file_of(&hook_blobs);
                }
                if name != point {
                    return;
                }
                match name {
                    "tablet.blob.temp_written" => {
                        let path = disk.temp_name.clone().expect("a temporary file");
                        let bytes = std::fs::read(&path).expect("temp bytes");
                        rng_state ^= rng_state << 13;
                        rng_state ^= rng_state >> 7;
                        rng_state ^= rng_state << 17;
                        let keep = (rng_state % (bytes.len() as u64 + 1)) as usize;
                        disk.temp = Some((path, bytes[..keep].to_vec()));
                    }
                    "tablet.blob.temp_synced" => {
                        let path = disk.temp_name.clone().expect("a temporary file");
                        let bytes = std::fs::read(&path).expect("temp bytes");
                        disk.temp = Some((path, bytes));
                    }
                    "tablet.blob.renamed" => {
                        disk.undo_rename = Some(hook_blobs.path_of(&id));
                    }
                    _ => {}
                }
                hook_vfs.cut_now(Loss::All);
                faults::crash(point);
            }));
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let put = blobs.put(&evidence).expect("put");
                store.queue_uploads("T-any", &[put], NOW).expect("queue");
            }));
            faults::clear_hook();
            let payload = outcome.expect_err("the put reaches the point");
            assert_eq!(faults::crashed_at(payload.as_ref()), Some(point), "{label}");
            drop(store);
            vfs.discard();
            // The disk as the power cut left it.
            let disk = std::mem::take(&mut *disk.borrow_mut());
            if let Some((path, bytes)) = &disk.temp {
                std::fs::write(path, bytes).expect("restore the temp file");
            }
            if let Some(dest) = &disk.undo_rename {
                let back = disk.temp_name.clone().expect("temp name");
                std::fs::rename(dest, &back).expect("undo the rename");
                if let Some(shard) = dest.parent() {
                    let _ = std::fs::remove_dir(shard);
                }
            }
            // Start-up: the store reopens, stale temporary files go.
            let store = open_tablet(&dir, None).expect("tablet reopens");
            assert_eq!(
                store.integrity_check().expect("check"),
                vec!["ok".to_string()]
            );
            assert!(
                store.pending_uploads().expect("queue").is_empty(),
                "{label}"
            );
            let blobs = BlobStore::open_for(&dir).expect("blobs");
            blobs.remove_stale_temp_files().expect("sweep");
            assert!(
                temp_file_of(&blobs).is_none(),
                "{label}: temporary file left"
            );
            match blobs.get(&id) {
                Ok(bytes) => assert_eq!(bytes, evidence, "{label}"),
                Err(fieldloop_tablet::blobs::BlobError::NotFound(_)) => {
                    assert!(
                        point != "tablet.blob.dir_synced",
                        "{label}: a blob whose folder was fsynced is gone"
                    );
                }
                Err(e) => panic!("{label}: evidence half there: {e}"),
            }
            // The put done again leaves it whole.
            assert_eq!(blobs.put(&evidence).expect("put again"), id);
            assert_eq!(blobs.get(&id).expect("get"), evidence, "{label}");
            runs += 1;
        }
    }
    eprintln!(
        "blob power cuts: {} points × 3 seeds = {runs} runs",
        BLOB_POINTS.len()
    );
}

// ------------------------------------------------ the server's evidence files

/// The device token of the template's device (stored hashed).
const TOKEN: &str = "token-powercut";

/// The server's upload crash points, the hit to cut at (the second for
/// the chunk points: the evidence takes two chunks), and what a power cut
/// there leaves of the files.
const UPLOAD_POINTS: [(&str, u32); 10] = [
    ("server.upload.length_synced", 1),
    ("server.upload.created", 1),
    ("server.upload.chunk_written", 2),
    ("server.upload.chunk_synced", 2),
    ("server.upload.verified", 1),
    ("server.upload.renamed", 1),
    ("server.upload.dir_synced", 1),
    ("server.upload.finished", 1),
    ("server.upload.owner_before_commit", 1),
    ("server.upload.owner_after_commit", 1),
];

/// What the server's hook saw and what the disk is to look like after the
/// cut, shared by the server's threads.
#[derive(Debug, Default)]
struct UploadCut {
    point: &'static str,
    hit: u32,
    hits: u32,
    seed: u64,
    /// Length of the partial file at its last fsync, and its path.
    synced_len: u64,
    partial: Option<PathBuf>,
    /// The cut happened (its point).
    fired: Option<&'static str>,
    /// Files to cut to a length / remove / move back after the cut.
    truncate: Vec<(PathBuf, u64, bool)>,
    remove: Vec<PathBuf>,
    unrename: Option<(PathBuf, PathBuf)>,
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Called on every server thread at every crash point.
fn on_upload_point(
    cut: &std::sync::Mutex<UploadCut>,
    power: PowerCut,
    blobs: &Path,
    id: &BlobId,
    name: &'static str,
) {
    let mut cut = cut
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if cut.fired.is_some() {
        return;
    }
    let hex = id.to_string();
    let dest = blobs.join(id.relative_path());
    let mut files = Vec::new();
    files_under(blobs, &mut files);
    let partial = files
        .iter()
        .find(|p| **p != dest && p.file_name().is_some_and(|n| n.to_string_lossy() == hex));
    let len = |p: &PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    if matches!(name, "server.upload.created" | "server.upload.chunk_synced") {
        cut.synced_len = partial.map_or(0, len);
    }
    if let Some(p) = partial {
        cut.partial = Some(p.clone());
    }
    if name != cut.point {
        return;
    }
    cut.hits += 1;
    if cut.hits != cut.hit {
        return;
    }
    match name {
        // The two files are durable, their names in the session folder not.
        "server.upload.length_synced" => {
            cut.remove = files
                .iter()
                .filter(|p| p.to_string_lossy().contains(&hex) && **p != dest)
                .cloned()
                .collect();
        }
        // The chunk reached the disk in part, or as zeros (the size moved,
        // the data did not).
        "server.upload.chunk_written" => {
            let path = partial.expect("the partial file").clone();
            let now = len(&path);
            let keep = cut.synced_len + cut.seed * 997 % (now - cut.synced_len + 1);
            let zeros = cut.seed % 2 == 1;
            cut.truncate.push((path, keep, zeros));
        }
        // In place, the folder's entry not durable: the rename undone.
        "server.upload.renamed" => {
            let back = cut.partial.clone().expect("the partial file's name");
            cut.unrename = Some((dest, back));
        }
        _ => {}
    }
    cut.fired = Some(name);
    power.cut_now(Loss::All);
    drop(cut);
    faults::crash(name);
}

type ThreadHook = fieldloop_tests::ThreadStart;

/// The real router on a real port over a server folder, its store on the
/// power-cut VFS when `power` is given, every runtime thread given `hook`
/// at its start.
struct HttpServer;

impl HttpServer {
    fn start(
        dir: &Path,
        power: Option<PowerCut>,
        hook: Option<ThreadHook>,
    ) -> fieldloop_tests::Serving {
        fieldloop_tablet::tls::install_crypto();
        fieldloop_server::store::sqlite::set_test_vfs(power.map(|p| p.name()));
        let store = SqliteStore::open(dir);
        fieldloop_server::store::sqlite::set_test_vfs(None);
        let store = std::sync::Arc::new(store.expect("server store"));
        let blobs = fieldloop_server::blobs::BlobDir::open(dir.join("blobs")).expect("blobs");
        let state = fieldloop_server::AppState::new(store, blobs);
        fieldloop_tests::Serving::start(state, None, hook)
    }
}

/// The server's folder after the power cut: what `cut` says the disk kept.
fn apply_upload_cut(cut: &UploadCut) {
    use std::os::unix::fs::FileExt as _;
    for (path, keep, zeros) in &cut.truncate {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .expect("partial file");
        file.set_len(*keep).expect("cut the partial file");
        if *zeros && *keep > cut.synced_len {
            let gap = vec![0u8; (*keep - cut.synced_len) as usize];
            file.write_all_at(&gap, cut.synced_len).expect("zeros");
        }
    }
    for path in &cut.remove {
        let _ = std::fs::remove_file(path);
    }
    if let Some((dest, back)) = &cut.unrename {
        std::fs::rename(dest, back).expect("undo the rename");
        if let Some(shard) = dest.parent() {
            let _ = std::fs::remove_dir(shard);
        }
    }
}

#[test]
fn a_power_cut_at_each_server_upload_point_leaves_the_evidence_whole_or_absent() {
    faults::quiet_crashes();
    let listed: Vec<&str> = fieldloop_server::CRASH_POINTS
        .iter()
        .copied()
        .filter(|p| p.starts_with("server.upload."))
        .collect();
    let cut_here: Vec<&str> = UPLOAD_POINTS.iter().map(|(p, _)| *p).collect();
    assert_eq!(listed, cut_here, "every upload crash point is cut here");
    let evidence: Vec<u8> = (0..fieldloop_tablet::upload::CHUNK_BYTES + 5_000)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let id = BlobId::of(&evidence);
    let max = evidence.len() as u64;
    let mut runs = 0;
    for (point, hit) in UPLOAD_POINTS {
        let seeds = if point == "server.upload.chunk_written" {
            0..2
        } else {
            0..1
        };
        for seed in seeds {
            let label = format!("server power cut at {point}#{hit} (seed {seed})");
            let root = tempfile::tempdir().expect("tempdir");
            let dir = server_dir(root.path());
            let power = PowerCut::new();
            let cut = std::sync::Arc::new(std::sync::Mutex::new(UploadCut {
                point,
                hit,
                seed,
                ..UploadCut::default()
            }));
            let hook: ThreadHook = {
                let (cut, blobs) = (cut.clone(), dir.join("blobs"));
                std::sync::Arc::new(move || {
                    let (cut, blobs) = (cut.clone(), blobs.clone());
                    faults::set_hook(Box::new(move |name| {
                        on_upload_point(&cut, power, &blobs, &id, name);
                    }));
                })
            };
            let tablet_dir = root.path().join("tablet");
            let mut store = TabletStore::open(&tablet_dir).expect("tablet");
            let tablet_blobs = BlobStore::open_for(&tablet_dir).expect("tablet blobs");
            tablet_blobs.put(&evidence).expect("put");
            store.queue_uploads("T-any", &[id], NOW).expect("queue");
            {
                let server = HttpServer::start(&dir, Some(power), Some(hook));
                let transport = fieldloop_tablet::sync::HttpTransport::new(&server.url, TOKEN, &[])
                    .expect("transport");
                // Fails (the server died at the point) or, if the tablet's
                // retries got through before the cut, succeeds.
                let first = transport.upload_pending(&mut store, &tablet_blobs, |_, _, _| {});
                let fired = cut.lock().expect("cut").fired;
                assert_eq!(
                    fired,
                    Some(point),
                    "{label}: the upload reaches the point ({first:?})"
                );
            }
            power.discard();
            apply_upload_cut(&cut.lock().expect("cut"));
            let server = HttpServer::start(&dir, None, None);
            let check = rusqlite::Connection::open(dir.join(SERVER_DB)).expect("server db");
            let ok: String = check
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .expect("integrity check");
            assert_eq!(ok, "ok", "{label}: server database");
            let transport = fieldloop_tablet::sync::HttpTransport::new(&server.url, TOKEN, &[])
                .expect("transport");
            // Nothing half-written is ever served…
            match transport.download_blob(&id, max) {
                Ok(Some(bytes)) => assert!(bytes == evidence, "{label}: a partial blob served"),
                Ok(None) => {}
                Err(e) => panic!("{label}: download after the cut: {e}"),
            }
            // …and the upload resumes and completes at the next sync, even
            // when the cut left the partial file longer than what reached
            // the disk (zeros where the chunk was): the server counts only
            // the bytes it recorded as synced.
            transport
                .upload_pending(&mut store, &tablet_blobs, |_, _, _| {})
                .unwrap_or_else(|e| panic!("{label}: upload after the restart: {e}"));
            assert!(
                store.pending_uploads().expect("queue").is_empty(),
                "{label}"
            );
            let served = transport
                .download_blob(&id, max)
                .unwrap_or_else(|e| panic!("{label}: download: {e}"))
                .unwrap_or_else(|| panic!("{label}: the uploaded evidence is not on the server"));
            assert!(served == evidence, "{label}: the evidence differs");
            drop(transport);
            drop(server);
            runs += 1;
        }
    }
    eprintln!(
        "server upload power cuts: {} points, {runs} runs",
        UPLOAD_POINTS.len()
    );
}
