//! The administration commands, run as the real binary on temp dirs:
//! `import` (the demo assets, bad CSV files) and `task create`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fieldloop_core::{Status, TaskDoc, Uscc};
use fieldloop_server::store::Store;
use fieldloop_server::store::sqlite::SqliteStore;

const KINDS: [&str; 7] = [
    "departments",
    "industries",
    "teams",
    "inspectors",
    "subjects",
    "items",
    "handbooks",
];

fn demo_file(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/demo")
        .join(format!("{kind}.json"))
}

fn server(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fieldloop-server"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run fieldloop-server")
}

fn import(data: &Path, files: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fieldloop-server"))
        .arg("import")
        .arg("--data")
        .arg(data)
        .args(files)
        .output()
        .expect("run fieldloop-server import")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The summary line of `kind`: (total, added, updated, unchanged).
fn counts(stdout: &str, kind: &str) -> (usize, usize, usize, usize) {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(kind))
        .unwrap_or_else(|| panic!("no line for {kind} in:\n{stdout}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    (numbers[0], numbers[1], numbers[2], numbers[3])
}

fn import_demo(data: &Path) {
    let files: Vec<PathBuf> = KINDS.iter().map(|k| demo_file(k)).collect();
    let out = import(data, &files);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn the_demo_assets_import_cleanly_and_again_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // Reversed order on purpose: kinds are told by file name, not by position.
    let files: Vec<PathBuf> = KINDS.iter().rev().map(|k| demo_file(k)).collect();

    let first = import(&data, &files);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let stdout = text(&first.stdout);
    assert_eq!(counts(&stdout, "subjects"), (200, 200, 0, 0));
    assert_eq!(counts(&stdout, "inspectors"), (14, 14, 0, 0));
    assert_eq!(counts(&stdout, "handbooks"), (10, 10, 0, 0));

    let second = import(&data, &files);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let stdout = text(&second.stdout);
    for kind in KINDS {
        let (total, added, updated, unchanged) = counts(&stdout, kind);
        assert_eq!((added, updated), (0, 0), "{kind}: {stdout}");
        assert_eq!(unchanged, total, "{kind}");
    }

    let store = SqliteStore::open(&data).expect("store");
    let team = store.team("T-QX-01").expect("read").expect("team");
    assert_eq!(team.departments, ["SCJG", "YJGL", "ZJ", "XFJY"]);
    let handbook = store.handbook("catering").expect("read").expect("handbook");
    assert_eq!(handbook.lead_department, "SCJG");
}

#[test]
fn bad_csv_rows_are_all_reported_by_line_and_nothing_is_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let csv = dir.path().join("csv");
    std::fs::create_dir_all(&csv).expect("mkdir");
    // Line 4: a typo in the check character; everything else is valid.
    std::fs::write(
        csv.join("subjects.csv"),
        "uscc,name,address,industry,risk_class,lat,lon,legal_rep\n\
         92360736MA36XJ6832,青溪县同心土菜馆,青溪大道8号,catering,A,25.630446,115.344919,郭志明\n\
         92360736MA385BH132,青溪县张记米粉店,中山街10号,catering,C,25.737552,115.307746,张爱华\n\
         92360736MA386K9Q7B,青溪县华鑫快餐店,河堤路122号,catering,B,25.7,115.3,刘华\n",
    )
    .expect("write");
    // Line 6: a team that exists nowhere.
    std::fs::write(
        csv.join("inspectors.csv"),
        "id,name,badge_no,department,team\n\
         I-101,甲,36073601101,SCJG,T-QX-01\n\
         I-102,乙,36073601102,SCJG,T-QX-01\n\
         I-103,丙,36073603101,YJGL,T-QX-01\n\
         I-104,丁,36073606101,ZJ,T-QX-01\n\
         I-105,戊,36073601105,SCJG,T-QX-99\n",
    )
    .expect("write");
    let mut files: Vec<PathBuf> = ["departments", "industries", "teams"]
        .iter()
        .map(|k| demo_file(k))
        .collect();
    files.push(csv.join("subjects.csv"));
    files.push(csv.join("inspectors.csv"));

    let out = import(&data, &files);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("2 处问题，未导入任何数据"), "{stderr}");
    assert!(stderr.contains("subjects.csv 第 4 行 (line 4)"), "{stderr}");
    assert!(stderr.contains("校验位"), "{stderr}");
    assert!(
        stderr.contains("inspectors.csv 第 6 行 (line 6)"),
        "{stderr}"
    );
    assert!(stderr.contains("T-QX-99"), "{stderr}");
    assert_eq!(stderr.lines().count(), 3, "{stderr}");
    assert!(out.stdout.is_empty());

    // Nothing at all was written, not even the valid files and rows.
    let store = SqliteStore::open(&data).expect("store");
    assert_eq!(store.department("SCJG").expect("read"), None);
    assert_eq!(store.team("T-QX-01").expect("read"), None);
    assert_eq!(store.inspector("I-101").expect("read"), None);
    let valid = Uscc::parse("92360736MA36XJ6832").expect("uscc");
    assert_eq!(store.subject(&valid).expect("read"), None);
    drop(store);

    // Fixed, the same files import.
    std::fs::write(
        csv.join("inspectors.csv"),
        "id,name,badge_no,department,team\nI-101,甲,36073601101,SCJG,T-QX-01\nI-102,乙,36073601102,SCJG,T-QX-01\n",
    )
    .expect("write");
    files.retain(|f| !f.ends_with("subjects.csv"));
    let out = import(&data, &files);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(counts(&text(&out.stdout), "inspectors"), (2, 2, 0, 0));
}

