//! GitLab's deployments REST backfill against a fake API
//! (`fake_gitlab_deployments`), on both back ends: a backfill's
//! hand-worked DORA figures, the next pass asking only after its cursor,
//! and hook-then-poll and poll-then-hook converging on identical rows.

use chrono::{DateTime, Duration, Utc};
use cicd_dashboard::config::{GitLabApiSettings, GitLabPollSettings};
use cicd_dashboard::providers::gitlab::Poller;
use cicd_dashboard::providers::gitlab::poller::PollTiming;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::store::Store;
use serde_json::{Value, json};

use crate::fake_gitlab_deployments::FakeGitLabDeployments;
use crate::gitlab_payloads::deliver;
use crate::helpers::{TestApp, fixture_bytes};
use crate::on_both_backends;
use crate::payloads::minutes_ago;

const PROJECT: &str = "group/api";
const TIMING: PollTiming = PollTiming { poll_interval: 300, discovery_interval: 3600, backfill_days: 3 };

async fn poller(app: &TestApp, fake: &FakeGitLabDeployments) -> Poller {
    let settings = GitLabPollSettings {
        api: GitLabApiSettings {
            gitlab_url: vec![fake.url()],
            gitlab_token: vec![Secret::from("glpat-test-token")],
            gitlab_retry_base_ms: 20,
            ..GitLabApiSettings::default()
        },
        gitlab_projects: vec![PROJECT.to_owned()],
        gitlab_groups: Vec::new(),
    };
    let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
    Poller::from_settings(&settings, TIMING, &store).expect("settings").expect("something to poll")
}

fn sha(name: &str) -> String {
    format!("{name:0>40}")
}

/// The `Deployment Hook` GitLab sends when deployment `id` reaches
/// `status` at `at`.
fn hook(id: i64, commit: &str, status: &str, at: DateTime<Utc>) -> Value {
    let mut hook: Value =
        serde_json::from_slice(&fixture_bytes("gitlab/webhooks/deployment.json")).expect("json");
    hook["deployment_id"] = json!(id);
    hook["deployable_id"] = json!(9000 + id);
    hook["deployable_url"] = json!(format!("https://gitlab.example.com/{PROJECT}/-/jobs/{}", 9000 + id));
    hook["status"] = json!(status);
    hook["status_changed_at"] = json!(at.format("%Y-%m-%d %H:%M:%S +0000").to_string());
    hook["environment"] = json!("production");
    hook["project"]["path_with_namespace"] = json!(PROJECT);
    hook["commit_url"] = json!(format!("https://gitlab.example.com/{PROJECT}/-/commit/{}", sha(commit)));
    hook
}

async fn deployments(app: &TestApp) -> Vec<Value> {
    let (status, list) = app.get("/api/deployments?window_days=7&provider=gitlab").await;
    assert_eq!(status, 200, "{list}");
    list["deployments"].as_array().expect("array").clone()
}

on_both_backends! {
    // Production deployments of group/api: 11 of c success 3 h ago; 12 of
    // d failed 2 h ago; 13 of e success 1 h ago; 14 skipped 50 min ago;
    // 15 running since 10 min ago (pending); 10 finished 5 days ago
    // (before the 3-day backfill: not listed).
    //
    // Counted: 11, 12, 13 → 3. Frequency 2 / 7 days; CFR 1/3; time to
    // restore: 12 fails 2 h ago, 13 restores 1 h ago → 3600 s.
    async fn a_gitlab_deployment_backfill_gives_the_hand_worked_figures(app: TestApp) {
        let base = minutes_ago(0);
        let ago = |minutes: i64| base - Duration::minutes(minutes);
        let fake = FakeGitLabDeployments::start(PROJECT).await;
        fake.put(10, "production", &sha("b"), "success", base - Duration::days(5), base - Duration::days(5));
        fake.put(11, "production", &sha("c"), "success", ago(190), ago(180));
        fake.put(12, "production", &sha("d"), "failed", ago(130), ago(120));
        fake.put(13, "production", &sha("e"), "success", ago(70), ago(60));
        fake.put(14, "production", &sha("f"), "skipped", ago(55), ago(50));
        fake.put(15, "production", &sha("g"), "running", ago(12), ago(10));

        let poller = poller(&app, &fake).await;
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!((stats.deployments, stats.failed), (5, 0), "{stats:?} {:?}", fake.requests("/"));
        let (status, body) = app.get("/api/dora?window_days=7&provider=gitlab").await;
        assert_eq!(status, 200, "{body}");
        let current = &body["current"];
        assert_eq!(current["deployment_frequency"]["deployments"], 2, "{body}");
        assert_eq!(current["change_failure_rate"]["deployments"], 3, "{body}");
        assert!((current["change_failure_rate"]["rate"].as_f64().expect("f64") - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(current["time_to_restore"]["median_seconds"], 3600.0, "{body}");
        assert_eq!(current["time_to_restore"]["restored"], 1);
        let listed = deployments(&app).await;
        assert!(listed.iter().all(|d| d["deployment_id"] != "10"), "10 is before the backfill");
        let pending = listed.iter().find(|d| d["deployment_id"] == "15").expect("15");
        assert_eq!(pending["outcome"], "pending");

        // 15 succeeds: the next pass asks only after the cursor (15's last
        // change) and stores it alone.
        fake.put(15, "production", &sha("g"), "success", ago(12), ago(2));
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(stats.deployments, 1, "{stats:?}");
        let asked = fake.requests("/api/v4/projects/42/deployments");
        let last = asked.last().expect("asked");
        let cursor = (base - Duration::minutes(10)).format("%Y-%m-%dT%H%%3A%M%%3A%SZ").to_string();
        assert!(last.contains(&format!("updated_after={cursor}")), "{last}");
        let (_, body) = app.get("/api/dora?window_days=7&provider=gitlab").await;
        assert_eq!(body["current"]["deployment_frequency"]["deployments"], 3, "{body}");
    }

    // Deployment 21 is told by its hook and then polled, 22 polled and
    // then told by its hook, 23 only polled: identical rows.
    async fn hook_then_poll_and_poll_then_hook_give_identical_rows(app: TestApp) {
        let base = minutes_ago(0);
        let ago = |minutes: i64| base - Duration::minutes(minutes);
        let fake = FakeGitLabDeployments::start(PROJECT).await;
        deliver(&app, "Deployment Hook", &hook(21, "abc", "success", ago(20)), "stored").await;
        for id in [21, 22, 23] {
            fake.put(id, "production", &sha("abc"), "success", ago(30), ago(20));
        }
        poller(&app, &fake).await.tick(Utc::now()).await.expect("poll");
        deliver(&app, "Deployment Hook", &hook(22, "abc", "success", ago(20)), "stored").await;

        let mut rows: Vec<Value> = deployments(&app)
            .await
            .into_iter()
            .map(|mut d| {
                let id = d["deployment_id"].as_str().expect("id").to_owned();
                let url = d["url"].as_str().unwrap_or_default().replace(&format!("/{}", 9000 + id.parse::<i64>().expect("n")), "/JOB");
                d["url"] = json!(url);
                d["deployment_id"] = json!("ID");
                d.as_object_mut().expect("object").remove("id");
                d
            })
            .collect();
        assert_eq!(rows.len(), 3, "{rows:?}");
        let first = rows.remove(0);
        assert!(rows.iter().all(|row| *row == first), "{first} vs {rows:?}");
        assert_eq!(first["outcome"], "success");
        assert!(first["created_at"].is_string(), "the listing's creation time is kept: {first}");
    }
}
