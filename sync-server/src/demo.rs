//! `serve --demo`: the demo county's people and a few dozen tasks assigned
//! to its township squad, created by the demo supervisor on the server.

use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, Role, TaskDoc};

use crate::store::{Store, StoreError, TaskWrite};

/// Tasks `serve --demo` creates.
pub const DEMO_TASKS: usize = 36;
/// The device id the server's own changes are receipted under.
pub const SERVER_DEVICE: &str = "server";

/// Imports the demo people and, if the server has no task yet, creates the demo tasks.
pub fn seed(store: &dyn Store, now: i64) -> Result<usize, StoreError> {
    let data = DemoData::embedded().map_err(|e| StoreError::Invalid(e.to_string()))?;
    store.import_people(&data)?;
    if store.feed_end()? > 0 {
        return Ok(0);
    }
    let supervisor = Author::new(
        ActorId::from(b"fieldloop-server-supervisor".as_slice()),
        "S-DEMO",
        Role::Supervisor,
    );
    let specs = data
        .task_specs(DEMO_TASKS, now)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    for spec in specs {
        let team = spec.team.clone();
        let mut doc = TaskDoc::create(spec, &supervisor, now)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let id = doc
            .task()
            .map_err(|e| StoreError::Invalid(e.to_string()))?
            .id;
        let heads = doc.heads();
        let write = TaskWrite {
            id,
            team,
            doc: doc.save(),
            heads: heads.clone(),
            new_changes: heads,
        };
        store.insert_task(&write, SERVER_DEVICE, now)?;
    }
    Ok(DEMO_TASKS)
}
