//! The GitLab poller against a fake GitLab API (`fake_gitlab`): a backfill
//! paging through pipelines and jobs, the incremental sync by
//! `updated_after`, a retried job becoming the pipeline's next attempt
//! (the same rows whether seen as it happened or polled afterwards),
//! rate-limit pauses, a 404 project, and a killed `poll --provider gitlab`
//! resuming from its checkpoint. What was stored is read back through the
//! HTTP API.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cicd_dashboard::config::{GitLabApiSettings, GitLabPollSettings};
use cicd_dashboard::domain::ProviderKind;
use cicd_dashboard::providers::gitlab::Poller;
use cicd_dashboard::providers::gitlab::poller::PollTiming;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::store::Store;
use serde_json::Value;

use crate::fake_gitlab::{FakeGitLab, Scripted, job_object, pipeline_object};
use crate::helpers::TestApp;
use crate::on_both_backends;

const PROJECT: &str = "group/app";
const PROJECT_ID: i64 = 42;
const TIMING: PollTiming = PollTiming { poll_interval: 300, discovery_interval: 3600, backfill_days: 3 };

fn settings(fake: &FakeGitLab, projects: &[&str]) -> GitLabPollSettings {
    GitLabPollSettings {
        api: GitLabApiSettings {
            gitlab_url: vec![fake.url()],
            gitlab_token: vec![Secret::from("glpat-test-token")],
            gitlab_retry_base_ms: 20,
            ..GitLabApiSettings::default()
        },
        gitlab_projects: projects.iter().map(|p| p.to_string()).collect(),
        gitlab_groups: Vec::new(),
    }
}

async fn poller(app: &TestApp, settings: &GitLabPollSettings) -> (Poller, Store) {
    let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
    let poller =
        Poller::from_settings(settings, TIMING, &store).expect("settings").expect("something to poll");
    (poller, store)
}

fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).expect("time")
}

