//! The GitHub poller against a fake GitHub API (`fake_github`): backfill
//! with pagination and window splitting past the 1 000-result cap,
//! conditional requests, rate limits and retries, the watch list, re-runs,
//! gone repositories, resuming an interrupted backfill, app credentials and
//! discovery, and the poller running inside `serve` on its own. What was
//! stored is read back through the HTTP API.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cicd_dashboard::config::{GitHubApiSettings, GitHubPollSettings};
use cicd_dashboard::domain::ProviderKind;
use cicd_dashboard::providers::PollStats;
use cicd_dashboard::providers::github::Poller;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::store::Store;
use serde_json::Value;

use crate::fake_github::{FakeGitHub, Scripted, iso, job_object, run_object};
use crate::helpers::TestApp;
use crate::on_both_backends;

const REPO: &str = "octo-org/app";

fn settings(fake: &FakeGitHub, repos: &[&str]) -> GitHubPollSettings {
    GitHubPollSettings {
        api: GitHubApiSettings {
            github_api_url: fake.url(),
            github_token: Some(Secret::from("ghp_test_token_value")),
            ..GitHubApiSettings::default()
        },
        repos: repos.iter().map(|r| r.to_string()).collect(),
        backfill_days: 3,
        github_retry_base_ms: 20,
        github_secondary_wait_ms: 50,
        ..GitHubPollSettings::default()
    }
}

async fn poller(app: &TestApp, settings: &GitHubPollSettings) -> (Poller, Store) {
    let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
    let poller = Poller::from_settings(settings, &store).expect("settings").expect("something to poll");
    (poller, store)
}

fn whole_seconds(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).expect("time")
}

async fn total(app: &TestApp, query: &str) -> i64 {
    let (status, page) = app.get(&format!("/api/builds?limit=1{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["total"].as_i64().expect("total")
}

async fn attempts_of(app: &TestApp, run_id: i64) -> Vec<Value> {
    let mut found: Vec<Value> = app
        .builds()
        .await
        .into_iter()
        .filter(|b| b["external_id"] == Value::String(run_id.to_string()))
        .collect();
    found.sort_by_key(|b| b["run_attempt"].as_i64());
    found
}

async fn providers(app: &TestApp) -> Value {
    let (status, body) = app.get("/api/providers").await;
    assert_eq!(status, 200, "{body}");
    body
}

fn repo_entry<'a>(providers: &'a Value, repo: &str) -> &'a Value {
    providers["repos"].as_array().expect("repos").iter().find(|r| r["repo"] == repo).expect("repo listed")
}

