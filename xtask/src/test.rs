//! `cargo xtask test`: everything CI checks, in CI's order, stopping at the
//! first failure and ending with a one-line summary of the steps' durations.

use std::env;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::{bindings, exec, repo, setup};

/// Proptest cases per property unless `PROPTEST_CASES` says otherwise.
const PROPTEST_CASES: &str = "256";
/// Simulation seeds unless `SIM_SEEDS` says otherwise: a fixed sample, well
/// under a minute in the debug test build on two cores (the soak, `cargo
/// xtask soak`, runs as many as asked in a release build).
const SIM_SEEDS: &str = "500";

/// The test binary `target` of `package` as `cargo test --workspace`
/// builds it (a no-op build when that already ran).
fn workspace_test_binary(package: &str, target: &str) -> Result<PathBuf> {
    let mut cmd = exec::cargo(&[
        "test",
        "--workspace",
        "--locked",
        "--no-run",
        "--message-format=json",
    ]);
    let json = exec::output(bindings::export_to_ui(&mut cmd))?;
    test_binary_in(&json, package, target).with_context(|| {
        format!("`cargo test --workspace --no-run` named no test binary {target} of {package}")
    })
}

/// Finds the test executable of `package`'s `target` in cargo's JSON messages.
fn test_binary_in(messages: &str, package: &str, target: &str) -> Option<PathBuf> {
    messages.lines().find_map(|line| {
        let message: serde_json::Value = serde_json::from_str(line).ok()?;
        let ours = message["reason"] == "compiler-artifact"
            && message["target"]["name"] == target
            && message["target"]["kind"] == serde_json::json!(["test"])
            && message["package_id"]
                .as_str()
                .is_some_and(|id| package_name(id) == Some(package));
        ours.then(|| message["executable"].as_str().map(PathBuf::from))
            .flatten()
    })
}

/// The package name in a cargo package id: `path+file:///r/tests#fieldloop-tests@0.1.0`,
/// or `path+file:///r/xtask#0.1.0` when the directory has the package's name.
fn package_name(id: &str) -> Option<&str> {
    let (path, rest) = id.rsplit_once('#')?;
    match rest.split_once('@') {
        Some((name, _version)) => Some(name),
        None => path.rsplit('/').next(),
    }
}

/// Runs every check, then prints the summary (also after a failure) and,
/// once the Rust tests ran, their total as a plain `N passed, N failed` line.
pub fn run() -> Result<()> {
    let mut steps = Steps::default();
    let mut tally = Tally::default();
    let result = run_steps(&mut steps, &mut tally);
    println!("{steps}");
    if tally.results > 0 {
        println!("tests: {} passed, {} failed", tally.passed, tally.failed);
    }
    result
}

/// The end-to-end test modules whose servers are `TestServer`s (the rest
/// open SQLite stores of their own: crash, power-cut and simulation tests;
/// the `instances` modules put theirs on PostgreSQL whatever the pass, so
/// the first pass runs them).
const TEST_SERVER_MODULES: &[&str] = &[
    "attacks::",
    "audit::",
    "claim::",
    "console",
    "draws::",
    "leads::",
    "paging::",
    "print::",
    "rectify::",
    "security::",
    "sync::",
];

/// Tests of those modules that open a SQLite store of their own rather
/// than a test server: the PostgreSQL pass would run them unchanged (the
/// paging property test alone took 350 s of that pass's 353 s).
const OWN_SQLITE_TESTS: &[&str] = &[
    "paging::every_device_ends_with_the_servers_heads_whatever_the_page_size",
    "paging::tasks_edited_in_turn_reach_a_returning_tablet_once_each",
];

/// The sum of cargo test's `test result:` lines.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    results: u32,
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Adds a line such as `test result: ok. 16 passed; 0 failed; 0 ignored; …`.
    fn add(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        let count = |word: &str| {
            rest.split(';')
                .find_map(|part| {
                    part.trim()
                        .trim_start_matches(|c: char| !c.is_ascii_digit())
                        .strip_suffix(word)
                })
                .and_then(|n| n.trim().parse::<u64>().ok())
        };
        if let (Some(passed), Some(failed)) = (count("passed"), count("failed")) {
            self.results += 1;
            self.passed += passed;
            self.failed += failed;
        }
    }
}

