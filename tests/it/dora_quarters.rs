//! The deployment counts roll-up (`deployment_quarters`, migration 0031,
//! kept by triggers) stays what a scan of `deployments` answers, and the
//! figures read from it are the hand-worked ones (both back ends): a
//! failure and a success just after midnight in Kolkata (UTC+5:30) fall on
//! another local day than in UTC; spans whose edges cut a quarter hour
//! are summed exactly, with and without a repository; retention and a
//! deployment arriving late keep the roll-up equal to the scan.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use cicd_dashboard::store::deployments::DeploymentFilter;
use cicd_dashboard::store::{Store, StoreOptions};
use serde_json::{Value, json};
use sqlx::{Connection, Row};

use crate::helpers::TestApp;
use crate::on_both_backends;

fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn status(repo: &str, environment: &str, id: u64, state: &str, at: DateTime<Utc>) -> Value {
    json!({
        "action": "created",
        "deployment": {
            "id": id, "sha": format!("{id:0>40}"), "ref": "main", "environment": environment,
            "created_at": ts(at - Duration::minutes(5)),
            "url": format!("https://api.github.com/repos/{repo}/deployments/{id}")
        },
        "deployment_status": {"state": state, "created_at": ts(at), "updated_at": ts(at)},
        "repository": {"full_name": repo}
    })
}

/// `(quarter, environment, provider, counted, successes, signalled)`.
type Cells = Vec<(i64, String, i64, i64, i64, i64)>;

async fn cells(conn: &mut sqlx::AnyConnection, sql: &str) -> Cells {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).fetch_all(&mut *conn).await.expect("cells");
    let mut out: Cells = rows
        .iter()
        .map(|r| {
            (
                r.try_get(0).expect("quarter"),
                r.try_get(1).expect("environment"),
                r.try_get(2).expect("provider"),
                r.try_get(3).expect("counted"),
                r.try_get(4).expect("successes"),
                r.try_get(5).expect("signalled"),
            )
        })
        .collect();
    out.sort();
    out
}

/// The roll-up equals `deployments` summed per quarter hour; answers it.
async fn roll_up_is_the_scan(app: &TestApp) -> Cells {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    let rolled = cells(
        &mut conn,
        "SELECT quarter, environment, provider_id, counted, successes, signalled FROM deployment_quarters",
    )
    .await;
    let scanned = cells(
        &mut conn,
        "SELECT finished_at / 900, environment, provider_id, COUNT(*), SUM(CASE WHEN dora_state = 0 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN dora_signal IS NOT NULL THEN 1 ELSE 0 END) FROM deployments \
         WHERE finished_at IS NOT NULL AND dora_state IS NOT NULL GROUP BY finished_at / 900, environment, provider_id",
    )
    .await;
    assert_eq!(rolled, scanned);
    rolled
}

/// Per span: `(counted, successes, signalled)` from the store's sums and
/// from a scan of `deployments`; asserts they are equal.
async fn spans_are_the_scan(
    app: &TestApp,
    spans: &[(DateTime<Utc>, DateTime<Utc>)],
    repo: Option<&str>,
) -> Vec<(i64, i64, i64)> {
    let store = Store::connect_existing(&app.database_url, &StoreOptions::default()).await.expect("store");
    let filter = DeploymentFilter { repo: repo.map(str::to_owned), ..DeploymentFilter::default() };
    let sums = store.deployments().span_sums(spans, &filter).await.expect("sums");
    let mut summed = vec![(0, 0, 0); spans.len()];
    for s in &sums {
        let cell = &mut summed[s.span];
        *cell = (cell.0 + s.counted, cell.1 + s.successes, cell.2 + s.signalled);
    }
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    let mut scanned = Vec::new();
    for (start, end) in spans {
        let row = sqlx::query(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN dora_state = 0 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN dora_signal IS NOT NULL THEN 1 ELSE 0 END), 0) FROM deployments \
             WHERE finished_at >= $1 AND finished_at < $2 AND dora_state IS NOT NULL AND ($3 = '' OR repo = $3)",
        )
        .bind(start.timestamp())
        .bind(end.timestamp())
        .bind(repo.unwrap_or(""))
        .fetch_one(&mut conn)
        .await
        .expect("scan");
        scanned.push((row.try_get(0).expect("n"), row.try_get(1).expect("s"), row.try_get(2).expect("f")));
    }
    assert_eq!(summed, scanned, "{spans:?} {repo:?}");
    summed
}

