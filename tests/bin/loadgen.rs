//! Load generator: 500 simulated tablets against the real `fieldloop-server`.
//!
//! Starts the server binary built next to this one (`target/<profile>/`,
//! `cargo build --release -p fieldloop-server`) on a port-0 loopback
//! address with a fresh data folder and `--demo`, issues one enrollment
//! code per tablet through the library's store API (the squad's five
//! inspectors, a hundred tablets each), enrolls every tablet over HTTP and
//! gives each its first sync. Then it drives all of them at once, in
//! phases bounded in time and in requests:
//!
//! - `quiet`: every tablet checks for news on a fixed schedule and nothing
//!   changes: the no-change path alone;
//! - `mixed`: the same schedule, but a fraction of the syncs first make a
//!   real edit (an Automerge change by the tablet's own actor: a note on a
//!   checklist item of a task its inspector is on) and push it. All tablets
//!   are in one squad, so every edit is pulled by the other 499 on their
//!   next sync.
//!
//! Syncs are hand-built CBOR requests (`fieldloop_core::sync`) over an
//! async HTTP client, so the generator stays light beside the server on the
//! same cores. For each phase it reports syncs per second, syncs per second
//! of server CPU (utime + stime of the server process from /proc), p50/p99
//! latency, and at the end the server's peak memory (VmHWM); the figures
//! also go to `target/bench-loadgen.json`. Only 127.0.0.1 is contacted, and
//! the server is stopped before the program ends.
//!
//! With `--tls` the server serves HTTPS with a self-signed certificate and
//! every tablet pins its key, as enrolled tablets do; a first phase then
//! opens fresh connections (a full handshake each) to measure handshakes per
//! server CPU-second, and the figures go to `target/bench-loadgen-tls.json`.
//!
//! With `--postgres` the records are in PostgreSQL (a throwaway cluster on
//! loopback, started by this program and stopped at its end) and
//! `--instances N` servers share it, each request going to the next
//! instance in turn; the database's CPU (its server processes) is counted
//! beside the instances', and the figures go to `target/bench-loadgen-pg.json`.
//!
//! With `--faults` (on PostgreSQL with two or more instances) the mixed
//! phase is also a fault test: a quarter of the way in the second instance
//! is SIGKILLed and started again on its port a few seconds later, and
//! well past the half PostgreSQL is killed (`pg_ctl stop -m immediate`:
//! recovery from its WAL) and started again. Syncs failing meanwhile are
//! counted; the next goes to the next instance. At the end every edit the
//! server acknowledged to a tablet must be in the database, or the program
//! fails. (Its CPU figures then leave out the replaced instance's.)
//!
//! `cargo run --release -p fieldloop-tests --bin loadgen -- [--tablets N]
//! [--rate SYNCS_PER_S] [--quiet-seconds S] [--seconds S] [--edit-percent P]
//! [--max-requests N] [--tls] [--postgres] [--instances N] [--faults]`

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fieldloop_core::sync::{
    self as wire, DocPull, DocPush, PROTOCOL_VERSION, SyncRequest, SyncResponse,
};
use fieldloop_core::{ActorId, Author, ChangeHash, Role, TaskDoc, demo::DemoData};
use fieldloop_server::store::postgres::cluster::StatementCost;
use serde_bytes::ByteBuf;

/// Squad members; tablets are spread over them in turn.
const INSPECTORS: [&str; 5] = ["I-001", "I-002", "I-003", "I-004", "I-005"];
/// Requests in flight at once while enrolling and during first syncs.
const SETUP_CONCURRENCY: usize = 16;
/// Latency goal (p99) and throughput goal (syncs per second of server CPU).
const GOAL_P99_MS: f64 = 100.0;
const GOAL_PER_CORE: f64 = 1_000.0;
/// Statements listed per phase from `pg_stat_statements` with `--postgres`.
const STATEMENTS_SHOWN: usize = 12;

/// What `--help` prints, and an unknown argument's error after it.
const USAGE: &str = "usage: loadgen [options]
  --tablets N          enrolled tablets, spread over the squad (default 500, at most 5000)
  --rate R             syncs a second offered by all tablets together (default 1000)
  --quiet-seconds S    the no-change phase (default 10; 0 skips it)
  --seconds S          the mixed phase (default 20)
  --edit-percent P     share of the mixed phase's syncs that push an edit (default 2)
  --max-requests N     at most this many syncs a phase (default 60000)
  --tls                HTTPS with the server's key pinned
  --postgres           the records in a throwaway PostgreSQL cluster, not SQLite
  --instances N        server instances on that database (default 1, at most 8)
  --faults             SIGKILL an instance and PostgreSQL during the mixed phase
                       (needs --postgres and --instances 2 or more)
The server binary is taken from next to this one, built from the same code
(this program opens its store): `cargo build --release -p fieldloop-server
--features demo`, then `cargo run --release -p fieldloop-tests --bin loadgen`.";

/// What the command line may change.
#[derive(Debug, Clone)]
struct Options {
    tablets: usize,
    /// Syncs per second offered by all tablets together.
    rate: f64,
    quiet_seconds: f64,
    seconds: f64,
    edit_percent: f64,
    /// At most this many syncs per phase.
    max_requests: u64,
    /// HTTPS with a pinned self-signed key.
    tls: bool,
    /// The records in PostgreSQL instead of SQLite.
    postgres: bool,
    /// Server instances (more than one needs `postgres`).
    instances: usize,
    /// An instance SIGKILLed and PostgreSQL killed during the mixed phase.
    faults: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            tablets: 500,
            rate: 1_000.0,
            quiet_seconds: 10.0,
            seconds: 20.0,
            edit_percent: 2.0,
            max_requests: 60_000,
            tls: false,
            postgres: false,
            instances: 1,
            faults: false,
        }
    }
}

