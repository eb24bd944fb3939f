//! The inspector's verbs on a real tablet (SQLite and blobs in a temp dir),
//! as the app's commands call them: each answers the stored view, and every
//! refusal leaves the task as it was.

use fieldloop_core::{
    ActorId, Author, Outcome, Resolution, Role, Severity, SignerRole, Status, SubmitProblem,
};
use fieldloop_tablet::inspect::{Fix, NewFinding, NewTransfer, Tablet, TaskView};
use fieldloop_tablet::sync::{keys, parse_enroll_text};

const NOW: i64 = 1_780_272_000_000;

fn demo_tablet() -> (tempfile::TempDir, Tablet, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::open(dir.path()).unwrap();
    fieldloop_tablet::demo::seed(&mut tablet.store, 3, NOW).unwrap();
    tablet.adopt_demo_identity().unwrap();
    let person = tablet.identity().unwrap().unwrap().person;
    let id = tablet
        .store
        .list_tasks(&Default::default())
        .unwrap()
        .into_iter()
        .map(|r| tablet.task_view(&r.id).unwrap())
        .find(|v| v.inspectors.iter().any(|i| i.id == person) && v.groups.len() >= 2)
        .expect("a joint demo task of the demo inspector")
        .record
        .id;
    (dir, tablet, id)
}

