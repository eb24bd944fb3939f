//! The 笔录 fields (`record_notes`) and the prints of the record: two tablets
//! editing different fields offline both keep theirs; the bounds and the
//! freeze hold on the tablet and in the server's policy alike.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ROOT, ReadDoc};
use fieldloop_core::policy::{self, Writer};
use fieldloop_core::{
    Author, EventKind, MAX_RECORD_NOTE_CHARS, Names, Outcome, PrintedRecord, RecordNoteEdit,
    RecordNotes, Status, TaskDoc, TaskError,
};
use proptest::prelude::*;

use crate::support::*;

fn submitted_task() -> TaskDoc {
    let mut doc = new_task();
    for n in [1, 2] {
        doc.check_in(&inspector(n), T0, None).expect("check in");
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
            let photo = fieldloop_core::NewEvidence {
                sha256: sha(n as u32 + 100),
                kind: fieldloop_core::EvidenceKind::Photo,
                taken_at: T0,
                location: None,
                caption: None,
                mime: "image/jpeg".into(),
                bytes: 1,
                thumb_sha256: None,
                display_sha256: None,
                item: Some(item.clone()),
            };
            doc.add_evidence(&inspector(1), T0, photo)
                .expect("evidence");
        }
    }
    sign_record(&mut doc, &[1, 2]);
    doc.submit(&inspector(1), T0).expect("submit");
    assert_eq!(doc.status().expect("status"), Status::Submitted);
    doc
}

/// Puts `value` at `record_notes/<field>` in one hand-built change by `who`
/// (as modified software would) and judges it as the server does.
fn judge_put(
    doc: &mut TaskDoc,
    who: &Author,
    field: &str,
    value: automerge::ScalarValue,
) -> Result<(), &'static str> {
    let mut copy = doc.fork();
    let am = copy.automerge();
    am.set_actor(who.actor.clone());
    let actors = am.get(ROOT, "actors").expect("read").expect("actors").1;
    let key = who.actor.to_hex_string();
    if am.get(&actors, key.as_str()).expect("read").is_none() {
        let info = fieldloop_core::task::ActorInfo {
            person: who.person.clone(),
            role: who.role,
        };
        autosurgeon::reconcile_prop(am, &actors, key.as_str(), &info).expect("register");
    }
    let notes = am
        .get(ROOT, "record_notes")
        .expect("read")
        .expect("notes")
        .1;
    am.put(&notes, field, value).expect("put");
    let hash = am
        .commit_with(CommitOptions::default().with_message("hand-built"))
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

#[test]
fn a_new_task_has_empty_notes_and_no_prints() {
    let task = new_task().task().expect("task");
    assert_eq!(task.record_notes, Some(RecordNotes::default()));
    assert_eq!(task.prints, Some(Vec::new()));
}

#[test]
fn two_tablets_editing_different_fields_offline_both_keep_theirs() {
    let mut base = new_task();
    let mut a = base.fork();
    let mut b = base.fork();
    a.edit_record_notes(
        &inspector(1),
        T0 + 1,
        &[
            RecordNoteEdit::Place("店内后厨".into()),
            RecordNoteEdit::StartedAt(Some(T0)),
        ],
    )
    .expect("tablet A");
    b.edit_record_notes(
        &inspector(2),
        T0 + 2,
        &[
            RecordNoteEdit::PartyStatement("无异议".into()),
            RecordNoteEdit::Recorder("I-002".into()),
        ],
    )
    .expect("tablet B");
    a.merge(&mut b.fork()).expect("merge");
    b.merge(&mut a.fork()).expect("merge");
    let notes = a.record_notes().expect("notes").expect("present");
    assert_eq!(notes.place, "店内后厨");
    assert_eq!(notes.started_at, Some(T0));
    assert_eq!(notes.party_statement, "无异议");
    assert_eq!(notes.recorder, "I-002");
    assert_eq!(b.record_notes().expect("notes"), Some(notes));
    assert!(a.conflicts().expect("conflicts").is_empty());
}

