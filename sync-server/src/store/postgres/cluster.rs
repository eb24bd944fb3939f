//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` into a
//! fresh directory under the system's temporary directory, a server on a
//! free loopback port, databases made on demand, and everything stopped and
//! removed when the [`TestCluster`] is dropped.
//!
//! The server binaries are found in `/usr/lib/postgresql/<version>/bin`
//! (the highest version) or through `pg_config --bindir` / `PATH`. Run as
//! root, the binaries run as the `postgres` user (`runuser`), since `initdb`
//! refuses root; otherwise they run as the current user.
//!
//! The server is tuned for throwaway data (no fsync, no full-page writes):
//! never point it at anything that matters.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many lines of the server's log an error carries.
const LOG_TAIL_LINES: usize = 20;

/// How many free ports `start` tries when another process takes the one it picked.
const PORT_ATTEMPTS: usize = 5;

/// How long `pg_ctl` waits for the server to start or stop, in seconds.
const WAIT_SECONDS: &str = "120";

/// Tells apart the directories and databases made by one process.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// What went wrong starting, stopping or using a [`TestCluster`].
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "the PostgreSQL server binaries (initdb, pg_ctl) are not installed: none in /usr/lib/postgresql/*/bin, from pg_config --bindir or on PATH"
    )]
    NotInstalled,
    #[error("running as root, but there is no `postgres` user to run the server as: {0}")]
    NoPostgresUser(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("initdb failed ({status}): {output}")]
    Initdb { status: String, output: String },
    #[error(
        "pg_ctl start on port {port} failed ({status}): {output}\n--- server log, last lines ---\n{log}"
    )]
    Start {
        port: u16,
        status: String,
        output: String,
        log: String,
    },
    #[error(
        "pg_ctl stop -m {mode} failed ({status}): {output}\n--- server log, last lines ---\n{log}"
    )]
    Stop {
        mode: &'static str,
        status: String,
        output: String,
        log: String,
    },
    #[error("creating database {name}: {source}")]
    CreateDatabase {
        name: String,
        #[source]
        source: postgres::Error,
    },
}

/// One statement's share of the database's time (`pg_stat_statements`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatementCost {
    /// The statement, with its parameters as `$1`, `$2`, …
    pub query: String,
    pub calls: i64,
    /// Milliseconds spent planning it (with `pg_stat_statements.track_planning`).
    pub plan_ms: f64,
    /// Milliseconds spent running it.
    pub exec_ms: f64,
    /// Rows it returned or changed.
    pub rows: i64,
}

/// Whether the PostgreSQL server binaries (`initdb`, `pg_ctl`) are installed.
pub fn available() -> bool {
    bin_dir().is_some()
}

/// A PostgreSQL server of its own, in a temporary directory. Dropping it
/// stops the server (`pg_ctl stop -m immediate`) and removes the directory.
#[derive(Debug)]
pub struct TestCluster {
    /// Where `initdb`, `pg_ctl` and the rest live.
    bin: PathBuf,
    /// The cluster's own directory: `data/`, `server.log` and the socket.
    dir: PathBuf,
    /// The user the binaries run as when we are root (uid, gid).
    owner: Option<(u32, u32)>,
    port: u16,
    running: bool,
    /// Server settings beyond the defaults (`-c name=value` each).
    settings: Vec<(String, String)>,
}

impl TestCluster {
    /// Makes a new cluster (`initdb`) in a fresh temporary directory and
    /// starts its server on a free loopback port, waiting until it accepts
    /// connections.
    pub fn start() -> Result<Self, ClusterError> {
        Self::start_with(&[])
    }

