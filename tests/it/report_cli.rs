//! `cicd-dashboard report` (the real binary) against a real server, with
//! the environment a Jenkins or Buildkite step has, and its error exits.

use std::process::{Command, Output};

use crate::helpers::{TOKEN, TestApp};
use crate::on_both_backends;

/// Runs `report ARGS` with exactly `env` (nothing inherited) and the
/// server's URL and ingest token.
fn report(app: &TestApp, env: &[(&str, &str)], args: &[&str]) -> Output {
    tokio::task::block_in_place(|| {
        Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
            .arg("report")
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .env("CICD_URL", &app.base)
            .env("CICD_INGEST_TOKEN", TOKEN)
            .output()
            .expect("run report")
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const JENKINS: &[(&str, &str)] = &[
    ("JENKINS_URL", "https://jenkins.example.com/"),
    ("JOB_NAME", "shop/api/main"),
    ("BRANCH_NAME", "main"),
    ("BUILD_ID", "153"),
    ("BUILD_NUMBER", "153"),
    ("GIT_COMMIT", "ce9a3c1404e8c91be604088670e93434c4253f03"),
    ("BUILD_URL", "https://jenkins.example.com/job/shop/job/api/job/main/153/"),
    ("NODE_NAME", "agent-7"),
    ("NODE_LABELS", "linux docker"),
];

on_both_backends! {
    async fn a_jenkins_pipeline_reports_its_run_and_job(app: TestApp) {
        // started 10:00:00, job 10:00:20–10:04:20, finished 10:05:00 (UTC, on 2026-12-01):
        // duration 300 s, queue 20 s, job 240 s.
        let steps: [&[&str]; 4] = [
            &["run", "--status", "started", "--started-at", "2026-12-01T10:00:00Z", "--workflow", "Jenkinsfile"],
            &["job", "--status", "started", "--job-id", "shop-api-153-test", "--name", "test",
              "--created-at", "2026-12-01T10:00:00Z", "--started-at", "2026-12-01T10:00:20Z"],
            &["job", "--status", "completed", "--job-id", "shop-api-153-test", "--conclusion", "SUCCESS",
              "--started-at", "2026-12-01T10:00:20Z", "--completed-at", "2026-12-01T10:04:20Z"],
            &["run", "--status", "completed", "--conclusion", "UNSTABLE", "--completed-at", "2026-12-01T10:05:00Z"],
        ];
        for args in steps {
            let out = report(&app, JENKINS, args);
            assert!(out.status.success(), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
            assert!(text(&out.stdout).starts_with("applied:"), "{}", text(&out.stdout));
        }
        // The same step again (a retried post block) is a duplicate, exit 0.
        let again = report(&app, JENKINS, steps[3]);
        assert!(again.status.success());
        assert!(text(&again.stdout).starts_with("duplicate:"), "{}", text(&again.stdout));

        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        let build = &builds[0];
        assert_eq!((build["provider_kind"].as_str(), build["repo"].as_str()), (Some("jenkins"), Some("shop/api")));
        assert_eq!((build["external_id"].as_str(), build["run_number"].as_i64()), (Some("153"), Some(153)));
        assert_eq!((build["branch"].as_str(), build["workflow"].as_str()), (Some("main"), Some("Jenkinsfile")));
        assert_eq!(build["commit_sha"], "ce9a3c1404e8c91be604088670e93434c4253f03");
        assert_eq!(build["url"], "https://jenkins.example.com/job/shop/job/api/job/main/153/");
        assert_eq!((build["status"].as_str(), build["conclusion"].as_str()), (Some("failed"), Some("failure")));
        assert_eq!((build["duration_seconds"].as_i64(), build["queue_seconds"].as_i64()), (Some(300), Some(20)));
        let detail = app.build(&build["id"]).await;
        let job = &detail["jobs"][0];
        assert_eq!((job["name"].as_str(), job["runner_name"].as_str()), (Some("test"), Some("agent-7")));
        assert_eq!(job["labels"], serde_json::json!(["linux", "docker"]));
        assert_eq!((job["duration_seconds"].as_i64(), job["queue_seconds"].as_i64()), (Some(240), Some(20)));
    }

    async fn a_buildkite_step_reports_from_its_variables(app: TestApp) {
        let buildkite: &[(&str, &str)] = &[
            ("BUILDKITE", "true"),
            ("BUILDKITE_ORGANIZATION_SLUG", "acme"),
            ("BUILDKITE_PIPELINE_SLUG", "web"),
            ("BUILDKITE_PIPELINE_NAME", "Web"),
            ("BUILDKITE_BUILD_ID", "b81ed283-58b7-4925-aa4a-d3da0eafcf2b"),
            ("BUILDKITE_BUILD_NUMBER", "59034"),
            ("BUILDKITE_BRANCH", "feature/login"),
            ("BUILDKITE_COMMIT", "a0bd708bcdebced545b62a842a0350ccd1d683b7"),
            ("BUILDKITE_BUILD_URL", "https://buildkite.com/acme/web/builds/59034"),
            ("BUILDKITE_BUILD_CREATOR", "Ada Lovelace"),
            ("BUILDKITE_JOB_ID", "d593f546-8c9a-45f8-8701-a2b92fbea9a7"),
            ("BUILDKITE_LABEL", ":rspec: tests"),
            ("BUILDKITE_AGENT_NAME", "bk-agent-1"),
        ];
        // The job finishes before its run has said anything (a job that
        // arrives first creates the run's row).
        let out = report(&app, buildkite, &["job", "--status", "completed", "--exit-code", "0",
            "--started-at", "2026-12-01T09:00:00Z", "--completed-at", "2026-12-01T09:01:00Z"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = report(&app, buildkite, &["run", "--status", "completed", "--exit-code", "1",
            "--started-at", "2026-12-01T08:59:50Z", "--completed-at", "2026-12-01T09:01:30Z"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "{builds:?}");
        let build = &builds[0];
        assert_eq!((build["provider_name"].as_str(), build["repo"].as_str()), (Some("Buildkite"), Some("acme/web")));
        assert_eq!((build["workflow"].as_str(), build["triggered_by"].as_str()), (Some("Web"), Some("Ada Lovelace")));
        // 08:59:50 → 09:01:30 = 100 s; first job start 09:00:00 → queue 10 s.
        assert_eq!((build["status"].as_str(), build["duration_seconds"].as_i64(), build["queue_seconds"].as_i64()),
            (Some("failed"), Some(100), Some(10)));
        let detail = app.build(&build["id"]).await;
        assert_eq!(detail["jobs"][0]["external_id"], "d593f546-8c9a-45f8-8701-a2b92fbea9a7");
        assert_eq!(detail["jobs"][0]["status"], "success");
    }

    async fn report_exits_with_a_reason_when_it_cannot_report(app: TestApp) {
        // Nothing detected, nothing given: exit 2, every missing field named.
        let out = report(&app, &[], &["run", "--status", "started"]);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(err.contains("--provider") && err.contains("--repository") && err.contains("--run-id"), "{err}");
        // A refused token: exit 3 with the server's reason.
        let out = tokio::task::block_in_place(|| {
            Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
                .args(["report", "run", "--status", "started", "--token", "cicd_wrong", "--server", &app.base])
                .env_clear()
                .envs(JENKINS.iter().copied())
                .output()
                .expect("run")
        });
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("401"), "{}", text(&out.stderr));
        // A provider the server does not know: exit 3 naming the accepted ones.
        let out = report(&app, JENKINS, &["run", "--status", "started", "--provider", "hudson"]);
        assert_eq!(out.status.code(), Some(3));
        assert!(text(&out.stderr).contains("events[0].provider") && text(&out.stderr).contains("buildkite"), "{}", text(&out.stderr));
        assert!(app.builds().await.is_empty(), "nothing was stored");
        // No server: retried, then exit 4.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr");
        let out = tokio::task::block_in_place(|| {
            Command::new(env!("CARGO_BIN_EXE_cicd-dashboard"))
                .args(["report", "run", "--status", "started", "--retries", "2", "--retry-delay-ms", "10"])
                .args(["--server", &format!("http://{closed}"), "--token", TOKEN])
                .env_clear()
                .envs(JENKINS.iter().copied())
                .output()
                .expect("run")
        });
        assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("cannot reach") && err.contains("after 3 attempts") && err.matches("retrying").count() == 2, "{err}");
    }
}
