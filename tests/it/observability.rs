//! `GET /metrics`: Prometheus text with per-route request metrics, webhook
//! outcomes and database pool gauges.

use crate::helpers::fixture_bytes;
use crate::on_both_backends;

on_both_backends! {
    async fn metrics_count_requests_deliveries_and_pools(app: TestApp) {
        app.get("/api/builds").await;
        app.deliver("workflow_run", &fixture_bytes("github/webhooks/workflow_run.completed.json")).await;
        app.deliver("deployment", &fixture_bytes("github/webhooks/deployment.json")).await;
        let bad = app.deliver("workflow_run", b"{broken").await;
        assert_eq!(bad.status().as_u16(), 400);
        let response = app.client.get(app.url("/metrics")).send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap_or("").starts_with("text/plain"));
        let text = response.text().await.expect("text");
        let has = |parts: &[&str]| text.lines().any(|line| parts.iter().all(|p| line.contains(p)));
        assert!(has(&["http_requests_total{", "route=\"/api/builds\"", "status=\"200\""]), "{text}");
        assert!(has(&["http_request_duration_seconds_bucket{", "route=\"/api/builds\""]), "{text}");
        assert!(has(&["webhook_deliveries_total{", "event=\"workflow_run\"", "outcome=\"stored\""]), "{text}");
        assert!(has(&["webhook_deliveries_total{", "outcome=\"invalid-payload\""]), "{text}");
        assert!(has(&["webhook_deliveries_total{", "event=\"deployment\"", "outcome=\"stored\""]), "{text}");
        assert!(has(&["webhook_ingest_seconds_bucket"]), "{text}");
        assert!(has(&["db_pool_connections{", "pool=\"read\""]), "{text}");
        // Every status has a 24-hour gauge (values are process-wide, so
        // other tests' servers may have written them last).
        for status in ["success", "failed", "running", "queued", "cancelled"] {
            assert!(has(&["builds_last_24h{", &format!("status=\"{status}\"")]), "{text}");
        }
    }
}

on_both_backends! {
    async fn ready_reports_database_and_migrations(app: TestApp) {
        let (status, body) = app.get("/ready").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["ready"], true);
        assert_eq!(body["database"], "connected");
        assert_eq!(body["migrations"]["applied"], body["migrations"]["expected"]);
        assert!(body["migrations"]["expected"].as_i64().unwrap_or(0) >= 2);
    }

    async fn request_ids_are_echoed_or_made(app: TestApp) {
        let given = app.client.get(app.url("/health")).header("x-request-id", "trace-me-42").send().await.expect("sent");
        assert_eq!(given.headers()["x-request-id"], "trace-me-42");
        let made = app.client.get(app.url("/api/builds")).send().await.expect("sent");
        let id = made.headers()["x-request-id"].to_str().expect("ascii").to_owned();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        // An id too long for a log line is replaced by a UUID.
        let long = "x".repeat(5_000);
        let replaced = app.client.get(app.url("/health")).header("x-request-id", &long).send().await.expect("sent");
        assert_eq!(replaced.headers()["x-request-id"].len(), 36);
        let problem = app.client.get(app.url("/api/builds/0")).send().await.expect("sent");
        assert!(problem.headers().contains_key("x-request-id"), "error answers carry it too");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--log-format", "json", "--no-worker"])
        .args(["--database-url", &format!("sqlite://{}", dir.path().join("db.sqlite").display())])
        .env("RUST_LOG", "info,tower_http=debug")
        .env_remove("GITHUB_WEBHOOK_SECRET")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    // Killed even if an assertion below fails first.
    struct KillOnDrop(Option<std::process::Child>);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            if let Some(child) = self.0.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
    let mut guard = KillOnDrop(Some(child));
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "server started");
    client.get(format!("{base}/api/builds")).header("x-request-id", "json-log-7").send().await.expect("sent");
    let mut child = guard.0.take().expect("child");
    let _ = child.kill();
    let output = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<serde_json::Value> = stderr.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty() && lines.len() == stderr.lines().count(), "every line is JSON:\n{stderr}");
    assert!(
        lines.iter().any(|l| l["span"]["request_id"] == "json-log-7" && l["span"]["route"] == "/api/builds"),
        "{stderr}"
    );
}

/// `rate_limited_total{budget}` counted exactly: a separate server process
/// (its own metrics recorder, which this test binary's other servers share
/// with each other) with an API budget of 5 requests a minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_total_counts_each_refused_request() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("limits.db").display());
    let replica = crate::helpers::ProcessReplica::start_with_env(&url, &[("CICD_API_RATE_LIMIT", "5")]).await;
    let from = |ip: [u8; 4]| {
        reqwest::Client::builder().local_address(std::net::IpAddr::from(ip)).build().expect("client")
    };
    let (busy, scraper) = (from([127, 0, 0, 2]), from([127, 0, 0, 3]));
    let mut refused = 0;
    for _ in 0..7 {
        let status = busy.get(format!("{}/api/builds", replica.base)).send().await.expect("sent").status();
        refused += usize::from(status.as_u16() == 429);
    }
    // By hand: 5 a minute (a burst of 5, then one every 12 s) admits the
    // first 5 of 7 quick requests and refuses 2; the scraper has its own budget.
    assert_eq!(refused, 2);
    let text = scraper
        .get(format!("{}/metrics", replica.base))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    assert!(text.lines().any(|line| line == r#"rate_limited_total{budget="api"} 2"#), "{text}");
    assert!(!text.contains(r#"rate_limited_total{budget="webhook"}"#), "{text}");
}