/// A real JPEG; a different one for each `seed`, as two photos never are the same.
fn jpeg_n(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([x as u8, y as u8, seed]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn jpeg() -> Vec<u8> {
    jpeg_n(90)
}

fn png() -> Vec<u8> {
    png_of(7)
}

/// A signature-like PNG; another `stroke` gives other bytes.
fn png_of(stroke: u32) -> Vec<u8> {
    let img = image::GrayImage::from_fn(300, 120, |x, y| {
        image::Luma([if (x + y) % stroke == 0 { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn items(view: &TaskView) -> Vec<(String, bool)> {
    view.groups
        .iter()
        .flat_map(|g| g.items.iter().map(|i| (i.id.clone(), i.requires_evidence)))
        .collect()
}

#[test]
fn the_view_groups_the_checklist_by_department_and_names_people() {
    let (_dir, mut tablet, id) = demo_tablet();
    // Names come from the task itself, not from a directory on the tablet.
    tablet.directory = fieldloop_tablet::inspect::Directory::default();
    let view = tablet.task_view(&id).unwrap();
    assert!(view.groups.len() >= 2);
    for group in &view.groups {
        assert!(group.items.iter().all(|_| true));
        assert_ne!(
            group.department.name, group.department.code,
            "names from the task"
        );
    }
    let me = view.inspectors.iter().find(|i| i.me).expect("me");
    assert_ne!(me.name, me.id);
    assert!(view.editable);
    assert!(
        !view.dirty,
        "a task as the server sent it has nothing to push"
    );
    assert_eq!(view.status, Some(Status::Assigned));
    assert!(view.verify_url.ends_with(
        &format!("/v/{}", tablet.store.open_task(&id).unwrap().task().unwrap().verify_code)
    ));
    let kinds: Vec<_> = view.problems.iter().map(|p| &p.problem).collect();
    assert!(matches!(
        kinds[0],
        SubmitProblem::TooFewCheckedIn { have: 0, need: 2 }
    ));
    assert!(
        view.problems
            .iter()
            .filter(|p| matches!(
                p.problem,
                SubmitProblem::Unanswered { .. } | SubmitProblem::MissingEvidence { .. }
            ))
            .all(|p| p.item_title.is_some())
    );
    assert!(
        kinds.contains(&&SubmitProblem::EnterpriseUnsigned),
        "the business has neither signed nor refused yet"
    );
    let svg = tablet.verify_qr(&id).unwrap();
    assert!(svg.contains("<svg"), "{svg}");
}

#[test]
fn a_whole_inspection_on_one_tablet_up_to_submit_and_the_frozen_record() {
    let (_dir, mut tablet, id) = demo_tablet();
    let me = tablet.identity().unwrap().unwrap().person;
    let view = tablet
        .check_in(
            &id,
            NOW,
            Some(fieldloop_core::GeoPoint {
                lat: 25.6,
                lon: 115.3,
            }),
        )
        .unwrap();
    assert!(view.dirty, "the check-in waits for the next sync");
    let mine = view.inspectors.iter().find(|i| i.id == me).unwrap();
    assert_eq!(mine.checked_in_at, Some(NOW));

    // The other inspector checks in on their own device (same store here).
    let other = view
        .inspectors
        .iter()
        .find(|i| i.id != me)
        .unwrap()
        .id
        .clone();
    let mate = Author::new(ActorId::random(), other, Role::Inspector);
    tablet
        .store
        .edit(&id, NOW, |doc| doc.check_in(&mate, NOW + 1, None))
        .unwrap();

    let photo = jpeg();
    let mut attached = 0;
    for (n, (item, needs)) in items(&view).into_iter().enumerate() {
        let answered = tablet
            .answer(
                &id,
                NOW + 10 + n as i64,
                &item,
                Some(Outcome::Pass),
                None,
                Some("正常"),
            )
            .unwrap();
        let shown = answered
            .groups
            .iter()
            .flat_map(|g| &g.items)
            .find(|i| i.id == item);
        assert_eq!(shown.unwrap().answer.result, Some(Outcome::Pass));
        if needs {
            let v = tablet
                .add_photo(&id, NOW + 100, Some(&item), &jpeg_n(n as u8), None)
                .unwrap();
            attached += 1;
            assert_eq!(v.evidence.len(), attached);
            let shown = v
                .groups
                .iter()
                .flat_map(|g| &g.items)
                .find(|i| i.id == item)
                .unwrap();
            assert_eq!(shown.evidence.len(), 1);
        }
    }
    // The same photo cannot be evidence twice.
    let first_needing = items(&view)
        .into_iter()
        .position(|(_, needs)| needs)
        .unwrap();
    let err = tablet
        .add_photo(&id, NOW, None, &jpeg_n(first_needing as u8), None)
        .unwrap_err();
    assert_eq!(err.code(), "task.duplicate_evidence");
    // A corrupt photo is refused and nothing changes.
    let heads = tablet.store.open_task(&id).unwrap().heads();
    let err = tablet
        .add_photo(&id, NOW, None, &photo[..photo.len() / 3], None)
        .unwrap_err();
    assert_eq!(err.code(), "photo.corrupt", "{err}");
    assert_eq!(tablet.store.open_task(&id).unwrap().heads(), heads);

    let v = tablet
        .add_trace(
            &id,
            NOW,
            &[
                Fix {
                    t: NOW,
                    lat: 25.6,
                    lon: 115.3,
                    accuracy: 4.0,
                },
                Fix {
                    t: NOW + 5_000,
                    lat: 25.601,
                    lon: 115.301,
                    accuracy: 6.0,
                },
            ],
        )
        .unwrap();
    assert_eq!(v.trace.len(), 2);
    assert_eq!(
        tablet
            .add_trace(
                &id,
                NOW,
                &[Fix {
                    t: NOW,
                    lat: 95.0,
                    lon: 0.0,
                    accuracy: 1.0
                }]
            )
            .unwrap_err()
            .code(),
        "app.bad_position"
    );
    let v = tablet
        .add_finding(
            &id,
            NOW,
            NewFinding {
                item_id: None,
                description: "安全出口堵塞".into(),
                severity: Severity::Major,
                rectification_order: Some("立即清理".into()),
                rectification_deadline: Some(NOW + 3 * 86_400_000),
            },
        )
        .unwrap();
    assert_eq!(v.findings[0].by, me);
    let v = tablet
        .add_lead_transfer(
            &id,
            NOW,
            NewTransfer {
                to_department: "GA".into(),
                summary: "疑似非法储存危险化学品".into(),
                criminal: true,
                evidence: vec![],
            },
        )
        .unwrap();
    assert!(v.lead_transfers[0].criminal);

    assert_eq!(
        tablet
            .sign(&id, NOW, SignerRole::Inspector, "张三", b"not a png")
            .unwrap_err()
            .code(),
        "app.bad_signature"
    );
    assert_eq!(
        tablet
            .sign(&id, NOW, SignerRole::Inspector, "张三", &png())
            .unwrap_err()
            .code(),
        "policy.not_yours",
        "an inspector's signature names an inspector of the task"
    );
    let me = tablet.author().unwrap().person;
    let v = tablet
        .sign(&id, NOW, SignerRole::Inspector, &me, &png())
        .unwrap();
    assert!(v.signatures[0].image.is_some());
    // The squad mate signs on the same tablet.
    let mate_id = v
        .inspectors
        .iter()
        .find(|i| i.id != me)
        .map(|i| i.id.clone())
        .unwrap();
    assert_eq!(
        tablet
            .sign(&id, NOW, SignerRole::Inspector, &mate_id, &png())
            .unwrap_err()
            .code(),
        "task.duplicate_evidence",
        "one image is one signature"
    );
    let v = tablet
        .sign(&id, NOW, SignerRole::Inspector, &mate_id, &png_of(2))
        .unwrap();
    assert!(v.signatures.iter().any(|s| s.signer == mate_id));
    let v = tablet
        .refuse_to_sign(&id, NOW, SignerRole::Enterprise, "李四", "对结论有异议")
        .unwrap();
    assert_eq!(
        v.signatures[2].refused_reason.as_deref(),
        Some("对结论有异议")
    );
    let sig = v.signatures[0].image.clone().unwrap();
    assert_eq!(tablet.blob(&sig).unwrap(), png());
    assert_eq!(
        tablet.blob("../../etc/passwd").unwrap_err().code(),
        "blob.bad_id"
    );

    let uploads = tablet.store.pending_uploads().unwrap();
    let photos = v
        .evidence
        .iter()
        .filter(|e| e.kind == fieldloop_core::EvidenceKind::Photo)
        .count();
    assert_eq!(
        uploads.len(),
        photos * 3 + 2,
        "original, display, thumbnail per photo; the two signatures"
    );

    assert!(v.problems.is_empty(), "{:?}", v.problems);
    let v = tablet.submit(&id, NOW + 1_000).unwrap();
    assert_eq!(v.status, Some(Status::Submitted));
    assert!(!v.editable);
    let err = tablet
        .answer(&id, NOW, &items(&v)[0].0, Some(Outcome::Fail), None, None)
        .unwrap_err();
    assert_eq!(err.code(), "task.frozen");
    let history = tablet.history(&id).unwrap();
    assert!(history.iter().any(|h| h.message.contains("提交审核")));
}

#[test]
fn conflicting_answers_are_shown_on_the_item_and_resolved_by_picking_one() {
    let (_dir, mut tablet, id) = demo_tablet();
    let view = tablet.task_view(&id).unwrap();
    let item = items(&view)[0].0.clone();
    let other = view.inspectors.iter().find(|i| !i.me).unwrap().id.clone();
    let mate = Author::new(ActorId::random(), other, Role::Inspector);
    // Two replicas edit the same answer concurrently, then merge.
    let mut theirs = tablet.store.open_task(&id).unwrap().fork();
    theirs
        .record_answer(&mate, NOW, &item, Some(Outcome::Fail), None, None)
        .unwrap();
    tablet
        .answer(&id, NOW, &item, Some(Outcome::Pass), None, None)
        .unwrap();
    tablet
        .store
        .edit(&id, NOW, |doc| doc.merge(&mut theirs))
        .unwrap();
    let view = tablet.task_view(&id).unwrap();
    let group_item = view
        .groups
        .iter()
        .flat_map(|g| &g.items)
        .find(|i| i.id == item)
        .unwrap();
    assert!(group_item.conflicted);
    let conflict = &view.conflicts[0];
    assert_eq!(conflict.values.len(), 2);
    assert!(
        conflict.values.iter().all(|v| v.at == Some(NOW)),
        "each value with the time its device wrote it: {:?}",
        conflict.values
    );
    let theirs_op = conflict
        .values
        .iter()
        .find(|v| v.person.as_deref() == Some(mate.person.as_str()))
        .unwrap()
        .op
        .clone();
    let view = tablet
        .resolve_conflict(
            &id,
            NOW,
            &conflict.path,
            &Resolution::Pick { op: theirs_op },
        )
        .unwrap();
    assert!(view.conflicts.is_empty());
    let resolved = view
        .groups
        .iter()
        .flat_map(|g| &g.items)
        .find(|i| i.id == item)
        .unwrap();
    assert_eq!(resolved.answer.result, Some(Outcome::Fail));
}

#[test]
fn enrollment_texts_and_qr_pictures_are_read_and_bad_ones_refused() {
    let t = parse_enroll_text(" fieldloop://enroll?server=http://10.0.0.2:7878&code=ABCD2345 ")
        .unwrap();
    assert_eq!(
        (t.server.as_deref(), t.code.as_str()),
        (Some("http://10.0.0.2:7878"), "ABCD2345")
    );
    let t = parse_enroll_text("abcd 2345").unwrap();
    assert_eq!((t.server, t.code.as_str()), (None, "abcd 2345"));
    for bad in ["", "https://example.com", "fieldloop://enroll?server=x"] {
        assert_eq!(
            parse_enroll_text(bad).unwrap_err().code(),
            "enroll.bad_text",
            "{bad}"
        );
    }
    let link = "fieldloop://enroll?server=http://10.0.0.2:7878&code=QWER7890";
    let png = fieldloop_tablet::qr::QrMatrix::encode(link)
        .unwrap()
        .to_png(8)
        .unwrap();
    assert_eq!(fieldloop_tablet::qr::scan_image(&png).unwrap(), link);
    assert_eq!(
        fieldloop_tablet::qr::scan_image(&jpeg())
            .unwrap_err()
            .code(),
        "qr.not_found"
    );
    assert_eq!(
        fieldloop_tablet::qr::scan_image(b"garbage")
            .unwrap_err()
            .code(),
        "qr.not_found"
    );

    // A typed code without a server is refused before any network use; an
    // unreachable server is a network error; nothing is enrolled.
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::open(dir.path()).unwrap();
    assert_eq!(
        tablet.enroll("ABCD2345", None, "平板").unwrap_err().code(),
        "app.server_missing"
    );
    assert_eq!(
        tablet
            .enroll("ABCD2345", Some("10.0.0.2"), "平板")
            .unwrap_err()
            .code(),
        "app.bad_server_address"
    );
    let err = tablet
        .enroll("ABCD2345", Some("http://127.0.0.1:9"), "平板")
        .unwrap_err();
    assert_eq!(err.code(), "sync.network", "{err}");
    assert!(tablet.identity().unwrap().is_none());
    assert!(tablet.store.setting(keys::TOKEN).unwrap().is_none());
    assert_eq!(
        tablet.check_in("T-1", NOW, None).unwrap_err().code(),
        "sync.not_enrolled"
    );
}
