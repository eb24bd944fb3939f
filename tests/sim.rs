//! A deterministic, seeded simulation of a squad syncing over a bad network,
//! in one thread of one process.
//!
//! Two or three tablets (the real [`fieldloop_tablet::store::Store`] and
//! [`fieldloop_tablet::sync::sync_now`]) and the server (the real
//! [`fieldloop_server::sync::run`] on the real `SqliteStore`) talk through a
//! simulated network that drops requests and answers, delivers requests
//! twice and late (after newer ones: reordered), hands tablets stale
//! answers and cuts tablets off for a while (partitions that heal). Every
//! database is a named SQLite `memdb` kept alive by a keeper connection, so
//! a restart (drop the store, open it again) keeps what was committed and
//! rolls back what was not. Either side restarts at any step, and crashes in
//! the middle of its writes: the crash-point hook
//! ([`fieldloop_core::faults`]) unwinds from a random hit of any point, the
//! unwinding rolls back the open transaction, and the side restarts. Tablet
//! clocks are skewed by up to ±7 days and move. In one seed in
//! [`JOIN_ONE_IN`], a second tablet of one of the inspectors joins in the
//! storm with an empty store: its first syncs, over the same bad network,
//! take every task whole as the server holds it after the storm's pushes
//! (a snapshot and the runs of changes after it, saved again before it is
//! sent). No threads, no sockets, no
//! disk: one seed takes about 7 ms in a release build (fat LTO), most of
//! it in Automerge (loading documents, applying changes, typed reads) and a
//! fifth in SQLite; two threads ran a million seeds at 279 a second
//! (2026-12-07; 20 ms a seed at the first million seeds: the notes of #19
//! say what took it down).
//!
//! Each thread makes the template (the server and tablets after their first
//! sync) once, and each seed makes the databases it uses copies of it
//! again. The databases and the open stores pass from one seed to the next
//! on the thread ([`Kept`]): the stores see the copy as another
//! connection's commit and are given back the documents the template's
//! stores kept in memory, as processes that have just made their first
//! sync; they need not parse the schema and prepare their statements
//! again, which a restart within the seed still does.
//!
//! After every step, the invariants that must hold then are checked: no
//! edit a tablet saw acknowledged (its `edit()` returned) is missing from
//! it; every change of a task a tablet holds as synced has a receipt on the
//! server; the receipt chain verifies. After the storm, a reliable network
//! must bring every replica to the same heads, task, status and conflicts
//! within [`HEAL_PASSES`] passes of bounded rounds, with every acknowledged
//! edit on the server and nothing there that no tablet made.
//!
//! Everything random comes from the seed, so a failure prints one line that
//! reproduces it (`SIM_SEED=<n> cargo test -p fieldloop-tests --test it
//! simulation -- --nocapture`, or `cargo xtask soak --seed <n>`).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use automerge::{AutoCommit, ChangeHash};
use fieldloop_core::faults;
use fieldloop_core::sync::{self as wire, SyncRequest};
use fieldloop_core::{ActorId, Author, GeoPoint, Outcome as ItemOutcome, Role};
use fieldloop_server::claims::ClaimKey;
use fieldloop_server::limits::Limits;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_server::store::{Device, Store};
use fieldloop_server::sync::Caches;
use fieldloop_tablet::store::Store as TabletStore;
use fieldloop_tablet::sync::{SyncError, Transport, sync_now};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;

const DAY: i64 = 86_400_000;
/// Simulated time starts at the demo date (2026-06-01).
const START: i64 = crate::NOW;
/// Steps of the storm, each one action of one side.
pub const STEPS: usize = 16;
/// Full passes of the reliable network allowed to converge.
pub const HEAL_PASSES: usize = 3;
/// Tasks on the server (small ones: a few checklist items each).
pub const TASKS: usize = 2;
/// Checklist items per task.
pub const ITEMS: usize = 3;
/// Tablets at most at the start of a seed (two or three).
pub const TABLETS: usize = 3;
/// A seed's tablets at most: those it starts with and one that joins.
const MAX_TABLETS: usize = TABLETS + 1;
/// A tablet joins in the storm in one seed in this many.
pub const JOIN_ONE_IN: u32 = 3;
/// A tablet clock is off by up to this much either way.
pub const MAX_SKEW_MS: i64 = 7 * DAY;
/// A crash point crashes its side at one hit in this many during the storm.
pub const CRASH_ONE_IN: u32 = 25;
/// Old requests kept for late delivery, and old answers per tablet kept for
/// stale delivery.
const KEEP_OLD: usize = 8;
/// Longest partition, in steps.
const MAX_PARTITION_STEPS: usize = 6;
/// Rounds one reliable `sync_now` may take while healing: the feed pages
/// (one task per page at the smallest) plus the push and the last answer.
const HEAL_ROUNDS_PER_SYNC: usize = TASKS + 3;
/// The claim key's seed: the same server key for every seed.
const CLAIM_SEED: [u8; 32] = [0x51; 32];

/// How one seed went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub seed: u64,
    /// Edits acknowledged to the tablet (`edit()` returned).
    pub edits: u32,
    /// Requests that reached the server (late and duplicate ones too).
    pub delivered: u32,
    /// Requests or answers the network lost (partitions included).
    pub lost: u32,
    /// Requests delivered twice.
    pub duplicates: u32,
    /// Old requests delivered late.
    pub late: u32,
    /// Stale answers handed to a tablet.
    pub stale: u32,
    /// Restarts of either side, planned or after a crash.
    pub restarts: u32,
    /// Crashes at a crash point (each also a restart).
    pub crashes: u32,
    /// Distinct crash points reached in the storm.
    pub points: BTreeSet<&'static str>,
    /// Partitions made (each heals).
    pub partitions: u32,
    /// Tablets that joined in the storm with an empty store.
    pub joins: u32,
    /// Reliable passes needed to converge.
    pub heal_passes: usize,
    /// Rounds those passes took.
    pub heal_rounds: usize,
    /// Reliable syncs those passes made.
    pub heal_syncs: u32,
}

/// Totals over many seeds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub seeds: u64,
    pub edits: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub late: u64,
    pub stale: u64,
    pub restarts: u64,
    pub crashes: u64,
    pub partitions: u64,
    pub joins: u64,
    pub heal_syncs: u64,
    /// Every crash point reached, with its crash count.
    pub points: BTreeSet<&'static str>,
    pub worst_heal_passes: usize,
    pub worst_heal_rounds: usize,
    pub elapsed: Duration,
    pub threads: usize,
    /// Thread time by part of a seed (heal includes converged).
    pub profile: [Duration; PARTS],
}

impl Totals {
    fn add(&mut self, o: &Outcome) {
        self.seeds += 1;
        self.edits += u64::from(o.edits);
        self.delivered += u64::from(o.delivered);
        self.lost += u64::from(o.lost);
        self.duplicates += u64::from(o.duplicates);
        self.late += u64::from(o.late);
        self.stale += u64::from(o.stale);
        self.restarts += u64::from(o.restarts);
        self.crashes += u64::from(o.crashes);
        self.partitions += u64::from(o.partitions);
        self.joins += u64::from(o.joins);
        self.heal_syncs += u64::from(o.heal_syncs);
        self.points.extend(o.points.iter().copied());
        self.worst_heal_passes = self.worst_heal_passes.max(o.heal_passes);
        self.worst_heal_rounds = self.worst_heal_rounds.max(o.heal_rounds);
    }

    fn merge(&mut self, other: &Totals) {
        self.seeds += other.seeds;
        self.edits += other.edits;
        self.delivered += other.delivered;
        self.lost += other.lost;
        self.duplicates += other.duplicates;
        self.late += other.late;
        self.stale += other.stale;
        self.restarts += other.restarts;
        self.crashes += other.crashes;
        self.partitions += other.partitions;
        self.joins += other.joins;
        self.heal_syncs += other.heal_syncs;
        self.points.extend(other.points.iter().copied());
        self.worst_heal_passes = self.worst_heal_passes.max(other.worst_heal_passes);
        self.worst_heal_rounds = self.worst_heal_rounds.max(other.worst_heal_rounds);
        for (sum, part) in self.profile.iter_mut().zip(other.profile) {
            *sum += part;
        }
    }

