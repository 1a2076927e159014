//! Test harness: start the real server (the production `Application`) on a
//! free port with a fresh database — a temp SQLite file, or a new PostgreSQL
//! database when `CICD_TEST_POSTGRES_URL` is set — and talk HTTP to it.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Once;

use cicd_dashboard::auth::token_hash;
use cicd_dashboard::config::ServeSettings;
use cicd_dashboard::providers::github::webhook::signature::sign;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::startup::Application;
use serde_json::Value;
use sqlx::Connection;
use tokio::sync::oneshot;

pub const SECRET: &str = "test-webhook-secret";
pub const TOKEN: &str = "test-ingest-token";
/// The secret token of every test server's GitLab webhook (`X-Gitlab-Token`).
pub const GITLAB_SECRET: &str = "test-gitlab-webhook-token";
/// The key sealing secrets at rest on every test server (and the child
/// processes tests start on the same database).
pub const SECRET_KEY: &str = "dGVzdC1zdWl0ZS1zZWNyZXQta2V5LTMyLWJ5dGVzISE=";

/// The API token with the admin role every test server has.
pub const ADMIN_TOKEN: &str = "cicd_test_admin_token_for_the_test_suite";

/// A client that sends [`ADMIN_TOKEN`] on every request.
pub fn admin_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {ADMIN_TOKEN}").parse().expect("header value"),
    );
    reqwest::Client::builder().default_headers(headers).build().expect("client")
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    /// A client without credentials (public reads, signed deliveries).
    pub client: reqwest::Client,
    /// A client sending the test admin token on every request.
    pub admin: reqwest::Client,
    pub database_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

/// Runs each case on SQLite and on PostgreSQL (skipped, saying so, when
/// `CICD_TEST_POSTGRES_URL` is not set).
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn case($app: $crate::helpers::TestApp) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                case($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await.expect("sqlite")).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                    case(app).await
                }
            }
        }
    )*};
}

/// Runs a case on PostgreSQL only (skipped, saying so, without
/// `CICD_TEST_POSTGRES_URL`).
#[macro_export]
macro_rules! on_postgres {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            if let Some($app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await $body
        }
    )*};
}

/// Writes a skip notice straight to the process's stderr (the test
/// harness would hide a passing test's own output), each text once.
pub fn skip_notice(text: &str) {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !seen.iter().any(|s| s == text) {
        seen.push(text.to_owned());
        let _ = writeln!(std::io::stderr(), "{text}");
    }
}

/// A new, empty database on the tests' PostgreSQL server, named `prefix`
/// and a UUID: its name and URL (`None` without `CICD_TEST_POSTGRES_URL`).
pub async fn new_postgres_database(prefix: &str) -> Option<(String, String)> {
    let admin = postgres_admin_url()?;
    let name = format!("{prefix}{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("connect to CICD_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&admin).expect("postgres url");
    url.set_path(&name);
    Some((name, url.to_string()))
}

/// Drops a database [`new_postgres_database`] made, at best (clean-up:
/// a server that went away leaves it behind).
pub async fn drop_postgres_database(name: &str) {
    let Some(admin) = postgres_admin_url() else { return };
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await;
    }
}

/// The PostgreSQL server URL for tests, if configured.
pub fn postgres_admin_url() -> Option<String> {
    static NOTICE: Once = Once::new();
    let url = std::env::var("CICD_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        NOTICE.call_once(|| {
            // Written straight to the process's stderr so the notice shows
            // even though the test harness captures test output.
            let _ = writeln!(
                std::io::stderr(),
                "NOTE: PostgreSQL tests skipped: CICD_TEST_POSTGRES_URL is not set \
                 (e.g. postgres://postgres@127.0.0.1:5432/test); .ci/run sets it"
            );
        });
    }
    url
}

