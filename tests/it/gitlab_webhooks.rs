//! `POST /api/webhook/gitlab` over HTTP: every bundled GitLab pipeline, job
//! and deployment example (`tests/fixtures/gitlab/`) ingested and read back
//! field by field through `/api/builds` and `/api/builds/{id}`; both of
//! GitLab's timestamp forms; the token check (401 problem JSON, 503 when
//! not configured); dedupe by `Idempotency-Key`, else `X-Gitlab-Event-UUID`;
//! the Test button's sample events answered `ignored`.

use serde_json::{Value, json};

use crate::gitlab_payloads::{attempts_of, deliver, post};
use crate::helpers::{Backend, GITLAB_SECRET, TestApp, fixture_bytes};
use crate::on_both_backends;

fn fixture(relative: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(&format!("gitlab/{relative}"))).expect("fixture json")
}

/// The job `external_id` of a build detail.
fn job<'a>(detail: &'a Value, id: &str) -> &'a Value {
    detail["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["external_id"] == id)
        .unwrap_or_else(|| panic!("job {id}"))
}

fn fields(value: &Value, names: &[&str]) -> Value {
    Value::Object(names.iter().map(|n| ((*n).to_owned(), value[*n].clone())).collect())
}

const BUILD_FIELDS: &[&str] = &[
    "provider_kind",
    "provider_name",
    "repo",
    "external_id",
    "run_attempt",
    "workflow",
    "run_number",
    "event",
    "branch",
    "commit_sha",
    "triggered_by",
    "url",
    "status",
    "provider_status",
    "conclusion",
    "created_at",
    "started_at",
    "first_job_started_at",
    "finished_at",
    "duration_seconds",
    "queue_seconds",
];

const JOB_FIELDS: &[&str] = &[
    "name",
    "status",
    "provider_status",
    "conclusion",
    "runner_name",
    "labels",
    "created_at",
    "started_at",
    "finished_at",
    "queue_seconds",
    "duration_seconds",
    "url",
    "stage",
    "failure_reason",
    "allow_failure",
    "queued_duration",
];

