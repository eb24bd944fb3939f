//! One hostile client against the real server binary while ordinary
//! tablets keep syncing: every attack is refused with its code (or cut
//! off), `/healthz` answers throughout, the server's memory stays under a
//! bound and the ordinary tablets' syncs stay quick. Bounded in time and
//! count, loopback only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::ReadDoc;
use automerge::transaction::{CommitOptions, Transactable};
use fieldloop_core::sync::{self as wire, DocPush, SyncRequest};
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_tablet::store::{Store as TabletStore, TaskQuery};
use fieldloop_tablet::sync::{Enrollment, HttpTransport, enroll, sync_now};
use fieldloop_tests::NOW;
use fieldloop_tests::process::ServerProcess;
use serde_bytes::ByteBuf;

/// The server's memory may not pass this while it is attacked.
const RSS_BOUND: u64 = 256 * 1024 * 1024;
/// Header timeout the server runs with here (seconds).
const HEADER_TIMEOUT: u64 = 2;

struct Client {
    store: TabletStore,
    enrollment: Enrollment,
    _dir: tempfile::TempDir,
}

fn enrolled(server: &ServerProcess, data: &std::path::Path, person: &str) -> Client {
    let code = {
        let store = SqliteStore::open(data).expect("store");
        fieldloop_server::enroll::issue_code(&store, person, fieldloop_server::now_ms(), 3_600_000)
            .expect("code")
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = TabletStore::open(dir.path()).expect("tablet");
    let enrollment = enroll(&mut store, &server.url, &code, "平板").expect("enroll");
    let transport = HttpTransport::from_store(&store).expect("transport");
    sync_now(&mut store, &transport, NOW, |_| {}).expect("first sync");
    Client {
        store,
        enrollment,
        _dir: dir,
    }
}

/// A task of the client's inspector.
fn own_task(c: &Client) -> String {
    c.store
        .list_tasks(&TaskQuery {
            limit: Some(100),
            ..Default::default()
        })
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .find(|id| {
            c.store
                .open_task(id)
                .expect("open")
                .task()
                .expect("task")
                .inspectors
                .contains(&c.enrollment.person)
        })
        .expect("a task")
}

/// Posts a sync body pushing `changes` for `id`; the status and JSON code.
fn push(server: &ServerProcess, c: &Client, id: &str, changes: Vec<u8>) -> (u16, String) {
    let heads = c.store.open_task(id).expect("open").heads();
    let body = wire::encode(&SyncRequest {
        rotate: false,
        done: None,
        v: wire::PROTOCOL_VERSION,
        cursor: 0,
        docs: vec![DocPush {
            id: id.to_owned(),
            heads: wire::heads_to_wire(&heads),
            changes: ByteBuf::from(changes),
        }],
        directory: None,
    });
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/sync", server.url))
        .bearer_auth(&c.enrollment.token)
        .header("content-type", wire::CONTENT_TYPE)
        .timeout(Duration::from_secs(60))
        .body(body)
        .send()
        .expect("send");
    let status = response.status().as_u16();
    let json: serde_json::Value = response.json().unwrap_or_default();
    (status, json["code"].as_str().unwrap_or("").to_owned())
}

/// A change made on a copy of the client's task by its own actor.
fn forged(
    c: &Client,
    id: &str,
    edit: impl FnOnce(&mut automerge::AutoCommit),
) -> automerge::Change {
    let mut doc = c.store.open_task(id).expect("open");
    let am = doc.automerge();
    am.set_actor(c.enrollment.actor.parse().expect("actor"));
    edit(am);
    let hash = am
        .commit_with(CommitOptions::default().with_message("攻击"))
        .expect("a change");
    am.get_change_by_hash(&hash).expect("change")
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(i).copied().unwrap_or_default()
}

#[test]
fn the_server_stays_up_for_everyone_while_one_client_attacks_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server");
    let server = ServerProcess::start_with(
        &data,
        "127.0.0.1:0",
        true,
        &[
            "--header-timeout",
            &HEADER_TIMEOUT.to_string(),
            "--max-connections",
            "512",
        ],
    );
    let attacker = enrolled(&server, &data, "I-001");
    let target = own_task(&attacker);

    // Two ordinary tablets sync in a loop; their sync times are recorded.
    let stop = Arc::new(AtomicBool::new(false));
    let times: Arc<Mutex<Vec<(Instant, Duration)>>> = Arc::default();
    let failures = Arc::new(AtomicU32::new(0));
    let ordinary: Vec<_> = ["I-002", "I-003"]
        .into_iter()
        .map(|person| {
            let mut c = enrolled(&server, &data, person);
            let (stop, times, failures) = (stop.clone(), times.clone(), failures.clone());
            std::thread::spawn(move || {
                let transport = HttpTransport::from_store(&c.store).expect("transport");
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    match sync_now(&mut c.store, &transport, NOW, |_| {}) {
                        Ok(_) => times
                            .lock()
                            .expect("times")
                            .push((started, started.elapsed())),
                        Err(_) => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    // `/healthz` is asked every 100 ms throughout.
    let health_misses = Arc::new(AtomicU32::new(0));
    let health = {
        let (stop, misses, url) = (stop.clone(), health_misses.clone(), server.url.clone());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("client");
            while !stop.load(Ordering::Relaxed) {
                let ok = client
                    .get(format!("{url}/healthz"))
                    .send()
                    .is_ok_and(|r| r.status().is_success());
                if !ok {
                    misses.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // Baseline.
    std::thread::sleep(Duration::from_secs(3));
    let attack_start = Instant::now();

    // 1. A compressed change chunk: refused before it is inflated.
    let mut big = forged(&attacker, &target, |d| {
        let answer = d.get(automerge::ROOT, "subject").expect("r").expect("s").1;
        d.put(&answer, "name", "x".repeat(20 * 1024 * 1024))
            .expect("put");
    });
    let compressed = big.bytes().into_owned();
    assert_eq!(compressed[8], 2, "a deflated chunk");
    assert!(compressed.len() < 200 * 1024, "{} bytes", compressed.len());
    assert_eq!(
        push(&server, &attacker, &target, compressed),
        (400, "sync.bad_changes".into())
    );

    // 2. Nine bytes of action column claiming 2^62 operations.
    let one = forged(&attacker, &target, |d| {
        d.put(automerge::ROOT, "k", 1).expect("put");
    });
    let bomb = rle_bomb(one.raw_bytes());
    assert_eq!(
        push(&server, &attacker, &target, bomb),
        (413, "sync.too_many_ops".into())
    );

    // 3. A 10 MiB text in an answer.
    let item = attacker
        .store
        .open_task(&target)
        .expect("open")
        .task()
        .expect("task")
        .items_in_order()[0]
        .0
        .clone();
    let long = forged(&attacker, &target, |d| {
        let checklist = d
            .get(automerge::ROOT, "checklist")
            .expect("r")
            .expect("c")
            .1;
        let entry = d.get(&checklist, item.as_str()).expect("r").expect("i").1;
        let answer = d.get(&entry, "answer").expect("r").expect("a").1;
        d.put(&answer, "note", "长".repeat(3_500_000)).expect("put");
    });
    assert_eq!(
        push(&server, &attacker, &target, long.raw_bytes().to_vec()),
        (413, "policy.too_long".into())
    );

    // 4. A map nested 20,000 deep.
    let deep = forged(&attacker, &target, |d| {
        let mut at = d
            .put_object(automerge::ROOT, "deep", automerge::ObjType::Map)
            .expect("map");
        for _ in 0..20_000 {
            at = d
                .put_object(&at, "x", automerge::ObjType::Map)
                .expect("map");
        }
    });
    assert_eq!(
        push(&server, &attacker, &target, deep.raw_bytes().to_vec()),
        (403, "policy.forbidden_field".into())
    );

    // 5. 3,200 one-operation changes in one push: allowed edits, handled in
    // time proportional to them.
    let mut doc = attacker.store.open_task(&target).expect("open");
    let before = doc.heads();
    let am = doc.automerge();
    am.set_actor(attacker.enrollment.actor.parse().expect("actor"));
    let checklist = am
        .get(automerge::ROOT, "checklist")
        .expect("r")
        .expect("c")
        .1;
    let entry = am.get(&checklist, item.as_str()).expect("r").expect("i").1;
    let answer = am.get(&entry, "answer").expect("r").expect("a").1;
    let actors = am.get(automerge::ROOT, "actors").expect("r").expect("a").1;
    let me = am
        .put_object(
            &actors,
            attacker.enrollment.actor.as_str(),
            automerge::ObjType::Map,
        )
        .expect("register");
    am.put(&me, "person", "I-001").expect("put");
    am.put(&me, "role", "inspector").expect("put");
    for n in 0..3_200 {
        am.put(&answer, "note", format!("{n}")).expect("put");
        am.commit();
    }
    let many = am.save_after(&before);
    let started = Instant::now();
    let (status, _) = push(&server, &attacker, &target, many);
    let many_took = started.elapsed();
    assert_eq!(status, 200, "3,200 small allowed changes are taken");

    // 6. Headers sent a byte at a time: cut off after the header timeout.
    let mut slow = TcpStream::connect(server.addr()).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(HEADER_TIMEOUT * 4)))
        .expect("timeout");
    let opened = Instant::now();
    let mut cut = false;
    for byte in b"POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nX-Slow: "
        .iter()
        .cycle()
    {
        if slow.write_all(&[*byte]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        if opened.elapsed() > Duration::from_secs(HEADER_TIMEOUT * 4) {
            break;
        }
    }
    let mut rest = Vec::new();
    let closed = cut || slow.read_to_end(&mut rest).is_ok();
    assert!(closed, "the slow client was cut off");
    assert!(opened.elapsed() < Duration::from_secs(HEADER_TIMEOUT * 4));

    // 7. 1,100 idle sockets: over the cap they are closed at once, the rest
    // when the header timeout passes; the server keeps answering.
    let idle: Vec<TcpStream> = (0..1_100)
        .filter_map(|_| TcpStream::connect(server.addr()).ok())
        .collect();
    let healthz = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(HEADER_TIMEOUT * 3))
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(HEADER_TIMEOUT * 3);
    let mut answered = false;
    while Instant::now() < deadline {
        if healthz
            .get(format!("{}/healthz", server.url))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            answered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(answered, "healthz answers beside 1,100 idle sockets");
    drop(idle);

    // 8. Enrollment guessed from one address: ten tries a minute.
    let statuses: Vec<u16> = (0..30)
        .map(|n| {
            reqwest::blocking::Client::new()
                .post(format!("{}/api/v1/enroll", server.url))
                .json(&serde_json::json!({"code": format!("WRONG{n:05}"), "device_name": "x"}))
                .send()
                .expect("send")
                .status()
                .as_u16()
        })
        .collect();
    assert!(
        statuses.iter().filter(|s| **s == 400).count() <= 10,
        "{statuses:?}"
    );
    assert!(statuses.contains(&429));

    let attack_end = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for t in ordinary {
        t.join().expect("ordinary tablet");
    }
    health.join().expect("health");

    let peak = server.peak_rss();
    let times = times.lock().expect("times").clone();
    let mut before: Vec<Duration> = times
        .iter()
        .filter(|(at, _)| *at < attack_start)
        .map(|(_, d)| *d)
        .collect();
    let mut during: Vec<Duration> = times
        .iter()
        .filter(|(at, _)| *at >= attack_start && *at < attack_end)
        .map(|(_, d)| *d)
        .collect();
    let (p99_before, p99_during) = (percentile(&mut before, 0.99), percentile(&mut during, 0.99));
    eprintln!(
        "abuse: peak RSS {} MiB; ordinary syncs p99 {:?} before ({} syncs), {:?} during ({} syncs); 3,200 changes took {:?}; health misses {}",
        peak / (1024 * 1024),
        p99_before,
        before.len(),
        p99_during,
        during.len(),
        many_took,
        health_misses.load(Ordering::Relaxed)
    );
    assert!(peak < RSS_BOUND, "peak RSS {peak}");
    assert_eq!(
        health_misses.load(Ordering::Relaxed),
        0,
        "healthz answered throughout"
    );
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "ordinary syncs all succeeded"
    );
    assert!(
        !during.is_empty(),
        "ordinary tablets synced during the attacks"
    );
    // How much slower they were is printed above, not asserted: a timed
    // bound fails on a loaded machine (it did, beside a release build).
    // A server that stalls for everyone still fails here: `/healthz` must
    // answer within 2 s every 100 ms, and every ordinary sync must succeed.
}

/// A change chunk like `template` whose action column claims 2^62 operations.
fn rle_bomb(template: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    // The template's header up to its columns, with one column: actions.
    let header_len = 9 + leb_len(&template[9..]);
    let mut r = &template[header_len..];
    let mut data = Vec::new();
    let take = |r: &mut &[u8], n: usize, out: &mut Vec<u8>| {
        out.extend_from_slice(&r[..n]);
        *r = &r[n..];
    };
    let uleb = |r: &[u8]| -> (u64, usize) {
        let mut v = 0u64;
        for (i, b) in r.iter().enumerate() {
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return (v, i + 1);
            }
        }
        (v, r.len())
    };
    let (deps, n) = uleb(r);
    take(&mut r, n + deps as usize * 32, &mut data);
    let (actor, n) = uleb(r);
    take(&mut r, n + actor as usize, &mut data);
    for _ in 0..3 {
        let (_, n) = uleb(r);
        take(&mut r, n, &mut data); // seq, start op, time
    }
    let (message, n) = uleb(r);
    take(&mut r, n + message as usize, &mut data);
    data.push(0); // no other actors
    let column = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 1];
    data.extend([1, 0x42, column.len() as u8]);
    data.extend(column);
    let mut body = vec![1u8];
    let mut len = data.len();
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        body.push(if len == 0 { byte } else { byte | 0x80 });
        if len == 0 {
            break;
        }
    }
    body.extend(data);
    let digest = Sha256::digest(&body);
    let mut chunk = template[..4].to_vec();
    chunk.extend_from_slice(&digest[..4]);
    chunk.extend(body);
    chunk
}

/// Bytes of the ULEB128 number at the start of `bytes`.
fn leb_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(bytes.len(), |i| i + 1)
}
