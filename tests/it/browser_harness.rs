//! A headless Debian Chromium driven through chromedriver (started as a
//! child process on a free port) with fantoccini. Without Chromium or
//! chromedriver the browser tests skip and say why — except under
//! `CI=true`, where that is a failure. Browser sessions are serialised
//! (two cores are shared), and the profile lives in a temp folder.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const FLAGS: [&str; 8] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// One browser session at a time across the test binary.
static SESSIONS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_url: String,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (prints why) or, under `CI=true`, fails.
pub fn unavailable(reason: &str) {
    if under_ci() {
        panic!("browser test cannot run under CI=true: {reason}");
    }
    crate::helpers::skip_notice(&format!("NOTE: browser test skipped: {reason}; .ci/run installs it"));
}

impl Browser {
    /// Starts chromedriver and a Chromium session with the page's time zone
    /// set to `tz`; `None` (after [`unavailable`]) when the tools are missing.
    pub async fn start(tz: &str) -> Option<Browser> {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(tool).exists() {
                unavailable(&format!(
                    "{tool} is not installed (apt-get install -y chromium chromium-driver)"
                ));
                return None;
            }
        }
        let turn = SESSIONS.lock().await;
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .env("TZ", tz)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let ready = poll(Duration::from_secs(20), || async {
            http.get(format!("{driver_url}/status")).send().await.is_ok_and(|r| r.status().is_success())
        })
        .await;
        assert!(ready, "chromedriver did not answer on {driver_url}");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push("--window-size=1280,800".into());
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
        });
        let serde_json::Value::Object(caps) = caps else { unreachable!("object") };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&driver_url)
            .await
            .expect("webdriver session");
        Some(Browser { client, driver, driver_url, _profile: profile, _turn: turn })
    }

    /// Evaluates `expr` in the page.
    pub async fn eval(&self, expr: &str) -> Value {
        self.client.execute(&format!("return ({expr});"), vec![]).await.unwrap_or(Value::Null)
    }

    /// Polls `expr` until it is truthy or `timeout` passes; answers whether it became true.
    pub async fn wait_for(&self, expr: &str, timeout: Duration) -> bool {
        let check = format!("try {{ return !!({expr}); }} catch (e) {{ return false; }}");
        poll(timeout, || async { self.client.execute(&check, vec![]).await.ok() == Some(Value::Bool(true)) })
            .await
    }

    /// Asserts that `expr` becomes truthy within `timeout`, showing `show` on failure.
    pub async fn expect(&self, expr: &str, timeout: Duration, show: &str) {
        if !self.wait_for(expr, timeout).await {
            panic!("page never satisfied `{expr}`; {show} = {}", self.eval(show).await);
        }
    }

    /// Chromedriver's log `kind` (`browser`, `performance`) since the last
    /// call (enabled by `goog:loggingPrefs`).
    async fn log(&self, kind: &str) -> Vec<Value> {
        let session = self.client.session_id().await.ok().flatten().expect("session id");
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.driver_url))
            .json(&json!({ "type": kind }))
            .send()
            .await
            .expect("log request")
            .json()
            .await
            .expect("log json");
        answer["value"].as_array().cloned().unwrap_or_else(|| panic!("chromedriver log answer: {answer}"))
    }

    /// The browser console's entries at level SEVERE since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        self.log("browser")
            .await
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The URL of every request the browser sent since the last call (the
    /// DevTools `Network.requestWillBeSent` events of the performance log):
    /// fetches, EventSource streams, scripts, everything.
    pub async fn request_urls(&self) -> Vec<String> {
        self.log("performance")
            .await
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e["message"].as_str()?).ok())
            .filter(|m| m["message"]["method"] == "Network.requestWillBeSent")
            .filter_map(|m| m["message"]["params"]["request"]["url"].as_str().map(str::to_owned))
            .collect()
    }

    /// The request URLs as [`Browser::request_urls`], read again (each read
    /// drains the log; the reads add up) until one contains `wanted` or 5 s
    /// pass: the performance log can trail what the page already did.
    pub async fn request_urls_until(&self, wanted: &str) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut urls = self.request_urls().await;
        while !urls.iter().any(|u| u.contains(wanted)) && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            urls.extend(self.request_urls().await);
        }
        urls
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let session = self.client.session_id().await.ok().flatten().expect("session id");
        reqwest::Client::new()
            .post(format!("{}/session/{session}/goog/cdp/execute", self.driver_url))
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .expect("cdp request")
            .json()
            .await
            .expect("cdp json")
    }

    /// Emulates `prefers-color-scheme: dark` (or light).
    pub async fn color_scheme(&self, scheme: &str) {
        let answer = self
            .cdp(
                "Emulation.setEmulatedMedia",
                json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
            )
            .await;
        assert!(answer.get("value").is_some_and(|v| v.get("error").is_none()), "{answer}");
    }

    /// Writes a PNG screenshot to `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await.expect("screenshot")).expect("write screenshot");
        path
    }

    /// Runs axe-core in the page; answers the serious and critical
    /// violations (id, impact, help, first nodes), or `None` (after
    /// [`unavailable`]) when axe-core is not installed.
    pub async fn axe_serious(&self) -> Option<Vec<Value>> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser-deps/node_modules/axe-core/axe.min.js");
        let Ok(source) = std::fs::read_to_string(&path) else {
            unavailable(&format!(
                "{} is missing, so the accessibility check cannot run (npm --prefix tests/browser-deps ci)",
                path.display()
            ));
            return None;
        };
        // WebDriver scripts are not subject to the page's CSP.
        self.client
            .execute(&format!("{source}\n;window.axe = axe; return true;"), vec![])
            .await
            .expect("inject axe");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                  nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '')) }))))
                   .catch(e => done([{ id: 'axe-error', help: String(e) }]));",
                vec![],
            )
            .await
            .expect("axe run");
        Some(result.as_array().cloned().unwrap_or_default())
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Polls `check` every 50 ms until it answers true or `timeout` passes.
pub async fn poll<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
