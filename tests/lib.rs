//! End-to-end tests of Fieldloop across its crates live in `it/`; helper
//! programs the tests start and kill live in `bin/`. This library holds the
//! harness they share: a real server on a port-0 socket and real tablet
//! stores in temp dirs.

pub mod crash_points;
pub mod process;
pub mod sim;

use std::path::PathBuf;
use std::sync::Arc;

use fieldloop_server::AppState;
use fieldloop_server::blobs::BlobDir;
use fieldloop_server::limits::Limits;
use fieldloop_server::store::Store;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_tablet::store::Store as TabletStore;
use fieldloop_tablet::sync::{Enrollment, HttpTransport, SyncReport, enroll, sync_now};

/// The file in a test server's folder whose milliseconds move its clock.
pub const CLOCK_FILE: &str = "clock-offset-ms";

/// Demo time: 2026-06-01.
pub const NOW: i64 = 1_780_272_000_000;

/// Something each thread of a server's runtime runs first (a test's crash
/// hook, say).
pub type ThreadStart = Arc<dyn Fn() + Send + Sync>;

/// `state` served by the real router on a real port-0 socket, from a
/// runtime on its own thread; stopped and joined when dropped.
pub struct Serving {
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving").field("url", &self.url).finish()
    }
}

impl Serving {
    /// Serves `state` (over HTTPS with `tls`); every thread of the runtime
    /// (workers and blocking pool) runs `on_thread_start` first.
    pub fn start(
        state: AppState,
        tls: Option<Arc<rustls::ServerConfig>>,
        on_thread_start: Option<ThreadStart>,
    ) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2).enable_all();
            if let Some(start) = on_thread_start {
                builder.on_thread_start(move || start());
            }
            let runtime = builder.build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let shutdown = async {
                    let _ = rx.await;
                };
                fieldloop_server::serve_with(listener, state, tls, shutdown)
                    .await
                    .expect("serve");
            });
        });
        Self {
            url,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The real router on a real socket, on its own runtime thread.
#[derive(Debug)]
pub struct TestServer {
    /// First, so that the server stops before its folder goes.
    _serving: Serving,
    pub url: String,
    pub store: Arc<dyn Store>,
    pub dir: tempfile::TempDir,
    /// The PostgreSQL database the records are in; `None`: SQLite in `dir`.
    pub database: Option<String>,
    /// The bucket of the shared test Garage node the blobs are in; `None`:
    /// the folder `dir/blobs`.
    pub bucket: Option<String>,
}

/// Set (to anything but `sqlite`) by `cargo xtask test`'s PostgreSQL pass:
/// every [`TestServer`] keeps its records in a fresh database of one
/// throwaway PostgreSQL cluster for the test process, instead of SQLite.
pub const STORE_ENV: &str = "FIELDLOOP_TEST_STORE";

/// A fresh PostgreSQL database's URL when [`STORE_ENV`] says `postgres`
/// (on the test process's throwaway cluster); `None` for SQLite.
pub fn test_database() -> Option<String> {
    match std::env::var(STORE_ENV).as_deref() {
        Ok("postgres") => {
            let cluster = fieldloop_server::store::postgres::cluster::TestCluster::shared()
                .unwrap_or_else(|e| panic!("{STORE_ENV}=postgres: no PostgreSQL cluster: {e}"));
            Some(cluster.create_database().expect("a test database"))
        }
        Ok("sqlite") | Err(_) => None,
        Ok(other) => panic!("{STORE_ENV}={other}: say sqlite or postgres"),
    }
}

/// The store a test server keeps its records in: SQLite in `dir`, or the
/// PostgreSQL database `database`.
pub fn open_store(dir: &std::path::Path, database: Option<&str>) -> Arc<dyn Store> {
    match database {
        Some(url) => {
            let key = fieldloop_server::claims::ClaimKey::load_or_create(dir).expect("claim key");
            Arc::new(
                fieldloop_server::store::postgres::PgStore::open(url, 8, key)
                    .expect("server store on PostgreSQL"),
            )
        }
        None => Arc::new(SqliteStore::open(dir).expect("server store")),
    }
}

/// Where a test server keeps its blobs: the folder `dir/blobs`, or `bucket`
/// of the test process's Garage node.
fn test_blobs(
    dir: &std::path::Path,
    bucket: Option<&str>,
    store: &Arc<dyn Store>,
) -> fieldloop_server::blobs::Blobs {
    match bucket {
        None => BlobDir::open(dir.join("blobs")).expect("blobs").into(),
        Some(bucket) => {
            let garage = fieldloop_server::blobs::garage::TestGarage::shared()
                .unwrap_or_else(|e| panic!("no Garage node: {e}"));
            fieldloop_server::blobs::ObjectBlobs::new(garage.objects(bucket), store.clone()).into()
        }
    }
}

/// A runtime of its own for a test's calls into the async blob store.
fn blocking_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The `fieldloop-server` binary as a command on the database `database`
/// (`FIELDLOOP_DATABASE`), or on SQLite in whatever `--data` it is given.
pub fn server_command(database: Option<&str>) -> std::process::Command {
    let mut command = std::process::Command::new(process::target_binary("fieldloop-server"));
    match database {
        Some(url) => command.env("FIELDLOOP_DATABASE", url),
        None => command.env_remove("FIELDLOOP_DATABASE"),
    };
    command
}

impl TestServer {
    /// A server with the demo people and tasks.
    pub fn start_demo() -> Self {
        Self::start(fieldloop_server::demo::DEMO_TASKS, Limits::default())
    }

    /// A server with the demo people, the first `tasks` demo tasks, and `limits`.
    pub fn start(tasks: usize, limits: Limits) -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"), tasks, limits, None)
    }

    /// [`TestServer::start`] in `dir`, over HTTPS with `tls`.
    pub fn start_in(
        dir: tempfile::TempDir,
        tasks: usize,
        limits: Limits,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Self {
        // The tests' own HTTP clients need a crypto provider too.
        fieldloop_tablet::tls::install_crypto();
        let database = test_database();
        // The PostgreSQL pass keeps blobs as several instances do, in S3.
        let bucket = database.as_ref().map(|_| {
            fieldloop_server::blobs::garage::TestGarage::shared()
                .and_then(|g| g.create_bucket().map_err(|e| e.to_string()))
                .unwrap_or_else(|e| panic!("{STORE_ENV}=postgres: no Garage bucket: {e}"))
        });
        Self::start_with_blobs(dir, tasks, limits, tls, database, bucket)
    }

    fn start_with(
        dir: tempfile::TempDir,
        tasks: usize,
        limits: Limits,
        tls: Option<Arc<rustls::ServerConfig>>,
        database: Option<String>,
    ) -> Self {
        Self::start_with_blobs(dir, tasks, limits, tls, database, None)
    }

    fn start_with_blobs(
        dir: tempfile::TempDir,
        tasks: usize,
        limits: Limits,
        tls: Option<Arc<rustls::ServerConfig>>,
        database: Option<String>,
        bucket: Option<String>,
    ) -> Self {
        fieldloop_tablet::tls::install_crypto();
        let store = open_store(dir.path(), database.as_deref());
        fieldloop_server::demo::seed_tasks(store.as_ref(), tasks, NOW).expect("demo");
        let blobs = test_blobs(dir.path(), bucket.as_deref(), &store);
        // The server's clock moves by the offset in `dir/clock-offset-ms`
        // ([`TestServer::move_clock`]); no file: real time.
        let clock = fieldloop_server::clock::Clock::offset_file(dir.path().join(CLOCK_FILE));
        let state = AppState::new(store.clone(), blobs)
            .with_limits(limits)
            .with_clock(clock);
        let serving = Serving::start(state, tls, None);
        Self {
            url: serving.url.clone(),
            _serving: serving,
            store,
            dir,
            database,
            bucket,
        }
    }

    /// A second instance of this server: its own folder, port and runtime,
    /// the same PostgreSQL database and the same claim key (as every
    /// instance of one deployment must have). Panics on SQLite, whose file
    /// one instance owns.
    pub fn second_instance(&self, limits: Limits) -> TestServer {
        let database = self
            .database
            .clone()
            .expect("a second instance needs the records in PostgreSQL");
        let dir = tempfile::tempdir().expect("tempdir");
        let key = fieldloop_server::claims::CLAIM_KEY_DIR;
        std::fs::create_dir_all(dir.path().join(key)).expect("claim key dir");
        let file = std::path::Path::new(key).join(fieldloop_server::claims::CLAIM_KEY_FILE);
        std::fs::copy(self.dir.path().join(&file), dir.path().join(&file)).expect("claim key");
        let store = open_store(dir.path(), Some(&database));
        let blobs = test_blobs(dir.path(), self.bucket.as_deref(), &store);
        let state = AppState::new(store.clone(), blobs).with_limits(limits);
        let serving = Serving::start(state, None, None);
        TestServer {
            url: serving.url.clone(),
            _serving: serving,
            store,
            dir,
            database: Some(database),
            bucket: self.bucket.clone(),
        }
    }

    /// A server like [`TestServer::start_on_postgres`] whose blobs are in a
    /// fresh bucket of the test process's Garage node (S3), as several
    /// instances keep them; its [`TestServer::second_instance`] shares both.
    pub fn start_on_postgres_and_s3(tasks: usize, limits: Limits) -> Self {
        let cluster = fieldloop_server::store::postgres::cluster::TestCluster::shared()
            .unwrap_or_else(|e| panic!("no PostgreSQL cluster: {e}"));
        let database = cluster.create_database().expect("a test database");
        let garage = fieldloop_server::blobs::garage::TestGarage::shared()
            .unwrap_or_else(|e| panic!("no Garage node: {e}"));
        let bucket = garage.create_bucket().expect("a test bucket");
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_with_blobs(dir, tasks, limits, None, Some(database), Some(bucket))
    }

    /// A server like [`TestServer::start`] whose records are in a fresh
    /// PostgreSQL database, whatever [`STORE_ENV`] says.
    pub fn start_on_postgres(tasks: usize, limits: Limits) -> Self {
        let cluster = fieldloop_server::store::postgres::cluster::TestCluster::shared()
            .unwrap_or_else(|e| panic!("no PostgreSQL cluster: {e}"));
        let database = cluster.create_database().expect("a test database");
        Self::start_on(database, tasks, limits)
    }

    /// A server like [`TestServer::start`] on the PostgreSQL database `database`.
    pub fn start_on(database: String, tasks: usize, limits: Limits) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_with(dir, tasks, limits, None, Some(database))
    }

    /// `fieldloop-server` as a command on this server's records (its
    /// `--data` is still to be given).
    pub fn cli(&self) -> std::process::Command {
        server_command(self.database.as_deref())
    }

    /// Moves the server's clock `ms` milliseconds ahead of real time (the
    /// in-process form of `FIELDLOOP_CLOCK_FILE`).
    pub fn move_clock(&self, ms: i64) {
        std::fs::write(self.dir.path().join(CLOCK_FILE), ms.to_string()).expect("clock file");
    }

    /// A one-time enrollment code for `inspector`, valid for an hour from `now`.
    pub fn code_for(&self, inspector: &str, now: i64) -> String {
        fieldloop_server::enroll::issue_code(self.store.as_ref(), inspector, now, 3_600_000)
            .expect("code")
    }

    /// This server's blob store (the folder, or its bucket), as it serves it.
    pub fn blobs(&self) -> fieldloop_server::blobs::Blobs {
        test_blobs(self.dir.path(), self.bucket.as_deref(), &self.store)
    }

    /// Stores `bytes` as a complete blob (as a tablet's finished upload
    /// leaves it, by a device of `T-QX-01`); its SHA-256 in hex.
    pub fn put_blob(&self, bytes: &[u8]) -> String {
        let who = fieldloop_server::blobs::Uploader {
            device: "D-TEST".into(),
            team: "T-QX-01".into(),
        };
        let blobs = self.blobs();
        blocking_runtime()
            .block_on(blobs.put_whole(&who, bytes.to_vec()))
            .expect("store a blob")
            .to_hex()
    }

    /// The complete blob `sha256` as this server holds it.
    pub fn stored_blob(&self, sha256: &str) -> Option<Vec<u8>> {
        let id = fieldloop_core::blob::BlobId::parse(sha256).expect("a blob id");
        let blobs = self.blobs();
        match blocking_runtime().block_on(blobs.read(&id, u64::MAX)) {
            Ok(Some(Ok(bytes))) => Some(bytes),
            Ok(None) => None,
            other => panic!("reading blob {sha256}: {other:?}"),
        }
    }

    /// The server's copy of a task.
    pub fn task(&self, id: &str) -> fieldloop_core::TaskDoc {
        let stored = self.store.task(id).expect("read").expect("task on server");
        fieldloop_core::TaskDoc::load(&stored.doc).expect("load")
    }
}

