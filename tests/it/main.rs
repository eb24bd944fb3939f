//! End-to-end tests across crates: real stores on disk, real processes.

mod abuse;
mod attacks;
mod claim;
mod console;
mod console_directory;
mod console_tasks;
mod crash;
mod draws;
mod leads;
mod paging;
mod policy_props;
mod print;
mod rectify;
mod security;
mod server_crash;
mod simulation;
mod sync;
