//! The packed hour spans (aligned runs of 2, 4 and 8 hours inside a day)
//! the job list reads for its edge days: the fold stores one for each
//! aligned run holding a packed job (and none for those without), and the
//! list equals a raw scan for windows starting and ending at every hour
//! of two days of hourly runs, with the spans and with the longer ones
//! lost (read as their halves).

use std::collections::BTreeSet;

use chrono::Utc;
use cicd_dashboard::store::Store;
use sqlx::Connection;

use crate::helpers::TestApp;
use crate::job_spans::{compare_at, job};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

/// Runs at 13 minutes past each of 40 hours from 70 hours ago, some
/// hours skipped; all settled (older than a day), so all packed.
async fn seed_hourly(app: &TestApp) {
    for h in 0..40i64 {
        if h % 5 == 2 {
            continue;
        }
        let mut run = Run::new(700 + h, minutes_ago((70 - h) * 60 - 13));
        run.repo = if h % 2 == 0 { "octo-org/app".into() } else { "octo-org/lib".into() };
        app.deliver_json("workflow_run", &run.at("completed", Some("success"), 600).payload(), "stored")
            .await;
        let conclusion = if h % 3 == 0 { "failure" } else { "success" };
        let steps = [(1, "Set up job", "success", 2, 5), (2, "Run tests", conclusion, 5, 100 + h)];
        let payload = job(30_000 + h, &run, "test", (0, 2 + h % 4, 100 + h), conclusion, &steps);
        app.deliver_json("workflow_job", &payload, "stored").await;
    }
}

async fn spans(conn: &mut sqlx::AnyConnection) -> BTreeSet<(i64, i64)> {
    let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT first_hour, hours FROM rollup_job_hour_spans")
        .fetch_all(conn)
        .await
        .expect("spans");
    rows.into_iter().collect()
}

on_both_backends! {
    async fn edge_days_read_from_hour_spans_equal_a_scan(app: TestApp) {
        seed_hourly(&app).await;
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold");
        let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
        // One span per aligned 2, 4 and 8 hours holding a run's start.
        let starts: Vec<(i64,)> = sqlx::query_as("SELECT sort_at FROM builds").fetch_all(&mut conn).await.expect("starts");
        let expected: BTreeSet<(i64, i64)> = starts
            .iter()
            .flat_map(|&(at,)| [2, 4, 8].map(|n| ((at / 3600).div_euclid(n) * n, n)))
            .collect();
        assert_eq!(starts.len(), 32);
        assert_eq!(spans(&mut conn).await, expected);
        let hours: BTreeSet<i64> = starts.iter().map(|&(at,)| at / 3600).collect();
        let edges: Vec<i64> = hours.iter().flat_map(|&h| [h * 3600 - 1, h * 3600 + 900, h * 3600 + 2700]).collect();
        compare_at(&store, &edges).await;
        // The 4- and 8-hour spans lost: read as their halves.
        sqlx::query("DELETE FROM rollup_job_hour_spans WHERE hours > 2").execute(&mut conn).await.expect("delete");
        compare_at(&store, &edges).await;
        // All lost (as on days folded before they existed): hour rows.
        sqlx::query("DELETE FROM rollup_job_hour_spans").execute(&mut conn).await.expect("delete");
        compare_at(&store, &edges).await;
        // Folded again from scratch, they are back.
        store.metrics().reset_rollups().await.expect("reset");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        store.metrics().fold_rollups(Utc::now().timestamp() - 1).await.expect("fold");
        assert_eq!(spans(&mut conn).await, expected);
    }
}
