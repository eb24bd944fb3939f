//! Test helper: writes edits to a tablet store as fast as it can, printing
//! the number of each edit once its commit returned, and compacting every
//! few edits. The crash test kills it at random points.
//!
//! Usage: store-crash-writer DATA_DIR FIRST_INDEX

use fieldloop_core::{ActorId, Author, GeoPoint, Role};
use fieldloop_tablet::store::{Store, TaskQuery};
use std::io::Write;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("missing DATA_DIR"))?;
    let first: i64 = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("missing FIRST_INDEX"))?
        .parse()?;
    let mut store = Store::open(std::path::Path::new(&dir))?;
    fieldloop_tablet::demo::seed_if_empty(&mut store, 1_780_000_000_000)?;
    let id = store.list_tasks(&TaskQuery::default())?[0].id.clone();
    let person = store.open_task(&id)?.task()?.inspectors[0].clone();
    let who = Author::new(ActorId::from(vec![7u8; 16]), person, Role::Inspector);
    let mut out = std::io::stdout().lock();
    for i in first.. {
        let point = (
            i,
            GeoPoint {
                lat: 25.0,
                lon: 115.0,
            },
            3.0,
        );
        store.edit(&id, i, |doc| doc.add_trace(&who, i, &[point]))?;
        writeln!(out, "{i}")?;
        out.flush()?;
        if i % 5 == 0 {
            store.compact(&id)?;
        }
    }
    Ok(())
}
