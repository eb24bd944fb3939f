//! A tablet of the squad running modified software, with a real device
//! token, pushes hand-built Automerge changes through the real server. Each
//! attack is refused with the code of the rule it breaks, nothing of it is
//! stored, a squad mate never sees it, and the attacker's tablet keeps the
//! refused edit aside (the write policy, `core/src/policy.rs`).

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc};
use fieldloop_core::{EventKind, Outcome, Role, Status};
use fieldloop_tests::{NOW, Tablet, TestServer};

use crate::sync::{complete_and_submit, review, shared_task};

/// The object at `path` (map keys) from the root.
fn obj(doc: &AutoCommit, path: &[&str]) -> ObjId {
    let mut at = ROOT;
    for key in path {
        at = doc
            .get(&at, *key)
            .expect("read")
            .unwrap_or_else(|| panic!("no {key}"))
            .1;
    }
    at
}

/// Makes one change on the tablet's copy behind the local rules' back,
/// as modified software would, with the tablet's own actor.
fn forge(t: &mut Tablet, id: &str, message: &str, edit: impl FnOnce(&mut AutoCommit)) {
    let actor = t.author().actor;
    t.store
        .edit(id, NOW, |d| {
            let doc = d.automerge();
            doc.set_actor(actor);
            edit(doc);
            doc.commit_with(CommitOptions::default().with_message(message));
            Ok(())
        })
        .expect("forged edit kept locally");
}

/// A squad of two on one shared task, both synced.
struct Squad {
    server: TestServer,
    a: Tablet,
    b: Tablet,
    id: String,
}

fn squad() -> Squad {
    let server = TestServer::start_demo();
    let mut a = Tablet::enroll(&server, "I-001");
    let mut b = Tablet::enroll(&server, "I-002");
    a.sync().expect("sync");
    b.sync().expect("sync");
    let id = shared_task(&a, &b);
    Squad { server, a, b, id }
}

impl Squad {
    /// The attacker's forged edit is refused with `code`, nothing is
    /// stored, the squad mate never sees it, and the attacker keeps it aside.
    fn refused(&mut self, code: &str, edit: impl FnOnce(&mut AutoCommit)) {
        let before = self.server.task(&self.id).heads();
        let receipts = fieldloop_server::store::Store::receipts(self.server.store.as_ref())
            .expect("receipts")
            .len();
        let kept = self.a.store.refused_edits(&self.id).expect("kept").len();
        forge(&mut self.a, &self.id, "篡改", edit);
        let refusal = self.a.sync_refused();
        assert_eq!(refusal.code, code, "{}", refusal.message);
        assert_eq!(refusal.task, self.id);
        assert_eq!(self.server.task(&self.id).heads(), before, "nothing stored");
        assert_eq!(
            fieldloop_server::store::Store::receipts(self.server.store.as_ref())
                .expect("receipts")
                .len(),
            receipts,
            "no receipt"
        );
        self.b.sync().expect("mate syncs");
        assert_eq!(
            self.b.store.open_task(&self.id).expect("open").heads(),
            before,
            "the mate never sees it"
        );
        assert_eq!(
            self.a.store.refused_edits(&self.id).expect("kept").len(),
            kept + 1,
            "the attacker's tablet keeps it aside"
        );
        assert_eq!(
            self.a.store.open_task(&self.id).expect("open").heads(),
            before,
            "and its copy is the server's again"
        );
    }
}

#[test]
fn the_fixed_parts_of_a_task_are_written_by_nobody_after_creation() {
    let mut s = squad();
    let item = s.server.task(&s.id).task().expect("task").items_in_order()[0]
        .0
        .clone();
    s.refused("policy.forbidden_field", |d| {
        let subject = obj(d, &["subject"]);
        d.put(&subject, "name", "另一家公司").expect("put");
    });
    s.refused("policy.forbidden_field", |d| {
        d.put(ROOT, "verify_code", "AAAAAAAAAAAAAAAAAAAA")
            .expect("put");
    });
    s.refused("policy.forbidden_field", |d| {
        let window = obj(d, &["window"]);
        d.put(&window, "due", NOW + 365 * 86_400_000).expect("put");
    });
    s.refused("policy.forbidden_field", |d| {
        let definition = obj(d, &["checklist", &item]);
        d.put(&definition, "requires_evidence", false).expect("put");
    });
    s.refused("policy.forbidden_field", |d| {
        let answer = obj(d, &["checklist", &item, "answer"]);
        d.put(&answer, "signed_off_by", "I-001").expect("put");
    });
}

