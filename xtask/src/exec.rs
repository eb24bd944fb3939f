//! Running external commands as steps: each is printed before it runs, timed,
//! and fails with the command line and its exit status.

use std::env;
use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use crate::repo;

/// `program` with `args`, to run from the repository root.
pub fn command<I, S>(program: &str, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(repo::root());
    cmd
}

/// The cargo that runs xtask, so the toolchain matches.
pub fn cargo_program() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// What `cargo run` tells the program it runs (xtask) about its own
/// package. A build script may ask to be run again when one of them changes
/// (ring's asks for `CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR` and others), so a
/// cargo started with xtask's values would rebuild ring and all that depends
/// on it after every plain `cargo` command, and the reverse.
fn set_by_cargo_run(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    ["CARGO_PKG_", "CARGO_MANIFEST_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || matches!(
            name.as_ref(),
            "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
        )
}

/// `cmd` (which starts cargo, perhaps through another program) without
/// what `cargo run` set for xtask: see [`set_by_cargo_run`].
pub fn without_cargo_run_env(cmd: &mut Command) -> &mut Command {
    for (name, _) in env::vars_os().filter(|(name, _)| set_by_cargo_run(name)) {
        cmd.env_remove(name);
    }
    cmd
}

/// [`cargo_program`] with `args`, from the root, in the environment xtask
/// was started from (without what `cargo run` set for xtask itself, see
/// [`set_by_cargo_run`]); coloured output when our stdout is a terminal.
pub fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(cargo_program());
    cmd.args(args).current_dir(repo::root());
    without_cargo_run_env(&mut cmd);
    if std::io::stdout().is_terminal() {
        cmd.env("CARGO_TERM_COLOR", "always");
    }
    cmd
}

/// `npm` with `args`, run in `ui/`.
pub fn npm(args: &[&str]) -> Command {
    npm_in(&repo::ui(), args)
}

/// `npm` with `args`, run in `dir`.
pub fn npm_in(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = command("npm", args);
    cmd.current_dir(dir);
    cmd
}

/// Prints `cmd`, runs it with our stdin/stdout/stderr, and fails unless it
/// exits successfully.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = describe(cmd);
    println!("==> {shown}");
    let started = Instant::now();
    let status = cmd.status().with_context(|| cannot_start(cmd))?;
    let took = seconds(started.elapsed());
    ensure!(status.success(), "`{shown}` failed after {took} ({status})");
    println!("    done in {took}");
    Ok(())
}

/// Like [`run`], but also hands each line of the command's standard output
/// to `on_line` as it is printed.
pub fn run_watching(cmd: &mut Command, mut on_line: impl FnMut(&str)) -> Result<()> {
    let shown = describe(cmd);
    println!("==> {shown}");
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| cannot_start(cmd))?;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let line = line.context("cannot read the command's output")?;
            println!("{line}");
            on_line(&line);
        }
    }
    let status = child.wait().with_context(|| cannot_start(cmd))?;
    let took = seconds(started.elapsed());
    ensure!(status.success(), "`{shown}` failed after {took} ({status})");
    println!("    done in {took}");
    Ok(())
}

/// Runs `cmd` quietly (a probe or a query) and returns its standard output;
/// fails unless it exits successfully, quoting its standard error.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| cannot_start(cmd))?;
    ensure!(
        out.status.success(),
        "`{}` failed ({}): {}",
        describe(cmd),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Prints `cmd` and starts it in the background as `name`.
pub fn start(name: &str, cmd: &mut Command) -> Result<Background> {
    println!("==> {} &", describe(cmd));
    let child = cmd.spawn().with_context(|| cannot_start(cmd))?;
    Ok(Background {
        name: name.to_owned(),
        child,
    })
}

/// A process started with [`start`]. Dropping it kills and reaps the process
/// if it is still running, so an error or an early return never leaves it behind.
#[derive(Debug)]
pub struct Background {
    name: String,
    child: Child,
}

impl Background {
    /// The exit status if the process has already ended.
    pub fn exited(&mut self) -> Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("cannot query the state of {}", self.name))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            println!("==> stopping {} (pid {})", self.name, self.child.id());
            if let Err(err) = self.child.kill().and_then(|()| self.child.wait().map(drop)) {
                eprintln!("warning: could not stop {}: {err}", self.name);
            }
        }
    }
}

/// A duration as seconds with one decimal, e.g. `12.3s`.
pub fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

fn cannot_start(cmd: &Command) -> String {
    format!(
        "cannot start `{}`: is it installed and on PATH?",
        program(cmd)
    )
}

/// `cmd` as a shell-like line: variables it sets, program, arguments, and the
/// directory when it is not the repository root.
fn describe(cmd: &Command) -> String {
    let vars = cmd
        .get_envs()
        // Set only for terminals; showing it on every cargo line is noise.
        .filter(|(key, _)| *key != "CARGO_TERM_COLOR")
        .filter_map(|(key, value)| Some(format!("{}={}", key.display(), quote(value?))));
    let words = cmd.get_args().map(quote);
    let mut line = vars
        .chain([program(cmd)])
        .chain(words)
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(dir) = cmd.get_current_dir().filter(|dir| *dir != repo::root()) {
        line.push_str(&format!("  (in {}/)", repo::display(dir)));
    }
    line
}

/// The program's file name: `cargo` rather than the toolchain's full path.
fn program(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program());
    program
        .file_name()
        .unwrap_or(program.as_os_str())
        .display()
        .to_string()
}

fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c))
    {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_vars_program_arguments_and_directory() {
        let mut cmd = npm(&["run", "build"]);
        cmd.env("CI", "true").env("CARGO_TERM_COLOR", "always");
        assert_eq!(describe(&cmd), "CI=true npm run build  (in ui/)");
    }

    /// An inner cargo sees the environment xtask was started from, not the
    /// package variables `cargo run` (here `cargo test`) set for xtask:
    /// build scripts that watch them would otherwise rebuild.
    #[test]
    fn inner_cargo_does_not_see_xtasks_own_package_variables() {
        assert!(
            env::var_os("CARGO_MANIFEST_DIR").is_some() && env::var_os("CARGO_PKG_NAME").is_some()
        );
        let cmd = cargo(&["build"]);
        let removed: Vec<String> = cmd
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        for name in ["CARGO_MANIFEST_DIR", "CARGO_PKG_NAME"] {
            assert!(removed.iter().any(|r| r == name), "{name} in {removed:?}");
        }
        // What cargo itself and the build need stays.
        for kept in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "PATH",
        ] {
            assert!(!set_by_cargo_run(OsStr::new(kept)), "{kept}");
        }
        assert!(!describe(&cmd).contains("CARGO_PKG"), "{}", describe(&cmd));
    }

    #[test]
    fn quotes_words_a_shell_would_split() {
        let cmd = command("xvfb-run", ["-s", "-screen 0 1280x800x24", "it's", ""]);
        assert_eq!(
            describe(&cmd),
            r#"xvfb-run -s '-screen 0 1280x800x24' 'it'\''s' ''"#
        );
    }
}
