//! How the web view renders on Linux.
//!
//! WebKitGTK composites pages with OpenGL by default. Without a GPU (a
//! cheap x86 tablet, a virtual machine, a headless test run) that OpenGL is
//! Mesa's llvmpipe: the web process then keeps every composited layer as a
//! software texture. Measured with 5,000 tasks listed and a task of 60
//! items and 40 photos open, the web process held 427 MiB resident (225 MiB
//! its own), and 245 MiB (72 MiB) with WebKit drawing the page itself and
//! the list virtualised (`tests/benches/app.rs`; 138 MiB of the difference
//! is compositing). Fieldloop's screens are forms and lists, which
//! WebKit draws without compositing at no visible cost, so the app asks for
//! that; `FIELDLOOP_WEBVIEW_GPU=1` keeps WebKit's default (a machine whose
//! GPU composites cheaply). Other platforms' web views decide for themselves.
//!
//! WebKitGTK reads its choice from `WEBKIT_DISABLE_COMPOSITING_MODE` when it
//! starts; changing the web view's setting once the page is loading makes
//! WebKit start the web process again, which drops a WebDriver session as a
//! crash. A process cannot safely set its own environment once threads may
//! run, so [`software_rendering`] starts the app again with the variable
//! set (`exec`: the same process, before anything else ran).

/// Keeps WebKit's default (GPU compositing when it can) when set to `1`.
pub const GPU_ENV: &str = "FIELDLOOP_WEBVIEW_GPU";

/// WebKitGTK's switch: `1` draws pages without compositing.
pub const COMPOSITING_ENV: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Whether the app must start again with [`COMPOSITING_ENV`] set: neither it
/// (whatever its value: the person's choice) nor [`GPU_ENV`]` = 1` is set.
pub fn needs_restart(gpu: Option<&std::ffi::OsStr>, compositing: Option<&std::ffi::OsStr>) -> bool {
    compositing.is_none() && gpu.is_none_or(|v| v != "1")
}

/// Call first in `main`, before anything starts a thread: on Linux, starts
/// the app again with WebKit's compositing off unless [`needs_restart`]
/// says otherwise. Returns when nothing was to be done, or when the restart
/// failed (WebKit's default then applies, and the reason is printed).
pub fn software_rendering() {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let gpu = std::env::var_os(GPU_ENV);
        let compositing = std::env::var_os(COMPOSITING_ENV);
        if !needs_restart(gpu.as_deref(), compositing.as_deref()) {
            return;
        }
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(error) => {
                eprintln!("fieldloop: the web view keeps GPU compositing ({error})");
                return;
            }
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        let error = command.args(args).env(COMPOSITING_ENV, "1").exec();
        eprintln!("fieldloop: the web view keeps GPU compositing ({error})");
    }
}

#[cfg(test)]
mod tests {
    use super::needs_restart;
    use std::ffi::OsStr;

    #[test]
    fn restarts_only_when_nobody_chose() {
        assert!(needs_restart(None, None));
        assert!(needs_restart(Some(OsStr::new("0")), None));
        assert!(!needs_restart(Some(OsStr::new("1")), None));
        // Already restarted, or chosen by the person either way.
        assert!(!needs_restart(None, Some(OsStr::new("1"))));
        assert!(!needs_restart(None, Some(OsStr::new("0"))));
    }
}
