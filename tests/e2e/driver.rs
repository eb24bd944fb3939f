//! The real tablet app in a real window: Xvfb, `tauri-driver` (from
//! `ui/node_modules`), Debian's `WebKitWebDriver`, and a fantoccini client.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long any one screen state may take to appear.
pub const WAIT: Duration = Duration::from_secs(30);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// `tauri-driver` on the PATH or in `$CARGO_HOME/bin`, where `cargo install` puts it.
fn tauri_driver_path() -> Option<PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .map(|home| home.join("bin"));
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join("tauri-driver"))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The app's switch to keep WebKit's GPU compositing (see [`App::launch`]).
const GPU_ENV: &str = "FIELDLOOP_WEBVIEW_GPU";

/// The app under `tauri-driver` on a virtual display, and a WebDriver session to it.
pub struct App {
    pub client: Client,
    driver: Child,
    shots: PathBuf,
    /// Time from [`App::launch`] until tauri-driver answered (Xvfb and the
    /// driver, not the app).
    driver_startup: Duration,
}

impl App {
    /// Starts the app binary of this build with `env` (data dir, …).
    ///
    /// Unless `env` says otherwise, with `FIELDLOOP_WEBVIEW_GPU=1`: WebKit
    /// composites the page as it does by default, because WebKitWebDriver's
    /// screenshots never come back from a page WebKit draws itself, which
    /// the app asks for on Linux (`src-tauri/src/webview.rs`). The app as it
    /// ships is launched with `("FIELDLOOP_WEBVIEW_GPU", "0")` (the app
    /// benchmark, and the E2E test of that choice), without screenshots.
    pub async fn launch(env: &[(&str, &str)]) -> App {
        let app = fieldloop_tests::process::target_binary("fieldloop-app");
        let tauri_driver = tauri_driver_path().expect(
            "tauri-driver is not installed: run `cargo xtask setup` (cargo install tauri-driver)",
        );
        let first = Instant::now();
        // A port found free may be taken by someone else before tauri-driver
        // binds it: then the driver exits, or the session cannot be made,
        // and the launch is tried again on other ports.
        let (client, driver, driver_startup) = loop {
            match Self::try_launch(&tauri_driver, &app, env).await {
                Ok(launched) => break launched,
                Err(why) if first.elapsed() < WAIT => {
                    eprintln!("tauri-driver launch failed ({why}); trying other ports");
                }
                Err(why) => panic!("tauri-driver did not come up within {WAIT:?}: {why}"),
            }
        };
        let shots = repo_root().join("target/e2e-screenshots");
        std::fs::create_dir_all(&shots).expect("screenshot dir");
        App {
            client,
            driver,
            shots,
            driver_startup,
        }
    }

