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
