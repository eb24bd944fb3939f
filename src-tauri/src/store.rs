//! The tablet as Tauri state: where its data lives, opening it at start-up,
//! the background sync, and access for the commands.
//!
//! A store that cannot be opened does not stop the app: the window still
//! comes up and every command answers with the reason, which the UI shows.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use fieldloop_core::ErrorCode;
use fieldloop_tablet::background::Background;
use fieldloop_tablet::inspect::{AppError, Tablet, UnsyncedWork};
use fieldloop_tablet::sync::Schedule;
use tauri::{AppHandle, Manager, Runtime};

use crate::CommandError;

/// How the app starts: where its data lives and whether to fill an empty
/// store with demo tasks.
#[derive(Debug, Clone, Default)]
pub struct Startup {
    /// The data directory; `None` means the platform's app data directory.
    pub data_dir: Option<PathBuf>,
    /// Fill an empty store with demo tasks and act as their inspector
    /// (for trying the app without a server).
    pub demo: bool,
    /// An enrollment link to offer on the enrollment screen (the demo).
    pub enroll_hint: Option<String>,
}

impl Startup {
    /// Overrides the data directory (tests, demos).
    pub const DATA_DIR_ENV: &'static str = "FIELDLOOP_DATA_DIR";
    /// `1` seeds an empty store with demo tasks.
    pub const DEMO_ENV: &'static str = "FIELDLOOP_DEMO";
    /// An enrollment link (`fieldloop://enroll?…`) to prefill.
    pub const ENROLL_ENV: &'static str = "FIELDLOOP_ENROLL";

    /// Reads `FIELDLOOP_DATA_DIR`, `FIELDLOOP_DEMO` and `FIELDLOOP_ENROLL`.
    pub fn from_env() -> Self {
        Self {
            data_dir: std::env::var_os(Self::DATA_DIR_ENV)
                .filter(|dir| !dir.is_empty())
                .map(PathBuf::from),
            demo: std::env::var(Self::DEMO_ENV).is_ok_and(|value| value == "1"),
            enroll_hint: std::env::var(Self::ENROLL_ENV)
                .ok()
                .filter(|v| !v.is_empty()),
        }
    }
}

/// Fills an empty store with demo tasks and acts as their inspector.
#[cfg(feature = "demo")]
fn start_demo(tablet: &mut Tablet) -> Result<(), AppError> {
    fieldloop_tablet::demo::seed_if_empty(
        &mut tablet.store,
        fieldloop_tablet::background::now_ms(),
    )
    .map_err(AppError::from)?;
    tablet.adopt_demo_identity()
}

/// A build without the `demo` feature has no demo data: it says so and
/// starts as a plain, unenrolled tablet.
#[cfg(not(feature = "demo"))]
fn start_demo(_tablet: &mut Tablet) -> Result<(), AppError> {
    eprintln!(
        "{} ignored: this build has no demo data (build with `--features demo`, as `cargo xtask demo` does)",
        Startup::DEMO_ENV
    );
    Ok(())
}

/// The platform's data directory for this app (from its identifier).
pub(crate) fn app_data_dir<R: Runtime>(app: &AppHandle<R>) -> Result<PathBuf, CommandError> {
    app.path()
        .app_data_dir()
        .map_err(|e| CommandError::new(ErrorCode::AppDataDir, e.to_string()))
}

/// The tablet the commands use (managed state), or why it could not be opened.
/// Cloning shares it.
#[derive(Debug, Clone)]
pub struct AppStore(Arc<Shared>);

#[derive(Debug)]
pub struct Shared {
    tablet: Result<Mutex<Tablet>, CommandError>,
    sync: Mutex<Option<Background>>,
    pub(crate) enroll_hint: Option<String>,
}

impl std::ops::Deref for AppStore {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppStore {
    /// Opens (creating if need be) the tablet data in `dir`; with `demo`,
    /// fills an empty store with demo tasks. An enrolled tablet starts
    /// syncing at once.
    pub fn open(dir: &Path, startup: &Startup) -> Self {
        let opened = create_dir(dir).and_then(|()| {
            let mut tablet = Tablet::open(dir)?;
            if startup.demo {
                start_demo(&mut tablet)?;
            }
            Ok(tablet)
        });
        match opened {
            Ok(tablet) => {
                let this = Self(Arc::new(Shared {
                    tablet: Ok(Mutex::new(tablet)),
                    sync: Mutex::new(None),
                    enroll_hint: startup.enroll_hint.clone(),
                }));
                this.start_sync_if_enrolled();
                this
            }
            Err(error) => Self::unavailable(error),
        }
    }

    /// No store: every command answers `error`.
    pub fn unavailable(error: CommandError) -> Self {
        eprintln!("fieldloop: the local store is unavailable: {error}");
        Self(Arc::new(Shared {
            tablet: Err(error),
            sync: Mutex::new(None),
            enroll_hint: None,
        }))
    }

    /// Runs `f` on the tablet on a blocking thread: the photo pipeline and
    /// enrollment's network call must not hold up the app's async runtime.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Tablet) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, CommandError> {
        let this = self.clone();
        tauri::async_runtime::spawn_blocking(move || this.with(f))
            .await
            .map_err(|e| CommandError::new(ErrorCode::AppStoreUnavailable, e.to_string()))?
    }

    /// Runs `f` on the tablet.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Tablet) -> Result<T, AppError>,
    ) -> Result<T, CommandError> {
        let tablet = self.tablet.as_ref().map_err(Clone::clone)?;
        let mut tablet = tablet.lock().map_err(|_| {
            CommandError::new(
                ErrorCode::AppStoreUnavailable,
                "the local store failed earlier; restart the app",
            )
        })?;
        Ok(f(&mut tablet)?)
    }

    /// Starts the background sync if the tablet has a server, else nothing.
    pub fn start_sync_if_enrolled(&self) {
        let Ok(Some(dir)) = self.with(|t| {
            Ok(t.identity()?
                .and_then(|i| i.server)
                .map(|_| t.dir().to_owned()))
        }) else {
            return;
        };
        let mut sync = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        match sync.as_ref() {
            Some(running) => running.wake(),
            None => *sync = Some(Background::start(&dir, Schedule::default())),
        }
    }

    /// Erases the tablet's data if the server revoked it (the background
    /// sync's last answer was `auth.revoked`): stops the sync, then wipes.
    /// Answers the work that went with the data.
    pub fn wipe_if_revoked(&self) -> Result<UnsyncedWork, CommandError> {
        let revoked = self.with_sync(|sync| {
            sync.is_some_and(|s| s.view_state().code == Some(ErrorCode::AuthRevoked))
        });
        if !revoked {
            return Err(CommandError::new(
                ErrorCode::AppBadRequest,
                "this tablet was not revoked: nothing was erased",
            ));
        }
        // The sync thread closes its connection when it stops.
        drop(self.sync.lock().unwrap_or_else(|p| p.into_inner()).take());
        self.with(Tablet::wipe)
    }

    /// Runs `f` on the background sync, if it runs.
    pub fn with_sync<T>(&self, f: impl FnOnce(Option<&Background>) -> T) -> T {
        let sync = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        f(sync.as_ref())
    }
}

fn create_dir(dir: &Path) -> Result<(), CommandError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        CommandError::new(
            ErrorCode::AppDataDir,
            format!("cannot create {}: {e}", dir.display()),
        )
    })
}
