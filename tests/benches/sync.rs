//! Wire cost of sync against the real server on a loopback port, with a
//! real tablet store: a fresh tablet receiving every task of its squad, a
//! no-change check of those tasks, and one sync after three edits on each
//! of 1,000 tasks, then a second tablet receiving those 1,000 changed tasks,
//! and a third receiving every task whole after 200 of them took eight more
//! pushes each (stored on the server as a snapshot with runs of changes).
//! Measures round trips and bytes against the goals of the sync issue, and
//! the time the receiving tablet itself spends (issue #17); prints a table and writes
//! `target/bench-sync.json`.
//!
//! Bytes are counted twice: the CBOR bodies the sync client reports, and
//! every byte of HTTP (headers included) through a counting TCP relay
//! between the tablet and the server. The goals are judged on HTTP bytes.
//!
//! `cargo bench -p fieldloop-tests --bench sync`, or `cargo xtask bench`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use fieldloop_core::demo::DemoData;
use fieldloop_core::{ChangeHash, Outcome};
use fieldloop_tablet::store::TaskQuery;
use fieldloop_tablet::sync::{SyncReport, keys};
use fieldloop_tests::{NOW, Tablet, TestServer};

/// The tablet's inspector; any squad member would do.
const INSPECTOR: &str = "I-001";
/// Tasks the inspector edits, three edits each.
const EDITED: usize = 1_000;

const GOAL_FRESH_RATIO: f64 = 1.05;
const GOAL_QUIET_ROUNDS: u32 = 1;
const GOAL_QUIET_BYTES: u64 = 2_000;
const GOAL_EDIT_RATIO: f64 = 1.15;
const GOAL_EDIT_ROUNDS: u32 = 2;
/// Tasks answered again `PUSHES` times, one answer and one sync each, before
/// a third tablet receives every task whole.
const REVISITED: usize = 200;
const PUSHES: u32 = 8;
/// Issue #17: the tablet's own time to take in 1,000 changed tasks.
const GOAL_PULL_TABLET_SECONDS: f64 = 2.0;

/// Bytes relayed towards the server and back.
#[derive(Debug, Default)]
struct Counters {
    up: AtomicU64,
    down: AtomicU64,
}

/// A TCP relay on a loopback port that counts every byte it forwards.
#[derive(Debug)]
struct Relay {
    url: String,
    counters: Arc<Counters>,
}

impl Relay {
    /// Relays to the server at `target` (`http://host:port`) until the
    /// benchmark exits.
    fn start(target: &str) -> Self {
        let target = target.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay bind");
        let url = format!("http://{}", listener.local_addr().expect("relay address"));
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                let (up, down) = (shared.clone(), shared.clone());
                std::thread::spawn(move || pipe(client, server, &up.up));
                std::thread::spawn(move || pipe(server2, client2, &down.down));
            }
        });
        Self { url, counters }
    }

    /// (bytes sent to the server, bytes received from it) since the last call.
    fn take(&self) -> (u64, u64) {
        (
            self.counters.up.swap(0, Ordering::SeqCst),
            self.counters.down.swap(0, Ordering::SeqCst),
        )
    }
}

/// Copies `from` to `to`, counting each read before forwarding it: once
/// the other side has seen a byte, it has been counted.
fn pipe(mut from: TcpStream, mut to: TcpStream, counter: &AtomicU64) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                counter.fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// What one sync cost.
#[derive(Debug, Default, Clone)]
struct Cost {
    rounds: u32,
    body_sent: u64,
    body_received: u64,
    http_sent: u64,
    http_received: u64,
    seconds: f64,
}

impl Cost {
    fn of(report: &SyncReport, http: (u64, u64), started: Instant) -> Self {
        Self {
            rounds: report.rounds,
            body_sent: report.bytes_sent,
            body_received: report.bytes_received,
            http_sent: http.0,
            http_received: http.1,
            seconds: started.elapsed().as_secs_f64(),
        }
    }

