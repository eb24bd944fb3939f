//! Programs of this build started as real processes: the server binary and
//! the tablet app.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The binary `name` of this build (`target/<profile>/<name>`), built by
/// `cargo test --workspace` for the packages' own integration tests.
pub fn target_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} missing: build the workspace first (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

/// A `fieldloop-server serve` process.
#[derive(Debug)]
pub struct ServerProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl ServerProcess {
    /// Starts the server on `data`, listening on `listen` (`127.0.0.1:0`
    /// for any free port), and waits until it says where it listens.
    pub fn start(data: &Path, listen: &str, demo: bool) -> Self {
        Self::start_with(data, listen, demo, &[])
    }

    /// [`ServerProcess::start`] with more `serve` arguments (limits, say).
    pub fn start_with(data: &Path, listen: &str, demo: bool, extra: &[&str]) -> Self {
        Self::start_with_env(data, listen, demo, extra, &[])
    }

    /// [`ServerProcess::start_with`] with environment variables set for the
    /// server alone (`FIELDLOOP_CLOCK_FILE`, say).
    pub fn start_with_env(
        data: &Path,
        listen: &str,
        demo: bool,
        extra: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Self {
        // The tests' own HTTP clients need a crypto provider.
        fieldloop_tablet::tls::install_crypto();
        let mut cmd = Command::new(target_binary("fieldloop-server"));
        cmd.args(["serve", "--listen", listen, "--data"]).arg(data);
        cmd.args(extra);
        cmd.envs(env.iter().copied());
        if demo {
            cmd.arg("--demo");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn server");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("server printed its address")
                .expect("line");
            if let Some(rest) = line.split("http://").nth(1) {
                break format!("http://{}", rest.split_whitespace().next().expect("addr"));
            }
        };
        // Keep reading what the server prints later, as a terminal would.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, url }
    }

    /// The most memory the process has held (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
