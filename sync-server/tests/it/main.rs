//! The real `fieldloop-server` binary, started as a user would start it.

mod admin;
mod blobs;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// Starts `serve` on port 0 and returns the child and the address it printed.
fn start(data: &std::path::Path) -> (std::process::Child, String) {
    start_on(data, None)
}

/// [`start`] with the records in the PostgreSQL database `database`.
fn start_on(data: &std::path::Path, database: Option<&str>) -> (std::process::Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fieldloop-server"));
    match database {
        Some(url) => command.env("FIELDLOOP_DATABASE", url),
        None => command.env_remove("FIELDLOOP_DATABASE"),
    };
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut line).expect("banner");
    // Keep reading what the server prints later, as a terminal would.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in banner: {line}"))
        .to_owned();
    (child, addr)
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn serve_creates_its_data_folder_answers_healthz_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("server-data");
    let (mut child, addr) = start(&data);
    assert!(data.is_dir(), "data folder created");
    let response = get(&addr, "/healthz");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""status":"ok""#), "{response}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
}

#[test]
fn two_instances_on_postgresql_share_the_records_and_stop_cleanly_on_sigterm() {
    let cluster = fieldloop_server::store::postgres::cluster::TestCluster::start()
        .expect("PostgreSQL (cargo xtask setup installs it)");
    let url = cluster.create_database().expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    // `migrate` first, as docs/deploy.md says; then two instances.
    let migrate = Command::new(env!("CARGO_BIN_EXE_fieldloop-server"))
        .env("FIELDLOOP_DATABASE", &url)
        .args(["migrate", "--data"])
        .arg(dir.path().join("a"))
        .output()
        .expect("migrate");
    assert!(
        migrate.status.success()
            && String::from_utf8_lossy(&migrate.stdout).contains("database up to date"),
        "{migrate:?}"
    );
    let (mut a, addr_a) = start_on(&dir.path().join("a"), Some(&url));
    let (mut b, addr_b) = start_on(&dir.path().join("b"), Some(&url));
    for addr in [&addr_a, &addr_b] {
        let response = get(addr, "/healthz");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    // A user added through one instance's CLI is the other's too: sign in on b.
    let mut add = Command::new(env!("CARGO_BIN_EXE_fieldloop-server"))
        .env("FIELDLOOP_DATABASE", &url)
        .args([
            "user",
            "add",
            "--id",
            "A-1",
            "--name",
            "管理员",
            "--role",
            "admin",
            "--data",
        ])
        .arg(dir.path().join("a"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("user add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(b"a long enough password\n")
        .expect("password");
    assert!(add.wait().expect("wait").success());
    let body = r#"{"user":"A-1","password":"a long enough password"}"#;
    let mut stream = TcpStream::connect(&addr_b).expect("connect");
    write!(
        stream,
        "POST /api/v1/console/login HTTP/1.1\r\nHost: {addr_b}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // Both stop cleanly: closing the database's clients at shutdown must
    // not nest a runtime in the server's.
    for child in [&mut a, &mut b] {
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = child.wait().expect("wait");
        assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
    }
}

#[test]
fn a_busy_address_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_fieldloop-server"))
        .args(["serve", "--listen", &addr, "--data"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}
