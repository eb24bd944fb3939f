//! The life of one task on one replica: create, check in, answer, evidence,
//! submit, review; and every refusal leaving the document unchanged.

use fieldloop_core::{
    EventKind, EvidenceKind, Finding, GeoPoint, LeadTransfer, NewEvidence, Outcome, Severity,
    SignerRole, Status, SubmitProblem, TaskDoc, TaskError,
};

use crate::support::*;

fn photo(n: u32, item: Option<&str>) -> NewEvidence {
    NewEvidence {
        sha256: sha(n),
        kind: EvidenceKind::Photo,
        taken_at: T0 + 1_000,
        location: Some(GeoPoint {
            lat: 25.6,
            lon: 115.3,
        }),
        caption: Some("后厨".into()),
        mime: "image/jpeg".into(),
        bytes: 3_000_000,
        thumb_sha256: Some(sha(n + 1_000)),
        display_sha256: Some(sha(n + 2_000)),
        item: item.map(str::to_owned),
    }
}

/// Answers every item and attaches evidence where required.
fn complete(doc: &mut TaskDoc) {
    let task = doc.task().expect("task");
    let mut n = 1;
    for (id, item) in task.items_in_order() {
        doc.record_answer(
            &inspector(1),
            T0 + 10_000,
            id,
            Some(Outcome::Pass),
            None,
            None,
        )
        .expect("answer");
        if item.requires_evidence {
            doc.add_evidence(&inspector(1), T0 + 11_000, photo(n, Some(id)))
                .expect("evidence");
            n += 1;
        }
    }
}

#[test]
fn a_new_task_is_assigned_with_an_empty_checklist() {
    let doc = new_task();
    assert_eq!(doc.status().expect("status"), Status::Assigned);
    let task = doc.task().expect("task");
    assert!(task.checklist.values().all(|i| i.answer.result.is_none()));
    assert!(task.departments.len() >= 2, "demo task is joint");
    let summary = doc.summary().expect("summary");
    assert_eq!(summary.code, task.code);
    assert_eq!(summary.status, Status::Assigned);
}

#[test]
fn a_task_carries_the_names_of_its_team_inspectors_and_departments() {
    let doc = new_task();
    let task = doc.task().expect("task");
    let names = task.names.expect("names written at creation");
    assert_eq!(names.team, "青溪镇综合行政执法队");
    assert_eq!(names.inspectors.len(), task.inspectors.len());
    for id in &task.inspectors {
        let name = &names.inspectors[id];
        assert!(!name.is_empty() && name != id, "{id} is named: {name}");
    }
    let mut departments = task.departments.clone();
    departments.sort();
    assert_eq!(
        names.departments.keys().cloned().collect::<Vec<_>>(),
        departments
    );
    assert!(
        names
            .departments
            .values()
            .all(|d| !d.name.is_empty() && !d.name_en.is_empty())
    );
}

#[test]
fn only_supervisors_create_tasks_and_tasks_need_two_inspectors() {
    let err = TaskDoc::create(spec(), &inspector(1), T0).expect_err("inspector may not create");
    assert_eq!(err.code(), "task.create_not_allowed");
    let mut one = spec();
    one.inspectors = vec!["I-001".into(), "I-001".into()];
    let err = TaskDoc::create(one, &supervisor(), T0).expect_err("one inspector");
    assert!(matches!(
        err,
        TaskError::TooFewInspectors { have: 1, need: 2 }
    ));
}

