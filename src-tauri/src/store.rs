//! The local store as Tauri state: where it lives, opening it at start-up,
//! and access for the commands.
//!
//! A store that cannot be opened does not stop the app: the window still
//! comes up and every command answers with the reason, which the UI shows.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use fieldloop_tablet::store::{Store, StoreError};
use tauri::{AppHandle, Manager, Runtime};

use crate::CommandError;

/// How the app starts: where its data lives and whether to fill an empty
/// store with demo tasks.
#[derive(Debug, Clone, Default)]
pub struct Startup {
    /// The data directory; `None` means the platform's app data directory.
    pub data_dir: Option<PathBuf>,
    /// Fill an empty store with demo tasks.
    pub demo: bool,
}

impl Startup {
    /// Overrides the data directory (tests, demos).
    pub const DATA_DIR_ENV: &'static str = "FIELDLOOP_DATA_DIR";
    /// `1` seeds an empty store with demo tasks.
    pub const DEMO_ENV: &'static str = "FIELDLOOP_DEMO";

    /// Reads `FIELDLOOP_DATA_DIR` and `FIELDLOOP_DEMO`.
    pub fn from_env() -> Self {
        Self {
            data_dir: std::env::var_os(Self::DATA_DIR_ENV)
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from),
            demo: std::env::var(Self::DEMO_ENV).is_ok_and(|value| value == "1"),
        }
    }
}

/// The platform's data directory for this app (from its identifier).
pub(crate) fn app_data_dir<R: Runtime>(app: &AppHandle<R>) -> Result<PathBuf, CommandError> {
    app.path()
        .app_data_dir()
        .map_err(|e| CommandError::new(CommandError::DATA_DIR, e.to_string()))
}

/// The store the commands use (managed state), or why it could not be opened.
#[derive(Debug)]
pub struct AppStore(Result<Mutex<Store>, CommandError>);

impl AppStore {
    /// Opens (creating if need be) the store in `dir`; with `demo`, fills it
    /// with demo tasks if it is empty.
    pub fn open(dir: &Path, demo: bool) -> Self {
        let opened = create_dir(dir).and_then(|()| {
            let mut store = Store::open(dir)?;
            if demo {
                fieldloop_tablet::demo::seed_if_empty(&mut store, now_ms())?;
            }
            Ok(Mutex::new(store))
        });
        match opened {
            Ok(store) => Self(Ok(store)),
            Err(error) => Self::unavailable(error),
        }
    }

    /// No store: every command answers `error`.
    pub fn unavailable(error: CommandError) -> Self {
        eprintln!("fieldloop: the local store is unavailable: {error}");
        Self(Err(error))
    }

    /// Runs `f` on the store.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, CommandError> {
        let store = self.0.as_ref().map_err(Clone::clone)?;
        let store = store.lock().map_err(|_| {
            CommandError::new(
                CommandError::STORE_UNAVAILABLE,
                "the local store failed earlier; restart the app",
            )
        })?;
        Ok(f(&store)?)
    }
}

fn create_dir(dir: &Path) -> Result<(), CommandError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        CommandError::new(
            CommandError::DATA_DIR,
            format!("cannot create {}: {e}", dir.display()),
        )
    })
}

/// Milliseconds since the Unix epoch, the time unit of `fieldloop_core`.
fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