    /// Where the time went: microseconds per seed by part.
    pub fn profile_line(&self) -> String {
        let parts = [
            Part::Setup,
            Part::Edit,
            Part::Sync,
            Part::Restart,
            Part::Other,
            Part::CheckTablet,
            Part::CheckServer,
            Part::Heal,
            Part::Converged,
        ];
        let per_seed = |d: Duration| d.as_secs_f64() * 1e6 / self.seeds.max(1) as f64;
        parts
            .iter()
            .map(|p| format!("{p:?} {:.0} µs", per_seed(self.profile[*p as usize])))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Seeds per second of wall time.
    pub fn per_second(&self) -> f64 {
        self.seeds as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} seeds in {:.1} s on {} threads: {:.0} seeds/s ({:.0}/s per thread); \
             {} edits, {} delivered, {} lost, {} duplicated, {} late, {} stale answers, \
             {} partitions, {} tablets joined, {} restarts of which {} crashes at {} distinct points; \
             {} reliable syncs to converge, at most {} passes ({} rounds) a seed",
            self.seeds,
            self.elapsed.as_secs_f64(),
            self.threads,
            self.per_second(),
            self.per_second() / self.threads.max(1) as f64,
            self.edits,
            self.delivered,
            self.lost,
            self.duplicates,
            self.late,
            self.stale,
            self.partitions,
            self.joins,
            self.restarts,
            self.crashes,
            self.points.len(),
            self.heal_syncs,
            self.worst_heal_passes,
            self.worst_heal_rounds,
        )
    }
}

/// The one line that reproduces a seed.
pub fn reproduce(seed: u64) -> String {
    format!(
        "SIM_SEED={seed} cargo test -p fieldloop-tests --test it simulation -- --nocapture   (or: cargo xtask soak --seed {seed})"
    )
}

/// A named in-memory database and the connection that keeps it alive (and
/// reads it for the checks).
struct Db {
    name: String,
    keeper: Connection,
    /// The connection that copies the template in ([`Db::restore`]). Not
    /// the keeper: the connection that sets the schema version prepares its
    /// statements again, and the keeper's are used after every step.
    restorer: Connection,
}

fn uri(name: &str) -> String {
    format!("file:/{name}?vfs=memdb")
}

impl Db {
    /// A new, empty database with a name no other in this process has.
    fn new(what: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "fieldloop-sim-{}-{what}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let keeper = Connection::open(uri(&name)).expect("memdb keeper opens");
        let restorer = Connection::open(uri(&name)).expect("memdb restorer opens");
        // The restorer only ever writes whole copies of the template, each
        // checked to be complete: nothing of it is ever rolled back, so it
        // keeps no journal (copying each page into one first was a quarter
        // of a copy's time). The stores' own connections keep theirs.
        restorer
            .pragma_update_and_check(None, "journal_mode", "OFF", |r| r.get::<_, String>(0))
            .expect("restorer without journal");
        Self {
            name,
            keeper,
            restorer,
        }
    }

    /// Makes this database a copy of `from`, whatever it held (other
    /// connections to it see the change as another connection's commit).
    fn restore(&mut self, from: &Db) {
        let cookie = |c: &Connection| {
            c.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0))
                .expect("schema version")
        };
        let template = cookie(&from.keeper);
        {
            let backup = rusqlite::backup::Backup::new(&from.keeper, &mut self.restorer)
                .expect("backup starts");
            let done = backup.step(-1).expect("backup step");
            assert_eq!(
                done,
                rusqlite::backup::StepResult::Done,
                "backup copies all"
            );
        }
        // A backup counts as a change of schema (it moves the version on),
        // and every statement the open stores prepared would be prepared
        // again, the schema parsed again. But the schema is the template's,
        // as it was (nothing in a seed changes it), so its version is the
        // template's too: the one the open connections read it at.
        self.restorer
            .pragma_update(None, "schema_version", template)
            .expect("schema version restored");
    }
}

/// A task of the template, as the simulation needs it.
#[derive(Debug, Clone)]
struct TaskInfo {
    id: String,
    items: Vec<String>,
    inspectors: Vec<String>,
}

/// The databases every seed starts from: the server with the demo people,
/// [`TASKS`] small tasks and [`TABLETS`] enrolled devices (and a second
/// device of each of their inspectors), and each tablet after its first
/// sync. Made once per thread; each seed copies it.
struct Template {
    server: Db,
    /// Each task's document as the server stores it: its bytes and the
    /// document they load to.
    server_docs: Vec<(String, Vec<u8>, AutoCommit)>,
    tablets: Vec<TemplateTablet>,
    /// An empty tablet database (migrated, never synced).
    fresh: Db,
    tasks: Vec<TaskInfo>,
}

struct TemplateTablet {
    db: Db,
    device: Device,
    author: Author,
    /// A second tablet of the same inspector, enrolled and never synced.
    late: (Device, Author),
    /// Its tasks as read through the keeper connection.
    reads: BTreeMap<String, ReadDoc>,
    /// The documents its store kept in memory after the first sync.
    kept_docs: Vec<(String, fieldloop_core::TaskDoc, u32)>,
}

/// The databases and open stores one seed leaves to the next on its thread.
/// Each seed first makes every database it uses a copy of the template
/// again, and an open tablet store keeps in memory what the template's did
/// after its first sync (the server's caches, too, are the template's): as
/// if the processes had just made their first sync. Opening the stores
/// again, and parsing the schema each time, is left to the restarts.
struct Kept {
    server: Db,
    server_store: Option<SqliteStore>,
    tablets: Vec<(Db, Option<TabletStore>)>,
}

impl Kept {
    fn new(tablets: usize) -> Self {
        Self {
            server: Db::new("server"),
            server_store: None,
            // One more than the template's: for a tablet that joins.
            tablets: (0..=tablets).map(|_| (Db::new("tablet"), None)).collect(),
        }
    }
}

thread_local! {
    static TEMPLATE: std::cell::OnceCell<Template> = const { std::cell::OnceCell::new() };
    static KEPT: RefCell<Option<Kept>> = const { RefCell::new(None) };
}

/// Drops what earlier seeds left on this thread: the next seed starts from
/// new databases and stores (for the test that a seed runs the same way
/// either way).
pub fn forget_kept() {
    KEPT.with(|kept| kept.borrow_mut().take());
}

/// A transport straight to a server store (the template's first syncs).
struct Direct<'a> {
    store: &'a SqliteStore,
    device: &'a Device,
}

impl Transport for Direct<'_> {
    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        serve(
            self.store,
            &Caches::none(),
            self.device,
            &request,
            START,
            &Limits::default(),
        )
    }
}

/// One exchange with the server's sync, as the HTTP handler makes it.
fn serve(
    store: &SqliteStore,
    caches: &Caches,
    device: &Device,
    request: &[u8],
    now: i64,
    limits: &Limits,
) -> Result<Vec<u8>, SyncError> {
    let request: SyncRequest =
        wire::decode(request).map_err(|e| SyncError::BadAnswer(e.to_string()))?;
    match fieldloop_server::sync::run_cached(store, device, &request, now, limits, caches) {
        Ok(response) => Ok(wire::encode(&response)),
        Err(e) => Err(SyncError::from_answer(
            e.status().as_u16(),
            e.code.as_str().to_owned(),
            e.message,
            e.concerns.task,
            e.concerns.change,
        )),
    }
}

