//! The deterministic simulation (see `fieldloop_tests::sim`).
//!
//! - `SIM_SEED=<n>`: that one seed, with its outcome printed (the line a
//!   failing seed prints to reproduce it).
//! - `SIM_SEEDS=<n>`: seeds `0..n` (default [`DEFAULT_SEEDS`]; `cargo xtask
//!   test` runs a fixed sample, `cargo xtask soak --seeds N` as many as asked,
//!   in a release build) on `SIM_THREADS` threads (default: one per core);
//!   `SIM_FROM=<f>` starts at seed `f` instead (seeds `f..f+n`).

/// Seeds of a plain `cargo test`.
const DEFAULT_SEEDS: u64 = 100;

#[test]
fn replicas_converge_whatever_the_network_and_crashes_do() {
    if let Some(seed) = fieldloop_tests::env_number("SIM_SEED") {
        let outcome = fieldloop_tests::sim::run(seed);
        eprintln!("seed {seed}: {outcome:?}");
        return;
    }
    let seeds = fieldloop_tests::env_number("SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
    let threads = fieldloop_tests::env_number("SIM_THREADS").map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );
    let from = fieldloop_tests::env_number("SIM_FROM").unwrap_or(0);
    let totals = fieldloop_tests::sim::run_many(from..from.saturating_add(seeds), threads);
    eprintln!("sim: {totals}");
    eprintln!("sim: time per seed: {}", totals.profile_line());
    eprintln!("sim: crash points reached: {:?}", totals.points);
    assert_eq!(totals.seeds, seeds);
    // The storm really was one: messages were lost, duplicated, delivered
    // late and stale, processes restarted and crashed at crash points,
    // tablets joined.
    if seeds >= 100 {
        assert!(
            totals.lost > seeds && totals.restarts > seeds / 2,
            "{totals}"
        );
        assert!(totals.duplicates > 0 && totals.late > 0 && totals.stale > 0);
        assert!(
            totals.partitions > 0 && totals.crashes > seeds / 10,
            "{totals}"
        );
        // Tablets joined with empty stores (their first syncs take every
        // task whole, as stored after the storm's pushes).
        assert!(totals.joins > seeds / 10, "{totals}");
    }
}

/// The same seed runs the same way: a failure's seed reproduces it.
#[test]
fn a_seed_runs_the_same_way_twice() {
    // Seed 40 has a tablet join in its storm; 3 and 17 do not.
    for seed in [3, 17, 40] {
        let first = fieldloop_tests::sim::run(seed);
        assert_eq!(first.joins, u32::from(seed == 40), "seed {seed}");
        assert_eq!(first, fieldloop_tests::sim::run(seed));
    }
}

/// What a seed leaves to the next on its thread (the databases, copied
/// from the template again, and the open stores) changes nothing: a seed
/// run after others runs as it does on new databases.
#[test]
fn a_seed_runs_the_same_way_after_other_seeds() {
    fieldloop_tests::sim::forget_kept();
    let first = fieldloop_tests::sim::run(11);
    // Seed 40's joining tablet leaves an open store to the seeds after it;
    // seed 11's joins too.
    for seed in [4, 40, 6] {
        fieldloop_tests::sim::run(seed);
    }
    let after = fieldloop_tests::sim::run(11);
    fieldloop_tests::sim::forget_kept();
    assert_eq!(first.joins, 1);
    assert_eq!(first, after);
}

/// A failing seed stops the run and names itself with the line that
/// reproduces it.
#[test]
fn a_failing_seed_prints_its_reproduction() {
    fn fails_at_seven(seed: u64) -> fieldloop_tests::sim::Outcome {
        assert_ne!(seed, 7, "an invariant broke");
        fieldloop_tests::sim::Outcome {
            seed,
            ..Default::default()
        }
    }
    let failure =
        std::panic::catch_unwind(|| fieldloop_tests::sim::run_many_with(0..20, 2, fails_at_seven))
            .expect_err("seed 7 fails");
    let message = failure.downcast_ref::<String>().expect("a message").clone();
    assert!(message.contains("an invariant broke"), "{message}");
    assert!(
        message.contains(&fieldloop_tests::sim::reproduce(7)),
        "{message}"
    );
    assert!(message.contains("SIM_SEED=7 cargo test"), "{message}");
    // Where to go on from after the fix: every seed below 7 ran clean.
    assert!(
        message.contains("seeds 0..7 ran clean (to go on from there: --from 7 --seeds 13)"),
        "{message}"
    );
    assert_eq!(
        fieldloop_tests::sim::run_many_with(0..7, 2, fails_at_seven).seeds,
        7
    );
}

/// The mark a long soak goes on from never passes a seed that is still
/// running or failed, and moves past seeds as soon as all below them are done.
#[test]
fn the_clean_mark_waits_for_every_seed_below_it() {
    use fieldloop_tests::sim::SeedQueue;
    let queue = SeedQueue::new(10..14);
    assert_eq!(queue.clean_below(), 10);
    assert_eq!((queue.take(), queue.take()), (Some(10), Some(11)));
    queue.done(11);
    // 10 is still running.
    assert_eq!(queue.clean_below(), 10);
    queue.done(10);
    assert_eq!(queue.clean_below(), 12);
    // 12 fails (never done); 13 runs clean after it.
    assert_eq!((queue.take(), queue.take()), (Some(12), Some(13)));
    queue.done(13);
    assert_eq!(queue.take(), None);
    assert_eq!(queue.clean_below(), 12);
    // Nothing left, nothing running: the whole range.
    queue.done(12);
    assert_eq!(queue.clean_below(), 14);
}
