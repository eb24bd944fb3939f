//! The abort-mode crash-point suite's harness: one scenario that reaches
//! every crash point of the tablet and the server
//! ([`fieldloop_tablet::CRASH_POINTS`], [`fieldloop_server::CRASH_POINTS`]),
//! run in a child process that aborts at one of them, and the checks the
//! parent makes on what the child left on disk.
//!
//! The child holds both sides: a real server (router on a real port, its
//! runtime's threads each with the crash hook) and a tablet (the app's
//! [`fieldloop_tablet::inspect::Tablet`] and background sync). It prints one
//! `ACK …` line for each step as soon as that step is acknowledged, so what
//! the parent reads is exactly what was acknowledged before the abort.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, GeoPoint, Role, TaskDoc, faults};
use fieldloop_server::AppState;
use fieldloop_server::blobs::BlobDir;
use fieldloop_server::limits::Limits;
use fieldloop_server::store::Store as _;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_tablet::blobs::{BLOB_DIR, BlobId};
use fieldloop_tablet::inspect::Tablet;
use fieldloop_tablet::store::TaskQuery;
use fieldloop_tablet::sync::keys;
use sha2::{Digest, Sha256};

use crate::NOW;

/// The child's data folder (it holds `server/` and `tablet/`).
pub const DIR_ENV: &str = "FIELDLOOP_CRASH_DIR";
/// Where the child aborts: `<point>#<hit>` (the hit counted from 1 among
/// the point's hits after the scenario is armed); empty: never, and the
/// child lists every point it reached (`HIT <point> <count>`).
pub const AT_ENV: &str = "FIELDLOOP_CRASH_AT";

/// The inspector whose tablet the scenario runs.
const INSPECTOR: &str = "I-001";
/// Demo tasks on the server.
const SERVER_TASKS: usize = 3;
/// Trace points the scenario adds, each its own edit.
const EDITS: i64 = 3;
/// The server file the template is copied from.
const SERVER_DB: &str = "fieldloop-server.sqlite3";
/// What the forged edit writes (the server refuses it).
const FORGED_NAME: &str = "另一家公司";

/// Every crash point, tablet's then server's.
pub fn all_points() -> Vec<&'static str> {
    fieldloop_tablet::CRASH_POINTS
        .iter()
        .chain(fieldloop_server::CRASH_POINTS)
        .copied()
        .collect()
}

// ---------------------------------------------------------------- the hook

static ARMED: AtomicBool = AtomicBool::new(false);
static TARGET: OnceLock<Option<(String, u32)>> = OnceLock::new();
static HITS: Mutex<BTreeMap<&'static str, u32>> = Mutex::new(BTreeMap::new());

fn on_point(name: &'static str) {
    if !ARMED.load(Ordering::SeqCst) {
        return;
    }
    let hit = {
        let mut hits = HITS.lock().unwrap_or_else(|p| p.into_inner());
        let count = hits.entry(name).or_insert(0);
        *count += 1;
        *count
    };
    if let Some(Some((target, at))) = TARGET.get()
        && target == name
        && *at == hit
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "CRASH {name}#{hit}");
        eprintln!("crash point {name}#{hit}: aborting");
        let _ = out.flush();
        std::process::abort();
    }
}

/// Installs the crash hook on the calling thread.
fn install_hook() {
    faults::set_hook(Box::new(on_point));
}

// -------------------------------------------------------------- the server

/// The real router on a real port over `dir`, on its own runtime; with
/// `hooked`, every thread of the runtime (workers and blocking pool) has
/// the crash hook.
#[derive(Debug)]
pub struct Server {
    /// First, so that the server stops before anything else goes.
    _serving: crate::Serving,
    pub url: String,
    pub store: Arc<SqliteStore>,
}

impl Server {
    pub fn start(dir: &Path, hooked: bool, limits: Limits) -> Self {
        fieldloop_tablet::tls::install_crypto();
        let store = Arc::new(SqliteStore::open(dir).expect("server store opens"));
        let blobs = BlobDir::open(dir.join("blobs")).expect("server blob folder");
        let state = AppState::new(store.clone(), blobs).with_limits(limits);
        let hook: Option<crate::ThreadStart> = hooked.then(|| Arc::new(install_hook) as _);
        let serving = crate::Serving::start(state, None, hook);
        wait_serving(&serving.url);
        Self {
            url: serving.url.clone(),
            _serving: serving,
            store,
        }
    }
}