    /// [`TestCluster::start`] with server settings of its own, such as
    /// `("shared_preload_libraries", "pg_stat_statements")` for a benchmark
    /// that reports where the database's time goes.
    pub fn start_with(settings: &[(&str, &str)]) -> Result<Self, ClusterError> {
        let bin = bin_dir().ok_or(ClusterError::NotInstalled)?.to_owned();
        let owner = if running_as_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        let dir = make_dir(owner)?;
        // From here on, dropping the value removes the directory.
        let mut cluster = Self {
            bin,
            dir,
            owner,
            port: 0,
            running: false,
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        cluster.initdb()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => return Ok(cluster),
                // Someone took the port between our probe and the server's bind.
                Err(ClusterError::Start { ref log, .. })
                    if attempt < PORT_ATTEMPTS && log.contains("already in use") =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One cluster for the whole test process, started on first use. A
    /// static is never dropped, so a watchdog process stops the server and
    /// removes its directory once this process has exited, however it ends.
    pub fn shared() -> Result<&'static TestCluster, String> {
        static SHARED: OnceLock<Result<TestCluster, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let cluster = Self::start().map_err(|e| e.to_string())?;
                cluster
                    .watch(std::process::id())
                    .map_err(|e| e.to_string())?;
                Ok(cluster)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Starts a process that waits for process `pid` to end, then stops
    /// this cluster's server at once and removes its directory.
    fn watch(&self, pid: u32) -> Result<(), ClusterError> {
        let stop = format!(
            "{}'{}' -D '{}' -m immediate -w stop",
            if self.owner.is_some() {
                "runuser -u postgres -- "
            } else {
                ""
            },
            self.bin.join("pg_ctl").display(),
            self.data_dir().display()
        );
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf '{}'",
            self.dir.display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|source| ClusterError::Io {
                what: "starting the cluster's watchdog".into(),
                source,
            })
    }

    /// The URL of `database` on this cluster, as the superuser `postgres`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The process id of the server's postmaster (its backends are its
    /// children), read from `postmaster.pid`.
    pub fn postmaster_pid(&self) -> Result<u32, ClusterError> {
        let path = self.data_dir().join("postmaster.pid");
        let text = fs::read_to_string(&path).map_err(|source| ClusterError::Io {
            what: format!("reading {}", path.display()),
            source,
        })?;
        text.lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| ClusterError::Io {
                what: format!("reading {}", path.display()),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "no pid on its first line",
                ),
            })
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a fresh database with a name of its own and returns its URL.
    pub fn create_database(&self) -> Result<String, ClusterError> {
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let statement = format!("CREATE DATABASE {name}");
        match self.admin(|client| client.batch_execute(&statement)) {
            Ok(()) => Ok(self.url(&name)),
            Err(source) => Err(ClusterError::CreateDatabase { name, source }),
        }
    }

