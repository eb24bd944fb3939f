//! `cargo xtask test`: everything CI checks, in CI's order, stopping at the
//! first failure and ending with a one-line summary of the steps' durations.

use std::env;
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::{bindings, exec, setup};

/// Proptest cases per property unless `PROPTEST_CASES` says otherwise.
const PROPTEST_CASES: &str = "256";

/// Runs every check, then prints the summary (also after a failure).
pub fn run() -> Result<()> {
    let mut steps = Steps::default();
    let result = run_steps(&mut steps);
    println!("{steps}");
    result
}

fn run_steps(steps: &mut Steps) -> Result<()> {
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
        exec::run(bindings::export_to_ui(&mut cmd))
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
