//! Authentication of `POST /api/webhook/github-actions`.

use cicd_dashboard::providers::github::webhook::signature::sign;
use serde_json::Value;

use crate::helpers::{Backend, SECRET, TOKEN, TestApp, fixture_bytes};
use crate::on_both_backends;

const FILE: &str = "github/webhooks/workflow_run.completed.json";

async fn post(app: &TestApp, headers: &[(&str, String)], body: Vec<u8>) -> (u16, Value, String) {
    let mut request = app
        .client
        .post(app.url("/api/webhook/github-actions"))
        .header("content-type", "application/json")
        .header("x-github-event", "workflow_run")
        .header("x-github-delivery", uuid::Uuid::new_v4().to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.body(body).send().await.expect("sent");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    (status, response.json().await.unwrap_or(Value::Null), content_type)
}

on_both_backends! {
    async fn missing_wrong_and_sha1_only_signatures_are_401_and_store_nothing(app: TestApp) {
        let body = fixture_bytes(FILE);
        let wrong = sign(b"not-the-secret", &body);
        let cases: Vec<Vec<(&str, String)>> = vec![
            vec![],
            vec![("x-hub-signature-256", wrong)],
            vec![("x-hub-signature-256", "sha256=".to_owned())],
            vec![("x-hub-signature-256", "garbage".to_owned())],
            vec![("x-hub-signature", "sha1=0123456789abcdef0123456789abcdef01234567".to_owned())],
            vec![("authorization", "Bearer wrong-token".to_owned())],
        ];
        for headers in cases {
            let (status, problem, content_type) = post(&app, &headers, body.clone()).await;
            assert_eq!(status, 401, "{headers:?}");
            assert_eq!(content_type, "application/problem+json");
            assert_eq!(problem["status"], 401);
            assert!(problem["type"].as_str().is_some_and(|t| !t.is_empty()));
            assert!(problem["title"].is_string() && problem["detail"].is_string(), "{problem}");
        }
        let (_, sha1_only, _) = post(&app, &[("x-hub-signature", "sha1=00".to_owned())], body.clone()).await;
        assert!(sha1_only["detail"].as_str().unwrap_or_default().contains("X-Hub-Signature-256"));
        assert!(app.builds().await.is_empty());
    }

    async fn a_signature_over_other_bytes_fails_even_for_the_same_json(app: TestApp) {
        let body = fixture_bytes(FILE);
        let reformatted = serde_json::to_vec(&serde_json::from_slice::<Value>(&body).expect("json")).expect("json");
        assert_ne!(body, reformatted);
        let signed_for_reformatted = sign(SECRET.as_bytes(), &reformatted);
        let (status, _, _) = post(&app, &[("x-hub-signature-256", signed_for_reformatted)], body).await;
        assert_eq!(status, 401);
    }

    async fn odd_whitespace_and_key_order_verify_over_the_raw_bytes(app: TestApp) {
        let body = b"  {\n\t\"repository\" : {\"full_name\":\"o/odd\"} ,\r\n \"workflow_run\":{ \"status\" :\"completed\",\"conclusion\":\"success\",\n\"id\":  77 ,\"run_started_at\":\"2024-03-01T10:00:00+02:00\",\"updated_at\":\"2024-03-01T08:01:30Z\"},\"action\":\"completed\"   }\n\n".to_vec();
        let (status, answer, _) = post(&app, &[("x-hub-signature-256", sign(SECRET.as_bytes(), &body))], body).await;
        assert_eq!(status, 202, "{answer}");
        let builds = app.builds().await;
        assert_eq!(builds[0]["repo"], "o/odd");
        // 10:00+02:00 is 08:00Z; completed 08:01:30Z → 90 s
        assert_eq!(builds[0]["started_at"], "2024-03-01T08:00:00Z");
        assert_eq!(builds[0]["duration_seconds"], 90);
    }

    async fn a_bearer_ingest_token_is_accepted(app: TestApp) {
        let (status, answer, _) = post(&app, &[("authorization", format!("Bearer {TOKEN}"))], fixture_bytes(FILE)).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["outcome"], "stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_secret_and_no_token_every_delivery_is_refused_with_instructions() {
    let app = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.github_webhook_secret = None;
        settings.ingest_token = None;
    })
    .await
    .expect("app");
    let body = fixture_bytes(FILE);
    let (status, problem, _) =
        post(&app, &[("x-hub-signature-256", sign(SECRET.as_bytes(), &body))], body).await;
    assert_eq!(status, 503);
    assert!(problem["detail"].as_str().unwrap_or_default().contains("GITHUB_WEBHOOK_SECRET"), "{problem}");
    assert!(app.builds().await.is_empty());
}
