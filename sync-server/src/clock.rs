//! The server's clock: real time, or (for tests and end-to-end runs only)
//! real time moved forward by an offset read from a file.
//!
//! `FIELDLOOP_CLOCK_FILE=<path>` names a file holding an integer number of
//! milliseconds; every [`Clock::now`] re-reads it and adds it to real time,
//! so a test moves the server's "now" (a rectification deadline passing,
//! a window running out) by writing the file while the server runs. A
//! missing or garbled file counts as no offset and is warned about once.
//! Never set it in production: anyone who can write the file moves time.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use fieldloop_core::Millis;

/// The environment variable naming the offset file (test-only).
pub const CLOCK_FILE_ENV: &str = "FIELDLOOP_CLOCK_FILE";
/// The largest offset file read, in bytes; longer ones count as garbled.
pub const MAX_CLOCK_FILE_BYTES: u64 = 64;

/// Real time, optionally moved by the offset in a file.
#[derive(Debug, Default)]
pub struct Clock {
    file: Option<PathBuf>,
    warned: AtomicBool,
}

impl Clock {
    /// Real time.
    pub fn real() -> Self {
        Self::default()
    }

    /// Real time plus the milliseconds in `file`, re-read on every call.
    pub fn offset_file(file: impl Into<PathBuf>) -> Self {
        Self {
            file: Some(file.into()),
            warned: AtomicBool::new(false),
        }
    }

    /// [`Clock::offset_file`] when `FIELDLOOP_CLOCK_FILE` is set (and not
    /// empty), else [`Clock::real`].
    pub fn from_env() -> Self {
        match std::env::var_os(CLOCK_FILE_ENV) {
            Some(path) if !path.is_empty() => {
                tracing::warn!(
                    "{CLOCK_FILE_ENV} is set: the server's clock is moved by the offset in {} (test-only)",
                    Path::new(&path).display()
                );
                Self::offset_file(path)
            }
            _ => Self::real(),
        }
    }

    /// The offset file, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The current offset in milliseconds (0 without a file, or when the file
    /// is missing or garbled).
    pub fn offset(&self) -> Millis {
        let Some(file) = &self.file else {
            return 0;
        };
        match read_offset(file) {
            Ok(ms) => ms,
            Err(why) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "clock offset file {}: {why}; no offset applied",
                        file.display()
                    );
                }
                0
            }
        }
    }

    /// Milliseconds since the epoch, moved by the offset.
    pub fn now(&self) -> Millis {
        crate::now_ms().saturating_add(self.offset())
    }
}

fn read_offset(file: &Path) -> Result<Millis, String> {
    use std::io::Read;
    let f = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let mut text = String::new();
    f.take(MAX_CLOCK_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_CLOCK_FILE_BYTES {
        return Err(format!("longer than {MAX_CLOCK_FILE_BYTES} bytes"));
    }
    text.trim()
        .parse::<Millis>()
        .map_err(|_| format!("“{}” is not an integer of milliseconds", text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_file_moves_time_and_is_reread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("offset");
        let clock = Clock::offset_file(&path);
        // Missing: no offset.
        assert_eq!(clock.offset(), 0);
        std::fs::write(&path, "86400000\n").expect("write");
        assert_eq!(clock.offset(), 86_400_000);
        let before = crate::now_ms();
        let now = clock.now();
        assert!(now >= before + 86_400_000 && now < before + 86_400_000 + 60_000);
        std::fs::write(&path, "-5").expect("write");
        assert_eq!(clock.offset(), -5);
        std::fs::write(&path, "soon").expect("write");
        assert_eq!(clock.offset(), 0, "garbled: no offset");
        std::fs::write(&path, "1".repeat(100)).expect("write");
        assert_eq!(clock.offset(), 0, "too long: no offset");
        assert_eq!(Clock::real().offset(), 0);
    }
}
