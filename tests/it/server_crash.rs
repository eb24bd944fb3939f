//! The real server binary SIGKILLed in the middle of a sync load, then
//! restarted on the same data: nothing it acknowledged is lost, and the
//! tablets carry on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use fieldloop_core::GeoPoint;
use fieldloop_server::store::Store;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_tablet::store::TaskQuery;
use fieldloop_tablet::sync::{HttpTransport, keys, sync_now};
use fieldloop_tests::NOW;
use fieldloop_tests::process::ServerProcess;

#[test]
fn sigkill_during_a_sync_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server");
    let mut server = ServerProcess::start(&data, "127.0.0.1:0", true);
    let url = server.url.clone();
    let code = {
        let store = SqliteStore::open(&data).expect("store");
        fieldloop_server::enroll::issue_code(&store, "I-001", fieldloop_server::now_ms(), 3_600_000)
            .expect("code")
    };
    let tablet_dir = tempfile::tempdir().expect("tempdir");
    let mut tablet = fieldloop_tablet::store::Store::open(tablet_dir.path()).expect("tablet");
    let enrollment =
        fieldloop_tablet::sync::enroll(&mut tablet, &url, &code, "平板").expect("enroll");
    let transport = HttpTransport::from_store(&tablet).expect("transport");
    sync_now(&mut tablet, &transport, NOW, |_| {}).expect("first sync");
    let author = enrollment.author().expect("enrolled actor");
    let id = tablet
        .list_tasks(&TaskQuery {
            limit: Some(100),
            ..Default::default()
        })
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .find(|id| {
            tablet
                .open_task(id)
                .expect("o")
                .task()
                .expect("t")
                .inspectors
                .contains(&"I-001".to_string())
        })
        .expect("a task of I-001");

    // Edit and sync as fast as possible; remember what the server acknowledged.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (acked, stop, id) = (acked.clone(), stop.clone(), id.clone());
        std::thread::spawn(move || {
            let transport = HttpTransport::from_store(&tablet).expect("transport");
            let mut stamp = 0;
            while !stop.load(Ordering::SeqCst) && stamp < 2_000 {
                stamp += 1;
                let point = (
                    stamp,
                    GeoPoint {
                        lat: 25.6,
                        lon: 115.3,
                    },
                    5.0,
                );
                tablet
                    .edit(&id, NOW, |d| d.add_trace(&author, NOW, &[point]))
                    .expect("edit");
                if sync_now(&mut tablet, &transport, NOW, |_| {}).is_ok() {
                    acked.lock().expect("lock").push(stamp);
                }
            }
            tablet
        })
    };
    while acked.lock().expect("lock").len() < 15 {
        std::thread::yield_now();
    }
    server.kill();
    let acknowledged = acked.lock().expect("lock").clone();
    stop.store(true, Ordering::SeqCst);
    let mut tablet = worker.join().expect("worker");

    // Restart on the same data: every acknowledged point is there.
    let server = ServerProcess::start(&data, "127.0.0.1:0", false);
    let url = server.url.clone();
    {
        let store = SqliteStore::open(&data).expect("store");
        let doc = fieldloop_core::TaskDoc::load(&store.task(&id).expect("read").expect("task").doc)
            .expect("doc");
        let on_server: Vec<i64> = doc
            .task()
            .expect("task")
            .trace
            .iter()
            .map(|p| p.t)
            .collect();
        for stamp in &acknowledged {
            assert!(
                on_server.contains(stamp),
                "acknowledged edit {stamp} lost; server has {on_server:?}"
            );
        }
        assert!(
            fieldloop_server::store::verify_receipts(&store.receipts().expect("receipts")).is_ok()
        );
    }
    // The tablet resumes: everything it wrote reaches the server.
    tablet.set_setting(keys::SERVER, &url).expect("new address");
    let transport = HttpTransport::from_store(&tablet).expect("transport");
    sync_now(&mut tablet, &transport, NOW, |_| {}).expect("resume");
    let store = SqliteStore::open(&data).expect("store");
    let mut on_server =
        fieldloop_core::TaskDoc::load(&store.task(&id).expect("read").expect("task").doc)
            .expect("doc");
    assert_eq!(
        on_server.heads(),
        tablet.open_task(&id).expect("tablet").heads()
    );
    drop(server);
}
