//! A province's store: sync against PostgreSQL holding a million tasks.
//!
//! Starts a throwaway PostgreSQL cluster and the real server router on a
//! loopback port (as the tests do), seeds the demo squad with
//! `--team-tasks` real tasks (default 1,000, made as the demo makes them),
//! then grows the database in bulk, in SQL, to `--tasks N` tasks (default
//! 1,000,000): the other tasks are copies of the squad's tasks' rows
//! (document, feed entry with its heads, codes, console index row) under
//! new ids, in other teams of 1,000 tasks each. Every table a sync reads
//! holds the rows it would in a province; the other teams' documents are
//! copies (their tablets are not simulated, so nothing reads them whole).
//!
//! Then, for a fresh tablet of the demo squad (the real tablet store and
//! sync client over HTTP): its first sync (every page of its team's tasks,
//! applied and indexed on the tablet), and `--checks` syncs with nothing
//! new (the no-change check) — median and slowest; last, the one statement
//! of PostgreSQL's V4 migration that rewrites every task row, timed on the
//! store and rolled back. The same run on a
//! database holding only the squad's tasks is the baseline, printed beside
//! it; figures also in `target/bench-bigstore.json`.
//!
//! `cargo run --release -p fieldloop-tests --bin bigstore -- [--tasks N]
//! [--team-tasks N] [--checks N]`

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use fieldloop_server::limits::Limits;
use fieldloop_server::store::postgres::AFTER_SNAPSHOT;
use fieldloop_server::store::postgres::cluster::TestCluster;
use fieldloop_tests::{Tablet, TestServer};

/// The fewest tasks of the squad.
const DEMO: usize = fieldloop_server::demo::DEMO_TASKS;
/// Tasks per team of the copies.
const TEAM_SIZE: usize = 1_000;
/// Rows copied per statement while growing the store.
const COPY_BATCH: usize = 50_000;

struct Options {
    tasks: usize,
    team_tasks: usize,
    checks: usize,
}

/// What `--help` prints, and an unknown argument's error after it.
const USAGE: &str = "usage: bigstore [options]
  --tasks N        tasks in the grown database (default 1000000, at most 10000000)
  --team-tasks N   the demo squad's real tasks (default 1000)
  --checks N       no-change syncs timed after the first sync (default 50)
Needs PostgreSQL's server binaries (`cargo xtask setup` installs them).";