/// Successes per bucket label of a daily series in `tz`.
async fn daily(app: &TestApp, tz: &str) -> Vec<(String, u64, u64)> {
    let (status, body) = app.get(&format!("/api/dora/timeseries?window_days=7&tz={tz}")).await;
    assert_eq!(status, 200, "{body}");
    body["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .filter(|b| b["change_failure_rate"]["deployments"] != 0)
        .map(|b| {
            (
                b["label"].as_str().expect("label").to_owned(),
                b["deployment_frequency"]["deployments"].as_u64().expect("successes"),
                b["change_failure_rate"]["deployments"].as_u64().expect("counted"),
            )
        })
        .collect()
}

on_both_backends! {
    // Day D is three UTC days back; midnight in Kolkata is 18:30 UTC.
    // acme/web production: success D−1 10:00 (local D−1 15:30), success
    // D 18:20 (local D 23:50), failure D 18:35 (local D+1 00:05), success
    // D 18:40 (local D+1 00:10, restores after 300 s). acme/api
    // production: success D 18:41; staging: a success (not production).
    //
    // 7 days: 4 successes + 1 failure = 5 counted, CFR 0.2, restore 300 s.
    // Days with a deployment: UTC D−1, D → 2/7; Kolkata D−1, D, D+1 → 3/7.
    // Daily in UTC: D−1 (1 of 1), D (3 of 4); in Kolkata: D−1 (1 of 1),
    // D (1 of 1), D+1 (2 of 3).
    async fn quarter_roll_up_matches_the_scan_and_local_days(app: TestApp) {
        let d: NaiveDate = (Utc::now() - Duration::days(3)).date_naive();
        let at = |day: NaiveDate, h: u32, m: u32| day.and_hms_opt(h, m, 0).expect("time").and_utc();
        let before = d.pred_opt().expect("day before");
        let after = d.succ_opt().expect("day after");
        for (repo, environment, id, state, when) in [
            ("acme/web", "production", 1, "success", at(before, 10, 0)),
            ("acme/web", "production", 2, "success", at(d, 18, 20)),
            ("acme/web", "production", 4, "success", at(d, 18, 40)),
            ("acme/api", "production", 5, "success", at(d, 18, 41)),
            ("acme/web", "staging", 6, "success", at(d, 18, 42)),
        ] {
            app.deliver_json("deployment_status", &status(repo, environment, id, state, when), "stored").await;
        }
        roll_up_is_the_scan(&app).await;
        // The failure arrives late, between two derived successes.
        let failure = status("acme/web", "production", 3, "failure", at(d, 18, 35));
        app.deliver_json("deployment_status", &failure, "stored").await;
        let cells = roll_up_is_the_scan(&app).await;
        assert_eq!(cells.iter().map(|c| c.3).sum::<i64>(), 6, "{cells:?}");

        for (tz, days) in [("UTC", 2.0), ("Asia/Kolkata", 3.0)] {
            let (code, body) = app.get(&format!("/api/dora?window_days=7&tz={tz}")).await;
            assert_eq!(code, 200, "{body}");
            let current = &body["current"];
            assert_eq!(current["deployment_frequency"]["deployments"], 4, "{body}");
            assert_eq!(current["deployment_frequency"]["days_with_deployment"], days / 7.0, "{tz}: {body}");
            assert_eq!(current["change_failure_rate"]["deployments"], 5, "{body}");
            assert_eq!(current["change_failure_rate"]["rate"], 0.2, "{body}");
            assert_eq!(current["time_to_restore"]["median_seconds"], 300.0, "{body}");
        }
        let label = |day: NaiveDate| day.to_string();
        assert_eq!(daily(&app, "UTC").await, [(label(before), 1, 1), (label(d), 3, 4)]);
        assert_eq!(
            daily(&app, "Asia/Kolkata").await,
            [(label(before), 1, 1), (label(d), 1, 1), (label(after), 2, 3)]
        );
        let (code, body) = app.get("/api/dora?window_days=7&repo=acme/api").await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["current"]["change_failure_rate"]["deployments"], 1, "{body}");

        // Spans cutting the quarter hours 18:30–18:45 and 18:15–18:30 of D
        // at odd seconds, with a gap, with and without a repository.
        let s = |h: u32, m: u32, sec: u32| d.and_hms_opt(h, m, sec).expect("time").and_utc();
        let spans = [
            (at(before, 0, 0), s(18, 20, 0)),
            (s(18, 20, 0), s(18, 37, 30)),
            (s(18, 37, 30), s(18, 40, 1)),
            (s(18, 41, 7), Utc::now() + Duration::seconds(1)),
        ];
        assert_eq!(spans_are_the_scan(&app, &spans, None).await, [(1, 1, 0), (2, 1, 1), (1, 1, 0), (1, 1, 0)]);
        // (acme/api's success at 18:41 falls between the spans; the last
        // holds acme/web's staging success.)
        let web = spans_are_the_scan(&app, &spans, Some("acme/web")).await;
        assert_eq!(web, [(1, 1, 0), (2, 1, 1), (1, 1, 0), (1, 1, 0)]);
        let api = spans_are_the_scan(&app, &spans, Some("acme/api")).await;
        assert_eq!(api, [(0, 0, 0); 4]);
        let one = [(s(18, 35, 0), s(18, 40, 0))];
        assert_eq!(spans_are_the_scan(&app, &one, None).await, [(1, 0, 1)]);

        // Retention from D 12:00: D−1's success goes.
        let store = Store::connect_existing(&app.database_url, &StoreOptions::default()).await.expect("store");
        store.deployments().delete_older_than(s(12, 0, 0).timestamp()).await.expect("retention");
        let cells = roll_up_is_the_scan(&app).await;
        assert_eq!(cells.iter().map(|c| c.3).sum::<i64>(), 5, "{cells:?}");
    }
}
