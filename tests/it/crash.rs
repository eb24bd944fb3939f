//! Nothing acknowledged is lost when the tablet process dies: a writer
//! process is SIGKILLed at arbitrary points (mid-edit, mid-compaction) and
//! the store is checked after each death.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use fieldloop_tablet::store::{Store, TaskQuery};

/// Every edit the writer acknowledged before it was killed.
fn run_until_killed(dir: &std::path::Path, first: i64, acks_before_kill: usize) -> Vec<i64> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_store-crash-writer"))
        .arg(dir)
        .arg(first.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn writer");
    let stdout = child.stdout.take().expect("stdout");
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        acked.push(line.parse::<i64>().expect("index"));
        if acked.len() >= acks_before_kill {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    acked
}

#[test]
fn sigkill_at_any_point_loses_no_acknowledged_edit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut next = 0;
    // Kill after varying numbers of acknowledged edits so deaths land at
    // different points of edits and compactions.
    for (round, acks) in [1usize, 7, 3, 13, 5, 21, 2, 9].into_iter().enumerate() {
        let acked = run_until_killed(dir.path(), next, acks);
        assert_eq!(acked.len(), acks, "round {round}: writer died early");
        let store = Store::open(dir.path()).expect("store reopens after SIGKILL");
        let id = store.list_tasks(&TaskQuery::default()).expect("list")[0]
            .id
            .clone();
        let task = store
            .open_task(&id)
            .expect("task loads after SIGKILL")
            .task()
            .expect("task");
        let present: Vec<i64> = task.trace.iter().map(|p| p.t).collect();
        for a in &acked {
            assert!(
                present.contains(a),
                "round {round}: acknowledged edit {a} lost; present {present:?}"
            );
        }
        // Edits are whole or absent, in order: no gaps, no duplicates.
        let expected: Vec<i64> = (0..present.len() as i64).collect();
        assert_eq!(present, expected, "round {round}");
        next = present.len() as i64;
    }
    assert!(next >= 61);
}
