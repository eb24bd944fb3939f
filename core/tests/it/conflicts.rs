//! Two squad members editing one task apart: what merges, what conflicts,
//! and how a conflict is resolved.

use fieldloop_core::{Outcome, Resolution, Status, SubmitProblem};

use crate::support::*;

#[test]
fn different_answers_to_one_item_are_a_conflict_with_both_authors() {
    let mut a = new_task();
    let mut b = a.fork();
    let item = item_ids(&a)[0].clone();
    a.record_answer(
        &inspector(1),
        T0 + 1,
        &item,
        Some(Outcome::Pass),
        None,
        None,
    )
    .expect("a");
    b.record_answer(
        &inspector(2),
        T0 + 2,
        &item,
        Some(Outcome::Fail),
        None,
        Some("标签缺失"),
    )
    .expect("b");
    a.merge(&mut b).expect("merge");
    b.merge(&mut a).expect("merge");

    let conflicts = a.conflicts().expect("conflicts");
    assert_eq!(conflicts, b.conflicts().expect("conflicts"));
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(
        c.path,
        vec![
            "checklist".to_string(),
            item.clone(),
            "answer".into(),
            "result".into()
        ]
    );
    let mut people: Vec<_> = c.values.iter().filter_map(|v| v.person.clone()).collect();
    people.sort();
    assert_eq!(people, vec!["I-001", "I-002"]);
    // The note from b merged without conflict.
    let task = a.task().expect("task");
    assert_eq!(
        task.checklist[&item].answer.note.as_deref(),
        Some("标签缺失")
    );

    // Submitting is refused while the conflict is open.
    a.check_in(&inspector(1), T0 + 3, None).expect("check in");
    a.check_in(&inspector(2), T0 + 3, None).expect("check in");
    let problems = a.submit_problems().expect("problems");
    assert!(
        problems.contains(&SubmitProblem::OpenConflict {
            path: c.path.join("/")
        }),
        "{problems:?}"
    );
    let heads = a.heads();
    assert_eq!(
        a.submit(&inspector(1), T0 + 4)
            .expect_err("conflict open")
            .code(),
        "task.submit_blocked"
    );
    assert_eq!(a.heads(), heads, "a refused submit changes nothing");

    // Resolve by picking I-002's value.
    let pick = c
        .values
        .iter()
        .find(|v| v.person.as_deref() == Some("I-002"))
        .expect("b's value")
        .op
        .clone();
    a.resolve_conflict(
        &inspector(1),
        T0 + 5,
        &c.path,
        &Resolution::Pick { op: pick },
    )
    .expect("resolve");
    assert!(a.conflicts().expect("conflicts").is_empty());
    assert_eq!(
        a.task().expect("task").checklist[&item].answer.result,
        Some(Outcome::Fail)
    );
    b.merge(&mut a).expect("merge");
    assert!(
        b.conflicts().expect("conflicts").is_empty(),
        "the resolution syncs"
    );
    assert_eq!(b.status().expect("status"), Status::InProgress);
}

#[test]
fn same_answer_from_two_tablets_is_not_a_conflict() {
    let mut a = new_task();
    let mut b = a.fork();
    let item = item_ids(&a)[1].clone();
    a.record_answer(&inspector(1), T0, &item, Some(Outcome::Pass), None, None)
        .expect("a");
    b.record_answer(&inspector(2), T0, &item, Some(Outcome::Pass), None, None)
        .expect("b");
    a.merge(&mut b).expect("merge");
    assert!(a.conflicts().expect("conflicts").is_empty());
}

#[test]
fn a_resolution_by_new_value_must_fit_the_field() {
    let mut a = new_task();
    let mut b = a.fork();
    let item = item_ids(&a)[0].clone();
    a.record_answer(&inspector(1), T0, &item, Some(Outcome::Pass), None, None)
        .expect("a");
    b.record_answer(&inspector(2), T0, &item, Some(Outcome::Fail), None, None)
        .expect("b");
    a.merge(&mut b).expect("merge");
    let path = a.conflicts().expect("conflicts")[0].path.clone();
    let heads = a.heads();
    let bad = Resolution::Value {
        value: serde_json::json!("maybe"),
    };
    assert_eq!(
        a.resolve_conflict(&inspector(1), T0, &path, &bad)
            .expect_err("not an outcome")
            .code(),
        "task.value_does_not_fit"
    );
    assert_eq!(a.heads(), heads);
    let nowhere = vec![
        "checklist".to_string(),
        item.clone(),
        "answer".into(),
        "note".into(),
    ];
    let ok = Resolution::Value {
        value: serde_json::json!("not_applicable"),
    };
    assert_eq!(
        a.resolve_conflict(&inspector(1), T0, &nowhere, &ok)
            .expect_err("no conflict")
            .code(),
        "task.no_conflict"
    );
    a.resolve_conflict(&inspector(1), T0, &path, &ok)
        .expect("resolve");
    assert_eq!(
        a.task().expect("task").checklist[&item].answer.result,
        Some(Outcome::NotApplicable)
    );
}

#[test]
fn concurrent_check_ins_and_evidence_all_survive() {
    let mut a = new_task();
    let mut b = a.fork();
    let mut c = a.fork();
    a.check_in(&inspector(1), T0 + 1, None).expect("1");
    b.check_in(&inspector(2), T0 + 2, None).expect("2");
    c.check_in(&inspector(3), T0 + 3, None).expect("3");
    a.merge(&mut b).expect("merge");
    a.merge(&mut c).expect("merge");
    let report = a.status_report().expect("report");
    assert_eq!(report.status, Some(Status::InProgress));
    assert_eq!(report.checked_in.len(), 3);
    assert!(report.anomalies.is_empty());
}