on_both_backends! {
    // GitLab's documented Pipeline Hook (pipeline 31, five jobs). By hand:
    // started = its jobs' earliest creation 15:23:28, finished 15:26:29 →
    // 181 s; first job start 15:24:56 (build-image) → queue 88 s. Job
    // test-image: queued 15:23:28 → started 15:26:12 = 164 s, ran to
    // 15:26:29 = 17 s.
    async fn the_documented_pipeline_hook_reads_back_field_by_field(app: TestApp) {
        deliver(&app, "Pipeline Hook", &fixture("webhooks/pipeline.json"), "stored").await;
        let builds = attempts_of(&app, 31).await;
        assert_eq!(builds.len(), 1);
        assert_eq!(fields(&builds[0], BUILD_FIELDS), json!({
            "provider_kind": "gitlab", "provider_name": "GitLab CI", "repo": "gitlab-org/gitlab-test",
            "external_id": "31", "run_attempt": 1, "workflow": "Pipeline for branch: master", "run_number": 3,
            "event": "merge_request_event", "branch": "master",
            "commit_sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2", "triggered_by": "root",
            "url": "http://example.com/gitlab-org/gitlab-test/-/pipelines/31", "status": "success",
            "provider_status": "completed", "conclusion": "success", "created_at": "2016-08-12T15:23:28Z",
            "started_at": "2016-08-12T15:23:28Z", "first_job_started_at": "2016-08-12T15:24:56Z",
            "finished_at": "2016-08-12T15:26:29Z", "duration_seconds": 181, "queue_seconds": 88
        }));
        let detail = app.build(&builds[0]["id"]).await;
        assert_eq!(detail["jobs"].as_array().expect("jobs").len(), 5);
        assert_eq!(fields(job(&detail, "377"), JOB_FIELDS), json!({
            "name": "test-image", "status": "success", "provider_status": "completed", "conclusion": "success",
            "runner_name": "shared-runners-manager-6.gitlab.com", "labels": ["linux", "docker", "shared-runner"],
            "created_at": "2016-08-12T15:23:28Z", "started_at": "2016-08-12T15:26:12Z",
            "finished_at": "2016-08-12T15:26:29Z", "queue_seconds": 164, "duration_seconds": 17,
            "url": "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/jobs/377", "stage": "test",
            "failure_reason": null, "allow_failure": false, "queued_duration": 196.0
        }));
        let failed = job(&detail, "378");
        assert_eq!((failed["status"].as_str(), failed["failure_reason"].as_str()), (Some("failed"), Some("script_failure")));
        let skipped = job(&detail, "380");
        assert_eq!(fields(skipped, &["status", "conclusion", "runner_name", "labels", "finished_at", "stage"]), json!({
            "status": "skipped", "conclusion": "skipped", "runner_name": null, "labels": [], "finished_at": null, "stage": "deploy"
        }));
        let created = job(&detail, "379");
        assert_eq!((created["status"].as_str(), created["provider_status"].as_str()), (Some("queued"), Some("created")));
    }

    // go-gitlab's Pipeline Hook: no `name` and no `url` → workflow
    // `.gitlab-ci.yml` and the project's address + `/-/pipelines/31`.
    async fn go_gitlab_s_pipeline_hook_falls_back_for_name_and_url(app: TestApp) {
        deliver(&app, "Pipeline Hook", &fixture("webhooks/go-gitlab/pipeline.json"), "stored").await;
        let builds = attempts_of(&app, 31).await;
        assert_eq!(fields(&builds[0], &["workflow", "url", "run_number", "triggered_by", "status", "duration_seconds"]), json!({
            "workflow": ".gitlab-ci.yml", "url": "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/pipelines/31",
            "run_number": 123, "triggered_by": "user1", "status": "success", "duration_seconds": 181
        }));
        let detail = app.build(&builds[0]["id"]).await;
        let production = job(&detail, "380");
        assert_eq!(fields(production, &["status", "allow_failure", "failure_reason", "queued_duration", "labels"]), json!({
            "status": "skipped", "allow_failure": true, "failure_reason": null, "queued_duration": 3.5,
            "labels": ["docker", "gce"]
        }));
        // test-image says success but has no finish time: none is invented.
        assert_eq!(fields(job(&detail, "377"), &["status", "finished_at", "duration_seconds"]), json!({
            "status": "success", "finished_at": null, "duration_seconds": null
        }));
    }

    // The documented Job Hook (ISO 8601 timestamps, retries_count 2 → try
    // 3, so attempt 3 of pipeline 2366), then go-gitlab's older copy of the
    // same job (no retries_count, no project): the job stays where it is.
    async fn the_documented_job_hooks_read_back_field_by_field(app: TestApp) {
        deliver(&app, "Job Hook", &fixture("webhooks/job.json"), "stored").await;
        deliver(&app, "Job Hook", &fixture("webhooks/go-gitlab/build.json"), "stored").await;
        let builds = attempts_of(&app, 2366).await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        assert_eq!(fields(&builds[0], &["repo", "run_attempt", "workflow", "branch", "commit_sha", "status", "provider_status"]), json!({
            "repo": "gitlab-org/gitlab-test", "run_attempt": 3, "workflow": "Build pipeline",
            "branch": "gitlab-script-trigger", "commit_sha": "2293ada6b400935a1378653304eaf6221e0fdb8f",
            "status": "queued", "provider_status": "queued"
        }));
        let detail = app.build(&builds[0]["id"]).await;
        assert_eq!(fields(job(&detail, "1977"), JOB_FIELDS), json!({
            "name": "test", "status": "queued", "provider_status": "created", "conclusion": null,
            "runner_name": "shared-runners-manager-6.gitlab.com", "labels": ["linux", "docker"],
            "created_at": "2021-02-23T02:41:37Z", "started_at": null, "finished_at": null,
            "queue_seconds": null, "duration_seconds": null,
            "url": "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/jobs/1977", "stage": "test",
            "failure_reason": null, "allow_failure": false, "queued_duration": 1095.589
        }));
    }

    // go-gitlab's 2023 Job Hook (retries_count 1 → attempt 2; project from
    // `repository.homepage`) and a Job Hook recorded from gitlab.com in
    // 2016 (running; pipeline id from `commit.id`; no project; no pipeline
    // name, so no workflow until a Pipeline Hook says it).
    async fn go_gitlab_and_recorded_job_hooks_read_back(app: TestApp) {
        deliver(&app, "Job Hook", &fixture("webhooks/go-gitlab/job.json"), "stored").await;
        deliver(&app, "Job Hook", &fixture("recorded/webhooks/job.running.json"), "stored").await;
        let done = attempts_of(&app, 743121198).await;
        assert_eq!(fields(&done[0], &["repo", "run_attempt", "workflow", "status", "first_job_started_at"]), json!({
            "repo": "jsmithy2/release-tools-fake", "run_attempt": 2, "workflow": "Build pipeline",
            "status": "running", "first_job_started_at": "2023-01-10T13:50:05Z"
        }));
        let detail = app.build(&done[0]["id"]).await;
        // 13:50:02 → 13:50:05 → 13:50:54: queue 3 s, ran 49 s.
        assert_eq!(fields(job(&detail, "3580121225"), JOB_FIELDS), json!({
            "name": "auto_deploy:start", "status": "success", "provider_status": "completed", "conclusion": "success",
            "runner_name": "4-blue.shared.runners-manager.gitlab.com/default", "labels": ["linux", "docker"],
            "created_at": "2023-01-10T13:50:02Z", "started_at": "2023-01-10T13:50:05Z",
            "finished_at": "2023-01-10T13:50:54Z", "queue_seconds": 3, "duration_seconds": 49,
            "url": "https://gitlab.com/jsmithy2/release-tools-fake/-/jobs/3580121225", "stage": "coordinated:tag",
            "failure_reason": null, "allow_failure": false, "queued_duration": 0.193
        }));
        let running = attempts_of(&app, 4414206).await;
        assert_eq!(fields(&running[0], &["repo", "run_attempt", "workflow", "branch", "status", "provider_status", "first_job_started_at"]), json!({
            "repo": "dev-seven/my-awesome-project", "run_attempt": 1, "workflow": null, "branch": "master",
            "status": "running", "provider_status": "running", "first_job_started_at": "2016-09-28T20:21:04Z"
        }));
        let detail = app.build(&running[0]["id"]).await;
        assert_eq!(fields(job(&detail, "4541112"), &["name", "status", "provider_status", "allow_failure", "stage", "started_at", "url"]), json!({
            "name": "job_name", "status": "running", "provider_status": "running", "allow_failure": true, "stage": "test",
            "started_at": "2016-09-28T20:21:04Z", "url": "https://gitlab.com/dev-seven/my-awesome-project/-/jobs/4541112"
        }));
    }

    // Deployment Hooks are stored as deployments (not builds); what
    // GitLab's Test button sends for other events is recorded as `ignored`.
    async fn deployments_are_stored_and_test_button_samples_recorded_as_ignored(app: TestApp) {
        deliver(&app, "Deployment Hook", &fixture("webhooks/deployment.json"), "stored").await;
        deliver(&app, "Deployment Hook", &fixture("webhooks/go-gitlab/deployment.json"), "stored").await;
        deliver(&app, "Push Hook", &fixture("webhooks/go-gitlab/push.json"), "ignored").await;
        deliver(&app, "Merge Request Hook", &json!({"object_kind": "merge_request"}), "ignored").await;
        assert!(app.builds().await.is_empty());
    }

    // A pipeline whose timestamps are ISO 8601 with a `+01:00` offset
    // reads back as the same UTC instants: 10:00:00+01:00 = 09:00:00Z.
    async fn iso_timestamps_with_offsets_parse(app: TestApp) {
        let mut hook = fixture("webhooks/pipeline.json");
        hook["object_attributes"]["id"] = json!(4040);
        hook["object_attributes"]["created_at"] = json!("2024-03-01T10:00:00.123+01:00");
        hook["object_attributes"]["finished_at"] = json!("2024-03-01T10:05:00+01:00");
        hook["builds"] = json!([]);
        deliver(&app, "Pipeline Hook", &hook, "stored").await;
        let builds = attempts_of(&app, 4040).await;
        assert_eq!(fields(&builds[0], &["created_at", "started_at", "finished_at", "duration_seconds"]), json!({
            "created_at": "2024-03-01T09:00:00Z", "started_at": "2024-03-01T09:00:00Z",
            "finished_at": "2024-03-01T09:05:00Z", "duration_seconds": 300
        }));
    }

    async fn providers_lists_gitlab_beside_github(app: TestApp) {
        let (status, answer) = app.get("/api/providers").await;
        assert_eq!(status, 200, "{answer}");
        let listed: Vec<(Value, Value)> = answer["providers"].as_array().expect("providers").iter()
            .map(|p| (p["provider"].clone(), p["webhook_secret_configured"].clone())).collect();
        assert_eq!(listed, vec![(json!("github"), json!(true)), (json!("gitlab"), json!(true))]);
    }

    async fn a_wrong_or_missing_token_is_401_problem_json(app: TestApp) {
        let body = fixture_bytes("gitlab/webhooks/pipeline.json");
        for token in [Some("wrong-token"), Some("test-gitlab-webhook-toke"), None] {
            let response = post(&app, "Pipeline Hook", "k-auth", token, &body).await;
            assert_eq!(response.status().as_u16(), 401, "{token:?}");
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let problem: Value = response.json().await.expect("problem");
            assert_eq!(problem["status"], 401);
            assert!(problem["detail"].as_str().expect("detail").contains("X-Gitlab-Token"), "{problem}");
        }
        assert!(app.builds().await.is_empty());
    }

    async fn a_repeated_idempotency_key_is_a_duplicate(app: TestApp) {
        let body = fixture_bytes("gitlab/webhooks/pipeline.json");
        let first = post(&app, "Pipeline Hook", "key-1", Some(GITLAB_SECRET), &body).await;
        let first: Value = first.json().await.expect("json");
        assert_eq!(first, json!({"delivery": "key-1", "event": "Pipeline Hook", "outcome": "stored"}));
        let mut changed: Value = serde_json::from_slice(&body).expect("json");
        changed["object_attributes"]["status"] = json!("failed");
        let again = post(&app, "Pipeline Hook", "key-1", Some(GITLAB_SECRET), &serde_json::to_vec(&changed).expect("json")).await;
        assert_eq!(again.status().as_u16(), 202);
        assert_eq!(again.json::<Value>().await.expect("json")["outcome"], "duplicate");
        assert_eq!(attempts_of(&app, 31).await[0]["status"], "success", "a duplicate is not applied");
        // Without Idempotency-Key, X-Gitlab-Event-UUID is the key.
        let by_uuid = || app.client.post(app.url("/api/webhook/gitlab"))
            .header("content-type", "application/json").header("x-gitlab-event", "Push Hook")
            .header("x-gitlab-token", GITLAB_SECRET).header("x-gitlab-event-uuid", "uuid-7").body("{}");
        let answers = [by_uuid().send().await.expect("sent"), by_uuid().send().await.expect("sent")];
        let mut outcomes = Vec::new();
        for answer in answers {
            outcomes.push(answer.json::<Value>().await.expect("json")["outcome"].clone());
        }
        assert_eq!(outcomes, vec![json!("ignored"), json!("duplicate")]);
        // Neither key: 400 problem naming the header.
        let none = app.client.post(app.url("/api/webhook/gitlab")).header("content-type", "application/json")
            .header("x-gitlab-event", "Push Hook").header("x-gitlab-token", GITLAB_SECRET).body("{}").send().await.expect("sent");
        assert_eq!(none.status().as_u16(), 400);
        assert!(none.text().await.expect("text").contains("x-gitlab-event-uuid"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_gitlab_secret_or_ingest_token_gitlab_deliveries_are_503_not_configured() {
    let app = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.gitlab_webhook_secret = None;
        settings.ingest_token = None;
    })
    .await
    .expect("sqlite");
    let response = post(&app, "Pipeline Hook", "k", Some("anything"), b"{}").await;
    assert_eq!(response.status().as_u16(), 503);
    let problem: Value = response.json().await.expect("problem");
    assert!(problem["detail"].as_str().expect("detail").contains("GITLAB_WEBHOOK_SECRET"), "{problem}");
    // The GitHub endpoint still works with its own secret.
    let ping = app.deliver("ping", br#"{"zen":"ok"}"#).await;
    assert_eq!(ping.status().as_u16(), 200);
    // GitLab is listed all the same, as not configured.
    let (status, answer) = app.get("/api/providers").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["providers"],
        json!([
            {"provider": "github", "name": "GitHub Actions", "webhook_path": "/api/webhook/github-actions", "webhook_secret_configured": true},
            {"provider": "gitlab", "name": "GitLab CI", "webhook_path": "/api/webhook/gitlab", "webhook_secret_configured": false}
        ])
    );
}
