//! `cargo xtask demo`: a sync server on 127.0.0.1:7878 and the tablet app
//! with demo tasks, each with its data under `.fieldloop-demo/` (git-ignored).
//!
//! The server is stopped when the app exits or xtask fails. On Ctrl-C the
//! terminal interrupts the whole process group, server and app included.

use std::env;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::{exec, repo, setup};

/// Where the demo server listens.
const LISTEN: &str = "127.0.0.1:7878";
/// How long the server may take to answer `GET /healthz` once started.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The pause between two readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Arguments for `xvfb-run` when there is no display.
const XVFB_RUN: [&str; 3] = ["-a", "-s", "-screen 0 1280x800x24"];

pub fn run() -> Result<()> {
    setup::run(&[])?;
    let addr: SocketAddr = LISTEN.parse()?;
    ensure!(
        !answers(addr),
        "something already listens on {LISTEN} (an earlier demo?): stop it first"
    );
    let data = repo::root().join(".fieldloop-demo");
    let (server_data, tablet_data) = (data.join("server"), data.join("tablet"));
    for dir in [&server_data, &tablet_data] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", repo::display(dir)))?;
    }

    exec::run(&mut exec::npm(&["run", "build"]))?;
    // Build both in one invocation and run what it built: a `cargo run` per
    // package would resolve features per package and compile the shared
    // dependencies (tokio, reqwest, automerge, …) a second time. The demo
    // data is behind the `demo` feature, off in production builds; a plain
    // `--features demo` turns it on in both selected packages (the
    // `package/feature` form does not reach a selected package's own
    // binary when two are selected).
    exec::run(&mut exec::cargo(&[
        "build",
        "-p",
        "fieldloop-server",
        "-p",
        "fieldloop-app",
        "--features",
        "demo",
    ]))?;

    let mut server = exec::start("fieldloop-server", &mut server_command(&server_data))?;
    wait_until_ready(&mut server, addr)?;
    println!(
        "    fieldloop-server answers on http://{LISTEN} (plain HTTP on loopback only: this machine alone reaches it; to serve tablets on a network, see docs/deploy.md)"
    );
    println!(
        "    the supervisors' console: open http://{LISTEN}/ in a browser and sign in as S-001 (supervisor of the squad), S-002 (supervisor for the market regulation bureau) or A-001 (administrator), password fieldloop-demo"
    );
    let link = enrollment_link(&server_data)?;
    println!(
        "    the tablet app opens on its enrollment screen with a code for {DEMO_INSPECTOR}: tap 注册 (Enroll)"
    );
    exec::run(&mut app_command(&tablet_data, &link))
    // `server` is dropped here, which stops it.
}

/// The inspector the demo tablet is offered to enroll as.
const DEMO_INSPECTOR: &str = "I-002";

/// A fresh one-time enrollment link for [`DEMO_INSPECTOR`], from the server's CLI.
fn enrollment_link(server_data: &Path) -> Result<String> {
    let mut cmd = exec::command(&built("fieldloop-server"), ["enroll", "--data"]);
    cmd.arg(server_data).args([
        "--inspector",
        DEMO_INSPECTOR,
        "--server",
        &format!("http://{LISTEN}"),
    ]);
    let out = exec::output(&mut cmd)?;
    let code = out
        .lines()
        .find_map(|l| l.split_once("enrollment code for ").map(|(_, rest)| rest))
        .and_then(|rest| {
            rest.split_once(": ")
                .map(|(_, code)| code.trim().to_owned())
        })
        .with_context(|| format!("fieldloop-server enroll printed no code:\n{out}"))?;
    Ok(format!(
        "fieldloop://enroll?server=http://{LISTEN}&code={code}"
    ))
}

/// A binary the demo's `cargo build` made.
fn built(name: &str) -> String {
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo::root().join("target"));
    target.join("debug").join(name).display().to_string()
}

fn server_command(data: &Path) -> Command {
    let mut cmd = exec::command(&built("fieldloop-server"), ["serve", "--data"]);
    cmd.arg(data).args(["--listen", LISTEN, "--demo"]);
    cmd
}

/// The app the demo built, under Xvfb when there is no display.
fn app_command(data: &Path, enroll_link: &str) -> Command {
    let app = built("fieldloop-app");
    let mut cmd = if has_display() {
        exec::command(&app, std::iter::empty::<&str>())
    } else {
        println!(
            "No display (DISPLAY and WAYLAND_DISPLAY are unset): running the app under Xvfb.\n\
             Its window cannot be seen; the server at http://{LISTEN} is real.\n\
             To see the app, run `cargo xtask demo` in a desktop session, or connect with\n\
             `ssh -X` so DISPLAY is set."
        );
        let mut cmd = exec::command("xvfb-run", XVFB_RUN);
        cmd.arg(app);
        cmd
    };
    cmd.env("FIELDLOOP_DATA_DIR", data)
        .env("FIELDLOOP_ENROLL", enroll_link);
    cmd
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|var| env::var_os(var).is_some_and(|value| !value.is_empty()))
}

/// Polls `GET /healthz` until it succeeds, the server exits, or the timeout.
fn wait_until_ready(server: &mut exec::Background, addr: SocketAddr) -> Result<()> {
    println!("==> waiting for GET http://{addr}/healthz");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = server.exited()? {
            bail!("fieldloop-server exited before it was ready ({status}); its error is above");
        }
        if healthy(addr) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "fieldloop-server did not answer GET /healthz on {addr} within {}s",
                READY_TIMEOUT.as_secs()
            );
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Whether anything accepts connections on `addr`.
fn answers(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Whether `GET /healthz` on `addr` answers with a 2xx status.
fn healthy(addr: SocketAddr) -> bool {
    let status_line = || -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        write!(
            stream,
            "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line)?;
        Ok(line)
    };
    status_line().is_ok_and(|line| is_success(&line))
}

/// Whether an HTTP status line (`HTTP/1.1 200 OK`) reports success.
fn is_success(status_line: &str) -> bool {
    let mut words = status_line.split_whitespace();
    words
        .next()
        .is_some_and(|version| version.starts_with("HTTP/"))
        && words
            .next()
            .is_some_and(|code| code.len() == 3 && code.starts_with('2'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_2xx_status_lines_are_success() {
        assert!(is_success("HTTP/1.1 200 OK\r\n"));
        assert!(is_success("HTTP/1.0 204 No Content\r\n"));
        assert!(!is_success("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(!is_success("SSH-2.0-OpenSSH_9.2\r\n"));
        assert!(!is_success(""));
    }
}
