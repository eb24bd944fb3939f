//! Headless Chromium through Debian's `chromedriver` and a fantoccini
//! client: the console's browser in its tests.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long any one screen state may take to appear.
pub const WAIT: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// Chromium under chromedriver, and a WebDriver session to it.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    pub async fn launch() -> Browser {
        let first = Instant::now();
        loop {
            match Self::try_launch().await {
                Ok(browser) => return browser,
                Err(why) if first.elapsed() < WAIT => {
                    eprintln!("chromedriver launch failed ({why}); trying another port");
                }
                Err(why) => panic!(
                    "chromedriver did not come up within {WAIT:?}: {why} (apt: chromium chromium-driver; `cargo xtask setup`)"
                ),
            }
        }
    }

    async fn try_launch() -> Result<Browser, String> {
        let port = free_port();
        let mut driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("chromedriver: {e}"))?;
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let stop = |driver: &mut Child| {
            let group = format!("-{}", driver.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let _ = driver.wait();
        };
        while reqwest::get(format!("{url}/status")).await.is_err() {
            if let Ok(Some(status)) = driver.try_wait() {
                return Err(format!("chromedriver exited ({status})"));
            }
            if started.elapsed() > WAIT {
                stop(&mut driver);
                return Err("no answer on /status".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1440,1000",
                    "--lang=zh-CN",
                    "--no-first-run",
                ],
            }),
        );
        match ClientBuilder::native()
            .capabilities(caps)
            .connect(&url)
            .await
        {
            Ok(client) => Ok(Browser { client, driver }),
            Err(e) => {
                stop(&mut driver);
                Err(format!("no WebDriver session: {e}"))
            }
        }
    }

    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.driver.wait();
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect(url);
    }

    /// The first element `css` matches once it is displayed.
    pub async fn find_css(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && e.is_displayed().await.unwrap_or(false)
            {
                return e;
            }
            if started.elapsed() > WAIT {
                self.shot("failure").await;
                panic!("{css} did not appear within {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `[data-testid=id]` once it is displayed.
    pub async fn find(&self, id: &str) -> Element {
        self.find_css(&format!("[data-testid='{id}']")).await
    }

    pub async fn click(&self, id: &str) {
        self.click_css(&format!("[data-testid='{id}']")).await;
    }

    /// Clicks `css` once it is displayed and enabled (Element Plus
    /// animates dialogs in: an early click may land on the mask).
    pub async fn click_css(&self, css: &str) {
        let started = Instant::now();
        loop {
            let e = self.find_css(css).await;
            match e.click().await {
                Ok(()) => return,
                Err(_) if started.elapsed() < WAIT => {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
                Err(e) => panic!("{css}: {e}"),
            }
        }
    }

    /// Empties the input `id` (as the page's own bindings see it) and types `text`.
    pub async fn type_into(&self, id: &str, text: &str) {
        let e = self.find(id).await;
        let arg = serde_json::to_value(&e).expect("element");
        self.client
            .execute(
                "const e = arguments[0]; e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true}));",
                vec![arg],
            )
            .await
            .expect("empty the field");
        e.send_keys(text).await.expect(id);
    }

    /// The text content of `css`.
    pub async fn text_css(&self, css: &str) -> String {
        self.find_css(css)
            .await
            .text()
            .await
            .expect("text")
            .trim()
            .to_owned()
    }

    pub async fn text(&self, id: &str) -> String {
        self.text_css(&format!("[data-testid='{id}']")).await
    }

    /// Runs `script` (a function body) and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.expect(script)
    }

    /// Waits until `script` returns `true`.
    pub async fn wait_until(&self, what: &str, script: &str) {
        let started = Instant::now();
        loop {
            if self.js(script).await == json!(true) {
                return;
            }
            if started.elapsed() > WAIT {
                self.shot("failure").await;
                panic!("{what}: not within {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// How many elements `css` matches now.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// A PNG of the page in `target/e2e-screenshots/console-{name}.png`, or
    /// with `FIELDLOOP_UPDATE_SCREENSHOTS=1` in `docs/screenshots/` (a
    /// failure's always in `target/`).
    pub async fn shot(&self, name: &str) {
        let Ok(png) = self.client.screenshot().await else {
            return;
        };
        let update = std::env::var_os("FIELDLOOP_UPDATE_SCREENSHOTS").is_some();
        let dir = if name == "failure" || !update {
            repo_root().join("target/e2e-screenshots")
        } else {
            repo_root().join("docs/screenshots")
        };
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("console-{name}.png")), png);
    }
}
