//! Integrity anyone can check, through the real router on a real port and
//! the real binary: the server signs a checkpoint of its receipt log every
//! N receipts and on its tick, logs it and publishes it at
//! `GET /api/v1/audit/checkpoint`; a device reads its own receipts and a
//! redacted span of the chain; `fieldloop-server audit verify --against`
//! passes on an intact log and fails, naming the entry, on a log cut short
//! and on one rewritten and chained again (which the plain chain check
//! passes); the tablet's check passes, then catches the same two and an
//! acknowledged change without a receipt.

use std::io::BufRead as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fieldloop_core::Outcome;
use fieldloop_core::checkpoint::{Checkpoint, key_from_hex};
use fieldloop_server::limits::Limits;
use fieldloop_server::store::Receipt;
use fieldloop_tablet::audit::{self, AuditError};
use fieldloop_tablet::sync::HttpTransport;
use fieldloop_tests::{NOW, Tablet, TestServer};
use reqwest::blocking::Client;
use serde_json::Value;

use crate::sync::squad_checked_in;

/// Receipts after which a sync makes a checkpoint, in these tests.
const EVERY: u64 = 3;

fn server(every: u64, interval: Duration) -> TestServer {
    TestServer::start(
        4,
        Limits {
            checkpoint_every: every,
            checkpoint_interval: interval,
            ..Limits::default()
        },
    )
}

