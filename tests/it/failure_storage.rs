//! Failure reasons' storage on both back ends: log excerpts under the
//! total cap (oldest dropped first) and their own retention, and a run
//! attempt's retention taking its failures and excerpts with it.

use std::sync::Arc;

use chrono::{Duration, Utc};
use cicd_dashboard::config::FailureSettings;
use cicd_dashboard::domain::failure::Classifier;
use cicd_dashboard::providers::failure_fetch::FailureFetch;
use cicd_dashboard::providers::log_tail::LogTail;
use cicd_dashboard::store::Store;
use serde_json::json;

use crate::build_events::post;
use crate::on_both_backends;

fn failed_run(run: &str, end: chrono::DateTime<Utc>) -> serde_json::Value {
    let at = end.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!({"events": [
        {"idempotency_key": format!("{run}-run"), "type": "run", "provider": "jenkins", "repository": "acme/app",
         "run_id": run, "status": "completed", "conclusion": "failure", "started_at": at, "completed_at": at},
        {"idempotency_key": format!("{run}-job"), "type": "job", "provider": "jenkins", "repository": "acme/app",
         "run_id": run, "job_id": format!("{run}-job"), "name": "test", "status": "completed",
         "conclusion": "failure", "started_at": at, "completed_at": at},
    ]})
}

on_both_backends! {
    async fn excerpts_stay_under_the_total_cap_and_go_with_retention(app: TestApp) {
        let now = Utc::now();
        for (run, age) in [("r1", 40), ("r2", 3), ("r3", 2)] {
            let (status, body) = post(&app, &failed_run(run, now - Duration::days(age))).await;
            assert_eq!(status, 200, "{body}");
        }
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        // A total cap of 250 bytes holds two 100-byte excerpts, not three.
        let settings = FailureSettings { log_excerpt_total_bytes: 250, ..FailureSettings::default() };
        let classifier = Arc::new(Classifier::new(&[]).expect("classifier"));
        let fetch = FailureFetch { store: store.clone(), classifier, settings };
        let mut pending = store.failures().pending(0, 10).await.expect("pending");
        pending.sort_by_key(|p| p.external_id.clone());
        assert_eq!(pending.len(), 3);
        for (i, job) in pending.iter().enumerate() {
            let word = ["alpha", "beta", "gamma"][i];
            let log = LogTail { text: format!("{:<99}\n", format!("error: run {word} broke")), truncated: false };
            assert_eq!(log.text.len(), 100);
            // Fetched one second apart, r1 first.
            fetch.save(job, &[], Some(&log), now.timestamp() - 10 + i as i64).await.expect("save");
        }
        let failures = store.failures();
        let kept = |i: usize| failures.excerpt(pending[i].job_id);
        assert_eq!(kept(0).await.expect("read"), None, "the oldest excerpt was dropped");
        assert!(kept(1).await.expect("read").is_some() && kept(2).await.expect("read").is_some());
        // Excerpt retention: those fetched before the cutoff go.
        let deleted = store.failures().delete_excerpts_before(now.timestamp() - 8).await.expect("retention");
        assert_eq!(deleted, 1);
        assert_eq!(kept(1).await.expect("read"), None);
        // Run attempt retention (30 days) takes r1's failure with it; the
        // signature's first seen stays.
        let (status, before) = app.get("/api/insights/failures?window_days=365").await;
        assert_eq!(status, 200);
        assert_eq!(before["signatures"].as_array().map(Vec::len), Some(3), "{before}");
        store.delete_older_than(now - Duration::days(30)).await.expect("retention");
        let (_, after) = app.get("/api/insights/failures?window_days=365").await;
        assert_eq!(after["signatures"].as_array().map(Vec::len), Some(2), "{after}");
        assert!(store.failures().pending(0, 10).await.expect("pending").is_empty());
    }
}
