//! `cargo xtask`: Fieldloop's one entry point for developers and CI.
//!
//! Every subcommand prints the commands it runs and fails with context, so a
//! CI log reads the same as a local run. CI runs `.ci/run`, which is
//! `cargo xtask test` on a fresh machine.

mod bench;
mod bindings;
mod demo;
mod exec;
mod repo;
mod setup;
mod test;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Fieldloop's developer tasks; CI runs `cargo xtask test`.
#[derive(Debug, Parser)]
#[command(bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Install what this machine lacks (Debian packages, ui/node_modules,
    /// rustfmt and clippy); does nothing when all is present.
    Setup,
    /// Everything CI checks, in CI's order: UI build and tests, fmt, clippy,
    /// the bindings check, then the workspace tests.
    Test,
    /// Regenerate the TypeScript bindings in ui/src/bindings from the Rust types.
    Bindings,
    /// Start a demo sync server on 127.0.0.1:7878 and the tablet app against it.
    Demo,
    /// Run the Rust benchmarks, then scripts/photo-compare.sh if present.
    Bench,
    /// Run the deterministic sync simulation (lossy, duplicating,
    /// reordering network; partitions; restarts and crashes at crash points;
    /// skewed clocks) for seeds F..F+N in a release build, one thread per core;
    /// prints seeds/s and totals.
    Soak {
        /// How many seeds to run.
        #[arg(long, default_value_t = 10_000, conflicts_with = "seed")]
        seeds: u64,
        /// Run only this seed (the reproduction a failing seed prints).
        #[arg(long)]
        seed: Option<u64>,
        /// The first seed (so that a long soak can be run in parts:
        /// `--from 500000 --seeds 500000`). A run's progress lines and a
        /// failure name the seeds that ran clean and the `--from` to go on.
        #[arg(long, default_value_t = 0, conflicts_with = "seed")]
        from: u64,
        /// Threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Setup => setup::run(&[]),
        Task::Test => test::run(),
        Task::Bindings => bindings::regenerate(),
        Task::Demo => demo::run(),
        Task::Bench => bench::run(),
        Task::Soak {
            seeds,
            seed,
            from,
            threads,
        } => soak(seeds, seed, from, threads),
    }
}

/// `cargo xtask soak --seeds N [--from F]`: the simulation test in a
/// release build of the `soak` test binary (the simulation alone, which
/// links in less time than `it`) with `SIM_SEEDS=N` (seeds F..F+N,
/// `SIM_FROM=F`) on one thread per core (`SIM_THREADS`); `--seed S` runs
/// that one seed (`SIM_SEED=S`).
fn soak(seeds: u64, seed: Option<u64>, from: u64, threads: Option<usize>) -> Result<()> {
    let mut cmd = exec::cargo(&[
        "test",
        "--release",
        "-p",
        "fieldloop-tests",
        "--test",
        "soak",
        "simulation::replicas_converge",
        "--",
        "--nocapture",
    ]);
    match seed {
        Some(seed) => cmd.env("SIM_SEED", seed.to_string()),
        None => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            cmd.env("SIM_SEEDS", seeds.to_string())
                .env("SIM_FROM", from.to_string())
                .env("SIM_THREADS", threads.unwrap_or(cores).to_string())
        }
    };
    exec::run(&mut cmd)
}
