//! Shared fixtures: a task from the demo data and the people who edit it.

use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, Role, TaskDoc, TaskSpec};

pub const T0: i64 = 1_780_000_000_000;

pub fn spec() -> TaskSpec {
    let data = DemoData::embedded().expect("demo data");
    let mut spec = data.task_specs(1, T0).expect("spec").remove(0);
    spec.inspectors = vec!["I-001".into(), "I-002".into(), "I-003".into()];
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
