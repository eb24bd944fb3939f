//! Rectification follow-up (整改复查) through the real router with real
//! tablets: a finding with an order is approved and listed as ordered; the
//! server's clock passes the deadline and it is listed as due; a re-check
//! task reaches the team's tablets with the original finding, whose photos
//! the tablets fetch; the re-check closes it as rectified or not; a second
//! re-check is refused and changes nothing; a tablet may not write the
//! re-check's link.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ROOT, ReadDoc};
use fieldloop_core::{EvidenceKind, Finding, NewEvidence, Role, Severity, Status};
use fieldloop_tablet::blobs::BlobStore;
use fieldloop_tablet::store::TaskQuery;
use fieldloop_tablet::sync::HttpTransport;
use fieldloop_tests::{NOW, Tablet, TestServer};
use serde_json::{Value, json};

use crate::console_tasks::Console;
use crate::sync::{complete_and_submit, squad_checked_in};

const DAY: i64 = 86_400_000;

/// A photo of `seed` and its thumbnail, stored on the tablet and uploaded.
fn photo(url: &str, t: &Tablet, blobs: &BlobStore, seed: u32) -> (String, String, Vec<u8>) {
    let bytes: Vec<u8> = (0..40_000u32).map(|i| ((i * seed) % 251) as u8).collect();
    let thumb: Vec<u8> = bytes.iter().step_by(10).copied().collect();
    let client = reqwest::blocking::Client::new();
    let mut ids = Vec::new();
    for b in [&bytes, &thumb] {
        let id = blobs.put(b).expect("put");
        fieldloop_tablet::upload::upload_blob(
            &client,
            url,
            &t.enrollment.token,
            blobs,
            &id,
            |_, _| {},
        )
        .expect("upload");
        ids.push(id.to_hex());
    }
    (ids[0].clone(), ids[1].clone(), thumb)
}

fn rows(list: &Value) -> Vec<Value> {
    list["rows"].as_array().expect("rows").clone()
}

fn row_of<'a>(list: &'a [Value], item: &str) -> &'a Value {
    list.iter()
        .find(|r| r["item_id"] == item)
        .unwrap_or_else(|| panic!("a rectification of {item} in {list:?}"))
}