#[test]
fn setting_whole_notes_writes_only_the_fields_that_changed() {
    let mut base = new_task();
    let mut a = base.fork();
    let mut b = base.fork();
    // B fills the statement; A, not having seen it, saves a form where only
    // the place differs from what A knows.
    b.edit_record_notes(
        &inspector(2),
        T0,
        &[RecordNoteEdit::PartyStatement("已整改".into())],
    )
    .expect("B");
    let mut form = a.record_notes().expect("notes").unwrap_or_default();
    form.place = "仓库".into();
    let written = a.set_record_notes(&inspector(1), T0, &form).expect("A");
    assert_eq!(written, vec!["place"]);
    a.merge(&mut b).expect("merge");
    let notes = a.record_notes().expect("notes").expect("present");
    assert_eq!(
        (notes.place.as_str(), notes.party_statement.as_str()),
        ("仓库", "已整改")
    );
    // Saving the same form again changes nothing and commits nothing.
    let heads = a.heads();
    let form = a.record_notes().expect("notes").expect("present");
    assert!(
        a.set_record_notes(&inspector(1), T0, &form)
            .expect("same")
            .is_empty()
    );
    assert_eq!(a.heads(), heads);
}

const FIELDS: usize = 12;

fn edit_of(field: usize, n: u8) -> RecordNoteEdit {
    let text = format!("v{n}");
    match field {
        0 => RecordNoteEdit::Place(text),
        1 => RecordNoteEdit::StartedAt(Some(T0 + i64::from(n))),
        2 => RecordNoteEdit::EndedAt(Some(T0 + 1_000 + i64::from(n))),
        3 => RecordNoteEdit::PartyPresent(text),
        4 => RecordNoteEdit::PartyRole(text),
        5 => RecordNoteEdit::LegalRepresentative(text),
        6 => RecordNoteEdit::Recorder(format!("I-00{}", n % 3 + 1)),
        7 => RecordNoteEdit::Witness(text),
        8 => RecordNoteEdit::CredentialsAnswer(text),
        9 => RecordNoteEdit::RightsAnswer(text),
        10 => RecordNoteEdit::RecusalAnswer(text),
        _ => RecordNoteEdit::PartyStatement(text),
    }
}

proptest! {
    /// Whatever fields two tablets edit (each its own fields), in whatever
    /// order, both merge orders give the same notes, holding every field's
    /// last value from the tablet that wrote it.
    #[test]
    fn notes_edited_on_two_tablets_converge_field_by_field(
        owner in prop::collection::vec(any::<bool>(), FIELDS),
        edits in prop::collection::vec((0..FIELDS, any::<u8>()), 1..24),
    ) {
        let mut base = new_task();
        let mut tablets = [base.fork(), base.fork()];
        let mut expected = RecordNotes::default();
        for (i, (field, n)) in edits.iter().enumerate() {
            let t = usize::from(owner[*field]);
            let edit = edit_of(*field, *n);
            tablets[t]
                .edit_record_notes(&inspector(t as u8 + 1), T0 + i as i64, std::slice::from_ref(&edit))
                .expect("edit");
            expected.apply(&edit);
        }
        let [mut a, mut b] = tablets;
        let mut ab = a.fork();
        ab.merge(&mut b.fork()).expect("merge");
        let mut ba = b.fork();
        ba.merge(&mut a).expect("merge");
        let notes = ab.record_notes().expect("notes").expect("present");
        prop_assert_eq!(&notes, &expected);
        prop_assert_eq!(ba.record_notes().expect("notes").expect("present"), notes);
        prop_assert!(ab.conflicts().expect("conflicts").is_empty());
    }
}

#[test]
fn an_oversized_field_is_refused_on_the_tablet_and_by_the_server() {
    let mut doc = new_task();
    let heads = doc.heads();
    let long = "字".repeat(MAX_RECORD_NOTE_CHARS + 1);
    let refused = doc
        .edit_record_notes(
            &inspector(1),
            T0,
            &[RecordNoteEdit::PartyStatement(long.clone())],
        )
        .expect_err("too long");
    assert!(matches!(refused, TaskError::RecordNotes(_)), "{refused:?}");
    assert_eq!(refused.code().as_str(), "task.record_notes");
    assert!(refused.to_string().contains("2000"), "{refused}");
    assert_eq!(doc.heads(), heads, "nothing changed");
    // Exactly at the bound is fine.
    let fits = "字".repeat(MAX_RECORD_NOTE_CHARS);
    doc.edit_record_notes(&inspector(1), T0, &[RecordNoteEdit::PartyStatement(fits)])
        .expect("at the bound");
    // The server judges a hand-built change with the same check.
    assert_eq!(
        judge_put(&mut doc, &inspector(2), "witness", long.as_str().into()),
        Err("task.record_notes")
    );
    assert_eq!(
        judge_put(&mut doc, &inspector(2), "witness", "李四".into()),
        Ok(())
    );
}