#[test]
fn the_full_review_loop() {
    let mut doc = new_task();
    doc.check_in(
        &inspector(1),
        T0 + 1,
        Some(GeoPoint {
            lat: 25.6,
            lon: 115.3,
        }),
    )
    .expect("check in 1");
    assert_eq!(doc.status().expect("status"), Status::InProgress);
    doc.check_in(&inspector(2), T0 + 2, None)
        .expect("check in 2");
    complete(&mut doc);
    let unsigned = doc.submit_problems().expect("problems");
    assert_eq!(
        unsigned,
        vec![
            SubmitProblem::InspectorUnsigned {
                inspector: "I-001".into()
            },
            SubmitProblem::InspectorUnsigned {
                inspector: "I-002".into()
            },
            SubmitProblem::EnterpriseUnsigned,
        ],
        "the record is signed before it is submitted"
    );
    sign_record(&mut doc, &[1, 2]);
    doc.submit(&inspector(2), T0 + 20_000).expect("submit");
    assert_eq!(doc.status().expect("status"), Status::Submitted);

    // Submitted means frozen for inspectors.
    let first = item_ids(&doc)[0].clone();
    let err = doc.record_answer(
        &inspector(1),
        T0 + 21_000,
        &first,
        Some(Outcome::Fail),
        None,
        None,
    );
    assert!(matches!(err, Err(TaskError::Frozen(Status::Submitted))));

    doc.decide(
        &supervisor(),
        T0 + 30_000,
        EventKind::Returned,
        Some("补充照片"),
    )
    .expect("return");
    let report = doc.status_report().expect("report");
    assert_eq!(report.status, Some(Status::Returned));
    assert_eq!(report.return_comment.as_deref(), Some("补充照片"));
    doc.record_answer(
        &inspector(1),
        T0 + 31_000,
        &first,
        None,
        None,
        Some("已补充"),
    )
    .expect("fix");
    doc.submit(&inspector(1), T0 + 32_000).expect("resubmit");
    doc.decide(&supervisor(), T0 + 40_000, EventKind::Approved, None)
        .expect("approve");
    doc.decide(&supervisor(), T0 + 41_000, EventKind::Published, None)
        .expect("publish");
    assert_eq!(doc.status().expect("status"), Status::Published);

    let history = doc.history().expect("history");
    let people: Vec<_> = history.iter().filter_map(|h| h.person.as_deref()).collect();
    assert!(people.contains(&"S-001") && people.contains(&"I-001") && people.contains(&"I-002"));
    assert!(history.iter().all(|h| !h.message.is_empty()));
    assert_eq!(
        history.first().map(|h| h.person.as_deref()),
        Some(Some("S-001"))
    );
    let last = history.last().expect("last");
    assert!(last.message.contains("公示"), "{}", last.message);
    assert_eq!(last.at, (T0 + 41_000) / 1000 * 1000);
}

#[test]
fn an_invalid_transition_is_refused_and_changes_nothing() {
    let mut doc = new_task();
    let before = doc.save();
    let err = doc
        .decide(&supervisor(), T0 + 1, EventKind::Approved, None)
        .expect_err("not submitted");
    assert_eq!(err.code(), "status.wrong_status");
    let err = doc
        .decide(&supervisor(), T0 + 1, EventKind::Returned, None)
        .expect_err("comment");
    assert_eq!(err.code(), "status.comment_required");
    let err = doc
        .decide(&inspector(1), T0 + 1, EventKind::Cancelled, Some("x"))
        .expect_err("role");
    assert_eq!(err.code(), "status.role_not_allowed");
    let err = doc
        .check_in(&crate::support::supervisor(), T0 + 1, None)
        .expect_err("supervisor check-in");
    assert_eq!(err.code(), "status.role_not_allowed");
    assert_eq!(
        doc.save(),
        before,
        "the document is byte-for-byte unchanged"
    );
    assert_eq!(doc.history().expect("history").len(), 1);
}

#[test]
fn submit_explains_every_problem_and_changes_nothing() {
    let mut doc = new_task();
    doc.check_in(&inspector(1), T0 + 1, None).expect("check in");
    let heads = doc.heads();
    let err = doc.submit(&inspector(1), T0 + 2).expect_err("incomplete");
    let TaskError::SubmitBlocked(problems) = err else {
        panic!("wrong error {err:?}")
    };
    assert_eq!(
        problems[0],
        SubmitProblem::TooFewCheckedIn { have: 1, need: 2 }
    );
    let unanswered = problems
        .iter()
        .filter(|p| matches!(p, SubmitProblem::Unanswered { .. }))
        .count();
    assert_eq!(unanswered, item_ids(&doc).len());
    assert_eq!(doc.heads(), heads);

    doc.check_in(&inspector(2), T0 + 3, None).expect("check in");
    let task = doc.task().expect("task");
    for (id, _) in task.items_in_order() {
        doc.record_answer(&inspector(1), T0 + 4, id, Some(Outcome::Fail), None, None)
            .expect("answer");
    }
    let needing: Vec<_> = task
        .checklist
        .iter()
        .filter(|(_, i)| i.requires_evidence)
        .map(|(id, _)| id)
        .collect();
    assert!(!needing.is_empty());
    sign_record(&mut doc, &[1, 2]);
    let problems = doc.submit_problems().expect("problems");
    assert_eq!(problems.len(), needing.len(), "{problems:?}");
    assert!(
        problems
            .iter()
            .all(|p| matches!(p, SubmitProblem::MissingEvidence { .. }))
    );
}

