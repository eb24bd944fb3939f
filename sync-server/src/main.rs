//! `fieldloop-server`: the sync server and its administration commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::io::Write as _;

use anyhow::Context;
use clap::{Parser, Subcommand};
use fieldloop_server::blobs::{BlobDir, Blobs, ObjectBlobs};
use fieldloop_server::import::{self, ImportCounts, ImportError, Kind};
use fieldloop_server::limits::{self, Limits};
use fieldloop_server::store::postgres::PgStore;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_server::store::{Store, verify_receipts};
use fieldloop_server::tasks::{self, Day, NewTask};
use fieldloop_server::{AppState, enroll, now_ms};

/// Prints a line; a closed standard output (the terminal went away, a
/// pipe's reader quit) must not bring the server down, so errors are ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Debug, Parser)]
#[command(name = "fieldloop-server", version, about = "Fieldloop sync server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// Where the records are kept: SQLite in the data folder by default, or a
/// PostgreSQL database shared by several instances.
#[derive(Debug, Clone, clap::Args)]
struct DatabaseArgs {
    /// A PostgreSQL database, postgres://user:password@host:port/name, for
    /// several server instances; without it, SQLite in the data folder.
    /// The data folder still holds blobs, TLS files and the claim key,
    /// which every instance must share (docs/deploy.md).
    #[arg(
        long,
        global = true,
        env = "FIELDLOOP_DATABASE",
        hide_env_values = true
    )]
    database: Option<String>,
    /// Connections each instance keeps to PostgreSQL at most.
    #[arg(long, global = true, default_value_t = fieldloop_server::store::postgres::DEFAULT_POOL_SIZE,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    database_pool: u32,
}

/// The server's bounds (`fieldloop_server::limits`), each with its default.
#[derive(Debug, clap::Args)]
struct LimitArgs {
    /// Tasks one sync answer carries from the feed.
    #[arg(long, default_value_t = limits::FEED_PAGE_DOCS as u32, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    feed_page: u32,
    /// Change bytes one sync answer carries from the feed.
    #[arg(long, default_value_t = limits::FEED_PAGE_BYTES as u64, value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    feed_page_bytes: u64,
    /// Connections open at once (kept below the open-file limit).
    #[arg(long, default_value_t = limits::CONNECTIONS as u32, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    max_connections: u32,
    /// Seconds for a request's headers to arrive (and for an idle connection to be closed).
    #[arg(long, default_value_t = limits::HEADER_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// Enrollment attempts a minute from one address (a big squad behind
    /// one address, or a load test, may need more than the default).
    #[arg(long, default_value_t = fieldloop_server::enroll::ATTEMPTS_PER_ADDRESS, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    enroll_per_minute: u32,
    /// Days a device token is accepted without a sync (each sync after a
    /// day replaces the token).
    #[arg(long, default_value_t = limits::TOKEN_LIFETIME.as_secs() / 86_400, value_parser = clap::value_parser!(u64).range(1..=3650))]
    token_days: u64,
    /// A reverse proxy (its address) whose X-Forwarded-For names the
    /// client; repeat for several. Without one the header is ignored.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Inspections a year a subject may have before random draws leave it
    /// out, per credit-risk class (any subset of A=1,B=2,C=3,D=4).
    #[arg(long, value_name = "LIMITS", value_parser = fieldloop_server::draws::parse_yearly_limits, default_value = "A=1,B=2,C=3,D=4")]
    yearly_limit: [u32; 4],
    /// Days after a task's window ends that its verify code (亮码检查,
    /// `/v/{code}`) still answers and takes the business's feedback.
    #[arg(long, default_value_t = fieldloop_server::claims::FEEDBACK_DAYS, value_parser = clap::value_parser!(u32).range(0..=3650))]
    feedback_days: u32,
    /// Receipts after which a sync makes a signed checkpoint of the
    /// receipt log (published at /api/v1/audit/checkpoint and logged).
    #[arg(long, default_value_t = limits::CHECKPOINT_EVERY, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    checkpoint_every: u64,
    /// Seconds between checkpoints made when anything is new.
    #[arg(long, default_value_t = limits::CHECKPOINT_INTERVAL.as_secs(), value_parser = clap::value_parser!(u64).range(1..=30 * 86_400))]
    checkpoint_interval: u64,
}

