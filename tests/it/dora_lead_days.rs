//! The lead-time roll-up (`deployment_lead_days`, migration 0028) stays
//! what a scan of `deployment_commits` answers when a deployment's
//! carried commits change: a deployment arriving late, before one
//! already derived, takes over a commit the later one carried (both back
//! ends). Checked three ways: the roll-up equals the scan summed per
//! stream, UTC day and lead time; the store's summary of a window whose
//! whole days come from the roll-up equals the scan's histogram; and the
//! figure `/api/dora` answers is the hand-worked one. The lead-time
//! buckets (`deployment_lead_buckets`, migration 0031) equal the roll-up
//! summed per bucket. Retention keeps them equal too; the summary equals
//! every lead time's percentiles on distinct lead times across buckets.

use chrono::{DateTime, Duration, Utc};
use cicd_dashboard::store::deployments::DeploymentFilter;
use cicd_dashboard::store::{Store, StoreOptions};
use serde_json::{Value, json};
use sqlx::{Connection, Row};

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::minutes_ago;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn sha(name: &str) -> String {
    format!("{name:0>40}")
}

fn push(before: &str, after: &str, at: DateTime<Utc>) -> Value {
    json!({
        "ref": "refs/heads/main", "before": sha(before), "after": sha(after), "repository": {"full_name": "acme/web"},
        "commits": [{"id": sha(after), "timestamp": ts(at)}]
    })
}

fn success(id: u64, commit: &str, at: DateTime<Utc>) -> Value {
    json!({
        "action": "created",
        "deployment": {
            "id": id, "sha": sha(commit), "ref": "main", "environment": "production",
            "created_at": ts(at - Duration::minutes(5)),
            "url": format!("https://api.github.com/repos/acme/web/deployments/{id}")
        },
        "deployment_status": {"state": "success", "created_at": ts(at), "updated_at": ts(at)},
        "repository": {"full_name": "acme/web"}
    })
}

/// `(stream, day, lead, commits)` rows, sorted.
type Cells = Vec<(String, i64, i64, i64)>;

async fn cells(conn: &mut sqlx::AnyConnection, sql: &str) -> Cells {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).fetch_all(&mut *conn).await.expect("cells");
    let mut out: Cells = rows
        .iter()
        .map(|r| {
            let stream = format!(
                "{}/{}/{}",
                r.try_get::<i64, _>(0).expect("provider"),
                r.try_get::<String, _>(1).expect("repo"),
                r.try_get::<String, _>(2).expect("environment")
            );
            (stream, r.try_get(3).expect("day"), r.try_get(4).expect("lead"), r.try_get(5).expect("n"))
        })
        .collect();
    out.sort();
    out
}