#[test]
fn withdrawn_evidence_stays_in_the_record_but_does_not_count() {
    let mut doc = new_task();
    doc.check_in(&inspector(1), T0, None).expect("check in");
    doc.check_in(&inspector(2), T0, None).expect("check in");
    complete(&mut doc);
    sign_record(&mut doc, &[1, 2]);
    assert!(doc.submit_problems().expect("problems").is_empty());
    let task = doc.task().expect("task");
    let (item, ev) = task
        .items_in_order()
        .into_iter()
        .find_map(|(id, i)| i.evidence.first().map(|e| (id.clone(), e.clone())))
        .expect("an item with evidence");
    let err = doc
        .withdraw_evidence(&inspector(2), T0 + 1, &ev, " ")
        .expect_err("reason");
    assert_eq!(err.code(), "task.reason_required");
    doc.withdraw_evidence(&inspector(2), T0 + 1, &ev, "拍错了")
        .expect("withdraw");
    let task = doc.task().expect("task");
    assert_eq!(
        task.evidence[&ev].withdrawn_reason.as_deref(),
        Some("拍错了")
    );
    assert_eq!(
        doc.submit_problems().expect("problems"),
        vec![SubmitProblem::MissingEvidence { item }]
    );
}

#[test]
fn evidence_findings_transfers_and_trace_are_recorded() {
    let mut doc = new_task();
    let item = item_ids(&doc)[0].clone();
    doc.add_evidence(&inspector(1), T0, photo(7, Some(&item)))
        .expect("evidence");
    let err = doc
        .add_evidence(&inspector(2), T0, photo(7, None))
        .expect_err("duplicate");
    assert_eq!(err.code(), "task.duplicate_evidence");
    let mut bad = photo(8, None);
    bad.sha256 = "../../etc/passwd".into();
    assert_eq!(
        doc.add_evidence(&inspector(1), T0, bad)
            .expect_err("bad hash")
            .code(),
        "task.bad_hash"
    );
    assert_eq!(
        doc.set_caption(&inspector(2), T0 + 5, &sha(7), "灭火器过期")
            .expect_err("only who took it captions it")
            .code(),
        "policy.not_yours"
    );
    doc.set_caption(&inspector(1), T0 + 5, &sha(7), "灭火器过期")
        .expect("caption");
    doc.add_trace(
        &inspector(1),
        T0 + 6,
        &[
            (
                T0 + 1,
                GeoPoint {
                    lat: 25.61,
                    lon: 115.31,
                },
                5.0,
            ),
            (
                T0 + 2,
                GeoPoint {
                    lat: 25.62,
                    lon: 115.32,
                },
                4.0,
            ),
        ],
    )
    .expect("trace");
    let finding = Finding {
        id: "F-1".into(),
        item_id: Some(item.clone()),
        description: "灭火器压力不足".into(),
        severity: Severity::Major,
        rectification_order: Some("更换灭火器".into()),
        rectification_deadline: Some(T0 + 7 * 86_400_000),
        by: String::new(),
        at: 0,
    };
    doc.add_finding(&inspector(2), T0 + 7, finding.clone())
        .expect("finding");
    let mut half = finding.clone();
    half.rectification_deadline = None;
    assert_eq!(
        doc.add_finding(&inspector(2), T0, half)
            .expect_err("half order")
            .code(),
        "task.rectification_incomplete"
    );
    doc.add_lead_transfer(
        &inspector(1),
        T0 + 8,
        LeadTransfer {
            id: "L-1".into(),
            to_department: "GA".into(),
            summary: "疑似非法储存危险化学品".into(),
            evidence: vec![sha(7)],
            criminal: true,
            by: String::new(),
            at: 0,
        },
    )
    .expect("transfer");
    let task = doc.task().expect("task");
    assert_eq!(task.checklist[&item].evidence, vec![sha(7)]);
    assert_eq!(
        task.evidence[&sha(7)].caption.as_deref(),
        Some("灭火器过期")
    );
    assert_eq!(task.evidence[&sha(7)].by, "I-001");
    assert_eq!(task.trace.len(), 2);
    assert_eq!(task.findings[0].by, "I-002");
    assert_eq!(task.findings[0].at, T0 + 7);
    assert!(task.lead_transfers[0].criminal);
    let messages: Vec<_> = doc
        .history()
        .expect("history")
        .into_iter()
        .map(|h| h.message)
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("行刑衔接")),
        "{messages:?}"
    );
}

