//! The 笔录 on the tablet: its fields written field by field, and the
//! 现场检查笔录 printed with no server at all (a demo tablet never had one),
//! read back with `pdftotext`.

use fieldloop_core::{RecordNoteEdit, Status};
use fieldloop_tablet::inspect::{PRINTS_DIR, Tablet};

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
        .find(|v| v.inspectors.iter().any(|i| i.id == person))
        .expect("a demo task of the demo inspector")
        .record
        .id;
    (dir, tablet, id)
}

fn pdftotext(path: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success(), "pdftotext failed: {out:?}");
    // Layout may spread a line with spaces; compare without them.
    String::from_utf8(out.stdout).unwrap()
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn the_notes_are_written_field_by_field_and_refused_when_too_long() {
    let (_dir, mut tablet, id) = demo_tablet();
    let view = tablet
        .edit_record_notes(
            &id,
            NOW,
            &[
                RecordNoteEdit::Place("  后厨及仓库 ".into()),
                RecordNoteEdit::Witness("李四".into()),
            ],
        )
        .unwrap();
    assert_eq!(view.record_notes.place, "后厨及仓库", "trimmed");
    assert_eq!(view.record_notes.witness, "李四");
    let long = "字".repeat(fieldloop_core::MAX_RECORD_NOTE_CHARS + 1);
    let err = tablet
        .edit_record_notes(&id, NOW, &[RecordNoteEdit::PartyStatement(long)])
        .unwrap_err();
    assert_eq!(err.code().as_str(), "task.record_notes");
    let view = tablet.task_view(&id).unwrap();
    assert_eq!(view.record_notes.party_statement, "", "nothing changed");
    let err = tablet
        .edit_record_notes(&id, NOW, &[RecordNoteEdit::Recorder("I-999".into())])
        .unwrap_err();
    assert_eq!(err.code().as_str(), "task.record_notes");
}

#[test]
fn a_record_is_printed_offline_and_its_hash_goes_in_the_history() {
    let (dir, mut tablet, id) = demo_tablet();
    assert!(
        tablet.identity().unwrap().unwrap().server.is_none(),
        "no server at all"
    );
    let me = tablet.identity().unwrap().unwrap().person;
    let before = tablet.task_view(&id).unwrap();
    let party = before.subject_name.clone();
    tablet
        .edit_record_notes(
            &id,
            NOW,
            &[
                RecordNoteEdit::Place("东山镇幸福路88号后厨".into()),
                RecordNoteEdit::StartedAt(Some(NOW)),
                RecordNoteEdit::EndedAt(Some(NOW + 45 * 60_000)),
                RecordNoteEdit::PartyPresent("王五".into()),
                RecordNoteEdit::PartyRole("店长".into()),
                RecordNoteEdit::Recorder(me.clone()),
                RecordNoteEdit::CredentialsAnswer("看清楚了".into()),
                RecordNoteEdit::RightsAnswer("清楚".into()),
                RecordNoteEdit::RecusalAnswer("不申请回避".into()),
                RecordNoteEdit::PartyStatement("对检查结果无异议".into()),
            ],
        )
        .unwrap();

    let printed = tablet.print_record(&id, NOW + 50 * 60_000).unwrap();
    let path = std::path::PathBuf::from(&printed.path);
    assert_eq!(path.parent().unwrap(), dir.path().join(PRINTS_DIR));
    assert!(
        printed
            .file
            .ends_with(&format!("-{}.pdf", &printed.sha256[..8]))
    );
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, printed.bytes);
    assert!(bytes.starts_with(b"%PDF"));
    assert!(printed.recorded);

    let text = squeeze(&pdftotext(&path));
    for expected in [
        squeeze(&party),
        "东山镇幸福路88号后厨".to_owned(),
        "看清楚了".to_owned(),
        "清楚".to_owned(),
        "不申请回避".to_owned(),
        "对检查结果无异议".to_owned(),
        "王五".to_owned(),
        "第1页共".to_owned(),
    ] {
        assert!(text.contains(&expected), "the PDF says {expected}:\n{text}");
    }

    // The hash is in the task's history; the status has not moved.
    let after = tablet.task_view(&id).unwrap();
    assert_eq!(after.status, before.status);
    assert_eq!(after.prints.len(), 1);
    assert_eq!(after.prints[0].sha256, printed.sha256);
    assert_eq!(after.prints[0].by, me);
    let history = tablet.history(&id).unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.message.contains("打印笔录") && h.message.contains(&printed.sha256[..16]))
    );

    // The same record prints the same bytes, and is not recorded twice.
    let again = tablet.print_record(&id, NOW + 60 * 60_000).unwrap();
    assert_eq!(again.sha256, printed.sha256);
    assert!(!again.recorded);
    assert_eq!(tablet.task_view(&id).unwrap().prints.len(), 1);
    assert_ne!(after.status, Some(Status::Submitted));
}
