//! Every bundled `workflow_run` / `workflow_job` example (octokit docs
//! examples and real recorded deliveries) ingests and reads back right.
//! Expected values were read off each file by hand; durations are worked out
//! in the comments.

use serde_json::{Value, json};

use crate::helpers::{TestApp, fixture_bytes};
use crate::on_both_backends;

struct Case {
    file: &'static str,
    event: &'static str,
    /// (JSON pointer into the build, expected value)
    build: Vec<(&'static str, Value)>,
    /// (JSON pointer into the build's only job, expected value)
    job: Vec<(&'static str, Value)>,
}

fn cases() -> Vec<Case> {
    let octo_run =
        |status: &str, provider_status: &str, conclusion: Value, finished: Value, duration: Value| {
            vec![
                ("/repo", json!("octo-org/octo-repo")),
                // `workflow_run.name` is "" in these examples: the workflow's name is used.
                ("/workflow", json!("test")),
                ("/workflow_id", json!(2823525)),
                ("/branch", json!("master")),
                ("/commit_sha", json!("3484a3fb816e0859fd6e1cea078d76385ff50625")),
                ("/external_id", json!("289782451")),
                ("/run_number", json!(163)),
                ("/run_attempt", json!(1)),
                ("/event", json!("repository_dispatch")),
                ("/triggered_by", json!("Codertocat")),
                ("/provider_kind", json!("github")),
                ("/provider_name", json!("GitHub Actions")),
                ("/status", json!(status)),
                ("/provider_status", json!(provider_status)),
                ("/conclusion", conclusion),
                ("/created_at", json!("2020-10-05T16:33:24Z")),
                ("/started_at", json!("2020-10-05T16:33:49Z")),
                ("/finished_at", finished),
                ("/duration_seconds", duration),
                ("/url", json!("https://github.com/octo-org/octo-repo/actions/runs/289782451")),
            ]
        };
    let codeql_build = vec![
        ("/repo", json!("Codertocat/Hello-World")),
        ("/external_id", json!("2202229078")),
        ("/run_attempt", json!(1)),
        ("/workflow", json!("CodeQL")),
        ("/branch", json!("main")),
    ];
    vec![
        Case {
            file: "github/webhooks/workflow_run.completed.json",
            event: "workflow_run",
            // updated_at 16:33:49 − run_started_at 16:33:49 = 0 s
            build: octo_run(
                "success",
                "completed",
                json!("success"),
                json!("2020-10-05T16:33:49Z"),
                json!(0),
            ),
            job: vec![],
        },
        Case {
            file: "github/webhooks/workflow_run.completed.with-pull-requests.json",
            event: "workflow_run",
            build: octo_run(
                "success",
                "completed",
                json!("success"),
                json!("2020-10-05T16:33:49Z"),
                json!(0),
            ),
            job: vec![],
        },
        Case {
            file: "github/webhooks/workflow_run.requested.json",
            event: "workflow_run",
            build: octo_run("queued", "queued", Value::Null, Value::Null, Value::Null),
            job: vec![],
        },
        Case {
            file: "github/webhooks/workflow_run.requested.with-conclusion.json",
            event: "workflow_run",
            // completed at updated_at 16:33:24, before run_started_at 16:33:49: clamped to 0
            build: octo_run(
                "action_required",
                "completed",
                json!("action_required"),
                json!("2020-10-05T16:33:24Z"),
                json!(0),
            ),
            job: vec![],
        },
        Case {
            file: "github/recorded/webhooks/workflow_run.completed.json",
            event: "workflow_run",
            // 18:35:43 − 18:35:26 = 17 s
            build: vec![
                ("/repo", json!("dev-one/quarkus-bot-java-playground")),
                ("/workflow", json!("CI")),
                ("/branch", json!("main")),
                ("/commit_sha", json!("dbea8d8b6ed2cf764dfd84a215f3f9040b3d4423")),
                ("/external_id", json!("680604745")),
                ("/run_attempt", json!(1)),
                ("/run_number", json!(6)),
                ("/event", json!("workflow_dispatch")),
                ("/status", json!("success")),
                ("/conclusion", json!("success")),
                ("/created_at", json!("2021-03-23T18:35:26Z")),
                ("/started_at", json!("2021-03-23T18:35:26Z")),
                ("/finished_at", json!("2021-03-23T18:35:43Z")),
                ("/duration_seconds", json!(17)),
            ],
            job: vec![],
        },
        Case {
            file: "github/recorded/webhooks/workflow_run.completed.pull_request.json",
            event: "workflow_run",
            // no run_attempt → 1; no run_started_at → created_at; 18:47:08 − 18:46:50 = 18 s
            build: vec![
                ("/branch", json!("test")),
                ("/run_attempt", json!(1)),
                ("/run_number", json!(7)),
                ("/event", json!("pull_request")),
                ("/status", json!("success")),
                ("/started_at", json!("2021-03-23T18:46:50Z")),
                ("/finished_at", json!("2021-03-23T18:47:08Z")),
                ("/duration_seconds", json!(18)),
            ],
            job: vec![],
        },
        Case {
            file: "github/recorded/webhooks/workflow_run.completed.fork_pull_request.json",
            event: "workflow_run",
            // 18:56:59 − 18:56:41 = 18 s
            build: vec![
                ("/branch", json!("test2")),
                ("/run_attempt", json!(1)),
                ("/run_number", json!(9)),
                ("/status", json!("success")),
                ("/started_at", json!("2021-03-23T18:56:41Z")),
                ("/duration_seconds", json!(18)),
            ],
            job: vec![],
        },
        Case {
            file: "github/webhooks/workflow_job.completed.failure.with-organization.json",
            event: "workflow_job",
            build: [
                codeql_build.clone(),
                vec![("/status", json!("running")), ("/provider_status", json!("in_progress"))],
            ]
            .concat(),
            // queue 10:34:58 − 10:33:58 = 60 s; run 10:38:16 − 10:34:58 = 198 s
            job: vec![
                ("/external_id", json!("289782451")),
                ("/name", json!("linters")),
                ("/status", json!("failed")),
                ("/provider_status", json!("completed")),
                ("/conclusion", json!("failure")),
                ("/runner_name", json!("GitHub Actions 5")),
                ("/labels", json!(["ubuntu-latest"])),
                ("/created_at", json!("2021-08-05T10:33:58Z")),
                ("/started_at", json!("2021-08-05T10:34:58Z")),
                ("/finished_at", json!("2021-08-05T10:38:16Z")),
                ("/queue_seconds", json!(60)),
                ("/duration_seconds", json!(198)),
            ],
        },
        Case {
            file: "github/webhooks/workflow_job.completed.success.with-organization.json",
            event: "workflow_job",
            build: codeql_build.clone(),
            job: vec![
                ("/status", json!("success")),
                ("/queue_seconds", json!(60)),
                ("/duration_seconds", json!(198)),
            ],
        },
        Case {
            file: "github/webhooks/workflow_job.in_progress.json",
            event: "workflow_job",
            build: [codeql_build.clone(), vec![("/status", json!("running"))]].concat(),
            // created = started = 02:21:13 → 0 s queued; still running → no duration
            job: vec![
                ("/name", json!("Analyze (javascript)")),
                ("/status", json!("running")),
                ("/queue_seconds", json!(0)),
                ("/duration_seconds", Value::Null),
                ("/finished_at", Value::Null),
            ],
        },
        Case {
            file: "github/webhooks/workflow_job.in_progress.with-queued-steps.json",
            event: "workflow_job",
            build: vec![
                ("/repo", json!("dev-eight/github-events-schemas")),
                ("/external_id", json!("5373506832")),
                ("/workflow", json!("Test")),
                ("/branch", json!("renovate/got-13.x")),
            ],
            // 03:31:36 − 03:31:29 = 7 s
            job: vec![
                ("/external_id", json!("14541957942")),
                ("/queue_seconds", json!(7)),
                ("/status", json!("running")),
            ],
        },
        Case {
            file: "github/webhooks/workflow_job.queued.json",
            event: "workflow_job",
            build: [
                codeql_build.clone(),
                vec![("/status", json!("queued")), ("/provider_status", json!("queued"))],
            ]
            .concat(),
            // started_at is already filled while queued, but the job has not started
            job: vec![
                ("/name", json!("update")),
                ("/status", json!("queued")),
                ("/queue_seconds", Value::Null),
            ],
        },
        Case {
            file: "github/webhooks/workflow_job.queued.with-deployment.json",
            event: "workflow_job",
            // action "queued" but status "waiting": status wins
            build: vec![
                ("/repo", json!("dev-seven/elastic-machines-testing")),
                ("/provider_status", json!("waiting")),
            ],
            job: vec![
                ("/provider_status", json!("waiting")),
                ("/status", json!("queued")),
                ("/runner_name", Value::Null),
                ("/labels", json!(["self-hosted", "k8s"])),
            ],
        },
        Case {
            file: "github/webhooks/workflow_job.waiting.json",
            event: "workflow_job",
            build: vec![("/external_id", json!("4747967848")), ("/workflow", json!("Env Test"))],
            job: vec![("/provider_status", json!("waiting")), ("/status", json!("queued"))],
        },
        Case {
            file: "github/recorded/webhooks/workflow_job.completed.failure.json",
            event: "workflow_job",
            build: vec![
                ("/repo", json!("dev-one/quarkus-bot-java-playground")),
                ("/external_id", json!("2408553341")),
                ("/started_at", Value::Null),
            ],
            // no created_at in this real payload → queue unknown; 10:55:57 − 10:55:25 = 32 s
            job: vec![
                ("/name", json!("JVM Tests - JDK JDK16")),
                ("/status", json!("failed")),
                ("/created_at", Value::Null),
                ("/queue_seconds", Value::Null),
                ("/duration_seconds", json!(32)),
                ("/runner_name", json!("GitHub Actions 10")),
            ],
        },
    ]
}

async fn check_every_example(backend: crate::helpers::Backend) {
    for case in cases() {
        let Some(app) = TestApp::spawn(backend).await else {
            return;
        };
        let response = app.deliver(case.event, &fixture_bytes(case.file)).await;
        assert_eq!(response.status().as_u16(), 202, "{}", case.file);
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1, "{}: one attempt", case.file);
        let detail = app.build(&builds[0]["id"]).await;
        for (pointer, want) in &case.build {
            assert_eq!(detail.pointer(pointer), Some(want), "{}: build {pointer}", case.file);
        }
        let jobs = detail["jobs"].as_array().expect("jobs");
        assert_eq!(jobs.len(), usize::from(!case.job.is_empty()), "{}: jobs", case.file);
        for (pointer, want) in &case.job {
            assert_eq!(jobs[0].pointer(pointer), Some(want), "{}: job {pointer}", case.file);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_reads_back_on_sqlite() {
    check_every_example(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_reads_back_on_postgres() {
    check_every_example(crate::helpers::Backend::Postgres).await;
}

on_both_backends! {
    async fn the_octokit_run_lifecycle_ends_completed(app: TestApp) {
        // requested (queued) → completed/action_required (16:33:24) → completed/success (16:33:49):
        // the later update wins the tie between the two completed states.
        for file in [
            "github/webhooks/workflow_run.completed.json",
            "github/webhooks/workflow_run.requested.with-conclusion.json",
            "github/webhooks/workflow_run.requested.json",
        ] {
            assert_eq!(app.deliver("workflow_run", &fixture_bytes(file)).await.status().as_u16(), 202);
        }
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1);
        assert_eq!(builds[0]["status"], "success");
        assert_eq!(builds[0]["conclusion"], "success");
    }
}