impl Options {
    fn parse() -> Result<Self> {
        let mut o = Self::default();
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let mut value = || -> Result<f64> {
                let v = args
                    .next()
                    .with_context(|| format!("{flag} needs a value"))?;
                v.parse::<f64>()
                    .with_context(|| format!("{flag}: not a number: {v}"))
            };
            match flag.as_str() {
                "--tablets" => o.tablets = value()? as usize,
                "--rate" => o.rate = value()?,
                "--quiet-seconds" => o.quiet_seconds = value()?,
                "--seconds" => o.seconds = value()?,
                "--edit-percent" => o.edit_percent = value()?,
                "--max-requests" => o.max_requests = value()? as u64,
                "--bench" => {} // passed by `cargo bench`; harmless here
                "--tls" => o.tls = true,
                "--postgres" => o.postgres = true,
                "--instances" => o.instances = value()? as usize,
                "--faults" => o.faults = true,
                "--help" | "-h" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other}\n{USAGE}"),
            }
        }
        if o.tablets == 0 || o.tablets > 5_000 || o.rate <= 0.0 || o.rate > 50_000.0 {
            bail!("--tablets must be 1..=5000 and --rate in (0, 50000]");
        }
        o.seconds = o.seconds.clamp(0.0, 600.0);
        o.quiet_seconds = o.quiet_seconds.clamp(0.0, 600.0);
        o.edit_percent = o.edit_percent.clamp(0.0, 100.0);
        if o.instances == 0 || o.instances > 8 || (o.instances > 1 && !o.postgres) {
            bail!("--instances must be 1..=8, and more than one needs --postgres");
        }
        if o.faults && (o.instances < 2 || o.tls) {
            bail!("--faults needs --postgres and --instances 2 or more (and no --tls)");
        }
        Ok(o)
    }
}

/// The server process; stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    url: String,
    _data: tempfile::TempDir,
    data_dir: PathBuf,
}

impl Server {
    /// Starts an instance: the first (`claim_key` none) with `--demo`, the
    /// others with the first one's claim key, as every instance of one
    /// deployment has, on the same `database`.
    fn start(
        binary: &Path,
        tls: bool,
        database: Option<&str>,
        claim_key: Option<&Path>,
        listen: &str,
    ) -> Result<Self> {
        let data = tempfile::tempdir().context("temp data folder")?;
        let data_dir = data.path().to_path_buf();
        if let Some(from) = claim_key {
            let dir = data_dir.join(fieldloop_server::claims::CLAIM_KEY_DIR);
            std::fs::create_dir_all(&dir).context("claim key folder")?;
            std::fs::copy(
                from.join(fieldloop_server::claims::CLAIM_KEY_DIR)
                    .join(fieldloop_server::claims::CLAIM_KEY_FILE),
                dir.join(fieldloop_server::claims::CLAIM_KEY_FILE),
            )
            .context("copying the claim key")?;
        }
        let mut command = Command::new(binary);
        match database {
            Some(url) => command.env("FIELDLOOP_DATABASE", url),
            None => command.env_remove("FIELDLOOP_DATABASE"),
        };
        if tls {
            command.args(["serve", "--tls-self-signed", "127.0.0.1"]);
        } else {
            command.arg("serve");
        }
        let mut child = command
            // Every tablet enrolls from 127.0.0.1: lift the per-address limit.
            .args(["--listen", listen, "--enroll-per-minute", "100000"])
            .args(claim_key.is_none().then_some("--demo"))
            .arg("--data")
            .arg(&data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut url = None;
        for line in lines.by_ref() {
            let line = line.context("reading the server's output")?;
            eprintln!("server: {line}");
            if let Some(rest) = line.split("listening on ").nth(1) {
                url = rest.split_whitespace().next().map(str::to_owned);
                break;
            }
        }
        // Keep draining whatever the server prints later.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("server: {line}");
            }
        });
        let mut server = Self {
            child,
            url: String::new(),
            _data: data,
            data_dir,
        };
        match url {
            Some(url)
                if url.starts_with("http://127.0.0.1:")
                    || url.starts_with("https://127.0.0.1:") =>
            {
                server.url = url;
                Ok(server)
            }
            _ => bail!("the server did not say where it listens"),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Server CPU time so far, seconds (all threads, user + system).
    fn cpu_seconds(&self) -> Result<f64> {
        proc_cpu_seconds(&format!("/proc/{}/stat", self.pid()))
    }

    /// (VmHWM, VmRSS) in MiB.
    fn memory_mib(&self) -> Result<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .context("reading the server's /proc status")?;
        let field = |name: &str| -> f64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kb| kb.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        Ok((field("VmHWM:"), field("VmRSS:")))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.pid().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The instances under test and, with `--postgres`, their database.
struct Deployment {
    servers: Vec<Server>,
    /// Instances started in place of killed ones (`--faults`).
    replacements: std::sync::Mutex<Vec<Server>>,
    /// Declared after the servers: they stop before the database does.
    cluster: Option<std::sync::Mutex<fieldloop_server::store::postgres::cluster::TestCluster>>,
    database: Option<String>,
}

impl Deployment {
    fn start(binary: &Path, options: &Options) -> Result<Self> {
        let (cluster, database) = if options.postgres {
            // pg_stat_statements tells where the database's time goes.
            let cluster = fieldloop_server::store::postgres::cluster::TestCluster::start_with(&[
                ("shared_preload_libraries", "pg_stat_statements"),
                ("pg_stat_statements.track_planning", "on"),
            ])
            .context("starting PostgreSQL (is the postgresql package installed?)")?;
            let url = cluster.create_database().context("creating the database")?;
            (Some(cluster), Some(url))
        } else {
            (None, None)
        };
        let mut servers: Vec<Server> = Vec::new();
        for _ in 0..options.instances {
            let first = servers.first().map(|s| s.data_dir.clone());
            servers.push(Server::start(
                binary,
                options.tls,
                database.as_deref(),
                first.as_deref(),
                "127.0.0.1:0",
            )?);
        }
        Ok(Self {
            servers,
            replacements: std::sync::Mutex::default(),
            cluster: cluster.map(std::sync::Mutex::new),
            database,
        })
    }

    /// The database's costliest statements since the last call (none on
    /// SQLite); counting starts afresh.
    fn statements(&self) -> Result<Vec<StatementCost>> {
        match &self.cluster {
            Some(cluster) => cluster
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .statement_costs(STATEMENTS_SHOWN)
                .context("reading pg_stat_statements"),
            None => Ok(Vec::new()),
        }
    }

    fn first(&self) -> &Server {
        &self.servers[0]
    }

    fn urls(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.url.clone()).collect()
    }

    /// CPU time so far of every instance and of the database's processes.
    fn cpu_seconds(&self) -> Result<(f64, f64)> {
        let mut servers = 0.0;
        for s in &self.servers {
            servers += s.cpu_seconds()?;
        }
        let database = match &self.cluster {
            Some(cluster) => database_cpu_seconds(
                cluster
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .postmaster_pid()?,
            )?,
            None => 0.0,
        };
        Ok((servers, database))
    }

    /// The largest (VmHWM, VmRSS) of the instances, MiB.
    fn memory_mib(&self) -> Result<(f64, f64)> {
        let mut most = (0.0_f64, 0.0_f64);
        for s in &self.servers {
            let (hwm, rss) = s.memory_mib()?;
            most = (most.0.max(hwm), most.1.max(rss));
        }
        Ok(most)
    }
}

