//! The write policy as a matrix: what each kind of change does × who makes
//! it × the status of the task, each change built by hand (as modified
//! software would) and judged by `policy::check`, the function the server
//! applies to every push.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc};
use fieldloop_core::policy::{self, Writer};
use fieldloop_core::{
    Author, Event, EventKind, EvidenceKind, NewEvidence, Outcome, Role, Status, TaskDoc, TracePoint,
};

use crate::support::*;

/// The statuses of the matrix, reached through the verbs.
fn task_at(status: Status) -> TaskDoc {
    let mut doc = new_task();
    if status == Status::Assigned {
        return doc;
    }
    if status == Status::Cancelled {
        doc.decide(&supervisor(), T0, EventKind::Cancelled, Some("企业注销"))
            .expect("cancel");
        return doc;
    }
    for n in [1, 2] {
        doc.check_in(&inspector(n), T0, None).expect("check in");
    }
    if status == Status::InProgress {
        return doc;
    }
    let items: Vec<(String, bool)> = doc
        .task()
        .expect("task")
        .items_in_order()
        .into_iter()
        .map(|(id, item)| (id.clone(), item.requires_evidence))
        .collect();
    for (n, (item, evidence)) in items.iter().enumerate() {
        doc.record_answer(&inspector(1), T0, item, Some(Outcome::Pass), None, None)
            .expect("answer");
        if *evidence {
            doc.add_evidence(&inspector(1), T0, photo(n as u32 + 100, Some(item)))
                .expect("evidence");
        }
    }
    sign_record(&mut doc, &[1, 2]);
    doc.submit(&inspector(1), T0).expect("submit");
    let decisions: &[(EventKind, Option<&str>)] = match status {
        Status::Submitted => &[],
        Status::Returned => &[(EventKind::Returned, Some("补拍照片"))],
        Status::Approved => &[(EventKind::Approved, None)],
        Status::Published => &[(EventKind::Approved, None), (EventKind::Published, None)],
        _ => unreachable!("covered above"),
    };
    for (kind, comment) in decisions {
        doc.decide(&supervisor(), T0, *kind, *comment)
            .expect("decide");
    }
    assert_eq!(doc.status().expect("status"), status);
    doc
}

fn photo(n: u32, item: Option<&str>) -> NewEvidence {
    NewEvidence {
        sha256: sha(n),
        kind: EvidenceKind::Photo,
        taken_at: T0,
        location: None,
        caption: None,
        mime: "image/jpeg".into(),
        bytes: 1,
        thumb_sha256: None,
        display_sha256: None,
        item: item.map(str::to_owned),
    }
}

fn obj(doc: &AutoCommit, path: &[&str]) -> ObjId {
    path.iter().fold(ROOT, |at, key| {
        doc.get(&at, *key).expect("read").expect("present").1
    })
}

/// What a change does.
#[derive(Debug, Clone, Copy)]
enum Act {
    Answer,
    AddEvidence,
    AppendTrace,
    RenameSubject,
    /// Rewrites an inspector's name in the task's `names`.
    RenameInspector,
    CheckIn,
    Approve,
}

const ACTS: [Act; 7] = [
    Act::Answer,
    Act::AddEvidence,
    Act::AppendTrace,
    Act::RenameSubject,
    Act::RenameInspector,
    Act::CheckIn,
    Act::Approve,
];

fn register(doc: &mut AutoCommit, who: &Author) {
    let actors = obj(doc, &["actors"]);
    let key = who.actor.to_hex_string();
    if doc.get(&actors, key.as_str()).expect("read").is_none() {
        let info = fieldloop_core::task::ActorInfo {
            person: who.person.clone(),
            role: who.role,
        };
        autosurgeon::reconcile_prop(doc, &actors, key.as_str(), &info).expect("register");
    }
}

fn append<T: autosurgeon::Reconcile>(doc: &mut AutoCommit, list: &str, record: &T) {
    let list = obj(doc, &[list]);
    let n = doc.length(&list);
    autosurgeon::reconcile_insert(doc, list, n, record).expect("insert");
}

