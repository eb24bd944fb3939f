//! Property tests: whatever the edits and whatever the order of merges,
//! replicas converge to the same document, status and conflicts; save/load
//! round-trips; the status fold does not depend on merge order.
//!
//! The number of cases follows `PROPTEST_CASES` (CI sets it).

use fieldloop_core::{
    ActorId, Author, EventKind, EvidenceKind, GeoPoint, NewEvidence, Outcome, Resolution, Role,
    Status, TaskDoc,
};
use proptest::prelude::*;

use crate::support::*;

#[derive(Debug, Clone)]
enum Edit {
    Answer { item: usize, outcome: u8 },
    Note { item: usize, text: String },
    CheckIn,
    Evidence { n: u32, item: usize },
    Withdraw { n: u32 },
    Trace { k: u8 },
    Sign { enterprise: bool },
    Submit,
    Decide { kind: u8 },
    ResolveFirst,
}

#[derive(Debug, Clone)]
enum Step {
    Edit {
        replica: usize,
        edit: Edit,
    },
    /// `to` receives everything `from` has.
    Sync {
        from: usize,
        to: usize,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0..6usize, 0..3u8).prop_map(|(item, outcome)| Edit::Answer { item, outcome }),
        2 => (0..6usize, "[a-c]{0,3}").prop_map(|(item, text)| Edit::Note { item, text }),
        2 => Just(Edit::CheckIn),
        2 => (0..4u32, 0..6usize).prop_map(|(n, item)| Edit::Evidence { n, item }),
        1 => (0..4u32).prop_map(|n| Edit::Withdraw { n }),
        1 => (0..3u8).prop_map(|k| Edit::Trace { k }),
        1 => any::<bool>().prop_map(|enterprise| Edit::Sign { enterprise }),
        1 => Just(Edit::Submit),
        1 => (0..5u8).prop_map(|kind| Edit::Decide { kind }),
        1 => Just(Edit::ResolveFirst),
    ]
}

fn steps(replicas: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        3 => (0..replicas, edit()).prop_map(|(replica, edit)| Step::Edit { replica, edit }),
        1 => (0..replicas, 0..replicas).prop_map(|(from, to)| Step::Sync { from, to }),
    ];
    prop::collection::vec(step, 1..40)
}

/// Replica `r`'s author: three inspectors, a second device of inspector 1, a supervisor.
fn author(r: usize) -> Author {
    match r {
        0..=2 => inspector(r as u8 + 1),
        3 => Author::new(ActorId::from(vec![4u8; 16]), "I-001", Role::Inspector),
        _ => supervisor(),
    }
}

