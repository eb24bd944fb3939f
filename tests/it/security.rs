//! The wire and the tablet against a hostile world: HTTPS with the key
//! pinned at enrollment, tokens that expire and are replaced on sync,
//! security headers, and a revoked tablet that erases itself.

use std::time::Duration;

use fieldloop_core::ErrorCode;
use fieldloop_core::enroll::{EnrollTarget, KeyPin};
use fieldloop_core::sync::{self as wire, PROTOCOL_VERSION, SyncRequest, SyncResponse};
use fieldloop_server::limits::Limits;
use fieldloop_tablet::store::Store as TabletStore;
use fieldloop_tablet::sync::{HttpTransport, Transport, enroll_pinned, keys};
use fieldloop_tests::{NOW, TestServer};

/// A server over HTTPS with a self-signed certificate made in its data folder.
fn tls_server(limits: Limits) -> (TestServer, fieldloop_server::tls::Identity) {
    let dir = tempfile::tempdir().expect("tempdir");
    let hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let identity = fieldloop_server::tls::self_signed(dir.path(), &hosts).expect("identity");
    let server = TestServer::start_in(dir, 3, limits, Some(identity.config.clone()));
    (server, identity)
}

fn empty_request(rotate: bool) -> Vec<u8> {
    wire::encode(&SyncRequest {
        v: PROTOCOL_VERSION,
        cursor: 0,
        docs: Vec::new(),
        directory: None,
        rotate,
        done: None,
    })
}

/// Returns once the server's clock has moved past the current millisecond,
/// so that a zero lifetime or grace period has surely passed.
fn past_this_millisecond() {
    let start = fieldloop_server::now_ms();
    while fieldloop_server::now_ms() <= start {
        std::thread::yield_now();
    }
}

fn answer(bytes: &[u8]) -> SyncResponse {
    wire::decode(bytes).expect("a sync answer")
}

#[test]
fn a_pinned_tablet_talks_only_to_the_key_it_was_enrolled_with() {
    let (server, identity) = tls_server(Limits::default());
    assert!(server.url.starts_with("https://"));
    let link = EnrollTarget::pinned_link(&server.url, "X", &[identity.pin]);
    assert!(link.contains("pin=sha256%3A"), "{link}");

    // A wrong pin: nothing is sent, so the code still works afterwards.
    let code = server.code_for("I-001", fieldloop_server::now_ms());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = TabletStore::open(dir.path()).expect("store");
    let stranger = KeyPin::of_spki(b"somebody else's key");
    let err = enroll_pinned(&mut store, &server.url, &code, "平板", &[stranger])
        .expect_err("the server's key is not the pinned one");
    assert_eq!(err.code(), ErrorCode::SyncKeyMismatch);
    let said = err.to_string();
    assert!(
        said.contains(&stranger.to_string()) && said.contains(&identity.pin.to_string()),
        "the error names the pinned and the presented key: {said}"
    );
    assert_eq!(store.setting(keys::TOKEN).expect("read"), None);

    // The right pin: enrolled, pinned, and syncing over TLS.
    enroll_pinned(&mut store, &server.url, &code, "平板", &[identity.pin]).expect("enrolled");
    assert_eq!(
        store.setting(keys::PINS).expect("read"),
        Some(identity.pin.to_string())
    );
    let transport = HttpTransport::from_store(&store).expect("transport");
    let report =
        fieldloop_tablet::sync::sync_now(&mut store, &transport, NOW, |_| {}).expect("sync");
    assert!(report.added > 0, "tasks arrived over TLS: {report:?}");

    // The same key in a renewed certificate: still trusted.
    let key_pem = std::fs::read_to_string(server.dir.path().join("tls/key.pem")).expect("key");
    let key = rcgen::KeyPair::from_pem(&key_pem).expect("key pair");
    let renewed = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("renewed");
    let other_dir = tempfile::tempdir().expect("tempdir");
    let cert_path = other_dir.path().join("renewed.pem");
    std::fs::write(&cert_path, renewed.pem()).expect("write");
    let renewed_identity =
        fieldloop_server::tls::load(&cert_path, &server.dir.path().join("tls/key.pem"))
            .expect("renewed identity");
    assert_eq!(renewed_identity.pin, identity.pin);
    let renewed_server = TestServer::start_in(
        other_dir,
        0,
        Limits::default(),
        Some(renewed_identity.config),
    );
    let token = store.setting(keys::TOKEN).expect("read").expect("token");
    let to_renewed =
        HttpTransport::new(&renewed_server.url, &token, &[identity.pin]).expect("transport");
    // Through TLS to the server, which does not know this tablet.
    let err = to_renewed
        .exchange(empty_request(false))
        .expect_err("unknown here");
    assert_eq!(err.code(), ErrorCode::AuthBadToken, "{err}");

    // Redirected to a server with another key: refused, naming both keys.
    let (impostor, impostor_identity) = tls_server(Limits::default());
    let to_impostor =
        HttpTransport::new(&impostor.url, &token, &[identity.pin]).expect("transport");
    let err = to_impostor
        .exchange(empty_request(false))
        .expect_err("refused");
    assert_eq!(err.code(), ErrorCode::SyncKeyMismatch);
    assert!(
        err.to_string().contains(&impostor_identity.pin.to_string()),
        "{err}"
    );

    // A plain-HTTP server where the pinned one should be: no secure
    // connection, said as such; and a plain http:// address is refused
    // before anything is sent.
    let plain = TestServer::start(0, Limits::default());
    let address = plain.url.trim_start_matches("http://");
    let as_https = HttpTransport::new(&format!("https://{address}"), &token, &[identity.pin])
        .expect("transport");
    let err = as_https
        .exchange(empty_request(false))
        .expect_err("not TLS");
    assert_eq!(err.code(), ErrorCode::SyncTls, "{err}");
    assert!(err.to_string().contains(&identity.pin.to_string()), "{err}");
    let err = HttpTransport::new(&plain.url, &token, &[identity.pin]).expect_err("plain http");
    assert_eq!(err.code(), ErrorCode::SyncPlainHttp);
}