fn get(server: &TestServer, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = Client::new().get(format!("{}{path}", server.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().expect("get");
    let status = answer.status().as_u16();
    (status, answer.json().unwrap_or(Value::Null))
}

fn latest(server: &TestServer) -> Checkpoint {
    let (status, json) = get(server, "/api/v1/audit/checkpoint", None);
    assert_eq!(status, 200, "{json}");
    serde_json::from_value(json).expect("a checkpoint")
}

fn public_key(server: &TestServer) -> fieldloop_core::checkpoint::VerifyingKey {
    let (status, json) = get(server, "/api/v1/public/claim-key", None);
    assert_eq!(status, 200, "{json}");
    key_from_hex(json["public_key"].as_str().expect("public_key")).expect("key")
}

fn head(server: &TestServer) -> (i64, String) {
    server
        .store
        .receipt_head()
        .expect("head")
        .expect("receipts")
}

/// Waits (bounded) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `n` answers recorded on `t`'s task `id`: `n` changes, so `n` receipts
/// once pushed.
fn answer_items(t: &mut Tablet, id: &str, n: usize) {
    let who = t.author();
    let task = t.store.open_task(id).expect("open").task().expect("task");
    let items: Vec<String> = task
        .items_in_order()
        .into_iter()
        .map(|(item, _)| item.to_owned())
        .collect();
    for k in 0..n {
        let item = &items[k % items.len()];
        t.store
            .edit(id, NOW, |d| {
                d.record_answer(&who, NOW, item, Some(Outcome::Pass), None, None)
            })
            .expect("answer");
    }
}

/// The server's database (SQLite file or PostgreSQL database), opened
/// beside the running server by someone who tampers with it.
struct Db {
    dir: std::path::PathBuf,
    database: Option<String>,
    conn: Conn,
}

enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

/// A server's records as the CLI reads them: its data folder (the key) and,
/// on PostgreSQL, its database.
struct Data {
    dir: std::path::PathBuf,
    database: Option<String>,
    /// A copy's folder, removed with it.
    _copy: Option<tempfile::TempDir>,
}

impl Db {
    fn open(dir: &std::path::Path, database: Option<&str>) -> Self {
        let conn = match database {
            Some(url) => Conn::Postgres(
                postgres::Client::connect(url, postgres::NoTls).expect("connect to the database"),
            ),
            None => {
                let conn = rusqlite::Connection::open(dir.join("fieldloop-server.sqlite3"))
                    .expect("open the server's database");
                conn.busy_timeout(Duration::from_secs(10)).expect("timeout");
                Conn::Sqlite(conn)
            }
        };
        Self {
            dir: dir.to_path_buf(),
            database: database.map(str::to_owned),
            conn,
        }
    }

    /// The log's entries from `seq` on, as the store reads them.
    fn receipts_from(&self, seq: i64) -> Vec<Receipt> {
        let store = fieldloop_tests::open_store(&self.dir, self.database.as_deref());
        let mut all = store.receipts().expect("receipts");
        all.retain(|r| r.seq >= seq);
        all
    }

    /// Overwrites entry `r.seq` with `r`.
    fn put_receipt(&mut self, r: &Receipt) {
        const SET: &str = "UPDATE receipts SET received_at = {2}, device_id = {3}, prev = {4}, \
                           hash = {5} WHERE seq = {1}";
        match &mut self.conn {
            Conn::Sqlite(conn) => {
                conn.execute(
                    &SET.replace('{', "?").replace('}', ""),
                    rusqlite::params![r.seq, r.received_at, r.device_id, r.prev, r.hash],
                )
                .expect("rewrite");
            }
            Conn::Postgres(client) => {
                client
                    .execute(
                        &SET.replace('{', "$").replace('}', ""),
                        &[&r.seq, &r.received_at, &r.device_id, &r.prev, &r.hash],
                    )
                    .expect("rewrite");
            }
        }
    }

    /// Deletes the rows of `table` from `seq` on.
    fn delete_from(&mut self, table: &str, seq: i64) {
        match &mut self.conn {
            Conn::Sqlite(conn) => {
                conn.execute(&format!("DELETE FROM {table} WHERE seq >= ?1"), [seq])
                    .expect("delete");
            }
            Conn::Postgres(client) => {
                client
                    .execute(&format!("DELETE FROM {table} WHERE seq >= $1"), &[&seq])
                    .expect("delete");
            }
        }
    }
}

/// The running server's database.
fn db(server: &TestServer) -> Db {
    Db::open(server.dir.path(), server.database.as_deref())
}

/// Rewrites the entries from `seq` on: `change` alters entry `seq`, and
/// every entry from it on is chained again, so that the plain chain check
/// passes afterwards.
fn rechain_from(db: &mut Db, seq: i64, change: impl FnOnce(&mut Receipt)) {
    let mut prev: Option<String> = None;
    let mut change = Some(change);
    for mut r in db.receipts_from(seq) {
        if r.seq == seq {
            (change.take().expect("entry seq once"))(&mut r);
        }
        if let Some(p) = prev {
            r.prev = p;
        }
        r.hash = r.expected_hash();
        db.put_receipt(&r);
        prev = Some(r.hash);
    }
}

/// What someone with the database and the key could do after the fact:
/// alters entry `seq` (its time of receipt), chains every entry from it
/// on again, and replaces the checkpoints by one over the new head signed
/// with the server's own key. The plain chain check passes afterwards.
fn rewrite_from(server: &TestServer, db: &mut Db, seq: i64) {
    rechain_from(db, seq, |r| r.received_at -= 3_600_000);
    resign(server, db);
}

/// Drops every checkpoint and signs a new one over the log's head now.
fn resign(server: &TestServer, db: &mut Db) {
    db.delete_from("checkpoints", i64::MIN);
    let (seq, hash) = head(server);
    let key = server.store.claim_key().expect("key");
    let cp = key
        .sign_checkpoint(seq, &hash, fieldloop_server::now_ms())
        .expect("sign");
    assert!(server.store.add_checkpoint(&cp).expect("add"));
}

/// Cuts the log at `seq` (that entry and all after it go), and its
/// checkpoints with it; a new checkpoint is signed over what is left.
fn cut_at(server: &TestServer, db: &mut Db, seq: i64) {
    db.delete_from("receipts", seq);
    resign(server, db);
}

#[test]
fn checkpoints_every_n_receipts_are_signed_and_public() {
    let server = server(EVERY, Duration::from_secs(3600));
    // The tick at start covers the tasks the server made.
    eventually("the first checkpoint", || {
        server.store.checkpoint(None).expect("read").is_some()
    });
    let key = public_key(&server);
    let first = latest(&server);
    first.verify(&key).expect("signed by the server's key");
    assert_eq!((first.seq, first.head.clone()), head(&server));

    // b's check-in and a's: two new receipts, fewer than EVERY: no new checkpoint.
    let (mut a, _b, id) = squad_checked_in(&server);
    a.sync().expect("sync");
    let (two, _) = head(&server);
    assert_eq!(two, first.seq + 2, "one change, one receipt");
    assert_eq!(latest(&server), first);

    // EVERY more: the sync that brings them makes one at the head.
    answer_items(&mut a, &id, EVERY as usize);
    a.sync().expect("sync");
    let cp = latest(&server);
    assert_eq!((cp.seq, cp.head.clone()), head(&server));
    cp.verify(&key).expect("valid");
    // Any change of what it says breaks the signature.
    let mut forged = cp.clone();
    forged.seq -= 1;
    assert!(forged.verify(&key).is_err());

    // An earlier one by its seq; a missing one and a bad query are clear errors.
    let (status, json) = get(
        &server,
        &format!("/api/v1/audit/checkpoint?seq={}", first.seq),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_value::<Checkpoint>(json).expect("cp"),
        first
    );
    let (status, json) = get(&server, "/api/v1/audit/checkpoint?seq=999999", None);
    assert_eq!(
        (status, json["code"].as_str()),
        (404, Some("audit.no_checkpoint"))
    );
    let (status, json) = get(&server, "/api/v1/audit/checkpoint?seq=x", None);
    assert_eq!(
        (status, json["code"].as_str()),
        (400, Some("audit.bad_query"))
    );

    // Public, but bounded per address (the quota refills one a second, so
    // a busy machine may let a few more through, never twice as many).
    let limited = (0..2 * fieldloop_server::audit::CHECKPOINT_LOOKUPS_PER_MINUTE)
        .map(|_| get(&server, "/api/v1/audit/checkpoint", None))
        .find(|(status, _)| *status != 200)
        .expect("the limit is reached");
    assert_eq!(
        (limited.0, limited.1["code"].as_str()),
        (429, Some("audit.rate_limited"))
    );
}

#[test]
fn the_tick_makes_a_checkpoint_when_anything_is_new() {
    let server = server(1_000_000, Duration::from_millis(50));
    let mut a = Tablet::enroll(&server, "I-001");
    a.sync().expect("sync");
    let id = a.store.list_tasks(&Default::default()).expect("list")[0]
        .id
        .clone();
    let who = a.author();
    a.store
        .edit(&id, NOW, |d| d.check_in(&who, NOW, None))
        .expect("check in");
    a.sync().expect("sync");
    let (seq, hash) = head(&server);
    eventually("a checkpoint over the new receipt", || {
        server
            .store
            .checkpoint(None)
            .expect("read")
            .is_some_and(|c| c.seq == seq && c.head == hash)
    });
}

#[test]
fn a_device_reads_its_own_receipts_and_a_redacted_span() {
    let server = server(EVERY, Duration::from_secs(3600));
    let (mut a, mut b, id) = squad_checked_in(&server);
    a.sync().expect("sync");
    answer_items(&mut b, &id, 2);
    b.sync().expect("sync");
    let device = a.enrollment.device_id.clone();
    let token = a.enrollment.token.clone();

    let (status, json) = get(&server, "/api/v1/audit/receipts?after=0", Some(&token));
    assert_eq!(status, 200, "{json}");
    let receipts = json["receipts"].as_array().expect("receipts");
    assert!(!receipts.is_empty());
    assert!(receipts.iter().all(|r| r["device_id"] == device.as_str()));
    let mine: Vec<i64> = receipts
        .iter()
        .map(|r| r["seq"].as_i64().expect("seq"))
        .collect();
    let (status, json) = get(
        &server,
        &format!("/api/v1/audit/receipts?after={}", mine[0]),
        Some(&token),
    );
    assert_eq!(status, 200);
    assert_eq!(
        json["receipts"].as_array().expect("receipts").len(),
        mine.len() - 1
    );

    let (end, _) = head(&server);
    let (status, json) = get(
        &server,
        &format!("/api/v1/audit/span?from=1&to={end}"),
        Some(&token),
    );
    assert_eq!(status, 200, "{json}");
    let entries = json["entries"].as_array().expect("entries");
    assert_eq!(entries.len() as i64, end);
    let mut others = 0;
    for (n, e) in entries.iter().enumerate() {
        let seq = e["seq"].as_i64().expect("seq");
        if mine.contains(&seq) {
            assert_eq!(e["device_id"], device.as_str(), "own entries in full: {e}");
        } else {
            others += 1;
            let keys: Vec<&String> = e.as_object().expect("object").keys().collect();
            assert_eq!(keys.len(), 3, "others' entries only seq, prev, hash: {e}");
        }
        if n > 0 {
            assert_eq!(e["prev"], entries[n - 1]["hash"], "linked");
        }
    }
    assert!(others > 0, "b's and the server's entries are there too");

    // Bounded, and for devices only.
    let too_long = fieldloop_server::audit::MAX_SPAN + 1;
    let (status, json) = get(
        &server,
        &format!("/api/v1/audit/span?from=1&to={too_long}"),
        Some(&token),
    );
    assert_eq!(
        (status, json["code"].as_str()),
        (400, Some("audit.bad_query"))
    );
    let (status, json) = get(&server, "/api/v1/audit/span?from=5&to=4", Some(&token));
    assert_eq!(
        (status, json["code"].as_str()),
        (400, Some("audit.bad_query"))
    );
    let (status, json) = get(&server, "/api/v1/audit/receipts?after=0", None);
    assert_eq!((status, json["code"].as_str()), (401, Some("auth.missing")));
}

/// `fieldloop-server audit verify` on `data`, `--against` a checkpoint
/// file when given, with `--key` when given.
fn run_verify(data: &Data, against: Option<&std::path::Path>, key: Option<&str>) -> (bool, String) {
    let mut cmd = fieldloop_tests::server_command(data.database.as_deref());
    cmd.args(["audit", "verify", "--data"]).arg(&data.dir);
    if let Some(against) = against {
        cmd.arg("--against").arg(against);
    }
    if let Some(key) = key {
        cmd.args(["--key", key]);
    }
    let out = cmd.output().expect("run audit verify");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// What the CLI is to read of a running server to tamper with it: on
/// SQLite a consistent copy of its data folder (database and key); on
/// PostgreSQL its own folder and database (no writes are under way).
fn copy_data(server: &TestServer) -> Data {
    if server.database.is_some() {
        return Data {
            dir: server.dir.path().to_path_buf(),
            database: server.database.clone(),
            _copy: None,
        };
    }
    let copy = tempfile::tempdir().expect("tempdir");
    let Conn::Sqlite(conn) = db(server).conn else {
        unreachable!("SQLite")
    };
    conn.execute(
        "VACUUM INTO ?1",
        [copy
            .path()
            .join("fieldloop-server.sqlite3")
            .to_str()
            .expect("utf-8")],
    )
    .expect("vacuum into");
    let key_dir = copy.path().join("claim");
    std::fs::create_dir_all(&key_dir).expect("claim dir");
    std::fs::copy(
        server.dir.path().join("claim/ed25519.key"),
        key_dir.join("ed25519.key"),
    )
    .expect("key");
    Data {
        dir: copy.path().to_path_buf(),
        database: None,
        _copy: Some(copy),
    }
}

#[test]
fn audit_verify_against_a_checkpoint_catches_a_log_cut_short_or_rewritten() {
    // The real binary logs each checkpoint on one line and serves it.
    let folder = tempfile::tempdir().expect("tempdir");
    let data = Data {
        dir: folder.path().to_path_buf(),
        database: fieldloop_tests::test_database(),
        _copy: None,
    };
    fieldloop_tablet::tls::install_crypto();
    let mut child = fieldloop_tests::server_command(data.database.as_deref())
        .args(["serve", "--listen", "127.0.0.1:0", "--demo", "--data"])
        .arg(&data.dir)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server");
    let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let url = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("listening on ")
                .nth(1)
                .map(|r| r.split_whitespace().next().unwrap_or("").to_owned())
        })
        .expect("the server says where it listens");
    let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("receipt log checkpoint") {
                let _ = tx.send(line);
            }
        }
    });
    let logged = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the checkpoint made at start is logged");
    let served: Checkpoint = Client::new()
        .get(format!("{url}/api/v1/audit/checkpoint"))
        .send()
        .expect("get")
        .json()
        .expect("json");
    for field in [
        format!("seq={}", served.seq),
        format!("head={}", served.head),
        format!("sig={}", served.sig),
    ] {
        assert!(logged.contains(&field), "{field} in the log line: {logged}");
    }
    let _ = child.kill();
    let _ = child.wait();

    // Intact: passes, with the data folder's key and with the public one given.
    let file = data.dir.join("checkpoint.json");
    std::fs::write(&file, serde_json::to_vec(&served).expect("json")).expect("write");
    let (ok, out) = run_verify(&data, Some(&file), None);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("entry {}", served.seq)), "{out}");
    let key_file = data.dir.join("claim-key.json");
    let store = fieldloop_tests::open_store(&data.dir, data.database.as_deref());
    let key = store.claim_key().expect("key");
    std::fs::write(
        &key_file,
        serde_json::json!({ "kid": key.kid_hex(), "public_key": key.public_hex() }).to_string(),
    )
    .expect("key file");
    drop(store);
    let (ok, out) = run_verify(&data, Some(&file), Some(key_file.to_str().expect("utf-8")));
    assert!(ok, "{out}");
    // A stranger's key: the signature is refused.
    let stranger = fieldloop_server::claims::ClaimKey::generate();
    let (ok, out) = run_verify(&data, Some(&file), Some(&stranger.public_hex()));
    assert!(!ok && out.contains("not the trusted key"), "{out}");
    // A checkpoint whose time was changed: the signature is refused.
    let mut moved = served.clone();
    moved.at += 1;
    let moved_file = data.dir.join("moved.json");
    std::fs::write(&moved_file, serde_json::to_vec(&moved).expect("json")).expect("write");
    let (ok, out) = run_verify(&data, Some(&moved_file), None);
    assert!(!ok && out.contains("signature"), "{out}");

    // Cut short at the checkpoint's entry.
    let mut tamper = Db::open(&data.dir, data.database.as_deref());
    tamper.delete_from("receipts", served.seq);
    let (ok, out) = run_verify(&data, Some(&file), None);
    assert!(!ok, "a log cut short fails: {out}");
    assert!(
        out.contains("cut short") && out.contains(&format!("entry {}", served.seq)),
        "{out}"
    );
    // The plain chain check cannot tell.
    let (ok, out) = run_verify(&data, None, None);
    assert!(ok, "{out}");
    drop(tamper);

    // Rewritten and chained again: the plain chain check passes, --against
    // does not. A fresh log, from a server with checkpoints every few receipts.
    {
        let server = server(EVERY, Duration::from_secs(3600));
        let (mut a, _b, id) = squad_checked_in(&server);
        answer_items(&mut a, &id, EVERY as usize);
        a.sync().expect("sync");
        let cp = latest(&server);
        let copy = copy_data(&server);
        let file = copy.dir.join("checkpoint.json");
        std::fs::write(&file, serde_json::to_vec(&cp).expect("json")).expect("write");
        let (ok, out) = run_verify(&copy, Some(&file), None);
        assert!(ok, "{out}");
        let mut tamper = Db::open(&copy.dir, copy.database.as_deref());
        rechain_from(&mut tamper, 2, |r| r.device_id = "forged-device".into());
        drop(tamper);
        let (ok, out) = run_verify(&copy, None, None);
        assert!(ok, "the rewritten chain is a valid chain: {out}");
        let (ok, out) = run_verify(&copy, Some(&file), None);
        assert!(!ok, "a rewritten log fails: {out}");
        assert!(
            out.contains("rewritten") && out.contains(&format!("entry {}", cp.seq)),
            "{out}"
        );
    }
}