impl From<LimitArgs> for Limits {
    fn from(args: LimitArgs) -> Self {
        Limits {
            feed_page_docs: args.feed_page as usize,
            feed_page_bytes: args.feed_page_bytes as usize,
            connections: args.max_connections as usize,
            header_timeout: std::time::Duration::from_secs(args.header_timeout),
            enrollments_per_address: args.enroll_per_minute,
            token_lifetime: std::time::Duration::from_secs(args.token_days * 86_400),
            trusted_proxies: args.trusted_proxies,
            yearly_limits: args.yearly_limit,
            checkpoint_every: args.checkpoint_every,
            checkpoint_interval: std::time::Duration::from_secs(args.checkpoint_interval),
            ..Limits::default()
        }
    }
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a console account. The password is read from standard input
    /// (asked for without echo on a terminal); at least 10 characters.
    Add {
        #[arg(long)]
        data: PathBuf,
        /// The sign-in name, e.g. S-001.
        #[arg(long)]
        id: String,
        /// The person's name as the console shows it.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: ConsoleRole,
        /// A team the supervisor acts for (repeat for several; none for an admin).
        #[arg(long = "team")]
        teams: Vec<String>,
        /// A department the supervisor acts for: every task that includes it,
        /// whichever team does it (repeat for several).
        #[arg(long = "department")]
        departments: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ConsoleRole {
    Supervisor,
    Admin,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync API on an address.
    Serve {
        /// Folder for the database and blobs (created if missing).
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on, e.g. 127.0.0.1:7878 (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:7878")]
        listen: String,
        /// Load the demo county's people and create demo tasks (if there are none).
        #[arg(long)]
        demo: bool,
        /// The console map's tile URL template, e.g. a Tianditu WMTS/XYZ
        /// address with your key; without one the map draws a plain grid.
        #[arg(long)]
        tile_url: Option<String>,
        /// The attribution the map shows under the tiles.
        #[arg(long)]
        tile_attribution: Option<String>,
        /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
        #[arg(long, requires = "tls_key", conflicts_with = "tls_self_signed")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve HTTPS with a self-signed certificate kept in DATA/tls/
        /// (made on first run for these names or addresses, comma-separated).
        #[arg(long, value_delimiter = ',', num_args = 0.., value_name = "HOSTS")]
        tls_self_signed: Option<Vec<String>>,
        /// Where blobs (photos, signatures) are kept: a folder (DATA/blobs by
        /// default), or an S3-compatible bucket for several instances,
        /// s3://BUCKET?endpoint=URL&region=NAME, with the key in
        /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (docs/deploy.md).
        #[arg(long, env = "FIELDLOOP_BLOBS", value_name = "FOLDER_OR_URL")]
        blobs: Option<String>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Issue a one-time enrollment code for an inspector's tablet.
    Enroll {
        #[arg(long)]
        data: PathBuf,
        /// The inspector's id, e.g. I-001.
        #[arg(long)]
        inspector: String,
        /// The address tablets reach the server at (goes into the QR code).
        #[arg(long, default_value = "http://127.0.0.1:7878")]
        server: String,
        /// Hours the code stays valid (1 to 720).
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(i64).range(1..=720))]
        hours: i64,
        /// The certificate whose key the tablet pins (an https server
        /// address needs one; by default DATA/tls/cert.pem).
        #[arg(long)]
        tls_cert: Option<PathBuf>,
        /// Another key pin (sha256:…) the tablet also trusts: the next
        /// key, announced before the server changes to it.
        #[arg(long = "next-pin")]
        next_pins: Vec<fieldloop_core::enroll::KeyPin>,
    },
    /// Create a supervisor credential (review API) and print its token once.
    Supervisor {
        #[arg(long)]
        data: PathBuf,
        /// The supervisor's id, e.g. S-001.
        #[arg(long)]
        id: String,
        /// The team whose tasks they review.
        #[arg(long)]
        team: String,
    },
    /// Console accounts (supervisors and administrators).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Deactivate an inspector (leaving the service, suspended): every
    /// device of theirs is refused at once. `--activate` undoes it.
    Deactivate {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        inspector: String,
        /// Reactivate instead.
        #[arg(long)]
        activate: bool,
    },
    /// Revoke a device: its token stops working at once.
    Revoke {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        device: String,
    },
    /// Import departments, industries, teams, inspectors, subjects, items or
    /// handbooks from CSV or JSON files: all rows of all files, or nothing.
    Import {
        #[arg(long)]
        data: PathBuf,
        /// What every FILE holds; by default told by each file's name (e.g. subjects.csv).
        #[arg(long)]
        kind: Option<Kind>,
        /// CSV (header row; lists separated by ';') or JSON (an array) files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Task commands.
    Task {
        #[command(subcommand)]
        command: TaskCommand,
    },
    /// Create or bring the database's tables up to date and exit (`serve`
    /// does it too; run this once before starting several instances).
    Migrate {
        #[arg(long)]
        data: PathBuf,
    },
    /// Audit commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Random draws (双随机).
    Draw {
        #[command(subcommand)]
        command: DrawCommand,
    },
    /// Keys of the outside channels that send leads (12345, 互联网+监管, …).
    ChannelKey {
        #[command(subcommand)]
        command: ChannelKeyCommand,
    },
    /// Evidence packages (行刑衔接).
    Package {
        #[command(subcommand)]
        command: PackageCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ChannelKeyCommand {
    /// Make a key for a channel; the key is printed once, only its hash is kept.
    Create {
        #[arg(long)]
        data: PathBuf,
        /// hotline_12345, internet_plus, grid, association or media.
        #[arg(long)]
        channel: String,
        /// Who makes it (recorded with the key).
        #[arg(long, default_value = "S-ADMIN")]
        by: String,
    },
}

#[derive(Debug, Subcommand)]
enum PackageCommand {
    /// Check an evidence package offline: every file against the manifest,
    /// the manifest against its hash, the receipt entries against the chain
    /// head. Prints OK or the first mismatch; exit code 0 or 1.
    Verify {
        /// The package, `package-<lead>.zip`.
        package: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum DrawCommand {
    /// Recompute a published draw record (from the public page) and say
    /// whether it matches; needs no database. With the pools (from the
    /// console) the drawn subjects and inspectors are recomputed too.
    Verify {
        /// The record, `record-<id>.json`.
        record: PathBuf,
        /// The pools of the draw's plans, `pools-<id>.json`.
        #[arg(long)]
        pools: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum TaskCommand {
    /// Create a joint-inspection task for a subject from its industry's handbook.
    Create {
        #[arg(long)]
        data: PathBuf,
        /// The subject's unified social credit code (统一社会信用代码).
        #[arg(long)]
        subject: String,
        /// The team that carries it out, e.g. T-QX-01.
        #[arg(long)]
        team: String,
        /// At least two inspectors of the team, e.g. I-001,I-002.
        #[arg(long, value_delimiter = ',', required = true)]
        inspectors: Vec<String>,
        /// First day, e.g. 2026-12-01 (Beijing time).
        #[arg(long)]
        start: Day,
        /// Last day, e.g. 2026-12-15 (Beijing time).
        #[arg(long)]
        due: Day,
        /// The task code; by default the next free JX-<year>-<number>.
        #[arg(long)]
        code: Option<String>,
        /// Who creates the task (recorded in its history).
        #[arg(long, default_value = "S-ADMIN")]
        by: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain of the receipt log; with --against, also that
    /// the log still holds a signed checkpoint's head at its entry (a log
    /// cut short or rewritten after the fact fails, naming the entry).
    Verify {
        #[arg(long)]
        data: PathBuf,
        /// A checkpoint kept earlier (the JSON of GET /api/v1/audit/checkpoint,
        /// or copied from the server log).
        #[arg(long, value_name = "CHECKPOINT.json")]
        against: Option<PathBuf>,
        /// The server's public key (64 hex digits, or a file holding them or
        /// the JSON of GET /api/v1/public/claim-key); by default the data
        /// folder's own key.
        #[arg(long, requires = "against", value_name = "HEX|FILE")]
        key: Option<String>,
    },
    /// A task's history: who, the device's time, what, and the server's receipt.
    Trail {
        #[arg(long)]
        data: PathBuf,
        /// The task id.
        #[arg(long)]
        task: String,
    },
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("fieldloop-server: shutting down");
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// A password from standard input: asked for without echo on a terminal,
/// else the first line.
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("密码 (password): ").context("cannot read the password");
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// The database given (`--database`), else SQLite in `data`.
static DATABASE: std::sync::OnceLock<DatabaseArgs> = std::sync::OnceLock::new();

fn open_store(data: &Path) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create data folder {}", data.display()))?;
    match DATABASE
        .get()
        .and_then(|d| d.database.as_deref().map(|url| (url, d.database_pool)))
    {
        Some((url, pool)) => {
            let key = fieldloop_server::claims::ClaimKey::load_or_create(data)
                .context("cannot read the claim key")?;
            let store = PgStore::open(url, pool, key)
                .with_context(|| format!("cannot open the PostgreSQL database {}", redact(url)))?;
            Ok(Arc::new(store))
        }
        None => Ok(Arc::new(SqliteStore::open(data).with_context(|| {
            format!("cannot open the database in {}", data.display())
        })?)),
    }
}

/// The blob store `--blobs` names, and where it is for the start-up
/// message: a folder (`DATA/blobs` without one) or an S3 bucket, which is
/// asked once now so that a wrong address or key is said at start-up.
fn open_blobs(
    runtime: &tokio::runtime::Runtime,
    data: &Path,
    blobs: Option<&str>,
    store: Arc<dyn Store>,
) -> anyhow::Result<(Blobs, String)> {
    match blobs {
        Some(url) if url.starts_with("s3://") => {
            let objects = ObjectBlobs::s3(url, store)?;
            runtime
                .block_on(objects.check())
                .with_context(|| format!("cannot reach the blob store {url}"))?;
            Ok((objects.into(), url.to_owned()))
        }
        other => {
            let folder = other.map_or_else(|| data.join("blobs"), PathBuf::from);
            let dir = BlobDir::open(&folder)
                .with_context(|| format!("cannot open the blob folder {}", folder.display()))?;
            Ok((dir.into(), folder.display().to_string()))
        }
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(an unreadable URL)".to_owned(),
    }
}

fn print_enrollment(
    data: &Path,
    inspector: &str,
    server: &str,
    code: &str,
    pins: &[fieldloop_core::enroll::KeyPin],
) -> anyhow::Result<()> {
    let uri = fieldloop_core::enroll::EnrollTarget::pinned_link(server, code, pins);
    let qr = qrcode::QrCode::new(uri.as_bytes()).context("cannot make the QR code")?;
    let text = qr
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build();
    let png_path = data.join(format!("enroll-{inspector}.png"));
    qr.render::<image::Luma<u8>>()
        .min_dimensions(320, 320)
        .build()
        .save(&png_path)
        .with_context(|| format!("cannot write {}", png_path.display()))?;
    say!("{text}");
    say!("注册码 enrollment code for {inspector}: {code}");
    say!("扫描上方二维码，或在平板上输入服务器地址 {server} 和注册码。");
    say!("(scan the QR code above, or type the server address and the code on the tablet)");
    say!("QR code image: {}", png_path.display());
    if !pins.is_empty() {
        say!("the link pins the server's key: {uri}");
    }
    Ok(())
}

/// A checkpoint from its JSON file.
fn read_checkpoint(path: &Path) -> anyhow::Result<fieldloop_core::checkpoint::Checkpoint> {
    use fieldloop_core::checkpoint::{Checkpoint, MAX_CHECKPOINT_BYTES};
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    anyhow::ensure!(
        len <= MAX_CHECKPOINT_BYTES as u64,
        "{} is larger than {MAX_CHECKPOINT_BYTES} bytes: not a checkpoint",
        path.display()
    );
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Checkpoint::from_json(&bytes).with_context(|| format!("{} is not a checkpoint", path.display()))
}

/// A public key: 64 hex digits, or a file holding them or the JSON of
/// `GET /api/v1/public/claim-key` (`public_key`).
fn read_public_key(text: &str) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    use fieldloop_core::checkpoint::{MAX_CHECKPOINT_BYTES, key_from_hex};
    if let Ok(key) = key_from_hex(text) {
        return Ok(key);
    }
    let path = Path::new(text);
    let len = std::fs::metadata(path)
        .with_context(|| format!("--key {text}: neither 64 hex digits nor a readable file"))?
        .len();
    anyhow::ensure!(
        len <= MAX_CHECKPOINT_BYTES as u64,
        "{text} is larger than {MAX_CHECKPOINT_BYTES} bytes: not a key"
    );
    let content = std::fs::read_to_string(path).with_context(|| format!("cannot read {text}"))?;
    let hex = match serde_json::from_str::<serde_json::Value>(&content) {
        Ok(json) => json["public_key"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("{text} has no public_key"))?,
        Err(_) => content.trim().to_owned(),
    };
    key_from_hex(&hex).with_context(|| format!("{text} does not hold an Ed25519 public key"))
}

/// Ends a command that was refused for its input: the reason, no backtrace, exit status 1.
fn refuse(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1)
}

fn print_import_summary(counts: &ImportCounts) {
    say!("导入完成，全部写入 (import complete; every row was written in one transaction):");
    if Kind::ALL.iter().all(|&k| counts.of(k).total() == 0) {
        say!("  文件中没有数据行 (the files hold no rows)");
    }
    for kind in Kind::ALL {
        let c = counts.of(kind);
        if c.total() == 0 {
            continue;
        }
        say!(
            "  {:<12}{:>6}  新增 added {}，更新 updated {}，未变 unchanged {}  ({})",
            kind.as_str(),
            c.total(),
            c.added,
            c.updated,
            c.unchanged,
            kind.zh()
        );
    }
}

/// `serve --demo`: imports the demo county and creates its tasks.
#[cfg(feature = "demo")]
fn seed_demo(store: &dyn Store) -> anyhow::Result<()> {
    let created =
        fieldloop_server::demo::seed(store, now_ms()).context("cannot load the demo data")?;
    say!("demo: data of 青溪县 imported, {created} new tasks for the township squad");
    say!(
        "demo: console sign-in {} (supervisor of the squad), {} (supervisor for the market regulation bureau) or {} (administrator), password {}",
        fieldloop_server::demo::DEMO_SUPERVISOR,
        fieldloop_server::demo::DEMO_DEPARTMENT_SUPERVISOR,
        fieldloop_server::demo::DEMO_ADMIN,
        fieldloop_server::demo::DEMO_SUPERVISOR_PASSWORD
    );
    Ok(())
}

/// A build without the `demo` feature has no demo data to load.
#[cfg(not(feature = "demo"))]
fn seed_demo(_store: &dyn Store) -> anyhow::Result<()> {
    anyhow::bail!(
        "--demo: this server was built without demo data; build it with `--features demo` (as `cargo xtask demo` does)"
    )
}

/// No runtime around the commands: the stores' clients block (PostgreSQL's
/// runs a runtime of its own, which cannot start inside another), so only
/// `serve` builds one, after the store is open and seeded.
fn main() -> anyhow::Result<()> {
    // Warnings by default (refused credentials among them); RUST_LOG adds more.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::builder()
                .with_default_directive(tracing_subscriber::filter::LevelFilter::WARN.into())
                .from_env_lossy()
                // Checkpoints of the receipt log are always written to the log.
                .add_directive(
                    format!("{}=info", fieldloop_server::audit::LOG_TARGET)
                        .parse()
                        .context("the audit log directive")?,
                ),
        )
        .init();
    let cli = Cli::parse();
    let _ = DATABASE.set(cli.database.clone());
    match cli.command {
        Command::Serve {
            data,
            listen,
            demo,
            tile_url,
            tile_attribution,
            tls_cert,
            tls_key,
            tls_self_signed,
            blobs,
            limits,
        } => {
            let store = open_store(&data)?;
            if demo {
                seed_demo(store.as_ref())?;
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the server's runtime")?;
            let _entered = runtime.enter();
            let (blobs, blobs_at) = open_blobs(&runtime, &data, blobs.as_deref(), store.clone())?;
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind(&listen))
                .with_context(|| {
                    format!("cannot listen on {listen} (is another server running there?)")
                })?;
            let addr = listener.local_addr()?;
            let identity = match (tls_cert, tls_key, tls_self_signed) {
                (Some(cert), Some(key), _) => {
                    Some(fieldloop_server::tls::load(&cert, &key).context("cannot serve HTTPS")?)
                }
                (_, _, Some(mut hosts)) => {
                    if hosts.is_empty() {
                        hosts = vec!["localhost".into(), addr.ip().to_string()];
                    }
                    Some(
                        fieldloop_server::tls::self_signed(&data, &hosts)
                            .context("cannot serve HTTPS")?,
                    )
                }
                _ => None,
            };
            let scheme = if identity.is_some() { "https" } else { "http" };
            say!(
                "fieldloop-server listening on {scheme}://{addr} (data in {})",
                data.display()
            );
            say!("blobs in {blobs_at}");
            match &identity {
                Some(identity) => say!(
                    "tablets pin the key {} (certificate {})",
                    identity.pin,
                    identity.cert_path.display()
                ),
                None if addr.ip().is_loopback() => {
                    say!(
                        "plain HTTP on loopback only: give --tls-self-signed or --tls-cert/--tls-key to serve tablets on a network"
                    )
                }
                None => say!(
                    "warning: plain HTTP on {addr}: tokens and records cross the network unencrypted; use --tls-cert/--tls-key, --tls-self-signed, or a TLS reverse proxy (docs/deploy.md)"
                ),
            }
            say!(
                "enroll a tablet: fieldloop-server enroll --data {} --inspector I-001 --server {scheme}://{addr}",
                data.display()
            );
            let feedback_days = limits.feedback_days;
            let state = AppState::new(store, blobs)
                .with_limits(limits.into())
                .with_feedback_days(feedback_days)
                .with_map(fieldloop_server::console::MapConfig {
                    tile_url,
                    tile_attribution,
                });
            // Evidence packages carry the 笔录 as PDF, printed like the console's.
            let package_printer = fieldloop_server::console::PackagePrinter::new(
                state.printer.clone(),
                state.store.clone(),
                format!("{scheme}://{addr}"),
            );
            let state = state.with_record_printer(Arc::new(package_printer));
            let tls = identity.map(|i| i.config);
            runtime
                .block_on(fieldloop_server::serve_with(
                    listener,
                    state,
                    tls,
                    shutdown_signal(),
                ))
                .context("server failed")?;
        }
        Command::Migrate { data } => {
            let store = open_store(&data)?;
            say!(
                "database up to date: {}",
                match DATABASE.get().and_then(|d| d.database.as_deref()) {
                    Some(url) => redact(url),
                    None => data.join("fieldloop-server.sqlite3").display().to_string(),
                }
            );
            drop(store);
        }
        Command::Enroll {
            data,
            inspector,
            server,
            hours,
            tls_cert,
            next_pins,
        } => {
            let mut pins = Vec::new();
            if server.starts_with("https://") {
                let cert = tls_cert
                    .or_else(|| fieldloop_server::tls::self_signed_cert(&data))
                    .with_context(|| {
                        format!("{server} is HTTPS: give --tls-cert, the certificate the server serves, so that the tablet can pin its key")
                    })?;
                pins.push(fieldloop_server::tls::pin_of_file(&cert)?);
            } else if !next_pins.is_empty() || tls_cert.is_some() {
                anyhow::bail!(
                    "key pins need an https server address (the tablet ignores them over plain HTTP)"
                );
            }
            pins.extend(next_pins);
            let store = open_store(&data)?;
            let code = enroll::issue_code(store.as_ref(), &inspector, now_ms(), hours * 3_600_000)
                .with_context(|| format!("cannot enroll {inspector}"))?;
            print_enrollment(&data, &inspector, &server, &code, &pins)?;
        }
        Command::User {
            command:
                UserCommand::Add {
                    data,
                    id,
                    name,
                    role,
                    teams,
                    departments,
                },
        } => {
            let role = match role {
                ConsoleRole::Supervisor => fieldloop_core::Role::Supervisor,
                ConsoleRole::Admin => fieldloop_core::Role::Admin,
            };
            if role == fieldloop_core::Role::Supervisor
                && teams.is_empty()
                && departments.is_empty()
            {
                anyhow::bail!(
                    "a supervisor acts for at least one team or department: add --team T-… or --department …"
                );
            }
            let store = open_store(&data)?;
            for team in &teams {
                if store.team(team)?.is_none() {
                    anyhow::bail!("no team {team}: import it first (fieldloop-server import)");
                }
            }
            for department in &departments {
                if store.department(department)?.is_none() {
                    anyhow::bail!(
                        "no department {department}: import it first (fieldloop-server import)"
                    );
                }
            }
            let password = read_password()?;
            let user = fieldloop_server::store::ConsoleUser {
                id: id.trim().to_owned(),
                name: name.trim().to_owned(),
                role,
                teams,
                departments,
            };
            fieldloop_server::console::add_user(store.as_ref(), &user, &password, now_ms())
                .with_context(|| format!("cannot add console user {id}"))?;
            say!("console user {} ({}) added", user.id, user.name);
        }
        Command::Supervisor { data, id, team } => {
            let store = open_store(&data)?;
            let (device, token) =
                fieldloop_server::review::add_supervisor(store.as_ref(), &id, &team, now_ms())
                    .with_context(|| format!("cannot add supervisor {id}"))?;
            say!(
                "supervisor {id} (credential {}) reviews team {team}",
                device.id
            );
            say!("token (shown once): {token}");
            say!(
                "e.g. curl -X POST -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\"
            );
            say!(
                "  -d '{{\"action\":\"approve\"}}' http://127.0.0.1:7878/api/v1/tasks/<task id>/review"
            );
        }
        Command::Deactivate {
            data,
            inspector,
            activate,
        } => {
            open_store(&data)?
                .set_inspector_active(&inspector, activate)
                .with_context(|| format!("cannot change {inspector}"))?;
            if activate {
                say!("inspector {inspector} is active again");
            } else {
                say!("inspector {inspector} deactivated: their devices are refused from now on");
            }
        }
        Command::Revoke { data, device } => {
            open_store(&data)?
                .revoke_device(&device, now_ms())
                .with_context(|| format!("cannot revoke {device}"))?;
            say!("device {device} revoked");
        }
        Command::Import { data, kind, files } => {
            let store = open_store(&data)?;
            match import::import_files(store.as_ref(), &files, kind) {
                Ok(counts) => print_import_summary(&counts),
                Err(ImportError::Invalid(problems)) => {
                    eprintln!(
                        "发现 {n} 处问题，未导入任何数据；请改正后重新导入全部文件 ({n} problems found; nothing was imported: fix them and import all files again)",
                        n = problems.len()
                    );
                    for problem in &problems {
                        eprintln!("  {problem}");
                    }
                    std::process::exit(1);
                }
                Err(e) => refuse(&format!("未导入任何数据 (nothing was imported): {e}")),
            }
        }
        Command::Task {
            command:
                TaskCommand::Create {
                    data,
                    subject,
                    team,
                    inspectors,
                    start,
                    due,
                    code,
                    by,
                },
        } => {
            let store = open_store(&data)?;
            let new = NewTask {
                subject,
                team,
                inspectors,
                start,
                due,
                code,
                by,
                items: None,
            };
            match tasks::create(store.as_ref(), &new, now_ms()) {
                Ok(task) => {
                    say!("任务已创建 (task created)");
                    say!("  任务编号 code:          {}", task.code);
                    say!("  任务 id:                {}", task.id);
                    say!("  核验码 verify code:     {}", task.verify_code);
                    say!("  核验页 verify URL path: {}", task.verify_path());
                }
                Err(e) => refuse(&format!("任务未创建 (no task was created): {e}")),
            }
        }
        Command::Draw {
            command: DrawCommand::Verify { record, pools },
        } => {
            /// Record and pools files larger than this are refused.
            const MAX_FILE: u64 = 1 << 30;
            let read = |path: &PathBuf| -> anyhow::Result<String> {
                let len = std::fs::metadata(path)
                    .with_context(|| format!("cannot read {}", path.display()))?
                    .len();
                anyhow::ensure!(len <= MAX_FILE, "{} is larger than 1 GiB", path.display());
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))
            };
            let text = read(&record)?;
            let parsed: fieldloop_core::draw::DrawRecord = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a draw record", record.display()))?;
            let pools: Option<Vec<fieldloop_core::draw::PlanPools>> = match &pools {
                Some(path) => Some(
                    serde_json::from_str(&read(path)?)
                        .with_context(|| format!("{} is not a draw's pools", path.display()))?,
                ),
                None => None,
            };
            match fieldloop_core::draw::verify(&parsed, pools.as_deref()) {
                Ok(report) => {
                    say!(
                        "抽取记录 {} 复算一致 (the draw record {} matches): {} plans, {} subjects drawn, {} tasks",
                        parsed.id,
                        parsed.id,
                        report.plans,
                        report.selected,
                        report.tasks
                    );
                    if report.recomputed {
                        say!(
                            "recomputed from the pools: pool hashes, every drawn subject, every joint visit and every inspector"
                        );
                    } else {
                        say!(
                            "without --pools: commitments, seeds, quotas and the record's structure were checked; give the pools to recompute the subjects and inspectors"
                        );
                    }
                }
                Err(mismatch) => anyhow::bail!(
                    "抽取记录 {} 与复算不符 (the draw record does not match) at {mismatch}",
                    parsed.id
                ),
            }
        }
        Command::ChannelKey {
            command: ChannelKeyCommand::Create { data, channel, by },
        } => {
            use fieldloop_server::leads::Channel;
            let Some(channel) = Channel::parse(&channel).filter(|c| c.is_outside()) else {
                refuse(&format!(
                    "没有外部渠道 “{channel}” (no outside channel '{channel}'): hotline_12345, internet_plus, grid, association or media"
                ));
            };
            let store = open_store(&data)?;
            let (row, key) = fieldloop_server::leads::create_channel_key(
                store.as_ref(),
                channel,
                by.trim(),
                now_ms(),
            )
            .context("cannot store the key")?;
            say!("channel key {} for {} created", row.id, row.channel);
            say!("key (shown once; send it as Authorization: Bearer <key>): {key}");
        }
        Command::Package {
            command: PackageCommand::Verify { package },
        } => {
            use fieldloop_server::leads::package;
            let file = std::fs::File::open(&package)
                .with_context(|| format!("cannot read {}", package.display()))?;
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            if len > package::MAX_VERIFY_BYTES {
                refuse(&format!(
                    "MISMATCH {}: larger than {} bytes",
                    package.display(),
                    package::MAX_VERIFY_BYTES
                ));
            }
            match package::verify(std::io::BufReader::new(file)) {
                Ok(done) => say!(
                    "OK {}: lead {}, task {}, {} files and {} receipt entries match, chain head {}",
                    package.display(),
                    done.manifest.lead,
                    done.manifest.task.as_deref().unwrap_or("-"),
                    done.manifest.files.len(),
                    done.receipts,
                    done.manifest.receipt_chain_head.as_deref().unwrap_or("-")
                ),
                Err(mismatch) => refuse(&format!("MISMATCH {}: {mismatch}", package.display())),
            }
        }
        Command::Audit {
            command: AuditCommand::Verify { data, against, key },
        } => {
            let store = open_store(&data)?;
            let receipts = store.receipts()?;
            match against {
                None => match verify_receipts(&receipts) {
                    Ok(n) => say!("receipt log intact: {n} entries"),
                    Err(problem) => anyhow::bail!("receipt log damaged: {problem}"),
                },
                Some(path) => {
                    let checkpoint = read_checkpoint(&path)?;
                    let key = match key {
                        Some(text) => read_public_key(&text)?,
                        None => store
                            .claim_key()
                            .context("the data folder has no key: give --key")?
                            .verifying_key(),
                    };
                    match fieldloop_server::audit::verify_against(&receipts, &checkpoint, &key) {
                        Ok(n) => say!(
                            "receipt log intact: {n} entries; entry {} carries the checkpoint's head {} (signed {})",
                            checkpoint.seq,
                            checkpoint.head,
                            utc(checkpoint.at)
                        ),
                        Err(problem) => refuse(&format!(
                            "接收记录与检查点不符 (the receipt log does not match the checkpoint {}): {problem}",
                            path.display()
                        )),
                    }
                }
            }
        }
        Command::Audit {
            command: AuditCommand::Trail { data, task },
        } => {
            let store = open_store(&data)?;
            let Some(trail) = fieldloop_server::audit::trail(store.as_ref(), &task)? else {
                anyhow::bail!("没有任务 {task} (no task {task})");
            };
            say!(
                "设备时间 device time (UTC) | 服务器接收 server receipt (UTC) | 人员 who | 设备 device | 内容 what"
            );
            for entry in trail {
                let (device, received) = match &entry.receipt {
                    Some((device, at)) => (device.as_str(), utc(*at)),
                    None => ("-", "未接收 not received".to_owned()),
                };
                say!(
                    "{} | {} | {} | {} | {}",
                    utc(entry.device_time),
                    received,
                    entry.person.as_deref().unwrap_or("?"),
                    device,
                    entry.message
                );
            }
            // What the write policy flagged for the reviewer.
            for stored in store.flags(&task)? {
                let what = match &stored.flag {
                    fieldloop_core::policy::Flag::ConcurrentWithSubmission { change } => format!(
                        "与提交同时修改 changed concurrently with the submission: {}",
                        &change[..change.len().min(12)]
                    ),
                    fieldloop_core::policy::Flag::OutsideCertification {
                        item, department, ..
                    } => format!(
                        "超出执法资格 answered outside certification: {item} ({department})"
                    ),
                };
                say!(
                    "标记 flag | {} | {} | {what}",
                    utc(stored.received_at),
                    stored.device_id
                );
            }
        }
    }
    Ok(())
}
