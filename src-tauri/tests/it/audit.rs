//! `audit_check`: the check of the server's receipt log, as a command.

use serde_json::json;

use crate::{app, invoke};

#[test]
fn audit_check_on_a_tablet_not_enrolled_says_so_with_its_code() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_app, window) = app(dir.path());
    let error = invoke(&window, "audit_check", json!({})).expect_err("not enrolled");
    assert_eq!(error["code"], "sync.not_enrolled", "{error}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
}
