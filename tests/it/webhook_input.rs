//! Bad and odd input to the webhook endpoint: clear 4xx problem answers, no
//! 500, nothing stored or corrupted.

use cicd_dashboard::providers::github::webhook::signature::sign;
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, fixture_bytes};
use crate::on_both_backends;

async fn post_raw(app: &TestApp, event: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/webhook/github-actions"))
        .header("content-type", content_type)
        .header("x-github-event", event)
        .header("x-github-delivery", uuid::Uuid::new_v4().to_string())
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), &body))
        .body(body)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

on_both_backends! {
    async fn ping_is_200_and_stores_nothing(app: TestApp) {
        let response = app.deliver("ping", &fixture_bytes("github/webhooks/ping.json")).await;
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value = response.json().await.expect("json");
        assert_eq!(answer["event"], "ping");
        assert!(app.builds().await.is_empty());
    }

    async fn other_events_are_202_ignored(app: TestApp) {
        for (event, file) in [("push", "github/webhooks/push.json"), ("check_run", "github/webhooks/check_run.completed.json"), ("check_suite", "github/webhooks/check_suite.requested.json")] {
            let response = app.deliver(event, &fixture_bytes(file)).await;
            assert_eq!(response.status().as_u16(), 202);
            let answer: Value = response.json().await.expect("json");
            assert_eq!(answer["outcome"], "ignored", "{event}");
        }
        assert!(app.builds().await.is_empty());
    }

    async fn unusable_payloads_are_400_problems(app: TestApp) {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("workflow_run", b"{not json".to_vec()),
            ("workflow_run", b"".to_vec()),
            ("workflow_run", br#"{"action":"completed","workflow_run":null,"repository":{"full_name":"o/r"}}"#.to_vec()),
            ("workflow_run", br#"{"action":"completed","repository":{"full_name":"o/r"}}"#.to_vec()),
            ("workflow_run", br#"{"workflow_run":{"id":1,"status":"completed"}}"#.to_vec()),
            ("workflow_run", br#"{"workflow_run":{"id":"one","status":"completed"},"repository":{"full_name":"o/r"}}"#.to_vec()),
            ("workflow_run", br#"{"workflow_run":{"id":1,"status":"completed","updated_at":"yesterday"},"repository":{"full_name":"o/r"}}"#.to_vec()),
            ("workflow_run", br#"{"workflow_run":{"id":1,"status":"completed","run_attempt":0},"repository":{"full_name":"o/r"}}"#.to_vec()),
            ("workflow_job", br#"{"action":"queued","workflow_job":null,"repository":{"full_name":"o/r"}}"#.to_vec()),
            ("workflow_job", br#"{"workflow_job":{"id":5,"status":"queued"},"repository":{"full_name":"o/r"}}"#.to_vec()),
            ("workflow_run", b"[1,2,3]".to_vec()),
        ];
        for (event, body) in cases {
            let text = String::from_utf8_lossy(&body).into_owned();
            let (status, problem) = post_raw(&app, event, "application/json", body).await;
            assert_eq!(status, 400, "{text}: {problem}");
            assert_eq!(problem["status"], 400);
            assert!(!problem["detail"].as_str().unwrap_or_default().is_empty());
        }
        assert!(app.builds().await.is_empty());
    }

    async fn nul_characters_are_refused_not_stored_half(app: TestApp) {
        // A NUL (valid JSON as \u0000) in a text field: PostgreSQL cannot
        // store it and no provider sends it; the delivery is a 400.
        let body = br#"{"action":"completed","workflow_run":{"id":9,"status":"completed","head_branch":"a\u0000b"},"repository":{"full_name":"o/r"}}"#.to_vec();
        let (status, problem) = post_raw(&app, "workflow_run", "application/json", body).await;
        assert_eq!(status, 400, "{problem}");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("NUL"), "{problem}");
        assert!(app.builds().await.is_empty());
        // In a query string: 422 naming the parameter.
        let (status, problem) = app.get("/api/builds?branch=a%00b").await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("branch"), "{problem}");
    }

    async fn a_rejected_guid_can_be_redelivered_once_fixed(app: TestApp) {
        let bad = br#"{"workflow_run":null}"#.to_vec();
        let response = app.deliver_as("workflow_run", "redeliver-me", &bad).await;
        assert_eq!(response.status().as_u16(), 400);
        let good = fixture_bytes("github/webhooks/workflow_run.completed.json");
        let response = app.deliver_as("workflow_run", "redeliver-me", &good).await;
        assert_eq!(response.status().as_u16(), 202);
        let answer: Value = response.json().await.expect("json");
        assert_eq!(answer["outcome"], "stored");
        assert_eq!(app.builds().await.len(), 1);
    }

    async fn wrong_content_type_is_415(app: TestApp) {
        let body = fixture_bytes("github/webhooks/workflow_run.completed.json");
        let form = format!("payload={}", url::form_urlencoded::byte_serialize(&body).collect::<String>()).into_bytes();
        let (status, problem) = post_raw(&app, "workflow_run", "application/x-www-form-urlencoded", form).await;
        assert_eq!(status, 415, "{problem}");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("application/json"));
        let (status, _) = post_raw(&app, "workflow_run", "application/json; charset=utf-8", body).await;
        assert_eq!(status, 202);
    }

    async fn a_body_over_25_mib_is_413(app: TestApp) {
        // Sent chunked (no Content-Length, so the size shows only while
        // reading; a declared size is refused before reading, see
        // `hostile_clients`), 1 MiB at a time, signed over the whole body.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut body = b"{\"pad\":\"".to_vec();
        body.resize(25 * 1024 * 1024 + 10, b'a');
        body.extend_from_slice(b"\"}");
        let addr = app.base.trim_start_matches("http://").to_owned();
        let stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let head = format!(
            "POST /api/webhook/github-actions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             X-GitHub-Event: workflow_run\r\nX-GitHub-Delivery: {}\r\nX-Hub-Signature-256: {}\r\n\
             Transfer-Encoding: chunked\r\n\r\n",
            uuid::Uuid::new_v4(),
            sign(SECRET.as_bytes(), &body)
        );
        let upload = tokio::spawn(async move {
            writer.write_all(head.as_bytes()).await?;
            for chunk in body.chunks(1024 * 1024) {
                writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
                writer.write_all(chunk).await?;
                writer.write_all(b"\r\n").await?;
            }
            writer.write_all(b"0\r\n\r\n").await
        });
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(60), reader.read_to_end(&mut answer)).await;
        let _ = upload.await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        let problem: Value = serde_json::from_str(&answer[answer.find("\r\n\r\n").expect("head") + 4..]).expect("json");
        assert_eq!(problem["status"], 413);
        assert!(app.builds().await.is_empty());
    }

    async fn missing_delivery_headers_are_400(app: TestApp) {
        let body = fixture_bytes("github/webhooks/workflow_run.completed.json");
        let response = app
            .client
            .post(app.url("/api/webhook/github-actions"))
            .header("content-type", "application/json")
            .header("x-github-event", "workflow_run")
            .header("x-hub-signature-256", sign(SECRET.as_bytes(), &body))
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 400);
        let problem: Value = response.json().await.expect("json");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("x-github-delivery"), "{problem}");
    }

    async fn api_errors_are_problem_json(app: TestApp) {
        for (path, status) in [
            ("/api/builds?limit=0", 422),
            ("/api/builds?limit=101", 422),
            ("/api/builds?limit=ten", 422),
            ("/api/builds?offset=-1", 422),
            ("/api/builds?status=green", 422),
            ("/api/builds?provider=hudson", 422),
            ("/api/metrics/summary?window_days=0", 422),
            ("/api/metrics/summary?window_days=366", 422),
            ("/api/builds/999999", 404),
            ("/api/builds/not-a-number", 404),
            ("/api/nothing-here", 404),
            // A leading `+` (`%2B`; a bare `+` in a query is a space, and
            // values are trimmed) is not a plain integer.
            ("/api/metrics/summary?window_days=%2B7", 422),
            ("/api/insights/jobs?window_days=%2B7", 422),
            ("/api/builds?limit=%2B5", 422),
            ("/api/builds/+1", 404),
            // A path segment that is not UTF-8 once decoded names nothing.
            ("/api/builds/%FF", 404),
            ("/api/builds/%FF/tests", 404),
            ("/api/insights/jobs/%FF", 404),
            ("/api/insights/tests/%C3%28", 404),
            ("/api/insights/failures/%FF", 404),
        ] {
            let (got, problem) = app.get(path).await;
            assert_eq!(got, status, "{path}: {problem}");
            assert_eq!(problem["status"], json!(status), "{path}");
            assert!(problem["title"].is_string() && problem["detail"].is_string(), "{path}");
        }
        let response = app.client.delete(app.url("/api/builds")).send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 405);
    }
}
