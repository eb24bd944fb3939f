//! Fills an empty tablet with demo tasks from the bundled demo data, so the
//! app can be tried without a server.

use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, Role, TaskDoc, TaskError};

use crate::store::{Store, StoreError};

/// Tasks a demo tablet starts with.
pub const DEMO_TASKS: usize = 40;

/// Adds the demo tasks if the store holds no task; returns how many were added.
pub fn seed_if_empty(store: &mut Store, now: i64) -> Result<usize, StoreError> {
    if store.task_count()? > 0 {
        return Ok(0);
    }
    seed(store, DEMO_TASKS, now)
}

/// Adds `count` demo tasks created by the demo supervisor.
pub fn seed(store: &mut Store, count: usize, now: i64) -> Result<usize, StoreError> {
    let data = DemoData::embedded().map_err(|e| TaskError::DemoData(e.to_string()))?;
    let supervisor = Author::new(
        ActorId::from(b"fieldloop-demo-supervisor".as_slice()),
        "S-DEMO",
        Role::Supervisor,
    );
    for spec in data.task_specs(count, now)? {
        let mut doc = TaskDoc::create(spec, &supervisor, now)?;
        store.insert_task(&mut doc, false, now)?;
    }
    Ok(count)
}
