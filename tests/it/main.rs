//! End-to-end tests across crates: real stores on disk, real processes.

/// The simulation's seeds spend about an eighth of their time in glibc's
/// malloc and free; mimalloc takes less of it, with one thread or several.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod abuse;
mod attacks;
mod audit;
mod claim;
mod console;
mod console_directory;
mod console_tasks;
mod crash;
mod crash_points;
mod draws;
mod instances;
mod instances_sim;
mod leads;
mod paging;
mod policy_props;
mod powercut;
mod print;
mod rectify;
mod security;
mod server_crash;
mod simulation;
mod sync;
