//! A crash at every write point, abort mode: for each crash point of the
//! tablet and the server, a child process (this test binary, re-executed
//! on [`scenario_child`]) runs one scenario and aborts at the point; the
//! parent reopens both stores and checks that nothing acknowledged is
//! lost, nothing half-written is visible and the next reliable sync
//! converges. See `fieldloop_tests::crash_points` and docs/design.md
//! ("Crash points").

use std::collections::BTreeSet;

use fieldloop_tests::crash_points::{all_points, check, prepare, run_child};

/// The test the children run.
const CHILD: &str = "crash_points::scenario_child";

/// A real JPEG for the photo pipeline, noisy enough to be larger than one
/// upload chunk (`fieldloop_tablet::upload::CHUNK_BYTES`), so an upload is
/// also cut between two chunks.
fn jpeg() -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let img = image::RgbImage::from_fn(600, 450, |_, _| {
        // xorshift: noise compresses badly.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

/// Not a test of its own: the scenario a parent runs in a child process
/// (does nothing unless the parent set `FIELDLOOP_CRASH_DIR`).
#[test]
fn scenario_child() {
    fieldloop_tests::crash_points::child(&jpeg());
}

#[test]
fn the_scenario_reaches_every_crash_point_and_converges() {
    let dir = tempfile::tempdir().expect("tempdir");
    prepare(dir.path());
    let started = std::time::Instant::now();
    let run = run_child(CHILD, dir.path(), None);
    eprintln!(
        "crash points: the scenario without a crash: {:.2} s, photo {} bytes",
        started.elapsed().as_secs_f64(),
        jpeg().len()
    );
    assert!(run.has("done"), "the scenario ran to its end: {run:?}");
    let listed: BTreeSet<&str> = all_points().into_iter().collect();
    let reached: BTreeSet<&str> = run.hits.keys().map(String::as_str).collect();
    let missed: Vec<_> = listed.difference(&reached).collect();
    assert!(
        missed.is_empty(),
        "points the scenario never reaches: {missed:?}"
    );
    let unlisted: Vec<_> = reached.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "points reached but missing from CRASH_POINTS: {unlisted:?}"
    );
    // Three files, the original in several chunks: an upload is also cut
    // between two chunks of one file.
    assert!(
        run.hits["server.upload.chunk_written"] > run.hits["server.upload.created"],
        "the photo spans several upload chunks: {:?}",
        run.hits
    );
    let bad = check(dir.path(), &run);
    assert!(bad.is_empty(), "without a crash: {bad:#?}");
}

/// Points reached this often are also crashed at their middle hit.
const MIDDLE_FROM: u32 = 4;

/// Children the abort suite runs at once: one per core, within these
/// bounds (each also waits on its own fsyncs and sockets).
const PARALLEL_CHILDREN: std::ops::RangeInclusive<usize> = 2..=4;

/// Runs the scenario aborting at `at` (`<point>#<hit>`) and checks what it
/// left; each problem found as a sentence.
fn abort_at(at: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    prepare(dir.path());
    let run = run_child(CHILD, dir.path(), Some(at));
    if run.crashed_at.as_deref() != Some(at) || !run.aborted {
        let stderr = std::fs::read_to_string(dir.path().join("child.stderr")).unwrap_or_default();
        return vec![format!(
            "{at}: the child did not abort there ({}, at {:?}); its stderr: {stderr}",
            run.status, run.crashed_at
        )];
    }
    check(dir.path(), &run)
        .into_iter()
        .map(|problem| format!("{at}: {problem}"))
        .collect()
}

#[test]
fn an_abort_at_any_crash_point_loses_nothing_acknowledged() {
    // CRASH_POINTS_ONLY=<part of a name>: only those points (to debug one).
    let only = std::env::var("CRASH_POINTS_ONLY").unwrap_or_default();
    let started = std::time::Instant::now();
    // How often the scenario reaches each point: each point is crashed at
    // its first hit and, where there are more, at its last (a later state:
    // the refused edit's sync, the last upload) and, from MIDDLE_FROM hits,
    // its middle one (a chunk between two others, a trace edit);
    // CRASH_POINTS_EVERY_HIT=1 crashes at every hit.
    let counts = {
        let dir = tempfile::tempdir().expect("tempdir");
        prepare(dir.path());
        run_child(CHILD, dir.path(), None).hits
    };
    let every = std::env::var_os("CRASH_POINTS_EVERY_HIT").is_some();
    let mut targets = Vec::new();
    for point in all_points()
        .into_iter()
        .filter(|p| p.contains(only.as_str()))
    {
        let last = counts.get(point).copied().unwrap_or(1);
        let mut hits = if every {
            (1..=last).collect()
        } else if last >= MIDDLE_FROM {
            vec![1, last.div_ceil(2), last]
        } else {
            vec![1, last]
        };
        hits.dedup();
        targets.extend(hits.into_iter().map(|hit| format!("{point}#{hit}")));
    }
    let workers = std::thread::available_parallelism()
        .map_or(*PARALLEL_CHILDREN.start(), |n| n.get())
        .clamp(*PARALLEL_CHILDREN.start(), *PARALLEL_CHILDREN.end());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(at) =
                    targets.get(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
                {
                    let found = abort_at(at);
                    failures.lock().expect("lock").extend(found);
                }
            });
        }
    });
    let failures = failures.into_inner().expect("lock");
    eprintln!(
        "crash points: {} points, {} aborts, in {:.1} s",
        all_points().len(),
        targets.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