/// A settings value ready for a test server on `database_url`.
pub fn test_settings(database_url: &str) -> ServeSettings {
    let mut settings = ServeSettings::new("127.0.0.1:0".parse().expect("addr"), database_url);
    settings.github_webhook_secret = Some(Secret::from(SECRET));
    settings.gitlab_webhook_secret = Some(Secret::from(GITLAB_SECRET));
    settings.ingest_token = Some(Secret::from(TOKEN));
    settings.secrets.secret_key = Some(Secret::from(SECRET_KEY));
    // Periodic jobs (retention would delete the years-old fixtures) run only
    // where a test turns them on.
    settings.no_worker = true;
    // Alert receivers in tests listen on loopback.
    settings.limits.alert_allow_private_addresses = true;
    // Test insights always recomputed by their reader (exact answers right
    // after an upload) except where a test sets a budget.
    settings.limits.test_insights_recompute_budget_ms = u64::MAX;
    // Alerts: a quick sender, so alert tests take seconds (see alerts_*).
    settings.alerts.alert_poll_ms = 100;
    settings.alerts.alert_retry_base_ms = 200;
    settings.alerts.alert_retry_cap_ms = 1000;
    settings.alerts.alert_max_attempts = 3;
    settings.alerts.alert_send_timeout = 3;
    settings
}

impl TestApp {
    /// Starts a server with the default test settings; `None` when the
    /// backend is PostgreSQL and it is not configured.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts another server (in this process) on `database_url` (the same
    /// database as `owner`'s, perhaps by another route); the database stays
    /// owned by `owner`.
    pub async fn spawn_replica_with(
        _owner: &TestApp,
        database_url: &str,
        adjust: impl FnOnce(&mut ServeSettings),
    ) -> TestApp {
        Self::start(database_url.to_owned(), None, None, adjust).await
    }

    /// Starts a server after `adjust` has changed the settings.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut ServeSettings)) -> Option<TestApp> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        if std::env::var_os("RUST_LOG").is_some() {
            cicd_dashboard::telemetry::init();
        }
        let (database_url, dir, postgres) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let admin = postgres_admin_url()?;
                let (name, url) = new_postgres_database("cicd_test_").await?;
                (url, None, Some((admin, name)))
            }
        };
        Some(Self::start(database_url, dir, postgres, adjust).await)
    }

    async fn start(
        database_url: String,
        dir: Option<tempfile::TempDir>,
        postgres: Option<(String, String)>,
        adjust: impl FnOnce(&mut ServeSettings),
    ) -> TestApp {
        let mut settings = test_settings(&database_url);
        adjust(&mut settings);
        let app = Application::build(&settings).await.expect("application starts");
        // An admin token for tests that use admin routes (`admin`, `get`);
        // a replica on the same database finds it there already.
        let _ = app
            .store()
            .tokens()
            .create_token("test-admin", "admin", &token_hash(ADMIN_TOKEN), chrono::Utc::now())
            .await
            .expect("create the test admin token");
        let addr = app.local_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until(async move {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            admin: admin_client(),
            database_url: database_url.clone(),
            shutdown: Some(tx),
            server: Some(server),
            _dir: dir,
            postgres,
        }
    }

    /// Stops the server (in-flight work finishes, background tasks end)
    /// and waits until it has; the database stays.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// The PostgreSQL server's admin URL and this test's database name
    /// (`None` on SQLite).
    pub fn postgres_database(&self) -> Option<(&str, &str)> {
        self.postgres.as_ref().map(|(admin, name)| (admin.as_str(), name.as_str()))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Posts `body` as GitHub would: signed, with a fresh delivery GUID.
    pub async fn deliver(&self, event: &str, body: &[u8]) -> reqwest::Response {
        self.deliver_as(event, &uuid::Uuid::new_v4().to_string(), body).await
    }

    /// Posts `body` signed, with the given delivery GUID.
    pub async fn deliver_as(&self, event: &str, guid: &str, body: &[u8]) -> reqwest::Response {
        signed_delivery(&self.client, &self.base, event, guid, body).send().await.expect("request sent")
    }

    /// Posts a JSON value (signed) and asserts it was accepted with `outcome`.
    pub async fn deliver_json(&self, event: &str, payload: &Value, outcome: &str) {
        let response = self.deliver(event, &serde_json::to_vec(payload).expect("json")).await;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.expect("json answer");
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["outcome"], outcome, "{answer}");
    }

    /// GET a path as the test admin; answers the status and the JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.admin.get(self.url(path)).send().await.expect("request sent");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// All builds (up to 100), newest first.
    pub async fn builds(&self) -> Vec<Value> {
        let (status, body) = self.get("/api/builds?limit=100").await;
        assert_eq!(status, 200, "{body}");
        body["builds"].as_array().expect("builds array").clone()
    }

    /// The detail of build `id` (with jobs).
    pub async fn build(&self, id: &Value) -> Value {
        let (status, body) = self.get(&format!("/api/builds/{id}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((_, name)) = self.postgres.take() {
            // Drop the test database from a separate thread with its own
            // runtime (Drop cannot await).
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(drop_postgres_database(&name));
            })
            .join();
        }
    }
}