on_both_backends! {
    async fn a_crowded_day_is_split_below_the_cap_and_every_run_is_stored_once(app: TestApp) {
        let fake = FakeGitHub::start().await;
        let start = whole_seconds(Utc::now()) - chrono::Duration::hours(25);
        for i in 0..2500i64 {
            let created = start + chrono::Duration::seconds(i * 34);
            let jobs = if i >= 2497 {
                vec![
                    job_object(REPO, 10_000 + i, 900_000 + 2 * i, "success", created + chrono::Duration::seconds(15)),
                    job_object(REPO, 10_000 + i, 900_001 + 2 * i, "failure", created + chrono::Duration::seconds(20)),
                ]
            } else {
                Vec::new()
            };
            fake.put_attempt(REPO, run_object(REPO, 10_000 + i, 1, "completed", Some("success"), created), jobs);
        }
        let (poller, _store) = poller(&app, &settings(&fake, &[REPO])).await;
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.failed, 0, "{stats:?}");

        assert_eq!(total(&app, "").await, 2500, "every run stored, none twice");
        let listings = fake.requests(&format!("/repos/{REPO}/actions/runs?"));
        assert!(listings.iter().all(|l| l.status != 422), "never asked past the 1 000 cap");
        assert!(listings.iter().any(|l| l.target.contains("page=2")), "followed Link pages");
        let jobs = app.build(&attempts_of(&app, 12_499).await[0]["id"]).await;
        assert_eq!(jobs["jobs"].as_array().expect("jobs").len(), 2, "{jobs}");
        let answer = providers(&app).await;
        let entry = repo_entry(&answer, REPO);
        assert!(entry["backfill"]["finished_at"].is_string(), "{entry}");
        assert!(entry["last_success_at"].is_string(), "{entry}");
        assert_eq!(entry["rate_limit"]["remaining"], 4000);
        assert_eq!(answer["poller"], "ok");
    }

    async fn a_second_poll_is_answered_not_modified_and_changes_nothing(app: TestApp) {
        let fake = FakeGitHub::start().await;
        let now = whole_seconds(Utc::now());
        for i in 0..150i64 {
            let created = now - chrono::Duration::minutes(300 - i);
            fake.put_attempt(REPO, run_object(REPO, 500 + i, 1, "completed", Some("success"), created), Vec::new());
        }
        let (poller, _store) = poller(&app, &settings(&fake, &[REPO])).await;
        let first = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(first.attempts, 150, "{first:?}");
        assert_eq!(total(&app, "").await, 150);

        let before = fake.requests("/").len();
        let second = poller.tick(Utc::now()).await.expect("poll");
        let after = fake.requests("/");
        assert_eq!(second.not_modified, 2, "{second:?}");
        assert_eq!(second.rows_changed, 0, "{second:?}");
        // Two conditional listings (runs, deployments), answered 304;
        // nothing else was needed.
        assert_eq!(after.len() - before, 2, "{:?}", &after[before..]);
        assert!(after[before..].iter().all(|r| r.status == 304), "{:?}", &after[before..]);
        assert_eq!(total(&app, "").await, 150);
    }

    async fn rate_limits_and_secondary_limits_are_waited_out(app: TestApp) {
        let fake = FakeGitHub::start().await;
        let now = whole_seconds(Utc::now());
        for i in 0..3i64 {
            let created = now - chrono::Duration::minutes(30 + i);
            let jobs = vec![job_object(REPO, 700 + i, 7_000 + i, "success", created)];
            fake.put_attempt(REPO, run_object(REPO, 700 + i, 1, "completed", Some("failure"), created), jobs);
        }
        {
            let mut state = fake.state();
            // The first listing spends the budget until 2 s from now; the
            // first jobs request meets a secondary limit asking for 1 s.
            state.script.push_back(("GET".into(), format!("/repos/{REPO}/actions/runs?"), Scripted::Exhausted { reset_in: 2 }));
            state.script.push_back(("GET".into(), format!("/repos/{REPO}/actions/runs/"), Scripted::SecondaryLimit { retry_after: 1 }));
            state.script.push_back(("GET".into(), format!("/repos/{REPO}/actions/runs/"), Scripted::ServerError));
        }
        let mut settings = settings(&fake, &[REPO]);
        settings.api.github_rate_share = 1.0;
        let (poller, _store) = poller(&app, &settings).await;
        let started = Instant::now();
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.failed, 0, "{stats:?}");
        assert_eq!(total(&app, "").await, 3);

        let log = fake.requests("/");
        let exhausted = log.iter().position(|l| l.target.contains("/actions/runs?")).expect("listing");
        let gap = log[exhausted + 1].at - log[exhausted].at;
        assert!(gap >= Duration::from_millis(900), "paused until the reset, waited {gap:?}");
        let limited = log.iter().position(|l| l.status == 403).expect("secondary limit served");
        let retry = log[limited + 1].at - log[limited].at;
        assert!(retry >= Duration::from_millis(950), "waited as told, {retry:?}");
        assert_eq!(log[limited + 1].target, log[limited].target, "the same request is retried");
        let failed = log.iter().position(|l| l.status == 502).expect("server error served");
        assert_eq!(log[failed + 1].target, log[failed].target, "a 5xx is retried");
        // 3 runs × (1 jobs request) + listings + the three retries.
        let jobs_requests = log.iter().filter(|l| l.target.contains("/jobs")).count();
        assert_eq!(jobs_requests, 3 + 2, "{log:#?}");
        assert!(started.elapsed() >= Duration::from_secs(2));
    }

    async fn an_attempt_left_in_progress_is_watched_until_it_completes(app: TestApp) {
        let fake = FakeGitHub::start().await;
        // The recorded in-progress run from the REST fixtures, created two
        // days ago: outside the incremental listing, so only the watch list
        // can repair it.
        let created = whole_seconds(Utc::now()) - chrono::Duration::days(2);
        let recorded: Value = serde_json::from_slice(&crate::helpers::fixture_bytes(
            "github/recorded/api/list-workflow-runs.in_progress.json",
        ))
        .expect("fixture");
        let mut run = recorded["workflow_runs"][0].clone();
        let id = run["id"].as_i64().expect("id");
        run["created_at"] = Value::String(iso(created));
        run["updated_at"] = Value::String(iso(created + chrono::Duration::seconds(10)));
        run["repository"]["full_name"] = Value::String(REPO.into());
        fake.put_attempt(REPO, run.clone(), Vec::new());
        let (poller, _store) = poller(&app, &settings(&fake, &[REPO])).await;
        poller.tick(Utc::now()).await.expect("first poll");
        let stored = attempts_of(&app, id).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0]["status"], "running");

        // It completed with a failure; its `completed` webhook never came.
        let mut done = run_object(REPO, id, 1, "completed", Some("failure"), created);
        done["name"] = run["name"].clone();
        let job = job_object(REPO, id, 77, "failure", created + chrono::Duration::seconds(20));
        fake.put_attempt(REPO, done, vec![job]);
        let stats = poller.tick(Utc::now()).await.expect("second poll");
        assert_eq!(stats.watched, 1, "{stats:?}");
        let stored = attempts_of(&app, id).await;
        assert_eq!(stored.len(), 1, "stored once: {stored:?}");
        assert_eq!(stored[0]["status"], "failed");
        assert_eq!(stored[0]["duration_seconds"], 90);
        assert!(!fake.requests(&format!("/repos/{REPO}/actions/runs/{id}/attempts/1")).is_empty());

        // Completed: no longer watched.
        let third = poller.tick(Utc::now()).await.expect("third poll");
        assert_eq!(third.watched, 0, "{third:?}");
    }

    async fn a_rerun_becomes_a_second_attempt_with_its_own_jobs(app: TestApp) {
        let fake = FakeGitHub::start().await;
        let created = whole_seconds(Utc::now()) - chrono::Duration::hours(2);
        let run_id = 4242;
        fake.put_attempt(
            REPO,
            run_object(REPO, run_id, 1, "completed", Some("failure"), created),
            vec![job_object(REPO, run_id, 1, "failure", created + chrono::Duration::seconds(12))],
        );
        let (poller, _store) = poller(&app, &settings(&fake, &[REPO])).await;
        poller.tick(Utc::now()).await.expect("first poll");
        assert_eq!(attempts_of(&app, run_id).await.len(), 1);

        // "Re-run failed jobs": attempt 2 of the same run, same run number.
        fake.put_attempt(
            REPO,
            run_object(REPO, run_id, 2, "completed", Some("success"), created),
            vec![job_object(REPO, run_id, 2, "success", created + chrono::Duration::seconds(115))],
        );
        poller.tick(Utc::now()).await.expect("second poll");
        let attempts = attempts_of(&app, run_id).await;
        assert_eq!(attempts.len(), 2, "{attempts:?}");
        assert_eq!((attempts[0]["run_attempt"].as_i64(), attempts[0]["status"].as_str()), (Some(1), Some("failed")));
        assert_eq!((attempts[1]["run_attempt"].as_i64(), attempts[1]["status"].as_str()), (Some(2), Some("success")));
        assert_eq!(attempts[0]["run_number"], attempts[1]["run_number"]);
        // The recorded jobs carry no run_attempt: each lands on the attempt
        // whose jobs were asked for.
        let second = app.build(&attempts[1]["id"]).await;
        let jobs = second["jobs"].as_array().expect("jobs");
        assert_eq!(jobs.len(), 1, "{second}");
        assert_eq!(jobs[0]["external_id"], "2");
    }

    async fn a_missing_repository_is_marked_gone_and_not_polled_again(app: TestApp) {
        let fake = FakeGitHub::start().await;
        let created = whole_seconds(Utc::now()) - chrono::Duration::hours(1);
        fake.put_attempt(REPO, run_object(REPO, 1, 1, "completed", Some("success"), created), Vec::new());
        fake.state().gone.insert("octo-org/deleted".into());
        let (poller, _store) = poller(&app, &settings(&fake, &[REPO, "octo-org/deleted"])).await;
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.failed, 1, "{stats:?}");
        assert_eq!(fake.requests("/repos/octo-org/deleted/").len(), 1, "404 is not retried");
        let answer = providers(&app).await;
        let gone = repo_entry(&answer, "octo-org/deleted");
        assert_eq!(gone["state"], "gone", "{gone}");
        assert!(gone["state_reason"].as_str().expect("reason").contains("404"), "{gone}");
        assert_eq!(repo_entry(&answer, REPO)["state"], "active");
        // A gone repository does not make the poller degraded.
        assert_eq!(answer["poller"], "ok");

        poller.tick(Utc::now()).await.expect("poll again");
        assert_eq!(fake.requests("/repos/octo-org/deleted/").len(), 1, "not polled every cycle");
        assert_eq!(total(&app, "").await, 1);
    }

    async fn a_failing_repository_shows_in_providers_and_health_without_failing_liveness(app: TestApp) {
        let fake = FakeGitHub::start().await;
        {
            let mut state = fake.state();
            for _ in 0..10 {
                state.script.push_back(("GET".into(), format!("/repos/{REPO}/"), Scripted::ServerError));
            }
        }
        let (poller, _store) = poller(&app, &settings(&fake, &[REPO])).await;
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.failed, 1, "{stats:?}");
        let answer = providers(&app).await;
        assert_eq!(answer["poller"], "degraded");
        let entry = repo_entry(&answer, REPO);
        assert!(entry["last_error"].as_str().expect("error").contains("502"), "{entry}");
        assert!(!entry.to_string().contains("ghp_test_token_value"), "no secret in answers");
        let (status, health) = app.get("/health").await;
        assert_eq!(status, 200, "{health}");
        assert_eq!(health["poller"], "degraded");
    }
}

