//! Two server instances on one PostgreSQL database, as behind a load
//! balancer: tablets of one squad sync through either, at the same time,
//! and nothing is lost or skipped.

use fieldloop_core::Outcome;
use fieldloop_server::limits::Limits;
use fieldloop_server::store::verify_receipts;
use fieldloop_tests::{NOW, Tablet, TestServer};

#[test]
fn tablets_syncing_through_two_instances_at_once_converge_with_nothing_lost() {
    // Small feed pages: every sync takes several rounds, interleaved with
    // the other instance's commits.
    let limits = || Limits {
        feed_page_docs: 3,
        ..Default::default()
    };
    let first = TestServer::start_on_postgres(fieldloop_server::demo::DEMO_TASKS, limits());
    let second = first.second_instance(limits());
    let people = ["I-002", "I-003", "I-004"];
    let mut tablets: Vec<Tablet> = people
        .iter()
        .enumerate()
        .map(|(n, p)| Tablet::enroll(if n == 1 { &second } else { &first }, p))
        .collect();
    for t in &mut tablets {
        t.sync().expect("first sync");
    }
    // Every task all three are on, and the first task's items.
    let shared = tablets[0].tasks_of_all(&people);
    assert!(!shared.is_empty(), "the demo has tasks of all three");

    // Each tablet checks in on every shared task and answers one item of
    // its own, then all three sync at once, each through its instance,
    // three times round.
    for (n, t) in tablets.iter_mut().enumerate() {
        let who = t.author();
        for id in &shared {
            let item = t
                .store
                .open_task(id)
                .expect("open")
                .task()
                .expect("task")
                .items_in_order()[n]
                .0
                .clone();
            t.store
                .edit(id, NOW, |d| d.check_in(&who, NOW, None))
                .expect("check in");
            t.store
                .edit(id, NOW, |d| {
                    d.record_answer(&who, NOW, &item, Some(Outcome::Pass), None, None)
                })
                .expect("answer");
        }
    }
    std::thread::scope(|scope| {
        for t in tablets.iter_mut() {
            scope.spawn(move || {
                for _ in 0..3 {
                    t.sync().expect("sync");
                }
            });
        }
    });
    // Quiet: one more round each, in turn, brings everyone level.
    for t in &mut tablets {
        t.sync().expect("last sync");
    }

    for id in &shared {
        let mut on_first = first.task(id);
        let mut on_second = second.task(id);
        assert_eq!(
            on_first.heads(),
            on_second.heads(),
            "one record, whichever instance"
        );
        let checked_in = on_first.status_report().expect("report").checked_in;
        let task = on_first.task().expect("task");
        for (n, p) in people.iter().enumerate() {
            assert!(checked_in.contains(*p), "{p}'s check-in on {id} was lost");
            let (item, _) = task.items_in_order()[n];
            assert_eq!(
                task.checklist[item].answer.result,
                Some(Outcome::Pass),
                "{p}'s answer on {id} was lost"
            );
        }
        for t in &mut tablets {
            let mut doc = t.store.open_task(id).expect("open");
            assert_eq!(doc.heads(), on_first.heads(), "every tablet level");
        }
    }
    let receipts = first.store.receipts().expect("receipts");
    assert_eq!(verify_receipts(&receipts), Ok(receipts.len()));
    assert_eq!(
        second.store.feed_end().expect("end"),
        first.store.feed_end().expect("end")
    );
}