fn parse() -> Result<Options> {
    let mut o = Options {
        tasks: 1_000_000,
        team_tasks: TEAM_SIZE,
        checks: 50,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || -> Result<usize> {
            let v = args
                .next()
                .with_context(|| format!("{flag} needs a value"))?;
            v.parse()
                .with_context(|| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--tasks" => o.tasks = value()?,
            "--team-tasks" => o.team_tasks = value()?,
            "--checks" => o.checks = value()?,
            "--bench" => {}
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    if o.team_tasks < DEMO || o.tasks < o.team_tasks || o.tasks > 10_000_000 || o.checks == 0 {
        bail!("need {DEMO} <= --team-tasks <= --tasks <= 10,000,000 and --checks >= 1");
    }
    Ok(o)
}

/// Copies numbered `from..to` of the tasks there were at the first call
/// (copy `g` of template `g % templates`), in team `T-BULK-<g / 1000>`,
/// each with a feed entry after the feed's end, codes and an index row of
/// its own.
fn copy_tasks(client: &mut postgres::Client, from: usize, to: usize) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "CREATE TEMP TABLE IF NOT EXISTS templates AS
             SELECT row_number() OVER (ORDER BY id) - 1 AS k, id FROM tasks;
         CREATE TEMP TABLE IF NOT EXISTS copies (g BIGINT, template TEXT, id TEXT, team TEXT);
         TRUNCATE copies;",
    )?;
    let (from, to) = (from as i64, to as i64);
    tx.execute(
        "INSERT INTO copies
         SELECT g, t.id, t.id || '-' || g, 'T-BULK-' || (g / $3)
         FROM generate_series($1::BIGINT, $2::BIGINT - 1) g
         JOIN templates t ON t.k = g % (SELECT count(*) FROM templates)",
        &[&from, &to, &(TEAM_SIZE as i64)],
    )?;
    // Each copy is its template's whole document, as a snapshot up to the
    // copy's own feed entry (numbered as the feed insert below numbers it).
    tx.batch_execute(&format!(
        "INSERT INTO tasks (id, team, doc, snapshot_seq)
             SELECT c.id, c.team, t.doc || after.bytes,
                    (SELECT feed_end FROM feed_state) + row_number() OVER (ORDER BY c.g)
             FROM copies c JOIN tasks t ON t.id = c.template, {AFTER_SNAPSHOT};
         INSERT INTO feed (seq, task_id, team, heads)
             SELECT (SELECT feed_end FROM feed_state) + row_number() OVER (ORDER BY c.g),
                    c.id, c.team,
                    (SELECT heads FROM feed WHERE task_id = c.template ORDER BY seq DESC LIMIT 1)
             FROM copies c;
         UPDATE feed_state SET feed_end = (SELECT max(seq) FROM feed);
         INSERT INTO task_codes (task_id, code, verify_code)
             SELECT c.id, k.code || '-' || c.g, k.verify_code || '-' || c.g
             FROM copies c JOIN task_codes k ON k.task_id = c.template;
"
    ))?;
    // The index row's columns but the generated ones, each as the
    // template's but for the id, code and team.
    let columns: Vec<String> = tx
        .query(
            "SELECT column_name FROM information_schema.columns
             WHERE table_name = 'task_index' AND is_generated = 'NEVER' ORDER BY ordinal_position",
            &[],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let values: Vec<String> = columns
        .iter()
        .map(|c| match c.as_str() {
            "task_id" => "c.id".to_owned(),
            "code" => "i.code || '-' || c.g".to_owned(),
            "team" => "c.team".to_owned(),
            other => format!("i.{other}"),
        })
        .collect();
    tx.batch_execute(&format!(
        "INSERT INTO task_index ({}) SELECT {} FROM copies c JOIN task_index i ON i.task_id = c.template",
        columns.join(", "),
        values.join(", ")
    ))?;
    tx.commit()?;
    Ok(())
}

/// The statement of PostgreSQL's V4 migration that rewrites every task
/// row (its `ALTER TABLE … DEFAULT 0` only changes the catalogue).
fn v4_backfill() -> &'static str {
    include_str!("../../sync-server/src/store/postgres/migrations/V4__task_snapshots.sql")
        .lines()
        .find(|line| line.starts_with("UPDATE tasks SET snapshot_seq"))
        .expect("V4 sets every task's snapshot_seq")
}

/// What one database size gave.
#[derive(Debug)]
struct Figures {
    tasks: i64,
    team_tasks: usize,
    first_sync: Duration,
    first_rounds: u32,
    checks: Vec<Duration>,
    /// [`v4_backfill`] on this store, as a store of V3 upgraded would run
    /// it (then rolled back).
    backfill: Duration,
}

impl Figures {
    fn check_ms(&self, p: f64) -> f64 {
        let mut sorted = self.checks.clone();
        sorted.sort();
        let i = ((sorted.len() - 1) as f64 * p).round() as usize;
        sorted[i].as_secs_f64() * 1e3
    }
}

fn measure(cluster: &TestCluster, options: &Options, total: usize) -> Result<Figures> {
    let database = cluster.create_database()?;
    let started = Instant::now();
    let server = TestServer::start_on(database.clone(), options.team_tasks, Limits::default());
    eprintln!(
        "bigstore: the squad's {} tasks made in {:.0} s",
        options.team_tasks,
        started.elapsed().as_secs_f64()
    );
    let mut client = postgres::Client::connect(&database, postgres::NoTls)?;
    let squad_team: String = client
        .query_one("SELECT team FROM tasks ORDER BY id LIMIT 1", &[])?
        .get(0);
    let copies = total - options.team_tasks;
    let started = Instant::now();
    let mut done = 0;
    while done < copies {
        let to = (done + COPY_BATCH).min(copies);
        copy_tasks(&mut client, done, to)?;
        done = to;
        if done % 200_000 < COPY_BATCH || done == copies {
            eprintln!(
                "bigstore: {done} of {copies} copies in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    client.batch_execute("ANALYZE")?;
    let tasks: i64 = client.query_one("SELECT count(*) FROM tasks", &[])?.get(0);
    let in_team: i64 = client
        .query_one("SELECT count(*) FROM tasks WHERE team = $1", &[&squad_team])?
        .get(0);
    anyhow::ensure!(
        tasks as usize == total && in_team as usize == options.team_tasks,
        "grew to {tasks} tasks, {in_team} in the squad's team"
    );

    // The squad's demo tasks are I-002's among others; a fresh tablet gets
    // every task of its team.
    let mut tablet = Tablet::enroll(&server, "I-002");
    let started = Instant::now();
    let report = tablet.sync().context("the fresh tablet's first sync")?;
    let first_sync = started.elapsed();
    let held = tablet
        .store
        .list_tasks(&fieldloop_tablet::store::TaskQuery {
            limit: Some(u32::try_from(options.team_tasks + 10)?),
            ..Default::default()
        })?
        .len();
    anyhow::ensure!(
        held == options.team_tasks,
        "the tablet holds {held} tasks, its team {}",
        options.team_tasks
    );
    let mut checks = Vec::with_capacity(options.checks);
    for _ in 0..options.checks {
        let started = Instant::now();
        let report = tablet.sync().context("a no-change sync")?;
        checks.push(started.elapsed());
        anyhow::ensure!(report.rounds == 1, "a no-change sync took {report:?}");
    }
    // Last, as it leaves a dead row version of every task behind.
    drop(tablet);
    drop(server);
    let mut tx = client.transaction()?;
    let started = Instant::now();
    let rows = tx.execute(v4_backfill(), &[])?;
    let backfill = started.elapsed();
    tx.rollback()?;
    anyhow::ensure!(
        rows == tasks as u64,
        "the backfill set {rows} of {tasks} tasks"
    );
    Ok(Figures {
        tasks,
        team_tasks: options.team_tasks,
        first_sync,
        first_rounds: report.rounds,
        checks,
        backfill,
    })
}

fn main() -> Result<()> {
    let options = parse()?;
    let cluster = TestCluster::start().context("PostgreSQL (cargo xtask setup installs it)")?;
    eprintln!(
        "bigstore: baseline, the squad's {} tasks alone",
        options.team_tasks
    );
    let baseline = measure(&cluster, &options, options.team_tasks)?;
    eprintln!("bigstore: growing a database to {} tasks", options.tasks);
    let big = measure(&cluster, &options, options.tasks)?;
    println!();
    println!(
        "{:>10} {:>10} {:>14} {:>7} {:>14} {:>14} {:>13}",
        "tasks",
        "team's",
        "first sync s",
        "rounds",
        "no-change p50",
        "no-change max",
        "V4 backfill s"
    );
    for f in [&baseline, &big] {
        println!(
            "{:>10} {:>10} {:>14.2} {:>7} {:>11.1} ms {:>11.1} ms {:>13.2}",
            f.tasks,
            f.team_tasks,
            f.first_sync.as_secs_f64(),
            f.first_rounds,
            f.check_ms(0.5),
            f.check_ms(1.0),
            f.backfill.as_secs_f64()
        );
    }
    let runs: Vec<serde_json::Value> = [&baseline, &big]
        .iter()
        .map(|f| {
            serde_json::json!({
                "tasks": f.tasks,
                "team_tasks": f.team_tasks,
                "first_sync_s": f.first_sync.as_secs_f64(),
                "first_sync_rounds": f.first_rounds,
                "no_change_p50_ms": f.check_ms(0.5),
                "no_change_max_ms": f.check_ms(1.0),
                "v4_backfill_s": f.backfill.as_secs_f64(),
            })
        })
        .collect();
    let json = serde_json::json!({ "runs": runs });
    let exe = std::env::current_exe()?;
    if let Some(target) = exe.parent().and_then(std::path::Path::parent) {
        let path = target.join("bench-bigstore.json");
        std::fs::write(&path, serde_json::to_string_pretty(&json)?)?;
        println!("figures written to {}", path.display());
    }
    Ok(())
}