on_both_backends! {
    async fn a_webhook_fed_run_whose_completed_delivery_was_missed_is_reconciled(app: TestApp) {
        // No repository is polled: only webhooks feed this one.
        let fake = FakeGitHub::start().await;
        let started = whole_seconds(Utc::now()) - chrono::Duration::minutes(30);
        let run = crate::payloads::Run::new(8_001, started);
        app.deliver_json("workflow_run", &run.at("in_progress", None, 5).payload(), "stored").await;
        fake.put_attempt(REPO, run_object(REPO, 8_001, 1, "completed", Some("failure"), started), Vec::new());
        let (poller, _store) = poller(&app, &settings(&fake, &[])).await;

        // Not stale yet: GitHub is not asked.
        let fresh = poller.reconcile(Utc::now()).await.expect("reconcile");
        assert_eq!(fresh.watched, 0, "{fresh:?}");
        assert!(fake.requests("/").is_empty());

        let later = Utc::now() + chrono::Duration::minutes(11);
        let stats = poller.reconcile(later).await.expect("reconcile");
        assert_eq!((stats.watched, stats.failed), (1, 0), "{stats:?}");
        let stored = attempts_of(&app, 8_001).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0]["status"], "failed", "{stored:?}");
        let again = poller.reconcile(later).await.expect("reconcile");
        assert_eq!(again.watched, 0, "completed: no longer stale");
    }
}