async fn total(app: &TestApp, query: &str) -> i64 {
    let (status, page) = app.get(&format!("/api/builds?limit=1&provider=gitlab{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["total"].as_i64().expect("total")
}

/// `(run_attempt, status, job ids)` of each stored attempt of a pipeline.
async fn attempts_of(app: &TestApp, pipeline: i64) -> Vec<(i64, String, Vec<String>)> {
    let mut found = Vec::new();
    let (status, page) = app.get(&format!("/api/builds?limit=100&provider=gitlab&run={pipeline}")).await;
    assert_eq!(status, 200, "{page}");
    for build in page["builds"].as_array().expect("builds") {
        assert_eq!(build["external_id"], Value::String(pipeline.to_string()));
        let detail = app.build(&build["id"]).await;
        let mut jobs: Vec<String> = detail["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .map(|j| j["external_id"].as_str().unwrap_or_default().to_owned())
            .collect();
        jobs.sort();
        found.push((
            build["run_attempt"].as_i64().expect("attempt"),
            build["status"].as_str().unwrap_or_default().to_owned(),
            jobs,
        ));
    }
    found.sort();
    found
}

async fn providers(app: &TestApp) -> Value {
    let (status, body) = app.get("/api/providers").await;
    assert_eq!(status, 200, "{body}");
    body
}

fn entry<'a>(providers: &'a Value, repo: &str) -> &'a Value {
    providers["repos"].as_array().expect("repos").iter().find(|r| r["repo"] == repo).expect("listed")
}

on_both_backends! {
    async fn a_backfill_pages_through_pipelines_and_jobs(app: TestApp) {
        let fake = FakeGitLab::start().await;
        fake.add_project(PROJECT, PROJECT_ID);
        let now = whole_seconds(Utc::now());
        // 210 pipelines over the last 2.5 days: three pages of 100.
        for i in 0..210i64 {
            let created = now - chrono::Duration::minutes(3600 - i * 17);
            let done = created + chrono::Duration::minutes(5);
            let jobs = if i == 0 {
                // One pipeline with 130 jobs: two pages of jobs.
                (0..130).map(|j| job_object(PROJECT, 1_000, 50_000 + j, &format!("test {j}"), "success", created)).collect()
            } else {
                vec![job_object(PROJECT, 1_000 + i, 60_000 + i, "build", "success", created)]
            };
            fake.put_pipeline(PROJECT_ID, pipeline_object(PROJECT, 1_000 + i, "success", created, done), jobs);
        }
        let (poller, _store) = poller(&app, &settings(&fake, &[PROJECT])).await;
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.failed, 0, "{stats:?}");
        assert_eq!(stats.runs_listed, 210, "{stats:?}");

        assert_eq!(total(&app, "").await, 210, "every pipeline once (130 tagged jobs in one of them)");
        let listings = fake.requests(&format!("/api/v4/projects/{PROJECT_ID}/pipelines?"));
        assert_eq!(listings.len(), 3, "{listings:#?}");
        assert!(listings.iter().all(|l| l.target.contains("updated_after=") && l.target.contains("order_by=updated_at")));
        assert!(listings[2].target.contains("page=3"), "followed the pages");
        assert!(fake.requests("/api/v4/projects/group%2Fapp").len() == 1, "the path is one encoded segment");
        let job_pages = fake.requests(&format!("/api/v4/projects/{PROJECT_ID}/pipelines/1000/jobs"));
        assert_eq!(job_pages.len(), 2, "{job_pages:#?}");
        assert!(job_pages.iter().all(|l| l.target.contains("include_retried=true")));
        assert_eq!(attempts_of(&app, 1_000).await[0].2.len(), 130);
        assert!(fake.state().log.iter().all(|l| l.private_token.as_deref() == Some("glpat-test-token")));

        let answer = providers(&app).await;
        let project = entry(&answer, PROJECT);
        assert_eq!(project["provider"], "gitlab");
        assert_eq!(project["instance_url"], fake.url());
        assert!(project["backfill"]["finished_at"].is_string(), "{project}");
        assert!(project["last_success_at"].is_string(), "{project}");
        assert_eq!(project["rate_limit"]["remaining"], 1900);
        assert_eq!(answer["poller"], "ok");
    }

    async fn the_sync_lists_only_pipelines_updated_after_its_cursor(app: TestApp) {
        let fake = FakeGitLab::start().await;
        fake.add_project(PROJECT, PROJECT_ID);
        let now = whole_seconds(Utc::now());
        let created = now - chrono::Duration::hours(3);
        for i in 0..5i64 {
            let updated = created + chrono::Duration::minutes(10 * i);
            let status = if i == 4 { "running" } else { "success" };
            fake.put_pipeline(PROJECT_ID, pipeline_object(PROJECT, 200 + i, status, created, updated), Vec::new());
        }
        let (poller, _store) = poller(&app, &settings(&fake, &[PROJECT])).await;
        poller.tick(Utc::now()).await.expect("first poll");
        assert_eq!(total(&app, "&status=running").await, 1);
        // The cursor: the newest updated_at seen (pipeline 204's).
        let cursor = created + chrono::Duration::minutes(40);

        // 204 finished; 205 is new; 200–203 did not change.
        let later = now - chrono::Duration::minutes(5);
        let job = job_object(PROJECT, 204, 9_204, "test", "failed", created);
        fake.put_pipeline(PROJECT_ID, pipeline_object(PROJECT, 204, "failed", created, later), vec![job]);
        fake.put_pipeline(PROJECT_ID, pipeline_object(PROJECT, 205, "success", later, later), Vec::new());
        let before = fake.state().log.len();
        let stats = poller.tick(Utc::now()).await.expect("second poll");
        let log: Vec<String> = fake.state().log[before..].iter().map(|l| l.target.clone()).collect();

        let listing = log.iter().find(|t| t.contains("/pipelines?")).expect("a listing");
        let since = cursor.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).replace(':', "%3A");
        assert!(listing.contains(&format!("updated_after={since}")), "{listing} after {since}");
        let fetched: Vec<&String> = log.iter().filter(|t| !t.contains('?') && t.contains("/pipelines/")).collect();
        assert_eq!(
            fetched,
            vec![&format!("/api/v4/projects/{PROJECT_ID}/pipelines/204"), &format!("/api/v4/projects/{PROJECT_ID}/pipelines/205")],
            "only the changed pipelines are fetched: {log:#?}"
        );
        assert_eq!(stats.runs_listed, 2, "{stats:?}");
        assert_eq!(total(&app, "").await, 6);
        assert_eq!(total(&app, "&status=failed").await, 1);
        assert_eq!(total(&app, "&status=running").await, 0);
    }

    async fn a_retried_job_becomes_the_pipelines_next_attempt(app: TestApp) {
        let fake = FakeGitLab::start().await;
        fake.add_project(PROJECT, PROJECT_ID);
        fake.add_project("group/other", 43);
        let now = whole_seconds(Utc::now());
        let t0 = now - chrono::Duration::hours(2);
        let (poller, _store) = poller(&app, &settings(&fake, &[PROJECT, "group/other"])).await;
        let build = |p: &str, pipe: i64, id: i64| job_object(p, pipe, id, "build", "success", t0);
        let test = |p: &str, pipe: i64, id: i64, status: &str, at: i64| {
            job_object(p, pipe, id, "test", status, t0 + chrono::Duration::minutes(at))
        };

        // Seen as it happens: running, then failed, then retried and passed.
        let steps = [
            ("running", 10, vec![build(PROJECT, 500, 100), test(PROJECT, 500, 101, "running", 2)]),
            ("failed", 20, vec![build(PROJECT, 500, 100), test(PROJECT, 500, 101, "failed", 2)]),
            ("success", 40, vec![build(PROJECT, 500, 100), test(PROJECT, 500, 101, "failed", 2), test(PROJECT, 500, 102, "success", 30)]),
        ];
        for (status, minutes, jobs) in steps {
            let updated = t0 + chrono::Duration::minutes(minutes);
            fake.put_pipeline(PROJECT_ID, pipeline_object(PROJECT, 500, status, t0, updated), jobs);
            poller.tick(Utc::now()).await.expect("poll");
        }
        // The same pipeline polled only after the retry, in another project.
        let jobs = vec![build("group/other", 600, 200), test("group/other", 600, 201, "failed", 2), test("group/other", 600, 202, "success", 30)];
        fake.put_pipeline(43, pipeline_object("group/other", 600, "success", t0, t0 + chrono::Duration::minutes(40)), jobs);
        poller.tick(Utc::now()).await.expect("poll");

        // By hand: tries 100 → 1, 101 → 1 (first `test`), 102 → 2; attempt 1
        // failed (101 may not fail), attempt 2 is the pipeline's success.
        let as_it_happened = attempts_of(&app, 500).await;
        assert_eq!(
            as_it_happened,
            vec![
                (1, "failed".to_owned(), vec!["100".to_owned(), "101".to_owned()]),
                (2, "success".to_owned(), vec!["102".to_owned()]),
            ]
        );
        let afterwards = attempts_of(&app, 600).await;
        let shape = |rows: &[(i64, String, Vec<String>)]| -> Vec<(i64, String, usize)> {
            rows.iter().map(|(n, s, jobs)| (*n, s.clone(), jobs.len())).collect()
        };
        assert_eq!(shape(&afterwards), shape(&as_it_happened), "the same attempts either way");
    }

    async fn rate_limits_are_waited_out(app: TestApp) {
        let fake = FakeGitLab::start().await;
        fake.add_project(PROJECT, PROJECT_ID);
        let created = whole_seconds(Utc::now()) - chrono::Duration::hours(1);
        for i in 0..3i64 {
            let jobs = vec![job_object(PROJECT, 700 + i, 7_000 + i, "build", "success", created)];
            fake.put_pipeline(PROJECT_ID, pipeline_object(PROJECT, 700 + i, "success", created, created), jobs);
        }
        {
            let mut state = fake.state();
            // The first listing is answered 429 Retry-After: 1; the first
            // pipeline fetched says the budget is spent until 1 s from now.
            state.script.push_back((format!("/api/v4/projects/{PROJECT_ID}/pipelines?"), Scripted::TooMany { retry_after: 1 }));
            state.script.push_back((format!("/api/v4/projects/{PROJECT_ID}/pipelines/"), Scripted::Exhausted { reset_in: 1 }));
        }
        let mut settings = settings(&fake, &[PROJECT]);
        settings.api.gitlab_rate_share = 1.0;
        let (poller, _store) = poller(&app, &settings).await;
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.failed, 0, "{stats:?}");
        assert_eq!(total(&app, "").await, 3);

        let log = fake.requests("/");
        let limited = log.iter().position(|l| l.status == 429).expect("429 served");
        assert_eq!(log[limited + 1].target, log[limited].target, "the same request is retried");
        let waited = log[limited + 1].at - log[limited].at;
        assert!(waited >= Duration::from_millis(950), "waited as told: {waited:?}");
        let spent = log.iter().position(|l| l.target.contains("/pipelines/") && l.status == 200).expect("pipeline");
        let paused = log[spent + 1].at - log[spent].at;
        assert!(paused >= Duration::from_millis(900), "paused until the reset: {paused:?}");
    }

    async fn a_missing_project_is_reported_and_the_others_are_polled(app: TestApp) {
        let fake = FakeGitLab::start().await;
        fake.add_project(PROJECT, PROJECT_ID);
        let created = whole_seconds(Utc::now()) - chrono::Duration::hours(1);
        fake.put_pipeline(PROJECT_ID, pipeline_object(PROJECT, 800, "success", created, created), Vec::new());
        let (poller, _store) = poller(&app, &settings(&fake, &["group/missing", PROJECT])).await;
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.failed, 0, "{stats:?}");
        assert_eq!(total(&app, "").await, 1, "the other project was polled");
        let answer = providers(&app).await;
        let missing = entry(&answer, "group/missing");
        assert_eq!(missing["state"], "gone", "{missing}");
        assert!(missing["state_reason"].as_str().unwrap_or_default().contains("404"), "{missing}");
        assert_eq!(entry(&answer, PROJECT)["state"], "active");

        // Deleted after it was registered: marked gone at its next poll.
        fake.state().gone.insert(PROJECT_ID);
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.failed, 1, "{stats:?}");
        assert_eq!(entry(&providers(&app).await, PROJECT)["state"], "gone");
        assert_eq!(total(&app, "").await, 1, "its history is kept");
    }
}