fn make_template() -> Template {
    let server = Db::new("template-server");
    let store = SqliteStore::open_memdb(&server.name, ClaimKey::from_seed(CLAIM_SEED))
        .expect("template server store");
    let mut data = fieldloop_server::demo::import_demo(&store).expect("demo people");
    // Small documents: a few items per task keeps a seed cheap, and the
    // sync paths are the same.
    for handbook in &mut data.handbooks {
        handbook.items.truncate(ITEMS);
    }
    fieldloop_server::demo::create_tasks(&store, &data, TASKS, START).expect("demo tasks");
    let tasks: Vec<TaskInfo> = data
        .task_specs(TASKS, START)
        .expect("specs")
        .into_iter()
        .map(|spec| TaskInfo {
            id: spec.id,
            items: spec.items.into_iter().map(|i| i.id).collect(),
            inspectors: spec.inspectors,
        })
        .collect();
    let people: BTreeSet<&String> = tasks.iter().flat_map(|t| &t.inspectors).collect();
    let tablets = people
        .into_iter()
        .take(TABLETS)
        .enumerate()
        .map(|(n, person)| {
            // Device `name` of `person`, with actor `actor`.
            let enroll = |name: String, actor: u128| {
                let code = fieldloop_server::enroll::issue_code(&store, person, START, DAY)
                    .expect("enrollment code");
                let actor = format!("{actor:032x}");
                let device = store
                    .redeem_enrollment(
                        &fieldloop_server::auth::secret_hash(&code),
                        START,
                        &name,
                        &format!("token-{name}"),
                        &actor,
                        "sim",
                    )
                    .expect("enroll");
                let author = Author::new(
                    actor.parse::<ActorId>().expect("actor hex"),
                    person.as_str(),
                    Role::Inspector,
                );
                (device, author)
            };
            let (device, author) = enroll(format!("D-{n}"), 0x5153_u128 << 64 | (n as u128 + 1));
            // The same inspector's second tablet, enrolled and never
            // synced: the one that joins in a storm.
            let late = enroll(format!("D-{n}-late"), 0x5154_u128 << 64 | (n as u128 + 1));
            let db = Db::new("template-tablet");
            let mut tablet = TabletStore::open_memdb(&db.name).expect("template tablet store");
            let direct = Direct {
                store: &store,
                device: &device,
            };
            sync_now(&mut tablet, &direct, START, |_| {}).expect("first sync");
            let mut reads = BTreeMap::new();
            for task in &tasks {
                // Only the tasks it holds; one it holds must read.
                match tablet_doc(&db.keeper, &mut reads, &task.id) {
                    Ok(_) | Err(rusqlite::Error::QueryReturnedNoRows) => {}
                    Err(e) => panic!("template tablet: task {} unreadable: {e}", task.id),
                }
            }
            TemplateTablet {
                db,
                device,
                author,
                late,
                reads,
                kept_docs: tablet.kept_documents(),
            }
        })
        .collect();
    let server_docs = tasks
        .iter()
        .map(|task| {
            let stored = store
                .task(&task.id)
                .expect("template task")
                .expect("template task stored");
            let doc = AutoCommit::load(&stored.doc).expect("template task loads");
            (task.id.clone(), stored.doc, doc)
        })
        .collect();
    // A tablet database as the app makes it before its first sync.
    let fresh = Db::new("template-fresh");
    drop(TabletStore::open_memdb(&fresh.name).expect("fresh tablet store"));
    Template {
        server,
        server_docs,
        tablets,
        fresh,
        tasks,
    }
}

/// The crash-point hook's state: crashes only while armed (the storm).
struct Faults {
    rng: StdRng,
    armed: bool,
    points: BTreeSet<&'static str>,
}

/// Installs the hook for one seed; removes it when dropped.
struct HookGuard;

impl HookGuard {
    fn install(faults: Rc<RefCell<Faults>>) -> Self {
        faults::set_hook(Box::new(move |name| {
            let crash = {
                let mut f = faults.borrow_mut();
                if !f.armed {
                    return;
                }
                f.points.insert(name);
                f.rng.random_ratio(1, CRASH_ONE_IN)
            };
            if crash {
                faults::crash(name);
            }
        }));
        Self
    }
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        faults::clear_hook();
    }
}

/// The server "process".
struct Server {
    db: Db,
    store: Option<SqliteStore>,
    /// The server's caches of recent deltas and documents; gone with a restart.
    caches: Caches,
    limits: Limits,
}

impl Server {
    fn store(&mut self) -> &SqliteStore {
        let name = &self.db.name;
        self.store.get_or_insert_with(|| {
            SqliteStore::open_memdb(name, ClaimKey::from_seed(CLAIM_SEED))
                .expect("server store reopens")
        })
    }

    /// Drops the store (open transactions roll back) and the lock a crash
    /// may have poisoned; the next use opens it again.
    fn restart(&mut self) {
        self.store = None;
        self.caches = Caches::default();
    }

    /// One request delivered; a crash at a server point restarts the server
    /// and looks to the tablet like a broken connection.
    fn exchange(
        &mut self,
        device: &Device,
        request: &[u8],
        now: i64,
        stats: &mut Outcome,
    ) -> Result<Vec<u8>, SyncError> {
        stats.delivered += 1;
        let answer = catch_unwind(AssertUnwindSafe(|| {
            self.store();
            let store = self.store.as_ref().expect("opened");
            serve(store, &self.caches, device, request, now, &self.limits)
        }));
        match answer {
            Ok(answer) => answer,
            Err(payload) => match faults::crashed_at(payload.as_ref()) {
                Some(point) => {
                    stats.crashes += 1;
                    stats.restarts += 1;
                    self.restart();
                    Err(SyncError::Network {
                        server: "sim".into(),
                        detail: format!("server crashed at {point}"),
                    })
                }
                None => resume_unwind(payload),
            },
        }
    }
}

/// One tablet "process".
struct Tablet {
    db: Db,
    store: Option<TabletStore>,
    device: Device,
    author: Author,
    skew: i64,
    /// Answers this tablet received, for stale delivery.
    answers: Vec<Vec<u8>>,
    /// Cut off from the server until this step.
    partitioned_until: usize,
    /// Per task, the heads after this tablet's last acknowledged edit: the
    /// edit and every earlier one of this tablet are their ancestors.
    acked: BTreeMap<String, Vec<ChangeHash>>,
    /// Trace stamps of acknowledged edits, and of edits cut short by a crash
    /// (which may or may not have been kept).
    stamps: BTreeSet<i64>,
    maybe: BTreeSet<i64>,
    /// Tasks this tablet's inspector works on.
    tasks: Vec<usize>,
    /// The database's `data_version` when its acknowledged edits were last
    /// found all there: until it changes (something committed), they still
    /// are.
    checked: Option<i64>,
    /// Its tasks as last read through the keeper connection.
    read: BTreeMap<String, ReadDoc>,
    /// It joined in the storm with an empty store: until its syncs bring
    /// it a task, it does not hold it.
    joined: bool,
}

impl Tablet {
    /// Tablet `author`'s process on `db`, holding nothing it edited yet.
    fn new(
        (db, store): (Db, Option<TabletStore>),
        (device, author): (Device, Author),
        skew: i64,
        tasks: &[TaskInfo],
        read: BTreeMap<String, ReadDoc>,
        joined: bool,
    ) -> Self {
        let tasks = tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.inspectors.contains(&author.person))
            .map(|(i, _)| i)
            .collect();
        Self {
            db,
            store,
            device,
            author,
            skew,
            answers: Vec::new(),
            partitioned_until: 0,
            acked: BTreeMap::new(),
            stamps: BTreeSet::new(),
            maybe: BTreeSet::new(),
            tasks,
            checked: None,
            read,
            joined,
        }
    }

    /// Whether its database holds `task` (a tablet that joined may not yet).
    fn holds(&self, task: &str) -> bool {
        !self.joined
            || self
                .db
                .keeper
                .prepare_cached("SELECT 1 FROM documents WHERE task_id = ?1")
                .and_then(|mut s| s.exists([task]))
                .expect("tablet database readable")
    }

    fn store(&mut self) -> &mut TabletStore {
        let name = &self.db.name;
        self.store
            .get_or_insert_with(|| TabletStore::open_memdb(name).expect("tablet store reopens"))
    }
}