    fn body(&self) -> u64 {
        self.body_sent + self.body_received
    }

    fn http(&self) -> u64 {
        self.http_sent + self.http_received
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "round_trips": self.rounds,
            "body_bytes_sent": self.body_sent,
            "body_bytes_received": self.body_received,
            "http_bytes_sent": self.http_sent,
            "http_bytes_received": self.http_received,
            "seconds": self.seconds,
        })
    }
}

/// How many of the first demo tasks the server needs so that `INSPECTOR`
/// is on `EDITED` of them (the squad's tasks name two or three of its five
/// members each).
fn tasks_needed() -> usize {
    let data = DemoData::embedded().expect("demo data");
    let specs = data.task_specs(4 * EDITED, NOW).expect("task specs");
    let mut on = 0;
    for (n, spec) in specs.iter().enumerate() {
        if spec.inspectors.iter().any(|i| i == INSPECTOR) {
            on += 1;
            if on == EDITED {
                return n + 1;
            }
        }
    }
    panic!(
        "{INSPECTOR} is on fewer than {EDITED} of {} tasks",
        specs.len()
    );
}

/// A tablet of `INSPECTOR` enrolled and synced for the first time through
/// the relay: its report, and what the sync cost.
fn fresh_tablet(server: &TestServer, relay: &Relay) -> (Tablet, SyncReport, Cost) {
    let mut tablet = Tablet::enroll(server, INSPECTOR);
    tablet
        .store
        .set_setting(keys::SERVER, &relay.url)
        .expect("point the tablet at the relay");
    relay.take();
    let t = Instant::now();
    let report = tablet.sync().expect("a fresh tablet's first sync");
    let cost = Cost::of(&report, relay.take(), t);
    (tablet, report, cost)
}

/// The bytes of `ids` saved whole from `tablet`'s copies.
fn saved_bytes(tablet: &mut Tablet, ids: &[String]) -> u64 {
    ids.iter()
        .map(|id| tablet.store.open_task(id).expect("open").save().len() as u64)
        .sum()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn ratio(bytes: u64, base: u64) -> f64 {
    bytes as f64 / base.max(1) as f64
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            tests.parent().unwrap_or(&tests).join("target")
        })
}