#[test]
fn who_is_on_the_task_is_decided_by_the_server_copy() {
    let mut s = squad();
    // Adding oneself, removing the mate, deleting history: refused.
    s.refused("policy.forbidden_field", |d| {
        let inspectors = obj(d, &["inspectors"]);
        let n = d.length(&inspectors);
        d.insert(&inspectors, n, "I-009").expect("insert");
    });
    s.refused("policy.append_only", |d| {
        let inspectors = obj(d, &["inspectors"]);
        let mate = (0..d.length(&inspectors))
            .find(|&i| {
                d.get(&inspectors, i)
                    .ok()
                    .flatten()
                    .and_then(|(v, _)| v.into_string().ok())
                    .as_deref()
                    == Some("I-002")
            })
            .expect("the mate is listed");
        d.delete(&inspectors, mate).expect("delete");
    });
    let who = s.a.author();
    s.a.store
        .edit(&s.id, NOW, |d| d.check_in(&who, NOW, None))
        .expect("check in");
    s.a.sync().expect("sync");
    s.b.sync().expect("sync");
    s.refused("policy.append_only", |d| {
        let events = obj(d, &["events"]);
        let last = d.length(&events) - 1;
        d.delete(&events, last).expect("delete");
    });

    // An inspector of the team who is not on the task may not write it,
    // even by adding themself in the same change.
    let task = s.server.task(&s.id).task().expect("task");
    let outsider_id = (1..=20)
        .map(|n| format!("I-{n:03}"))
        .find(|id| {
            !task.inspectors.contains(id)
                && fieldloop_server::store::Store::inspector_team(s.server.store.as_ref(), id)
                    .expect("read")
                    .as_deref()
                    == Some(task.team.as_str())
        })
        .expect("a squad member not on the task");
    let mut outsider = Tablet::enroll(&s.server, &outsider_id);
    outsider.sync().expect("sync");
    let before = s.server.task(&s.id).heads();
    let item = task.items_in_order()[0].0.clone();
    forge(&mut outsider, &s.id, "自己加入任务", |d| {
        let inspectors = obj(d, &["inspectors"]);
        let n = d.length(&inspectors);
        d.insert(&inspectors, n, outsider_id.as_str())
            .expect("insert");
        let answer = obj(d, &["checklist", &item, "answer"]);
        d.put(&answer, "result", "pass").expect("put");
    });
    let refusal = outsider.sync_refused();
    assert_eq!(refusal.code, "policy.not_on_task");
    assert_eq!(s.server.task(&s.id).heads(), before);
}

#[test]
fn records_are_in_ones_own_name_and_never_rewritten() {
    let mut s = squad();
    let wb = s.b.author();
    s.b.store
        .edit(&s.id, NOW, |d| d.check_in(&wb, NOW, None))
        .expect("mate checks in");
    s.b.sync().expect("sync");
    s.a.sync().expect("sync");
    // Another's check-in rewritten, a check-in in the mate's name, another's
    // actors entry replaced: refused.
    s.refused("policy.append_only", |d| {
        let events = obj(d, &["events"]);
        let n = d.length(&events);
        let (_, last) = d.get(&events, n - 1).expect("read").expect("event");
        d.put(&last, "by", "I-001").expect("put");
    });
    s.refused("policy.not_yours", |d| {
        let events = obj(d, &["events"]);
        let n = d.length(&events);
        let event = d
            .insert_object(&events, n, automerge::ObjType::Map)
            .expect("insert");
        for (k, v) in [
            ("kind", "checked_in"),
            ("by", "I-002"),
            ("role", "inspector"),
        ] {
            d.put(&event, k, v).expect("put");
        }
        d.put(&event, "at", NOW).expect("put");
        d.put(&event, "comment", ()).expect("put");
        d.put(&event, "location", ()).expect("put");
    });
    s.refused("policy.append_only", |d| {
        let actors = obj(d, &["actors"]);
        let keys: Vec<String> = d.keys(&actors).collect();
        d.delete(&actors, keys[0].as_str()).expect("delete");
    });
}