fn check(t: &mut Tablet) -> Result<audit::AuditReport, AuditError> {
    let transport = HttpTransport::from_store(&t.store).expect("transport");
    audit::check(&mut t.store, &transport)
}

fn fetch(t: &mut Tablet) {
    let transport = HttpTransport::from_store(&t.store).expect("transport");
    audit::fetch(&mut t.store, &transport).expect("fetch");
}

/// A server and a tablet whose pushes are receipted and covered by a
/// checkpoint the tablet took and linked.
fn checked_tablet() -> (TestServer, Tablet, Tablet, String) {
    let server = server(EVERY, Duration::from_secs(3600));
    let (mut a, b, id) = squad_checked_in(&server);
    answer_items(&mut a, &id, EVERY as usize);
    a.sync().expect("sync");
    fetch(&mut a);
    let report = check(&mut a).expect("an intact log passes");
    assert_eq!(report.checkpoint, latest(&server));
    assert!(report.acknowledged > EVERY as usize, "{report:?}");
    assert_eq!(report.receipts, report.acknowledged, "{report:?}");
    assert_eq!(report.linked, report.receipts, "{report:?}");
    assert_eq!(report.pending, 0);
    (server, a, b, id)
}

#[test]
fn the_tablet_check_passes_then_catches_a_log_rewritten_after_the_fact() {
    let (server, mut a, _b, id) = checked_tablet();
    // More work after the check: still fine, and only the new part is walked.
    answer_items(&mut a, &id, EVERY as usize);
    a.sync().expect("sync");
    let again = check(&mut a).expect("still intact");
    assert!(again.walked <= EVERY as i64 + 1, "{again:?}");

    // Someone rewrites the tablet's first receipt, chains again and signs anew.
    let first_own = server
        .store
        .device_receipts(&a.enrollment.device_id, 0, 1)
        .expect("receipts")[0]
        .seq;
    rewrite_from(&server, &mut db(&server), first_own);
    assert!(
        fieldloop_server::store::verify_receipts(&server.store.receipts().expect("log")).is_ok()
    );
    let e = check(&mut a).expect_err("a rewritten log is caught");
    assert_eq!(e.code(), fieldloop_core::ErrorCode::AuditRewritten, "{e}");
    assert!(matches!(e, AuditError::Rewritten { .. }), "{e:?}");
    // And it stays caught: the tablet keeps what it held.
    assert!(matches!(check(&mut a), Err(AuditError::Rewritten { .. })));
}

