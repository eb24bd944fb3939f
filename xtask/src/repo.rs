//! Where things are in the repository, whatever directory xtask is started from.

use std::path::{Path, PathBuf};

/// The repository root (the workspace directory holding `xtask/`).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one directory below the repository root")
}

/// The web front end (`ui/`, a Vite + TypeScript npm project).
pub fn ui() -> PathBuf {
    root().join("ui")
}

/// `path` relative to the root when it lies inside it, for shorter messages.
/// The TypeScript conformance client of the sync protocol.
pub fn conformance() -> PathBuf {
    root().join("tests/conformance")
}

pub fn display(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}