#[test]
fn a_recorder_off_the_task_or_an_end_before_the_start_is_refused() {
    let mut doc = new_task();
    let err = doc
        .edit_record_notes(
            &inspector(1),
            T0,
            &[RecordNoteEdit::Recorder("I-009".into())],
        )
        .expect_err("recorder off the task");
    assert_eq!(err.code().as_str(), "task.record_notes");
    assert!(err.to_string().contains("I-009"));
    let err = doc
        .edit_record_notes(
            &inspector(1),
            T0,
            &[
                RecordNoteEdit::StartedAt(Some(T0 + 10)),
                RecordNoteEdit::EndedAt(Some(T0)),
            ],
        )
        .expect_err("ends before it starts");
    assert_eq!(err.code().as_str(), "task.record_notes");
    assert_eq!(
        judge_put(&mut doc, &inspector(1), "recorder", "I-009".into()),
        Err("task.record_notes")
    );
    doc.edit_record_notes(
        &inspector(1),
        T0,
        &[RecordNoteEdit::StartedAt(Some(T0 + 10))],
    )
    .expect("start");
    assert_eq!(
        judge_put(
            &mut doc,
            &inspector(1),
            "ended_at",
            automerge::ScalarValue::Int(T0)
        ),
        Err("task.record_notes")
    );
    // A time is a number, a text a string.
    assert_eq!(
        judge_put(&mut doc, &inspector(1), "ended_at", "明天".into()),
        Err("policy.bad_value")
    );
}

#[test]
fn notes_are_refused_after_submission_and_from_supervisors() {
    let mut doc = submitted_task();
    let heads = doc.heads();
    let err = doc
        .edit_record_notes(
            &inspector(1),
            T0,
            &[RecordNoteEdit::PartyStatement("补充".into())],
        )
        .expect_err("frozen");
    assert!(
        matches!(err, TaskError::Frozen(Status::Submitted)),
        "{err:?}"
    );
    assert_eq!(doc.heads(), heads);
    assert_eq!(
        judge_put(&mut doc, &inspector(1), "party_statement", "补充".into()),
        Err("policy.frozen")
    );
    // Once returned, the inspectors may write again.
    doc.decide(&supervisor(), T0, EventKind::Returned, Some("补充陈述"))
        .expect("return");
    doc.edit_record_notes(
        &inspector(1),
        T0,
        &[RecordNoteEdit::PartyStatement("补充".into())],
    )
    .expect("returned");
    // A supervisor never writes the notes; nor does an inspector off the task.
    let mut open = new_task();
    assert_eq!(
        judge_put(&mut open, &supervisor(), "place", "改".into()),
        Err("policy.forbidden_field")
    );
    let stranger = Author::new(actor(9), "I-009", fieldloop_core::Role::Inspector);
    assert_eq!(
        judge_put(&mut open, &stranger, "place", "改".into()),
        Err("policy.not_on_task")
    );
    assert!(matches!(
        open.edit_record_notes(&supervisor(), T0, &[RecordNoteEdit::Place("x".into())]),
        Err(TaskError::NotAnInspector(_))
    ));
}

#[test]
fn a_document_from_before_the_notes_gets_them_on_first_edit() {
    // The creator takes the notes and prints out, as older documents lack them.
    let mut doc = new_task();
    let am = doc.automerge();
    am.set_actor(supervisor().actor);
    am.delete(ROOT, "record_notes").expect("delete");
    am.delete(ROOT, "prints").expect("delete");
    am.commit_with(CommitOptions::default().with_message("old shape"));
    let task = doc.task().expect("an old document still hydrates");
    assert_eq!((task.record_notes, task.prints), (None, None));
    doc.edit_record_notes(&inspector(1), T0, &[RecordNoteEdit::Witness("张三".into())])
        .expect("first edit makes the map");
    assert_eq!(
        doc.record_notes().expect("notes").expect("present").witness,
        "张三"
    );
    doc.add_print(&inspector(1), T0, print(1))
        .expect("first print makes the list");
    assert_eq!(doc.task().expect("task").prints.expect("prints").len(), 1);
}