fn apply(doc: &mut TaskDoc, items: &[String], r: usize, edit: &Edit, t: i64) {
    let who = author(r);
    // Edits may be refused (frozen task, wrong status, …): that is part of
    // the property; a refusal must leave the replica unchanged.
    let heads = doc.heads();
    let status_before = doc.status().expect("status");
    let result = match edit {
        Edit::Answer { item, outcome } => {
            let outcome = [Outcome::Pass, Outcome::Fail, Outcome::NotApplicable][*outcome as usize];
            doc.record_answer(
                &who,
                t,
                &items[item % items.len()],
                Some(outcome),
                None,
                None,
            )
        }
        Edit::Note { item, text } => {
            doc.record_answer(&who, t, &items[item % items.len()], None, None, Some(text))
        }
        Edit::CheckIn => doc.check_in(
            &who,
            t,
            Some(GeoPoint {
                lat: 25.6,
                lon: 115.3,
            }),
        ),
        Edit::Evidence { n, item } => doc.add_evidence(
            &who,
            t,
            NewEvidence {
                sha256: sha(*n * 10 + r as u32),
                kind: EvidenceKind::Photo,
                taken_at: t,
                location: None,
                caption: None,
                mime: "image/jpeg".into(),
                bytes: 1,
                thumb_sha256: None,
                display_sha256: None,
                item: Some(items[item % items.len()].clone()),
            },
        ),
        Edit::Withdraw { n } => doc.withdraw_evidence(&who, t, &sha(*n * 10 + r as u32), "重拍"),
        Edit::Trace { k } => doc.add_trace(
            &who,
            t,
            &[(
                t,
                GeoPoint {
                    lat: 25.6 + f64::from(*k) * 1e-4,
                    lon: 115.3,
                },
                5.0,
            )],
        ),
        Edit::Sign { enterprise: false } => {
            let signer = who.person.clone();
            doc.sign(
                &who,
                t,
                fieldloop_core::SignerRole::Inspector,
                &signer,
                NewEvidence {
                    sha256: sha(50_000 + (t as u32 % 1000) * 10 + r as u32),
                    kind: EvidenceKind::Signature,
                    taken_at: t,
                    location: None,
                    caption: None,
                    mime: "image/png".into(),
                    bytes: 1,
                    thumb_sha256: None,
                    display_sha256: None,
                    item: None,
                },
            )
        }
        Edit::Sign { enterprise: true } => doc.refuse_to_sign(
            &who,
            t,
            fieldloop_core::SignerRole::Enterprise,
            "王五",
            "不同意",
        ),
        Edit::Submit => doc.submit(&who, t),
        Edit::Decide { kind } => {
            let kind = [
                EventKind::Returned,
                EventKind::Approved,
                EventKind::Published,
                EventKind::Cancelled,
                EventKind::Reopened,
            ][*kind as usize];
            let who = if kind == EventKind::Reopened {
                admin()
            } else {
                who
            };
            doc.decide(&who, t, kind, Some("意见"))
        }
        Edit::ResolveFirst => match doc.conflicts().expect("conflicts").first() {
            Some(c) => {
                let op = c.values[c.values.len() - 1].op.clone();
                doc.resolve_conflict(&who, t, &c.path, &Resolution::Pick { op })
            }
            None => Ok(()),
        },
    };
    if result.is_err() {
        assert_eq!(
            doc.heads(),
            heads,
            "a refused edit left a change behind: {edit:?} {result:?}"
        );
    }
    // Edits an inspector of the task may always make while the task is open must succeed.
    let open = matches!(
        status_before,
        Status::Assigned | Status::InProgress | Status::Returned
    );
    if open
        && r < 4
        && matches!(
            edit,
            Edit::Answer { .. } | Edit::Note { .. } | Edit::CheckIn | Edit::Trace { .. }
        )
    {
        assert!(
            result.is_ok(),
            "{edit:?} refused on an open task: {result:?}"
        );
    }
}

fn run(replicas: usize, steps: &[Step], merge_order: &[usize]) -> Vec<TaskDoc> {
    let mut base = new_task();
    let items = item_ids(&base);
    let mut docs: Vec<TaskDoc> = (0..replicas).map(|_| base.fork()).collect();
    for (i, step) in steps.iter().enumerate() {
        let t = T0 + i as i64 * 1_000;
        match step {
            Step::Edit { replica, edit } => apply(&mut docs[*replica], &items, *replica, edit, t),
            Step::Sync { from, to } if from != to => {
                let mut source = docs[*from].fork();
                docs[*to].merge(&mut source).expect("merge");
            }
            Step::Sync { .. } => {}
        }
    }
    // Everyone syncs with everyone, each replica in its own order.
    let snapshots: Vec<TaskDoc> = docs.iter_mut().map(TaskDoc::fork).collect();
    for (r, doc) in docs.iter_mut().enumerate() {
        for k in 0..replicas {
            let other = merge_order[(k + r) % merge_order.len()] % replicas;
            doc.merge(&mut snapshots[other].clone()).expect("merge");
        }
    }
    docs
}