#[test]
fn a_postgresql_crash_and_restart_under_a_sync_loses_nothing_acknowledged() {
    let mut cluster = fieldloop_server::store::postgres::cluster::TestCluster::start()
        .expect("PostgreSQL (cargo xtask setup installs it)");
    let database = cluster.create_database().expect("database");
    let server = TestServer::start_on(
        database,
        fieldloop_server::demo::DEMO_TASKS,
        Limits::default(),
    );
    let mut tablet = Tablet::enroll(&server, "I-002");
    tablet.sync().expect("first sync");
    let id = tablet.tasks_of_all(&["I-002"]).remove(0);
    let who = tablet.author();
    tablet
        .store
        .edit(&id, NOW, |d| d.check_in(&who, NOW, None))
        .expect("check in");
    tablet.sync().expect("the check-in is acknowledged");
    let acknowledged = tablet.store.open_task(&id).expect("open").heads();

    // The database crashes (no checkpoint, recovery from its WAL at the
    // next start); the tablet edits on and syncs while it is down, and the
    // database comes back during that sync.
    cluster.kill().expect("kill PostgreSQL");
    let item = tablet
        .store
        .open_task(&id)
        .expect("open")
        .task()
        .expect("task")
        .items_in_order()[0]
        .0
        .clone();
    tablet
        .store
        .edit(&id, NOW, |d| {
            d.record_answer(&who, NOW, &item, Some(Outcome::Pass), None, None)
        })
        .expect("answer");
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            cluster.restart().expect("restart PostgreSQL");
        });
        tablet
            .sync()
            .expect("the sync waits for the database and goes through");
    });

    let mut stored = server.task(&id);
    for head in &acknowledged {
        assert!(
            stored.automerge().get_change_by_hash(head).is_some(),
            "an acknowledged change was lost in the crash"
        );
    }
    assert_eq!(
        stored.task().expect("task").checklist[&item].answer.result,
        Some(Outcome::Pass)
    );
    assert_eq!(
        tablet.store.open_task(&id).expect("open").heads(),
        stored.heads()
    );
    let receipts = server.store.receipts().expect("receipts");
    assert_eq!(verify_receipts(&receipts), Ok(receipts.len()));
}

/// The blob store of two instances is an S3 bucket (Garage), the upload's
/// state is in PostgreSQL: a photo whose upload began on one instance is
/// finished through the other, with no chunk counted twice, and either
/// instance serves it.
#[test]
fn a_blob_upload_begun_on_one_instance_is_finished_on_the_other() {
    use fieldloop_server::blobs::garage::TestGarage;
    use reqwest::StatusCode;
    use reqwest::blocking::{Client, RequestBuilder};

    let first = TestServer::start_on_postgres_and_s3(3, Limits::default());
    let second = first.second_instance(Limits::default());
    let tablet = Tablet::enroll(&first, "I-002");
    let token = tablet.enrollment.token.clone();
    let data: Vec<u8> = (0..600_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let id = fieldloop_core::blob::BlobId::of(&data).to_hex();
    let url = |server: &TestServer| format!("{}/api/v1/blobs/{id}", server.url);
    let client = Client::new();
    let tus = |r: RequestBuilder| r.bearer_auth(&token).header("Tus-Resumable", "1.0.0");
    let patch = |server: &TestServer, offset: usize, end: usize| {
        tus(client.patch(url(server)))
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset)
            .body(data[offset..end].to_vec())
            .send()
            .expect("patch")
    };
    let offset_of = |r: &reqwest::blocking::Response| -> u64 {
        r.headers()["upload-offset"]
            .to_str()
            .expect("text")
            .parse()
            .expect("number")
    };
    const CHUNK: usize = 256 * 1024;

    // Begun on the first instance: one chunk.
    let created = tus(client.post(url(&first)))
        .header("Upload-Length", data.len())
        .send()
        .expect("post");
    assert_eq!(created.status(), StatusCode::CREATED);
    let sent = patch(&first, 0, CHUNK);
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    // The second instance knows where it stands.
    let head = tus(client.head(url(&second))).send().expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(offset_of(&head), CHUNK as u64);
    // The same chunk again, through the other instance, is not counted twice.
    let again = patch(&second, 0, CHUNK);
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(offset_of(&again), CHUNK as u64);
    // The rest through the second instance.
    let mut offset = CHUNK;
    while offset < data.len() {
        let end = (offset + CHUNK).min(data.len());
        let sent = patch(&second, offset, end);
        assert_eq!(sent.status(), StatusCode::NO_CONTENT);
        assert_eq!(offset_of(&sent), end as u64);
        offset = end;
    }
    // Either instance serves the whole blob.
    for server in [&first, &second] {
        let got = client
            .get(url(server))
            .bearer_auth(&token)
            .send()
            .expect("get");
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(got.bytes().expect("bytes").to_vec(), data);
    }
    // Nothing of the upload is left: the blob alone in the bucket, no row.
    let garage = TestGarage::shared().expect("garage");
    let bucket = first.bucket.as_deref().expect("bucket");
    assert_eq!(
        garage.keys(bucket).expect("keys"),
        vec![format!("blobs/{}/{id}", &id[..2])]
    );
    assert_eq!(second.store.stale_uploads(i64::MAX, 10).expect("rows"), []);
    // The tablet's own upload client, through the first instance: nothing to send.
    let blobs =
        fieldloop_tablet::blobs::BlobStore::open(tablet.path().join("probe")).expect("blobs");
    let local = blobs.put(&data).expect("put");
    let outcome = fieldloop_tablet::upload::upload_blob(
        &client,
        &first.url,
        &token,
        &blobs,
        &local,
        |_, _| {},
    )
    .expect("upload");
    assert!(outcome.already_present);
    assert_eq!(outcome.sent_bytes, 0);
}

