//! A deterministic, seeded simulation of a squad syncing over a bad network.
//!
//! Several tablets (real stores on disk) and the server (a real SQLite
//! store, driven through the same `sync::run` the HTTP handler calls) talk
//! through a network that drops requests and answers, delivers requests
//! twice, delivers old requests late and hands tablets stale answers; either
//! side restarts (stores closed and reopened from disk); tablet clocks are
//! skewed by days. Every edit adds a uniquely-stamped trace point. After the
//! storm, a reliable network must bring every replica to the same document
//! within a bounded number of rounds, with no edit lost.
//!
//! Everything random comes from one seed, so a failure is reproduced by its
//! seed: `cargo xtask soak --seeds N` runs seeds 0..N.

use std::path::{Path, PathBuf};

use fieldloop_core::sync::{self as wire, SyncRequest};
use fieldloop_core::{ActorId, Author, GeoPoint, Outcome, Role};
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_server::store::{Device, Store};
use fieldloop_tablet::store::{Store as TabletStore, TaskQuery};
use fieldloop_tablet::sync::{SyncError, Transport, sync_now};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DAY: i64 = 86_400_000;
const START: i64 = 1_780_272_000_000;
/// Steps of the storm.
const STEPS: usize = 40;
/// Full passes of the reliable network allowed to converge.
const HEAL_PASSES: usize = 3;

/// How a simulation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome_ {
    pub seed: u64,
    /// Exchanges that reached the server.
    pub delivered: u32,
    /// Requests or answers the network lost.
    pub lost: u32,
    pub restarts: u32,
    /// Reliable passes needed to converge.
    pub heal_passes: usize,
    pub edits: u32,
}

/// The server "process": its store, reopened on restart.
struct Server {
    dir: PathBuf,
    store: Option<SqliteStore>,
    writes: std::sync::Mutex<()>,
    limits: fieldloop_server::limits::Limits,
}

impl Server {
    fn store(&mut self) -> &SqliteStore {
        self.store
            .get_or_insert_with(|| SqliteStore::open(&self.dir).expect("server store reopens"))
    }

    fn restart(&mut self) {
        self.store = None;
    }

    fn exchange(
        &mut self,
        device: &Device,
        request: &[u8],
        now: i64,
    ) -> Result<Vec<u8>, SyncError> {
        let request: SyncRequest =
            wire::decode(request).map_err(|e| SyncError::BadAnswer(e.to_string()))?;
        let store = self
            .store
            .get_or_insert_with(|| SqliteStore::open(&self.dir).expect("server store reopens"));
        match fieldloop_server::sync::run(store, device, &request, now, &self.writes, &self.limits)
        {
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
}

/// One tablet: its store (reopened on restart), device and clock skew.
struct Tablet {
    dir: PathBuf,
    store: Option<TabletStore>,
    device: Device,
    author: Author,
    skew: i64,
    /// Answers this tablet received, for stale delivery.
    answers: Vec<Vec<u8>>,
}

impl Tablet {
    fn store(&mut self) -> &mut TabletStore {
        self.store
            .get_or_insert_with(|| TabletStore::open(&self.dir).expect("tablet store reopens"))
    }
}

/// The network between one tablet and the server, for one sync.
struct Link<'a> {
    rng: std::cell::RefCell<&'a mut StdRng>,
    server: std::cell::RefCell<&'a mut Server>,
    device: &'a Device,
    now: i64,
    reliable: bool,
    /// Old requests from anyone, which may arrive late.
    late: std::cell::RefCell<&'a mut Vec<(Device, Vec<u8>)>>,
    answers: std::cell::RefCell<&'a mut Vec<Vec<u8>>>,
    stats: std::cell::RefCell<&'a mut (u32, u32)>,
}

impl Transport for Link<'_> {
    fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        let lost = || SyncError::Network {
            server: "sim".into(),
            detail: "lost".into(),
        };
        let mut server = self.server.borrow_mut();
        if self.reliable {
            self.stats.borrow_mut().0 += 1;
            return server.exchange(self.device, &request, self.now);
        }
        let mut rng = self.rng.borrow_mut();
        // An old request from somebody arrives now.
        if rng.random_bool(0.15) {
            let mut late = self.late.borrow_mut();
            if !late.is_empty() {
                let i = rng.random_range(0..late.len());
                let (device, old) = late.swap_remove(i);
                let _ = server.exchange(&device, &old, self.now);
            }
        }
        self.late
            .borrow_mut()
            .push((self.device.clone(), request.clone()));
        if rng.random_bool(0.2) {
            self.stats.borrow_mut().1 += 1;
            return Err(lost());
        }
        self.stats.borrow_mut().0 += 1;
        let mut answer = server.exchange(self.device, &request, self.now);
        if rng.random_bool(0.1) {
            // Delivered twice; the tablet sees the second answer.
            answer = server.exchange(self.device, &request, self.now);
        }
        let answer = answer?;
        self.answers.borrow_mut().push(answer.clone());
        if rng.random_bool(0.15) {
            self.stats.borrow_mut().1 += 1;
            return Err(lost());
        }
        if rng.random_bool(0.1) {
            // A stale answer to an earlier request arrives instead.
            let answers = self.answers.borrow();
            return Ok(answers[rng.random_range(0..answers.len())].clone());
        }
        Ok(answer)
    }
}