/// The open tasks of a tablet that re-check something.
fn rechecks(t: &Tablet) -> Vec<fieldloop_core::Task> {
    t.store
        .list_tasks(&TaskQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .expect("list")
        .into_iter()
        .filter_map(|r| {
            let task = t
                .store
                .open_task(&r.id)
                .expect("open")
                .task()
                .expect("task");
            task.recheck_of.is_some().then_some(task)
        })
        .collect()
}

/// Both inspectors of `id` check in on their tablets.
fn check_in_both(a: &mut Tablet, b: &mut Tablet, id: &str) {
    let (wa, wb) = (a.author(), b.author());
    b.store
        .edit(id, NOW, |d| d.check_in(&wb, NOW, None))
        .expect("check in");
    b.sync().expect("sync");
    a.sync().expect("sync");
    a.store
        .edit(id, NOW, |d| d.check_in(&wa, NOW, None))
        .expect("check in");
}

#[test]
fn an_ordered_rectification_falls_due_is_rechecked_on_the_tablets_and_closes() {
    let server = TestServer::start_demo();
    let supervisor = Console::sign_in(&server, "S-RECT", Role::Supervisor, &["T-QX-01"]);
    let admin = Console::sign_in(&server, "A-RECT", Role::Admin, &[]);
    let stranger = Console::sign_in(&server, "S-OTHER", Role::Supervisor, &["T-QX-02"]);
    let (mut a, mut b, id) = squad_checked_in(&server);
    let who = a.author();
    let a_blobs = BlobStore::open_for(&a.path()).expect("blobs");
    let task = a.store.open_task(&id).expect("open").task().expect("task");
    let items: Vec<String> = task
        .items_in_order()
        .into_iter()
        .map(|(i, _)| i.clone())
        .collect();
    let (first, second) = (items[0].clone(), items[1].clone());

    // On site: a photo on each of two items, and a finding with an order on each.
    let deadline = fieldloop_server::now_ms() + 10 * DAY;
    let mut photos = Vec::new();
    for (n, item) in [&first, &second].into_iter().enumerate() {
        let (sha, thumb, thumb_bytes) = photo(&server.url, &a, &a_blobs, 7 + n as u32 * 6);
        let evidence = NewEvidence {
            sha256: sha.clone(),
            kind: EvidenceKind::Photo,
            taken_at: NOW,
            location: None,
            caption: Some(format!("整改前 {n}")),
            mime: "image/jpeg".into(),
            bytes: 40_000,
            thumb_sha256: Some(thumb.clone()),
            display_sha256: None,
            item: Some(item.clone()),
        };
        a.store
            .edit(&id, NOW, |d| d.add_evidence(&who, NOW, evidence))
            .expect("evidence");
        let finding = Finding {
            id: format!("F-{n}"),
            item_id: Some(item.clone()),
            description: format!("灭火器过期 {n}"),
            severity: Severity::Major,
            rectification_order: Some("更换灭火器".into()),
            rectification_deadline: Some(deadline),
            by: String::new(),
            at: 0,
        };
        a.store
            .edit(&id, NOW, |d| d.add_finding(&who, NOW, finding))
            .expect("finding");
        photos.push((sha, thumb, thumb_bytes));
    }
    complete_and_submit(&mut a, &id);
    a.sync().expect("submit");

    // Not approved yet: nothing to follow up.
    let (status, list) = supervisor.get("/api/v1/console/rectifications");
    assert_eq!(status, 200, "{list}");
    assert!(rows(&list).is_empty(), "{list}");
    let (status, answer) = supervisor.decide(&id, "approve", None);
    assert_eq!(status, 200, "{answer}");

    // Approved: both listed as ordered, to the team's supervisor only.
    let (_, list) = supervisor.get("/api/v1/console/rectifications");
    let listed = rows(&list);
    assert_eq!(listed.len(), 2, "{list}");
    for r in &listed {
        assert_eq!(r["state"], "ordered");
        assert_eq!(r["overdue"], false);
        assert_eq!(r["task_id"], id.as_str());
        assert_eq!(r["order"], "更换灭火器");
        assert_eq!(r["deadline"], deadline);
    }
    assert!(rows(&stranger.get("/api/v1/console/rectifications").1).is_empty());
    assert!(rows(&supervisor.get("/api/v1/console/rectifications?state=due").1).is_empty());
    let (status, e) = supervisor.get("/api/v1/console/rectifications?state=soon");
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("console.bad_query"))
    );

    // The deadline passes on the server's clock: due, and listed first.
    server.move_clock(11 * DAY);
    let (_, due) = supervisor.get("/api/v1/console/rectifications?state=due");
    let due = rows(&due);
    assert_eq!(due.len(), 2, "{due:?}");
    assert!(
        due.iter()
            .all(|r| r["state"] == "due" && r["overdue"] == true)
    );
    let first_rect = row_of(&due, &first)["id"].as_str().expect("id").to_owned();
    let second_rect = row_of(&due, &second)["id"].as_str().expect("id").to_owned();

    // A tablet of another team cannot read the second photo yet.
    let mut c = Tablet::enroll(&server, "I-006");
    let mut d = Tablet::enroll(&server, "I-007");
    let c_transport = HttpTransport::from_store(&c.store).expect("transport");
    let second_photo = fieldloop_tablet::blobs::BlobId::parse(&photos[1].1).expect("id");
    assert_eq!(
        c_transport
            .download_blob(&second_photo, 1 << 20)
            .expect("answer"),
        None,
        "another team's photo is not visible"
    );

    // The re-check of the first: a task of the same team, from today.
    let path = format!("/api/v1/console/rectifications/{first_rect}/recheck");
    let (status, started) = supervisor.post(&path, &json!({}));
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["rectification"]["state"], "rechecking");
    let recheck_id = started["task_id"].as_str().expect("task id").to_owned();
    assert_eq!(
        started["rectification"]["recheck_task"],
        recheck_id.as_str()
    );

    // A second re-check of the same: 409, and nothing changed.
    let feed = server.store.feed_end().expect("feed");
    let (status, e) = supervisor.post(&path, &json!({}));
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("rectify.state")),
        "{e}"
    );
    assert_eq!(server.store.feed_end().expect("feed"), feed, "no task made");
    // Unknown, out of scope, bad input: clear 4xx, nothing changed.
    let (status, e) = supervisor.post("/api/v1/console/rectifications/nope/recheck", &json!({}));
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("console.not_found"))
    );
    let other = format!("/api/v1/console/rectifications/{second_rect}/recheck");
    let (status, _) = stranger.post(&other, &json!({}));
    assert_eq!(status, 404, "not the stranger's");
    let (status, e) = supervisor.post(&other, &json!({"days": 0}));
    assert_eq!(
        (status, e["code"].as_str()),
        (422, Some("console.bad_input")),
        "{e}"
    );
    assert_eq!(server.store.feed_end().expect("feed"), feed);

    // The re-check of the second goes to the other team.
    let (status, started2) = admin.post(
        &other,
        &json!({"team": "T-QX-02", "inspectors": ["I-006", "I-007"], "days": 3}),
    );
    assert_eq!(status, 200, "{started2}");
    let recheck2 = started2["task_id"].as_str().expect("id").to_owned();

    // The squad's tablets receive the first re-check with the original finding.
    a.sync().expect("sync");
    b.sync().expect("sync");
    let on_b = rechecks(&b);
    assert_eq!(on_b.len(), 1);
    let recheck = &on_b[0];
    assert_eq!(recheck.id, recheck_id);
    assert_eq!(recheck.subject.uscc, task.subject.uscc);
    assert_eq!(recheck.team, "T-QX-01");
    assert_eq!(recheck.checklist.keys().collect::<Vec<_>>(), [&first]);
    let of = recheck.recheck_of.as_ref().expect("recheck_of");
    assert_eq!(of.task_id, id);
    assert_eq!(of.task_code, task.code);
    assert_eq!(of.rectification, first_rect);
    assert_eq!(of.finding.description, "灭火器过期 0");
    assert_eq!(
        of.finding.rectification_order.as_deref(),
        Some("更换灭火器")
    );
    assert_eq!(of.finding.rectification_deadline, Some(deadline));
    // Every photo on the finding's item (ours, and the one the checklist needed).
    assert_eq!(of.photos.len(), 2, "{:?}", of.photos);
    let ours = of
        .photos
        .iter()
        .find(|p| p.sha256 == photos[0].0)
        .expect("the finding's photo");
    assert_eq!(ours.thumb_sha256.as_deref(), Some(photos[0].1.as_str()));
    assert_eq!(ours.caption.as_deref(), Some("整改前 0"));

    // B never took the photo: it fetches the thumbnail after the sync.
    let b_blobs = BlobStore::open_for(&b.path()).expect("blobs");
    let thumb = fieldloop_tablet::blobs::BlobId::parse(&photos[0].1).expect("id");
    assert!(!b_blobs.contains(&thumb));
    let b_transport = HttpTransport::from_store(&b.store).expect("transport");
    let fetched =
        fieldloop_tablet::recheck::fetch_photos(&b.store, &b_blobs, &b_transport).expect("fetch");
    assert_eq!(fetched, 1);
    assert_eq!(b_blobs.get(&thumb).expect("thumbnail"), photos[0].2);
    assert_eq!(
        fieldloop_tablet::recheck::fetch_photos(&b.store, &b_blobs, &b_transport).expect("again"),
        0,
        "nothing fetched twice"
    );

    // The other team's tablet now reads the second photo.
    c.sync().expect("sync");
    d.sync().expect("sync");
    let c_blobs = BlobStore::open_for(&c.path()).expect("blobs");
    assert_eq!(
        fieldloop_tablet::recheck::fetch_photos(&c.store, &c_blobs, &c_transport).expect("fetch"),
        1
    );
    assert_eq!(c_blobs.get(&second_photo).expect("photo"), photos[1].2);

    // A tablet may not write the link.
    let actor = a.author().actor;
    a.store
        .edit(&recheck_id, NOW, |doc| {
            let doc = doc.automerge();
            doc.set_actor(actor);
            let of = doc
                .get(ROOT, "recheck_of")
                .expect("read")
                .expect("recheck_of")
                .1;
            doc.put(&of, "task_code", "JX-2000-000001").expect("put");
            doc.commit_with(CommitOptions::default().with_message("篡改"));
            Ok(())
        })
        .expect("forged");
    let refusal = a.sync_refused();
    assert_eq!(
        refusal.code, "policy.forbidden_field",
        "{}",
        refusal.message
    );
    assert_eq!(
        server.task(&recheck_id).task().expect("task").recheck_of,
        recheck.recheck_of,
        "the link is unchanged"
    );

    // The squad re-checks: the item is compliant now. Approved → rectified.
    check_in_both(&mut a, &mut b, &recheck_id);
    complete_and_submit(&mut a, &recheck_id);
    a.sync().expect("submit");
    let (status, answer) = supervisor.decide(&recheck_id, "approve", None);
    assert_eq!(status, 200, "{answer}");
    let (_, list) = supervisor.get("/api/v1/console/rectifications?state=rectified");
    let closed = rows(&list);
    assert_eq!(closed.len(), 1, "{list}");
    assert_eq!(closed[0]["id"], first_rect.as_str());
    assert!(closed[0]["closed_at"].as_i64().is_some());
    let (status, e) = supervisor.post(&path, &json!({}));
    assert_eq!((status, e["code"].as_str()), (409, Some("rectify.state")));

    // The other team finds it still not done: not rectified, listed for follow-up.
    check_in_both(&mut c, &mut d, &recheck2);
    let wc = c.author();
    c.store
        .edit(&recheck2, NOW, |doc| {
            doc.add_finding(
                &wc,
                NOW,
                Finding {
                    id: "F-again".into(),
                    item_id: Some(second.clone()),
                    description: "灭火器仍未更换".into(),
                    severity: Severity::Major,
                    rectification_order: None,
                    rectification_deadline: None,
                    by: String::new(),
                    at: 0,
                },
            )
        })
        .expect("finding");
    complete_and_submit(&mut c, &recheck2);
    c.sync().expect("submit");
    // Approved by the other team's supervisor (the re-check task is theirs).
    let (status, answer) = stranger.decide(&recheck2, "approve", None);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        server.task(&recheck2).status().expect("status"),
        Status::Approved
    );
    let (_, list) = admin.get("/api/v1/console/rectifications?state=not_rectified");
    let open = rows(&list);
    assert_eq!(open.len(), 1, "{list}");
    assert_eq!(open[0]["id"], second_rect.as_str());
    // Everything listed: the not-rectified one before the closed one.
    let (_, all) = admin.get("/api/v1/console/rectifications");
    let states: Vec<String> = rows(&all)
        .iter()
        .map(|r| r["state"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(states, ["not_rectified", "rectified"]);
}

#[test]
fn the_test_clock_file_moves_the_servers_time() {
    let server = TestServer::start_demo();
    let state_clock = fieldloop_server::clock::Clock::offset_file(
        server.dir.path().join(fieldloop_tests::CLOCK_FILE),
    );
    assert_eq!(state_clock.offset(), 0);
    server.move_clock(3 * DAY);
    assert_eq!(state_clock.offset(), 3 * DAY);
    let now = fieldloop_server::now_ms();
    assert!(state_clock.now() >= now + 3 * DAY);
}