fn run_steps(steps: &mut Steps, tally: &mut Tally) -> Result<()> {
    steps.time("setup", || setup::run(&[]))?;
    // src-tauri embeds ui/dist when it compiles: build the UI before any cargo build.
    steps.time("ui build", || exec::run(&mut exec::npm(&["run", "build"])))?;
    // CI=true keeps vitest from watching when run from a terminal.
    steps.time("ui test", || {
        exec::run(exec::npm(&["test"]).env("CI", "true"))
    })?;
    steps.time("fmt", || {
        exec::run(&mut exec::cargo(&["fmt", "--all", "--", "--check"]))
    })?;
    steps.time("clippy", || {
        exec::run(&mut exec::cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            // Not among `--all-targets` (`test = false`: `cargo test` does
            // not build it), but `cargo xtask soak` does.
            "--test",
            "soak",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The crates as they ship: without the `demo` feature the tests turn on.
    steps.time("clippy (shipped)", || {
        exec::run(&mut exec::cargo(&[
            "clippy",
            "-p",
            "fieldloop-core",
            "-p",
            "fieldloop-tablet",
            "-p",
            "fieldloop-server",
            "-p",
            "fieldloop-app",
            "--lib",
            "--bins",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // Compiles every test target, so the next step only runs them.
    steps.time("bindings", bindings::check)?;
    steps.time("cargo test", || {
        let mut cmd = exec::cargo(&["test", "--workspace", "--locked"]);
        if env::var_os("PROPTEST_CASES").is_none() {
            cmd.env("PROPTEST_CASES", PROPTEST_CASES);
        }
        if env::var_os("SIM_SEEDS").is_none() {
            cmd.env("SIM_SEEDS", SIM_SEEDS);
        }
        exec::run_watching(bindings::export_to_ui(&mut cmd), |line| tally.add(line))
    })?;
    // The end-to-end tests again with every test server's records in
    // PostgreSQL (a fresh database each, on one throwaway cluster per test
    // process), but for those that edit the SQLite file by hand.
    steps.time("cargo test (PostgreSQL)", || {
        // The binary `cargo test --workspace` built: `cargo test -p
        // fieldloop-tests` would resolve the dependencies' features for
        // that one package and build much of the tree a second time.
        let binary = workspace_test_binary("fieldloop-tests", "it")?;
        let mut cmd = Command::new(binary);
        cmd.current_dir(repo::root().join("tests"));
        cmd.args(TEST_SERVER_MODULES);
        for test in OWN_SQLITE_TESTS {
            cmd.args(["--skip", test]);
        }
        cmd.env("FIELDLOOP_TEST_STORE", "postgres");
        if env::var_os("PROPTEST_CASES").is_none() {
            cmd.env("PROPTEST_CASES", PROPTEST_CASES);
        }
        if env::var_os("SIM_SEEDS").is_none() {
            cmd.env("SIM_SEEDS", SIM_SEEDS);
        }
        exec::run_watching(&mut cmd, |line| tally.add(line))
    })?;
    // A second client of the sync protocol, written from docs/ alone, against
    // the server binary `cargo test` built.
    steps.time("conformance", || {
        exec::run(exec::npm_in(&repo::conformance(), &["test"]).env("CI", "true"))
    })
}

/// The steps run so far, how long each took, and whether it failed.
#[derive(Debug, Default)]
struct Steps(Vec<(&'static str, Duration, bool)>);

impl Steps {
    /// Runs `step` as `name`, recording its duration and outcome.
    fn time(&mut self, name: &'static str, step: impl FnOnce() -> Result<()>) -> Result<()> {
        let started = Instant::now();
        let result = step();
        self.0.push((name, started.elapsed(), result.is_ok()));
        result
    }
}

impl fmt::Display for Steps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: Duration = self.0.iter().map(|(_, took, _)| *took).sum();
        let ok = self.0.iter().all(|(_, _, ok)| *ok);
        write!(f, "xtask test {}:", if ok { "passed" } else { "FAILED" })?;
        for (name, took, ok) in &self.0 {
            let failed = if *ok { "" } else { " (failed)" };
            write!(f, " {name} {}{failed},", exec::seconds(*took))?;
        }
        write!(f, " total {}", exec::seconds(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postgresql_pass_finds_the_test_binary_the_workspace_build_made() {
        let messages = [
            r#"{"reason":"compiler-artifact","package_id":"path+file:///r/core#fieldloop-core@0.1.0","manifest_path":"/r/core/Cargo.toml","target":{"kind":["test"],"name":"it"},"executable":"/r/target/debug/deps/it-core"}"#,
            r#"{"reason":"compiler-artifact","package_id":"path+file:///r/tests#fieldloop-tests@0.1.0","manifest_path":"/r/tests/Cargo.toml","target":{"kind":["lib"],"name":"fieldloop_tests"},"executable":null}"#,
            r#"{"reason":"compiler-artifact","package_id":"path+file:///r/tests#fieldloop-tests@0.1.0","manifest_path":"/r/tests/Cargo.toml","target":{"kind":["test"],"name":"it"},"executable":"/r/target/debug/deps/it-tests"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            test_binary_in(&messages, "fieldloop-tests", "it"),
            Some(PathBuf::from("/r/target/debug/deps/it-tests"))
        );
        assert_eq!(
            test_binary_in(&messages, "fieldloop-core", "it"),
            Some(PathBuf::from("/r/target/debug/deps/it-core"))
        );
        assert_eq!(test_binary_in(&messages, "fieldloop-tests", "e2e"), None);
        assert_eq!(package_name("path+file:///r/xtask#0.1.0"), Some("xtask"));
    }

    #[test]
    fn tally_sums_cargo_test_result_lines() {
        let mut tally = Tally::default();
        tally.add("test result: ok. 16 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        tally.add("running 3 tests");
        tally.add("test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s");
        assert_eq!(
            tally,
            Tally {
                results: 2,
                passed: 18,
                failed: 1
            }
        );
    }

    #[test]
    fn summary_is_one_line_with_each_step_and_the_total() {
        let steps = Steps(vec![
            ("fmt", Duration::from_millis(300), true),
            ("clippy", Duration::from_millis(41_240), false),
        ]);
        assert_eq!(
            steps.to_string(),
            "xtask test FAILED: fmt 0.3s, clippy 41.2s (failed), total 41.5s"
        );
    }
}