/// The unreliable network between one tablet and the server, for one sync.
struct Link<'a> {
    inner: RefCell<LinkInner<'a>>,
}

struct LinkInner<'a> {
    rng: &'a mut StdRng,
    server: &'a mut Server,
    device: &'a Device,
    now: i64,
    reliable: bool,
    partitioned: bool,
    late: &'a mut Vec<(Device, Vec<u8>)>,
    answers: &'a mut Vec<Vec<u8>>,
    stats: &'a mut Outcome,
}

fn lost() -> SyncError {
    SyncError::Network {
        server: "sim".into(),
        detail: "lost".into(),
    }
}

fn keep(list: &mut Vec<Vec<u8>>, item: Vec<u8>, rng: &mut StdRng) {
    if list.len() >= KEEP_OLD {
        let i = rng.random_range(0..list.len());
        list.swap_remove(i);
    }
    list.push(item);
}

impl Transport for Link<'_> {
    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let mut guard = self.inner.borrow_mut();
        let l = &mut *guard;
        if l.reliable {
            return l.server.exchange(l.device, &request, l.now, l.stats);
        }
        if l.partitioned {
            l.stats.lost += 1;
            return Err(lost());
        }
        // An old request from somebody arrives now.
        if !l.late.is_empty() && l.rng.random_bool(0.1) {
            let i = l.rng.random_range(0..l.late.len());
            let (device, old) = l.late.swap_remove(i);
            l.stats.late += 1;
            let _ = l.server.exchange(&device, &old, l.now, l.stats);
        }
        // This one may arrive again, later.
        if l.rng.random_bool(0.2) {
            if l.late.len() >= KEEP_OLD {
                let i = l.rng.random_range(0..l.late.len());
                l.late.swap_remove(i);
            }
            l.late.push((l.device.clone(), request.clone()));
        }
        if l.rng.random_bool(0.15) {
            l.stats.lost += 1;
            return Err(lost());
        }
        let mut answer = l.server.exchange(l.device, &request, l.now, l.stats);
        if l.rng.random_bool(0.08) {
            // Delivered twice at once; the tablet sees either answer.
            l.stats.duplicates += 1;
            let second = l.server.exchange(l.device, &request, l.now, l.stats);
            if l.rng.random_bool(0.5) {
                answer = second;
            }
        }
        let answer = answer?;
        keep(l.answers, answer.clone(), l.rng);
        if l.rng.random_bool(0.12) {
            l.stats.lost += 1;
            return Err(lost());
        }
        if l.rng.random_bool(0.08) {
            // A stale answer to an earlier request arrives instead.
            l.stats.stale += 1;
            let i = l.rng.random_range(0..l.answers.len());
            return Ok(l.answers[i].clone());
        }
        Ok(answer)
    }
}

/// One seed's world.
struct World {
    seed: u64,
    rng: StdRng,
    step: usize,
    now: i64,
    server: Server,
    tablets: Vec<Tablet>,
    /// The kept databases and stores this seed does not use.
    spare: Vec<(Db, Option<TabletStore>)>,
    /// The step at which a tablet joins, and the template tablet whose
    /// inspector's second tablet it is.
    joins_at: Option<(usize, usize)>,
    tasks: Vec<TaskInfo>,
    late: Vec<(Device, Vec<u8>)>,
    stats: Outcome,
    faults: Rc<RefCell<Faults>>,
}

/// What a step did, for the invariants to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touched {
    Nothing,
    Tablet(usize),
    Server,
    Both(usize),
}