const SERVER_DB: &str = "fieldloop-server.sqlite3";

/// A server database with the demo people and two tasks, made once per
/// process and copied for each seed (importing the demo data is the
/// slowest part of a seed otherwise).
fn template() -> &'static Path {
    static TEMPLATE: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("fieldloop-sim-template-")
                .tempdir_in(tmp_root())
                .expect("tempdir");
            let store = SqliteStore::open(dir.path()).expect("template store");
            fieldloop_server::demo::seed_tasks(&store, 2, START).expect("demo tasks");
            // Closing checkpoints the WAL into the database file.
            drop(store);
            dir
        })
        .path()
}

/// Where scratch stores go: memory (`/dev/shm`) where there is one.
pub fn tmp_root() -> PathBuf {
    // fsync is free on tmpfs, which keeps thousands of seeds fast; the
    // SQLite code paths are the same.
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fn sync_once(
    tablet: &mut Tablet,
    server: &mut Server,
    rng: &mut StdRng,
    late: &mut Vec<(Device, Vec<u8>)>,
    now: i64,
    reliable: bool,
    stats: &mut (u32, u32),
) -> Result<(), SyncError> {
    let mut answers = std::mem::take(&mut tablet.answers);
    let device = tablet.device.clone();
    let at = now + tablet.skew;
    let result = {
        let link = Link {
            rng: std::cell::RefCell::new(rng),
            server: std::cell::RefCell::new(server),
            device: &device,
            now,
            reliable,
            late: std::cell::RefCell::new(late),
            answers: std::cell::RefCell::new(&mut answers),
            stats: std::cell::RefCell::new(stats),
        };
        sync_now(tablet.store(), &link, at, |_| {}).map(|_| ())
    };
    tablet.answers = answers;
    result
}

/// Runs one seed; panics with the seed in the message on any violation.
pub fn run(seed: u64) -> Outcome_ {
    let mut rng = StdRng::seed_from_u64(seed);
    let root = tempfile::Builder::new()
        .prefix("fieldloop-sim-")
        .tempdir_in(tmp_root())
        .expect("tempdir");
    let mut server = Server {
        dir: root.path().join("server"),
        store: None,
        writes: std::sync::Mutex::default(),
        // Small feed pages make every sync page through the feed.
        limits: fieldloop_server::limits::Limits {
            feed_page_docs: rng.random_range(1..=3),
            ..Default::default()
        },
    };
    std::fs::create_dir_all(&server.dir).expect("server dir");
    std::fs::copy(template().join(SERVER_DB), server.dir.join(SERVER_DB)).expect("copy template");

    let inspectors = ["I-001", "I-002", "I-003"];
    let count = rng.random_range(2..=3);
    let mut tablets: Vec<Tablet> = inspectors[..count]
        .iter()
        .enumerate()
        .map(|(n, person)| {
            let code = fieldloop_server::enroll::issue_code(server.store(), person, START, DAY)
                .expect("code");
            let actor = format!("{:032x}", seed.wrapping_mul(31).wrapping_add(n as u64 + 1));
            let device = server
                .store()
                .redeem_enrollment(
                    &fieldloop_server::auth::secret_hash(&code),
                    START,
                    &format!("D-{n}"),
                    &format!("token-{n}"),
                    &actor,
                    "sim",
                )
                .expect("enroll");
            let author = Author::new(
                actor.parse::<ActorId>().expect("actor hex"),
                *person,
                Role::Inspector,
            );
            let dir = root.path().join(format!("tablet-{n}"));
            let skew = rng.random_range(-3..=3) * DAY;
            Tablet {
                dir,
                store: None,
                device,
                author,
                skew,
                answers: Vec::new(),
            }
        })
        .collect();

    let mut late = Vec::new();
    let mut stats = (0u32, 0u32);
    let mut restarts = 0;
    let mut edits = 0u32;
    let mut now = START;
    for step in 0..STEPS {
        now += rng.random_range(1..60_000);
        let t = rng.random_range(0..tablets.len());
        match rng.random_range(0..10) {
            0..=4 => {
                // An edit on a task this tablet's inspector works on.
                let tablet = &mut tablets[t];
                let author = tablet.author.clone();
                let at = now + tablet.skew;
                let store = tablet.store();
                let tasks: Vec<String> = store
                    .list_tasks(&TaskQuery {
                        limit: Some(5),
                        ..Default::default()
                    })
                    .expect("list")
                    .into_iter()
                    .map(|r| r.id)
                    .filter(|id| {
                        store
                            .open_task(id)
                            .expect("open")
                            .task()
                            .expect("task")
                            .inspectors
                            .contains(&author.person)
                    })
                    .collect();
                if !tasks.is_empty() {
                    let id = tasks[rng.random_range(0..tasks.len())].clone();
                    let stamp = (seed as i64) * 1_000_000 + step as i64 * 10 + t as i64;
                    let item_pick = rng.random_range(0..3usize);
                    let outcome = [Outcome::Pass, Outcome::Fail, Outcome::NotApplicable]
                        [rng.random_range(0..3usize)];
                    let result = store.edit(&id, at, |doc| {
                        let items: Vec<String> = doc
                            .task()?
                            .items_in_order()
                            .into_iter()
                            .map(|(i, _)| i.clone())
                            .collect();
                        doc.add_trace(
                            &author,
                            at,
                            &[(
                                stamp,
                                GeoPoint {
                                    lat: 25.6,
                                    lon: 115.3,
                                },
                                5.0,
                            )],
                        )?;
                        doc.record_answer(
                            &author,
                            at,
                            &items[item_pick % items.len()],
                            Some(outcome),
                            None,
                            None,
                        )
                    });
                    if result.is_ok() {
                        edits += 1;
                    }
                }
            }
            5..=7 => {
                let tablet = &mut tablets[t];
                let _ = sync_once(
                    tablet,
                    &mut server,
                    &mut rng,
                    &mut late,
                    now,
                    false,
                    &mut stats,
                );
            }
            8 => {
                tablets[t].store = None;
                restarts += 1;
            }
            _ => {
                server.restart();
                restarts += 1;
            }
        }
    }

    // Heal: a reliable network until everything is the same everywhere.
    let mut passes = 0;
    loop {
        passes += 1;
        for tablet in &mut tablets {
            sync_once(
                tablet,
                &mut server,
                &mut rng,
                &mut late,
                now,
                true,
                &mut stats,
            )
            .unwrap_or_else(|e| panic!("seed {seed}: reliable sync failed: {e} ({})", e.code()));
        }
        if converged(&mut tablets, &mut server, seed) {
            break;
        }
        assert!(
            passes < HEAL_PASSES,
            "seed {seed}: not converged after {passes} reliable passes"
        );
    }
    check_nothing_lost(&mut tablets, &mut server, seed, edits);
    Outcome_ {
        seed,
        delivered: stats.0,
        lost: stats.1,
        restarts,
        heal_passes: passes,
        edits,
    }
}

fn converged(tablets: &mut [Tablet], server: &mut Server, seed: u64) -> bool {
    let store = server.store();
    for tablet in tablets.iter_mut() {
        let rows = tablet
            .store()
            .list_tasks(&TaskQuery {
                limit: Some(1000),
                ..Default::default()
            })
            .expect("list");
        if !tablet.store().dirty_tasks().expect("dirty").is_empty() {
            return false;
        }
        for row in rows {
            let stored = store
                .task(&row.id)
                .expect("read")
                .unwrap_or_else(|| panic!("seed {seed}: {} missing on server", row.id));
            let mut on_server = fieldloop_core::TaskDoc::load(&stored.doc).expect("server doc");
            let mut on_tablet = tablet.store().open_task(&row.id).expect("tablet doc");
            if on_server.heads() != on_tablet.heads() {
                return false;
            }
            assert_eq!(
                on_server.task().expect("t"),
                on_tablet.task().expect("t"),
                "seed {seed}: same heads, different task"
            );
            assert_eq!(
                row.status,
                on_server.status().expect("status"),
                "seed {seed}: index status"
            );
            assert_eq!(
                on_server.conflicts().expect("c"),
                on_tablet.conflicts().expect("c"),
                "seed {seed}"
            );
        }
    }
    true
}

fn check_nothing_lost(tablets: &mut [Tablet], server: &mut Server, seed: u64, edits: u32) {
    let store = server.store();
    let mut stamps = 0u32;
    let rows = tablets[0]
        .store()
        .list_tasks(&TaskQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .expect("list");
    for row in rows {
        let stored = store.task(&row.id).expect("read").expect("task");
        let task = fieldloop_core::TaskDoc::load(&stored.doc)
            .expect("doc")
            .task()
            .expect("task");
        stamps += task.trace.len() as u32;
    }
    assert_eq!(
        stamps, edits,
        "seed {seed}: every edit's trace point is on the server"
    );
    let receipts = store.receipts().expect("receipts");
    assert!(
        fieldloop_server::store::verify_receipts(&receipts).is_ok(),
        "seed {seed}: receipt chain"
    );
}

/// Runs the seeds on every core; panics on the first failing seed.
pub fn run_many(seeds: std::ops::Range<u64>) -> Vec<Outcome_> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as u64;
    let handles: Vec<_> = (0..threads)
        .map(|k| {
            let seeds = seeds.clone();
            std::thread::spawn(move || {
                seeds
                    .filter(|s| s % threads == k)
                    .map(run)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<Outcome_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect();
    all.sort_by_key(|o| o.seed);
    all
}