/// Path of a bundled fixture, relative to `tests/fixtures/`.
pub fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

/// Raw bytes of a bundled fixture.
pub fn fixture_bytes(relative: &str) -> Vec<u8> {
    std::fs::read(fixture_path(relative)).unwrap_or_else(|e| panic!("fixture {relative}: {e}"))
}

/// A `cicd-dashboard serve` child process (a replica in another process),
/// killed when dropped.
pub struct ProcessReplica {
    child: std::process::Child,
    pub base: String,
}

impl ProcessReplica {
    /// Starts the real binary on a free port against `database_url` and
    /// waits until `/health` answers 200.
    pub async fn start(database_url: &str) -> ProcessReplica {
        Self::start_with_env(database_url, &[]).await
    }

    /// [`Self::start`] with extra environment variables (settings).
    pub async fn start_with_env(database_url: &str, env: &[(&str, &str)]) -> ProcessReplica {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--database-url", database_url])
            .env("GITHUB_WEBHOOK_SECRET", SECRET)
            .env("CICD_SECRET_KEY", SECRET_KEY)
            .env("RUST_LOG", "warn")
            .env("CICD_ALERT_ALLOW_PRIVATE_ADDRESSES", "true")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start replica process");
        let replica = ProcessReplica { child, base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client.get(format!("{}/health", replica.base)).send().await
                && response.status().is_success()
            {
                return replica;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("replica process did not become healthy");
    }
}

impl Drop for ProcessReplica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts a signed delivery to the server at `base`; answers the status.
pub async fn deliver_to(client: &reqwest::Client, base: &str, event: &str, guid: &str, body: &[u8]) -> u16 {
    signed_delivery(client, base, event, guid, body).send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

/// A delivery request as GitHub sends it: JSON, event, GUID, signature.
pub fn signed_delivery(
    client: &reqwest::Client,
    base: &str,
    event: &str,
    guid: &str,
    body: &[u8],
) -> reqwest::RequestBuilder {
    client
        .post(format!("{base}/api/webhook/github-actions"))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", guid)
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), body))
        .body(body.to_vec())
}

/// Reads Server-Sent Events from `response` until `want` accepts one
/// (`event` name, parsed `data`) or `timeout` passes.
pub async fn wait_for_event(
    response: &mut reqwest::Response,
    timeout: std::time::Duration,
    mut want: impl FnMut(&str, &Value) -> bool,
) -> Option<(String, Value)> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buffer = String::new();
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if let Ok(value) = serde_json::from_str::<Value>(&data)
                && want(&name, &value)
            {
                return Some((name, value));
            }
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk()).await.ok()?.ok()??;
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// Every build with its jobs (row ids removed unless `keep_ids`), ordered by
/// run id and attempt.
pub async fn snapshot(app: &TestApp, keep_ids: bool) -> Vec<Value> {
    let mut builds = Vec::new();
    let mut offset = 0;
    loop {
        let (_, page) = app.get(&format!("/api/builds?limit=100&offset={offset}")).await;
        let batch = page["builds"].as_array().expect("builds").clone();
        offset += batch.len();
        for build in batch {
            let mut detail = app.build(&build["id"]).await;
            if !keep_ids {
                detail.as_object_mut().expect("object").remove("id");
                for job in detail["jobs"].as_array_mut().expect("jobs") {
                    job.as_object_mut().expect("object").remove("id");
                }
            }
            builds.push(detail);
        }
        if page["has_more"] != true {
            break;
        }
    }
    builds.sort_by_key(|b| (b["external_id"].as_str().unwrap_or("").to_owned(), b["run_attempt"].as_i64()));
    builds
}