proptest! {
    /// `TaskDoc::task` keeps reads by heads for the whole process: after
    /// any edit or merge, and with an edit not yet committed, it gives what
    /// the document holds, never a read kept for another state.
    #[test]
    fn a_kept_read_is_what_the_document_holds(
        (replicas, steps) in (2usize..=4).prop_flat_map(|n| (Just(n), steps(n)))
    ) {
        let mut base = new_task();
        let items = item_ids(&base);
        let mut docs: Vec<TaskDoc> = (0..replicas).map(|_| base.fork()).collect();
        for (i, step) in steps.iter().enumerate() {
            let t = T0 + i as i64 * 1_000;
            let touched = match step {
                Step::Edit { replica, edit } => {
                    // Read (and so kept) before the edit.
                    docs[*replica].task().expect("task");
                    apply(&mut docs[*replica], &items, *replica, edit, t);
                    *replica
                }
                Step::Sync { from, to } => {
                    docs[*to].task().expect("task");
                    let mut source = docs[*from].fork();
                    docs[*to].merge(&mut source).expect("merge");
                    *to
                }
            };
            let doc = &mut docs[touched];
            prop_assert_eq!(doc.task().expect("task"), doc.task_fresh().expect("task"));
        }
        // An edit made straight on the document and not committed yet.
        let doc = &mut docs[0];
        let kept = doc.task().expect("task");
        let subject = match automerge::ReadDoc::get(doc.automerge(), &automerge::ROOT, "subject") {
            Ok(Some((_, subject))) => subject,
            other => panic!("no subject: {other:?}"),
        };
        automerge::transaction::Transactable::put(doc.automerge(), &subject, "name", "未提交的名称")
            .expect("put");
        let read = doc.task().expect("task");
        prop_assert_eq!(read.subject.name.as_str(), "未提交的名称");
        prop_assert_ne!(read, kept);
    }

    #[test]
    fn replicas_converge(
        (replicas, steps, order) in (2usize..=5).prop_flat_map(|n| (Just(n), steps(n), Just((0..n).collect::<Vec<_>>()).prop_shuffle()))
    ) {
        let mut docs = run(replicas, &steps, &order);
        let reference_task = docs[0].task().expect("task");
        let reference_status = docs[0].status_report().expect("status");
        let reference_conflicts = docs[0].conflicts().expect("conflicts");
        let reference_heads = docs[0].heads();
        // Reading each object in one pass (`fieldloop_core::walk`) gives
        // what autosurgeon's field-by-field reading gives, conflicts and all.
        let direct: fieldloop_core::Task = autosurgeon::hydrate(docs[0].automerge()).expect("direct");
        prop_assert_eq!(&direct, &reference_task);
        prop_assert_eq!(docs[0].task_fresh().expect("task"), direct.clone());
        // The conflicts found from the objects that reading read are those
        // of a walk of the document itself.
        prop_assert_eq!(
            docs[0].task_and_conflicts_fresh().expect("task and conflicts"),
            (direct, reference_conflicts.clone())
        );
        // The index's summary of a task read whole is the one read alone.
        prop_assert_eq!(reference_task.summary().expect("summary"), docs[0].summary().expect("summary"));
        // The record's list of what blocks submitting, built from one
        // reading of the document, is what the submit check refuses on.
        let record = fieldloop_core::record::build_record(&mut docs[0], &Default::default(), None, "https://verify.example")
            .expect("record");
        let listed: Vec<_> = record.problems.into_iter().map(|p| p.problem).collect();
        prop_assert_eq!(listed, docs[0].submit_problems().expect("problems"));
        for doc in docs.iter_mut().skip(1) {
            prop_assert_eq!(doc.heads(), reference_heads.clone());
            // Read from each document itself: `task` would give the read
            // kept for these heads.
            prop_assert_eq!(doc.task_fresh().expect("task"), reference_task.clone());
            prop_assert_eq!(doc.status_report().expect("status"), reference_status.clone());
            prop_assert_eq!(doc.conflicts().expect("conflicts"), reference_conflicts.clone());
        }
        // Save/load round-trips to the same document.
        let mut loaded = TaskDoc::load(&docs[0].save()).expect("load");
        prop_assert_eq!(loaded.task_fresh().expect("task"), reference_task);
        prop_assert_eq!(loaded.heads(), reference_heads);
        prop_assert_eq!(loaded.conflicts().expect("conflicts"), reference_conflicts);
    }

    #[test]
    fn status_does_not_depend_on_merge_order(
        (replicas, steps, a, b) in (2usize..=5).prop_flat_map(|n| {
            let order = Just((0..n).collect::<Vec<_>>());
            (Just(n), steps(n), order.clone().prop_shuffle(), order.prop_shuffle())
        })
    ) {
        let first = run(replicas, &steps, &a);
        let second = run(replicas, &steps, &b);
        prop_assert_eq!(first[0].status_report().expect("status"), second[0].status_report().expect("status"));
        prop_assert_eq!(first[0].task().expect("task").events, second[0].task().expect("task").events);
    }
}
