//! Tablets and the real server over HTTP: enrollment, convergence of one
//! task edited offline on several tablets, authorization, bad input.

use fieldloop_core::sync::{self as wire, PROTOCOL_VERSION, SyncRequest};
use fieldloop_core::{ActorId, Author, EventKind, Outcome, Role, Status};
use fieldloop_tablet::store::TaskQuery;
use fieldloop_tests::{NOW, Tablet, TestServer};
use serde_bytes::ByteBuf;

/// A task both tablets' inspectors are assigned to.
pub(crate) fn shared_task(a: &Tablet, b: &Tablet) -> String {
    let rows = a
        .store
        .list_tasks(&TaskQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .expect("list");
    rows.into_iter()
        .map(|r| r.id)
        .find(|id| {
            let task = a.store.open_task(id).expect("open").task().expect("task");
            task.inspectors.contains(&a.enrollment.person)
                && task.inspectors.contains(&b.enrollment.person)
        })
        .expect("a task shared by both inspectors")
}

#[test]
fn two_tablets_edit_one_task_offline_and_converge_with_the_conflict_shown() {
    let server = TestServer::start_demo();
    let mut a = Tablet::enroll(&server, "I-001");
    let mut b = Tablet::enroll(&server, "I-002");
    let first = a.sync().expect("a first sync");
    b.sync().expect("b first sync");
    assert_eq!(first.added, 36, "every task of the squad arrives");
    let id = shared_task(&a, &b);
    let item = a
        .store
        .open_task(&id)
        .expect("open")
        .task()
        .expect("task")
        .items_in_order()[0]
        .0
        .clone();

    // Offline, both check in and answer the same item differently.
    let (wa, wb) = (a.author(), b.author());
    a.store
        .edit(&id, NOW, |d| d.check_in(&wa, NOW, None))
        .expect("a check-in");
    a.store
        .edit(&id, NOW, |d| {
            d.record_answer(&wa, NOW, &item, Some(Outcome::Pass), None, None)
        })
        .expect("a");
    b.store
        .edit(&id, NOW, |d| d.check_in(&wb, NOW, None))
        .expect("b check-in");
    b.store
        .edit(&id, NOW, |d| {
            d.record_answer(&wb, NOW, &item, Some(Outcome::Fail), None, Some("无证经营"))
        })
        .expect("b");

    a.sync().expect("a sync");
    b.sync().expect("b sync");
    a.sync().expect("a sync again");

    let mut on_a = a.store.open_task(&id).expect("a");
    let mut on_b = b.store.open_task(&id).expect("b");
    let mut on_server = server.task(&id);
    assert_eq!(on_a.heads(), on_server.heads());
    assert_eq!(on_b.heads(), on_server.heads());
    assert_eq!(on_a.task().expect("a"), on_server.task().expect("server"));
    assert_eq!(on_a.status().expect("status"), Status::InProgress);
    assert_eq!(on_a.status_report().expect("r").checked_in.len(), 2);
    let conflicts = on_a.conflicts().expect("conflicts");
    assert_eq!(conflicts, on_b.conflicts().expect("b conflicts"));
    assert_eq!(conflicts, on_server.conflicts().expect("server conflicts"));
    assert_eq!(conflicts.len(), 1);
    let mut people: Vec<_> = conflicts[0]
        .values
        .iter()
        .filter_map(|v| v.person.clone())
        .collect();
    people.sort();
    assert_eq!(people, ["I-001", "I-002"]);
    assert!(a.store.dirty_tasks().expect("dirty").is_empty());
    assert!(b.store.dirty_tasks().expect("dirty").is_empty());

    // The receipts name both devices and the chain verifies.
    let receipts =
        fieldloop_server::store::Store::receipts(server.store.as_ref()).expect("receipts");
    assert!(fieldloop_server::store::verify_receipts(&receipts).is_ok());
    for device in [&a.enrollment.device_id, &b.enrollment.device_id] {
        assert_eq!(
            receipts.iter().filter(|r| &r.device_id == device).count(),
            2
        );
    }

    // Nothing changed: one round trip of a few hundred bytes.
    let quiet = a.sync().expect("quiet sync");
    assert_eq!(quiet.rounds, 1);
    assert!(quiet.bytes_sent + quiet.bytes_received < 200, "{quiet:?}");
}

#[test]
fn an_ack_counts_only_for_the_request_it_answers() {
    use fieldloop_tablet::sync::{HttpTransport, Transport};
    let server = TestServer::start_demo();
    let mut a = Tablet::enroll(&server, "I-001");
    a.sync().expect("first sync");
    let who = a.author();
    let id = a
        .store
        .list_tasks(&TaskQuery::default())
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .find(|id| {
            let task = a.store.open_task(id).expect("open").task().expect("task");
            task.inspectors.contains(&who.person)
        })
        .expect("a task of I-001");
    let transport = HttpTransport::from_store(&a.store).expect("transport");
    let exchange = |docs: Vec<wire::DocPush>, cursor| -> wire::SyncResponse {
        let body = wire::encode(&SyncRequest {
            rotate: false,
            done: None,
            v: PROTOCOL_VERSION,
            cursor,
            docs,
            directory: None,
        });
        wire::decode(&transport.exchange(body).expect("exchange")).expect("answer")
    };
    let cursor = a.store.sync_cursor().expect("cursor");

    // A push the server takes as it is: answered by an ack alone.
    a.store
        .edit(&id, NOW, |d| d.check_in(&who, NOW, None))
        .expect("check in");
    let first = a.store.pending_pushes().expect("pushes");
    assert_eq!(first.len(), 1);
    let answer = exchange(first.clone(), cursor);
    assert_eq!(answer.acks, [0]);
    assert!(answer.docs.is_empty(), "{answer:?}");
    assert!(wire::encode(&answer).len() < 64);

    // The tablet edits again; the next request is lost and the old answer
    // arrives as if it answered it: it acknowledges nothing of it.
    let item = a
        .store
        .open_task(&id)
        .expect("open")
        .task()
        .expect("task")
        .items_in_order()[0]
        .0
        .clone();
    a.store
        .edit(&id, NOW + 1, |d| {
            d.record_answer(&who, NOW + 1, &item, Some(Outcome::Pass), None, None)
        })
        .expect("answer");
    let second = a.store.pending_pushes().expect("pushes");
    assert_ne!(second[0].heads, first[0].heads);
    let applied = a
        .store
        .apply_sync_response(&second, &answer, NOW)
        .expect("apply");
    assert_eq!(applied.acked, 0);
    assert_eq!(a.store.dirty_tasks().expect("dirty"), [id.as_str()]);
    let pending = a.store.pending_pushes().expect("pushes");
    assert_eq!(
        pending[0].changes, second[0].changes,
        "still pushes everything since what the server was known to hold"
    );

    // Taken for the request it answers, it records the first push's heads;
    // the later edit keeps the task dirty.
    let applied = a
        .store
        .apply_sync_response(&first, &answer, NOW)
        .expect("apply");
    assert_eq!(applied.acked, 1);
    assert_eq!(a.store.dirty_tasks().expect("dirty"), [id.as_str()]);
    let pending = a.store.pending_pushes().expect("pushes");
    assert!(pending[0].changes.len() < second[0].changes.len());

    a.sync().expect("sync");
    assert!(a.store.dirty_tasks().expect("dirty").is_empty());
    assert_eq!(
        a.store.open_task(&id).expect("open").heads(),
        server.task(&id).heads()
    );
}

#[test]
fn a_forged_actor_or_a_supervisor_event_rejects_the_whole_batch() {
    let server = TestServer::start_demo();
    let mut a = Tablet::enroll(&server, "I-001");
    let b = Tablet::enroll(&server, "I-002");
    a.sync().expect("sync");
    let id = shared_task(&a, &b);
    let item = a
        .store
        .open_task(&id)
        .expect("open")
        .task()
        .expect("task")
        .items_in_order()[0]
        .0
        .clone();
    let receipts_before = fieldloop_server::store::Store::receipts(server.store.as_ref())
        .expect("r")
        .len();
    let heads_before = server.task(&id).heads();

    // I-001's tablet writes as another actor (claiming to be I-002's device).
    let forged = Author::new(ActorId::from(vec![9u8; 16]), "I-002", Role::Inspector);
    a.store
        .edit(&id, NOW, |d| {
            d.record_answer(&forged, NOW, &item, Some(Outcome::Fail), None, None)
        })
        .expect("edit");
    let refused = a.sync_refused();
    assert_eq!(refused.code, "sync.actor_mismatch", "{refused:?}");
    assert_eq!(server.task(&id).heads(), heads_before);
    assert!(
        !a.store.dirty_tasks().expect("dirty").contains(&id),
        "the refused change was set aside"
    );
    assert_eq!(
        a.store.refused_edits(&id).expect("refused").len(),
        1,
        "and is kept to be seen"
    );

    // A fresh tablet records an approval under its own actor.
    let mut c = Tablet::enroll(&server, "I-003");
    c.sync().expect("sync");
    let own = c.author();
    let c_task = c
        .store
        .list_tasks(&TaskQuery::default())
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .find(|t| {
            c.store
                .open_task(t)
                .expect("o")
                .task()
                .expect("t")
                .inspectors
                .contains(&own.person)
        })
        .expect("a task of I-003");
    let c_heads = server.task(&c_task).heads();
    c.store
        .edit(&c_task, NOW, |d| d.check_in(&own, NOW, None))
        .expect("check in");
    // Bypass the local rules: write an approval straight into the document.
    c.store
        .edit(&c_task, NOW, |d| {
            let doc = d.automerge();
            doc.set_actor(own.actor.clone());
            let (_, events) = automerge::ReadDoc::get(doc, automerge::ROOT, "events")
                .expect("get")
                .expect("events");
            let n = automerge::ReadDoc::length(doc, &events);
            let approval = fieldloop_core::Event {
                kind: EventKind::Approved,
                at: NOW,
                by: own.person.clone(),
                role: Role::Inspector,
                comment: None,
                location: None,
            };
            autosurgeon::reconcile_insert(doc, events, n, &approval).expect("insert");
            doc.commit_with(
                automerge::transaction::CommitOptions::default().with_message("伪造审核"),
            );
            Ok(())
        })
        .expect("edit");
    let refused = c.sync_refused();
    assert_eq!(refused.code, "policy.event_not_allowed", "{refused:?}");
    assert_eq!(refused.edits, 1, "the approval alone was set aside");
    // The check-in made before it went through on the next exchange; the
    // approval never reached the server.
    let mut on_server = server.task(&c_task);
    assert_ne!(on_server.heads(), c_heads);
    let task = on_server.task().expect("task");
    assert!(task.events.iter().all(|e| e.kind != EventKind::Approved));
    assert_eq!(on_server.status().expect("status"), Status::InProgress);
    assert_eq!(
        fieldloop_server::store::Store::receipts(server.store.as_ref())
            .expect("r")
            .len(),
        receipts_before + 1,
        "one receipt: the check-in"
    );
    let kept = c.store.refused_edits(&c_task).expect("refused");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].message, "伪造审核");
}