#[test]
fn people_outside_the_task_cannot_edit_it() {
    let mut doc = new_task();
    let item = item_ids(&doc)[0].clone();
    let stranger = fieldloop_core::Author::new(actor(9), "I-009", fieldloop_core::Role::Inspector);
    let before = doc.save();
    assert_eq!(
        doc.record_answer(&stranger, T0, &item, Some(Outcome::Pass), None, None)
            .expect_err("stranger")
            .code(),
        "task.not_an_inspector"
    );
    assert_eq!(
        doc.record_answer(&supervisor(), T0, &item, Some(Outcome::Pass), None, None)
            .expect_err("supervisor")
            .code(),
        "task.not_an_inspector"
    );
    assert_eq!(
        doc.record_answer(
            &inspector(1),
            T0,
            "NO-SUCH",
            Some(Outcome::Pass),
            None,
            None
        )
        .expect_err("item")
        .code(),
        "task.unknown_item"
    );
    // One device acts for one person only.
    doc.record_answer(&inspector(1), T0, &item, Some(Outcome::Pass), None, None)
        .expect("answer");
    let impostor = fieldloop_core::Author::new(actor(1), "I-002", fieldloop_core::Role::Inspector);
    assert_eq!(
        doc.record_answer(&impostor, T0, &item, Some(Outcome::Fail), None, None)
            .expect_err("impostor")
            .code(),
        "task.acts_for_another"
    );
    let mut reloaded = TaskDoc::load(&before).expect("load");
    assert_eq!(reloaded.history().expect("history").len(), 1);
    assert_eq!(doc.history().expect("history").len(), 2);
}

#[test]
fn save_load_and_incremental_round_trip() {
    let mut doc = new_task();
    let base = doc.save();
    let item = item_ids(&doc)[0].clone();
    doc.record_answer(
        &inspector(1),
        T0,
        &item,
        Some(Outcome::Pass),
        Some("3 个"),
        None,
    )
    .expect("answer");
    let chunk = doc.save_incremental();
    let mut copy = TaskDoc::load(&base).expect("load");
    copy.load_incremental(&chunk).expect("chunk");
    assert_eq!(copy.task().expect("task"), doc.task().expect("task"));
    assert_eq!(copy.heads(), doc.heads());
}

#[test]
fn garbage_is_not_a_task() {
    assert_eq!(
        TaskDoc::load(b"not automerge").expect_err("garbage").code(),
        "task.malformed"
    );
    let mut empty = automerge::AutoCommit::new();
    assert_eq!(
        TaskDoc::load(&empty.save()).expect_err("empty doc").code(),
        "task.malformed"
    );
}

#[test]
fn signatures_and_refusals_are_kept_with_the_signer_and_the_image_as_evidence() {
    let mut doc = new_task();
    let image = NewEvidence {
        sha256: sha(21),
        kind: EvidenceKind::Signature,
        taken_at: T0,
        location: None,
        caption: None,
        mime: "image/png".into(),
        bytes: 2_000,
        thumb_sha256: None,
        display_sha256: None,
        item: None,
    };
    doc.sign(
        &inspector(1),
        T0 + 1,
        SignerRole::Inspector,
        "I-001",
        image.clone(),
    )
    .expect("inspector signs");
    assert_eq!(
        doc.sign(
            &inspector(1),
            T0 + 2,
            SignerRole::Inspector,
            "I-001",
            image.clone()
        )
        .expect_err("same image twice")
        .code(),
        "task.duplicate_evidence"
    );
    assert_eq!(
        doc.refuse_to_sign(&inspector(2), T0 + 3, SignerRole::Enterprise, "王某", " ")
            .expect_err("no reason")
            .code(),
        "task.reason_required"
    );
    doc.refuse_to_sign(
        &inspector(2),
        T0 + 4,
        SignerRole::Enterprise,
        "王某",
        "对结论有异议",
    )
    .expect("refusal recorded");
    let task = doc.task().expect("task");
    assert_eq!(task.signatures.len(), 2);
    assert_eq!(task.signatures[0].image.as_deref(), Some(sha(21).as_str()));
    assert_eq!(task.evidence[&sha(21)].kind, EvidenceKind::Signature);
    assert_eq!(task.evidence[&sha(21)].caption.as_deref(), Some("I-001"));
    let refusal = &task.signatures[1];
    assert_eq!(refusal.role, SignerRole::Enterprise);
    assert_eq!(refusal.refused_reason.as_deref(), Some("对结论有异议"));
    assert_eq!((refusal.by.as_str(), refusal.at), ("I-002", T0 + 4));
    let history = doc.history().expect("history");
    assert!(
        history
            .iter()
            .any(|h| h.message == "王某 拒绝签名：对结论有异议")
    );
}