/// Makes `act` as one hand-built change by `who` on a copy of `doc`, and
/// judges it: `Ok` or the refusal's code.
fn judge(doc: &mut TaskDoc, who: &Author, act: Act) -> Result<(), &'static str> {
    let mut copy = doc.fork();
    let am = copy.automerge();
    am.set_actor(who.actor.clone());
    register(am, who);
    let item = doc.task().expect("task").items_in_order()[0].0.clone();
    let event = |kind| Event {
        kind,
        at: T0,
        by: who.person.clone(),
        role: who.role,
        comment: None,
        location: None,
    };
    match act {
        Act::Answer => {
            let answer = obj(am, &["checklist", &item, "answer"]);
            am.put(&answer, "result", "fail").expect("put");
        }
        Act::AddEvidence => {
            let evidence = obj(am, &["evidence"]);
            let entry = fieldloop_core::Evidence {
                sha256: sha(7),
                kind: EvidenceKind::Photo,
                taken_at: T0,
                by: who.person.clone(),
                location: None,
                caption: None,
                mime: "image/jpeg".into(),
                bytes: 1,
                thumb_sha256: None,
                display_sha256: None,
                item: None,
                withdrawn_at: None,
                withdrawn_by: None,
                withdrawn_reason: None,
            };
            autosurgeon::reconcile_prop(am, &evidence, sha(7).as_str(), &entry).expect("put");
        }
        Act::AppendTrace => append(
            am,
            "trace",
            &TracePoint {
                t: T0,
                lat: 27.0,
                lon: 115.0,
                accuracy: 5.0,
                by: who.person.clone(),
            },
        ),
        Act::RenameSubject => {
            let subject = obj(am, &["subject"]);
            am.put(&subject, "name", "别的公司").expect("put");
        }
        Act::RenameInspector => {
            let names = obj(am, &["names", "inspectors"]);
            am.put(&names, "I-001", "冒名者").expect("put");
        }
        Act::CheckIn => append(am, "events", &event(EventKind::CheckedIn)),
        Act::Approve => append(am, "events", &event(EventKind::Approved)),
    }
    let hash = am
        .commit_with(CommitOptions::default().with_message("matrix"))
        .expect("a change");
    let change = am.get_change_by_hash(&hash).expect("change");
    let writer = Writer {
        actor: who.actor.clone(),
        person: who.person.clone(),
        role: who.role,
        certified: None,
    };
    policy::check(am, &[change], &writer)
        .map(|_| ())
        .map_err(|r| r.code().as_str())
}

/// The expected verdict of the matrix.
fn expected(role: &str, status: Status, act: Act) -> Result<(), &'static str> {
    use Act::*;
    use Status::*;
    let open = matches!(status, Assigned | InProgress | Returned);
    match role {
        "off task" => Err("policy.not_on_task"),
        "on task" if !open => Err("policy.frozen"),
        "on task" => match act {
            Answer | AddEvidence | AppendTrace | CheckIn => Ok(()),
            RenameSubject | RenameInspector => Err("policy.forbidden_field"),
            Approve => Err("policy.event_not_allowed"),
        },
        _ => match act {
            Answer | AddEvidence | AppendTrace | RenameSubject | RenameInspector => {
                Err("policy.forbidden_field")
            }
            CheckIn => Err("policy.event_not_allowed"),
            Approve if status == Submitted => Ok(()),
            Approve => Err("status.transition"),
        },
    }
}

#[test]
fn the_policy_matrix_of_change_by_role_by_status() {
    let people = [
        ("on task", inspector(1)),
        ("off task", Author::new(actor(9), "I-009", Role::Inspector)),
        ("supervisor", supervisor()),
    ];
    let mut checked = 0;
    for status in [
        Status::Assigned,
        Status::InProgress,
        Status::Submitted,
        Status::Returned,
        Status::Approved,
        Status::Published,
        Status::Cancelled,
    ] {
        let mut doc = task_at(status);
        for (role, who) in &people {
            for act in ACTS {
                assert_eq!(
                    judge(&mut doc, who, act),
                    expected(role, status, act),
                    "{role} {act:?} on a {status:?} task"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7 * 3 * ACTS.len());
}

/// The signed claim (亮码检查) is the server's: an inspector on the task,
/// or a supervisor's device, may neither set nor change it.
#[test]
fn a_tablet_may_not_write_the_signed_claim() {
    let mut spec = spec();
    spec.claim = Some("FL1:SERVER".into());
    let mut doc = TaskDoc::create(spec, &supervisor(), T0).expect("task");
    assert_eq!(
        doc.task().expect("task").claim.as_deref(),
        Some("FL1:SERVER")
    );
    for who in [inspector(1), supervisor()] {
        let mut copy = doc.fork();
        let am = copy.automerge();
        am.set_actor(who.actor.clone());
        register(am, &who);
        am.put(ROOT, "claim", "FL1:FORGED").expect("put");
        let hash = am
            .commit_with(CommitOptions::default().with_message("forge"))
            .expect("a change");
        let change = am.get_change_by_hash(&hash).expect("change");
        let writer = Writer {
            actor: who.actor.clone(),
            person: who.person.clone(),
            role: who.role,
            certified: None,
        };
        let verdict = policy::check(am, &[change], &writer).map_err(|r| r.code().as_str());
        assert_eq!(verdict, Err("policy.forbidden_field"), "{}", who.person);
    }
    // Nor may a task made without a claim be given one by a tablet.
    let mut plain = new_task();
    let mut copy = plain.fork();
    let who = inspector(1);
    let am = copy.automerge();
    am.set_actor(who.actor.clone());
    register(am, &who);
    am.put(ROOT, "claim", "FL1:FORGED").expect("put");
    let hash = am
        .commit_with(CommitOptions::default().with_message("forge"))
        .expect("a change");
    let change = am.get_change_by_hash(&hash).expect("change");
    let writer = Writer {
        actor: who.actor.clone(),
        person: who.person.clone(),
        role: who.role,
        certified: None,
    };
    assert_eq!(
        policy::check(am, &[change], &writer).map_err(|r| r.code().as_str()),
        Err("policy.forbidden_field")
    );
    assert_eq!(plain.task().expect("task").claim, None);
}
