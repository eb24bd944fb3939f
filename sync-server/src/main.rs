//! `fieldloop-server`: the sync server and its administration commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_server::store::{Store, verify_receipts};
use fieldloop_server::{AppState, blobs::BlobDir, demo, enroll, now_ms};

#[derive(Debug, Parser)]
#[command(name = "fieldloop-server", version, about = "Fieldloop sync server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 24)]
        hours: i64,
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
    /// Revoke a device: its token stops working at once.
    Revoke {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        device: String,
    },
    /// Audit commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain of the receipt log.
    Verify {
        #[arg(long)]
        data: PathBuf,
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

fn open_store(data: &Path) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create data folder {}", data.display()))?;
    SqliteStore::open(data)
        .with_context(|| format!("cannot open the database in {}", data.display()))
}

fn print_enrollment(data: &Path, inspector: &str, server: &str, code: &str) -> anyhow::Result<()> {
    let uri = enroll::enrollment_uri(server, code);
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
    println!("{text}");
    println!("注册码 enrollment code for {inspector}: {code}");
    println!("扫描上方二维码，或在平板上输入服务器地址 {server} 和注册码。");
    println!("(scan the QR code above, or type the server address and the code on the tablet)");
    println!("QR code image: {}", png_path.display());
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    match Cli::parse().command {
        Command::Serve { data, listen, demo } => {
            let store = open_store(&data)?;
            if demo {
                let created = demo::seed(&store, now_ms()).context("cannot load the demo data")?;
                println!(
                    "demo: people of 青溪县 loaded, {created} new tasks for the township squad"
                );
            }
            let blobs = BlobDir::open(data.join("blobs")).context("cannot open the blob folder")?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| {
                    format!("cannot listen on {listen} (is another server running there?)")
                })?;
            let addr = listener.local_addr()?;
            println!(
                "fieldloop-server listening on http://{addr} (data in {})",
                data.display()
            );
            println!(
                "enroll a tablet: fieldloop-server enroll --data {} --inspector I-001 --server http://{addr}",
                data.display()
            );
            let state = AppState::new(Arc::new(store), blobs);
            fieldloop_server::serve(listener, state, shutdown_signal())
                .await
                .context("server failed")?;
        }
        Command::Enroll {
            data,
            inspector,
            server,
            hours,
        } => {
            let store = open_store(&data)?;
            let code = enroll::issue_code(&store, &inspector, now_ms(), hours * 3_600_000)
                .with_context(|| format!("cannot enroll {inspector}"))?;
            print_enrollment(&data, &inspector, &server, &code)?;
        }
        Command::Supervisor { data, id, team } => {
            let store = open_store(&data)?;
            let (device, token) =
                fieldloop_server::review::add_supervisor(&store, &id, &team, now_ms())
                    .with_context(|| format!("cannot add supervisor {id}"))?;
            println!(
                "supervisor {id} (credential {}) reviews team {team}",
                device.id
            );
            println!("token (shown once): {token}");
            println!(
                "e.g. curl -X POST -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\"
            );
            println!(
                "  -d '{{\"action\":\"approve\"}}' http://127.0.0.1:7878/api/v1/tasks/<task id>/review"
            );
        }
        Command::Revoke { data, device } => {
            open_store(&data)?
                .revoke_device(&device, now_ms())
                .with_context(|| format!("cannot revoke {device}"))?;
            println!("device {device} revoked");
        }
        Command::Audit {
            command: AuditCommand::Verify { data },
        } => {
            let receipts = open_store(&data)?.receipts()?;
            match verify_receipts(&receipts) {
                Ok(n) => println!("receipt log intact: {n} entries"),
                Err(problem) => anyhow::bail!("receipt log damaged: {problem}"),
            }
        }
    }
    Ok(())
}