/// CPU seconds of PostgreSQL: the postmaster with its reaped children, and
/// every child alive now (the pooled connections' backends).
fn database_cpu_seconds(postmaster: u32) -> Result<f64> {
    let mut total = proc_cpu_fields(&format!("/proc/{postmaster}/stat"), &[14, 15, 16, 17])?;
    for entry in std::fs::read_dir("/proc").context("reading /proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let path = format!("/proc/{pid}/stat");
        let Ok(stat) = std::fs::read_to_string(&path) else {
            continue;
        };
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if parent == Some(postmaster) {
            total += proc_cpu_fields(&path, &[14, 15]).unwrap_or(0.0);
        }
    }
    Ok(total)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process, from its `/proc/<pid>/stat`, in seconds.
fn proc_cpu_seconds(path: &str) -> Result<f64> {
    proc_cpu_fields(path, &[14, 15])
}

/// The sum of the numbered tick fields of a `/proc/<pid>/stat`, in seconds.
fn proc_cpu_fields(path: &str, wanted: &[usize]) -> Result<f64> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("stat format")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    let ticks = |i: usize| -> Result<f64> {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .context("stat field")
    };
    let mut sum = 0.0;
    for &i in wanted {
        sum += ticks(i)?;
    }
    Ok(sum / clock_ticks())
}

/// The server binary next to this program (`target/<profile>/`).
fn server_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("where is this program")?;
    let mut dir = exe.parent().context("program folder")?.to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let binary = dir.join(format!("fieldloop-server{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        bail!(
            "{} does not exist: build it first with `cargo build --release -p fieldloop-server --features demo` (the same profile as this program)",
            binary.display()
        );
    }
    Ok(binary)
}

/// A small deterministic generator (SplitMix64) for choices and jitter.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The task a simulated tablet edits, as the tablet holds it.
struct OwnTask {
    id: String,
    doc: TaskDoc,
    /// Heads the tablet knows the server has.
    known: Vec<ChangeHash>,
    items: Vec<String>,
    edits: u64,
}

/// One simulated tablet.
struct Tablet {
    n: usize,
    token: String,
    author: Author,
    cursor: u64,
    /// The version of the directory it holds, sent as `dv` like a tablet's.
    directory: u64,
    own_id: String,
    own: Option<OwnTask>,
    /// The heads of its own task the server last acknowledged.
    acked: Vec<ChangeHash>,
    rng: Rng,
}

/// What one sync did, from the tablet's side.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    micros: u64,
    pulled: u64,
    bytes: u64,
    edit: bool,
}

/// The figures of one phase.
#[derive(Debug, Default)]
struct PhaseResult {
    name: String,
    seconds: f64,
    /// Every instance's CPU seconds in the phase.
    server_cpu: f64,
    /// The database's (PostgreSQL's processes; none for SQLite, which
    /// runs inside the server).
    database_cpu: f64,
    client_cpu: f64,
    samples: Vec<Sample>,
    errors: Vec<String>,
}

impl PhaseResult {
    fn syncs(&self) -> usize {
        self.samples.len()
    }

    fn edits(&self) -> usize {
        self.samples.iter().filter(|s| s.edit).count()
    }

    fn per_second(&self) -> f64 {
        self.syncs() as f64 / self.seconds.max(1e-9)
    }

    /// Syncs per CPU-second of the instances and the database together.
    fn per_cpu_second(&self) -> f64 {
        self.syncs() as f64 / (self.server_cpu + self.database_cpu).max(1e-9)
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        self.percentile_ms_of(p, |_| true)
    }