/// How long [`wait_serving`] waits for a server that has just started.
const SERVING_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Returns once the server at `url` answers `/healthz`. The server makes
/// its startup checkpoint (the demo data has receipts) before it serves
/// anything, so a child that arms the crash hook after this never counts
/// that checkpoint's points. Armed without waiting, whether they counted
/// depended on the threads' timing: the recording run once counted
/// `server.checkpoint.after_commit` twice and the child told to abort at
/// its second hit never reached it.
fn wait_serving(url: &str) {
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("client");
    let started = std::time::Instant::now();
    loop {
        match client.get(format!("{url}/healthz")).send() {
            Ok(answer) if answer.status().is_success() => return,
            answered => assert!(
                started.elapsed() < SERVING_WITHIN,
                "the server at {url} did not answer /healthz within {SERVING_WITHIN:?}: {answered:?}"
            ),
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// A server database with the demo people and tasks, made once per process
/// (importing the demo data is the slowest part of a run otherwise).
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = SqliteStore::open(dir.path()).expect("template store");
            fieldloop_server::demo::seed_tasks(&store, SERVER_TASKS, NOW).expect("demo tasks");
            // Closing checkpoints the WAL into the database file.
            drop(store);
            dir
        })
        .path()
}

/// The server's limits in both processes: a checkpoint of the receipt log
/// after every sync that adds receipts.
fn scenario_limits() -> Limits {
    Limits {
        checkpoint_every: 1,
        ..Limits::default()
    }
}

/// A fresh run folder: the server's demo database, no tablet yet.
pub fn prepare(dir: &Path) {
    let server = dir.join("server");
    std::fs::create_dir_all(&server).expect("server dir");
    std::fs::copy(template().join(SERVER_DB), server.join(SERVER_DB)).expect("copy template");
}

// --------------------------------------------------------------- the child

fn ack(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ACK {line}").expect("stdout");
    out.flush().expect("stdout");
}

