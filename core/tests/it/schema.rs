//! `docs/schema.md` matches the code: its tables are regenerated from real
//! task documents and from the status rules, and compared with the file.
//! `FIELDLOOP_UPDATE_DOCS=1 cargo test -p fieldloop-core schema` rewrites them.

use std::path::PathBuf;

use fieldloop_core::{
    EventKind, EvidenceKind, Finding, GeoPoint, LeadTransfer, NewEvidence, Outcome, Severity,
    SignerRole, TaskDoc, schema,
};

use crate::support::*;

fn evidence(n: u32, item: Option<&str>, full: bool) -> NewEvidence {
    NewEvidence {
        sha256: sha(n),
        kind: EvidenceKind::Photo,
        taken_at: T0 + 1_000,
        location: full.then_some(GeoPoint {
            lat: 25.6,
            lon: 115.3,
        }),
        caption: full.then(|| "后厨".to_owned()),
        mime: "image/jpeg".into(),
        bytes: 3_000_000,
        thumb_sha256: full.then(|| sha(n + 1_000)),
        display_sha256: full.then(|| sha(n + 2_000)),
        item: item.map(str::to_owned),
    }
}

/// A task with a record of every kind, every optional field set.
fn full_task() -> TaskDoc {
    let mut doc = new_task();
    let item = item_ids(&doc)[0].clone();
    let who = inspector(1);
    let here = GeoPoint {
        lat: 25.6,
        lon: 115.3,
    };
    doc.check_in(&who, T0, Some(here)).expect("check in");
    doc.record_answer(
        &who,
        T0,
        &item,
        Some(Outcome::Fail),
        Some("38℃"),
        Some("无证"),
    )
    .expect("answer");
    doc.add_evidence(&who, T0, evidence(1, Some(&item), true))
        .expect("evidence");
    doc.withdraw_evidence(&who, T0, &sha(1), "拍错了")
        .expect("withdraw");
    doc.add_trace(&who, T0, &[(T0, here, 5.0)]).expect("trace");
    doc.add_finding(
        &who,
        T0,
        Finding {
            id: "F-1".into(),
            item_id: Some(item.clone()),
            description: "无证经营".into(),
            severity: Severity::Major,
            rectification_order: Some("办理许可证".into()),
            rectification_deadline: Some(T0 + 86_400_000),
            by: String::new(),
            at: 0,
        },
    )
    .expect("finding");
    doc.add_lead_transfer(
        &who,
        T0,
        LeadTransfer {
            id: "L-1".into(),
            to_department: "GAJ".into(),
            summary: "涉嫌犯罪".into(),
            evidence: vec![sha(1)],
            criminal: true,
            by: String::new(),
            at: 0,
        },
    )
    .expect("transfer");
    let mut image = evidence(3, None, true);
    image.kind = EvidenceKind::Signature;
    image.mime = "image/png".into();
    doc.sign(&who, T0, SignerRole::Inspector, "I-001", image)
        .expect("sign");
    doc.edit_record_notes(
        &who,
        T0,
        &[
            fieldloop_core::RecordNoteEdit::Place("后厨".into()),
            fieldloop_core::RecordNoteEdit::StartedAt(Some(T0)),
            fieldloop_core::RecordNoteEdit::EndedAt(Some(T0 + 60_000)),
        ],
    )
    .expect("record notes");
    doc.add_print(
        &who,
        T0,
        fieldloop_core::PrintedRecord {
            sha256: sha(4),
            document: "inspection_record".into(),
            file: "T-1-00000000.pdf".into(),
            by: String::new(),
            at: 0,
        },
    )
    .expect("print");
    doc.decide(&supervisor(), T0, EventKind::Cancelled, Some("企业已注销"))
        .expect("cancel");
    doc
}

/// A task whose optional fields are all empty.
fn bare_task() -> TaskDoc {
    let mut doc = new_task();
    let who = inspector(1);
    doc.check_in(&who, T0, None).expect("check in");
    doc.add_evidence(&who, T0, evidence(2, None, false))
        .expect("evidence");
    doc.add_finding(
        &who,
        T0,
        Finding {
            id: "F-2".into(),
            item_id: None,
            description: "台账不全".into(),
            severity: Severity::Minor,
            rectification_order: None,
            rectification_deadline: None,
            by: String::new(),
            at: 0,
        },
    )
    .expect("finding");
    doc.refuse_to_sign(&who, T0, SignerRole::Enterprise, "王五", "不同意检查结论")
        .expect("refusal");
    doc
}

/// A re-check task (复查) made by the server: the finding it follows up
/// with a photo, and the server's signed claim; with `full` false, every
/// optional part of the finding and photo left out.
fn recheck_task(full: bool) -> TaskDoc {
    let some = |s: &str| full.then(|| s.to_owned());
    let mut spec = spec();
    spec.claim = Some("FL1:EXAMPLE".into());
    let of = fieldloop_core::RecheckOf {
        rectification: "R-1".into(),
        task_id: "T-0".into(),
        task_code: "JX-2026-000001".into(),
        finding: Finding {
            id: "F-1".into(),
            item_id: some("SCJG-SP-001"),
            description: "无证经营".into(),
            severity: Severity::Major,
            rectification_order: Some("办理许可证".into()),
            rectification_deadline: Some(T0 + 86_400_000),
            by: "I-001".into(),
            at: T0,
        },
        item_title: some("是否持证经营"),
        photos: vec![fieldloop_core::RecheckPhoto {
            sha256: sha(5),
            thumb_sha256: some(&sha(6)),
            display_sha256: some(&sha(7)),
            mime: "image/jpeg".into(),
            caption: some("门头"),
            taken_at: T0,
        }],
    };
    TaskDoc::create_recheck(spec, &supervisor(), T0, Some(of)).expect("re-check task")
}

fn docs_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/schema.md")
}

fn splice(text: &str, name: &str, body: &str) -> String {
    schema::splice(text, name, body).expect("markers in docs/schema.md")
}

#[test]
fn docs_schema_md_matches_the_documents_and_the_status_rules() {
    let mut full = full_task();
    let mut bare = bare_task();
    let mut recheck = recheck_task(true);
    let mut recheck_bare = recheck_task(false);
    let paths = schema::paths_table(&[
        full.automerge(),
        bare.automerge(),
        recheck.automerge(),
        recheck_bare.automerge(),
    ]);
    let transitions = schema::transitions_table();
    let path = docs_file();
    let text = std::fs::read_to_string(&path).expect("docs/schema.md");
    let expected = splice(&splice(&text, "paths", &paths), "transitions", &transitions);
    if std::env::var_os("FIELDLOOP_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/schema.md");
    }
    assert!(
        text == expected,
        "docs/schema.md is out of date: run FIELDLOOP_UPDATE_DOCS=1 cargo test -p fieldloop-core schema"
    );
}

#[test]
fn the_paths_table_names_the_types_automerge_holds() {
    let mut full = full_task();
    let paths = schema::paths(&[full.automerge()]);
    let types = |p: &str| paths.get(p).cloned().unwrap_or_default();
    assert_eq!(types("schema"), ["uint"].into());
    assert_eq!(types("window.start"), ["int"].into());
    assert_eq!(types("trace[].lat"), ["f64"].into());
    assert_eq!(types("checklist.<item id>.order"), ["uint"].into());
    assert_eq!(
        types("checklist.<item id>.answer.result"),
        ["null", "str"].into()
    );
    assert_eq!(types("events[].kind"), ["str"].into());
    assert!(
        paths.keys().all(|p| !p.contains("I-001")),
        "ids are placeholders"
    );
}
