//! Shared fixtures: a task from the demo data and the people who edit it.

use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, Role, TaskDoc, TaskSpec};

pub const T0: i64 = 1_780_000_000_000;

pub fn spec() -> TaskSpec {
    let data = DemoData::embedded().expect("demo data");
    let mut spec = data.task_specs(1, T0).expect("spec").remove(0);
    spec.inspectors = vec!["I-001".into(), "I-002".into(), "I-003".into()];
    spec.names = data.names_for(&spec);
    spec
}

pub fn actor(n: u8) -> ActorId {
    ActorId::from(vec![n; 16])
}

pub fn supervisor() -> Author {
    Author::new(actor(200), "S-001", Role::Supervisor)
}

pub fn admin() -> Author {
    Author::new(actor(201), "A-001", Role::Admin)
}

/// Inspector `n` (1-based) of the task, on their own device.
pub fn inspector(n: u8) -> Author {
    Author::new(actor(n), format!("I-00{n}"), Role::Inspector)
}

pub fn new_task() -> TaskDoc {
    TaskDoc::create(spec(), &supervisor(), T0).expect("create task")
}

pub fn item_ids(doc: &TaskDoc) -> Vec<String> {
    doc.task()
        .expect("task")
        .items_in_order()
        .into_iter()
        .map(|(id, _)| id.clone())
        .collect()
}

pub fn sha(n: u32) -> String {
    format!("{n:064x}")
}

/// Signs the record as the submit checks require: each of `inspectors`
/// (1-based) signs on their own device, and the business refuses to sign.
pub fn sign_record(doc: &mut TaskDoc, inspectors: &[u8]) {
    use fieldloop_core::{EvidenceKind, NewEvidence, SignerRole};
    for &n in inspectors {
        let who = inspector(n);
        let image = NewEvidence {
            sha256: sha(90_000 + u32::from(n)),
            kind: EvidenceKind::Signature,
            taken_at: T0,
            location: None,
            caption: None,
            mime: "image/png".into(),
            bytes: 1,
            thumb_sha256: None,
            display_sha256: None,
            item: None,
        };
        let signer = who.person.clone();
        doc.sign(&who, T0, SignerRole::Inspector, &signer, image)
            .expect("inspector signs");
    }
    let first = inspector(inspectors[0]);
    doc.refuse_to_sign(&first, T0, SignerRole::Enterprise, "王五", "不同意检查结论")
        .expect("the business refuses");
}
