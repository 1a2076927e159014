//! A provider's timestamp out of range (before 2000, or more than a day
//! ahead: a zeroed or runaway clock) does not refuse the delivery: the rest
//! of it is stored, the field is stored as null (no build of centuries), and
//! the delivery log's `error` says `warning: …` naming the field. Real
//! fixture payloads, edited to carry the bad time.

use serde_json::Value;
use sqlx::Row;

use crate::gitlab_payloads::post;
use crate::helpers::{GITLAB_SECRET, TestApp, fixture_bytes};
use crate::on_both_backends;

/// The stored outcome and error of the delivery `guid`.
async fn delivery(app: &TestApp, guid: &str) -> (String, String) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.expect("connect");
    let row = sqlx::query("SELECT outcome, error FROM webhook_deliveries WHERE guid = $1")
        .bind(guid)
        .fetch_one(&pool)
        .await
        .expect("the delivery is recorded");
    let answer = (row.get::<String, _>("outcome"), row.get::<Option<String>, _>("error").unwrap_or_default());
    pool.close().await;
    answer
}

fn fixture(relative: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(relative)).expect("fixture json")
}

on_both_backends! {
    async fn a_github_run_with_a_zeroed_and_a_runaway_clock_is_stored_with_those_times_null(app: TestApp) {
        let mut payload = fixture("github/webhooks/workflow_run.completed.json");
        payload["workflow_run"]["run_started_at"] = "1970-01-01T00:00:00Z".into();
        payload["workflow_run"]["updated_at"] = "2999-01-01T00:00:00Z".into();
        let body = serde_json::to_vec(&payload).expect("json");
        let response = app.deliver_as("workflow_run", "bad-clock-1", &body).await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());

        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        let build = &builds[0];
        assert_eq!(build["external_id"], "289782451");
        assert_eq!(build["status"], "success", "the rest of the delivery is kept: {build}");
        // created_at is good and kept; the start is unknown (null), not 1970.
        assert_eq!(build["created_at"], "2020-10-05T16:33:24Z", "{build}");
        assert_eq!(build["started_at"], Value::Null, "{build}");
        let duration = build["duration_seconds"].as_i64();
        assert!(duration.is_none_or(|d| d < 86_400), "no build of centuries: {build}");

        let (outcome, error) = delivery(&app, "bad-clock-1").await;
        assert_eq!(outcome, "stored");
        assert!(error.starts_with("warning: run.started_at must be between 2000-01-01T00:00:00Z"), "{error}");
        assert!(error.contains("got 1970-01-01T00:00:00+00:00; stored as null"), "{error}");
        assert!(error.contains("run.updated_at must be between") && error.contains("2999-01-01"), "{error}");
    }

    async fn a_gitlab_pipeline_with_a_bad_job_time_is_stored_with_that_time_null(app: TestApp) {
        let mut payload = fixture("gitlab/webhooks/pipeline.json");
        let builds = payload["builds"].as_array_mut().expect("builds");
        let job = builds.iter_mut().find(|b| b["id"] == 376).expect("job 376");
        job["finished_at"] = "2999-08-12 15:25:26 UTC".into();
        let body = serde_json::to_vec(&payload).expect("json");
        let response = post(&app, "Pipeline Hook", "bad-clock-2", Some(GITLAB_SECRET), &body).await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());

        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        let detail = app.build(&builds[0]["id"]).await;
        let jobs = detail["jobs"].as_array().expect("jobs");
        assert_eq!(jobs.len(), 5, "every job is kept: {detail}");
        let bad = jobs.iter().find(|j| j["external_id"] == "376").expect("job 376");
        assert_eq!(bad["started_at"], "2016-08-12T15:24:56Z", "{bad}");
        assert_eq!(bad["finished_at"], Value::Null, "{bad}");
        assert_eq!(bad["duration_seconds"], Value::Null, "{bad}");

        let (outcome, error) = delivery(&app, "bad-clock-2").await;
        assert_eq!(outcome, "stored");
        assert!(error.starts_with("warning: job 376.completed_at must be between"), "{error}");
        assert!(error.contains("2999-08-12T15:25:26+00:00"), "{error}");
    }

    async fn the_generic_api_still_refuses_such_a_time_naming_the_field(app: TestApp) {
        let event = serde_json::json!({
            "type": "run", "provider": "jenkins", "idempotency_key": "k1", "repository": "acme/app",
            "run_id": "1", "status": "completed", "conclusion": "success",
            "started_at": "1970-01-01T00:00:00Z"
        });
        let response = app.admin.post(app.url("/api/builds/events")).json(&event).send().await.expect("sent");
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().await.expect("json");
        assert_eq!(problem["errors"][0]["field"], "events[0].started_at", "{problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("must be between 2000-01-01T00:00:00Z and a day from now"), "{problem}");
    }
}
