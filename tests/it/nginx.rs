//! The shipped `deploy/nginx.conf`, run by the real nginx (ports and paths
//! rewritten to a temp folder) in front of the real server: the page, the
//! API, a signed webhook and the live event stream work through it, and
//! the rate limit sees each client's own address (clients connect from
//! different loopback addresses; nginx appends them to X-Forwarded-For and
//! the server trusts only nginx). Without nginx the test says it skipped,
//! except under `CI=true` (`.ci/run` installs Debian's nginx), where it
//! fails.

use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{TestApp, fixture_bytes, signed_delivery, wait_for_event};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

fn nginx_binary() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nginx is not installed, and under CI=true this test must run (.ci/run installs it)"
        );
        crate::helpers::skip_notice(
            "NOTE: nginx test skipped: nginx is not installed (apt-get install nginx-light)",
        );
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port()
}

/// The shipped config with its port, upstream and paths pointed at `dir`.
fn rewritten_config(dir: &Path, port: u16, upstream: &str) -> String {
    let shipped =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx.conf"))
            .expect("deploy/nginx.conf");
    let dir = dir.display();
    let replacements = [
        ("listen 80;", format!("listen 127.0.0.1:{port};")),
        ("server dashboard:8000", format!("server {upstream}")),
        ("pid /var/run/nginx.pid;", format!("pid {dir}/nginx.pid;")),
        ("worker_processes auto;", "worker_processes 1;".to_owned()),
        ("access_log /var/log/nginx/access.log;", format!("access_log {dir}/access.log;")),
        ("error_log /var/log/nginx/error.log warn;", format!("error_log {dir}/error.log warn;")),
        (
            "http {\n",
            format!(
                "http {{\n    client_body_temp_path {dir}/body;\n    proxy_temp_path {dir}/proxy;\n    \
                 fastcgi_temp_path {dir}/fastcgi;\n    uwsgi_temp_path {dir}/uwsgi;\n    scgi_temp_path {dir}/scgi;\n"
            ),
        ),
    ];
    let mut config = shipped;
    for (from, to) in replacements {
        assert!(config.contains(from), "deploy/nginx.conf no longer contains {from:?}");
        config = config.replacen(from, &to, 1);
    }
    config
}

struct Nginx {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    /// SIGTERM, nginx's fast shutdown: the master stops its workers and
    /// waits for them before it exits (a SIGKILL of the master would leave
    /// the workers running, still listening). SIGKILL only if that fails.
    fn drop(&mut self) {
        let terminated = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());
        if !terminated {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

async fn start_nginx(binary: &Path, upstream: &str) -> Nginx {
    let dir = tempfile::tempdir().expect("tempdir");
    // nginx's workers may run as another user: let them use the folder.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    }
    let port = free_port();
    let config = dir.path().join("nginx.conf");
    std::fs::write(&config, rewritten_config(dir.path(), port, upstream)).expect("write config");
    let test = Command::new(binary)
        .args(["-t", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(&config)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .output()
        .expect("nginx -t");
    assert!(
        test.status.success(),
        "the shipped config is invalid: {}",
        String::from_utf8_lossy(&test.stderr)
    );
    let child = Command::new(binary)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&config)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nginx");
    let nginx = Nginx { child, base: format!("http://127.0.0.1:{port}"), _dir: dir };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(response) = client.get(format!("{}/health", nginx.base)).send().await
            && response.status().is_success()
        {
            return nginx;
        }
        assert!(Instant::now() < deadline, "nginx did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A client whose connections come from `source` (a loopback address).
fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(source.parse::<IpAddr>().expect("ip")).build().expect("client")
}

on_both_backends! {
    async fn the_shipped_nginx_config_serves_page_api_webhook_and_live_stream(app: TestApp) {
        let Some(binary) = nginx_binary() else { return };
        let server = TestApp::spawn_replica_with(&app, &app.database_url, |s| {
            s.trusted_proxies = vec!["127.0.0.1".into()];
            s.api_rate_limit = 5;
        })
        .await;
        let upstream = server.base.trim_start_matches("http://").to_owned();
        let nginx = start_nginx(&binary, &upstream).await;
        let base = nginx.base.as_str();
        let client = reqwest::Client::new();

        // The page, compressed.
        let page = client.get(format!("{base}/")).send().await.expect("page");
        assert_eq!(page.status(), 200);
        assert!(page.headers()["content-type"].to_str().expect("type").starts_with("text/html"));
        let script = client
            .get(format!("{base}/assets/js/main.js"))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("script");
        assert_eq!(script.headers().get("content-encoding").map(|v| v.as_bytes()), Some(&b"gzip"[..]));

        // The live stream passes through unbuffered: a delivery posted
        // through nginx reaches a subscriber connected through nginx.
        let mut stream = client_from("127.0.0.4").get(format!("{base}/api/events")).send().await.expect("stream");
        assert_eq!(stream.status(), 200);
        let run = Run::new(424_242, minutes_ago(5)).at("completed", Some("success"), 60);
        let body = serde_json::to_vec(&run.payload()).expect("payload");
        let delivered = signed_delivery(&client, base, "workflow_run", "nginx-delivery-1", &body).send().await.expect("post");
        assert_eq!(delivered.status(), 202);
        let request_id = delivered.headers()["x-request-id"].to_str().expect("id").to_owned();
        assert_eq!(request_id.len(), 32, "nginx's $request_id reaches the app and comes back: {request_id}");
        let event = wait_for_event(&mut stream, Duration::from_secs(5), |name, data: &Value| {
            name == "build" && data["external_id"] == "424242"
        })
        .await;
        assert!(event.is_some(), "the event did not come through nginx in time");
        // A real recorded payload too.
        let fixture = fixture_bytes("github/recorded/webhooks/workflow_run.completed.json");
        let status = signed_delivery(&client, base, "workflow_run", "nginx-delivery-2", &fixture).send().await.expect("post").status();
        assert_eq!(status, 202);

        // The API, and the rate limit per real client address.
        let alice = client_from("127.0.0.2");
        let bob = client_from("127.0.0.3");
        for _ in 0..5 {
            let answer = alice.get(format!("{base}/api/builds")).send().await.expect("builds");
            assert_eq!(answer.status(), 200);
        }
        let limited = alice.get(format!("{base}/api/builds")).header("x-forwarded-for", "198.51.100.1").send().await.expect("builds");
        assert_eq!(limited.status(), 429, "a forged X-Forwarded-For does not buy a new budget");
        assert!(limited.headers().contains_key("retry-after"));
        let page: Value = bob.get(format!("{base}/api/builds")).send().await.expect("builds").json().await.expect("json");
        assert_eq!(page["total"], 2, "another client is not limited: {page}");

        // Request size limits: 2 MB outside the webhook.
        let big = vec![b'x'; 3 * 1024 * 1024];
        let too_big = client.post(format!("{base}/api/builds")).body(big).send().await.expect("post").status();
        assert_eq!(too_big, 413);
    }
}