fn print(n: u32) -> PrintedRecord {
    PrintedRecord {
        sha256: sha(n),
        document: fieldloop_core::task::INSPECTION_RECORD.into(),
        file: format!("T-1-{n}.pdf"),
        by: String::new(),
        at: 0,
    }
}

#[test]
fn a_print_is_recorded_with_its_hash_and_changes_no_status() {
    let mut doc = new_task();
    doc.check_in(&inspector(1), T0, None).expect("check in");
    let before = doc.status_report().expect("status");
    doc.add_print(&inspector(1), T0 + 5, print(7))
        .expect("print");
    assert_eq!(doc.status_report().expect("status"), before);
    let prints = doc.task().expect("task").prints.expect("prints");
    assert_eq!(prints.len(), 1);
    assert_eq!(prints[0].sha256, sha(7));
    assert_eq!((prints[0].by.as_str(), prints[0].at), ("I-001", T0 + 5));
    let history = doc.history().expect("history");
    assert!(
        history
            .iter()
            .any(|h| h.message.contains("打印笔录") && h.message.contains(&sha(7)[..16])),
        "the history says it was printed"
    );
    let mut bad = print(8);
    bad.sha256 = "not a hash".into();
    assert!(matches!(
        doc.add_print(&inspector(1), T0, bad),
        Err(TaskError::BadHash(_))
    ));
    // A print in another's name is refused by the policy.
    let mut copy = doc.fork();
    let who = inspector(2);
    let am = copy.automerge();
    am.set_actor(who.actor.clone());
    let actors = am.get(ROOT, "actors").expect("read").expect("actors").1;
    let info = fieldloop_core::task::ActorInfo {
        person: who.person.clone(),
        role: who.role,
    };
    autosurgeon::reconcile_prop(am, &actors, who.actor.to_hex_string().as_str(), &info)
        .expect("register");
    let list = am.get(ROOT, "prints").expect("read").expect("prints").1;
    let mut forged = print(9);
    forged.by = "I-001".into();
    autosurgeon::reconcile_insert(am, list, 1, &forged).expect("insert");
    let hash = am
        .commit_with(CommitOptions::default().with_message("forged print"))
        .expect("change");
    let change = am.get_change_by_hash(&hash).expect("change");
    let writer = Writer {
        actor: who.actor.clone(),
        person: who.person.clone(),
        role: who.role,
        certified: None,
    };
    assert_eq!(
        policy::check(am, &[change], &writer).map_err(|r| r.code().as_str()),
        Err("policy.not_yours")
    );
}

#[test]
fn names_carry_the_inspectors_badge_numbers() {
    let inspector = fieldloop_core::Inspector {
        id: "I-001".into(),
        name: "张三".into(),
        badge_no: "36070012345".into(),
        department: "SCJG".into(),
        team: "T1".into(),
        township: None,
    };
    let names = Names::of(
        "东山镇综合执法队",
        [&inspector],
        Vec::<&fieldloop_core::Department>::new(),
    );
    assert_eq!(
        names
            .badges
            .expect("badges")
            .get("I-001")
            .map(String::as_str),
        Some("36070012345")
    );
    let task = new_task().task().expect("task");
    let badges = task.names.expect("names").badges.expect("badges");
    assert_eq!(
        badges.len(),
        3,
        "the demo inspectors have badges: {badges:?}"
    );
}

/// The badge numbers are the server's: no tablet may write them.
#[test]
fn a_tablet_may_not_write_badge_numbers() {
    let mut doc = new_task();
    let mut copy = doc.fork();
    let who = inspector(1);
    let am = copy.automerge();
    am.set_actor(who.actor.clone());
    let actors = am.get(ROOT, "actors").expect("read").expect("actors").1;
    let info = fieldloop_core::task::ActorInfo {
        person: who.person.clone(),
        role: who.role,
    };
    autosurgeon::reconcile_prop(am, &actors, who.actor.to_hex_string().as_str(), &info)
        .expect("register");
    let names = am.get(ROOT, "names").expect("read").expect("names").1;
    let badges = am.get(&names, "badges").expect("read").expect("badges").1;
    am.put(&badges, "I-001", "00000000").expect("put");
    let hash = am
        .commit_with(CommitOptions::default().with_message("forged badge"))
        .expect("change");
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
    assert_ne!(
        doc.task()
            .expect("task")
            .names
            .expect("names")
            .badges
            .expect("badges")
            .get("I-001")
            .map(String::as_str),
        Some("00000000")
    );
}