    /// One attempt: Xvfb and tauri-driver on two ports found free, then a
    /// WebDriver session. On failure the driver's process group is stopped.
    async fn try_launch(
        tauri_driver: &Path,
        app: &Path,
        env: &[(&str, &str)],
    ) -> Result<(Client, Child, Duration), String> {
        // The readiness probe below is a reqwest client: it needs the
        // process's crypto provider, whichever test runs first.
        fieldloop_tablet::tls::install_crypto();
        let (port, native) = (free_port(), free_port());
        let mut cmd = Command::new("xvfb-run");
        // Square, so that the window fits upright (800 × 1280) and lying (1280 × 800).
        cmd.args(["-a", "-s", "-screen 0 1280x1280x24"])
            .arg(tauri_driver)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .envs(env.iter().copied())
            .envs((!env.iter().any(|(k, _)| *k == GPU_ENV)).then_some((GPU_ENV, "1")))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that Xvfb, the driver and the app end together.
            .process_group(0);
        let mut driver = cmd
            .spawn()
            .map_err(|e| format!("xvfb-run tauri-driver (apt: xvfb xauth): {e}"))?;
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let stop = |driver: &mut Child| {
            let group = format!("-{}", driver.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let _ = driver.wait();
        };
        while reqwest::get(format!("{url}/status")).await.is_err() {
            if let Ok(Some(status)) = driver.try_wait() {
                return Err(format!("tauri-driver exited ({status})"));
            }
            if started.elapsed() > WAIT {
                stop(&mut driver);
                return Err("no answer on /status".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let driver_startup = started.elapsed();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert(
            "tauri:options".into(),
            json!({ "application": app.to_string_lossy() }),
        );
        match ClientBuilder::native()
            .capabilities(caps)
            .connect(&url)
            .await
        {
            Ok(client) => Ok((client, driver, driver_startup)),
            Err(e) => {
                stop(&mut driver);
                Err(format!("no WebDriver session: {e}"))
            }
        }
    }

    /// Milliseconds Xvfb and tauri-driver took to come up (benchmarks
    /// subtract them from a cold start).
    pub fn driver_startup_ms(&self) -> f64 {
        self.driver_startup.as_secs_f64() * 1e3
    }

    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.driver.wait();
    }

    /// The element with `data-testid` `id`, once it is displayed.
    pub async fn find(&self, id: &str) -> Element {
        self.find_css(&format!("[data-testid='{id}']")).await
    }

    pub async fn find_css(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && self.visible(&e).await
            {
                return e;
            }
            if started.elapsed() > WAIT {
                let _ = self.shot("failure").await;
                panic!("{css} did not appear within {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether `e` takes up room on the screen (WebKitWebDriver's own
    /// "is displayed" answers false for some laid-out elements).
    async fn visible(&self, e: &Element) -> bool {
        let Ok(arg) = serde_json::to_value(e) else {
            return false;
        };
        self.client
            .execute(
                "const e = arguments[0]; return e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';",
                vec![arg],
            )
            .await
            .is_ok_and(|v| v == json!(true))
    }

    /// The text of the element `css` once it is shown (its `textContent`).
    pub async fn text_css(&self, css: &str) -> String {
        let e = self.find_css(css).await;
        let arg = serde_json::to_value(&e).expect("element");
        let text = self
            .client
            .execute("return arguments[0].textContent;", vec![arg])
            .await
            .expect("textContent");
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The text of `[data-testid=id]`.
    pub async fn text(&self, id: &str) -> String {
        self.text_css(&format!("[data-testid='{id}']")).await
    }

    pub async fn click(&self, id: &str) {
        self.click_css(&format!("[data-testid='{id}']")).await;
    }

    pub async fn click_css(&self, css: &str) {
        let e = self.find_css(css).await;
        self.reveal(&e).await;
        e.click().await.expect(css);
    }

    /// Scrolls `e` to the middle of the window and waits until two frames
    /// have been drawn. A checklist item off screen is not laid out
    /// (`content-visibility: auto`) until a frame has shown it, and before
    /// that WebDriver's click lands on the item rather than on its button.
    pub async fn reveal(&self, e: &Element) {
        let arg = serde_json::to_value(e).expect("element");
        self.client
            .execute_async(
                "const [e, done] = arguments; e.scrollIntoView({ block: 'center' }); requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![arg],
            )
            .await
            .expect("scroll the element into view");
    }

    /// Types `text` into the field `id` (after clearing it).
    pub async fn type_into(&self, id: &str, text: &str) {
        let field = self.find(id).await;
        self.reveal(&field).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Waits until `script` (a function body returning a value) returns
    /// `true`, e.g. `return document.querySelector(…) !== null`.
    pub async fn wait_until(&self, what: &str, script: &str) {
        let started = Instant::now();
        loop {
            if let Ok(v) = self.client.execute(script, vec![]).await
                && v == json!(true)
            {
                return;
            }
            if started.elapsed() > WAIT {
                let _ = self.shot("failure").await;
                panic!("{what}: not true within {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Like [`App::wait_until`], but answers whether it came true within `limit`.
    pub async fn poll_until(&self, script: &str, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(v) = self.client.execute(script, vec![]).await
                && v == json!(true)
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        false
    }

    /// Waits until `[data-testid=id]` has attribute `attr` = `value`.
    pub async fn wait_attr(&self, id: &str, attr: &str, value: &str) {
        let script = format!(
            "const e = document.querySelector(\"[data-testid='{id}']\"); return e !== null && e.getAttribute('{attr}') === '{value}';"
        );
        self.wait_until(&format!("{id}[{attr}={value}]"), &script)
            .await;
    }

    /// Runs `script` and answers its JSON result.
    pub async fn js(&self, script: &str, args: Vec<serde_json::Value>) -> serde_json::Value {
        self.client.execute(script, args).await.expect(script)
    }

    /// Saves a screenshot as `target/e2e-screenshots/<name>.png`, and in
    /// `docs/screenshots/` when `FIELDLOOP_UPDATE_SCREENSHOTS=1`.
    pub async fn shot(&self, name: &str) -> Vec<u8> {
        // Let the frame with the last DOM change be painted: two animation
        // frames, the second after the first was drawn.
        let _ = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await;
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), &png).expect("write screenshot");
        if std::env::var("FIELDLOOP_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            let docs = repo_root().join("docs/screenshots");
            std::fs::create_dir_all(&docs).expect("docs/screenshots");
            std::fs::write(docs.join(format!("{name}.png")), &png).expect("write screenshot");
        }
        png
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop_driver();
    }
}