    /// Latency percentile of the syncs that `which` selects.
    fn percentile_ms_of(&self, p: f64, which: impl Fn(&Sample) -> bool) -> f64 {
        let mut v: Vec<u64> = self
            .samples
            .iter()
            .filter(|s| which(s))
            .map(|s| s.micros)
            .collect();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_unstable();
        let i = ((v.len() - 1) as f64 * p).round() as usize;
        v[i] as f64 / 1_000.0
    }

    fn mean_pulled(&self) -> f64 {
        let n = self.syncs().max(1) as f64;
        self.samples.iter().map(|s| s.pulled).sum::<u64>() as f64 / n
    }

    fn mean_bytes(&self) -> f64 {
        let n = self.syncs().max(1) as f64;
        self.samples.iter().map(|s| s.bytes).sum::<u64>() as f64 / n
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "phase": self.name,
            "seconds": self.seconds,
            "syncs": self.syncs(),
            "edit_syncs": self.edits(),
            "errors": self.errors.len(),
            "first_errors": self.errors.iter().take(5).collect::<Vec<_>>(),
            "syncs_per_second": self.per_second(),
            "server_cpu_seconds": self.server_cpu,
            "database_cpu_seconds": self.database_cpu,
            "server_cores_busy": self.server_cpu / self.seconds.max(1e-9),
            "syncs_per_server_cpu_second": self.per_cpu_second(),
            "client_cpu_seconds": self.client_cpu,
            "p50_ms": self.percentile_ms(0.50),
            "p90_ms": self.percentile_ms(0.90),
            "p99_ms": self.percentile_ms(0.99),
            "max_ms": self.percentile_ms(1.0),
            "no_edit_p50_ms": self.percentile_ms_of(0.50, |s| !s.edit),
            "no_edit_p99_ms": self.percentile_ms_of(0.99, |s| !s.edit),
            "edit_p50_ms": self.percentile_ms_of(0.50, |s| s.edit),
            "edit_p99_ms": self.percentile_ms_of(0.99, |s| s.edit),
            "mean_docs_pulled": self.mean_pulled(),
            "mean_body_bytes": self.mean_bytes(),
        })
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// Sends one sync request; returns the answer and the time it took.
async fn exchange(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    request: &SyncRequest,
) -> Result<(SyncResponse, Duration, u64)> {
    let body = wire::encode(request);
    let sent = body.len() as u64;
    let started = Instant::now();
    let response = client
        .post(format!("{url}/api/v1/sync"))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, wire::CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .context("sync request")?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.context("sync answer")?;
    let took = started.elapsed();
    if status != 200 {
        bail!("HTTP {status}: {}", String::from_utf8_lossy(&bytes));
    }
    let answer: SyncResponse = wire::decode(&bytes).context("decoding the answer")?;
    Ok((answer, took, sent + bytes.len() as u64))
}

impl Tablet {
    /// Applies what the server sent about this tablet's own task.
    fn take_own(&mut self, pull: &DocPull) -> Result<()> {
        let heads = wire::heads_from_wire(&pull.heads)?;
        match &mut self.own {
            None => {
                let doc = TaskDoc::load(&pull.changes).context("own task")?;
                let items = doc
                    .task()?
                    .items_in_order()
                    .iter()
                    .map(|(id, _)| (*id).clone())
                    .collect();
                self.own = Some(OwnTask {
                    id: pull.id.clone(),
                    doc,
                    known: heads,
                    items,
                    edits: 0,
                });
            }
            Some(own) => {
                if pull.full {
                    let mut theirs = TaskDoc::load(&pull.changes)?;
                    own.doc.merge(&mut theirs)?;
                } else if !pull.changes.is_empty() {
                    own.doc.load_incremental(&pull.changes)?;
                }
                own.known = if pull.resend { Vec::new() } else { heads };
            }
        }
        Ok(())
    }

    /// One sync; with `edit`, first a note on the own task, pushed with it.
    async fn sync(
        &mut self,
        client: &reqwest::Client,
        url: &str,
        edit: bool,
        now: i64,
    ) -> Result<Sample> {
        let mut docs = Vec::new();
        if edit && let Some(own) = &mut self.own {
            own.edits += 1;
            let item = own.items[(own.edits as usize + self.n) % own.items.len()].clone();
            let note = format!("第{}次巡查：设备 {} 记录现场情况", own.edits, self.n);
            own.doc
                .record_answer(&self.author, now, &item, None, None, Some(&note))
                .context("edit")?;
            docs.push(DocPush {
                id: own.id.clone(),
                heads: wire::heads_to_wire(&own.doc.heads()),
                changes: ByteBuf::from(own.doc.save_after(&own.known)),
            });
        }
        let request = SyncRequest {
            v: PROTOCOL_VERSION,
            cursor: self.cursor,
            docs,
            directory: Some(self.directory),
            // Tokens of a load run are fresh: none is due for replacement.
            rotate: false,
            done: None,
        };
        let (answer, took, bytes) = exchange(client, url, &self.token, &request).await?;
        // An acknowledged push: the server holds the pushed heads.
        for push in answer.acked(&request.docs) {
            if let Some(own) = &mut self.own
                && push.id == own.id
            {
                own.known = wire::heads_from_wire(&push.heads)?;
                self.acked = own.known.clone();
            }
        }
        for pull in &answer.docs {
            if pull.id == self.own_id {
                self.take_own(pull)?;
            }
        }
        self.cursor = answer.cursor;
        if let Some(directory) = &answer.directory {
            self.directory = directory.version;
        }
        Ok(Sample {
            micros: took.as_micros() as u64,
            pulled: answer.docs.len() as u64,
            bytes,
            edit: !request.docs.is_empty(),
        })
    }
}

