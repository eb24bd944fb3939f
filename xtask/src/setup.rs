//! `cargo xtask setup`: installs what a fresh Debian 12 machine lacks to build,
//! test and demo Fieldloop — system packages, rustfmt and clippy, and
//! `ui/node_modules` — and skips whatever is already there, so every other
//! task can run it first at little cost.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::{exec, repo};

/// Debian packages to build, test and demo the app. Extend the list here.
pub const PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev", // Tauri's webview; pulls the gtk3 and libsoup3 dev packages
    "build-essential",
    "pkg-config",
    "libssl-dev",    // SQLCipher (the tablet store) links libcrypto
    "libdbus-1-dev", // the Secret Service keystore holding the tablet's data key
    "curl",
    "file",
    "xvfb",              // the app needs a display: headless runs use xvfb-run
    "xauth",             // xvfb-run fails without it (recommends are not installed)
    "webkit2gtk-driver", // WebKitWebDriver, for tests of the real window
    "chromium",          // the console's tests run in headless Chromium …
    "chromium-driver",   // … through chromedriver
    "fonts-noto-cjk",    // the UI is Chinese; the printed records embed it (fieldloop-print)
    "poppler-utils",     // pdftotext, pdffonts, pdfinfo: the printed records' tests read the PDFs
    "cmake",             // builds libjpeg-turbo, which the turbojpeg crate bundles (photo pipeline)
    "nasm",              // libjpeg-turbo's SIMD code
    "postgresql",        // the PostgreSQL store's tests start throwaway clusters (initdb, pg_ctl)
];

/// Installs what is missing: [`PACKAGES`] and `extra_packages`, the rustfmt
/// and clippy components, and `ui/node_modules`.
pub fn run(extra_packages: &[&str]) -> Result<()> {
    let packages: Vec<&str> = PACKAGES.iter().chain(extra_packages).copied().collect();
    debian_packages(&packages)?;
    rust_components()?;
    tauri_driver()?;
    garage()?;
    node_modules(&repo::ui())?;
    node_modules(&repo::conformance())
}

/// The WebDriver bridge of the end-to-end tests, pinned to Tauri 2's.
const TAURI_DRIVER: &str = "^2";

/// Installs `tauri-driver` with cargo (about 1.5 minutes, once per machine)
/// unless it already runs (cargo's bin directory is on the PATH after rustup).
fn tauri_driver() -> Result<()> {
    if exec::output(&mut exec::command("tauri-driver", ["--help"])).is_ok() {
        println!("setup: tauri-driver is installed");
        return Ok(());
    }
    exec::run(&mut exec::cargo(&[
        "install",
        "tauri-driver",
        "--version",
        TAURI_DRIVER,
        "--locked",
    ]))
}

/// Garage, the S3 store the blob suite and the two-instance tests run
/// against (Debian has no package of it; crates.io has its source).
const GARAGE: &str = "=2.5.0";

/// Installs Garage with cargo unless it already runs: only the SQLite
/// metadata engine (bundled), without LMDB, metrics and K2V, and built
/// without optimisation, since the tests move a few megabytes through it
/// and the build is what costs (223 s on 2 cores, once per
/// machine).
fn garage() -> Result<()> {
    if exec::output(&mut exec::command("garage", ["--help"])).is_ok() {
        println!("setup: garage is installed");
        return Ok(());
    }
    let mut install = exec::cargo(&[
        "install",
        "garage",
        "--version",
        GARAGE,
        "--locked",
        "--no-default-features",
        "--features",
        "bundled-libs,sqlite",
    ]);
    install
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false");
    exec::run(&mut install)
}