fn poll_command(fake: &FakeGitLab, database_url: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"));
    command
        .args([
            "poll",
            "--provider",
            "gitlab",
            "--project",
            PROJECT,
            "--since",
            "5d",
            "--database-url",
            database_url,
        ])
        .env("GITLAB_URL", fake.url())
        .env("GITLAB_TOKEN", "glpat-test-token")
        .env("CICD_SECRET_KEY", crate::helpers::SECRET_KEY)
        .env("CICD_GITLAB_RETRY_BASE_MS", "20")
        .env("RUST_LOG", "warn")
        .env_remove("CICD_GITLAB_PROJECTS");
    command
}

on_both_backends! {
    async fn a_killed_backfill_resumes_from_its_checkpoint(app: TestApp) {
        let fake = FakeGitLab::start().await;
        fake.add_project(PROJECT, PROJECT_ID);
        let now = whole_seconds(Utc::now());
        // 250 pipelines over four days, one updated every 23 minutes.
        for i in 0..250i64 {
            let updated = now - chrono::Duration::minutes(4 * 24 * 60 - i * 23);
            fake.put_pipeline(PROJECT_ID, pipeline_object(PROJECT, 3_000 + i, "success", updated, updated), Vec::new());
        }
        // The first page is answered, the second hangs: the process is stuck there.
        fake.state().hang_after_listings = Some(1);
        let mut child = poll_command(&fake, &app.database_url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start poll");
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let deadline = Instant::now() + Duration::from_secs(60);
        let checkpoint = loop {
            let repo = store.poll_state().poll_repo(ProviderKind::GitLab, PROJECT).await.expect("read");
            if let Some(done) = repo.and_then(|r| r.backfill_done_until) {
                break done;
            }
            assert!(Instant::now() < deadline, "the backfill made no progress");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        child.kill().expect("kill");
        let _ = child.wait();
        // The checkpoint is the first page's last pipeline (number 99).
        assert_eq!(checkpoint, now - chrono::Duration::minutes(4 * 24 * 60 - 99 * 23));
        assert_eq!(total(&app, "").await, 100);
        let fetched_before = fake.requests(&format!("/api/v4/projects/{PROJECT_ID}/pipelines/")).len();

        fake.state().hang_after_listings = None;
        let output = poll_command(&fake, &app.database_url).output().expect("run poll again");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(stderr.contains("resuming the backfill"), "{stderr}");
        assert!(stdout.contains(PROJECT) && stdout.contains("runs listed"), "{stdout}");
        assert_eq!(total(&app, "").await, 250, "every pipeline once");
        let listings = fake.requests(&format!("/api/v4/projects/{PROJECT_ID}/pipelines?"));
        let resumed = &listings[2];
        let since = checkpoint.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).replace(':', "%3A");
        assert!(resumed.target.contains(&format!("updated_after={since}")), "{resumed:?}");
        // Only the 150 pipelines after the checkpoint were fetched again (each: pipeline + jobs).
        let fetched_after = fake.requests(&format!("/api/v4/projects/{PROJECT_ID}/pipelines/")).len() - fetched_before;
        assert_eq!(fetched_after, 2 * 150);
    }
}