/// Two real server processes on one PostgreSQL database and one Garage
/// bucket (`serve --blobs s3://…`, the key in the environment): one is
/// SIGKILLed while a chunk of a photo is in flight to it, and the tablet's
/// upload client finishes through the other, resending at most that chunk.
/// A wrong key stops `serve` at start-up with the store's answer.
#[test]
fn an_instance_killed_in_the_middle_of_an_upload_leaves_it_to_the_other() {
    use fieldloop_server::blobs::garage::TestGarage;
    use fieldloop_tests::process::ServerProcess;
    use std::ffi::OsStr;

    let cluster = fieldloop_server::store::postgres::cluster::TestCluster::shared()
        .unwrap_or_else(|e| panic!("no PostgreSQL cluster: {e}"));
    let database = cluster.create_database().expect("a test database");
    let garage = TestGarage::shared().unwrap_or_else(|e| panic!("no Garage node: {e}"));
    let bucket = garage.create_bucket().expect("bucket");
    let blobs_url = garage.url(&bucket);
    let dirs = [
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    ];
    let key = garage.env();
    let env: Vec<(&str, &OsStr)> = [("FIELDLOOP_DATABASE", database.as_str())]
        .into_iter()
        .chain(key.iter().map(|(k, v)| (*k, v.as_str())))
        .map(|(k, v)| (k, OsStr::new(v)))
        .collect();
    let extra = ["--blobs", blobs_url.as_str()];
    let kept = ServerProcess::start_with_env(dirs[0].path(), "127.0.0.1:0", true, &extra, &env);
    let mut doomed =
        ServerProcess::start_with_env(dirs[1].path(), "127.0.0.1:0", false, &extra, &env);

    let store = fieldloop_tests::open_store(dirs[0].path(), Some(&database));
    let code = fieldloop_server::enroll::issue_code(
        store.as_ref(),
        "I-001",
        fieldloop_server::now_ms(),
        3_600_000,
    )
    .expect("code");
    let tablet_dir = tempfile::tempdir().expect("tempdir");
    let mut tablet = fieldloop_tablet::store::Store::open(tablet_dir.path()).expect("tablet");
    let enrollment =
        fieldloop_tablet::sync::enroll(&mut tablet, &kept.url, &code, "平板").expect("enroll");
    let blobs =
        fieldloop_tablet::blobs::BlobStore::open(tablet_dir.path().join("photos")).expect("blobs");
    let data: Vec<u8> = (0..1_100_000u32)
        .map(|i| (i.wrapping_mul(2_246_822_519) >> 11) as u8)
        .collect();
    let id = blobs.put(&data).expect("put");
    const CHUNK: usize = 256 * 1024;

    // Two chunks to the instance that will die.
    let client = reqwest::blocking::Client::new();
    let url = |base: &str| format!("{base}/api/v1/blobs/{}", id.to_hex());
    let send = |client: &reqwest::blocking::Client, base: &str, from: usize| {
        client
            .patch(url(base))
            .bearer_auth(&enrollment.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", from)
            .body(data[from..from + CHUNK].to_vec())
            .send()
    };
    let created = client
        .post(url(&doomed.url))
        .bearer_auth(&enrollment.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", data.len())
        .send()
        .expect("post");
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    for from in [0, CHUNK] {
        assert_eq!(
            send(&client, &doomed.url, from).expect("patch").status(),
            reqwest::StatusCode::NO_CONTENT
        );
    }
    // The third chunk's head and half its body reach the doomed instance,
    // which is killed before the rest arrives.
    {
        use std::io::Write;
        let address = doomed.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        write!(
            stream,
            "PATCH /api/v1/blobs/{} HTTP/1.1\r\nHost: {address}\r\n\
             Authorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\n\
             Content-Type: application/offset+octet-stream\r\n\
             Upload-Offset: {}\r\nContent-Length: {CHUNK}\r\n\r\n",
            id.to_hex(),
            enrollment.token,
            2 * CHUNK
        )
        .expect("head");
        stream
            .write_all(&data[2 * CHUNK..2 * CHUNK + CHUNK / 2])
            .expect("half a body");
        stream.flush().expect("flush");
        doomed.child.kill().expect("SIGKILL");
    }
    doomed.child.wait().expect("reaped");

    // The tablet's own client finishes through the other instance.
    let outcome = fieldloop_tablet::upload::upload_blob(
        &client,
        &kept.url,
        &enrollment.token,
        &blobs,
        &id,
        |_, _| {},
    )
    .expect("upload through the other instance");
    let total = data.len() as u64;
    assert_eq!(
        outcome.sent_bytes,
        total - 2 * CHUNK as u64,
        "resumed after the two counted chunks: the half-sent one again, nothing more"
    );
    let got = client
        .get(url(&kept.url))
        .bearer_auth(&enrollment.token)
        .send()
        .expect("get");
    assert_eq!(got.bytes().expect("bytes").to_vec(), data);
    assert_eq!(
        garage.keys(&bucket).expect("keys"),
        vec![format!("blobs/{}/{}", &id.to_hex()[..2], id.to_hex())],
        "nothing of the upload left"
    );
    assert_eq!(store.stale_uploads(i64::MAX, 10).expect("rows"), []);

    // A wrong key: `serve` says so and stops.
    let wrong = fieldloop_tests::server_command(Some(&database))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dirs[1].path())
        .args(["--blobs", &blobs_url])
        .env("AWS_ACCESS_KEY_ID", &key[0].1)
        .env("AWS_SECRET_ACCESS_KEY", "0".repeat(64))
        .output()
        .expect("serve");
    assert!(!wrong.status.success());
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert!(said.contains("cannot reach the blob store"), "{said}");
    // No key at all: said before anything is asked of the store.
    let keyless = fieldloop_tests::server_command(Some(&database))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dirs[1].path())
        .args(["--blobs", &blobs_url])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .expect("serve");
    assert!(!keyless.status.success());
    let said = String::from_utf8_lossy(&keyless.stderr);
    assert!(
        said.contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{said}"
    );
}