/// Issues codes through the store and enrolls every tablet over HTTP.
async fn enroll_all(
    client: &reqwest::Client,
    deployment: &Deployment,
    options: &Options,
) -> Result<Vec<Tablet>> {
    let now = fieldloop_server::now_ms();
    // The store's blocking clients (PostgreSQL's nests a runtime) run off
    // the async workers.
    let codes = tokio::task::block_in_place(|| -> Result<Vec<(usize, &str, String)>> {
        let data = &deployment.first().data_dir;
        let store: Box<dyn fieldloop_server::store::Store> = match &deployment.database {
            Some(url) => Box::new(fieldloop_server::store::postgres::PgStore::open(
                url,
                1,
                fieldloop_server::claims::ClaimKey::load_or_create(data)?,
            )?),
            None => Box::new(fieldloop_server::store::sqlite::SqliteStore::open(data)?),
        };
        let mut codes = Vec::with_capacity(options.tablets);
        for n in 0..options.tablets {
            let inspector = INSPECTORS[n % INSPECTORS.len()];
            codes.push((
                n,
                inspector,
                fieldloop_server::enroll::issue_code(store.as_ref(), inspector, now, 3_600_000)
                    .context("issuing an enrollment code")?,
            ));
        }
        Ok(codes)
    })
    .context("opening the server's store to issue codes")?;

    // Which demo task each tablet edits: the ids and inspectors of the demo
    // tasks do not depend on the time they were made at.
    let specs = DemoData::embedded()?
        .task_specs(fieldloop_server::demo::DEMO_TASKS, now)
        .context("demo task specs")?;
    let mut tablets = Vec::with_capacity(options.tablets);
    for chunk in codes.chunks(SETUP_CONCURRENCY) {
        let mut set = tokio::task::JoinSet::new();
        for (n, inspector, code) in chunk.iter().cloned() {
            let client = client.clone();
            let url = deployment.urls()[n % deployment.servers.len()].clone();
            set.spawn(async move {
                let response = client
                    .post(format!("{url}/api/v1/enroll"))
                    .json(&serde_json::json!({ "code": code, "device_name": format!("loadgen tablet {n}") }))
                    .send()
                    .await?;
                let status = response.status();
                let json: serde_json::Value = response.json().await?;
                anyhow::ensure!(status.is_success(), "enrollment of tablet {n}: {json}");
                Ok::<_, anyhow::Error>((n, inspector, json))
            });
        }
        while let Some(joined) = set.join_next().await {
            let (n, inspector, json) = joined??;
            let field = |k: &str| json[k].as_str().map(str::to_owned).context("enroll answer");
            let mine: Vec<&String> = specs
                .iter()
                .filter(|s| s.inspectors.iter().any(|i| i == inspector))
                .map(|s| &s.id)
                .collect();
            anyhow::ensure!(!mine.is_empty(), "{inspector} has no demo task");
            let own_id = mine[(n / INSPECTORS.len()) % mine.len()].clone();
            tablets.push(Tablet {
                n,
                token: field("token")?,
                author: Author::new(
                    ActorId::from(hex_bytes(&field("actor")?)),
                    field("person")?,
                    Role::Inspector,
                ),
                cursor: 0,
                directory: 0,
                own_id,
                own: None,
                acked: Vec::new(),
                rng: Rng(0x5EED_0000 + n as u64),
            });
        }
    }
    tablets.sort_by_key(|t| t.n);
    Ok(tablets)
}

