//! End-to-end tests across crates: real stores on disk, real processes.

mod attacks;
mod crash;
mod paging;
mod server_crash;
mod simulation;
mod sync;
