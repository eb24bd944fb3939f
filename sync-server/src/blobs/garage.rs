//! A throwaway Garage node (a real S3-compatible store, written in Rust) for
//! tests and benchmarks: its configuration, metadata and data in a fresh
//! directory under the system's temporary directory, its S3 API on a free
//! loopback port, a one-node layout applied, one access key, and buckets made
//! on demand. Dropping the [`TestGarage`] stops it and removes the directory.
//!
//! The binary is `$FIELDLOOP_GARAGE`, else `garage` on `PATH`, else
//! `~/.cargo/bin/garage` (`cargo xtask setup` installs it there with
//! `cargo install garage`).

use std::fs;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The S3 region the node answers to.
pub const REGION: &str = "garage";
/// How long the node may take to answer its first `status`.
const BOOT_WAIT: Duration = Duration::from_secs(60);

/// Tells apart the directories and buckets made by one process.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// What went wrong starting or using a [`TestGarage`].
#[derive(Debug, thiserror::Error)]
pub enum GarageError {
    #[error(
        "Garage is not installed: no $FIELDLOOP_GARAGE, no `garage` on PATH or in ~/.cargo/bin; run `cargo xtask setup` (cargo install garage)"
    )]
    NotInstalled,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("garage {command} failed: {output}\n--- node log, last lines ---\n{log}")]
    Command {
        command: String,
        output: String,
        log: String,
    },
}

/// Where the `garage` binary is, if anywhere.
pub fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FIELDLOOP_GARAGE") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("garage"))
            .find(|bin| bin.is_file())
    });
    on_path.or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        Some(home.join("bin").join("garage")).filter(|bin| bin.is_file())
    })
}

/// A Garage node of its own. See the module's documentation.
#[derive(Debug)]
pub struct TestGarage {
    bin: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
    s3_port: u16,
    key_id: String,
    secret: String,
}

fn free_port() -> Result<u16, GarageError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| GarageError::Io {
            what: "finding a free port".into(),
            source,
        })
}

fn hex_of(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

impl TestGarage {
    /// Starts a node in a fresh directory, applies a one-node layout and
    /// imports an access key; waits until it answers.
    pub fn start() -> Result<Self, GarageError> {
        let bin = binary().ok_or(GarageError::NotInstalled)?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("fieldloop-garage-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|source| GarageError::Io {
            what: format!("creating {}", dir.display()),
            source,
        })?;
        let (s3_port, rpc_port, admin_port) = (free_port()?, free_port()?, free_port()?);
        let rpc_secret = hex_of(&rand::random::<[u8; 32]>());
        let admin_token = hex_of(&rand::random::<[u8; 16]>());
        let config = format!(
            r#"metadata_dir = "{dir}/meta"
data_dir = "{dir}/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{rpc_secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin_port}"
admin_token = "{admin_token}"
"#,
            dir = dir.display()
        );
        let io = |what: &str| {
            let what = what.to_owned();
            move |source| GarageError::Io { what, source }
        };
        fs::write(dir.join("garage.toml"), config).map_err(io("writing garage.toml"))?;
        let log = fs::File::create(dir.join("garage.log")).map_err(io("creating garage.log"))?;
        let log2 = log.try_clone().map_err(io("opening garage.log"))?;
        let child = Command::new(&bin)
            .arg("-c")
            .arg(dir.join("garage.toml"))
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(io(&format!("starting {}", bin.display())))?;
        let mut garage = TestGarage {
            bin,
            dir,
            child: Some(child),
            s3_port,
            key_id: format!("GK{}", hex_of(&rand::random::<[u8; 12]>())),
            secret: hex_of(&rand::random::<[u8; 32]>()),
        };
        garage.set_up()?;
        Ok(garage)
    }

    /// One node for the whole test process, started on first use; a
    /// watchdog stops it and removes its directory when the process ends.
    pub fn shared() -> Result<&'static TestGarage, String> {
        static SHARED: OnceLock<Result<TestGarage, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let garage = Self::start().map_err(|e| e.to_string())?;
                garage.watch().map_err(|e| e.to_string())?;
                Ok(garage)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn set_up(&mut self) -> Result<(), GarageError> {
        let started = Instant::now();
        loop {
            match self.garage(&["status"]) {
                Ok(_) => break,
                Err(e) if started.elapsed() > BOOT_WAIT => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        let node = self.garage(&["node", "id", "-q"])?;
        let node = node.trim().split('@').next().unwrap_or_default().to_owned();
        self.garage(&["layout", "assign", "-z", "dc1", "-c", "1G", &node])?;
        self.garage(&["layout", "apply", "--version", "1"])?;
        let (id, secret) = (self.key_id.clone(), self.secret.clone());
        self.garage(&["key", "import", &id, &secret, "-n", "fieldloop", "--yes"])?;
        Ok(())
    }

    /// Runs the `garage` CLI against this node; its standard output.
    pub fn garage(&self, args: &[&str]) -> Result<String, GarageError> {
        let output = Command::new(&self.bin)
            .arg("-c")
            .arg(self.dir.join("garage.toml"))
            .args(args)
            .output()
            .map_err(|source| GarageError::Io {
                what: format!("running garage {}", args.join(" ")),
                source,
            })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            let text = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
            Err(GarageError::Command {
                command: args.join(" "),
                output: text.trim().to_owned(),
                log: self.log_tail(),
            })
        }
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.dir.join("garage.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Makes a new, empty bucket the node's key may read and write; its name.
    pub fn create_bucket(&self) -> Result<String, GarageError> {
        let name = format!(
            "fieldloop-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.garage(&["bucket", "create", &name])?;
        self.garage(&[
            "bucket",
            "allow",
            "--read",
            "--write",
            "--owner",
            &name,
            "--key",
            "fieldloop",
        ])?;
        Ok(name)
    }

    /// The S3 endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// `--blobs` for `bucket` on this node.
    pub fn url(&self, bucket: &str) -> String {
        format!("s3://{bucket}?endpoint={}&region={REGION}", self.endpoint())
    }

    /// The environment a server needs to use this node's key.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            ("AWS_ACCESS_KEY_ID", self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.clone()),
        ]
    }

    /// A client of `bucket`, with this node's key.
    pub fn objects(&self, bucket: &str) -> Arc<dyn object_store::ObjectStore> {
        // The S3 client's HTTP client needs the process's TLS provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s3 = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(self.endpoint())
            .with_region(REGION)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_access_key_id(&self.key_id)
            .with_secret_access_key(&self.secret)
            .build()
            .expect("an S3 client of a local Garage bucket");
        Arc::new(s3)
    }

    /// Every key in `bucket`, sorted. Not from inside an async runtime.
    pub fn keys(&self, bucket: &str) -> Result<Vec<String>, object_store::Error> {
        use futures_util::TryStreamExt;
        let objects = self.objects(bucket);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| object_store::Error::Generic {
                store: "garage",
                source: Box::new(e),
            })?;
        let mut keys: Vec<String> = runtime.block_on(
            objects
                .list(None)
                .map_ok(|meta| meta.location.to_string())
                .try_collect(),
        )?;
        keys.sort();
        Ok(keys)
    }

    /// The node's directory (configuration, log, metadata, data).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts a process that waits for this process to end, then kills the
    /// node and removes its directory.
    fn watch(&self) -> Result<(), GarageError> {
        let pid = std::process::id();
        let node = self.child.as_ref().map_or(0, Child::id);
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; kill -9 {node} 2>/dev/null; rm -rf '{}'",
            self.dir.display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|source| GarageError::Io {
                what: "starting the node's watchdog".into(),
                source,
            })
    }
}

impl Drop for TestGarage {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