/// The task of [`INSPECTOR`] the scenario edits: the first of theirs.
pub fn pick_task(tablet: &Tablet) -> Option<String> {
    let rows = tablet
        .store
        .list_tasks(&TaskQuery {
            limit: Some(100),
            ..Default::default()
        })
        .expect("list tasks");
    let mut ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
    ids.sort();
    ids.into_iter().find(|id| {
        tablet
            .store
            .open_task(id)
            .ok()
            .and_then(|d| d.task().ok())
            .is_some_and(|t| t.inspectors.iter().any(|i| i == INSPECTOR))
    })
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

fn sync(tablet: &mut Tablet) -> fieldloop_tablet::sync::SyncReport {
    fieldloop_tablet::background::sync_tablet(&mut tablet.store, &tablet.blobs, &mut |_| {})
        .expect("sync")
}

/// The child's side: when [`DIR_ENV`] is set, runs the scenario on it and
/// aborts at [`AT_ENV`]'s point (or lists every point reached). `photo` is
/// a JPEG.
pub fn child(photo: &[u8]) {
    let Some(dir) = std::env::var_os(DIR_ENV).map(PathBuf::from) else {
        return;
    };
    let at = std::env::var(AT_ENV).unwrap_or_default();
    let target = at.split_once('#').map(|(point, hit)| {
        (
            point.to_owned(),
            hit.parse::<u32>().expect("a hit number after #"),
        )
    });
    let recording = target.is_none();
    // Off the line libtest started with the test's name.
    println!();
    TARGET.set(target).expect("target set once");
    install_hook();

    // Not armed yet: the server, and a code to enroll with.
    let limits = Limits {
        // Every sync is answered with a new token.
        token_rotate_after: std::time::Duration::ZERO,
        ..scenario_limits()
    };
    let server = Server::start(&dir.join("server"), true, limits);
    let code = fieldloop_server::enroll::issue_code(
        server.store.as_ref(),
        INSPECTOR,
        fieldloop_server::now_ms(),
        3_600_000,
    )
    .expect("code");
    let mut tablet = Tablet::open(&dir.join("tablet")).expect("tablet opens");
    ARMED.store(true, Ordering::SeqCst);

    fieldloop_tablet::sync::enroll(&mut tablet.store, &server.url, &code, "平板").expect("enroll");
    ack(format_args!("enrolled"));
    sync(&mut tablet);
    ack(format_args!("pulled"));
    let id = pick_task(&tablet).expect("a task of the inspector");
    let who = tablet.author().expect("author");

    // A photo first: its blobs, the edit that records it and the queue.
    tablet
        .add_photo(&id, NOW, None, photo, None)
        .expect("photo kept");
    let evidence = tablet
        .store
        .open_task(&id)
        .expect("open")
        .task()
        .expect("task")
        .evidence;
    let photo = evidence.values().next().expect("the photo's evidence");
    ack(format_args!(
        "photo {} {} {}",
        photo.sha256,
        photo.display_sha256.as_deref().unwrap_or("-"),
        photo.thumb_sha256.as_deref().unwrap_or("-")
    ));

    let mut local = local_task();
    let summary = tablet
        .store
        .insert_task(&mut local, false, NOW)
        .expect("insert");
    ack(format_args!("insert {}", summary.id));

    for stamp in 1..=EDITS {
        let point = (
            stamp,
            GeoPoint {
                lat: 25.6,
                lon: 115.3,
            },
            5.0,
        );
        tablet
            .store
            .edit(&id, NOW, |d| d.add_trace(&who, NOW, &[point]))
            .expect("edit");
        ack(format_args!("edit {stamp}"));
    }
    tablet.store.compact(&id).expect("compact");
    ack(format_args!("compact"));

    sync(&mut tablet);
    ack(format_args!("synced {EDITS}"));

    // An edit the server refuses: set aside by the next sync.
    tablet
        .store
        .edit(&id, NOW, |d| {
            let doc = d.automerge();
            doc.set_actor(who.actor.clone());
            let subject = match automerge::ReadDoc::get(doc, &automerge::ROOT, "subject") {
                Ok(Some((_, subject))) => subject,
                other => panic!("no subject: {other:?}"),
            };
            automerge::transaction::Transactable::put(doc, &subject, "name", FORGED_NAME)
                .expect("put");
            doc.commit_with(automerge::transaction::CommitOptions::default().with_message("篡改"));
            Ok(())
        })
        .expect("forged edit kept locally");
    ack(format_args!("forged"));
    let report = sync(&mut tablet);
    assert_eq!(
        report.refused.len(),
        1,
        "the forged edit is refused: {report:?}"
    );
    ack(format_args!("refused"));

    if recording {
        let hits = HITS.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut out = std::io::stdout().lock();
        for (point, count) in hits {
            writeln!(out, "HIT {point} {count}").expect("stdout");
        }
        out.flush().expect("stdout");
    }
    ack(format_args!("done"));
    drop(server);
}

// -------------------------------------------------------------- the parent

/// What the child printed.
#[derive(Debug, Default, Clone)]
pub struct Run {
    /// `<point>#<hit>` where it aborted.
    pub crashed_at: Option<String>,
    /// Each `ACK` line's words, in order.
    pub acks: Vec<Vec<String>>,
    /// Points reached and how often (recording runs).
    pub hits: BTreeMap<String, u32>,
    /// How the child ended, for messages.
    pub status: String,
    pub aborted: bool,
}

impl Run {
    fn acked(&self, what: &str) -> Option<&[String]> {
        self.acks
            .iter()
            .find(|a| a.first().is_some_and(|w| w == what))
            .map(|a| &a[1..])
    }

    pub fn has(&self, what: &str) -> bool {
        self.acked(what).is_some()
    }

    /// Trace stamps the tablet acknowledged.
    pub fn edits(&self) -> Vec<i64> {
        self.acks
            .iter()
            .filter(|a| a[0] == "edit")
            .map(|a| a[1].parse().expect("stamp"))
            .collect()
    }

    /// The photo's three blobs, once acknowledged.
    pub fn photo(&self) -> Option<Vec<String>> {
        self.acked("photo").map(<[String]>::to_vec)
    }
}

/// Runs the scenario in a child process (this test binary, only `test`,
/// in `dir`), aborting at `at` (`<point>#<hit>`; `None`: record).
pub fn run_child(test: &str, dir: &Path, at: Option<&str>) -> Run {
    // This very binary even if a build replaced its file meanwhile (Linux
    // keeps the running one reachable here).
    let proc_exe = Path::new("/proc/self/exe");
    let exe = if proc_exe.exists() {
        proc_exe.to_path_buf()
    } else {
        std::env::current_exe().expect("test binary")
    };
    let stderr = std::fs::File::create(dir.join("child.stderr")).expect("stderr file");
    let mut child = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(DIR_ENV, dir)
        .env(AT_ENV, at.unwrap_or(""))
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let mut run = Run::default();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        // libtest prints `test … ` without a line end before the test's own
        // output: a marker may follow it on the same line.
        let words: Vec<String> = line
            .split_whitespace()
            .skip_while(|w| !["ACK", "CRASH", "HIT"].contains(w))
            .map(str::to_owned)
            .collect();
        match words.first().map(String::as_str) {
            Some("ACK") => run.acks.push(words[1..].to_vec()),
            Some("CRASH") => run.crashed_at = words.get(1).cloned(),
            Some("HIT") => {
                run.hits
                    .insert(words[1].clone(), words[2].parse().expect("count"));
            }
            _ => {}
        }
    }
    let status = child.wait().expect("reap child");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        run.aborted = status.signal() == Some(6);
    }
    run.status = status.to_string();
    if !run.aborted && !run.has("done") {
        let err = std::fs::read_to_string(dir.join("child.stderr")).unwrap_or_default();
        panic!(
            "the child neither aborted nor finished ({}); its stderr:\n{err}",
            run.status
        );
    }
    run
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex_of(&Sha256::digest(bytes))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every complete blob in the folder `root` (`ab/abcdef…`), `partial/`
/// and `tmp/` aside.
fn blob_files(root: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let Ok(shards) = std::fs::read_dir(root) else {
        return found;
    };
    for shard in shards {
        let shard = shard.expect("entry").path();
        let name = shard.file_name().map(|n| n.to_string_lossy().into_owned());
        if !shard.is_dir() || name.as_ref().is_none_or(|n| n.len() != 2) {
            continue;
        }
        for file in std::fs::read_dir(&shard).expect("shard") {
            let file = file.expect("entry").path();
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            found.push((name, file));
        }
    }
    found
}