/// A tablet: a real store in a temp dir, enrolled with a server.
#[derive(Debug)]
pub struct Tablet {
    pub store: TabletStore,
    pub enrollment: Enrollment,
    pub dir: tempfile::TempDir,
}

impl Tablet {
    pub fn enroll(server: &TestServer, inspector: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = TabletStore::open(dir.path()).expect("tablet store");
        let code = server.code_for(inspector, fieldloop_server::now_ms());
        let enrollment = enroll(
            &mut store,
            &server.url,
            &code,
            &format!("{inspector} 的平板"),
        )
        .expect("enroll");
        Self {
            store,
            enrollment,
            dir,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn sync(&mut self) -> Result<SyncReport, fieldloop_tablet::sync::SyncError> {
        let transport = HttpTransport::from_store(&self.store)?;
        sync_now(&mut self.store, &transport, NOW, |_| {})
    }

    /// Syncs when the server is expected to refuse one edit of this tablet:
    /// the sync sets it aside and goes on; the refusal is returned.
    pub fn sync_refused(&mut self) -> fieldloop_tablet::sync::RefusedReport {
        let report = self.sync().expect("sync goes on after a refusal");
        assert_eq!(report.refused.len(), 1, "one refusal: {report:?}");
        report.refused[0].clone()
    }

    /// The record signed as the submit checks require, on this tablet: each
    /// of `people` (inspectors of the task; squads sign on one tablet) signs,
    /// and the business refuses to sign.
    pub fn sign_record(&mut self, id: &str, people: &[&str]) {
        use fieldloop_core::{EvidenceKind, NewEvidence, SignerRole};
        let who = self.author();
        for (n, person) in people.iter().enumerate() {
            let image = NewEvidence {
                sha256: format!("{:064x}", 0x5160_0000 + n),
                kind: EvidenceKind::Signature,
                taken_at: NOW,
                location: None,
                caption: None,
                mime: "image/png".into(),
                bytes: 1,
                thumb_sha256: None,
                display_sha256: None,
                item: None,
            };
            self.store
                .edit(id, NOW, |d| {
                    d.sign(&who, NOW, SignerRole::Inspector, person, image)
                })
                .expect("sign");
        }
        self.store
            .edit(id, NOW, |d| {
                d.refuse_to_sign(&who, NOW, SignerRole::Enterprise, "王五", "不同意检查结论")
            })
            .expect("refusal");
    }

    /// The ids of the tasks this tablet holds (at most 1,000) on which every
    /// one of `people` is an inspector.
    pub fn tasks_of_all(&self, people: &[&str]) -> Vec<String> {
        self.store
            .list_tasks(&fieldloop_tablet::store::TaskQuery {
                limit: Some(1000),
                ..Default::default()
            })
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .filter(|id| {
                let task = self.read_task(id);
                people
                    .iter()
                    .all(|p| task.inspectors.iter().any(|i| i == p))
            })
            .collect()
    }

    /// The author this tablet edits as.
    pub fn author(&self) -> fieldloop_core::Author {
        self.enrollment.author().expect("enrolled actor")
    }

    /// Task `id` as this tablet holds it.
    pub fn read_task(&self, id: &str) -> fieldloop_core::Task {
        self.store
            .open_task(id)
            .expect("open")
            .task()
            .expect("task")
    }

    /// Task `id`'s checklist items as this tablet holds them, in order.
    pub fn item_ids(&self, id: &str) -> Vec<String> {
        self.read_task(id)
            .items_in_order()
            .iter()
            .map(|(item, _)| (*item).clone())
            .collect()
    }
}

/// The number in the environment variable `name`, if it is set; panics
/// naming it when it is not a number (a test's knob, such as a seed count).
pub fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
    )
}