#[test]
fn tokens_are_replaced_on_sync_and_the_old_one_lapses() {
    // Every sync replaces the token; a replaced one is kept for a minute.
    let limits = Limits {
        token_rotate_after: Duration::ZERO,
        token_grace: Duration::from_secs(60),
        ..Limits::default()
    };
    let server = TestServer::start(3, limits);
    let mut tablet = fieldloop_tests::Tablet::enroll(&server, "I-001");
    let first = tablet.enrollment.token.clone();
    tablet.sync().expect("sync");
    let second = tablet
        .store
        .setting(keys::TOKEN)
        .expect("read")
        .expect("token");
    assert_ne!(second, first, "the answer carried a new token, kept");
    // Both work now; the first, presented again, is replaced once more (the
    // new one might never have arrived) and stays within its own grace.
    let with_first = HttpTransport::new(&server.url, &first, &[]).expect("transport");
    let again = answer(&with_first.exchange(empty_request(true)).expect("grace"));
    let third = again.token.expect("another new token");
    assert!(third != first && third != second);
    // A client that does not ask for new tokens is never sent one.
    let with_third = HttpTransport::new(&server.url, &third, &[]).expect("transport");
    assert_eq!(
        answer(&with_third.exchange(empty_request(false)).expect("sync")).token,
        None
    );
    // The tablet's own token (`second`) was replaced by `third`, not kept:
    // a token nobody holds any more is refused.
    let with_second = HttpTransport::new(&server.url, &second, &[]).expect("transport");
    assert_eq!(
        with_second
            .exchange(empty_request(true))
            .expect_err("lost")
            .code(),
        ErrorCode::AuthBadToken
    );

    // Without a grace period the replaced token lapses at once.
    let strict = TestServer::start(
        3,
        Limits {
            token_rotate_after: Duration::ZERO,
            token_grace: Duration::ZERO,
            ..Limits::default()
        },
    );
    let mut tablet = fieldloop_tests::Tablet::enroll(&strict, "I-001");
    let old = tablet.enrollment.token.clone();
    tablet
        .sync()
        .expect("sync with the new token after the first answer");
    past_this_millisecond();
    let with_old = HttpTransport::new(&strict.url, &old, &[]).expect("transport");
    let err = with_old.exchange(empty_request(true)).expect_err("lapsed");
    assert_eq!(err.code(), ErrorCode::AuthExpired, "{err}");

    // A token past its lifetime: enroll again.
    let short = TestServer::start(
        3,
        Limits {
            token_lifetime: Duration::ZERO,
            ..Limits::default()
        },
    );
    let mut tablet = fieldloop_tests::Tablet::enroll(&short, "I-001");
    past_this_millisecond();
    let err = tablet.sync().expect_err("expired");
    assert_eq!(err.code(), ErrorCode::AuthExpired);
    assert!(err.to_string().contains("enroll"), "{err}");
}

