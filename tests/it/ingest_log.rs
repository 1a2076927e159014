//! A GitLab webhook pointed at a dashboard without `GITLAB_WEBHOOK_SECRET`
//! (and without `CICD_INGEST_TOKEN`): every delivery is answered 503
//! `ingest-not-configured`, and the real binary's log says so once at WARN
//! — no ERROR line per request.

use std::time::Duration;

use crate::helpers::admin_client;

#[tokio::test]
async fn a_missing_gitlab_secret_is_one_warning_not_an_error_per_delivery() {
    let dir = tempfile::tempdir().expect("dir");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let database = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--database-url", &database])
        .env("GITHUB_WEBHOOK_SECRET", "only-github-is-configured")
        .env_remove("GITLAB_WEBHOOK_SECRET")
        .env_remove("CICD_INGEST_TOKEN")
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().expect("clone"))
        .stderr(log)
        .spawn()
        .expect("start the binary");
    let base = format!("http://127.0.0.1:{port}");
    let client = admin_client();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server started");
    for n in 0..3 {
        let answer = reqwest::Client::new()
            .post(format!("{base}/api/webhook/gitlab"))
            .header("X-Gitlab-Event", "Pipeline Hook")
            .header("X-Gitlab-Token", "anything")
            .header("Idempotency-Key", format!("key-{n}"))
            .body("{}")
            .send()
            .await
            .expect("sent");
        assert_eq!(answer.status().as_u16(), 503);
        let problem: serde_json::Value = answer.json().await.expect("json");
        assert_eq!(problem["type"], "urn:cicd-dashboard:problem:ingest-not-configured");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).expect("log");
    let refusals: Vec<&str> = text.lines().filter(|l| l.contains("webhook deliveries are refused")).collect();
    assert_eq!(refusals.len(), 1, "one line for three refusals:\n{text}");
    assert!(refusals[0].contains("WARN") && refusals[0].contains("GITLAB_WEBHOOK_SECRET"), "{}", refusals[0]);
    assert!(!text.lines().any(|l| l.contains("ERROR")), "no ERROR line:\n{text}");
}