/// The roll-up equals `deployment_commits` summed; the store's summary of
/// `[from, to)` equals the scan's histogram's; answers the summary.
async fn compare(app: &TestApp, from: DateTime<Utc>, to: DateTime<Utc>) -> (usize, Option<f64>, Option<f64>) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    let rolled = cells(
        &mut conn,
        "SELECT provider_id, repo, environment, day, lead_seconds, commits FROM deployment_lead_days",
    )
    .await;
    let scanned = cells(
        &mut conn,
        "SELECT provider_id, repo, environment, finished_at / 86400, lead_seconds, COUNT(*) FROM deployment_commits \
         WHERE lead_seconds IS NOT NULL GROUP BY provider_id, repo, environment, finished_at / 86400, lead_seconds",
    )
    .await;
    assert_eq!(rolled, scanned);
    // The buckets (kept by triggers) equal the roll-up summed per bucket.
    let bucketed = cells(
        &mut conn,
        "SELECT provider_id, environment, environment, day, bucket, commits FROM deployment_lead_buckets",
    )
    .await;
    let summed = cells(
        &mut conn,
        "SELECT provider_id, environment, environment, day, CASE WHEN lead_seconds < 3600 THEN lead_seconds - lead_seconds % 60 \
         WHEN lead_seconds < 86400 THEN lead_seconds - lead_seconds % 600 ELSE lead_seconds - lead_seconds % 3600 END, \
         CAST(SUM(commits) AS BIGINT) FROM deployment_lead_days GROUP BY 1, 2, 4, 5",
    )
    .await;
    assert_eq!(bucketed, summed);
    let rows = sqlx::query(
        "SELECT lead_seconds, COUNT(*) FROM deployment_commits WHERE finished_at >= $1 AND finished_at < $2 \
         AND lead_seconds IS NOT NULL GROUP BY lead_seconds ORDER BY lead_seconds",
    )
    .bind(from.timestamp())
    .bind(to.timestamp())
    .fetch_all(&mut conn)
    .await
    .expect("scan");
    let histogram: Vec<(i64, i64)> =
        rows.iter().map(|r| (r.try_get(0).expect("lead"), r.try_get(1).expect("n"))).collect();
    let count = histogram.iter().map(|(_, n)| *n as usize).sum::<usize>();
    let p = |q| cicd_dashboard::metrics::percentile::percentile_of_counts(&histogram, q);
    let store = Store::connect_existing(&app.database_url, &StoreOptions::default()).await.expect("store");
    let summary = store
        .deployments()
        .lead_summary_where(from, to, &DeploymentFilter::default(), &|_| true)
        .await
        .expect("summary");
    assert_eq!(summary, (count, p(0.5), p(0.9)));
    summary
}

on_both_backends! {
    // Pushes c1 (5 d 2 h ago), c2 on it (3 d 1 h ago), c3 on c2 (2 d
    // 30 min ago). D1 deploys c1 5 d ago, D3 deploys c3 2 d ago; D2 of c2
    // (3 d ago) arrives last.
    //
    // Before D2: D1 carries c1 (7200 s), D3 carries c2 (2 d − 3 d 1 h →
    // 90 000 s) and c3 (1800 s): [1800, 7200, 90 000], median 7200, p90
    // 7200 + 0.8 × 82 800 = 73 440. After D2 (D3 derived again): c2 is
    // D2's (3600 s) on another day: [1800, 3600, 7200], median 3600, p90
    // 3600 + 0.8 × 3600 = 6480.
    async fn lead_roll_up_follows_a_late_deployment(app: TestApp) {
        let base = minutes_ago(0);
        let ago = |minutes: i64| base - Duration::minutes(minutes);
        let day = 24 * 60;
        app.deliver_json("push", &push("0", "c1", ago(5 * day + 120)), "stored").await;
        app.deliver_json("push", &push("c1", "c2", ago(3 * day + 60)), "stored").await;
        app.deliver_json("push", &push("c2", "c3", ago(2 * day + 30)), "stored").await;
        app.deliver_json("deployment_status", &success(1, "c1", ago(5 * day)), "stored").await;
        app.deliver_json("deployment_status", &success(3, "c3", ago(2 * day)), "stored").await;
        let (from, to) = (base - Duration::days(7), base + Duration::seconds(1));
        assert_eq!(compare(&app, from, to).await, (3, Some(7200.0), Some(73_440.0)));

        app.deliver_json("deployment_status", &success(2, "c2", ago(3 * day)), "stored").await;
        assert_eq!(compare(&app, from, to).await, (3, Some(3600.0), Some(6480.0)));
        // A window of whole UTC days only, and one inside a day.
        let midnight = |at: DateTime<Utc>| at - Duration::seconds(at.timestamp().rem_euclid(86_400));
        compare(&app, midnight(base - Duration::days(6)), midnight(base)).await;
        compare(&app, ago(3 * day + 1), ago(3 * day - 1)).await;

        let (status, body) = app.get("/api/dora?window_days=7").await;
        assert_eq!(status, 200, "{body}");
        let lead = &body["current"]["lead_time"];
        assert_eq!(lead["commits"], 3, "{body}");
        assert_eq!(lead["median_seconds"], 3600.0, "{body}");
        assert_eq!(lead["p90_seconds"], 6480.0, "{body}");

        // Retention 4 days back (mid-day): D1 and c1 go, the cutoff's day
        // is recomputed; [1800, 3600] is left.
        let store = Store::connect_existing(&app.database_url, &StoreOptions::default()).await.expect("store");
        store.deployments().delete_older_than(ago(4 * day).timestamp()).await.expect("retention");
        assert_eq!(compare(&app, from, to).await, (2, Some(2700.0), Some(3420.0)));
    }
}

