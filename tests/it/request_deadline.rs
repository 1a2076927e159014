//! The request deadline over raw HTTP: a request not answered within
//! `--request-timeout` gets a 408 problem, while a test-result upload may
//! take up to `--upload-timeout` and is stored.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{ADMIN_TOKEN, Backend, TestApp, fixture_bytes};
use crate::test_results::QUERY;

/// Bound on every wait, so a hang fails instead of blocking the suite.
const PATIENCE: Duration = Duration::from_secs(30);

/// Sends `head` and the first half of `body`, waits `pause`, sends the
/// rest; answers the response's status line and body.
async fn post_slowly(addr: &str, head: String, body: &[u8], pause: Duration) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    let half = body.len() / 2;
    stream.write_all(&body[..half]).await.expect("first half");
    tokio::time::sleep(pause).await;
    // The server may have answered and closed already; that is the answer.
    let _ = stream.write_all(&body[half..]).await;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut buffer)).await.expect("answered in time") {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, rest)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|line| {
                line.to_ascii_lowercase().strip_prefix("content-length:").and_then(|v| v.trim().parse().ok())
            });
            if length.is_some_and(|length: usize| rest.len() >= length) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.lines().next().unwrap_or_default().to_owned(), rest.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_get_a_408_problem_but_uploads_have_longer() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.request_timeout = 1;
        s.limits.upload_timeout = 20;
    })
    .await
    .expect("sqlite");
    let addr = app.base.trim_start_matches("http://").to_owned();
    let report = fixture_bytes("junit/pytest.skipped.xml");
    let head = |path: &str, length: usize| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
             Content-Type: application/xml\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
        )
    };
    // A build event whose body takes 3 s: cut off at 1 s with a problem.
    let event = br#"{"provider":"generic","repo":"octo/app","run_id":"1","status":"queued"}"#;
    let (status, body) =
        post_slowly(&addr, head("/api/builds/events", event.len()), event, Duration::from_secs(3)).await;
    assert!(status.contains(" 408 "), "{status}: {body}");
    let problem: serde_json::Value = serde_json::from_str(&body).expect("problem JSON");
    assert_eq!(problem["status"], 408, "{problem}");
    assert_eq!(problem["type"], "urn:cicd-dashboard:problem:request-timeout", "{problem}");
    // The same pace for an upload stays within its own deadline: stored.
    let path = format!("/api/test-results?{QUERY}");
    let (status, body) = post_slowly(&addr, head(&path, report.len()), &report, Duration::from_secs(3)).await;
    assert!(status.contains(" 201 "), "{status}: {body}");
    // Readable afterwards, and other requests are still answered at once.
    let health = app.client.get(app.url("/health")).send().await.expect("health");
    assert_eq!(health.status(), 200);
}