/// The evidence files (original, display copy, thumbnail) of every task
/// on the tablet.
fn evidence_blobs(tablet: &Tablet) -> Vec<String> {
    let mut all = Vec::new();
    for row in tablet
        .store
        .list_tasks(&TaskQuery {
            limit: Some(100),
            ..Default::default()
        })
        .expect("list")
    {
        let task = tablet
            .store
            .open_task(&row.id)
            .expect("open")
            .task()
            .expect("task");
        for e in task.evidence.values() {
            all.push(e.sha256.clone());
            all.extend(e.display_sha256.clone());
            all.extend(e.thumb_sha256.clone());
        }
    }
    all.sort();
    all.dedup();
    all
}

fn trace_of(doc: &TaskDoc) -> Vec<i64> {
    doc.task()
        .expect("task")
        .trace
        .iter()
        .map(|p| p.t)
        .collect()
}

/// The parent's checks of a run folder after the child ended: each
/// violation as a sentence (empty: all held).
pub fn check(dir: &Path, run: &Run) -> Vec<String> {
    let mut bad = Vec::new();
    let tablet_dir = dir.join("tablet");
    let server_dir = dir.join("server");

    // The tablet reopens, its start-up sweeping what puts left behind.
    let mut tablet = match Tablet::open(&tablet_dir) {
        Ok(t) => t,
        Err(e) => return vec![format!("the tablet does not reopen: {e}")],
    };
    let tmp = tablet_dir.join(BLOB_DIR).join("tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    if !left.is_empty() {
        bad.push(format!(
            "temporary blob files left after reopening: {left:?}"
        ));
    }
    // Every blob on the tablet reads back whole, or is not there.
    for (name, _) in blob_files(&tablet_dir.join(BLOB_DIR)) {
        match BlobId::parse(&name) {
            Ok(id) => {
                if let Err(e) = tablet.blobs.get(&id) {
                    bad.push(format!("tablet blob {name} is half-written: {e}"));
                }
            }
            Err(_) => bad.push(format!("a stray file {name} among the tablet's blobs")),
        }
    }
    // Enrollment: all of it or nothing.
    let enrolled_keys = [
        keys::SERVER,
        keys::TOKEN,
        keys::ACTOR,
        keys::PERSON,
        keys::DEVICE,
    ];
    let held: Vec<bool> = enrolled_keys
        .iter()
        .map(|k| tablet.store.setting(k).expect("setting").is_some())
        .collect();
    if held.iter().any(|h| *h) && !held.iter().all(|h| *h) {
        bad.push(format!(
            "a half-written enrollment: {:?}",
            enrolled_keys.iter().zip(&held).collect::<Vec<_>>()
        ));
    }
    if run.has("enrolled") && !held.iter().all(|h| *h) {
        bad.push("an acknowledged enrollment is gone".into());
    }

    let id = pick_task(&tablet);
    if run.has("pulled") && id.is_none() {
        bad.push("the tasks of an acknowledged sync are gone".into());
    }
    if let Some(local) = run.acked("insert").and_then(|w| w.first())
        && tablet.store.open_task(local).is_err()
    {
        bad.push(format!("acknowledged task {local} is gone"));
    }
    let edits = run.edits();
    if let Some(id) = &id {
        let doc = tablet.store.open_task(id).expect("the task loads");
        let trace = trace_of(&doc);
        for stamp in &edits {
            if !trace.contains(stamp) {
                bad.push(format!(
                    "acknowledged edit {stamp} lost on the tablet; trace {trace:?}"
                ));
            }
        }
        // Whole or absent, in order.
        let expected: Vec<i64> = (1..=trace.len() as i64).collect();
        if trace != expected {
            bad.push(format!(
                "the tablet's trace is not a prefix of the edits: {trace:?}"
            ));
        }
        if let Some(photo) = run.photo() {
            let task = doc.task().expect("task");
            if !task.evidence.values().any(|e| e.sha256 == photo[0]) {
                bad.push(format!("acknowledged photo {} lost", photo[0]));
            }
            for sha in &photo {
                let ok = BlobId::parse(sha)
                    .ok()
                    .is_some_and(|b| tablet.blobs.get(&b).is_ok());
                if !ok {
                    bad.push(format!("blob {sha} of an acknowledged photo is not whole"));
                }
            }
        }
    } else if !edits.is_empty() || run.has("photo") {
        bad.push("acknowledged edits but no task".into());
    }

    // The server reopens; what it acknowledged is there.
    {
        let store = match SqliteStore::open(&server_dir) {
            Ok(s) => s,
            Err(e) => return vec![format!("the server does not reopen: {e}")],
        };
        if let Err(e) =
            fieldloop_server::store::verify_receipts(&store.receipts().expect("receipts"))
        {
            bad.push(format!("the receipt chain is broken: {e:?}"));
        }
        if run.has("synced")
            && let Some(id) = &id
        {
            let doc = TaskDoc::load(&store.task(id).expect("read").expect("task").doc)
                .expect("server doc");
            let trace = trace_of(&doc);
            for stamp in &edits {
                if !trace.contains(stamp) {
                    bad.push(format!(
                        "edit {stamp} the server acknowledged is lost there; trace {trace:?}"
                    ));
                }
            }
        }
        for (name, path) in blob_files(&server_dir.join("blobs")) {
            let bytes = std::fs::read(&path).expect("read server blob");
            if sha256_hex(&bytes) != name {
                bad.push(format!("server blob {name} is half-written"));
            }
        }
        // A blob leaves the tablet's queue only once the server holds it
        // and shows it to the team.
        let team = tablet
            .store
            .setting(keys::TEAM)
            .expect("setting")
            .unwrap_or_default();
        let pending = tablet.store.pending_uploads().expect("queue");
        for sha in evidence_blobs(&tablet) {
            if pending.contains(&sha) {
                continue;
            }
            let on_disk = server_dir.join("blobs").join(&sha[..2]).join(&sha);
            let visible = store.blob_visible(&team, &sha).expect("owners");
            if !on_disk.is_file() || !visible {
                bad.push(format!(
                    "evidence blob {sha} is neither queued on the tablet nor held by the server \
                     (file {}, visible {visible})",
                    on_disk.is_file()
                ));
            }
        }
    }

    // The next reliable sync converges.
    let server = Server::start(&server_dir, false, scenario_limits());
    if tablet
        .store
        .setting(keys::TOKEN)
        .expect("setting")
        .is_none()
    {
        let code = fieldloop_server::enroll::issue_code(
            server.store.as_ref(),
            INSPECTOR,
            fieldloop_server::now_ms(),
            3_600_000,
        )
        .expect("code");
        if let Err(e) =
            fieldloop_tablet::sync::enroll(&mut tablet.store, &server.url, &code, "平板")
        {
            bad.push(format!("the tablet cannot enroll again: {e}"));
            return bad;
        }
    } else {
        tablet
            .store
            .set_setting(keys::SERVER, &server.url)
            .expect("new address");
    }
    if let Err(e) =
        fieldloop_tablet::background::sync_tablet(&mut tablet.store, &tablet.blobs, &mut |_| {})
    {
        bad.push(format!("the next sync fails: {e}"));
        return bad;
    }
    if !tablet.store.dirty_tasks().expect("dirty").is_empty() {
        bad.push("tasks still unsynced after a reliable sync".into());
    }
    let pending = tablet.store.pending_uploads().expect("queue");
    if !pending.is_empty() {
        bad.push(format!(
            "uploads still queued after a reliable sync: {pending:?}"
        ));
    }
    let Some(id) = pick_task(&tablet) else {
        bad.push("no task after a reliable sync".into());
        return bad;
    };
    let mut on_server = TaskDoc::load(&server.store.task(&id).expect("read").expect("task").doc)
        .expect("server doc");
    let mut on_tablet = tablet.store.open_task(&id).expect("tablet doc");
    if on_server.heads() != on_tablet.heads() {
        bad.push("tablet and server differ after a reliable sync".into());
    }
    let trace = trace_of(&on_server);
    for stamp in &edits {
        if !trace.contains(stamp) {
            bad.push(format!(
                "acknowledged edit {stamp} never reached the server"
            ));
        }
    }
    if on_server.task().expect("task").subject.name == FORGED_NAME {
        bad.push("the server holds the refused edit".into());
    }
    if run.has("forged") && tablet.store.refused_edits(&id).expect("refused").is_empty() {
        bad.push("the refused edit is not kept aside on the tablet".into());
    }
    let team = tablet
        .store
        .setting(keys::TEAM)
        .expect("setting")
        .unwrap_or_default();
    // Uploads the crash cut short were finished or started over: none of
    // the evidence is still in progress.
    let partial = server_dir.join("blobs").join("partial");
    for owner in std::fs::read_dir(&partial).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(owner.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = file.file_name().to_string_lossy().into_owned();
            if evidence_blobs(&tablet)
                .iter()
                .any(|sha| name.starts_with(sha.as_str()))
            {
                bad.push(format!(
                    "an upload of a blob the server holds is still in progress: partial/{}/{name}",
                    owner.file_name().to_string_lossy()
                ));
            }
        }
    }
    for sha in evidence_blobs(&tablet) {
        let path = server_dir.join("blobs").join(&sha[..2]).join(&sha);
        let whole = std::fs::read(&path).is_ok_and(|b| sha256_hex(&b) == sha);
        let visible = server.store.blob_visible(&team, &sha).expect("owners");
        if !whole || !visible {
            bad.push(format!(
                "evidence blob {sha} not on the server after a reliable sync \
                 (whole {whole}, visible {visible})"
            ));
        }
    }
    if let Err(e) =
        fieldloop_server::store::verify_receipts(&server.store.receipts().expect("receipts"))
    {
        bad.push(format!("the receipt chain is broken after the sync: {e:?}"));
    }
    // A crash is not tampering: the tablet's integrity check still passes.
    let transport =
        fieldloop_tablet::sync::HttpTransport::from_store(&tablet.store).expect("transport");
    if let Err(e) = fieldloop_tablet::audit::check(&mut tablet.store, &transport) {
        bad.push(format!(
            "the tablet's audit check fails after the sync: {e}"
        ));
    }
    bad
}