#[test]
fn submitting_needs_the_record_and_the_status_the_server_has() {
    let mut s = squad();
    // `submitted` on an assigned task.
    let (who, mate) = (s.a.author(), s.b.author());
    let submit = |d: &mut AutoCommit| {
        let events = obj(d, &["events"]);
        let n = d.length(&events);
        let event = d
            .insert_object(&events, n, automerge::ObjType::Map)
            .expect("insert");
        for (k, v) in [
            ("kind", "submitted"),
            ("by", "I-001"),
            ("role", "inspector"),
        ] {
            d.put(&event, k, v).expect("put");
        }
        d.put(&event, "at", NOW).expect("put");
        d.put(&event, "comment", ()).expect("put");
        d.put(&event, "location", ()).expect("put");
    };
    s.refused("status.transition", submit);
    // One check-in and no answers: the fold would take it, the record does not.
    s.a.store
        .edit(&s.id, NOW, |d| d.check_in(&who, NOW, None))
        .expect("check in");
    s.a.sync().expect("sync");
    s.b.sync().expect("sync");
    s.refused("status.submit_problems", submit);
    assert_eq!(
        s.server.task(&s.id).status().expect("status"),
        Status::InProgress
    );
    let _ = mate;
}

#[test]
fn a_published_record_cannot_be_rewritten_by_choosing_old_dependencies() {
    let mut s = squad();
    let (supervisor, token) =
        fieldloop_server::review::add_supervisor(s.server.store.as_ref(), "S-001", "T-QX-01", NOW)
            .expect("supervisor");
    let _ = supervisor;
    let (wa, wb) = (s.a.author(), s.b.author());
    s.b.store
        .edit(&s.id, NOW, |d| d.check_in(&wb, NOW, None))
        .expect("check in");
    s.b.sync().expect("sync");
    s.a.sync().expect("sync");
    s.a.store
        .edit(&s.id, NOW, |d| d.check_in(&wa, NOW, None))
        .expect("check in");
    // B keeps a copy from before the submission and goes offline.
    complete_and_submit(&mut s.a, &s.id);
    s.a.sync().expect("submit");
    for action in ["approve", "publish"] {
        assert_eq!(review(&s.server, &token, &s.id, action, None).0, 200);
    }
    let published = s.server.task(&s.id).heads();
    let item = s.server.task(&s.id).task().expect("task").items_in_order()[0]
        .0
        .clone();
    // B's change depends only on what it had before the submission.
    forge(&mut s.b, &s.id, "改写已公示的结果", |d| {
        let answer = obj(d, &["checklist", &item, "answer"]);
        d.put(&answer, "result", "fail").expect("put");
    });
    let refusal = s.b.sync_refused();
    assert_eq!(refusal.code, "policy.frozen");
    assert_eq!(s.server.task(&s.id).heads(), published);
    let task = s.server.task(&s.id).task().expect("task");
    assert_eq!(task.checklist[&item].answer.result, Some(Outcome::Pass));
    assert_eq!(
        s.server.task(&s.id).status().expect("status"),
        Status::Published
    );
    // B's copy is the published record now, and the attempt is kept aside.
    s.b.sync().expect("sync");
    assert_eq!(s.b.store.open_task(&s.id).expect("open").heads(), published);
    assert_eq!(s.b.store.refused_edits(&s.id).expect("kept").len(), 1);
    assert!(
        s.server
            .task(&s.id)
            .task()
            .expect("task")
            .events
            .iter()
            .any(|e| e.kind == EventKind::Published && e.role == Role::Supervisor)
    );
}

#[test]
fn a_supervisors_token_is_not_a_device_credential() {
    let server = TestServer::start_demo();
    let (_, token) =
        fieldloop_server::review::add_supervisor(server.store.as_ref(), "S-001", "T-QX-01", NOW)
            .expect("supervisor");
    let body = fieldloop_core::sync::encode(&fieldloop_core::sync::SyncRequest {
        rotate: false,
        done: None,
        v: fieldloop_core::sync::PROTOCOL_VERSION,
        cursor: 0,
        docs: vec![],
        directory: None,
    });
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/sync", server.url))
        .bearer_auth(&token)
        .header("content-type", fieldloop_core::sync::CONTENT_TYPE)
        .body(body)
        .send()
        .expect("send");
    assert_eq!(response.status().as_u16(), 403);
    let json: serde_json::Value = response.json().expect("json");
    assert_eq!(json["code"], "auth.wrong_role");
}
