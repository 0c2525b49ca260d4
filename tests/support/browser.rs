//! A headless Chromium driven through `WebDriver` (Debian's `chromium` and `chromium-driver`):
//! `chromedriver` on a loopback port, one session with a fresh profile, quit and stopped when
//! dropped. The `WebDriver` calls are plain JSON over HTTP (reqwest), so no `WebDriver` crate is
//! needed; every wait is bounded.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::child::Running;

/// The browser binary and its driver, when both are installed.
fn installed() -> Option<(&'static str, &'static str)> {
    let found = |p: &str| Path::new(p).is_file();
    (found("/usr/bin/chromium") && found("/usr/bin/chromedriver"))
        .then_some(("/usr/bin/chromium", "/usr/bin/chromedriver"))
}

pub struct Browser {
    session: String,
    base: String,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    // Dropped after the session is deleted (see `Drop`).
    _driver: Running,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A new headless browser, or `None` (with a note) when Chromium or its driver is missing.
    pub fn start() -> Option<Browser> {
        let Some((chromium, chromedriver)) = installed() else {
            let why = "install chromium and chromium-driver (scripts/install.sh does)";
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true, but the dashboard tests cannot run: {why}"
            );
            #[allow(clippy::print_stderr, reason = "a skipped test says why")]
            {
                eprintln!("skipped: dashboard test: {why}");
            }
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(chromedriver)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Running(driver);
        let profile = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = ict::http::client();
        let base = format!("http://127.0.0.1:{port}");
        let ready = (0..200).any(|_| {
            let status = runtime.block_on(client.get(format!("{base}/status")).send());
            if status.is_ok_and(|r| r.status().is_success()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
            false
        });
        assert!(ready, "chromedriver did not answer on {base}");
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(), // tests run as root
            "--disable-gpu".to_owned(),
            "--window-size=1400,1500".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
            // Talk to nothing but the page under test.
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-default-apps".to_owned(),
            "--disable-extensions".to_owned(),
        ];
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        }}});
        let answer = runtime
            .block_on(async {
                client
                    .post(format!("{base}/session"))
                    .json(&capabilities)
                    .send()
                    .await?
                    .json::<Value>()
                    .await
            })
            .expect("a WebDriver session");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_owned();
        Some(Browser {
            session,
            base,
            runtime,
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// `POST /session/{id}/{path}` with `body`; the answer's `value`.
    fn call(&self, path: &str, body: &Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let answer: Value = self
            .runtime
            .block_on(async { self.client.post(url).json(body).send().await?.json().await })
            .expect("WebDriver answers");
        answer["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.call("url", &json!({ "url": url }));
    }

    /// The value of `script` (a function body) run in the page.
    pub fn eval(&self, script: &str) -> Value {
        self.call("execute/sync", &json!({ "script": script, "args": [] }))
    }

    /// Waits (at most 30 s) until `script` returns something other than `null` or `false`;
    /// returns it.
    #[track_caller]
    pub fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let value = self.eval(script);
            if !value.is_null() && value != Value::Bool(false) {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {what}; its text:\n{}",
                self.eval("return document.body.innerText")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A PNG of the window, written to `path`.
    pub fn screenshot(&self, path: &Path) {
        let url = format!("{}/session/{}/screenshot", self.base, self.session);
        let answer: Value = self
            .runtime
            .block_on(async { self.client.get(url).send().await?.json().await })
            .expect("a screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(answer["value"].as_str().expect("base64"))
            .expect("valid base64");
        std::fs::write(path, png).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Quits Chromium; the driver is stopped when `_driver` drops.
        let url = format!("{}/session/{}", self.base, self.session);
        let request = self.client.delete(url).send();
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), request).await });
    }
}