#[test]
fn answers_carry_security_headers_and_evidence_is_revalidated() {
    let server = TestServer::start(3, Limits::default());
    let tablet = fieldloop_tests::Tablet::enroll(&server, "I-001");
    let client = reqwest::blocking::Client::new();
    let health = client
        .get(format!("{}/healthz", server.url))
        .send()
        .expect("healthz");
    let headers = health.headers().clone();
    let body: serde_json::Value = health.json().expect("json");
    assert_eq!(body, serde_json::json!({ "status": "ok" }), "no version");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");

    // The token answer and a refused one are never cached.
    let refused = client
        .post(format!("{}/api/v1/enroll", server.url))
        .json(&serde_json::json!({ "code": "WRONG", "device_name": "x" }))
        .send()
        .expect("enroll");
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.headers()["cache-control"], "no-store");
    assert_eq!(refused.headers()["referrer-policy"], "no-referrer");

    // Evidence: the tablet's own cache only, checked before each use.
    let blobs =
        fieldloop_tablet::blobs::BlobStore::open(tablet.path().join("blobs")).expect("blobs");
    let id = blobs.put(b"evidence bytes").expect("put");
    fieldloop_tablet::upload::upload_blob(
        &client,
        &server.url,
        &tablet.enrollment.token,
        &blobs,
        &id,
        |_, _| {},
    )
    .expect("upload");
    let url = format!("{}/api/v1/blobs/{id}", server.url);
    let got = client
        .get(&url)
        .bearer_auth(&tablet.enrollment.token)
        .send()
        .expect("get");
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["cache-control"], "private, no-cache");
    let etag = got.headers()["etag"].to_str().expect("etag").to_owned();
    assert_eq!(etag, format!("\"{id}\""));
    let check = client
        .get(&url)
        .bearer_auth(&tablet.enrollment.token)
        .header("if-none-match", &etag)
        .send()
        .expect("check");
    assert_eq!(check.status(), 304);
    assert!(check.bytes().expect("body").is_empty());
    // The check is a request like any other: without a token, refused.
    let anonymous = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .expect("check");
    assert_eq!(anonymous.status(), 401);
}