#[test]
fn the_tablet_check_catches_a_log_cut_short() {
    let (server, mut a, _b, _id) = checked_tablet();
    let held = a
        .store
        .audit_checkpoint()
        .expect("read")
        .expect("a checkpoint");
    let first_own = server
        .store
        .device_receipts(&a.enrollment.device_id, 0, 1)
        .expect("receipts")[0]
        .seq;
    cut_at(&server, &mut db(&server), first_own);
    let e = check(&mut a).expect_err("a log cut short is caught");
    assert_eq!(e.code(), fieldloop_core::ErrorCode::AuditCutShort, "{e}");
    match e {
        AuditError::CutShort { seq } => assert_eq!(seq, held.seq),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_tablet_check_catches_an_acknowledged_change_without_a_receipt() {
    let server = server(EVERY, Duration::from_secs(3600));
    let (mut a, _b, id) = squad_checked_in(&server);
    answer_items(&mut a, &id, EVERY as usize);
    a.sync().expect("sync");
    // Before the tablet fetched it, its last receipt goes and a checkpoint
    // is signed over what is left: a valid chain, a valid checkpoint.
    let (last, _) = head(&server);
    cut_at(&server, &mut db(&server), last);
    let e = check(&mut a).expect_err("the missing receipt is caught");
    assert_eq!(e.code(), fieldloop_core::ErrorCode::AuditUnreceipted, "{e}");
    match e {
        AuditError::Unreceipted { task, .. } => assert_eq!(task, id),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_checkpoint_that_goes_back_is_not_taken() {
    let (server, mut a, _b, _id) = checked_tablet();
    let held = a.store.audit_checkpoint().expect("read").expect("held");
    // The server shows an older checkpoint as its latest (the newer ones dropped).
    db(&server).delete_from("checkpoints", held.seq);
    let transport = HttpTransport::from_store(&a.store).expect("transport");
    let e = audit::fetch(&mut a.store, &transport).expect_err("went back");
    assert_eq!(e.code(), fieldloop_core::ErrorCode::AuditWentBack, "{e}");
    assert_eq!(
        a.store.audit_checkpoint().expect("read"),
        Some(held),
        "the older one is not taken"
    );
}
