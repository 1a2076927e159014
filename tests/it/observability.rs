//! `GET /metrics`: Prometheus text with per-route request metrics, webhook
//! outcomes and database pool gauges.

use crate::helpers::fixture_bytes;
use crate::on_both_backends;

on_both_backends! {
    async fn metrics_count_requests_deliveries_and_pools(app: TestApp) {
        app.get("/api/builds").await;
        app.deliver("workflow_run", &fixture_bytes("github/webhooks/workflow_run.completed.json")).await;
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
        assert!(has(&["webhook_ingest_seconds_bucket"]), "{text}");
        assert!(has(&["db_pool_connections{", "pool=\"read\""]), "{text}");
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
        let problem = app.client.get(app.url("/api/builds/0")).send().await.expect("sent");
        assert!(problem.headers().contains_key("x-request-id"), "error answers carry it too");
    }
}