impl World {
    fn new(seed: u64, faults: Rc<RefCell<Faults>>) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        TEMPLATE.with(|cell| {
            let template = cell.get_or_init(make_template);
            let Kept {
                server: mut server_db,
                server_store,
                tablets: mut kept,
            } = KEPT
                .with(|k| k.borrow_mut().take())
                .unwrap_or_else(|| Kept::new(template.tablets.len()));
            server_db.restore(&template.server);
            // As a server that has just answered the template's syncs: it
            // keeps the documents it stored (`fieldloop_server::doc_cache`).
            let caches = Caches::default();
            for (id, bytes, doc) in &template.server_docs {
                caches.docs.keep(id, bytes, doc);
            }
            let server = Server {
                db: server_db,
                store: server_store,
                caches,
                // Small feed pages make syncs page through the feed.
                limits: Limits {
                    feed_page_docs: rng.random_range(1..=TASKS),
                    ..Limits::default()
                },
            };
            let count = rng.random_range(2..=template.tablets.len());
            let spare = kept.split_off(count);
            let tablets = kept
                .into_iter()
                .zip(&template.tablets)
                .map(|((mut db, mut store), from)| {
                    db.restore(&from.db);
                    // As a tablet that has just made its first sync: it
                    // keeps the documents it stored.
                    if let Some(store) = &mut store {
                        store
                            .restore_kept_documents(from.kept_docs.clone())
                            .expect("tablet store keeps the template's documents");
                    }
                    Tablet::new(
                        (db, store),
                        (from.device.clone(), from.author.clone()),
                        rng.random_range(-MAX_SKEW_MS..=MAX_SKEW_MS),
                        &template.tasks,
                        // Compared byte for byte before use (`tablet_doc`).
                        from.reads.clone(),
                        false,
                    )
                })
                .collect();
            // In some seeds a second tablet of one of the inspectors joins
            // in the storm, at a step and for an inspector drawn here.
            let joins_at = rng.random_ratio(1, JOIN_ONE_IN).then(|| {
                (
                    rng.random_range(0..STEPS),
                    rng.random_range(0..template.tablets.len()),
                )
            });
            Self {
                seed,
                rng,
                step: 0,
                now: START,
                server,
                tablets,
                spare,
                joins_at,
                tasks: template.tasks.clone(),
                late: Vec::new(),
                stats: Outcome {
                    seed,
                    ..Outcome::default()
                },
                faults,
            }
        })
    }

    /// Leaves the databases and stores to the thread's next seed.
    fn keep_for_next(self) {
        let kept = Kept {
            server: self.server.db,
            server_store: self.server.store,
            tablets: self
                .tablets
                .into_iter()
                .map(|t| (t.db, t.store))
                .chain(self.spare)
                .collect(),
        };
        KEPT.with(|k| *k.borrow_mut() = Some(kept));
    }

    fn fail(&self, what: impl std::fmt::Display) -> ! {
        panic!(
            "simulation seed {} failed at step {}: {what}",
            self.seed, self.step
        )
    }

    /// Runs `action` as tablet `t`'s process: a crash at a tablet point
    /// restarts the tablet. `None`: it crashed.
    fn as_tablet<T>(&mut self, t: usize, action: impl FnOnce(&mut Self) -> T) -> Option<T> {
        match catch_unwind(AssertUnwindSafe(|| action(self))) {
            Ok(value) => Some(value),
            Err(payload) => match faults::crashed_at(payload.as_ref()) {
                Some(_) => {
                    self.stats.crashes += 1;
                    self.stats.restarts += 1;
                    self.tablets[t].store = None;
                    None
                }
                None => resume_unwind(payload),
            },
        }
    }

    /// The second tablet of template tablet `from`'s inspector joins: an
    /// empty store (enrolled, never synced) whose first syncs bring it
    /// every task whole, as the server holds it after the storm's pushes.
    fn join(&mut self, from: usize) -> Touched {
        let (mut db, mut store) = self
            .spare
            .pop()
            .expect("a kept database for the tablet that joins");
        let skew = self.rng.random_range(-MAX_SKEW_MS..=MAX_SKEW_MS);
        let tablet = TEMPLATE.with(|cell| {
            let template = cell.get().expect("the template is made before a seed");
            db.restore(&template.fresh);
            if let Some(store) = &mut store {
                store
                    .restore_kept_documents(Vec::new())
                    .expect("tablet store keeps nothing");
            }
            Tablet::new(
                (db, store),
                template.tablets[from].late.clone(),
                skew,
                &template.tasks,
                BTreeMap::new(),
                true,
            )
        });
        self.tablets.push(tablet);
        self.stats.joins += 1;
        Touched::Tablet(self.tablets.len() - 1)
    }

    fn edit(&mut self, t: usize) -> Touched {
        if self.tablets[t].tasks.is_empty() {
            return Touched::Nothing;
        }
        let task = self.tablets[t].tasks[self.rng.random_range(0..self.tablets[t].tasks.len())];
        let id = self.tasks[task].id.clone();
        // Only a task it holds can be opened to edit.
        if !self.tablets[t].holds(&id) {
            return Touched::Nothing;
        }
        let item =
            self.tasks[task].items[self.rng.random_range(0..self.tasks[task].items.len())].clone();
        let result = [
            ItemOutcome::Pass,
            ItemOutcome::Fail,
            ItemOutcome::NotApplicable,
        ][self.rng.random_range(0..3usize)];
        // Unique within the seed: the step and the tablet.
        let stamp = (self.step * MAX_TABLETS + t) as i64;
        let at = self.now + self.tablets[t].skew;
        let author = self.tablets[t].author.clone();
        let done = self.as_tablet(t, |w| {
            w.tablets[t].store().edit(&id, at, |doc| {
                let point = GeoPoint {
                    lat: 25.6,
                    lon: 115.3,
                };
                doc.add_trace(&author, at, &[(stamp, point, 5.0)])?;
                doc.record_answer(&author, at, &item, Some(result), None, None)?;
                Ok(doc.heads())
            })
        });
        let tablet = &mut self.tablets[t];
        match done {
            Some(Ok(heads)) => {
                tablet.acked.insert(id, heads);
                tablet.stamps.insert(stamp);
                self.stats.edits += 1;
            }
            Some(Err(e)) => self.fail(format!("tablet {t}: an edit failed: {e}")),
            None => {
                tablet.maybe.insert(stamp);
            }
        }
        Touched::Tablet(t)
    }

    /// One sync of tablet `t`; `Some(rounds)` when it ended well.
    fn sync(&mut self, t: usize, reliable: bool) -> Option<usize> {
        let at = self.now + self.tablets[t].skew;
        let partitioned = !reliable && self.tablets[t].partitioned_until > self.step;
        let result = self.as_tablet(t, |w| {
            let tablet = &mut w.tablets[t];
            let store = tablet.store.get_or_insert_with(|| {
                TabletStore::open_memdb(&tablet.db.name).expect("tablet store reopens")
            });
            let link = Link {
                inner: RefCell::new(LinkInner {
                    rng: &mut w.rng,
                    server: &mut w.server,
                    device: &tablet.device,
                    now: w.now,
                    reliable,
                    partitioned,
                    late: &mut w.late,
                    answers: &mut tablet.answers,
                    stats: &mut w.stats,
                }),
            };
            sync_now(store, &link, at, |_| {})
        });
        match result {
            Some(Ok(report)) => {
                if !report.refused.is_empty() {
                    self.fail(format!(
                        "tablet {t}: the server refused edits a tablet may make: {:?}",
                        report.refused
                    ));
                }
                Some(report.rounds as usize)
            }
            Some(Err(SyncError::Refused { code, message, .. })) => self.fail(format!(
                "tablet {t}: the server refused an edit a tablet may make: {message} ({code:?})"
            )),
            Some(Err(e)) if reliable => self.fail(format!(
                "tablet {t}: a reliable sync failed: {e} ({:?})",
                e.code()
            )),
            Some(Err(_)) | None => None,
        }
    }

    /// One step of the storm.
    fn storm_step(&mut self) -> Touched {
        self.now += self.rng.random_range(1..120_000);
        let t = self.rng.random_range(0..self.tablets.len());
        match self.rng.random_range(0..100) {
            0..35 => timed(Part::Edit, || self.edit(t)),
            35..70 => {
                timed(Part::Sync, || self.sync(t, false));
                Touched::Both(t)
            }
            70..76 => {
                timed(Part::Restart, || self.tablets[t].store = None);
                self.stats.restarts += 1;
                Touched::Tablet(t)
            }
            76..81 => {
                timed(Part::Restart, || self.server.restart());
                self.stats.restarts += 1;
                Touched::Server
            }
            81..87 => {
                // An old request arrives on its own.
                if !self.late.is_empty() {
                    let i = self.rng.random_range(0..self.late.len());
                    let (device, old) = self.late.swap_remove(i);
                    self.stats.late += 1;
                    let _ = self
                        .server
                        .exchange(&device, &old, self.now, &mut self.stats);
                }
                Touched::Server
            }
            87..93 => {
                // Cut off for a while; it heals by itself.
                self.tablets[t].partitioned_until =
                    self.step + self.rng.random_range(1..=MAX_PARTITION_STEPS);
                self.stats.partitions += 1;
                Touched::Nothing
            }
            93..97 => {
                self.tablets[t].skew = self.rng.random_range(-MAX_SKEW_MS..=MAX_SKEW_MS);
                Touched::Nothing
            }
            _ => {
                // The tablet folds a task's chunks into a new snapshot.
                let task = self.rng.random_range(0..self.tasks.len());
                let id = self.tasks[task].id.clone();
                if !self.tablets[t].holds(&id) {
                    return Touched::Nothing;
                }
                let done = timed(Part::Other, || {
                    self.as_tablet(t, |w| w.tablets[t].store().compact(&id))
                });
                if let Some(Err(e)) = done {
                    self.fail(format!("tablet {t}: compaction failed: {e}"));
                }
                Touched::Tablet(t)
            }
        }
    }

    /// The invariants that hold after every step.
    fn check(&mut self, touched: Touched) {
        match touched {
            Touched::Nothing => {}
            Touched::Tablet(t) => timed(Part::CheckTablet, || self.check_tablet(t)),
            Touched::Server => timed(Part::CheckServer, || self.check_server(None)),
            Touched::Both(t) => {
                timed(Part::CheckTablet, || self.check_tablet(t));
                timed(Part::CheckServer, || self.check_server(Some(t)));
            }
        }
    }

    /// Every edit tablet `t` saw acknowledged is in its copy.
    fn check_tablet(&mut self, t: usize) {
        let tablet = &self.tablets[t];
        let version = tablet
            .db
            .keeper
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .unwrap_or_else(|e| self.fail(format!("tablet {t}: data_version: {e}")));
        if tablet.checked == Some(version) {
            return;
        }
        let tablet = &mut self.tablets[t];
        let mut lost = None;
        for (task, heads) in &tablet.acked {
            let doc = match tablet_doc(&tablet.db.keeper, &mut tablet.read, task) {
                Ok(doc) => doc,
                Err(e) => {
                    lost = Some(format!("tablet {t}: task {task} unreadable: {e}"));
                    break;
                }
            };
            if let Some(h) = heads.iter().find(|h| !doc.has(h)) {
                lost = Some(format!(
                    "tablet {t}: an acknowledged edit of task {task} is lost (change {h})"
                ));
                break;
            }
        }
        if let Some(lost) = lost {
            self.fail(lost);
        }
        self.tablets[t].checked = Some(version);
    }

    /// The receipt chain verifies, and every edit of a task a tablet holds
    /// as synced (not dirty) has a receipt. With `Some(t)`, only tablet `t`
    /// (the others did not change).
    fn check_server(&mut self, only: Option<usize>) {
        let receipts = self
            .server
            .store()
            .receipts()
            .unwrap_or_else(|e| self.fail(format!("server: receipts unreadable: {e}")));
        if let Err(e) = fieldloop_server::store::verify_receipts(&receipts) {
            self.fail(format!("server: the receipt chain does not verify: {e}"));
        }
        let received: BTreeSet<&str> = receipts.iter().map(|r| r.change_hash.as_str()).collect();
        for (t, tablet) in self.tablets.iter().enumerate() {
            if only.is_some_and(|o| o != t) || tablet.acked.is_empty() {
                continue;
            }
            let dirty = dirty_tasks(&tablet.db.keeper)
                .unwrap_or_else(|e| self.fail(format!("tablet {t}: index unreadable: {e}")));
            for (task, heads) in &tablet.acked {
                if dirty.contains(task) {
                    continue;
                }
                for h in heads {
                    if !received.contains(h.to_string().as_str()) {
                        self.fail(format!(
                            "tablet {t} holds task {task} as synced, but the server has no receipt for its acknowledged change {h}"
                        ));
                    }
                }
            }
        }
    }

    /// A reliable network, no crashes, until everything is the same
    /// everywhere; then the final checks.
    fn heal(&mut self) {
        self.faults.borrow_mut().armed = false;
        // Tablets with edits to send go first, in their order, then the
        // others: once every tablet with something to send has sent it, one
        // sync brings a tablet everything, so a pass then leaves only the
        // senders before the last to bring up to date (in a fixed order,
        // an idle tablet synced first would need a second sync too).
        let mut order: Vec<(bool, usize)> = (0..self.tablets.len())
            .map(|t| {
                let dirty = dirty_tasks(&self.tablets[t].db.keeper)
                    .unwrap_or_else(|e| self.fail(format!("tablet {t}: index unreadable: {e}")));
                (dirty.is_empty(), t)
            })
            .collect();
        order.sort();
        loop {
            self.stats.heal_passes += 1;
            for &(_, t) in &order {
                // A tablet with nothing to send and everything the server
                // has would exchange nothing.
                if self.in_step(t) {
                    continue;
                }
                let rounds = self.sync(t, true).expect("no crash while healing");
                if rounds > HEAL_ROUNDS_PER_SYNC {
                    self.fail(format!(
                        "tablet {t}: a reliable sync took {rounds} rounds (at most {HEAL_ROUNDS_PER_SYNC})"
                    ));
                }
                self.stats.heal_rounds += rounds;
                self.stats.heal_syncs += 1;
                self.check(Touched::Both(t));
            }
            if self.same_heads() {
                break;
            }
            if self.stats.heal_passes >= HEAL_PASSES {
                self.fail(format!(
                    "not converged after {} reliable passes",
                    self.stats.heal_passes
                ));
            }
        }
        timed(Part::Converged, || self.check_converged());
    }

    /// Whether every tablet has the server's heads of every task (the
    /// server's as its feed records them: [`World::check_converged`] then
    /// checks that its stored document has them).
    fn same_heads(&mut self) -> bool {
        (0..self.tablets.len()).all(|t| self.has_server_heads(t))
    }

    /// Whether tablet `t` has the server's heads of every task.
    fn has_server_heads(&mut self, t: usize) -> bool {
        for task in self.tasks.clone() {
            let Some(heads) = self.server.store().latest_heads(&task.id).ok().flatten() else {
                self.fail(format!("server: task {} missing", task.id));
            };
            let tablet = &mut self.tablets[t];
            let mine = match tablet_doc(&tablet.db.keeper, &mut tablet.read, &task.id) {
                Ok(doc) => sorted(doc.heads.clone()),
                // A tablet that joined and has yet to receive the task.
                Err(rusqlite::Error::QueryReturnedNoRows) if tablet.joined => return false,
                Err(e) => self.fail(format!("tablet {t}: task {} unreadable: {e}", task.id)),
            };
            if mine != sorted(heads) {
                return false;
            }
        }
        true
    }

    /// Whether tablet `t` is in step with the server: every change it
    /// holds acknowledged and every change the server holds on the tablet.
    fn in_step(&mut self, t: usize) -> bool {
        let dirty = dirty_tasks(&self.tablets[t].db.keeper)
            .unwrap_or_else(|e| self.fail(format!("tablet {t}: index unreadable: {e}")));
        dirty.is_empty() && self.has_server_heads(t)
    }

    /// Once quiet: same task, status and conflicts everywhere, the index
    /// agrees, every acknowledged edit is on the server, nothing there that
    /// no tablet made.
    fn check_converged(&mut self) {
        let mut stamps = BTreeSet::new();
        // Heads are the same everywhere (checked before): the same changes,
        // hence the same document. One tablet, a different one each seed,
        // has its content read and compared in full; every tablet's index.
        let full = self.rng.random_range(0..self.tablets.len());
        let mut index = Vec::with_capacity(self.tablets.len());
        for t in 0..self.tablets.len() {
            let Ok(rows) = self.tablets[t].store().list_tasks(&Default::default()) else {
                self.fail(format!("tablet {t}: task list unreadable"));
            };
            index.push(rows);
        }
        for task in self.tasks.clone() {
            let stored = self
                .server
                .store()
                .task(&task.id)
                .ok()
                .flatten()
                .unwrap_or_else(|| self.fail(format!("server: task {} missing", task.id)));
            // As the server has it for these very bytes (a copy of what it
            // kept, else loaded).
            let mut on_server = self
                .server
                .caches
                .docs
                .load(&task.id, &stored.doc)
                .map_err(fieldloop_core::TaskError::from)
                .and_then(fieldloop_core::TaskDoc::from_document)
                .unwrap_or_else(|e| self.fail(format!("server: task {} unreadable: {e}", task.id)));
            let fed = self.server.store().latest_heads(&task.id).ok().flatten();
            if fed.map(sorted) != Some(sorted(on_server.heads())) {
                self.fail(format!(
                    "server: the feed's heads of task {} are not its document's",
                    task.id
                ));
            }
            let server_task = on_server
                .task()
                .unwrap_or_else(|e| self.fail(format!("server: task {}: {e}", task.id)));
            let status = on_server.status().unwrap_or_else(|e| self.fail(e));
            let conflicts = on_server.conflicts().unwrap_or_else(|e| self.fail(e));
            stamps.extend(server_task.trace.iter().map(|p| p.t));
            for (t, rows) in index.iter().enumerate() {
                if t == full {
                    let store = self.tablets[t].store();
                    let Ok(doc) = store.open_task(&task.id) else {
                        self.fail(format!("tablet {t}: task {} unreadable", task.id));
                    };
                    // Its own reading: `task` would give the server's,
                    // kept for the same heads.
                    let (on_tablet, its_conflicts) = doc
                        .task_and_conflicts_fresh()
                        .unwrap_or_else(|e| self.fail(e));
                    if on_tablet != server_task {
                        self.fail(format!(
                            "tablet {t}: task {} has the server's heads but not its content",
                            task.id
                        ));
                    }
                    if its_conflicts != conflicts {
                        self.fail(format!(
                            "tablet {t}: task {} shows other conflicts",
                            task.id
                        ));
                    }
                }
                let row = rows.iter().find(|r| r.id == task.id);
                if row.map(|r| (r.status, r.dirty)) != Some((status, false)) {
                    self.fail(format!(
                        "tablet {t}: the index row of task {} is {row:?}, not {status:?} and synced",
                        task.id
                    ));
                }
            }
            for (t, tablet) in self.tablets.iter().enumerate() {
                if let Some(heads) = tablet.acked.get(&task.id)
                    && let Some(h) = heads
                        .iter()
                        .find(|h| on_server.automerge().get_change_by_hash(h).is_none())
                {
                    self.fail(format!(
                        "tablet {t}: an acknowledged edit of task {} is not on the server (change {h})",
                        task.id
                    ));
                }
            }
        }
        let acked: BTreeSet<i64> = self
            .tablets
            .iter()
            .flat_map(|t| &t.stamps)
            .copied()
            .collect();
        let maybe: BTreeSet<i64> = self
            .tablets
            .iter()
            .flat_map(|t| &t.maybe)
            .copied()
            .collect();
        if let Some(missing) = acked.difference(&stamps).next() {
            self.fail(format!(
                "the trace point of acknowledged edit {missing} is not on the server"
            ));
        }
        if let Some(extra) = stamps
            .iter()
            .find(|s| !acked.contains(s) && !maybe.contains(s))
        {
            self.fail(format!(
                "the server has trace point {extra}, which no tablet made"
            ));
        }
    }
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

