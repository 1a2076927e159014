//! What floods, oversized bodies and slow or silent connections meet: signed
//! deliveries are never refused for their number, failures are; bodies are
//! refused before they are read; the memory for bodies is bounded; slow and
//! silent connections are closed; `/health` answers once a slot frees.

use std::time::Duration;

use cicd_dashboard::providers::github::webhook::signature::sign;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, SECRET, TestApp};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

/// Generous bound on waits that end by the server's own timeouts (1 s in
/// these tests): a hang fails the test instead of blocking the suite.
const PATIENCE: Duration = Duration::from_secs(30);

/// The response head of a raw request: everything up to the blank line.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(PATIENCE, stream.read(&mut byte)).await.expect("answered in time") {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads until the server closes the connection (EOF or reset); false if
/// it answered bytes instead or stayed open past [`PATIENCE`].
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 256];
    match tokio::time::timeout(PATIENCE, stream.read(&mut buffer)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

/// Headers of a webhook POST declaring `length` body bytes.
fn webhook_head(addr: &str, length: usize, extra: &str) -> String {
    format!(
        "POST /api/webhook/github-actions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         X-GitHub-Event: workflow_run\r\nX-GitHub-Delivery: {}\r\n\
         X-Hub-Signature-256: sha256={}\r\nContent-Length: {length}\r\n{extra}\r\n",
        uuid::Uuid::new_v4(),
        "0".repeat(64)
    )
}

fn host(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

on_both_backends! {
    async fn signed_deliveries_beyond_the_budget_are_all_stored_failures_get_429(app: TestApp) {
        // The test's own address is a trusted proxy, so X-Forwarded-For
        // names the client, as behind nginx.
        let server = TestApp::spawn_replica_with(&app, &app.database_url, |s| {
            s.webhook_rate_limit = 3;
            s.trusted_proxies = vec!["127.0.0.1/32".into()];
        })
        .await;
        let post = |client: &'static str, body: Vec<u8>, signature: String| {
            server
                .client
                .post(server.url("/api/webhook/github-actions"))
                .header("x-forwarded-for", client)
                .header("content-type", "application/json")
                .header("x-github-event", "workflow_run")
                .header("x-github-delivery", uuid::Uuid::new_v4().to_string())
                .header("x-hub-signature-256", signature)
                .body(body)
                .send()
        };
        // Ten signed deliveries from one client, over a budget of 3.
        for id in 0..10 {
            let body = serde_json::to_vec(&Run::new(5100 + id, minutes_ago(30)).payload()).expect("json");
            let signature = sign(SECRET.as_bytes(), &body);
            assert_eq!(post("203.0.113.20", body, signature).await.expect("sent").status(), 202);
        }
        assert_eq!(server.builds().await.len(), 10);
        // Failed signatures from another client: 3 are answered 401, then 429.
        let body = serde_json::to_vec(&Run::new(5200, minutes_ago(30)).payload()).expect("json");
        let forged = sign(b"not-the-secret", &body);
        for _ in 0..3 {
            assert_eq!(post("203.0.113.21", body.clone(), forged.clone()).await.expect("sent").status(), 401);
        }
        let limited = post("203.0.113.21", body.clone(), forged.clone()).await.expect("sent");
        assert_eq!(limited.status(), 429);
        let retry: u64 = limited.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(limited.headers()["content-type"], "application/problem+json");
        let problem: Value = limited.json().await.expect("json");
        assert_eq!(problem["status"], 429);
        // An unsigned request from that client is refused too, before its body is read.
        let unsigned = server
            .client
            .post(server.url("/api/webhook/github-actions"))
            .header("x-forwarded-for", "203.0.113.21")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("sent");
        assert_eq!(unsigned.status(), 429);
        assert!(unsigned.headers().contains_key("retry-after"));
        // The verified sender is unaffected and nothing forged was stored.
        let body = serde_json::to_vec(&Run::new(5300, minutes_ago(30)).payload()).expect("json");
        let signature = sign(SECRET.as_bytes(), &body);
        assert_eq!(post("203.0.113.20", body, signature).await.expect("sent").status(), 202);
        assert_eq!(server.builds().await.len(), 11);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_declared_over_the_limit_is_413_before_it_is_sent() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let mut stream = TcpStream::connect(host(&app)).await.expect("connect");
    // Headers only: not one byte of the declared 30 MiB follows.
    stream.write_all(webhook_head(&host(&app), 30 * 1024 * 1024, "").as_bytes()).await.expect("write");
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/problem+json"), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_memory_budget_get_503_not_memory() {
    // A budget of 26 MiB (the least is one 25 MiB body).
    let app =
        TestApp::spawn_with(Backend::Sqlite, |s| s.limits.webhook_body_budget = 26).await.expect("sqlite");
    let addr = host(&app);
    // A client declares 20 MiB and holds it: `100 Continue` shows that the
    // server took its share of the budget and is waiting for the body.
    let mut holder = TcpStream::connect(&addr).await.expect("connect");
    let declared = 20 * 1024 * 1024;
    holder
        .write_all(webhook_head(&addr, declared, "Expect: 100-continue\r\n").as_bytes())
        .await
        .expect("write");
    let head = read_head(&mut holder).await;
    assert!(head.starts_with("HTTP/1.1 100"), "{head}");
    // Another 10 MiB does not fit in what is left: 503 with Retry-After,
    // answered before its body is sent.
    let mut second = TcpStream::connect(&addr).await.expect("connect");
    second.write_all(webhook_head(&addr, 10 * 1024 * 1024, "").as_bytes()).await.expect("write");
    let head = read_head(&mut second).await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert!(head.to_ascii_lowercase().contains("retry-after: "), "{head}");
    // The holder sends its (forged) body and is answered; its share is back.
    holder.write_all(&vec![b' '; declared]).await.expect("write body");
    let head = read_head(&mut holder).await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    let mut body = serde_json::to_vec(&Run::new(5400, minutes_ago(30)).payload()).expect("json");
    body.resize(body.len() + 10 * 1024 * 1024, b' ');
    let response = app.deliver("workflow_run", &body).await;
    assert_eq!(response.status(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_silent_and_idle_connections_are_closed() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |s| s.limits.header_read_timeout = 1).await.expect("sqlite");
    let addr = host(&app);
    // Silent: connects and sends nothing.
    let mut silent = TcpStream::connect(&addr).await.expect("connect");
    assert!(closed_by_server(&mut silent).await, "a silent connection stays open");
    // Slow: a header line every 200 ms, never the blank line that ends them.
    let slow = TcpStream::connect(&addr).await.expect("connect");
    let (mut reader, mut writer) = slow.into_split();
    writer.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    let trickle = tokio::spawn(async move {
        for i in 0..150 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes()).await.is_err() {
                return true;
            }
        }
        false
    });
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(PATIENCE, reader.read(&mut buffer)).await.expect("closed in time");
    assert!(matches!(read, Ok(0) | Err(_)), "a slow-header client was answered instead of closed: {read:?}");
    trickle.abort();
    // Idle: one request answered, then nothing; the keep-alive ends.
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    idle.write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await.expect("write");
    let head = read_head(&mut idle).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse().ok())
        .expect("content-length");
    let mut answer = vec![0u8; length];
    idle.read_exact(&mut answer).await.expect("body");
    assert!(closed_by_server(&mut idle).await, "an idle keep-alive connection stays open");
    // The server still answers.
    assert_eq!(app.client.get(app.url("/health")).send().await.expect("health").status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_limit_health_answers_once_a_slot_frees() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.max_connections = 2;
        s.limits.header_read_timeout = 1;
    })
    .await
    .expect("sqlite");
    let addr = host(&app);
    // Both slots taken by connections that send nothing.
    let mut holders = Vec::new();
    for _ in 0..2 {
        holders.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // A new client's request waits in the listen queue and is answered
    // once the header timeout closes a silent connection.
    let client = reqwest::Client::builder().timeout(PATIENCE).build().expect("client");
    let health = client.get(app.url("/health")).send().await.expect("health answered");
    assert_eq!(health.status(), 200);
    for mut holder in holders {
        assert!(closed_by_server(&mut holder).await);
    }
}
