//! Steps of jobs: parsed from `workflow_job` deliveries, merged by the job
//! rules (a delivery listing fewer steps, or an older state of a step,
//! never erases what is known) and answered inside `/api/builds/{id}`.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::payloads::{Run, iso, job_payload, minutes_ago};

/// A step as GitHub sends it.
pub fn step(
    number: i64,
    status: &str,
    conclusion: Option<&str>,
    started: Option<DateTime<Utc>>,
    done: Option<DateTime<Utc>>,
) -> Value {
    json!({
        "name": format!("step {number}"),
        "status": status,
        "conclusion": conclusion,
        "number": number,
        "started_at": started.map(iso),
        "completed_at": done.map(iso),
    })
}

/// `payload` with its job's `steps` replaced.
pub fn with_steps(mut payload: Value, steps: Vec<Value>) -> Value {
    payload["workflow_job"]["steps"] = Value::Array(steps);
    payload
}

on_both_backends! {
    async fn steps_merge_by_number_and_fewer_steps_never_erase(app: TestApp) {
        let start = minutes_ago(30);
        let run = Run::new(1601, start);
        let s = |secs: i64| Some(start + Duration::seconds(secs));
        let running = with_steps(
            job_payload(7001, &run, "in_progress", None, start, start + Duration::seconds(10), None),
            vec![
                step(1, "completed", Some("success"), s(10), s(12)),
                step(2, "in_progress", None, s(12), None),
                step(3, "queued", None, None, None),
            ],
        );
        app.deliver_json("workflow_job", &running, "stored").await;
        // The completed delivery lists steps 2 and 3 only (step 1 must stay);
        let done = with_steps(
            job_payload(7001, &run, "completed", Some("failure"), start, start + Duration::seconds(10), s(100)),
            vec![
                step(2, "completed", Some("success"), s(12), s(40)),
                step(3, "completed", Some("failure"), s(40), s(100)),
            ],
        );
        app.deliver_json("workflow_job", &done, "stored").await;
        // and a late, older delivery (step 2 still running, no step 3) changes nothing.
        app.deliver_json("workflow_job", &running, "stored").await;

        let builds = app.builds().await;
        let detail = app.build(&builds[0]["id"]).await;
        let steps = detail["jobs"][0]["steps"].as_array().expect("steps").clone();
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert_eq!(steps[0]["number"], 1);
        assert_eq!(steps[0]["status"], "success");
        assert_eq!(steps[0]["duration_seconds"], 2, "12 − 10");
        assert_eq!(steps[1]["status"], "success");
        assert_eq!(steps[1]["duration_seconds"], 28, "40 − 12");
        assert_eq!(steps[2]["status"], "failed");
        assert_eq!(steps[2]["conclusion"], "failure");
        assert_eq!(steps[2]["duration_seconds"], 60, "100 − 40");
        assert_eq!(steps[2]["name"], "step 3");
        assert_eq!(steps[2]["finished_at"], iso(start + Duration::seconds(100)));
    }

    async fn a_step_without_a_number_is_refused_and_nothing_is_stored(app: TestApp) {
        let run = Run::new(1602, minutes_ago(30));
        let mut bad = step(1, "completed", Some("success"), None, None);
        bad["number"] = Value::Null;
        let payload = with_steps(
            job_payload(7002, &run, "queued", None, run.started_at, run.started_at, None),
            vec![bad],
        );
        let answer = app.deliver("workflow_job", &serde_json::to_vec(&payload).expect("json")).await;
        assert_eq!(answer.status().as_u16(), 400);
        let problem: Value = answer.json().await.expect("problem json");
        assert!(problem["detail"].as_str().unwrap_or_default().contains("steps"), "{problem}");
        assert!(app.builds().await.is_empty());
    }
}