#[test]
fn a_revoked_tablet_erases_itself_naming_the_work_that_goes() {
    let server = TestServer::start(3, Limits::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut tablet = fieldloop_tablet::inspect::Tablet::open(dir.path()).expect("tablet");
    let code = server.code_for("I-001", fieldloop_server::now_ms());
    tablet
        .enroll(&EnrollTarget::link(&server.url, &code), None, "平板")
        .expect("enroll");
    let blobs = fieldloop_tablet::blobs::BlobStore::open_for(dir.path()).expect("blobs");
    fieldloop_tablet::background::sync_tablet(&mut tablet.store, &blobs, &mut |_| {})
        .expect("first sync");
    let rows = tablet
        .store
        .list_tasks(&fieldloop_tablet::TaskQuery::default())
        .expect("list");
    let row = rows.first().expect("a task").clone();
    let task = tablet
        .store
        .open_task(&row.id)
        .expect("open")
        .task()
        .expect("task");
    let item = task.checklist.keys().next().expect("an item").clone();
    tablet
        .answer(
            &row.id,
            NOW,
            &item,
            Some(fieldloop_core::Outcome::Fail),
            None,
            Some("门口堆放杂物"),
        )
        .expect("answer");
    assert!(tablet.unsynced_work().expect("work").tasks.len() == 1);

    // The administrator revokes the tablet; its next contact learns it.
    let device = tablet
        .store
        .setting(keys::DEVICE)
        .expect("read")
        .expect("device");
    server
        .store
        .revoke_device(&device, fieldloop_server::now_ms())
        .expect("revoke");
    let err = fieldloop_tablet::background::sync_tablet(&mut tablet.store, &blobs, &mut |_| {})
        .expect_err("revoked");
    assert_eq!(err.code(), ErrorCode::AuthRevoked);
    drop(blobs);

    // The web view keeps its own data in the same app folder on Linux.
    let web_view = dir.path().join("WebKitCache");
    std::fs::create_dir_all(&web_view).expect("web view folder");
    std::fs::write(web_view.join("index"), b"web view state").expect("web view file");
    let work = tablet.wipe().expect("wiped");
    assert!(
        web_view.join("index").exists(),
        "only Fieldloop's own files are erased"
    );
    assert_eq!(work.tasks.len(), 1);
    assert_eq!(work.tasks[0].code, row.code);
    assert_eq!(work.tasks[0].subject_name, row.subject_name);
    assert_eq!(tablet.identity().expect("identity"), None, "unenrolled");
    assert_eq!(tablet.store.task_count().expect("count"), 0);
    // Nothing of the record is left in any file of the data folder.
    let mut left = Vec::new();
    for entry in walk(dir.path()) {
        left.extend(std::fs::read(&entry).expect("read"));
    }
    for secret in [
        row.uscc.as_bytes(),
        row.subject_name.as_bytes(),
        "门口堆放杂物".as_bytes(),
    ] {
        assert!(
            !left.windows(secret.len()).any(|w| w == secret),
            "{} survived the wipe",
            String::from_utf8_lossy(secret)
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn refused_credentials_are_logged_with_address_never_the_secret() {
    use std::io::BufRead as _;
    use std::process::{Command, Stdio};
    fieldloop_tablet::tls::install_crypto();
    let data = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(fieldloop_tests::process::target_binary("fieldloop-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--demo", "--data"])
        .arg(data.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server");
    let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut url = None;
    for line in stdout.lines().map_while(Result::ok) {
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = rest.split_whitespace().next().map(str::to_owned);
            break;
        }
    }
    let url = url.expect("the server says where it listens");
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let mut log = sink.lock().unwrap_or_else(|p| p.into_inner());
            log.push_str(&line);
            log.push('\n');
        }
    });

    let client = reqwest::blocking::Client::new();
    let secret = "c0ffee".repeat(10);
    let refused = client
        .post(format!("{url}/api/v1/sync"))
        .bearer_auth(&secret)
        .body(empty_request(true))
        .send()
        .expect("sync");
    assert_eq!(refused.status(), 401);
    let password = "not-the-password-123";
    let refused = client
        .post(format!("{url}/api/v1/console/login"))
        .json(&serde_json::json!({ "user": "S-001", "password": password }))
        .send()
        .expect("login");
    assert_eq!(refused.status(), 401);

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if (text.contains("device credential refused") && text.contains("console sign-in refused"))
            || std::time::Instant::now() > deadline
        {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    let device_line = text
        .lines()
        .find(|l| l.contains("device credential refused"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{text}"));
    assert!(
        device_line.contains("auth.bad_token") && device_line.contains("127.0.0.1"),
        "{device_line}"
    );
    let login_line = text
        .lines()
        .find(|l| l.contains("console sign-in refused"))
        .unwrap_or_else(|| panic!("no sign-in refusal logged:\n{text}"));
    assert!(
        login_line.contains("S-001") && login_line.contains("127.0.0.1"),
        "{login_line}"
    );
    assert!(!text.contains(&secret), "the token is never logged");
    assert!(!text.contains(password), "the password is never logged");
}
