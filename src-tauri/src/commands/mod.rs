//! The commands the web front end invokes, one module per area. Each command
//! is a single call into `fieldloop_tablet` and answers `Result<T, CommandError>`.

pub mod tasks;