/// A task as a tablet's store last had it committed, read through the
/// keeper connection: its snapshot bytes, the chunk bytes after it, the
/// last chunk's number, and the changes they hold (what loading them would
/// give: every change whose dependencies are all there, and the heads).
#[derive(Clone)]
struct ReadDoc {
    snapshot: Vec<u8>,
    chunks: Vec<u8>,
    last: i64,
    changes: HashSet<ChangeHash>,
    heads: Vec<ChangeHash>,
}

impl ReadDoc {
    /// Loads the snapshot and chunks as the store does, and keeps the
    /// document's changes and heads.
    fn load(
        snapshot: Vec<u8>,
        chunks: Vec<u8>,
        last: i64,
    ) -> Result<Self, automerge::AutomergeError> {
        let mut doc = AutoCommit::load(&snapshot)?;
        if !chunks.is_empty() {
            doc.load_incremental(&chunks)?;
        }
        let changes = doc
            .get_changes_meta(&[])
            .into_iter()
            .map(|m| m.hash)
            .collect();
        let heads = doc.get_heads();
        Ok(Self {
            snapshot,
            chunks,
            last,
            changes,
            heads,
        })
    }

    /// Takes in chunks committed after those read before, without applying
    /// them to a document: each change is decoded (checksum, header and
    /// operations) and counts once all its dependencies are there, as
    /// Automerge would apply it. `false`: a chunk is not whole change
    /// chunks, or a change waits for a dependency: only loading says then,
    /// and `self` (perhaps half taken in) is to be replaced by a load.
    fn extend(&mut self, new: &[u8]) -> bool {
        let Ok(decoded) = fieldloop_core::sync::decode_changes(new, &Default::default()) else {
            return false;
        };
        for change in &decoded {
            let hash = change.hash();
            if self.changes.contains(&hash) {
                continue;
            }
            if !change.deps().iter().all(|d| self.changes.contains(d)) {
                return false;
            }
            self.heads.retain(|h| !change.deps().contains(h));
            self.heads.push(hash);
            self.changes.insert(hash);
        }
        true
    }