fn main() {
    let started = Instant::now();
    let server = TestServer::start_demo();
    let wanted = tasks_needed();
    let created =
        fieldloop_server::demo::seed_tasks(server.store.as_ref(), wanted, NOW).expect("seed tasks");
    eprintln!(
        "sync bench: {wanted} squad tasks on the server ({created} created in {:.1} s)",
        started.elapsed().as_secs_f64()
    );

    let relay = Relay::start(&server.url);

    // 1. A fresh tablet receives every task of its squad.
    let (mut tablet, report, fresh) = fresh_tablet(&server, &relay);
    let ids: Vec<String> = tablet
        .store
        .list_tasks(&TaskQuery {
            limit: Some(10_000),
            ..Default::default()
        })
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    let received = ids.len();
    assert_eq!(report.added, received, "{report:?}");
    let snapshots = saved_bytes(&mut tablet, &ids);

    // A second tablet of the squad, up to date before the edits below; it
    // later receives them (scenario 4).
    let mut other = Tablet::enroll(&server, INSPECTOR);
    let t = Instant::now();
    let other_fresh = other.sync().expect("second tablet's first sync");
    let other_fresh_seconds = t.elapsed().as_secs_f64();
    assert_eq!(other_fresh.added, received, "{other_fresh:?}");

    // 2. Nothing changed: one cheap round trip.
    let t = Instant::now();
    let report = tablet.sync().expect("no-change sync");
    let quiet = Cost::of(&report, relay.take(), t);

    // 3. Three edits on each of 1,000 tasks the inspector is on, one sync.
    let who = tablet.author();
    let mut before: BTreeMap<String, Vec<ChangeHash>> = BTreeMap::new();
    for id in &ids {
        let mut doc = tablet.store.open_task(id).expect("open");
        let task = doc.task().expect("task");
        if task.inspectors.contains(&who.person) {
            before.insert(id.clone(), doc.heads());
            if before.len() == EDITED {
                break;
            }
        }
    }
    let t = Instant::now();
    for id in before.keys() {
        let items = tablet.item_ids(id);
        let (first, last) = (&items[0], &items[items.len() - 1]);
        let store = &mut tablet.store;
        store
            .edit(id, NOW, |d| d.check_in(&who, NOW, None))
            .expect("check in");
        store
            .edit(id, NOW + 60_000, |d| {
                d.record_answer(&who, NOW + 60_000, first, Some(Outcome::Pass), None, None)
            })
            .expect("answer");
        store
            .edit(id, NOW + 120_000, |d| {
                d.record_answer(
                    &who,
                    NOW + 120_000,
                    last,
                    None,
                    None,
                    Some("消防通道堆放杂物，已当场提醒整改"),
                )
            })
            .expect("note");
    }
    let editing = t.elapsed().as_secs_f64();
    let deltas: u64 = before
        .iter()
        .map(|(id, heads)| {
            let mut doc = tablet.store.open_task(id).expect("open");
            doc.save_after(heads).len() as u64
        })
        .sum();
    relay.take();
    let t = Instant::now();
    let report = tablet
        .sync()
        .unwrap_or_else(|e| panic!("sync after the edits: {e} ({})", e.code()));
    let edits = Cost::of(&report, relay.take(), t);
    assert!(tablet.store.dirty_tasks().expect("dirty").is_empty());
    for id in before.keys() {
        assert_eq!(
            server.task(id).heads(),
            tablet.store.open_task(id).expect("open").heads(),
            "the server holds every edit of {id}"
        );
    }

    // 4. The other tablet receives the 1,000 changed tasks: the time the
    // tablet itself spends (decoding, applying, updating its index).
    let t = Instant::now();
    let pulled = other.sync().expect("the other tablet's sync");
    let pulled_seconds = t.elapsed().as_secs_f64();
    assert_eq!(pulled.updated, before.len(), "{pulled:?}");
    for id in before.keys() {
        assert_eq!(
            server.task(id).heads(),
            other.store.open_task(id).expect("open").heads(),
            "the other tablet holds every edit of {id}"
        );
    }
    let pulled_tablet = pulled.tablet_micros as f64 / 1e6;

    // 5. Visits go on: `REVISITED` of the edited tasks take one more answer
    // and a sync, `PUSHES` times over, so the server holds each as a
    // snapshot with runs of changes appended. A tablet that never had them
    // then receives them whole.
    let revisited: Vec<String> = before.keys().take(REVISITED).cloned().collect();
    for round in 0..PUSHES {
        let at = NOW + 3_600_000 + i64::from(round) * 60_000;
        for id in &revisited {
            let items = tablet.item_ids(id);
            let item = items[round as usize % items.len()].clone();
            tablet
                .store
                .edit(id, at, |d| {
                    d.record_answer(
                        &who,
                        at,
                        &item,
                        Some(Outcome::Pass),
                        None,
                        Some("复查：已整改"),
                    )
                })
                .expect("answer");
        }
        tablet.sync().expect("sync of one more answer");
    }
    let stored: u64 = revisited
        .iter()
        .map(|id| {
            let task = server.store.task(id).expect("read").expect("task");
            task.doc.len() as u64
        })
        .sum();
    let saved: u64 = revisited
        .iter()
        .map(|id| server.task(id).save().len() as u64)
        .sum();
    let (mut third, report, late) = fresh_tablet(&server, &relay);
    assert_eq!(report.added, received, "{report:?}");
    let late_snapshots = saved_bytes(&mut third, &ids);
    for id in &revisited {
        assert_eq!(
            server.task(id).heads(),
            third.store.open_task(id).expect("open").heads(),
            "the third tablet holds every answer of {id}"
        );
    }

    // The table.
    let fresh_ratio = ratio(fresh.http(), snapshots);
    let edit_ratio = ratio(edits.http(), deltas);
    let fresh_ok = fresh_ratio <= GOAL_FRESH_RATIO;
    let late_ratio = ratio(late.http(), late_snapshots);
    let late_ok = late_ratio <= GOAL_FRESH_RATIO;
    let quiet_ok = quiet.rounds == GOAL_QUIET_ROUNDS && quiet.http() <= GOAL_QUIET_BYTES;
    let edits_ok = edit_ratio <= GOAL_EDIT_RATIO && edits.rounds <= GOAL_EDIT_ROUNDS;
    let n = before.len();
    println!();
    println!(
        "Sync wire cost: tablet of {INSPECTOR}, real server on loopback, {received} squad tasks on the tablet, {n} of them edited"
    );
    println!(
        "{:<34} {:<30} {:>12} {:>12} {:>10}  result",
        "scenario", "measure", "HTTP", "bodies", "goal"
    );
    let row = |scenario: &str, measure: &str, http: String, body: String, goal: &str, ok: &str| {
        println!("{scenario:<34} {measure:<30} {http:>12} {body:>12} {goal:>10}  {ok}");
    };
    row(
        &format!("fresh tablet, {received} tasks"),
        "bytes ÷ Σ save()",
        format!("{fresh_ratio:.4}"),
        format!("{:.4}", ratio(fresh.body(), snapshots)),
        "≤ 1.05",
        verdict(fresh_ok),
    );
    row(
        "",
        "bytes / Σ save()",
        fresh.http().to_string(),
        format!("{} / {snapshots}", fresh.body()),
        "",
        "",
    );
    row(
        "",
        "round trips",
        fresh.rounds.to_string(),
        String::new(),
        "",
        "",
    );
    row(
        &format!("no-change check, {received} tasks"),
        "round trips",
        quiet.rounds.to_string(),
        String::new(),
        "1",
        verdict(quiet.rounds == GOAL_QUIET_ROUNDS),
    );
    row(
        "",
        "bytes",
        quiet.http().to_string(),
        quiet.body().to_string(),
        "≤ 2000",
        verdict(quiet.http() <= GOAL_QUIET_BYTES),
    );
    row(
        &format!("3 edits × {n} tasks, one sync"),
        "bytes ÷ Σ save_after(before)",
        format!("{edit_ratio:.4}"),
        format!("{:.4}", ratio(edits.body(), deltas)),
        "≤ 1.15",
        verdict(edit_ratio <= GOAL_EDIT_RATIO),
    );
    row(
        "",
        "bytes / Σ save_after",
        edits.http().to_string(),
        format!("{} / {deltas}", edits.body()),
        "",
        "",
    );
    row(
        "",
        "round trips",
        edits.rounds.to_string(),
        String::new(),
        "≤ 2",
        verdict(edits.rounds <= GOAL_EDIT_ROUNDS),
    );
    row(
        &format!("{n} changed tasks received"),
        "tablet-side time (s)",
        format!("{pulled_tablet:.3}"),
        String::new(),
        "≤ 2",
        verdict(pulled_tablet <= GOAL_PULL_TABLET_SECONDS),
    );
    row(
        "",
        "whole sync (s) / round trips",
        format!("{pulled_seconds:.3}"),
        pulled.rounds.to_string(),
        "",
        "",
    );
    row(
        &format!("fresh tablet, {received} tasks"),
        "tablet-side time (s)",
        format!("{:.3}", other_fresh.tablet_micros as f64 / 1e6),
        format!("{other_fresh_seconds:.3}"),
        "",
        "",
    );
    row(
        &format!("fresh tablet, {PUSHES} pushes × {REVISITED}"),
        "bytes ÷ Σ save()",
        format!("{late_ratio:.4}"),
        format!("{:.4}", ratio(late.body(), late_snapshots)),
        "≤ 1.05",
        verdict(late_ok),
    );
    row(
        "",
        "those tasks stored ÷ saved",
        format!("{:.4}", ratio(stored, saved)),
        format!("{stored} / {saved}"),
        "",
        "",
    );
    row(
        "",
        "round trips / seconds",
        late.rounds.to_string(),
        format!("{:.3}", late.seconds),
        "",
        "",
    );
    let per_task = |bytes: u64| bytes as f64 / n.max(1) as f64;
    let framing_up = per_task(edits.body_sent.saturating_sub(deltas));
    let answer_down = per_task(edits.body_received);
    let headers = (edits.http() - edits.body()) as f64 / f64::from(edits.rounds.max(1));
    println!(
        "per edited task: {:.0} B of changes, {framing_up:.0} B of request framing (id, heads, keys), {answer_down:.0} B of answer (acks, or id, heads, flags); HTTP headers {headers:.0} B per round trip",
        per_task(deltas)
    );
    println!(
        "(fresh sync {:.1} s, no-change {:.3} s, {} edits {editing:.1} s, edit sync {:.1} s; HTTP counts every byte through a relay, bodies are the CBOR messages)",
        fresh.seconds,
        quiet.seconds,
        3 * n,
        edits.seconds
    );

    let json = serde_json::json!({
        "inspector": INSPECTOR,
        "tasks_on_tablet": received,
        "fresh": {
            "tasks": received,
            "cost": fresh.json(),
            "sum_snapshot_bytes": snapshots,
            "ratio_http": fresh_ratio,
            "ratio_body": ratio(fresh.body(), snapshots),
            "goal_ratio": GOAL_FRESH_RATIO,
            "ok": fresh_ok,
        },
        "no_change": {
            "tasks": received,
            "cost": quiet.json(),
            "goal_round_trips": GOAL_QUIET_ROUNDS,
            "goal_bytes": GOAL_QUIET_BYTES,
            "ok": quiet_ok,
        },
        "fresh_after_pushes": {
            "tasks": received,
            "revisited": REVISITED,
            "pushes_each": PUSHES,
            "cost": late.json(),
            "sum_snapshot_bytes": late_snapshots,
            "ratio_http": late_ratio,
            "ratio_body": ratio(late.body(), late_snapshots),
            "goal_ratio": GOAL_FRESH_RATIO,
            "ok": late_ok,
            "revisited_stored_bytes": stored,
            "revisited_saved_bytes": saved,
        },
        "received_changes": {
            "tasks": before.len(),
            "rounds": pulled.rounds,
            "seconds": pulled_seconds,
            "tablet_seconds": pulled_tablet,
            "goal_tablet_seconds": GOAL_PULL_TABLET_SECONDS,
            "ok": pulled_tablet <= GOAL_PULL_TABLET_SECONDS,
            "fresh_tablet_seconds": other_fresh.tablet_micros as f64 / 1e6,
            "fresh_seconds": other_fresh_seconds,
        },
        "edits": {
            "tasks": n,
            "edits_per_task": 3,
            "cost": edits.json(),
            "sum_save_after_bytes": deltas,
            "ratio_http": edit_ratio,
            "ratio_body": ratio(edits.body(), deltas),
            "goal_ratio": GOAL_EDIT_RATIO,
            "goal_round_trips": GOAL_EDIT_ROUNDS,
            "ok": edits_ok,
            "per_task_change_bytes": per_task(deltas),
            "per_task_request_framing_bytes": framing_up,
            "per_task_answer_bytes": answer_down,
            "http_header_bytes_per_round_trip": headers,
        },
    });
    let path = target_dir().join("bench-sync.json");
    match serde_json::to_string_pretty(&json)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&path, text))
    {
        Ok(()) => println!("figures written to {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
}