/// Under load (the load generator's tablets, every request to the next of
/// two real server processes, a quarter of the syncs pushing an edit), one
/// instance is SIGKILLed and started again, then PostgreSQL is killed
/// (recovery from its WAL) and started again: syncs fail meanwhile, and
/// every edit the server acknowledged to a tablet is in the database.
#[test]
fn an_instance_killed_and_the_database_restarted_under_load_lose_nothing_acknowledged() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["--postgres", "--instances", "2", "--faults"])
        .args(["--tablets", "40", "--rate", "80", "--edit-percent", "25"])
        .args(["--quiet-seconds", "1", "--seconds", "8"])
        .output()
        .expect("run the load generator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the load generator failed:\n{stdout}\n{}",
        stderr.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("faults: "))
        .unwrap_or_else(|| panic!("no faults line:\n{stdout}"));
    let number_before = |marker: &str| -> usize {
        let head = line.split(marker).next().expect("marker");
        let word = head.split_whitespace().last().expect("a number");
        word.parse()
            .unwrap_or_else(|_| panic!("{word:?} before {marker:?} in {line}"))
    };
    // The faults hit syncs, and acknowledged edits were there to check.
    assert!(number_before(" syncs failed") > 0, "{line}");
    assert!(number_before(" tablets (") >= 10, "{line}");
}