    fn has(&self, hash: &ChangeHash) -> bool {
        self.changes.contains(hash)
    }
}

/// A tablet's copy of a task read through the keeper connection: the
/// snapshot and its chunks, as committed. The snapshot and every chunk are
/// read each time and compared byte for byte with what was read before;
/// only chunks added since are taken in ([`ReadDoc::extend`]), so the
/// answer is that of loading it all again, without the cost.
fn tablet_doc<'a>(
    keeper: &Connection,
    read: &'a mut BTreeMap<String, ReadDoc>,
    task: &str,
) -> rusqlite::Result<&'a ReadDoc> {
    let damaged =
        |e: automerge::AutomergeError| rusqlite::Error::ToSqlConversionFailure(Box::new(e));
    let (snapshot, snapshot_seq): (Vec<u8>, i64) = keeper
        .prepare_cached("SELECT snapshot, snapshot_seq FROM documents WHERE task_id = ?1")?
        .query_row([task], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut stmt = keeper.prepare_cached(
        "SELECT seq, bytes FROM doc_chunks WHERE task_id = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    let mut rows = stmt.query(rusqlite::params![task, snapshot_seq])?;
    let mut chunks = Vec::new();
    let mut ends = Vec::new();
    let mut last = snapshot_seq;
    while let Some(row) = rows.next()? {
        last = row.get(0)?;
        chunks.extend_from_slice(row.get_ref(1)?.as_blob()?);
        ends.push((last, chunks.len()));
    }
    let reuse = read.get(task).is_some_and(|before| {
        before.snapshot == snapshot
            && chunks.starts_with(&before.chunks)
            && before.last <= last
            && (before.chunks.is_empty()
                || ends
                    .iter()
                    .any(|&(seq, end)| seq == before.last && end == before.chunks.len()))
    });
    let extended = reuse && {
        let before = read.get_mut(task).expect("checked above");
        let taken = before.extend(&chunks[before.chunks.len()..]);
        if taken {
            before.chunks = std::mem::take(&mut chunks);
            before.last = last;
        }
        taken
    };
    if !extended {
        let doc = ReadDoc::load(snapshot, chunks, last).map_err(damaged)?;
        read.insert(task.to_owned(), doc);
    }
    Ok(read.get(task).expect("just kept"))
}

/// The tasks a tablet holds changes of that the server has not acknowledged.
fn dirty_tasks(keeper: &Connection) -> rusqlite::Result<BTreeSet<String>> {
    let mut stmt = keeper.prepare_cached("SELECT task_id FROM task_index WHERE dirty")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// Runs one seed; panics with the seed and step on any violation.
pub fn run(seed: u64) -> Outcome {
    faults::quiet_crashes();
    let state = Rc::new(RefCell::new(Faults {
        rng: StdRng::seed_from_u64(seed ^ 0x5eed_c4a5_4000_0000),
        armed: false,
        points: BTreeSet::new(),
    }));
    let mut world = timed(Part::Setup, || World::new(seed, state.clone()));
    let _hook = HookGuard::install(state.clone());
    state.borrow_mut().armed = true;
    for step in 0..STEPS {
        world.step = step;
        if let Some((at, from)) = world.joins_at
            && at == step
        {
            let joined = timed(Part::Setup, || world.join(from));
            world.check(joined);
        }
        let touched = world.storm_step();
        // Checks read without writing: no crash point is reached.
        world.check(touched);
    }
    world.step = STEPS;
    timed(Part::Heal, || world.heal());
    let mut stats = std::mem::take(&mut world.stats);
    stats.points = std::mem::take(&mut state.borrow_mut().points);
    world.keep_for_next();
    stats
}

/// Runs seeds `seeds` on `threads` threads (each takes the next seed not
/// yet taken). On the first failing seed it stops, prints the line that
/// reproduces it and panics with its message.
pub fn run_many(seeds: std::ops::Range<u64>, threads: usize) -> Totals {
    run_many_with(seeds, threads, run)
}

/// Hands out the seeds of a run one at a time, lowest first, and knows the
/// lowest seed that has not run clean: every seed below it has, so an
/// interrupted or failed soak goes on from there (`--from`). A seed taken
/// and never marked done (it failed, or the run stopped) holds the mark.
#[derive(Debug)]
pub struct SeedQueue {
    end: u64,
    state: Mutex<QueueState>,
}

#[derive(Debug)]
struct QueueState {
    next: u64,
    running: BTreeSet<u64>,
}

impl SeedQueue {
    pub fn new(seeds: std::ops::Range<u64>) -> Self {
        Self {
            end: seeds.end,
            state: Mutex::new(QueueState {
                next: seeds.start,
                running: BTreeSet::new(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next seed to run, if any is left.
    pub fn take(&self) -> Option<u64> {
        let mut state = self.state();
        if state.next >= self.end {
            return None;
        }
        let seed = state.next;
        state.next += 1;
        state.running.insert(seed);
        Some(seed)
    }

    /// `seed` ran clean.
    pub fn done(&self, seed: u64) {
        self.state().running.remove(&seed);
    }

    /// Every seed of the range below this one has run clean.
    pub fn clean_below(&self) -> u64 {
        let state = self.state();
        state.running.first().copied().unwrap_or(state.next)
    }
}

/// Which seeds of `seeds` ran clean (all below `below`), and the options
/// that go on from there.
fn ran_clean(seeds: &std::ops::Range<u64>, below: u64) -> String {
    format!(
        "seeds {}..{below} ran clean (to go on from there: --from {below} --seeds {})",
        seeds.start,
        seeds.end.saturating_sub(below),
    )
}

/// [`run_many`] with another runner of one seed (to test the harness).
pub fn run_many_with(
    seeds: std::ops::Range<u64>,
    threads: usize,
    run: fn(u64) -> Outcome,
) -> Totals {
    faults::quiet_crashes();
    let threads = threads.max(1);
    let started = Instant::now();
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let total = seeds.end.saturating_sub(seeds.start);
    let queue = SeedQueue::new(seeds.clone());
    let failure: Mutex<Option<(u64, String)>> = Mutex::new(None);
    let mut totals = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let (stop, done, failure, queue, seeds) = (&stop, &done, &failure, &queue, &seeds);
                scope.spawn(move || {
                    let mut totals = Totals::default();
                    let last_report = Cell::new(Instant::now());
                    while !stop.load(Ordering::Relaxed) {
                        let Some(seed) = queue.take() else { break };
                        match catch_unwind(|| run(seed)) {
                            Ok(outcome) => {
                                totals.add(&outcome);
                                queue.done(seed);
                            }
                            Err(payload) => {
                                let message = payload
                                    .downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| {
                                        payload.downcast_ref::<&str>().map(|s| (*s).to_owned())
                                    })
                                    .unwrap_or_else(|| "a panic".to_owned());
                                stop.store(true, Ordering::Relaxed);
                                let mut first = failure.lock().unwrap_or_else(|p| p.into_inner());
                                if first.as_ref().is_none_or(|(s, _)| seed < *s) {
                                    *first = Some((seed, message));
                                }
                                break;
                            }
                        }
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if k == 0 && last_report.get().elapsed() >= PROGRESS_EVERY {
                            last_report.set(Instant::now());
                            let secs = started.elapsed().as_secs_f64();
                            eprintln!(
                                "sim: {n}/{total} seeds, {:.0} seeds/s; {}",
                                n as f64 / secs.max(1e-9),
                                ran_clean(seeds, queue.clean_below()),
                            );
                        }
                    }
                    totals.profile = take_profile();
                    totals
                })
            })
            .collect();
        let mut totals = Totals::default();
        for handle in handles {
            match handle.join() {
                Ok(part) => totals.merge(&part),
                Err(payload) => resume_unwind(payload),
            }
        }
        totals
    });
    totals.elapsed = started.elapsed();
    totals.threads = threads;
    if let Some((seed, message)) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        let clean = ran_clean(&seeds, queue.clean_below());
        eprintln!(
            "sim: seed {seed} FAILED ({clean}); reproduce: {}",
            reproduce(seed)
        );
        panic!("{message}\n{clean}\nreproduce: {}", reproduce(seed));
    }
    totals
}

/// Where a thread's time went, by part of a seed (`SIM_PROFILE=1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Setup,
    Edit,
    Sync,
    Restart,
    Other,
    CheckTablet,
    CheckServer,
    Heal,
    Converged,
}