    /// Runs `f` with a client of the `postgres` database, on a thread of its
    /// own (the blocking client's runtime panics inside another runtime).
    fn admin<T: Send>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, postgres::Error> {
        let admin = self.url("postgres");
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut client = postgres::Client::connect(&admin, postgres::NoTls)?;
                f(&mut client)
            })
            .join()
        })
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// Where the database's time went since the last call, by statement,
    /// costliest first (at most `limit`), then starts counting afresh. Needs
    /// a cluster started with `shared_preload_libraries=pg_stat_statements`
    /// ([`TestCluster::start_with`]).
    pub fn statement_costs(&self, limit: usize) -> Result<Vec<StatementCost>, postgres::Error> {
        self.admin(|client| {
            client.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")?;
            let rows = client.query(
                "SELECT query, calls, total_plan_time, total_exec_time, rows \
                 FROM pg_stat_statements \
                 ORDER BY total_plan_time + total_exec_time DESC LIMIT $1",
                &[&i64::try_from(limit).unwrap_or(i64::MAX)],
            )?;
            client.batch_execute("SELECT pg_stat_statements_reset()")?;
            rows.iter()
                .map(|row| {
                    Ok(StatementCost {
                        query: row.try_get(0)?,
                        calls: row.try_get(1)?,
                        plan_ms: row.try_get(2)?,
                        exec_ms: row.try_get(3)?,
                        rows: row.try_get(4)?,
                    })
                })
                .collect()
        })
    }

    /// Stops the server cleanly (`pg_ctl stop -m fast`); the data stays,
    /// for [`restart`](Self::restart).
    pub fn stop(&mut self) -> Result<(), ClusterError> {
        self.pg_ctl_stop("fast")
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`: no
    /// checkpoint, recovery from the WAL at the next start); the data stays.
    pub fn kill(&mut self) -> Result<(), ClusterError> {
        self.pg_ctl_stop("immediate")
    }

    /// Starts the server again on the same port and data (stopping it
    /// first, cleanly, if it is running).
    pub fn restart(&mut self) -> Result<(), ClusterError> {
        self.pg_ctl_stop("fast")?;
        self.pg_ctl_start()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// A command running the binary `name`, as `postgres` when we are root,
    /// in the cluster's directory (the `postgres` user may not be allowed
    /// into ours).
    fn command(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut command = if self.owner.is_some() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command.current_dir(&self.dir);
        command
    }

    /// `initdb` into `data/`.
    fn initdb(&self) -> Result<(), ClusterError> {
        let output = run(
            self.command("initdb").arg("-D").arg(self.data_dir()).args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]),
            "initdb",
        )?;
        if output.status.success() {
            Ok(())
        } else {
            Err(ClusterError::Initdb {
                status: output.status.to_string(),
                output: text_of(&output),
            })
        }
    }

    /// `pg_ctl start`, waiting until the server accepts connections.
    fn pg_ctl_start(&mut self) -> Result<(), ClusterError> {
        // Tests only: fsync and full-page writes off trade durability across
        // an OS crash for speed. A killed server still loses nothing it
        // committed, since the OS has the writes. Not synchronous_commit=off:
        // that leaves commits in the server's memory for up to a fraction of
        // a second, and `kill` would lose them (with fsync off, a synchronous
        // commit is only a write anyway).
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' \
             -c fsync=off -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        for (name, value) in &self.settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        let output = run(
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(self.log_file())
                .args(["-o", &options, "-w", "-t", WAIT_SECONDS, "start"]),
            "pg_ctl start",
        )?;
        if output.status.success() {
            self.running = true;
            Ok(())
        } else {
            Err(ClusterError::Start {
                port: self.port,
                status: output.status.to_string(),
                output: text_of(&output),
                log: self.log_tail(),
            })
        }
    }

    /// `pg_ctl stop -m mode`, waiting until the server is gone; nothing
    /// when it is not running.
    fn pg_ctl_stop(&mut self, mode: &'static str) -> Result<(), ClusterError> {
        if !self.running {
            return Ok(());
        }
        let output = run(
            self.command("pg_ctl").arg("-D").arg(self.data_dir()).args([
                "-m",
                mode,
                "-w",
                "-t",
                WAIT_SECONDS,
                "stop",
            ]),
            "pg_ctl stop",
        )?;
        if output.status.success() {
            self.running = false;
            Ok(())
        } else {
            Err(ClusterError::Stop {
                mode,
                status: output.status.to_string(),
                output: text_of(&output),
                log: self.log_tail(),
            })
        }
    }

    /// The last lines of the server's log, or why it could not be read.
    fn log_tail(&self) -> String {
        match fs::read(self.log_file()) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
            }
            Err(e) => format!("(no log: {e})"),
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // Nothing is kept, so there is nothing to shut down cleanly for.
        let _ = self.pg_ctl_stop("immediate");
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Runs `command` to completion, capturing its output.
fn run(command: &mut Command, what: &str) -> Result<Output, ClusterError> {
    command.output().map_err(|source| ClusterError::Io {
        what: format!("running {what}"),
        source,
    })
}

/// A command's stderr and stdout as one trimmed text.
fn text_of(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    format!("{}\n{}", stderr.trim(), stdout.trim())
        .trim()
        .to_owned()
}

/// Where the server binaries are, found once per process.
fn bin_dir() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(find_bin_dir).as_deref()
}

/// Whether `dir` holds the binaries a cluster needs.
fn has_server(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

/// The highest version's `/usr/lib/postgresql/<version>/bin`, else
/// `pg_config --bindir`, else the directory on `PATH` with `initdb`.
fn find_bin_dir() -> Option<PathBuf> {
    let versioned = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version: Vec<u32> = name
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin);
    if versioned.is_some() {
        return versioned;
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|dir| has_server(dir));
    if from_pg_config.is_some() {
        return from_pg_config;
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|dir| has_server(dir)))
}

/// Whether this process runs as root (`id -u` says 0).
fn running_as_root() -> bool {
    id(&["-u"]).is_ok_and(|uid| uid == 0)
}

/// The uid and gid of the `postgres` user.
fn postgres_user() -> Result<(u32, u32), ClusterError> {
    let uid = id(&["-u", "postgres"]).map_err(ClusterError::NoPostgresUser)?;
    let gid = id(&["-g", "postgres"]).map_err(ClusterError::NoPostgresUser)?;
    Ok((uid, gid))
}

/// The number `id args` prints, or why there is none.
fn id(args: &[&str]) -> Result<u32, String> {
    let output = Command::new("id")
        .args(args)
        .output()
        .map_err(|e| format!("running id: {e}"))?;
    if !output.status.success() {
        return Err(text_of(&output));
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("id {}: {e}", args.join(" ")))
}

/// A new, empty directory for a cluster under the temporary directory,
/// given to `owner` when there is one.
fn make_dir(owner: Option<(u32, u32)>) -> Result<PathBuf, ClusterError> {
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    loop {
        let dir = base.join(format!(
            "fieldloop-pg-{}-{}-{nanos:08x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        match fs::create_dir(&dir) {
            Ok(()) => {
                if let Some((uid, gid)) = owner
                    && let Err(source) = std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                {
                    let _ = fs::remove_dir(&dir);
                    return Err(ClusterError::Io {
                        what: format!("giving {} to the postgres user", dir.display()),
                        source,
                    });
                }
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(ClusterError::Io {
                    what: format!("creating {}", dir.display()),
                    source,
                });
            }
        }
    }
}

/// A loopback port nobody listens on now: bound, read and let go.
fn free_port() -> Result<u16, ClusterError> {
    let probe = |source| ClusterError::Io {
        what: "finding a free loopback port".into(),
        source,
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(probe)?;
    let port = listener.local_addr().map_err(probe)?.port();
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn count(url: &str, value: i64) -> Result<i64, postgres::Error> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        let row = client.query_one("SELECT count(*) FROM marks WHERE x = $1", &[&value])?;
        row.try_get(0)
    }

    #[test]
    fn databases_are_apart_and_commits_survive_a_crash() -> TestResult {
        if !available() {
            eprintln!("skipped: no PostgreSQL server binaries");
            return Ok(());
        }
        let mut cluster = TestCluster::start()?;
        let dir = cluster.dir.clone();
        let (a, b) = (cluster.create_database()?, cluster.create_database()?);
        assert_ne!(a, b);
        for url in [&a, &b] {
            let mut client = postgres::Client::connect(url, postgres::NoTls)?;
            client.batch_execute("CREATE TABLE marks (x BIGINT NOT NULL)")?;
        }
        postgres::Client::connect(&a, postgres::NoTls)?
            .execute("INSERT INTO marks (x) VALUES ($1)", &[&42_i64])?;
        assert_eq!(count(&a, 42)?, 1);
        assert_eq!(count(&b, 42)?, 0);

        let port = cluster.port();
        cluster.kill()?;
        assert!(count(&a, 42).is_err(), "the server is down");
        cluster.restart()?;
        assert_eq!(cluster.port(), port);
        assert_eq!(count(&a, 42)?, 1, "a committed row outlives a crash");
        assert_eq!(count(&b, 42)?, 0);

        cluster.stop()?;
        cluster.restart()?;
        assert_eq!(count(&a, 42)?, 1);

        drop(cluster);
        assert!(!dir.exists(), "the cluster's directory is removed");
        Ok(())
    }
}
