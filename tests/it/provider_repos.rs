//! A repository name that exists on two providers (`grp/app` on GitHub
//! and on GitLab) stays two things: `GET /api/repos` lists it once per
//! provider with `provider_kind` and takes a `provider` filter, and the
//! health table makes one line per provider.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::Value;

use crate::gitlab_payloads::{HookJob, Pipeline, deliver};
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

const WORKFLOW: &str = "Pipeline for branch: main";

/// GitHub: run 1 failed (started 40 min ago), run 2 passed (20 min ago);
/// GitLab: one pipeline that passed, created 30 min ago. Answers the
/// starts of GitHub's latest and of the pipeline (RFC 3339).
async fn seed(app: &TestApp) -> (String, String) {
    let mut latest = String::new();
    for (id, minutes, conclusion) in [(1, 40, "failure"), (2, 20, "success")] {
        let mut run = Run::new(id, minutes_ago(minutes));
        run.repo = "grp/app".into();
        run.workflow = WORKFLOW.into();
        latest = run.started_at.to_rfc3339_opts(SecondsFormat::Secs, true);
        app.deliver_json("workflow_run", &run.at("completed", Some(conclusion), 60).payload(), "stored")
            .await;
    }
    let created = Utc::now() - Duration::minutes(30);
    let created = chrono::DateTime::from_timestamp(created.timestamp(), 0).expect("time");
    let at = |s: i64| created + Duration::seconds(s);
    let pipeline = Pipeline { id: 4_100, project: "grp/app", created };
    let job = HookJob {
        id: 41_001,
        name: "test",
        status: "success",
        created,
        started: Some(at(5)),
        finished: Some(at(65)),
        retries_count: 0,
        allow_failure: false,
    };
    deliver(app, "Pipeline Hook", &pipeline.hook("success", Some(at(70)), &[&job]), "stored").await;
    (latest, created.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn pairs(list: &Value, key: &str) -> Vec<(String, String)> {
    list[key]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| {
            (
                r["repo"].as_str().expect("repo").to_owned(),
                r["provider_kind"].as_str().expect("kind").to_owned(),
            )
        })
        .collect()
}

on_both_backends! {
    async fn repos_and_health_tell_providers_apart(app: TestApp) {
        let (github_latest, gitlab_start) = seed(&app).await;
        let (status, repos) = app.get("/api/repos").await;
        assert_eq!(status, 200, "{repos}");
        let both = vec![("grp/app".to_owned(), "github".to_owned()), ("grp/app".to_owned(), "gitlab".to_owned())];
        assert_eq!(pairs(&repos, "repos"), both);
        assert_eq!(repos["repos"][0]["provider_name"], "GitHub Actions");
        assert_eq!(repos["repos"][0]["last_started_at"], github_latest.as_str(), "run 2, the later GitHub one");
        assert_eq!(repos["repos"][1]["provider_name"], "GitLab CI");
        assert_eq!(repos["repos"][1]["last_started_at"], gitlab_start.as_str(), "the pipeline's job creation");

        let (_, only) = app.get("/api/repos?provider=gitlab").await;
        assert_eq!(pairs(&only, "repos"), both[1..].to_vec());
        let (_, none) = app.get("/api/repos?provider=jenkins").await;
        assert_eq!(none["repos"], serde_json::json!([]));
        let (status, problem) = app.get("/api/repos?provider=gitlub").await;
        assert_eq!(status, 422, "{problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("provider must be one of")), "{problem}");

        // By hand: GitHub 2 builds (1 failed, 1 success → rate 0.5, latest
        // run 2), GitLab 1 (success → rate 1.0); one line each, same
        // repository and workflow, github first.
        let (status, health) = app.get("/api/metrics/health").await;
        assert_eq!(status, 200, "{health}");
        assert_eq!(pairs(&health, "rows"), both);
        let figures: Vec<(i64, f64)> = health["rows"].as_array().expect("rows").iter()
            .map(|l| (l["total_builds"].as_i64().expect("n"), l["success_rate"].as_f64().expect("rate")))
            .collect();
        assert_eq!(figures, [(2, 0.5), (1, 1.0)]);
        assert!(health["rows"].as_array().expect("rows").iter().all(|l| l["workflow"] == WORKFLOW));
        assert_eq!(health["rows"][1]["provider_name"], "GitLab CI");
        let (_, gitlab) = app.get("/api/metrics/health?provider=gitlab").await;
        assert_eq!(pairs(&gitlab, "rows"), both[1..].to_vec());
    }
}