const PARTS: usize = 9;

thread_local! {
    static PROFILE: RefCell<[Duration; PARTS]> = const { RefCell::new([Duration::ZERO; PARTS]) };
}

/// Times `f` as `part` of this thread's profile.
fn timed<T>(part: Part, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let value = f();
    let took = started.elapsed();
    PROFILE.with(|p| p.borrow_mut()[part as usize] += took);
    value
}

/// This thread's profile so far, and resets it.
fn take_profile() -> [Duration; PARTS] {
    PROFILE.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

/// How often a long run prints its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Where scratch stores of other tests go: memory (`/dev/shm`) where there
/// is one (fsync is free on tmpfs; the SQLite code paths are the same).
pub fn tmp_root() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;

    use super::*;

    fn edited(doc: &mut AutoCommit, value: i64) -> Vec<u8> {
        let heads = doc.get_heads();
        doc.put(automerge::ROOT, "n", value).expect("put");
        doc.commit();
        doc.save_after(&heads)
    }

    /// Chunks taken in one by one give the changes and heads that loading
    /// the snapshot and all the chunks gives.
    #[test]
    fn chunks_taken_in_count_as_loading_them_does() {
        let mut doc = AutoCommit::new();
        edited(&mut doc, 0);
        let snapshot = doc.save();
        let mut read = ReadDoc::load(snapshot.clone(), Vec::new(), 0).expect("loads");
        let mut chunks = Vec::new();
        // Two changes in one chunk, then one more, then one from a fork:
        // concurrent heads.
        let mut fork = doc.fork();
        let first = [edited(&mut doc, 1), edited(&mut doc, 2)].concat();
        let second = edited(&mut doc, 3);
        let forked = edited(&mut fork, 4);
        for chunk in [first, second, forked] {
            assert!(read.extend(&chunk));
            chunks.extend_from_slice(&chunk);
        }
        let loaded = ReadDoc::load(snapshot, chunks, 3).expect("loads");
        assert_eq!(read.changes, loaded.changes);
        assert_eq!(sorted(read.heads.clone()), sorted(loaded.heads.clone()));
        assert_eq!(read.heads.len(), 2);
        // Taking in a change again changes nothing.
        let again = doc.save_after(&[]);
        assert!(read.extend(&again));
        assert_eq!(read.changes, loaded.changes);
    }

    /// A tablet store given back the documents the template's store kept,
    /// with a copy of its database (as every seed starts), reads and edits
    /// them as one that loaded them would, and still sees what another
    /// connection commits afterwards.
    #[test]
    fn a_store_given_back_the_templates_documents_works_as_one_that_loaded_them() {
        let template = make_template();
        // A task the tablet's inspector is on, kept since its first sync.
        let (from, (id, mut kept, _)) = template
            .tablets
            .iter()
            .find_map(|t| {
                let mine = template
                    .tasks
                    .iter()
                    .find(|task| task.inspectors.contains(&t.author.person))?;
                let kept = t.kept_docs.iter().find(|(id, ..)| *id == mine.id)?;
                Some((t, kept.clone()))
            })
            .expect("a tablet kept a task of its own");
        let mut db = Db::new("test-tablet");
        // Open before the copy, as a store a seed leaves to the next.
        let mut store = TabletStore::open_memdb(&db.name).expect("opens");
        db.restore(&from.db);
        store
            .restore_kept_documents(from.kept_docs.clone())
            .expect("keeps them");
        assert_eq!(store.open_task(&id).expect("reads").heads(), kept.heads());
        let point = GeoPoint {
            lat: 25.6,
            lon: 115.3,
        };
        let edited = store
            .edit(&id, START, |doc| {
                doc.add_trace(&from.author, START, &[(1, point, 5.0)])?;
                Ok(doc.heads())
            })
            .expect("edits");
        assert_ne!(edited, kept.heads());
        // What the database holds: the template's document and the edit.
        let mut reopened = TabletStore::open_memdb(&db.name).expect("reopens");
        let mut loaded = reopened.open_task(&id).expect("loads");
        assert_eq!(loaded.heads(), edited);
        assert_eq!(
            loaded.task().expect("reads").trace.len(),
            kept.task().expect("reads").trace.len() + 1
        );
        // Another connection's commit after the documents were given back
        // is not hidden by them.
        let other = reopened
            .edit(&id, START, |doc| {
                doc.add_trace(&from.author, START, &[(2, point, 5.0)])?;
                Ok(doc.heads())
            })
            .expect("edits");
        assert_eq!(store.open_task(&id).expect("reads").heads(), other);
    }

    /// A change whose dependency is not there is not taken as there (loading
    /// would keep it waiting), and bytes that are not change chunks are not
    /// taken in at all: loading them decides.
    #[test]
    fn a_change_without_its_dependency_or_bad_bytes_is_left_to_loading() {
        let mut doc = AutoCommit::new();
        edited(&mut doc, 0);
        let snapshot = doc.save();
        let missing = edited(&mut doc, 1);
        let waiting = edited(&mut doc, 2);
        let mut read = ReadDoc::load(snapshot.clone(), Vec::new(), 0).expect("loads");
        let before = read.changes.clone();
        assert!(!read.extend(&waiting));
        let loaded = ReadDoc::load(snapshot, waiting.clone(), 1).expect("loads");
        let hash = automerge::Change::try_from(&waiting[..])
            .expect("a change")
            .hash();
        assert!(!loaded.has(&hash));
        assert_eq!(loaded.changes, before);
        let mut truncated = missing;
        truncated.pop();
        assert!(!read.extend(&truncated));
        assert!(!read.extend(b"not automerge"));
    }
}
