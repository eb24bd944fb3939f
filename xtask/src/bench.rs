//! `cargo xtask bench`: the Rust benchmarks (among them `tests/benches/sync.rs`,
//! sync's wire bytes and round trips, written to `target/bench-sync.json`),
//! then `scripts/photo-compare.sh` (our photo pipeline against vipsthumbnail
//! and ImageMagick) when it exists, then the load generator: 500 simulated
//! tablets against the real server binary (`target/bench-loadgen.json`), and
//! again over HTTPS with a pinned key (`target/bench-loadgen-tls.json`), and
//! on PostgreSQL with one and two instances (`target/bench-loadgen-pg-N.json`).
//! `tests/bin/bigstore.rs` grows a PostgreSQL store to a million tasks and
//! times a fresh tablet's first sync and the no-change check there
//! (`target/bench-bigstore.json`).
//! `tests/benches/app.rs` drives the release tablet app in its window (cold
//! start with 5,000 tasks, opening a big task, memory; `target/bench-app.json`),
//! and again on one core (`taskset -c 0`; `target/bench-app-one-core.json`),
//! so the UI and the release app are built first.

use anyhow::Result;

use crate::{exec, repo, setup};

/// Debian packages the photo comparison needs, on top of [`setup::PACKAGES`].
pub const BENCH_PACKAGES: &[&str] = &[
    "libvips-tools", // vipsthumbnail
    "imagemagick",   // convert
    "time",          // /usr/bin/time, for peak memory
];

/// The photo comparison script, relative to the repository root.
const PHOTO_COMPARE: &str = "scripts/photo-compare.sh";

pub fn run() -> Result<()> {
    setup::run(BENCH_PACKAGES)?;
    // The app benchmark starts the release app, which embeds ui/dist.
    exec::run(&mut exec::npm(&["run", "build"]))?;
    exec::run(&mut exec::cargo(&[
        "build",
        "--release",
        "-p",
        "fieldloop-app",
    ]))?;
    // Only bench targets: the crates that have some, not the Tauri app.
    exec::run(&mut exec::cargo(&["bench", "--workspace", "--benches"]))?;
    // The app again on one core: the cheap tablet's case (#17).
    exec::run(exec::without_cargo_run_env(&mut exec::command(
        "taskset",
        [
            "-c",
            "0",
            "cargo",
            "bench",
            "-p",
            "fieldloop-tests",
            "--bench",
            "app",
        ],
    )))?;
    if repo::root().join(PHOTO_COMPARE).exists() {
        exec::run(&mut exec::command("bash", [PHOTO_COMPARE]))?;
    } else {
        println!("bench: {PHOTO_COMPARE} does not exist yet: no photo comparison");
    }
    // The load generator starts the server binary built beside it, in the
    // same profile, with `--demo` (so with the demo data compiled in).
    exec::run(&mut exec::cargo(&[
        "build",
        "--release",
        "-p",
        "fieldloop-server",
        "--features",
        "demo",
    ]))?;
    // Plain HTTP, then the same over HTTPS with a pinned key (and the
    // handshakes' cost), then on PostgreSQL with one and with two instances.
    for extra in [
        &[][..],
        &["--", "--tls"][..],
        &["--", "--postgres"][..],
        &["--", "--postgres", "--instances", "2"][..],
    ] {
        let args = [
            &[
                "run",
                "--release",
                "-p",
                "fieldloop-tests",
                "--bin",
                "loadgen",
            ][..],
            extra,
        ]
        .concat();
        exec::run(&mut exec::cargo(&args))?;
    }
    // A fresh tablet's first sync and the no-change check with a million
    // tasks in PostgreSQL, beside the squad's tasks alone.
    exec::run(&mut exec::cargo(&[
        "run",
        "--release",
        "-p",
        "fieldloop-tests",
        "--bin",
        "bigstore",
    ]))?;
    Ok(())
}
