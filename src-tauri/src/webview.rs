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
//!
//! Drawing without compositing, the app's own process has no use for
//! OpenGL either, yet three things in it start one, and on a machine
//! without a GPU that loads Mesa's llvmpipe driver and the LLVM library
//! it links (44 MiB resident of the app's 174 MiB with 5,000 tasks listed
//! and the big task open): GTK choosing its window visuals through GLX,
//! WebKit checking whether it could share buffers with the web process
//! (the DMA-BUF renderer), and WebKit asking EGL for the render device it
//! tells the web process about. The restart turns all three off as well
//! ([`SOFTWARE_ENV`]), naming the device itself (the first
//! `/dev/dri/renderD*`, or `/dev/null` where there is none), unless the
//! person set any of them. The web process still opens EGL, which WebKit
//! requires there.

/// Keeps WebKit's default (GPU compositing when it can) when set to `1`.
pub const GPU_ENV: &str = "FIELDLOOP_WEBVIEW_GPU";

/// WebKitGTK's switch: `1` draws pages without compositing.
pub const COMPOSITING_ENV: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// What the restart sets besides [`COMPOSITING_ENV`] (see the module): GTK
/// without OpenGL, WebKit without its DMA-BUF renderer, and the render
/// device named so that WebKit need not ask EGL for it.
pub const SOFTWARE_ENV: [&str; 3] = [
    "GDK_GL",
    "WEBKIT_DISABLE_DMABUF_RENDERER",
    RENDER_DEVICE_ENV,
];

/// WebKit's render device for the web process; read instead of asking EGL.
pub const RENDER_DEVICE_ENV: &str = "WEBKIT_WEB_RENDER_DEVICE_FILE";

/// The variables the restart sets: [`COMPOSITING_ENV`], then each of
/// [`SOFTWARE_ENV`] that `set` says the person did not set. `render_nodes`
/// are the machine's `/dev/dri/renderD*`, in order; the first is named as
/// the render device, `/dev/null` when there is none (no GPU: nothing for
/// the web process to share buffers on).
pub fn restart_environment(
    set: impl Fn(&str) -> bool,
    render_nodes: &[std::path::PathBuf],
) -> Vec<(&'static str, std::ffi::OsString)> {
    let mut vars = vec![(COMPOSITING_ENV, "1".into())];
    for name in SOFTWARE_ENV {
        if set(name) {
            continue;
        }
        let value = match name {
            "GDK_GL" => "disable".into(),
            RENDER_DEVICE_ENV => render_nodes
                .first()
                .map_or_else(|| "/dev/null".into(), |node| node.clone().into_os_string()),
            _ => "1".into(),
        };
        vars.push((name, value));
    }
    vars
}

/// The machine's DRM render nodes (`/dev/dri/renderD*`), sorted.
#[cfg(target_os = "linux")]
fn render_nodes() -> Vec<std::path::PathBuf> {
    let mut nodes: Vec<_> = std::fs::read_dir("/dev/dri")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("renderD"))
        })
        .collect();
    nodes.sort();
    nodes
}

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
        let vars = restart_environment(|name| std::env::var_os(name).is_some(), &render_nodes());
        let error = command.args(args).envs(vars).exec();
        eprintln!("fieldloop: the web view keeps GPU compositing ({error})");
    }
}

#[cfg(test)]
mod tests {
    use super::{needs_restart, restart_environment};
    use std::ffi::{OsStr, OsString};
    use std::path::PathBuf;

    #[test]
    fn restarts_only_when_nobody_chose() {
        assert!(needs_restart(None, None));
        assert!(needs_restart(Some(OsStr::new("0")), None));
        assert!(!needs_restart(Some(OsStr::new("1")), None));
        // Already restarted, or chosen by the person either way.
        assert!(!needs_restart(None, Some(OsStr::new("1"))));
        assert!(!needs_restart(None, Some(OsStr::new("0"))));
    }

    #[test]
    fn the_restart_turns_off_opengl_in_the_app_unless_the_person_chose() {
        let vars = restart_environment(|_| false, &[]);
        let expect: Vec<(&str, OsString)> = vec![
            ("WEBKIT_DISABLE_COMPOSITING_MODE", "1".into()),
            ("GDK_GL", "disable".into()),
            ("WEBKIT_DISABLE_DMABUF_RENDERER", "1".into()),
            ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/null".into()),
        ];
        assert_eq!(vars, expect);
        // A GPU: its first render node is named.
        let nodes = [
            PathBuf::from("/dev/dri/renderD128"),
            PathBuf::from("/dev/dri/renderD129"),
        ];
        let vars = restart_environment(|_| false, &nodes);
        assert_eq!(vars[3].1, OsString::from("/dev/dri/renderD128"));
        // What the person set stays theirs.
        let vars = restart_environment(|name| name == "GDK_GL", &nodes);
        assert!(vars.iter().all(|(name, _)| *name != "GDK_GL"), "{vars:?}");
        assert_eq!(vars.len(), 3);
    }
}