/// `task create` with the demo people, `changes` replacing the defaults.
fn create(data: &Path, changes: &[&str]) -> Output {
    let mut options = vec![
        ("--subject", "92360736MA36XJ6832"),
        ("--team", "T-QX-01"),
        ("--inspectors", "I-001,I-002"),
        ("--start", "2026-12-01"),
        ("--due", "2026-12-15"),
    ];
    for change in changes.chunks(2) {
        let (flag, value) = (change[0], change[1]);
        match options.iter_mut().find(|(f, _)| *f == flag) {
            Some(option) => option.1 = value,
            None => options.push((flag, value)),
        }
    }
    let mut args = vec!["task", "create"];
    args.extend(options.iter().flat_map(|(f, v)| [*f, *v]));
    server(&args, data)
}

/// The value after `label` on a line of `stdout`.
fn field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find(|l| l.contains(label))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no {label} in:\n{stdout}"))
        .to_owned()
}

#[test]
fn task_create_stores_an_assigned_task_from_the_handbook() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    import_demo(&data);

    let out = create(&data, &["--inspectors", "I-001,I-002,I-003"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let id = field(&stdout, "任务 id");
    let code = field(&stdout, "code:");
    let verify = field(&stdout, "verify code:");
    assert_eq!(code, "JX-2026-000001");
    assert_eq!(field(&stdout, "verify URL path:"), format!("/v/{verify}"));
    assert!(verify.len() >= 20, "{verify}");

    let store = SqliteStore::open(&data).expect("store");
    let stored = store.task(&id).expect("read").expect("the task is stored");
    assert_eq!(stored.team, "T-QX-01");
    let doc = TaskDoc::load(&stored.doc).expect("a valid task document");
    assert_eq!(doc.status().expect("status"), Status::Assigned);
    let task = doc.task().expect("task");
    assert_eq!(task.code, code);
    assert_eq!(task.verify_code, verify);
    assert_eq!(task.inspectors, ["I-001", "I-002", "I-003"]);
    let handbook = store.handbook("catering").expect("read").expect("handbook");
    assert_eq!(task.checklist.len(), handbook.items.len());
    assert_eq!(task.departments, handbook.departments);
    assert!(task.window.start < task.window.due);
    let receipts = store.receipts().expect("receipts");
    assert_eq!(fieldloop_server::store::verify_receipts(&receipts), Ok(1));
    drop(store);

    let out = create(&data, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(field(&stdout, "code:"), "JX-2026-000002");
    assert_ne!(field(&stdout, "verify code:"), verify);
}

#[test]
fn task_create_refuses_bad_input_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    import_demo(&data);
    let cases: [(&[&str], &str); 8] = [
        (&["--subject", "92360736MA36XJ6833"], "校验位"),
        (&["--subject", "91350100M000100Y43"], "no subject with USCC"),
        (&["--team", "T-QX-09"], "no team T-QX-09"),
        (&["--inspectors", "I-001,I-077"], "no inspector I-077"),
        (&["--inspectors", "I-001,I-006"], "is in team T-QX-02"),
        (&["--inspectors", "I-001"], "at least 2 inspectors"),
        (&["--due", "2026-11-30"], "before the start"),
        (&["--start", "2026-02-30"], "not a date"),
    ];
    for (extra, expected) in cases {
        let out = create(&data, extra);
        assert!(!out.status.success(), "{extra:?} was accepted");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert!(!stderr.contains("backtrace"), "{stderr}");
    }
    let store = SqliteStore::open(&data).expect("store");
    assert_eq!(store.feed_end().expect("feed"), 0, "no task stored");
    assert!(store.receipts().expect("receipts").is_empty());
    assert!(store.task_codes("").expect("codes").is_empty());
}

/// `user add` with `password` on standard input.
fn user_add(data: &Path, args: &[&str], password: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldloop-server"))
        .args(["user", "add", "--data"])
        .arg(data)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run fieldloop-server user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write the password");
    child.wait_with_output().expect("wait")
}

#[test]
fn user_add_creates_console_accounts_with_hashed_passwords_and_says_what_is_wrong() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let imported = import(data, &[demo_file("departments"), demo_file("teams")]);
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let supervisor = [
        "--id",
        "S-007",
        "--name",
        "李主管",
        "--role",
        "supervisor",
        "--team",
        "T-QX-01",
    ];

    let short = user_add(data, &supervisor, "short");
    assert!(!short.status.success());
    assert!(
        text(&short.stderr).contains("at least 10 characters"),
        "{}",
        text(&short.stderr)
    );
    let no_team = user_add(
        data,
        &["--id", "S-008", "--name", "x", "--role", "supervisor"],
        "long enough pw",
    );
    assert!(
        text(&no_team.stderr).contains("at least one team"),
        "{}",
        text(&no_team.stderr)
    );
    let unknown_team = user_add(
        data,
        &[
            "--id",
            "S-008",
            "--name",
            "x",
            "--role",
            "supervisor",
            "--team",
            "T-NONE",
        ],
        "long enough pw",
    );
    assert!(
        text(&unknown_team.stderr).contains("no team T-NONE"),
        "{}",
        text(&unknown_team.stderr)
    );

    let added = user_add(data, &supervisor, "a long passphrase");
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(
        text(&added.stdout).contains("S-007"),
        "{}",
        text(&added.stdout)
    );
    let again = user_add(data, &supervisor, "another passphrase");
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );

    let store = SqliteStore::open(data).expect("store");
    let account = store
        .console_account("S-007")
        .expect("read")
        .expect("S-007");
    assert_eq!(account.user.teams, ["T-QX-01"]);
    assert!(account.password_hash.starts_with("$argon2id$"));
    assert!(!account.password_hash.contains("a long passphrase"));
    assert!(fieldloop_server::console::verify_password(
        "a long passphrase",
        &account.password_hash
    ));
    // Nothing was kept of the refused attempts.
    assert!(store.console_account("S-008").expect("read").is_none());
}