/// Every tablet's first sync (all squad tasks, whole), a few at a time.
async fn first_syncs(
    client: &reqwest::Client,
    deployment: &Deployment,
    tablets: Vec<Tablet>,
) -> Result<(Vec<Tablet>, PhaseResult)> {
    let cpu0 = deployment.cpu_seconds()?;
    let urls = deployment.urls();
    let me0 = proc_cpu_seconds("/proc/self/stat")?;
    let started = Instant::now();
    let mut result = PhaseResult {
        name: "first sync".into(),
        ..Default::default()
    };
    let mut done = Vec::with_capacity(tablets.len());
    let mut pending = tablets.into_iter();
    loop {
        let mut set = tokio::task::JoinSet::new();
        for mut tablet in pending.by_ref().take(SETUP_CONCURRENCY) {
            let client = client.clone();
            let url = urls[tablet.n % urls.len()].clone();
            set.spawn(async move {
                let sample = tablet.sync(&client, &url, false, 0).await;
                (tablet, sample)
            });
        }
        if set.is_empty() {
            break;
        }
        while let Some(joined) = set.join_next().await {
            let (tablet, sample) = joined?;
            result.samples.push(sample?);
            anyhow::ensure!(tablet.own.is_some(), "tablet {} lacks its task", tablet.n);
            done.push(tablet);
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    let cpu = deployment.cpu_seconds()?;
    result.server_cpu = cpu.0 - cpu0.0;
    result.database_cpu = cpu.1 - cpu0.1;
    result.client_cpu = proc_cpu_seconds("/proc/self/stat")? - me0;
    done.sort_by_key(|t| t.n);
    Ok((done, result))
}

/// All tablets sync on a fixed schedule (each every `tablets / rate`
/// seconds, staggered) for `seconds` or `max_requests` syncs.
async fn drive(
    name: &str,
    client: &reqwest::Client,
    deployment: &Deployment,
    tablets: Vec<Tablet>,
    options: &Options,
    seconds: f64,
    edit_share: f64,
) -> Result<(Vec<Tablet>, PhaseResult)> {
    let count = tablets.len();
    let period = Duration::from_secs_f64(count as f64 / options.rate);
    let budget = Arc::new(AtomicU64::new(options.max_requests));
    let cpu0 = deployment.cpu_seconds()?;
    let me0 = proc_cpu_seconds("/proc/self/stat")?;
    let start = tokio::time::Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let clock = fieldloop_server::now_ms();
    let mut set = tokio::task::JoinSet::new();
    for mut tablet in tablets {
        let client = client.clone();
        // Each request to the next instance in turn.
        let urls = deployment.urls();
        let budget = budget.clone();
        let offset = period.mul_f64(tablet.n as f64 / count as f64);
        set.spawn(async move {
            let mut samples = Vec::new();
            let mut errors = Vec::new();
            let mut next = start + offset;
            loop {
                tokio::time::sleep_until(next).await;
                if tokio::time::Instant::now() >= end
                    || budget
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| b.checked_sub(1))
                        .is_err()
                {
                    break;
                }
                let edit = tablet.rng.unit() < edit_share;
                let now = clock + start.elapsed().as_millis() as i64;
                let url = &urls[(tablet.n + samples.len() + errors.len()) % urls.len()];
                match tablet.sync(&client, url, edit, now).await {
                    Ok(sample) => samples.push(sample),
                    Err(e) => errors.push(format!("tablet {}: {e:#}", tablet.n)),
                }
                next += period;
            }
            (tablet, samples, errors)
        });
    }
    let mut result = PhaseResult {
        name: name.into(),
        ..Default::default()
    };
    let mut back = Vec::with_capacity(count);
    while let Some(joined) = set.join_next().await {
        let (tablet, samples, errors) = joined?;
        result.samples.extend(samples);
        result.errors.extend(errors);
        back.push(tablet);
    }
    result.seconds = start.elapsed().as_secs_f64();
    let cpu = deployment.cpu_seconds()?;
    result.server_cpu = cpu.0 - cpu0.0;
    result.database_cpu = cpu.1 - cpu0.1;
    result.client_cpu = proc_cpu_seconds("/proc/self/stat")? - me0;
    back.sort_by_key(|t| t.n);
    Ok((back, result))
}

/// What `--faults` did during the mixed phase, seconds into it.
#[derive(Debug, Default)]
struct FaultLog {
    instance_killed: f64,
    instance_back: f64,
    database_killed: f64,
    database_back: f64,
}

/// The fault script of `--faults`, run beside the mixed phase of `seconds`:
/// the second instance SIGKILLed at a quarter and started again on its
/// port 3 s later; PostgreSQL killed at 60 % and started again 1 s later.
async fn inject_faults(deployment: &Deployment, binary: &Path, seconds: f64) -> Result<FaultLog> {
    let start = tokio::time::Instant::now();
    let at = |share: f64| start + Duration::from_secs_f64(seconds * share);
    let since = || start.elapsed().as_secs_f64();
    let mut log = FaultLog::default();

    tokio::time::sleep_until(at(0.25)).await;
    let victim = &deployment.servers[1];
    let status = Command::new("kill")
        .args(["-KILL", &victim.pid().to_string()])
        .status()
        .context("kill -KILL")?;
    anyhow::ensure!(status.success(), "could not SIGKILL instance 2");
    log.instance_killed = since();
    eprintln!(
        "loadgen: instance 2 (pid {}) SIGKILLed at {:.1} s",
        victim.pid(),
        log.instance_killed
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let listen = victim
        .url
        .strip_prefix("http://")
        .context("an http:// instance")?
        .to_owned();
    let (database, key) = (
        deployment.database.clone(),
        deployment.first().data_dir.clone(),
    );
    let binary = binary.to_path_buf();
    let replacement = tokio::task::spawn_blocking(move || {
        Server::start(&binary, false, database.as_deref(), Some(&key), &listen)
    })
    .await??;
    log.instance_back = since();
    eprintln!(
        "loadgen: instance 2 back on {} at {:.1} s",
        replacement.url, log.instance_back
    );
    deployment
        .replacements
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(replacement);

    tokio::time::sleep_until(at(0.6)).await;
    let cluster = deployment
        .cluster
        .as_ref()
        .context("--faults needs --postgres")?;
    tokio::task::block_in_place(|| {
        cluster
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .kill()
    })
    .context("killing PostgreSQL")?;
    log.database_killed = since();
    eprintln!("loadgen: PostgreSQL killed at {:.1} s", log.database_killed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    tokio::task::block_in_place(|| {
        cluster
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .restart()
    })
    .context("starting PostgreSQL again")?;
    log.database_back = since();
    eprintln!("loadgen: PostgreSQL back at {:.1} s", log.database_back);
    Ok(log)
}

/// Every tablet's last acknowledged heads of its own task, looked up in
/// the database: (tablets checked, heads checked), or the first one lost.
fn check_acknowledged(deployment: &Deployment, tablets: &[Tablet]) -> Result<(usize, usize)> {
    let url = deployment
        .database
        .as_deref()
        .context("--faults needs --postgres")?;
    let store = fieldloop_server::store::postgres::PgStore::open(
        url,
        1,
        fieldloop_server::claims::ClaimKey::load_or_create(&deployment.first().data_dir)?,
    )?;
    let (mut checked, mut heads) = (0, 0);
    for tablet in tablets.iter().filter(|t| !t.acked.is_empty()) {
        let stored = fieldloop_server::store::Store::task(&store, &tablet.own_id)?
            .with_context(|| format!("task {} is gone", tablet.own_id))?;
        let mut doc = TaskDoc::load(&stored.doc)?;
        for head in &tablet.acked {
            anyhow::ensure!(
                doc.automerge().get_change_by_hash(head).is_some(),
                "LOST: tablet {}'s acknowledged change {head} of task {} is not in the database",
                tablet.n,
                tablet.own_id
            );
            heads += 1;
        }
        checked += 1;
    }
    Ok((checked, heads))
}

fn print_phase(p: &PhaseResult) {
    println!(
        "{:<11} {:>7} {:>6} {:>7} {:>9.0} {:>8.2} {:>7.2} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7.2} {:>9.0} {:>6}",
        p.name,
        p.syncs(),
        p.edits(),
        p.errors.len(),
        p.per_second(),
        p.server_cpu,
        p.database_cpu,
        p.per_cpu_second(),
        p.percentile_ms(0.5),
        p.percentile_ms(0.99),
        p.percentile_ms(1.0),
        p.mean_pulled(),
        p.mean_bytes(),
        format!("{:.2}", p.client_cpu),
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let options = Options::parse()?;
    let binary = server_binary()?;
    let deployment = Deployment::start(&binary, &options)?;
    let server = deployment.first();
    eprintln!(
        "loadgen: {} instance(s) ({}), the first pid {} at {}; enrolling {} tablets",
        deployment.servers.len(),
        if options.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        server.pid(),
        server.url,
        options.tablets
    );
    fieldloop_tablet::tls::install_crypto();
    let pinned = |builder: reqwest::ClientBuilder| -> Result<reqwest::ClientBuilder> {
        if !options.tls {
            return Ok(builder);
        }
        // Trust exactly the server's key, as an enrolled tablet does.
        let cert = server.data_dir.join("tls/cert.pem");
        let pin = fieldloop_server::tls::pin_of_file(&cert)?;
        let provider = rustls::crypto::ring::default_provider();
        let verifier = Arc::new(fieldloop_tablet::tls::PinVerifier::new(
            vec![pin],
            &provider,
        ));
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(builder.use_preconfigured_tls(config))
    };
    let client = pinned(reqwest::Client::builder())?
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .context("HTTP client")?;
    let handshakes = if options.tls {
        Some(measure_handshakes(server, pinned(reqwest::Client::builder())?).await?)
    } else {
        None
    };
    let setup = Instant::now();
    let tablets = enroll_all(&client, &deployment, &options).await?;
    eprintln!(
        "loadgen: {} tablets enrolled in {:.1} s; first syncs",
        tablets.len(),
        setup.elapsed().as_secs_f64()
    );
    let (tablets, first) = first_syncs(&client, &deployment, tablets).await?;
    let first_statements = deployment.statements()?;
    eprintln!(
        "loadgen: quiet phase {} s, then mixed phase {} s with {}% edit syncs, at {} syncs/s offered",
        options.quiet_seconds, options.seconds, options.edit_percent, options.rate
    );
    let (tablets, quiet) = drive(
        "quiet",
        &client,
        &deployment,
        tablets,
        &options,
        options.quiet_seconds,
        0.0,
    )
    .await?;
    let quiet_statements = deployment.statements()?;
    let (peak_before_mixed, _) = deployment.memory_mib()?;
    let mixed_phase = drive(
        "mixed",
        &client,
        &deployment,
        tablets,
        &options,
        options.seconds,
        options.edit_percent / 100.0,
    );
    let (tablets, mixed, faults) = if options.faults {
        let (driven, faults) = tokio::join!(
            mixed_phase,
            inject_faults(&deployment, &binary, options.seconds)
        );
        let (tablets, mixed) = driven?;
        (tablets, mixed, Some(faults?))
    } else {
        let (tablets, mixed) = mixed_phase.await?;
        (tablets, mixed, None)
    };
    let acknowledged = match &faults {
        Some(_) => Some(tokio::task::block_in_place(|| {
            check_acknowledged(&deployment, &tablets)
        })?),
        None => None,
    };
    let mixed_statements = deployment.statements()?;
    let (peak, rss) = deployment.memory_mib()?;
    drop(deployment);

    println!();
    println!(
        "Load: {} simulated tablets (one squad, I-001..I-005), {} real fieldloop-server instance(s) on 127.0.0.1 on {}, {:.0} syncs/s offered, {} CPU cores on this machine",
        options.tablets,
        options.instances,
        if options.postgres {
            "one PostgreSQL"
        } else {
            "SQLite"
        },
        options.rate,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<11} {:>7} {:>6} {:>7} {:>9} {:>8} {:>7} {:>10} {:>8} {:>8} {:>8} {:>7} {:>9} {:>6}",
        "phase",
        "syncs",
        "edits",
        "errors",
        "syncs/s",
        "srv CPU",
        "db CPU",
        "syncs/cpu·s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "docs/sync",
        "B/sync",
        "gen CPU"
    );
    for p in [&first, &quiet, &mixed] {
        print_phase(p);
    }
    println!(
        "mixed, by kind: syncs without an edit p50 {:.1} ms, p99 {:.1} ms; syncs pushing an edit p50 {:.1} ms, p99 {:.1} ms",
        mixed.percentile_ms_of(0.5, |s| !s.edit),
        mixed.percentile_ms_of(0.99, |s| !s.edit),
        mixed.percentile_ms_of(0.5, |s| s.edit),
        mixed.percentile_ms_of(0.99, |s| s.edit),
    );
    println!(
        "server peak memory (VmHWM) {peak:.1} MiB ({peak_before_mixed:.1} MiB before the mixed phase), resident at the end {rss:.1} MiB"
    );
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    for p in [&quiet, &mixed].into_iter().filter(|p| p.syncs() > 0) {
        println!(
            "{}: {:.0} syncs per CPU-second of the server and its database (goal ≥ {GOAL_PER_CORE:.0}): {}; p99 {:.1} ms (goal ≤ {GOAL_P99_MS:.0}): {}",
            p.name,
            p.per_cpu_second(),
            verdict(p.per_cpu_second() >= GOAL_PER_CORE),
            p.percentile_ms(0.99),
            verdict(p.percentile_ms(0.99) <= GOAL_P99_MS),
        );
    }
    for (phase, statements) in [
        ("first syncs", &first_statements),
        ("quiet", &quiet_statements),
        ("mixed", &mixed_statements),
    ] {
        print_statements(phase, statements);
    }
    for e in mixed.errors.iter().chain(&quiet.errors).take(5) {
        println!("error: {e}");
    }

    if let (Some(f), Some((tablets, heads))) = (&faults, acknowledged) {
        println!(
            "faults: instance 2 SIGKILLed at {:.1} s of the mixed phase and back at {:.1} s; PostgreSQL killed at {:.1} s and back at {:.1} s; {} syncs failed meanwhile (each tablet went on with the next instance); nothing lost: the last acknowledged heads of {tablets} tablets ({heads} heads) are all in the database",
            f.instance_killed,
            f.instance_back,
            f.database_killed,
            f.database_back,
            mixed.errors.len(),
        );
    }
    if let Some(h) = &handshakes {
        println!(
            "TLS: {} fresh connections (full handshake + GET /healthz), {:.0} per server CPU-second, p50 {:.1} ms",
            h.count, h.per_cpu_second, h.p50_ms
        );
    }
    let json = serde_json::json!({
        "tls": options.tls,
        "postgres": options.postgres,
        "instances": options.instances,
        "faults": faults.as_ref().map(|f| serde_json::json!({
            "instance_killed_s": f.instance_killed,
            "instance_back_s": f.instance_back,
            "database_killed_s": f.database_killed,
            "database_back_s": f.database_back,
            "failed_syncs": mixed.errors.len(),
            "acknowledged_tablets_checked": acknowledged.map(|a| a.0),
        })),
        "handshakes": handshakes.as_ref().map(|h| serde_json::json!({
            "connections": h.count,
            "per_server_cpu_second": h.per_cpu_second,
            "p50_ms": h.p50_ms,
        })),
        "tablets": options.tablets,
        "offered_syncs_per_second": options.rate,
        "edit_percent": options.edit_percent,
        "phases": [first.json(), quiet.json(), mixed.json()],
        "server_peak_rss_mib": peak,
        "server_peak_rss_before_mixed_mib": peak_before_mixed,
        "server_rss_end_mib": rss,
        "goal_syncs_per_server_cpu_second": GOAL_PER_CORE,
        "goal_p99_ms": GOAL_P99_MS,
        "database_statements": options.postgres.then(|| serde_json::json!({
            "first": first_statements,
            "quiet": quiet_statements,
            "mixed": mixed_statements,
        })),
    });
    if let Some(target) = binary.parent().and_then(Path::parent) {
        let path = target.join(match (options.tls, options.postgres) {
            _ if options.faults => "bench-loadgen-faults.json".to_owned(),
            (true, _) => "bench-loadgen-tls.json".to_owned(),
            (false, true) => format!("bench-loadgen-pg-{}.json", options.instances),
            (false, false) => "bench-loadgen.json".to_owned(),
        });
        std::fs::write(&path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("figures written to {}", path.display());
    }
    Ok(())
}

/// The database's costliest statements of a phase, one line each.
fn print_statements(phase: &str, statements: &[StatementCost]) {
    if statements.is_empty() {
        return;
    }
    let total: f64 = statements.iter().map(|s| s.plan_ms + s.exec_ms).sum();
    println!(
        "database, {phase}: the {} costliest statements ({total:.0} ms in all)",
        statements.len()
    );
    for s in statements {
        let text: String = s.query.split_whitespace().collect::<Vec<_>>().join(" ");
        let text: String = text.chars().take(110).collect();
        println!(
            "  {:>8} calls {:>9.1} ms plan {:>9.1} ms run {:>9} rows  {text}",
            s.calls, s.plan_ms, s.exec_ms, s.rows
        );
    }
}

/// Fresh connections and what they cost the server.
#[derive(Debug)]
struct Handshakes {
    count: usize,
    per_cpu_second: f64,
    p50_ms: f64,
}

/// Opens `HANDSHAKES` connections, 16 at a time, each with a client that
/// keeps none open (so each one is a full TLS handshake), and sends
/// `GET /healthz` on each.
async fn measure_handshakes(
    server: &Server,
    builder: reqwest::ClientBuilder,
) -> Result<Handshakes> {
    const HANDSHAKES: usize = 2_000;
    const AT_ONCE: usize = 16;
    let client = builder
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .context("HTTP client")?;
    let url = format!("{}/healthz", server.url);
    let cpu0 = server.cpu_seconds()?;
    let mut times = Vec::with_capacity(HANDSHAKES);
    for _ in 0..HANDSHAKES / AT_ONCE {
        let batch = (0..AT_ONCE).map(|_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let started = Instant::now();
                let answer = client.get(&url).send().await?.error_for_status()?;
                answer.bytes().await?;
                Ok::<_, reqwest::Error>(started.elapsed().as_secs_f64() * 1e3)
            }
        });
        for took in futures_util::future::join_all(batch).await {
            times.push(took.context("a handshake failed")?);
        }
    }
    let cpu = server.cpu_seconds()? - cpu0;
    times.sort_by(f64::total_cmp);
    Ok(Handshakes {
        count: times.len(),
        per_cpu_second: times.len() as f64 / cpu.max(1e-9),
        p50_ms: times[times.len() / 2],
    })
}
