//! `/metrics`: the runner gauges (`ci_jobs_queued`, `ci_jobs_running`) and
//! the queue-seconds histogram, over HTTP on both back ends.

use chrono::{Duration, Utc};

use crate::helpers::{Backend, TestApp};
use crate::insights_runners::{J, job};

/// `/metrics`: the runner gauges and the queue histogram. Label sets are
/// unique to the case (the metrics registry is shared by every test server
/// in this process).
async fn metrics_case(app: TestApp, tag: &str) {
    let now = Utc::now();
    let (queued, running) = (format!("metrics-{tag}-q"), format!("metrics-{tag}-r"));
    let (queued_set, running_set) = ([queued.as_str()], [running.as_str()]);
    let base = |id, labels| J {
        id,
        run: id,
        attempt: 1,
        repo: "octo-org/metrics",
        labels,
        group: None,
        status: "queued",
        conclusion: None,
        created: now - Duration::seconds(60),
        started: now - Duration::seconds(60),
        completed: None,
    };
    job(&app, base(41, &queued_set)).await;
    job(&app, base(42, &queued_set)).await;
    // Queued 200 s ago, started 150 s ago (past the 120 s settle delay): queue 50 s.
    let started = J {
        status: "in_progress",
        created: now - Duration::seconds(200),
        started: now - Duration::seconds(150),
        ..base(43, &running_set)
    };
    job(&app, started).await;
    let scrape = || async {
        app.client.get(app.url("/metrics")).send().await.expect("sent").text().await.expect("text")
    };
    let text = scrape().await;
    let line = |text: &str, prefix: &str| -> Option<String> {
        text.lines().find(|l| l.starts_with(prefix)).map(|l| l[prefix.len()..].trim().to_owned())
    };
    assert_eq!(
        line(&text, &format!("ci_jobs_queued{{labels=\"{queued}\"}}")).as_deref(),
        Some("2"),
        "{text}"
    );
    assert_eq!(
        line(&text, &format!("ci_jobs_running{{labels=\"{running}\"}}")).as_deref(),
        Some("1"),
        "{text}"
    );
    assert_eq!(
        line(&text, &format!("ci_job_queue_seconds_sum{{labels=\"{running}\"}}")).as_deref(),
        Some("50"),
        "{text}"
    );
    assert_eq!(
        line(&text, &format!("ci_job_queue_seconds_bucket{{labels=\"{running}\",le=\"30\"}}")).as_deref(),
        Some("0")
    );
    assert_eq!(
        line(&text, &format!("ci_job_queue_seconds_bucket{{labels=\"{running}\",le=\"60\"}}")).as_deref(),
        Some("1")
    );
    // A second scrape observes nothing twice.
    let again = scrape().await;
    assert_eq!(
        line(&again, &format!("ci_job_queue_seconds_count{{labels=\"{running}\"}}")).as_deref(),
        Some("1"),
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runner_metrics_sqlite() {
    metrics_case(TestApp::spawn(Backend::Sqlite).await.expect("sqlite"), "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runner_metrics_postgres() {
    if let Some(app) = TestApp::spawn(Backend::Postgres).await {
        metrics_case(app, "postgres").await;
    }
}