/// A push of commits `prefix`-0, -1, … committed `offsets` seconds before
/// `at`, on top of `before`; answers the last commit's name.
fn push_many(before: &str, prefix: &str, at: DateTime<Utc>, offsets: &[i64]) -> (Value, String) {
    let mut sorted = offsets.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let commits: Vec<Value> = sorted
        .iter()
        .enumerate()
        .map(|(i, offset)| json!({"id": sha(&format!("{prefix}{i}")), "timestamp": ts(at - Duration::seconds(*offset))}))
        .collect();
    let last = format!("{prefix}{}", sorted.len() - 1);
    let push = json!({
        "ref": "refs/heads/main", "before": sha(before), "after": sha(&last), "repository": {"full_name": "acme/web"},
        "commits": commits
    });
    (push, last)
}

on_both_backends! {
    // Lead times in seconds, mostly distinct and across the buckets the
    // summary reads first (minutes below an hour, 10 minutes below a day,
    // hours above): D1 (3 days ago) carries 14, D2 (1 hour ago) 17. The
    // summary equals the percentiles of every lead time spelled out, for
    // windows of whole days, partial days and one inside a day.
    async fn lead_summary_is_exact_over_distinct_lead_times(app: TestApp) {
        let base = minutes_ago(0) - Duration::seconds(minutes_ago(0).timestamp() % 60);
        let first = [7, 59, 60, 61, 119, 3599, 3600, 3601, 4199, 5000, 86_399, 86_400, 86_401, 90_000];
        let second = [1, 2, 3, 60, 600, 601, 1199, 3000, 3540, 3599, 7200, 7201, 7799, 43_210, 86_399, 100_000, 150_001];
        let d1 = base - Duration::days(3);
        let d2 = base - Duration::hours(1);
        let (push1, head1) = push_many("0", "a", d1, &first);
        app.deliver_json("push", &push1, "stored").await;
        app.deliver_json("deployment_status", &success(1, &head1, d1), "stored").await;
        // The second push's commits are newer than D1 (their times are not
        // ordered against the first's: only the push chain decides).
        let (push2, head2) = push_many(&head1, "b", d2, &second);
        app.deliver_json("push", &push2, "stored").await;
        app.deliver_json("deployment_status", &success(2, &head2, d2), "stored").await;
        let mut all: Vec<f64> = first.iter().chain(second.iter()).map(|s| *s as f64).collect();
        all.sort_by(f64::total_cmp);
        let p = |q| cicd_dashboard::metrics::percentile::percentile(&all, q);
        let (from, to) = (base - Duration::days(7), base + Duration::seconds(1));
        assert_eq!(compare(&app, from, to).await, (31, p(0.5), p(0.9)));
        let midnight = |at: DateTime<Utc>| at - Duration::seconds(at.timestamp().rem_euclid(86_400));
        compare(&app, midnight(base - Duration::days(6)), midnight(base)).await;
        compare(&app, d1 - Duration::seconds(1), base).await;
        compare(&app, d2 - Duration::seconds(1), d2 + Duration::seconds(1)).await;
        let (status, body) = app.get("/api/dora?window_days=7").await;
        assert_eq!(status, 200, "{body}");
        let lead = &body["current"]["lead_time"];
        assert_eq!(lead["commits"], 31, "{body}");
        assert_eq!(lead["median_seconds"].as_f64(), p(0.5), "{body}");
        assert_eq!(lead["p90_seconds"].as_f64(), p(0.9), "{body}");
    }
}