fn post(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let client = reqwest::blocking::Client::new();
    let mut request = client
        .post(format!("{}{path}", server.url))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().expect("send");
    let status = response.status().as_u16();
    let json = response.json().unwrap_or(serde_json::Value::Null);
    (status, json)
}

fn request_bytes(docs: Vec<fieldloop_core::sync::DocPush>) -> Vec<u8> {
    wire::encode(&SyncRequest {
        rotate: false,
        done: None,
        v: PROTOCOL_VERSION,
        cursor: 0,
        docs,
        directory: None,
    })
}

/// `{v: 1, cursor: 0, docs: []}`, as a tablet of protocol version 1 sends it.
fn version_1_request() -> Vec<u8> {
    let mut body = vec![0xa3, 0x61, b'v', 0x01];
    body.extend([0x66, b'c', b'u', b'r', b's', b'o', b'r', 0x00]);
    body.extend([0x64, b'd', b'o', b'c', b's', 0x80]);
    body
}

/// What was sent, with which token and content type, and the status and code expected.
type BadRequest<'a> = (&'a str, Option<&'a str>, &'a str, Vec<u8>, u16, &'a str);

#[test]
fn bad_requests_get_a_clear_4xx_and_change_nothing() {
    let server = TestServer::start_demo();
    let mut a = Tablet::enroll(&server, "I-001");
    a.sync().expect("sync");
    let token = a.enrollment.token.clone();
    let id = a.store.list_tasks(&TaskQuery::default()).expect("list")[0]
        .id
        .clone();
    let end = fieldloop_server::store::Store::feed_end(server.store.as_ref()).expect("end");
    let cbor = wire::CONTENT_TYPE;
    let cases: Vec<BadRequest> = vec![
        (
            "no token",
            None,
            cbor,
            request_bytes(vec![]),
            401,
            "auth.missing",
        ),
        (
            "wrong token",
            Some("deadbeef"),
            cbor,
            request_bytes(vec![]),
            401,
            "auth.bad_token",
        ),
        (
            "wrong content type",
            Some(&token),
            "application/json",
            b"{}".to_vec(),
            415,
            "sync.content_type",
        ),
        (
            "malformed CBOR",
            Some(&token),
            cbor,
            b"\xff\xfe not cbor".to_vec(),
            400,
            "sync.bad_message",
        ),
        (
            "a version 1 request",
            Some(&token),
            cbor,
            version_1_request(),
            400,
            "sync.version",
        ),
        (
            "garbage Automerge bytes",
            Some(&token),
            cbor,
            request_bytes(vec![fieldloop_core::sync::DocPush {
                id: id.clone(),
                heads: vec![],
                changes: ByteBuf::from(b"definitely not automerge".to_vec()),
            }]),
            400,
            "sync.bad_changes",
        ),
        (
            "a short change hash",
            Some(&token),
            cbor,
            request_bytes(vec![fieldloop_core::sync::DocPush {
                id: id.clone(),
                heads: vec![ByteBuf::from(vec![1, 2, 3])],
                changes: ByteBuf::new(),
            }]),
            400,
            "sync.bad_hash",
        ),
        (
            "an unknown task",
            Some(&token),
            cbor,
            request_bytes(vec![fieldloop_core::sync::DocPush {
                id: "../../etc/passwd".into(),
                heads: vec![],
                changes: ByteBuf::new(),
            }]),
            403,
            "sync.forbidden",
        ),
        (
            "an oversized body",
            Some(&token),
            cbor,
            vec![0u8; fieldloop_server::MAX_SYNC_BODY + 1],
            413,
            "",
        ),
    ];
    for (what, token, content_type, body, status, code) in cases {
        let (got, json) = post(&server, "/api/v1/sync", token, content_type, body);
        assert_eq!(got, status, "{what}: {json}");
        if !code.is_empty() {
            assert_eq!(json["code"], code, "{what}: {json}");
            assert!(
                json["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{what}"
            );
        }
    }
    assert_eq!(
        fieldloop_server::store::Store::feed_end(server.store.as_ref()).expect("end"),
        end,
        "nothing changed"
    );
}

#[test]
fn another_teams_tasks_are_invisible_and_untouchable() {
    let server = TestServer::start_demo();
    let mut squad = Tablet::enroll(&server, "I-001");
    let mut county = Tablet::enroll(&server, "I-006");
    squad.sync().expect("sync");
    let report = county.sync().expect("sync");
    assert_eq!(report.added, 0, "the county team has no tasks here");
    let id = squad.store.list_tasks(&TaskQuery::default()).expect("list")[0]
        .id
        .clone();
    let push = fieldloop_core::sync::DocPush {
        id,
        heads: vec![],
        changes: ByteBuf::new(),
    };
    let (status, json) = post(
        &server,
        "/api/v1/sync",
        Some(&county.enrollment.token),
        wire::CONTENT_TYPE,
        request_bytes(vec![push]),
    );
    assert_eq!(
        (status, json["code"].as_str()),
        (403, Some("sync.forbidden"))
    );
}

#[test]
fn a_revoked_device_is_refused_at_once() {
    let server = TestServer::start_demo();
    let mut a = Tablet::enroll(&server, "I-001");
    a.sync().expect("sync");
    fieldloop_server::store::Store::revoke_device(
        server.store.as_ref(),
        &a.enrollment.device_id,
        NOW,
    )
    .expect("revoke");
    let err = a.sync().expect_err("revoked");
    assert_eq!(err.code(), "auth.revoked");
    assert!(!err.is_transient());
}

#[test]
fn a_deactivated_inspectors_devices_are_refused_at_once_and_work_again_when_reactivated() {
    let server = TestServer::start_demo();
    let mut a = Tablet::enroll(&server, "I-001");
    let mut second = Tablet::enroll(&server, "I-001");
    a.sync().expect("sync");
    let store = server.store.as_ref();
    fieldloop_server::store::Store::set_inspector_active(store, "I-001", false)
        .expect("deactivate");
    for tablet in [&mut a, &mut second] {
        let err = tablet.sync().expect_err("deactivated");
        assert_eq!(err.code(), "auth.inactive");
        assert!(!err.is_transient());
    }
    fieldloop_server::store::Store::set_inspector_active(store, "I-001", true).expect("activate");
    second.sync().expect("works again");
    let unknown = fieldloop_server::store::Store::set_inspector_active(store, "I-999", false)
        .expect_err("unknown");
    assert!(unknown.to_string().contains("I-999"), "{unknown}");
}

#[test]
fn enrollment_codes_are_one_time_expire_and_are_rate_limited() {
    let server = TestServer::start_demo();
    let now = fieldloop_server::now_ms();
    let code = server.code_for("I-002", now);
    let enroll = |code: &str| {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = fieldloop_tablet::store::Store::open(dir.path()).expect("store");
        fieldloop_tablet::sync::enroll(&mut store, &server.url, code, "平板").map(|e| e.person)
    };
    // The first use enrolls, and the tablet keeps the names the server
    // gave: it greets its inspector by name without a directory of its own.
    let dir = tempfile::tempdir().expect("dir");
    let mut tablet = fieldloop_tablet::inspect::Tablet::open(dir.path()).expect("tablet");
    tablet.directory = fieldloop_tablet::inspect::Directory::default();
    let enrolled = fieldloop_tablet::sync::enroll(
        &mut tablet.store,
        &server.url,
        &code.to_lowercase(),
        "平板",
    )
    .expect("first use");
    assert_eq!(enrolled.person, "I-002");
    let inspector = server
        .store
        .inspector("I-002")
        .expect("read")
        .expect("I-002");
    let team = server
        .store
        .team(&inspector.team)
        .expect("read")
        .expect("team");
    assert_eq!(
        enrolled.person_name.as_deref(),
        Some(inspector.name.as_str())
    );
    let me = tablet.identity().expect("identity").expect("enrolled");
    assert_eq!((me.name, me.team_name), (inspector.name, Some(team.name)));
    assert_eq!(enroll(&code).expect_err("used").code(), "enroll.bad_code");
    let expired = fieldloop_server::enroll::issue_code(
        server.store.as_ref(),
        "I-003",
        now - 7_200_000,
        3_600_000,
    )
    .expect("code");
    assert_eq!(
        enroll(&expired).expect_err("expired").code(),
        "enroll.bad_code"
    );
    let mut last = fieldloop_core::ErrorCode::ServerUnknown;
    for _ in 0..12 {
        last = enroll("WRONGCODE1").expect_err("wrong").code();
    }
    assert_eq!(last, "enroll.rate_limited");
    let fresh = server.code_for("I-004", now);
    assert_eq!(
        enroll(&fresh).expect_err("still limited").code(),
        "enroll.rate_limited"
    );
}

/// Two squad tablets (I-001, I-002) on a task they share, both checked in
/// (I-002 first, synced); answers them and the task.
pub(crate) fn squad_checked_in(server: &TestServer) -> (Tablet, Tablet, String) {
    let mut a = Tablet::enroll(server, "I-001");
    let mut b = Tablet::enroll(server, "I-002");
    a.sync().expect("sync");
    b.sync().expect("sync");
    let id = shared_task(&a, &b);
    let (wa, wb) = (a.author(), b.author());
    b.store
        .edit(&id, NOW, |d| d.check_in(&wb, NOW, None))
        .expect("check in");
    b.sync().expect("sync");
    a.sync().expect("sync");
    a.store
        .edit(&id, NOW, |d| d.check_in(&wa, NOW, None))
        .expect("check in");
    (a, b, id)
}

/// Answers every item (with evidence where required) and submits, on `t`.
pub(crate) fn complete_and_submit(t: &mut Tablet, id: &str) {
    let who = t.author();
    let task = t.store.open_task(id).expect("open").task().expect("task");
    for (n, (item, spec)) in task.items_in_order().into_iter().enumerate() {
        t.store
            .edit(id, NOW, |d| {
                d.record_answer(&who, NOW, item, Some(Outcome::Pass), None, None)
            })
            .expect("answer");
        if spec.requires_evidence {
            let evidence = fieldloop_core::NewEvidence {
                sha256: format!("{n:064x}"),
                kind: fieldloop_core::EvidenceKind::Photo,
                taken_at: NOW,
                location: None,
                caption: None,
                mime: "image/jpeg".into(),
                bytes: 1,
                thumb_sha256: None,
                display_sha256: None,
                item: Some(item.clone()),
            };
            t.store
                .edit(id, NOW, |d| d.add_evidence(&who, NOW, evidence))
                .expect("evidence");
        }
    }
    let checked_in: Vec<String> = t
        .store
        .open_task(id)
        .expect("open")
        .status_report()
        .expect("status")
        .checked_in
        .into_iter()
        .collect();
    let people: Vec<&str> = checked_in.iter().map(String::as_str).collect();
    t.sign_record(id, &people);
    t.store
        .edit(id, NOW, |d| d.submit(&who, NOW))
        .expect("submit");
}

#[test]
fn a_change_made_on_top_of_a_submission_is_refused_one_made_concurrently_is_kept() {
    let server = TestServer::start_demo();
    let mut a = Tablet::enroll(&server, "I-001");
    let mut b = Tablet::enroll(&server, "I-002");
    a.sync().expect("sync");
    b.sync().expect("sync");
    let id = shared_task(&a, &b);
    let (wa, wb) = (a.author(), b.author());
    a.store
        .edit(&id, NOW, |d| d.check_in(&wa, NOW, None))
        .expect("check in");
    b.store
        .edit(&id, NOW, |d| d.check_in(&wb, NOW, None))
        .expect("check in");
    b.sync().expect("sync");
    a.sync().expect("sync");
    // B writes a note while offline, concurrently with A's submission.
    let item = a
        .store
        .open_task(&id)
        .expect("open")
        .task()
        .expect("task")
        .items_in_order()[0]
        .0
        .clone();
    b.store
        .edit(&id, NOW, |d| {
            d.record_answer(&wb, NOW, &item, None, None, Some("现场照片已补拍"))
        })
        .expect("note");
    complete_and_submit(&mut a, &id);
    a.sync().expect("submit syncs");
    b.sync().expect("a concurrent edit is kept");
    assert_eq!(
        server.task(&id).status().expect("status"),
        Status::Submitted
    );
    let note = server.task(&id).task().expect("task").checklist[&item]
        .answer
        .note
        .clone();
    assert_eq!(note.as_deref(), Some("现场照片已补拍"));
    // Kept, and flagged for the reviewer.
    let flags = fieldloop_server::store::Store::flags(server.store.as_ref(), &id).expect("flags");
    assert!(
        flags.iter().any(|f| matches!(
            f.flag,
            fieldloop_core::policy::Flag::ConcurrentWithSubmission { .. }
        ) && f.device_id == b.enrollment.device_id),
        "{flags:?}"
    );

    // Now B, having seen the submission, edits behind the local rules' back.
    let heads = server.task(&id).heads();
    b.store
        .edit(&id, NOW, |d| {
            let doc = d.automerge();
            doc.set_actor(wb.actor.clone());
            let (_, checklist) = automerge::ReadDoc::get(doc, automerge::ROOT, "checklist")
                .expect("get")
                .expect("map");
            let (_, entry) = automerge::ReadDoc::get(doc, &checklist, item.as_str())
                .expect("get")
                .expect("item");
            let (_, answer) = automerge::ReadDoc::get(doc, &entry, "answer")
                .expect("get")
                .expect("answer");
            automerge::transaction::Transactable::put(doc, &answer, "result", "fail").expect("put");
            doc.commit_with(
                automerge::transaction::CommitOptions::default().with_message("改答案"),
            );
            Ok(())
        })
        .expect("edit");
    let refused = b.sync_refused();
    assert_eq!(refused.code, "policy.frozen", "{refused:?}");
    assert_eq!(server.task(&id).heads(), heads);
    assert_eq!(
        b.store.open_task(&id).expect("open").heads().len(),
        heads.len()
    );
}

pub(crate) fn review(
    server: &TestServer,
    token: &str,
    id: &str,
    action: &str,
    comment: Option<&str>,
) -> (u16, serde_json::Value) {
    let body = serde_json::json!({ "action": action, "comment": comment });
    let response = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/tasks/{id}/review", server.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn the_review_loop_closes_through_the_server_and_every_step_is_in_the_trail() {
    let server = TestServer::start_demo();
    let (supervisor, token) =
        fieldloop_server::review::add_supervisor(server.store.as_ref(), "S-001", "T-QX-01", NOW)
            .expect("supervisor");
    let (mut a, _b, id) = squad_checked_in(&server);
    let wa = a.author();

    // Approving before submission, and reviewing with an inspector's token, are refused.
    assert_eq!(
        review(&server, &token, &id, "approve", None).1["code"],
        "status.transition"
    );
    let (status, json) = review(&server, &a.enrollment.token, &id, "approve", None);
    assert_eq!(
        (status, json["code"].as_str()),
        (403, Some("auth.wrong_role"))
    );

    complete_and_submit(&mut a, &id);
    a.sync().expect("submit");
    let (status, json) = review(
        &server,
        &token,
        &id,
        "return",
        Some("灭火器照片不清晰，请补拍"),
    );
    assert_eq!(
        (status, json["status"].as_str()),
        (200, Some("returned")),
        "{json}"
    );

    // The return reaches the tablet; the inspector fixes offline and resubmits.
    a.sync().expect("sync");
    let report = a
        .store
        .open_task(&id)
        .expect("open")
        .status_report()
        .expect("report");
    assert_eq!(report.status, Some(Status::Returned));
    assert_eq!(
        report.return_comment.as_deref(),
        Some("灭火器照片不清晰，请补拍")
    );
    let item = a
        .store
        .open_task(&id)
        .expect("open")
        .task()
        .expect("task")
        .items_in_order()[0]
        .0
        .clone();
    a.store
        .edit(&id, NOW, |d| {
            d.record_answer(&wa, NOW, &item, None, None, Some("已补拍"))
        })
        .expect("fix");
    a.store
        .edit(&id, NOW, |d| d.submit(&wa, NOW))
        .expect("resubmit");
    a.sync().expect("sync");
    assert_eq!(
        review(&server, &token, &id, "approve", None).1["status"],
        "approved"
    );
    assert_eq!(
        review(&server, &token, &id, "publish", None).1["status"],
        "published"
    );
    a.sync().expect("sync");
    assert_eq!(
        a.store
            .open_task(&id)
            .expect("open")
            .status()
            .expect("status"),
        Status::Published
    );

    // The audit trail: each step, under the right author.
    let mut doc = server.task(&id);
    let history = doc.history().expect("history");
    let by = |needle: &str| {
        history
            .iter()
            .filter(|h| h.message.contains(needle))
            .map(|h| h.person.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(by("提交审核"), ["I-001", "I-001"]);
    assert_eq!(by("退回"), ["S-001"]);
    assert_eq!(by("审核通过"), ["S-001"]);
    assert_eq!(by("公示"), ["S-001"]);
    assert_eq!(by("到场签到").len(), 2);
    let receipts =
        fieldloop_server::store::Store::receipts(server.store.as_ref()).expect("receipts");
    assert_eq!(
        receipts
            .iter()
            .filter(|r| r.device_id == supervisor.id)
            .count(),
        3
    );
    assert!(fieldloop_server::store::verify_receipts(&receipts).is_ok());

    // The trail shows both clocks: the tablet's (advisory; NOW here) and the server's receipt.
    let trail = fieldloop_server::audit::trail(server.store.as_ref(), &id)
        .expect("trail")
        .expect("task");
    assert_eq!(trail.len(), history.len());
    assert!(
        trail.iter().all(|e| e.receipt.is_some()),
        "every change was received by the server"
    );
    let submit = trail
        .iter()
        .find(|e| e.message.contains("提交审核"))
        .expect("submit");
    let (device, received) = submit.receipt.clone().expect("receipt");
    assert_eq!(device, a.enrollment.device_id);
    assert_eq!(submit.device_time, NOW / 1000 * 1000);
    assert!(received > NOW, "the server's clock, not the tablet's");
}

#[test]
fn evidence_uploads_need_a_device_token_and_cost_nothing_twice() {
    let server = TestServer::start_demo();
    let a = Tablet::enroll(&server, "I-001");
    let blobs = fieldloop_tablet::blobs::BlobStore::open(a.path().join("blobs")).expect("blobs");
    let photo: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let id = blobs.put(&photo).expect("put");
    let client = reqwest::blocking::Client::new();
    let err = fieldloop_tablet::upload::upload_blob(
        &client,
        &server.url,
        "not-a-token",
        &blobs,
        &id,
        |_, _| {},
    )
    .expect_err("no valid token");
    assert_eq!(err.code(), "upload.unauthorized");
    let mut seen = Vec::new();
    let first = fieldloop_tablet::upload::upload_blob(
        &client,
        &server.url,
        &a.enrollment.token,
        &blobs,
        &id,
        |sent, total| seen.push((sent, total)),
    )
    .expect("upload");
    assert_eq!(first.sent_bytes, photo.len() as u64);
    assert_eq!(
        seen.last(),
        Some(&(photo.len() as u64, photo.len() as u64)),
        "progress reaches the end"
    );
    let stored = server.stored_blob(&id.to_hex()).expect("on server");
    assert_eq!(stored, photo);
    let again = fieldloop_tablet::upload::upload_blob(
        &client,
        &server.url,
        &a.enrollment.token,
        &blobs,
        &id,
        |_, _| {},
    )
    .expect("again");
    assert_eq!((again.sent_bytes, again.already_present), (0, true));
}

#[test]
fn three_tablets_converge_whatever_order_they_sync_in() {
    let server = TestServer::start_demo();
    let mut tablets: Vec<Tablet> = ["I-002", "I-003", "I-004"]
        .iter()
        .map(|p| Tablet::enroll(&server, p))
        .collect();
    for t in &mut tablets {
        t.sync().expect("first sync");
    }
    let id = tablets[0]
        .tasks_of_all(&["I-002", "I-003", "I-004"])
        .into_iter()
        .next()
        .expect("a task of all three");
    let items: Vec<String> = tablets[0]
        .store
        .open_task(&id)
        .expect("o")
        .task()
        .expect("t")
        .items_in_order()
        .iter()
        .map(|(i, _)| (*i).clone())
        .collect();
    // Each checks in, answers the shared first item its own way and one item alone.
    for (n, t) in tablets.iter_mut().enumerate() {
        let who = t.author();
        let outcome = [Outcome::Pass, Outcome::Fail, Outcome::NotApplicable][n];
        t.store
            .edit(&id, NOW, |d| d.check_in(&who, NOW, None))
            .expect("check in");
        t.store
            .edit(&id, NOW, |d| {
                d.record_answer(&who, NOW, &items[0], Some(outcome), None, None)
            })
            .expect("shared");
        t.store
            .edit(&id, NOW, |d| {
                d.record_answer(&who, NOW, &items[n + 1], Some(Outcome::Pass), None, None)
            })
            .expect("own");
    }
    // Sync in a scrambled order, twice round.
    for k in [2, 0, 1, 1, 2, 0] {
        tablets[k].sync().expect("sync");
    }
    let mut on_server = server.task(&id);
    let conflicts = on_server.conflicts().expect("conflicts");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let mut people: Vec<_> = conflicts[0]
        .values
        .iter()
        .filter_map(|v| v.person.clone())
        .collect();
    people.sort();
    assert_eq!(people, ["I-002", "I-003", "I-004"]);
    for t in &mut tablets {
        let mut doc = t.store.open_task(&id).expect("open");
        assert_eq!(doc.heads(), on_server.heads());
        assert_eq!(doc.conflicts().expect("c"), conflicts);
        assert_eq!(
            doc.status_report().expect("r"),
            on_server.status_report().expect("r")
        );
    }
    let task = on_server.task().expect("task");
    assert!(
        items[1..4]
            .iter()
            .all(|i| task.checklist[i].answer.result == Some(Outcome::Pass)),
        "every own answer merged"
    );
}

#[test]
fn authorization_matrix_role_by_action_by_team() {
    let server = TestServer::start_demo();
    let (_, own_supervisor) =
        fieldloop_server::review::add_supervisor(server.store.as_ref(), "S-001", "T-QX-01", NOW)
            .expect("supervisor");
    let (_, other_supervisor) =
        fieldloop_server::review::add_supervisor(server.store.as_ref(), "S-002", "T-QX-02", NOW)
            .expect("supervisor");
    let mut inspector = Tablet::enroll(&server, "I-001");
    inspector.sync().expect("sync");
    let mut other_inspector = Tablet::enroll(&server, "I-006");
    other_inspector.sync().expect("sync");
    let id = inspector
        .store
        .list_tasks(&TaskQuery::default())
        .expect("list")[0]
        .id
        .clone();

    // Review: only a supervisor of the task's team reaches the status rules.
    let cases = [
        (&own_supervisor, 409, "status.transition"), // allowed in principle; the task is not submitted
        (&other_supervisor, 404, "review.not_found"),
        (&inspector.enrollment.token, 403, "auth.wrong_role"),
        (&other_inspector.enrollment.token, 403, "auth.wrong_role"),
    ];
    for (token, status, code) in cases {
        let (got, json) = review(&server, token, &id, "approve", None);
        assert_eq!((got, json["code"].as_str()), (status, Some(code)), "{json}");
    }
    // Sync: the own team's device may push; the other team's may not even see the task.
    let push = fieldloop_core::sync::DocPush {
        id: id.clone(),
        heads: vec![],
        changes: ByteBuf::new(),
    };
    let (got, _) = post(
        &server,
        "/api/v1/sync",
        Some(&inspector.enrollment.token),
        wire::CONTENT_TYPE,
        request_bytes(vec![push.clone()]),
    );
    assert_eq!(got, 200);
    let (got, json) = post(
        &server,
        "/api/v1/sync",
        Some(&other_inspector.enrollment.token),
        wire::CONTENT_TYPE,
        request_bytes(vec![push]),
    );
    assert_eq!((got, json["code"].as_str()), (403, Some("sync.forbidden")));
    assert_eq!(
        server.task(&id).status().expect("status"),
        Status::Assigned,
        "nothing changed"
    );
}

#[test]
fn concurrent_pushes_to_one_task_all_land_and_none_is_lost() {
    let server = TestServer::start_demo();
    let mut a = Tablet::enroll(&server, "I-001");
    let mut b = Tablet::enroll(&server, "I-002");
    a.sync().expect("sync");
    b.sync().expect("sync");
    let id = shared_task(&a, &b);
    let mut tablets = vec![a, b];
    for person in ["I-001", "I-002"] {
        let mut t = Tablet::enroll(&server, person);
        t.sync().expect("sync");
        tablets.push(t);
    }
    let threads: Vec<_> = tablets
        .into_iter()
        .enumerate()
        .map(|(n, mut t)| {
            let id = id.clone();
            std::thread::spawn(move || {
                let who = t.author();
                for k in 0..15 {
                    let point = (
                        (n * 100 + k) as i64,
                        fieldloop_core::GeoPoint {
                            lat: 27.0,
                            lon: 115.0,
                        },
                        5.0,
                    );
                    t.store
                        .edit(&id, NOW, |d| d.add_trace(&who, NOW, &[point]))
                        .expect("edit");
                    // A busy answer is retried by the next sync.
                    while let Err(e) = t.sync() {
                        assert_eq!(e.code(), "server.busy", "{e}");
                    }
                }
                t
            })
        })
        .collect();
    let tablets: Vec<Tablet> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let trace = server.task(&id).task().expect("task").trace;
    assert_eq!(trace.len(), 4 * 15, "every point of every tablet is stored");
    let receipts = fieldloop_server::store::Store::receipts(server.store.as_ref()).expect("r");
    assert!(fieldloop_server::store::verify_receipts(&receipts).is_ok());
    drop(tablets);
}

#[test]
fn a_tablet_enrolled_after_many_pushes_receives_the_task_saved_compact() {
    let server = TestServer::start_demo();
    let (mut a, mut b, id) = squad_checked_in(&server);
    a.sync().expect("sync");
    // One answer a sync, from each tablet in turn: the server appends each
    // push's changes after the task's snapshot.
    let items = a.item_ids(&id);
    for (n, item) in items.iter().cycle().take(8).enumerate() {
        let tablet = if n % 2 == 0 { &mut a } else { &mut b };
        let who = tablet.author();
        let at = NOW + 60_000 * (n as i64 + 1);
        tablet
            .store
            .edit(&id, at, |d| {
                d.record_answer(&who, at, item, Some(Outcome::Pass), None, Some("现场核实"))
            })
            .expect("answer");
        tablet.sync().expect("sync");
    }
    let stored = server.store.task(&id).expect("read").expect("task");
    let compact = server.task(&id).save();
    assert!(
        stored.chunks >= 8,
        "{} runs after the snapshot",
        stored.chunks
    );
    assert!(
        stored.doc.len() > compact.len(),
        "stored {} bytes, saved {}",
        stored.doc.len(),
        compact.len()
    );

    // A new tablet of the squad gets the task whole: saved compact, as the
    // protocol's `f` says, and with every answer.
    let mut late = Tablet::enroll(&server, "I-001");
    late.sync().expect("first sync");
    assert_eq!(
        late.store.open_task(&id).expect("open").heads(),
        server.task(&id).heads()
    );
    assert_eq!(
        late.store.snapshot_size(&id).expect("size"),
        compact.len() as i64,
        "kept as the server saved it"
    );
    let task = late.read_task(&id);
    for item in items.iter().take(8) {
        let answer = &task.checklist[item].answer;
        assert_eq!(answer.result, Some(Outcome::Pass), "{item}");
    }
}
