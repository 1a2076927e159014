//! GitLab's retry model and ordering over HTTP: a pipeline retried after
//! failing keeps its first outcome as attempt 1 (attempt 2 is the retry),
//! whatever order the deliveries come in (all 24, and a resend); jobs before their pipeline;
//! unknown statuses kept; `allow_failure` jobs; GitLab rows in the
//! `provider` filter and the summary next to GitHub's.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::gitlab_payloads::{HookJob, Pipeline, attempts_of, deliver};
use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

/// Every order of `n` items.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn go(items: &mut Vec<usize>, k: usize, out: &mut Vec<Vec<usize>>) {
        if k == items.len() {
            out.push(items.clone());
            return;
        }
        for i in k..items.len() {
            items.swap(k, i);
            go(items, k + 1, out);
            items.swap(k, i);
        }
    }
    let mut out = Vec::new();
    go(&mut (0..n).collect(), 0, &mut out);
    out
}

/// The retried pipeline's four deliveries, ids offset by `n` so each order
/// gets its own pipeline: [0] Pipeline Hook `failed` (jobs `test` A and
/// `lint` B), [1] Job Hook A failed (retries_count 0), [2] Job Hook A' — the
/// retry of A, a new id — success (retries_count 1), [3] Pipeline Hook
/// `success` listing the latest jobs A' and B.
fn retried_pipeline(n: i64) -> (Pipeline, [(&'static str, Value); 4]) {
    let t0 = Utc::now() - Duration::hours(2);
    let at = |seconds: i64| t0 + Duration::seconds(seconds);
    let pipeline = Pipeline { id: 9000 + n, project: "grp/app", created: t0 };
    let a = HookJob {
        id: 100 * n + 1,
        name: "test",
        status: "failed",
        created: t0,
        started: Some(at(60)),
        finished: Some(at(240)),
        retries_count: 0,
        allow_failure: false,
    };
    let b = HookJob {
        id: 100 * n + 2,
        name: "lint",
        status: "success",
        started: Some(at(30)),
        finished: Some(at(120)),
        ..a.clone()
    };
    let retry = HookJob {
        id: 100 * n + 3,
        status: "success",
        created: at(600),
        started: Some(at(620)),
        finished: Some(at(720)),
        retries_count: 1,
        ..a.clone()
    };
    let deliveries = [
        ("Pipeline Hook", pipeline.hook("failed", Some(at(300)), &[&a, &b])),
        ("Job Hook", pipeline.job_hook(&a)),
        ("Job Hook", pipeline.job_hook(&retry)),
        ("Pipeline Hook", pipeline.hook("success", Some(at(720)), &[&retry, &b])),
    ];
    (pipeline, deliveries)
}

/// A pipeline's attempt rows with everything that must not depend on the
/// delivery order: times as seconds after the pipeline's creation, job ids
/// as offsets from the pipeline's own (`100 n`).
async fn shape(app: &TestApp, pipeline: &Pipeline, n: i64) -> Vec<Value> {
    let since = |value: &Value| {
        value.as_str().map(|t| {
            let at = DateTime::parse_from_rfc3339(t).expect("timestamp").with_timezone(&Utc);
            (at - pipeline.created).num_seconds()
        })
    };
    let mut out = Vec::new();
    for build in attempts_of(app, pipeline.id).await {
        let detail = app.build(&build["id"]).await;
        let mut jobs: Vec<Value> = detail["jobs"].as_array().expect("jobs").iter().map(|j| json!({
            "job": j["external_id"].as_str().and_then(|id| id.parse::<i64>().ok()).map(|id| id - 100 * n),
            "name": j["name"], "status": j["status"], "started": since(&j["started_at"]),
        })).collect();
        jobs.sort_by_key(|j| j["job"].as_i64());
        out.push(json!({
            "attempt": build["run_attempt"], "status": build["status"], "conclusion": build["conclusion"],
            "provider_status": build["provider_status"], "started": since(&build["started_at"]),
            "finished": since(&build["finished_at"]), "duration": build["duration_seconds"],
            "queue": build["queue_seconds"], "workflow": build["workflow"], "actor": build["triggered_by"],
            "number": build["run_number"], "branch": build["branch"], "event": build["event"], "jobs": jobs,
        }));
    }
    out
}

on_both_backends! {
    // By hand, pipeline created at t0: attempt 1 is the first try,
    // `failed`, started t0 (its jobs' creation), finished t0+300 s →
    // 300 s; attempt 2 is the retry, `success`, started when A' was
    // created (t0+600 s), finished t0+720 s → 120 s, with A' (job …3) as
    // its only job and its queue 620 − 600 = 20 s. Every one of the 24
    // orders ends in the rows of the in-order delivery — the 6 that start
    // with the final Pipeline Hook too (its jobs and state are first placed
    // in attempt 1 and move to attempt 2 when the first try's job
    // arrives) — and the first delivery sent again last (another key, as
    // a resend without its Idempotency-Key) changes nothing.
    async fn a_retried_pipeline_keeps_its_first_outcome_in_any_order(app: TestApp) {
        let orders = permutations(4);
        assert_eq!(orders.len(), 24);
        let mut in_order: Option<Vec<Value>> = None;
        for (n, order) in orders.iter().enumerate() {
            let n = i64::try_from(n).expect("small") + 1;
            let (pipeline, deliveries) = retried_pipeline(n);
            for &i in order {
                deliver(&app, deliveries[i].0, &deliveries[i].1, "stored").await;
            }
            let first_rows = shape(&app, &pipeline, n).await;
            deliver(&app, deliveries[order[0]].0, &deliveries[order[0]].1, "stored").await;
            assert_eq!(shape(&app, &pipeline, n).await, first_rows, "order {order:?}: the resend changed rows");
            let attempts = attempts_of(&app, pipeline.id).await;
            assert_eq!(attempts.len(), 2, "order {order:?}: {attempts:?}");
            let (first, second) = (&attempts[0], &attempts[1]);
            assert_eq!((first["run_attempt"].as_i64(), first["status"].as_str()), (Some(1), Some("failed")), "order {order:?}");
            assert_eq!(first["conclusion"], "failed");
            assert_eq!(first["duration_seconds"], 300, "order {order:?}");
            assert_eq!((second["run_attempt"].as_i64(), second["status"].as_str()), (Some(2), Some("success")), "order {order:?}");
            assert_eq!(second["duration_seconds"], 120, "order {order:?}");
            assert_eq!(second["queue_seconds"], 20, "order {order:?}");
            for build in [first, second] {
                assert_eq!(build["provider_kind"], "gitlab");
                assert_eq!(build["workflow"], "Pipeline for branch: main");
                assert_eq!(build["triggered_by"], "dev", "order {order:?}");
            }
            let jobs = |build: &Value| -> Vec<String> {
                let mut ids: Vec<String> = build["jobs"].as_array().expect("jobs").iter()
                    .map(|j| format!("{}:{}", j["external_id"].as_str().expect("id"), j["status"].as_str().expect("status")))
                    .collect();
                ids.sort();
                ids
            };
            let detail = (app.build(&first["id"]).await, app.build(&second["id"]).await);
            assert_eq!(jobs(&detail.0), vec![format!("{}:failed", 100 * n + 1), format!("{}:success", 100 * n + 2)], "order {order:?}");
            assert_eq!(jobs(&detail.1), vec![format!("{}:success", 100 * n + 3)], "order {order:?}");
            match &in_order {
                None => in_order = Some(first_rows),
                Some(expected) => assert_eq!(&first_rows, expected, "order {order:?} differs from [0, 1, 2, 3]"),
            }
        }
        // 24 pipelines, each failed once and passed on retry: 48 attempts,
        // 24 failed and 24 successful; their final outcomes are 24 successes.
        let (_, summary) = app.get("/api/metrics/summary").await;
        assert_eq!((summary["total_builds"].as_i64(), summary["failure_count"].as_i64(), summary["success_count"].as_i64()), (Some(48), Some(24), Some(24)), "{summary}");
        let (_, latest) = app.get("/api/builds?provider=gitlab&latest_attempt=true&limit=100").await;
        let finals: Vec<&Value> = latest["builds"].as_array().expect("builds").iter().collect();
        assert_eq!(finals.len(), 24);
        assert!(finals.iter().all(|b| b["status"] == "success" && b["run_attempt"] == 2), "{latest}");
    }

    async fn jobs_before_their_pipeline_make_the_attempt_and_the_pipeline_fills_it_in(app: TestApp) {
        let (pipeline, deliveries) = retried_pipeline(50);
        deliver(&app, "Job Hook", &deliveries[1].1, "stored").await;
        let attempts = attempts_of(&app, pipeline.id).await;
        assert_eq!(attempts.len(), 1);
        // A finished job implies a pipeline in progress; its start is the job's.
        assert_eq!(attempts[0]["status"], "running");
        assert_eq!(attempts[0]["repo"], "grp/app");
        assert_eq!(attempts[0]["triggered_by"], Value::Null, "not known before the pipeline");
        deliver(&app, "Pipeline Hook", &deliveries[0].1, "stored").await;
        let attempts = attempts_of(&app, pipeline.id).await;
        assert_eq!(attempts.len(), 1, "the pipeline joined its job's attempt");
        assert_eq!(attempts[0]["status"], "failed");
        assert_eq!(attempts[0]["triggered_by"], "dev");
        assert_eq!(attempts[0]["run_number"], 7);
        assert_eq!(app.build(&attempts[0]["id"]).await["jobs"].as_array().expect("jobs").len(), 2);
    }

    async fn an_unknown_status_is_kept_verbatim(app: TestApp) {
        let created = Utc::now() - Duration::minutes(30);
        let pipeline = Pipeline { id: 7700, project: "grp/new", created };
        let job = HookJob { id: 77001, name: "build", status: "brand_new_state", created, started: None, finished: None, retries_count: 0, allow_failure: false };
        deliver(&app, "Pipeline Hook", &pipeline.hook("canceling", None, &[&job]), "stored").await;
        let attempts = attempts_of(&app, pipeline.id).await;
        assert_eq!(attempts[0]["provider_status"], "canceling");
        assert_eq!(attempts[0]["status"], "unknown");
        let detail = app.build(&attempts[0]["id"]).await;
        assert_eq!(detail["jobs"][0]["provider_status"], "brand_new_state");
        assert_eq!(detail["jobs"][0]["status"], "unknown");
    }

    // One GitLab pipeline that passed although its `allow_failure` job
    // failed, and one GitHub run that failed, both in the last hour. By
    // hand: 2 builds, 1 success (GitLab), 1 failed (GitHub) → success
    // rate 0.5; `provider=gitlab` lists the GitLab one only.
    async fn gitlab_rows_count_in_the_summary_like_github_ones(app: TestApp) {
        let created = Utc::now() - Duration::minutes(40);
        let at = |s: i64| created + Duration::seconds(s);
        let pipeline = Pipeline { id: 8800, project: "grp/app", created };
        let ok = HookJob { id: 88001, name: "test", status: "success", created, started: Some(at(10)), finished: Some(at(70)), retries_count: 0, allow_failure: false };
        let flaky = HookJob { id: 88002, name: "experimental", status: "failed", allow_failure: true, ..ok.clone() };
        deliver(&app, "Pipeline Hook", &pipeline.hook("success", Some(at(90)), &[&ok, &flaky]), "stored").await;
        let run = Run::new(4242, minutes_ago(30)).at("completed", Some("failure"), 60);
        app.deliver_json("workflow_run", &run.payload(), "stored").await;

        let (status, summary) = app.get("/api/metrics/summary").await;
        assert_eq!(status, 200, "{summary}");
        assert_eq!(summary["total_builds"], 2, "{summary}");
        assert_eq!(summary["success_count"], 1);
        assert_eq!(summary["failure_count"], 1);
        assert_eq!(summary["success_rate"], 0.5);
        let (_, gitlab) = app.get("/api/builds?provider=gitlab").await;
        let builds = gitlab["builds"].as_array().expect("builds");
        assert_eq!(builds.len(), 1);
        assert_eq!(builds[0]["status"], "success", "the allowed failure does not fail the pipeline");
        assert_eq!(builds[0]["provider_name"], "GitLab CI");
        assert_eq!(builds[0]["duration_seconds"], 90);
        let detail = app.build(&builds[0]["id"]).await;
        let allowed = detail["jobs"].as_array().expect("jobs").iter().find(|j| j["external_id"] == "88002").expect("job").clone();
        assert_eq!((allowed["status"].as_str(), allowed["allow_failure"].as_bool()), (Some("failed"), Some(true)));
        assert_eq!(allowed["failure_reason"], "script_failure");
        let (_, github) = app.get("/api/builds?provider=github").await;
        assert_eq!(github["builds"][0]["status"], "failed");
    }
}
