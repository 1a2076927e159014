//! Tokens and roles as users meet them: tokens made with the real
//! `cicd-dashboard token` command, then every route × {no token, read,
//! write, admin, revoked, malformed header} against a server whose reads
//! are not public.

use serde_json::Value;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

/// Runs `cicd-dashboard token …` on `database_url`; answers stdout.
fn token_command(database_url: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
        .arg("token")
        .args(args)
        .args(["--database-url", database_url])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run token command");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// Creates a token; answers it (the last line of the command's output).
pub(crate) fn create_token(database_url: &str, name: &str, role: &str) -> String {
    let out = token_command(database_url, &["create", "--name", name, "--role", role]);
    let token = out.lines().last().expect("a line").trim().to_owned();
    assert!(token.starts_with("cicd_") && token.len() == 69, "{out}");
    token
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Needs {
    Public,
    Read,
    Write,
    Admin,
}

/// Every route: method, path, what it needs, and the status an allowed
/// caller gets.
const ROUTES: &[(&str, &str, Needs, u16)] = &[
    ("GET", "/", Needs::Public, 200),
    ("GET", "/assets/js/main.js", Needs::Public, 200),
    ("GET", "/health", Needs::Public, 200),
    ("GET", "/ready", Needs::Public, 200),
    ("GET", "/api/builds", Needs::Read, 200),
    ("GET", "/api/builds/999999", Needs::Read, 404),
    ("GET", "/api/metrics/summary", Needs::Read, 200),
    ("GET", "/api/metrics/health", Needs::Read, 200),
    ("GET", "/api/metrics/timeseries", Needs::Read, 200),
    ("GET", "/api/insights/runners", Needs::Read, 200),
    ("GET", "/api/insights/minutes", Needs::Read, 200),
    ("GET", "/api/insights/flaky", Needs::Read, 200),
    ("GET", "/api/insights/failures", Needs::Read, 200),
    ("GET", "/api/insights/failures/0123456789abcdef", Needs::Read, 404),
    ("GET", "/api/builds/export", Needs::Read, 200),
    ("GET", "/api/providers", Needs::Read, 200),
    ("GET", "/api/repos", Needs::Read, 200),
    ("GET", "/api/events", Needs::Read, 200),
    ("POST", "/api/events/ticket", Needs::Read, 200),
    ("GET", "/metrics", Needs::Read, 200),
    ("POST", "/api/webhook/github-actions", Needs::Write, 200),
    ("POST", "/api/builds/events", Needs::Write, 422),
    ("GET", "/api/audit", Needs::Admin, 200),
    ("GET", "/api/alerts", Needs::Read, 200),
    ("POST", "/api/alerts/999999/ack", Needs::Write, 404),
    ("POST", "/api/alerts/999999/resolve", Needs::Write, 404),
    ("GET", "/api/alerts/configure", Needs::Admin, 200),
    ("POST", "/api/alerts/configure", Needs::Admin, 422),
    ("POST", "/api/alert/test", Needs::Admin, 422),
    ("GET", "/api/dora", Needs::Read, 200),
    ("GET", "/api/dora/timeseries", Needs::Read, 200),
    ("GET", "/api/deployments", Needs::Read, 200),
    ("POST", "/api/incidents", Needs::Write, 422),
    ("GET", "/api/incidents", Needs::Read, 200),
];

async fn call(app: &TestApp, method: &str, path: &str, authorization: Option<&str>) -> u16 {
    let mut request = match method {
        "POST" => app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .header("x-github-event", "ping")
            .header("x-github-delivery", uuid::Uuid::new_v4().to_string())
            .body(r#"{"zen":"Keep it logically awesome."}"#),
        _ => app.client.get(app.url(path)),
    };
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    if status == 401 || status == 403 {
        assert_eq!(
            response.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{method} {path}"
        );
    }
    status
}

on_both_backends! {
    async fn every_route_answers_each_kind_of_caller_as_its_role_says(app: TestApp) {
        let private = TestApp::spawn_replica_with(&app, &app.database_url, |s| s.public_read = Some(false)).await;
        let url = &app.database_url;
        let read = create_token(url, "dashboard-viewer", "read");
        let write = create_token(url, "gitlab-bridge", "write");
        let admin = create_token(url, "ops", "admin");
        let revoked = create_token(url, "old-admin", "admin");
        token_command(url, &["revoke", "old-admin"]);

        let callers: [(&str, Option<String>); 6] = [
            ("none", None),
            ("read", Some(format!("Bearer {read}"))),
            ("write", Some(format!("Bearer {write}"))),
            ("admin", Some(format!("Bearer {admin}"))),
            ("revoked", Some(format!("Bearer {revoked}"))),
            ("malformed", Some(format!("Token {admin}"))),
        ];
        let mut failures = Vec::new();
        for &(method, path, needs, allowed) in ROUTES {
            for (caller, header) in &callers {
                let expected = match (needs, *caller) {
                    (Needs::Public, _) => allowed,
                    (_, "none" | "revoked" | "malformed") => 401,
                    (Needs::Read, _) => allowed,
                    (Needs::Write, "read") => 403,
                    (Needs::Write, _) => allowed,
                    (Needs::Admin, "admin") => allowed,
                    (Needs::Admin, _) => 403,
                };
                let got = call(&private, method, path, header.as_deref()).await;
                if got != expected {
                    failures.push(format!("{method} {path} as {caller}: expected {expected}, got {got}"));
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    async fn reads_are_public_on_loopback_and_tokens_are_audited(app: TestApp) {
        // The default test server binds 127.0.0.1: reads need no token.
        assert_eq!(call(&app, "GET", "/api/builds", None).await, 200);
        assert_eq!(call(&app, "GET", "/api/audit", None).await, 401);

        create_token(&app.database_url, "ops", "admin");
        token_command(&app.database_url, &["revoke", "ops"]);
        let admin = create_token(&app.database_url, "ops", "admin");
        let listed = token_command(&app.database_url, &["list"]);
        assert!(listed.contains("ops") && listed.contains("revoked"), "{listed}");
        assert!(!listed.contains("cicd_"), "tokens are never shown again: {listed}");

        let response = app.client.get(app.url("/api/audit")).bearer_auth(&admin).send().await.expect("audit");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        let actions: Vec<&str> =
            body["entries"].as_array().expect("entries").iter().map(|e| e["action"].as_str().expect("action")).collect();
        assert_eq!(actions, ["token.create", "token.revoke", "token.create"], "{body}");
        assert_eq!(body["entries"][0]["actor"], "cli");
        assert_eq!(body["total"], 3);
        // A duplicate live name is refused; the store keeps one.
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
            .args(["token", "create", "--name", "ops", "--role", "read", "--database-url", &app.database_url])
            .output()
            .expect("run");
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("exists"));
    }
}

on_both_backends! {
    async fn a_stream_ticket_opens_only_the_event_stream(app: TestApp) {
        let private = TestApp::spawn_replica_with(&app, &app.database_url, |s| s.public_read = Some(false)).await;
        let read = create_token(&app.database_url, "wallboard", "read");
        let answer = private.client.post(private.url("/api/events/ticket")).bearer_auth(&read).send().await.expect("ticket");
        assert_eq!(answer.status(), 200);
        let body: Value = answer.json().await.expect("json");
        let ticket = body["ticket"].as_str().expect("ticket").to_owned();
        assert!(body["expires_at"].as_str().expect("expiry").ends_with('Z'));
        assert_ne!(ticket, read, "the ticket is not the token");

        // EventSource-style: no Authorization header, the ticket in the URL.
        let mut stream = private.client.get(private.url(&format!("/api/events?ticket={ticket}"))).send().await.expect("stream");
        assert_eq!(stream.status(), 200);
        let run = crate::payloads::Run::new(515_151, crate::payloads::minutes_ago(3)).at("completed", Some("success"), 30);
        private.deliver_json("workflow_run", &run.payload(), "stored").await;
        let event = crate::helpers::wait_for_event(&mut stream, std::time::Duration::from_secs(5), |name, data| {
            name == "build" && data["external_id"] == "515151"
        })
        .await;
        assert!(event.is_some(), "the ticket-opened stream carries events");

        // Only the stream, and only real tickets.
        let builds = private.client.get(private.url(&format!("/api/builds?ticket={ticket}"))).send().await.expect("builds");
        assert_eq!(builds.status(), 401);
        let forged = private.client.get(private.url("/api/events?ticket=cicd_forged")).send().await.expect("stream");
        assert_eq!(forged.status(), 401);
        let anonymous = private.client.post(private.url("/api/events/ticket")).send().await.expect("ticket");
        assert_eq!(anonymous.status(), 401);
    }
}

#[tokio::test]
async fn a_public_bind_needs_tokens_for_reads_by_default() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.bind = "0.0.0.0:0".parse().expect("addr"))
        .await
        .expect("sqlite");
    let base = app.base.replace("0.0.0.0", "127.0.0.1");
    let status = app.client.get(format!("{base}/api/builds")).send().await.expect("request").status();
    assert_eq!(status, 401);
}
