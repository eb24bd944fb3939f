//! `fieldloop-server`: the command line of the sync server.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { data, listen } => {
            std::fs::create_dir_all(&data)
                .with_context(|| format!("cannot create data folder {}", data.display()))?;
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
            fieldloop_server::serve(listener, shutdown_signal())
                .await
                .context("server failed")?;
        }
    }
    Ok(())
}