/// Runs `cicd-dashboard poll` as a child process.
fn poll_command(fake: &FakeGitHub, database_url: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"));
    command
        .args(["poll", "--repo", REPO, "--since", "5d", "--database-url", database_url])
        .env("GITHUB_API_URL", fake.url())
        .env("GITHUB_TOKEN", "ghp_test_token_value")
        .env("CICD_SECRET_KEY", crate::helpers::SECRET_KEY)
        .env("RUST_LOG", "warn")
        .env_remove("CICD_GITHUB_REPOS");
    command
}

on_both_backends! {
    async fn a_killed_backfill_resumes_from_its_checkpoint(app: TestApp) {
        let fake = FakeGitHub::start().await;
        let now = whole_seconds(Utc::now());
        // 20 runs a day over five days.
        for i in 0..100i64 {
            let created = now - chrono::Duration::minutes(5 * 24 * 60 - 10 - i * 72);
            fake.put_attempt(REPO, run_object(REPO, 3_000 + i, 1, "completed", Some("success"), created), Vec::new());
        }
        // Listings from day three on hang: the process is stuck there.
        fake.state().hang_from = Some(now - chrono::Duration::days(3) + chrono::Duration::hours(1));
        let mut child = poll_command(&fake, &app.database_url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start poll");
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        let deadline = Instant::now() + Duration::from_secs(60);
        let checkpoint = loop {
            let repo = store.poll_state().poll_repo(ProviderKind::GitHub, REPO).await.expect("read");
            if let Some(done) = repo.and_then(|r| r.backfill_done_until)
                && done >= now - chrono::Duration::days(3)
            {
                break done;
            }
            assert!(Instant::now() < deadline, "the backfill made no progress");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        child.kill().expect("kill");
        let _ = child.wait();
        let stored_before = total(&app, "").await;
        assert!((40..100).contains(&stored_before), "{stored_before}");
        let listed_before: Vec<String> =
            fake.requests(&format!("/repos/{REPO}/actions/runs?")).into_iter().map(|l| l.target).collect();

        fake.state().hang_from = None;
        let output = poll_command(&fake, &app.database_url).output().expect("run poll again");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stdout}\n{stderr}");
        assert!(stderr.contains("resuming the backfill"), "{stderr}");
        assert!(stdout.contains(REPO) && stdout.contains("runs listed"), "{stdout}");
        assert_eq!(total(&app, "").await, 100, "every run once");
        // No window finished before the kill was listed again.
        let listed_after: Vec<String> = fake
            .requests(&format!("/repos/{REPO}/actions/runs?"))
            .into_iter()
            .map(|l| l.target)
            .skip(listed_before.len())
            .collect();
        let checkpoint_query = iso(checkpoint).replace(':', "%3A");
        for target in &listed_after {
            if let Some(created) = target.split("created=").nth(1).and_then(|c| c.split("..").next())
                && !created.starts_with("%3E")
            {
                assert!(created >= checkpoint_query.as_str(), "re-listed {target} before {checkpoint_query}");
            }
        }
        assert!(listed_after.len() < listed_before.len() + 5, "{listed_after:?}");
    }

    async fn a_github_app_mints_one_installation_token_and_discovers_repositories(app: TestApp) {
        let fake = FakeGitHub::start().await;
        let created = whole_seconds(Utc::now()) - chrono::Duration::hours(1);
        fake.put_attempt("octo-org/web", run_object("octo-org/web", 11, 1, "completed", Some("success"), created), Vec::new());
        fake.put_attempt("octo-org/api", run_object("octo-org/api", 12, 1, "completed", Some("failure"), created), Vec::new());
        {
            let mut state = fake.state();
            state.repositories = vec![("octo-org/web".into(), false), ("octo-org/api".into(), false), ("octo-org/old".into(), true)];
            state.installation_token = Some("ghs_installation_token".into());
        }
        let settings = GitHubPollSettings {
            api: GitHubApiSettings {
                github_api_url: fake.url(),
                github_app_id: Some("4711".into()),
                github_app_private_key_file: Some(crate::helpers::fixture_path("github-app-test-key.pem")),
                ..GitHubApiSettings::default()
            },
            backfill_days: 1,
            github_retry_base_ms: 20,
            ..GitHubPollSettings::default()
        };
        let (poller, _store) = poller(&app, &settings).await;
        let found = poller.discover(Utc::now()).await.expect("discover");
        assert_eq!((found.seen, found.added, found.archived), (3, 3, 1));
        let stats: PollStats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.repos, 2, "the archived repository is not polled: {stats:?}");
        assert_eq!(total(&app, "").await, 2);

        let tokens = fake.requests("/app/installations/7/access_tokens");
        assert_eq!(tokens.len(), 1, "one installation token for every request");
        assert_eq!(tokens[0].method, "POST");
        let jwt = tokens[0].authorization.clone().expect("app JWT");
        // Signed RS256 by the app's key, issued by the app, short-lived.
        let public = jsonwebtoken::DecodingKey::from_rsa_pem(&crate::helpers::fixture_bytes("github-app-test-key.pub.pem"))
            .expect("public key");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_issuer(&["4711"]);
        let claims = jsonwebtoken::decode::<Value>(jwt.trim_start_matches("Bearer "), &public, &validation)
            .expect("a valid app JWT")
            .claims;
        let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
        assert!(lifetime <= 600, "GitHub accepts at most 10 minutes: {claims}");
        let api_calls = fake.requests("/repos/");
        assert!(!api_calls.is_empty());
        assert!(api_calls.iter().all(|l| l.authorization.as_deref() == Some("Bearer ghs_installation_token")));
        let answer = providers(&app).await;
        assert_eq!(repo_entry(&answer, "octo-org/old")["state"], "archived");
        assert_eq!(repo_entry(&answer, "octo-org/web")["source"], "discovered");
    }

    async fn serve_polls_the_configured_repositories_by_itself(app: TestApp) {
        let fake = FakeGitHub::start().await;
        let created = whole_seconds(Utc::now()) - chrono::Duration::hours(1);
        for i in 0..5 {
            fake.put_attempt(REPO, run_object(REPO, 60 + i, 1, "completed", Some("success"), created), Vec::new());
        }
        let url = fake.url();
        let server = TestApp::spawn_replica_with(&app, &app.database_url, |s| {
            s.no_worker = false;
            s.worker.scheduler_tick = 1;
            s.worker.github = GitHubPollSettings {
                api: GitHubApiSettings {
                    github_api_url: url,
                    github_token: Some(Secret::from("ghp_test_token_value")),
                    ..GitHubApiSettings::default()
                },
                repos: vec![REPO.into()],
                poll_interval: 1,
                backfill_days: 1,
                ..GitHubPollSettings::default()
            };
        })
        .await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = providers(&server).await;
            let polled = answer["repos"].as_array().is_some_and(|repos| {
                repos.iter().any(|r| r["repo"] == REPO && r["last_success_at"].is_string())
            });
            if polled {
                break;
            }
            assert!(Instant::now() < deadline, "the poller did not finish a poll: {answer}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(total(&server, "").await, 5);
        assert_eq!(fake.requests(&format!("/repos/{REPO}/actions/runs/6")).len(), 5, "jobs of each run");
    }
}
