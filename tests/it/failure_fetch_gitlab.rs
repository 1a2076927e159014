//! The GitLab failure fetcher against the fake GitLab API, on both back
//! ends: with `--fetch-logs` each failed job's trace end is read (by the
//! project's id, from the instance it is polled on), a job without a trace
//! (404) keeps GitLab's `failure_reason` as its only error line, and a
//! `runner_system_failure` is infrastructure.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cicd_dashboard::config::{FailureSettings, GitLabApiSettings, GitLabPollSettings};
use cicd_dashboard::domain::ProviderKind;
use cicd_dashboard::domain::failure::Classifier;
use cicd_dashboard::providers::failure_fetch::FailureFetch;
use cicd_dashboard::providers::gitlab::Poller;
use cicd_dashboard::providers::gitlab::failures::GitLabFailures;
use cicd_dashboard::providers::gitlab::poller::PollTiming;
use cicd_dashboard::scheduler::failure_reasons::record_pending;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::store::Store;
use serde_json::json;

use crate::fake_gitlab::{FakeGitLab, job_object, pipeline_object};
use crate::on_both_backends;

const PROJECT: &str = "group/app";
const PROJECT_ID: i64 = 42;

on_both_backends! {
    async fn traces_and_failure_reasons_become_reasons(app: TestApp) {
        let fake = FakeGitLab::start().await;
        fake.add_project(PROJECT, PROJECT_ID);
        let created = DateTime::from_timestamp(Utc::now().timestamp() - 3600, 0).expect("time");
        let done = created + chrono::Duration::minutes(5);
        let mut lost = job_object(PROJECT, 700, 7002, "deploy", "failed", created);
        lost["failure_reason"] = json!("runner_system_failure");
        let jobs = vec![job_object(PROJECT, 700, 7001, "rspec", "failed", created), lost];
        fake.put_pipeline(PROJECT_ID, pipeline_object(PROJECT, 700, "failed", created, done), jobs);
        fake.state().traces.insert(
            7001,
            "\u{1b}[0KRunning with gitlab-runner 17.0.0\n$ bundle exec rspec\nFailures:\n  1) User is valid\n\
             Failure/Error: expect(user).to be_valid\nERROR: Job failed: exit code 1\n"
                .into(),
        );
        let settings = GitLabPollSettings {
            api: GitLabApiSettings {
                gitlab_url: vec![fake.url()],
                gitlab_token: vec![Secret::from("glpat-test-token")],
                gitlab_retry_base_ms: 20,
                ..GitLabApiSettings::default()
            },
            gitlab_projects: vec![PROJECT.into()],
            gitlab_groups: Vec::new(),
        };
        let timing = PollTiming { poll_interval: 300, discovery_interval: 3600, backfill_days: 3 };
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let poller = Poller::from_settings(&settings, timing, &store).expect("settings").expect("poller");
        poller.tick(Utc::now()).await.expect("poll");
        let classifier = Arc::new(Classifier::new(&[]).expect("classifier"));
        let now = Utc::now().timestamp();
        assert_eq!(record_pending(&store, &classifier, &[ProviderKind::GitLab], now).await.expect("pass"), 2);
        let fetch = FailureFetch {
            store: store.clone(),
            classifier,
            settings: FailureSettings { fetch_logs: true, ..FailureSettings::default() },
        };
        let fetcher = GitLabFailures { clients: poller.clients().to_vec(), fetch };
        let stats = fetcher.pass().await.expect("fetch");
        assert_eq!((stats.recorded, stats.logs, stats.logs_missing), (2, 1, 1), "{stats:?}");
        let traces = fake.requests(&format!("/api/v4/projects/{PROJECT_ID}/jobs/"));
        assert_eq!(traces.len(), 2, "{traces:#?}");
        assert!(traces.iter().all(|l| l.target.ends_with("/trace")));

        let builds = app.builds().await;
        let (status, detail) = app.get(&format!("/api/builds/{}", builds[0]["id"])).await;
        assert_eq!(status, 200, "{detail}");
        let failures = detail["failures"].as_array().expect("failures");
        let rspec = failures.iter().find(|f| f["job_name"] == "rspec").expect("rspec");
        assert_eq!(rspec["source"], "log");
        assert_eq!(rspec["error_lines"], json!(["ERROR: Job failed: exit code 1"]));
        assert_eq!(rspec["class"], "code");
        assert!(rspec["log_excerpt"].as_str().expect("excerpt").contains("bundle exec rspec"));
        let deploy = failures.iter().find(|f| f["job_name"] == "deploy").expect("deploy");
        assert_eq!(deploy["source"], "failure_reason");
        assert_eq!(deploy["error_lines"], json!(["runner_system_failure"]));
        assert_eq!((deploy["class"].as_str(), deploy["class_reason"].as_str()), (Some("infrastructure"), Some("runner_system_failure")));
    }
}
