//! The task the core benchmarks work on.

use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, EvidenceKind, NewEvidence, Outcome, Role, Status, TaskDoc};

pub const T0: i64 = 1_780_000_000_000;

fn inspector(n: u8, person: &str) -> Author {
    Author::new(ActorId::from(vec![n; 16]), person, Role::Inspector)
}

/// A task in progress, as the server holds it, and its second inspector.
pub fn task_in_progress() -> (TaskDoc, Author) {
    let data = DemoData::embedded().expect("demo data");
    let spec = data.task_specs(1, T0).expect("spec").remove(0);
    let (a, b) = (
        inspector(1, &spec.inspectors[0]),
        inspector(2, &spec.inspectors[1]),
    );
    let supervisor = Author::new(ActorId::from(vec![200; 16]), "S-001", Role::Supervisor);
    let mut doc = TaskDoc::create(spec, &supervisor, T0).expect("create");
    doc.check_in(&a, T0 + 1, None).expect("check in");
    doc.check_in(&b, T0 + 2, None).expect("check in");
    let items: Vec<String> = doc
        .task()
        .expect("task")
        .items_in_order()
        .into_iter()
        .map(|(id, _)| id.clone())
        .collect();
    for (n, item) in items.iter().enumerate().take(items.len() / 2) {
        let at = T0 + 10 + n as i64;
        doc.record_answer(&a, at, item, Some(Outcome::Pass), None, Some("符合要求"))
            .expect("answer");
        let photo = NewEvidence {
            sha256: format!("{n:064x}"),
            kind: EvidenceKind::Photo,
            taken_at: at,
            location: None,
            caption: None,
            mime: "image/jpeg".into(),
            bytes: 1_000_000,
            thumb_sha256: None,
            display_sha256: None,
            item: Some(item.clone()),
        };
        doc.add_evidence(&a, at, photo).expect("photo");
    }
    assert_eq!(doc.status().expect("status"), Status::InProgress);
    (doc, b)
}
