//! `serve --demo`: the demo county's data set (imported through
//! [`crate::import`], like `fieldloop-server import assets/demo/*.json`) and a
//! few dozen tasks assigned to its township squad, created by the demo
//! supervisor on the server.

use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, Role, TaskDoc};

use crate::console::TaskIndex;
use crate::import::{self, ImportError, ImportSet};
use crate::store::{Store, StoreError, TaskCodes, TaskWrite};
pub use crate::tasks::SERVER_DEVICE;

/// Tasks `serve --demo` creates.
pub const DEMO_TASKS: usize = 36;

/// Imports the demo data set the way `fieldloop-server import` does
/// (checked, one transaction, idempotent) and returns it.
pub fn import_demo(store: &dyn Store) -> Result<DemoData, StoreError> {
    let data = DemoData::embedded().map_err(|e| StoreError::Invalid(e.to_string()))?;
    match import::import(store, &ImportSet::from_demo(&data)) {
        Ok(_) => Ok(data),
        Err(ImportError::Store(e)) => Err(e),
        Err(e @ ImportError::Invalid(_)) => Err(StoreError::Invalid(e.to_string())),
    }
}

/// The demo's console sign-in: a supervisor of the township squad.
pub const DEMO_SUPERVISOR: &str = "S-001";
/// Its password (a demo only: never on a real server).
pub const DEMO_SUPERVISOR_PASSWORD: &str = "fieldloop-demo";

/// The demo's supervisor for a department (the market regulation bureau,
/// 市场监管局): sees every task with market regulation items, whichever team.
pub const DEMO_DEPARTMENT_SUPERVISOR: &str = "S-002";
/// The department [`DEMO_DEPARTMENT_SUPERVISOR`] acts for.
pub const DEMO_SUPERVISED_DEPARTMENT: &str = "SCJG";

/// The demo administrator's console sign-in (all teams; turns inspectors off and on).
pub const DEMO_ADMIN: &str = "A-001";

/// Adds the demo supervisor's and administrator's console accounts unless they exist.
pub fn add_demo_supervisor(store: &dyn Store, data: &DemoData, now: i64) -> Result<(), StoreError> {
    let squad = data
        .teams
        .iter()
        .find(|t| t.kind == fieldloop_core::TeamKind::TownshipSquad)
        .ok_or_else(|| StoreError::Invalid("the demo data has no township squad".into()))?;
    let users = [
        crate::store::ConsoleUser {
            id: DEMO_SUPERVISOR.into(),
            name: "演示主管".into(),
            role: Role::Supervisor,
            teams: vec![squad.id.clone()],
            departments: Vec::new(),
        },
        crate::store::ConsoleUser {
            id: DEMO_DEPARTMENT_SUPERVISOR.into(),
            name: "市场监管局主管".into(),
            role: Role::Supervisor,
            teams: Vec::new(),
            departments: vec![DEMO_SUPERVISED_DEPARTMENT.into()],
        },
        crate::store::ConsoleUser {
            id: DEMO_ADMIN.into(),
            name: "演示管理员".into(),
            role: Role::Admin,
            teams: Vec::new(),
            departments: Vec::new(),
        },
    ];
    for user in &users {
        if store.console_account(&user.id)?.is_some() {
            continue;
        }
        match crate::console::add_user(store, user, DEMO_SUPERVISOR_PASSWORD, now) {
            Ok(()) | Err(crate::console::AddUserError::Store(StoreError::ConsoleUserTaken(_))) => {}
            Err(crate::console::AddUserError::Store(e)) => return Err(e),
            Err(e) => return Err(StoreError::Invalid(e.to_string())),
        }
    }
    Ok(())
}

/// Imports the demo data and the demo supervisor's console account and, if
/// the server has no task yet, creates the demo tasks.
pub fn seed(store: &dyn Store, now: i64) -> Result<usize, StoreError> {
    let data = import_demo(store)?;
    add_demo_supervisor(store, &data, now)?;
    if store.feed_end()? > 0 {
        return Ok(0);
    }
    create_tasks(store, &data, DEMO_TASKS, now)
}

/// Creates the first `count` demo tasks of the township squad (the same
/// tasks [`seed`] starts with, then more) that the server does not hold yet,
/// and returns how many it created. Imports the demo people first. For
/// benchmarks and load tests that need many tasks; the same `now` gives the
/// same tasks.
pub fn seed_tasks(store: &dyn Store, count: usize, now: i64) -> Result<usize, StoreError> {
    let data = import_demo(store)?;
    create_tasks(store, &data, count, now)
}

/// [`seed_tasks`] for a store that already holds the demo people (`data`
/// from [`import_demo`]): no import, so tests can grow the set cheaply.
pub fn create_tasks(
    store: &dyn Store,
    data: &DemoData,
    count: usize,
    now: i64,
) -> Result<usize, StoreError> {
    let supervisor = Author::new(
        ActorId::from(crate::tasks::SERVER_SUPERVISOR_ACTOR),
        "S-DEMO",
        Role::Supervisor,
    );
    let specs = data
        .task_specs(count, now)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut created = 0;
    for mut spec in specs {
        if store.task(&spec.id)?.is_some() {
            continue;
        }
        crate::claims::sign_spec(store, &mut spec, now)?;
        let team = spec.team.clone();
        let codes = TaskCodes {
            code: spec.code.clone(),
            verify_code: spec.verify_code.clone(),
        };
        let mut doc = TaskDoc::create(spec, &supervisor, now)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let id = doc
            .task()
            .map_err(|e| StoreError::Invalid(e.to_string()))?
            .id;
        let heads = doc.heads();
        let index =
            TaskIndex::of(doc.automerge()).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let write = TaskWrite {
            id,
            team,
            doc: doc.save(),
            heads: heads.clone(),
            new_changes: heads,
            added: None,
            append: false,
            flags: Vec::new(),
            index: Some(index),
        };
        store.insert_task(&write, &codes, SERVER_DEVICE, now)?;
        created += 1;
    }
    Ok(created)
}
