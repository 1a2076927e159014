//! GitHub's deployments REST backfill against a fake API
//! (`fake_github_deployments`), on both back ends: a backfill's hand-worked
//! DORA figures, what later polls ask again (a pending deployment until it
//! finishes, then a 304), and webhook-then-poll and poll-then-webhook
//! converging on identical rows.

use chrono::{DateTime, Duration, Utc};
use cicd_dashboard::config::{GitHubApiSettings, GitHubPollSettings};
use cicd_dashboard::providers::github::Poller;
use cicd_dashboard::secret::Secret;
use cicd_dashboard::store::Store;
use serde_json::{Value, json};

use crate::fake_github_deployments::FakeDeployments;
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::minutes_ago;

pub fn settings(api_url: &str, repos: &[&str]) -> GitHubPollSettings {
    GitHubPollSettings {
        api: GitHubApiSettings {
            github_api_url: api_url.to_owned(),
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

pub async fn poller(app: &TestApp, settings: &GitHubPollSettings) -> Poller {
    let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
    Poller::from_settings(settings, &store).expect("settings").expect("something to poll")
}

pub fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn sha(name: &str) -> String {
    format!("{name:0>40}")
}

pub async fn dora(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get(&format!("/api/dora?{query}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The deployments `/api/deployments` lists for `repo`, by deployment id,
/// without the stored id and the repository.
async fn rows(app: &TestApp, repo: &str) -> Vec<Value> {
    let (status, list) = app.get("/api/deployments?window_days=7").await;
    assert_eq!(status, 200, "{list}");
    let mut rows: Vec<Value> = list["deployments"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|d| d["repository"] == repo)
        .map(|d| {
            let mut d = d.clone();
            d.as_object_mut().expect("object").remove("id");
            d.as_object_mut().expect("object").remove("repository");
            d
        })
        .collect();
    rows.sort_by_key(|d| d["deployment_id"].as_str().unwrap_or_default().to_owned());
    rows
}

on_both_backends! {
    // Pushes: a (5 h ago), b (4 h ago) onto main, then c (2 h 30 min
    // ago), d (1 h 30 min ago). Deployments listed by the API (production
    // unless said): 1 of b created 3 h 10 min ago, in_progress 3 h 05 min
    // ago, success 3 h ago; 2 of c failure 2 h ago; 3 of d success 1 h ago;
    // 4 of d to staging, success 45 min ago; 5 of d in_progress (pending);
    // and, listed last (GitHub lists newest first), 0 of a created 10 days
    // ago (before the 3-day backfill: not asked).
    //
    // Counted production: 1, 2, 3 → 3. Frequency 2 / 7 days. CFR 1/3
    // (low: > 30 %). Lead times: 1 carries a (3 h − 5 h = 7200 s) and b
    // (3600 s), 3 carries c (5400 s) and d (1800 s) → [1800, 3600, 5400,
    // 7200]: median 4500, p90 5400 + 0.7 × 1800 = 6660. Time to restore:
    // 2 fails 2 h ago, 3 restores 1 h ago → 3600 s, 1 restored.
    async fn a_deployment_backfill_gives_the_hand_worked_figures(app: TestApp) {
        const REPO: &str = "acme/web";
        let base = minutes_ago(0);
        let ago = |minutes: i64| base - Duration::minutes(minutes);
        let pushes = [
            json!({"ref": "refs/heads/main", "before": sha("0"), "after": sha("b"), "repository": {"full_name": REPO},
                   "commits": [{"id": sha("a"), "timestamp": ts(ago(300))}, {"id": sha("b"), "timestamp": ts(ago(240))}]}),
            json!({"ref": "refs/heads/main", "before": sha("b"), "after": sha("d"), "repository": {"full_name": REPO},
                   "commits": [{"id": sha("c"), "timestamp": ts(ago(150))}, {"id": sha("d"), "timestamp": ts(ago(90))}]}),
        ];
        for push in &pushes {
            app.deliver_json("push", push, "stored").await;
        }
        let fake = FakeDeployments::start().await;
        fake.put_deployment(REPO, 1, "production", &sha("b"), ago(190));
        fake.put_status(1, "in_progress", ago(185));
        fake.put_status(1, "success", ago(180));
        fake.put_deployment(REPO, 2, "production", &sha("c"), ago(130));
        fake.put_status(2, "failure", ago(120));
        fake.put_deployment(REPO, 3, "production", &sha("d"), ago(70));
        fake.put_status(3, "success", ago(60));
        fake.put_deployment(REPO, 4, "staging", &sha("d"), ago(50));
        fake.put_status(4, "success", ago(45));
        fake.put_deployment(REPO, 5, "production", &sha("d"), ago(10));
        fake.put_status(5, "in_progress", ago(9));
        fake.put_deployment(REPO, 0, "production", &sha("a"), base - Duration::days(10));
        fake.put_status(0, "success", base - Duration::days(10));

        let poller = poller(&app, &settings(&fake.url(), &[REPO])).await;
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!((stats.deployments, stats.failed), (5, 0), "{stats:?} {:?}", fake.requests("/"));
        assert!(fake.requests(&format!("/repos/{REPO}/deployments/0/")).is_empty(), "0 is before the backfill");

        let body = dora(&app, "window_days=7").await;
        let current = &body["current"];
        assert_eq!(current["deployment_frequency"]["deployments"], 2, "{body}");
        assert!((current["deployment_frequency"]["per_day"].as_f64().expect("f64") - 2.0 / 7.0).abs() < 1e-9);
        assert_eq!(current["change_failure_rate"]["deployments"], 3, "{body}");
        assert!((current["change_failure_rate"]["rate"].as_f64().expect("f64") - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(current["change_failure_rate"]["level"], "low");
        assert_eq!(current["lead_time"]["commits"], 4, "{body}");
        assert_eq!(current["lead_time"]["median_seconds"], 4500.0);
        assert_eq!(current["lead_time"]["p90_seconds"], 6660.0);
        assert_eq!(current["time_to_restore"]["median_seconds"], 3600.0, "{body}");
        assert_eq!(current["time_to_restore"]["restored"], 1);

        // The next poll asks only about the pending deployment 5 (the
        // others are stored final; the listing stops at 5).
        let asked = |fake: &FakeDeployments| fake.requests(&format!("/repos/{REPO}/deployments/")).len();
        let before = asked(&fake);
        let stats = poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(asked(&fake) - before, 1, "{:?}", fake.requests("/repos"));
        assert_eq!(stats.deployments, 1);
        // 5 succeeds: the next poll stores it; the one after is a 304.
        fake.put_status(5, "success", ago(2));
        poller.tick(Utc::now()).await.expect("poll");
        let listings = fake.requests(&format!("/repos/{REPO}/deployments?"));
        let before = (asked(&fake), listings.len());
        let stats = poller.tick(Utc::now()).await.expect("poll");
        let listings = fake.requests(&format!("/repos/{REPO}/deployments?"));
        assert_eq!((asked(&fake), listings.len()), (before.0, before.1 + 1));
        assert_eq!(listings.last().map(|l| l.1), Some(304));
        assert_eq!(stats.deployments, 0);
        let body = dora(&app, "window_days=7").await;
        assert_eq!(body["current"]["deployment_frequency"]["deployments"], 3, "{body}");
    }

    // The same deployment (created, in_progress, success) of two
    // repositories: one told by webhooks then polled, the other polled
    // then told by webhooks; a third only polled. The rows are identical.
    async fn webhook_then_poll_and_poll_then_webhook_give_identical_rows(app: TestApp) {
        let base = minutes_ago(0);
        let ago = |minutes: i64| base - Duration::minutes(minutes);
        let repos = ["acme/first-webhook", "acme/first-poll", "acme/poll-only"];
        let fake = FakeDeployments::start().await;
        for (n, repo) in repos.iter().enumerate() {
            let id = 40 + n as i64;
            fake.put_deployment(repo, id, "production", &sha("e"), ago(30));
            fake.put_status(id, "in_progress", ago(25));
            fake.put_status(id, "success", ago(20));
        }
        let deliver = |repo: &'static str, id: i64| {
            let fake = &fake;
            let app = &app;
            async move {
                let (object, statuses) = {
                    let state = fake.state();
                    (state.deployments[&(repo.to_owned(), id)].clone(), state.statuses[&id].clone())
                };
                let repository = json!({"full_name": repo});
                let created = json!({"action": "created", "deployment": object, "repository": repository});
                app.deliver_json("deployment", &created, "stored").await;
                for status in statuses {
                    let event = json!({"action": "created", "deployment": object, "deployment_status": status, "repository": repository});
                    app.deliver_json("deployment_status", &event, "stored").await;
                }
            }
        };
        deliver(repos[0], 40).await;
        let poller = poller(&app, &settings(&fake.url(), &repos)).await;
        poller.tick(Utc::now()).await.expect("poll");
        deliver(repos[1], 41).await;

        let rows: Vec<Vec<Value>> = {
            let mut all = Vec::new();
            for repo in repos {
                let mut found = rows(&app, repo).await;
                for row in &mut found {
                    let id = format!("/{}", row["deployment_id"].as_str().unwrap_or_default());
                    let url = row["url"].as_str().unwrap_or_default().replace(repo, "REPO").replace(&id, "/ID");
                    row["url"] = json!(url);
                    row["deployment_id"] = json!("ID");
                }
                all.push(found);
            }
            all
        };
        assert_eq!(rows[0].len(), 1, "{rows:?}");
        assert_eq!(rows[0], rows[1]);
        assert_eq!(rows[1], rows[2]);
        assert_eq!(rows[0][0]["outcome"], "success");
        assert_eq!(rows[0][0]["status"], "success");
        // The `deployment` delivery comes first at GitHub: its URL is kept.
        assert_eq!(rows[0][0]["url"], "https://api.github.com/repos/REPO/deployments/ID");
    }
}

on_both_backends! {
    // No push webhooks for acme/big. Deployment 1 of b succeeds 3 h ago
    // (no earlier success: no base, nothing asked), 2 of d succeeds 1 h
    // ago: compare b...d lists c (committed 2 h 30 min ago, authored 3 h
    // ago) and d (committed 1 h 30 min ago). Lead times of 2: c 5400 s,
    // d 1800 s → median 3600, p90 1800 + 0.9 × 3600 = 5040. A later pass
    // asks nothing again.
    async fn a_deployment_without_pushed_commits_gets_them_from_compare(app: TestApp) {
        const REPO: &str = "acme/big";
        let base = minutes_ago(0);
        let ago = |minutes: i64| base - Duration::minutes(minutes);
        let fake = FakeDeployments::start().await;
        fake.put_deployment(REPO, 1, "production", &sha("b"), ago(185));
        fake.put_status(1, "success", ago(180));
        fake.put_deployment(REPO, 2, "production", &sha("d"), ago(65));
        fake.put_status(2, "success", ago(60));
        let commit = |name: &str, authored: DateTime<Utc>, committed: DateTime<Utc>| {
            json!({"sha": sha(name), "commit": {"author": {"name": "Mona", "date": ts(authored)},
                   "committer": {"name": "Mona", "date": ts(committed)}, "message": name}})
        };
        fake.state().compares.insert(
            (REPO.to_owned(), format!("{}...{}", sha("b"), sha("d"))),
            vec![commit("c", ago(180), ago(150)), commit("d", ago(90), ago(90))],
        );
        let poller = poller(&app, &settings(&fake.url(), &[REPO])).await;
        poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(fake.requests(&format!("/repos/{REPO}/compare/")).len(), 1, "{:?}", fake.requests("/"));

        let body = dora(&app, "window_days=7").await;
        let lead = &body["current"]["lead_time"];
        assert_eq!(lead["commits"], 2, "{body}");
        assert_eq!(lead["median_seconds"], 3600.0, "{body}");
        assert_eq!(lead["p90_seconds"], 5040.0, "{body}");

        poller.tick(Utc::now()).await.expect("poll");
        assert_eq!(fake.requests(&format!("/repos/{REPO}/compare/")).len(), 1);
    }
}