/// Installs the packages `dpkg-query` does not report as installed, after
/// one `apt-get update`; touches nothing when all are there.
fn debian_packages(packages: &[&str]) -> Result<()> {
    if exec::output(&mut exec::command("dpkg-query", ["--version"])).is_err() {
        println!(
            "setup: no dpkg-query (not Debian?): install the equivalents of these yourself: {}",
            packages.join(" ")
        );
        return Ok(());
    }
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        println!(
            "setup: all {} Debian packages are installed",
            packages.len()
        );
        return Ok(());
    }
    println!("setup: missing Debian packages: {}", missing.join(" "));
    let sudo = !is_root()?;
    exec::run(&mut apt_get(sudo, &["update"]))?;
    let install = ["install", "-y", "--no-install-recommends"];
    exec::run(&mut apt_get(sudo, &[&install[..], &missing].concat()))
}

fn installed(package: &str) -> bool {
    exec::output(&mut exec::command(
        "dpkg-query",
        ["-W", "-f=${Status}", package],
    ))
    .is_ok_and(|status| is_installed_status(&status))
}

/// `dpkg-query`'s `${Status}` ends in `installed` only for a fully installed
/// package (`config-files`, `half-installed`, `not-installed` otherwise).
fn is_installed_status(status: &str) -> bool {
    status.split_whitespace().last() == Some("installed")
}

fn is_root() -> Result<bool> {
    let uid = exec::output(&mut exec::command("id", ["-u"]))?;
    Ok(uid.trim() == "0")
}

/// `apt-get args…`, non-interactive, through sudo unless we are root.
fn apt_get(sudo: bool, args: &[&str]) -> Command {
    // `env` passes the variable through sudo, which resets the environment.
    let runner: &[&str] = if sudo { &["sudo", "env"] } else { &["env"] };
    let words = [runner, &["DEBIAN_FRONTEND=noninteractive", "apt-get"], args].concat();
    exec::command(words[0], &words[1..])
}

/// Adds rustfmt and clippy to the toolchain when `cargo fmt` / `cargo clippy` fail.
fn rust_components() -> Result<()> {
    let missing: Vec<&str> = [("fmt", "rustfmt"), ("clippy", "clippy")]
        .into_iter()
        .filter(|(subcommand, _)| {
            exec::output(&mut exec::cargo(&[subcommand, "--version"])).is_err()
        })
        .map(|(_, component)| component)
        .collect();
    if missing.is_empty() {
        println!("setup: rustfmt and clippy are installed");
        return Ok(());
    }
    exec::run(&mut exec::command(
        "rustup",
        [&["component", "add"][..], &missing].concat(),
    ))
}

/// Runs `npm ci` in `dir` (the UI, the conformance client) when its
/// `node_modules` is missing or older than `package-lock.json`.
fn node_modules(dir: &Path) -> Result<()> {
    let name = repo::display(dir);
    if !dir.join("package.json").exists() {
        println!("setup: {name}/package.json does not exist: nothing for npm to install");
        return Ok(());
    }
    let lock = dir.join("package-lock.json");
    ensure!(
        lock.exists(),
        "{name}/package-lock.json is missing: `npm ci` needs it; run `npm install` in {name}/ and commit it"
    );
    exec::output(&mut exec::npm_in(dir, &["--version"]))
        .context("npm is needed: install a current Node.js (20 LTS or newer)")?;
    if is_newer(&dir.join("node_modules/.package-lock.json"), &lock)? {
        println!("setup: {name}/node_modules is up to date");
        return Ok(());
    }
    exec::run(&mut exec::npm_in(dir, &["ci"]))
}

/// Whether `path` exists and was modified after `than`.
fn is_newer(path: &Path, than: &Path) -> Result<bool> {
    let modified = |path: &Path| {
        fs::metadata(path)
            .and_then(|meta| meta.modified())
            .with_context(|| {
                format!(
                    "cannot read the modification time of {}",
                    repo::display(path)
                )
            })
    };
    Ok(path.exists() && modified(path)? > modified(than)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fully_installed_package_counts() {
        assert!(is_installed_status("install ok installed"));
        assert!(is_installed_status("hold ok installed"));
        assert!(!is_installed_status("deinstall ok config-files"));
        assert!(!is_installed_status("unknown ok not-installed"));
        assert!(!is_installed_status("install ok half-installed"));
        assert!(!is_installed_status(""));
    }
}
