//! The same retried GitLab pipeline told by webhooks and polled from the
//! REST API afterwards gives the same attempt rows: attempt numbers,
//! statuses, conclusions, start and finish, and which jobs each attempt
//! holds — also when the final Pipeline Hook came first.

use chrono::{DateTime, Duration, Utc};
use cicd_dashboard::config::{GitLabApiSettings, GitLabPollSettings};
use cicd_dashboard::domain::time::format_timestamp;
use cicd_dashboard::providers::gitlab::Poller;
use cicd_dashboard::providers::gitlab::poller::PollTiming;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::store::Store;
use serde_json::{Value, json};

use crate::fake_gitlab::{FakeGitLab, iso, job_object, pipeline_object};
use crate::gitlab_payloads::{HookJob, Pipeline, attempts_of, deliver};
use crate::helpers::TestApp;
use crate::on_both_backends;

/// `(attempt, status, conclusion, started, finished, duration, jobs as (name, status))`.
type Row = (i64, Value, Value, Value, Value, Value, Vec<(String, String)>);

async fn rows(app: &TestApp, run_id: i64) -> Vec<Row> {
    let mut out = Vec::new();
    for build in attempts_of(app, run_id).await {
        let detail = app.build(&build["id"]).await;
        let mut jobs: Vec<(String, String)> = detail["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .map(|j| {
                (
                    j["name"].as_str().unwrap_or_default().to_owned(),
                    j["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        jobs.sort();
        out.push((
            build["run_attempt"].as_i64().expect("attempt"),
            build["status"].clone(),
            build["conclusion"].clone(),
            build["started_at"].clone(),
            build["finished_at"].clone(),
            build["duration_seconds"].clone(),
            jobs,
        ));
    }
    out
}

/// A job of the polled pipeline with the hook job's times.
fn polled_job(path: &str, pipeline: i64, job: &HookJob) -> Value {
    let mut value = job_object(path, pipeline, job.id, job.name, job.status, job.created);
    value["started_at"] = job.started.map_or(Value::Null, |t| json!(iso(t)));
    value["finished_at"] = job.finished.map_or(Value::Null, |t| json!(iso(t)));
    value
}

on_both_backends! {
    async fn a_retried_pipeline_polled_afterwards_matches_its_webhooks(app: TestApp) {
        let t0 = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("time") - Duration::hours(2);
        let at = |seconds: i64| t0 + Duration::seconds(seconds);
        // `test` A failed and was retried as A' (a new id), which passed;
        // `lint` B passed once. GitLab finishes a pipeline with its last job,
        // so the failed pipeline finished when A did (t0+240 s).
        let a = HookJob {
            id: 101, name: "test", status: "failed", created: t0, started: Some(at(60)),
            finished: Some(at(240)), retries_count: 0, allow_failure: false,
        };
        let b = HookJob { id: 102, name: "lint", status: "success", started: Some(at(30)), finished: Some(at(120)), ..a.clone() };
        let retry = HookJob {
            id: 103, status: "success", created: at(600), started: Some(at(620)), finished: Some(at(720)),
            retries_count: 1, ..a.clone()
        };

        // Told by webhooks, as it happened.
        let hooked = Pipeline { id: 9_100, project: "grp/app", created: t0 };
        deliver(&app, "Pipeline Hook", &hooked.hook("failed", Some(at(240)), &[&a, &b]), "stored").await;
        deliver(&app, "Job Hook", &hooked.job_hook(&a), "stored").await;
        deliver(&app, "Job Hook", &hooked.job_hook(&retry), "stored").await;
        deliver(&app, "Pipeline Hook", &hooked.hook("success", Some(at(720)), &[&retry, &b]), "stored").await;

        // Told by webhooks with the final Pipeline Hook first (as when it is
        // the one delivery resent much later), then the rest (other ids).
        let late = Pipeline { id: 9_300, project: "grp/late", created: t0 };
        let [a3, b3, r3] = [&a, &b, &retry].map(|j| HookJob { id: j.id + 200, ..(*j).clone() });
        deliver(&app, "Pipeline Hook", &late.hook("success", Some(at(720)), &[&r3, &b3]), "stored").await;
        deliver(&app, "Job Hook", &late.job_hook(&a3), "stored").await;
        deliver(&app, "Job Hook", &late.job_hook(&r3), "stored").await;
        deliver(&app, "Pipeline Hook", &late.hook("failed", Some(at(240)), &[&a3, &b3]), "stored").await;

        // Polled once, after the retry (other ids, same times).
        let fake = FakeGitLab::start().await;
        fake.add_project("grp/polled", 77);
        let polled: Vec<HookJob> = [&a, &b, &retry].iter().map(|j| HookJob { id: j.id + 100, ..(*j).clone() }).collect();
        let mut pipeline = pipeline_object("grp/polled", 9_200, "success", t0, at(720));
        pipeline["finished_at"] = json!(iso(at(720)));
        let jobs = polled.iter().map(|j| polled_job("grp/polled", 9_200, j)).collect();
        fake.put_pipeline(77, pipeline, jobs);
        let settings = GitLabPollSettings {
            api: GitLabApiSettings {
                gitlab_url: vec![fake.url()],
                gitlab_token: vec![Secret::from("glpat-test-token")],
                gitlab_retry_base_ms: 20,
                ..GitLabApiSettings::default()
            },
            gitlab_projects: vec!["grp/polled".into()],
            gitlab_groups: Vec::new(),
        };
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let timing = PollTiming { poll_interval: 300, discovery_interval: 3600, backfill_days: 3 };
        let poller = Poller::from_settings(&settings, timing, &store).expect("settings").expect("a project");
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.failed, 0, "{stats:?}");

        // By hand: attempt 1 = A and B, failed, started t0 (its jobs'
        // creation), finished t0+240 → 240 s; attempt 2 = A', success,
        // started t0+600 (A' created), finished t0+720 → 120 s.
        let from_hooks = rows(&app, 9_100).await;
        let ts = |t: DateTime<Utc>| json!(format_timestamp(t));
        let pair = |n: &str, s: &str| (n.to_owned(), s.to_owned());
        assert_eq!(
            from_hooks,
            vec![
                (1, json!("failed"), json!("failed"), ts(t0), ts(at(240)), json!(240), vec![pair("lint", "success"), pair("test", "failed")]),
                (2, json!("success"), json!("success"), ts(at(600)), ts(at(720)), json!(120), vec![pair("test", "success")]),
            ]
        );
        assert_eq!(rows(&app, 9_200).await, from_hooks, "polling gives the webhooks' rows");
        assert_eq!(rows(&app, 9_300).await, from_hooks, "the final hook first gives the same rows");
    }
}
