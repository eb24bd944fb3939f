//! Integration tests of the task document: flows, conflicts, property tests.

mod conflicts;
mod draw;
mod flow;
mod notes;
mod policy;
mod properties;
mod robust;
mod schema;
mod support;
