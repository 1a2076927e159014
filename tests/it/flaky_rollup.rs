//! The flaky roll-up (`flaky_days`, migration 0027) against the scan of
//! the occurrences, on both back ends: the hand-worked dataset of `flaky`,
//! plus runs over several days delivered out of order and repeated, a
//! re-run that moves a commit occurrence to another day, a conclusion that
//! changes (an occurrence gone), and a retention delete with a cutoff
//! inside a day. After each step the roll-up read
//! (`/api/insights/flaky`'s `insights` + `report_lines`) equals the scan
//! (`window` + `report`) for many windows (every occurrence's time ± 1 s,
//! midnights) and filters, and the kept roll-up equals one rebuilt from
//! scratch; and each line's attempts (the tally's days and the edges'
//! attempts or their days' rest) equal the attempts counted from `builds`.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use cicd_dashboard::domain::ProviderKind;
use cicd_dashboard::metrics::flaky::{report, report_lines};
use cicd_dashboard::store::{FlakyFilter, Store};
use sqlx::{Connection, Row};

use crate::flaky::{finished, job, seed};
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

const DAY: i64 = 86_400;

/// The roll-up's rows, sorted.
async fn rows(url: &str) -> Vec<String> {
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let rows = sqlx::query(
        "SELECT day, provider_id, repo, workflow, branch, branch_null, key_id, occurrences, passed_on_retry, \
         flaky_jobs, failures, wasted_seconds, last_seen, top_at, top_build, examples FROM flaky_days \
         ORDER BY day, provider_id, repo, workflow, branch, branch_null, key_id",
    )
    .fetch_all(&mut conn)
    .await
    .expect("rows");
    rows.iter()
        .map(|r| {
            let n = |c: &str| r.try_get::<i64, _>(c).expect("int").to_string();
            let t = |c: &str| r.try_get::<String, _>(c).expect("text");
            [
                n("day"),
                n("provider_id"),
                t("repo"),
                t("workflow"),
                t("branch"),
                n("branch_null"),
                n("key_id"),
                n("occurrences"),
                n("passed_on_retry"),
                n("flaky_jobs"),
                n("failures"),
                n("wasted_seconds"),
                n("last_seen"),
                n("top_at"),
                n("top_build"),
                t("examples"),
            ]
            .join(" ")
        })
        .collect()
}

/// Per (provider kind, repository, workflow), the conclusive attempts that
/// started in `[start, end)` matching `filter`, counted from `builds`.
async fn raw_attempts(
    conn: &mut sqlx::AnyConnection,
    start: i64,
    end: i64,
    filter: &FlakyFilter,
) -> HashMap<(String, String, String), i64> {
    let mut sql = "SELECT p.kind, b.repo, b.workflow, COUNT(*) AS n FROM builds b \
         JOIN providers p ON p.id = b.provider_id WHERE b.sort_at >= $1 AND b.sort_at < $2 \
         AND b.status IN ('success', 'failed') AND b.workflow IS NOT NULL"
        .to_string();
    let kind = filter.provider.map(|p| p.kind().to_string());
    let mut values = Vec::new();
    for (column, value) in [
        ("b.repo", &filter.repo),
        ("b.workflow", &filter.workflow),
        ("b.branch", &filter.branch),
        ("p.kind", &kind),
    ] {
        if let Some(value) = value {
            values.push(value.clone());
            sql.push_str(&format!(" AND {column} = ${}", values.len() + 2));
        }
    }
    sql.push_str(" GROUP BY p.kind, b.repo, b.workflow");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(start).bind(end);
    for value in &values {
        query = query.bind(value.clone());
    }
    query
        .fetch_all(&mut *conn)
        .await
        .expect("attempts")
        .iter()
        .map(|r| {
            let text = |c: &str| r.try_get::<String, _>(c).expect(c);
            ((text("kind"), text("repo"), text("workflow")), r.try_get::<i64, _>("n").expect("n"))
        })
        .collect()
}

/// The roll-up read equals the scan for windows starting at every
/// occurrence's time ± 1 s and at midnights, under each filter; the kept
/// roll-up equals a rebuilt one. Answers how many occurrences there are.
async fn check(store: &Store, url: &str, step: &str) -> usize {
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let seen: Vec<i64> = sqlx::query("SELECT seen_at FROM flaky_occurrences")
        .fetch_all(&mut conn)
        .await
        .expect("seen")
        .iter()
        .map(|r| r.try_get("seen_at").expect("seen_at"))
        .collect();
    let now = Utc::now().timestamp();
    let mut starts: Vec<i64> = [1, 2, 7, 30].iter().map(|d| now - d * DAY).collect();
    for t in &seen {
        starts.extend([t - 1, *t, t + 1, t.div_euclid(DAY) * DAY, (t.div_euclid(DAY) + 1) * DAY]);
    }
    starts.sort();
    starts.dedup();
    let filters = [
        FlakyFilter::default(),
        FlakyFilter { repo: Some("octo-org/app".into()), ..FlakyFilter::default() },
        FlakyFilter { workflow: Some("CI".into()), ..FlakyFilter::default() },
        FlakyFilter { branch: Some("main".into()), ..FlakyFilter::default() },
        FlakyFilter { branch: Some("dev".into()), ..FlakyFilter::default() },
        FlakyFilter { provider: Some(ProviderKind::GitLab), ..FlakyFilter::default() },
    ];
    for filter in &filters {
        for start in &starts {
            for end in [now + 1, (now.div_euclid(DAY)) * DAY, start + DAY + 7] {
                let scan = report(&store.flaky().window(*start, end, filter).await.expect("scan"));
                let rolled =
                    report_lines(&store.flaky().insights(*start, end, filter).await.expect("roll-up"));
                assert_eq!(rolled, scan, "{step}: [{start}, {end}) {filter:?}");
                let raw = raw_attempts(&mut conn, *start, end, filter).await;
                let attempts = |kind: &str, repo: &str, workflow: &Option<String>| {
                    let key = (kind.to_string(), repo.to_string(), workflow.clone().unwrap_or_default());
                    raw.get(&key).copied().unwrap_or(0)
                };
                for w in &rolled.0 {
                    let expected = attempts(&w.provider_kind, &w.repo, &w.workflow);
                    assert_eq!(w.attempts, expected, "{step}: [{start}, {end}) {filter:?} {w:?}");
                }
                for j in &rolled.1 {
                    let expected = attempts(&j.provider_kind, &j.repo, &j.workflow);
                    assert_eq!(j.attempts, expected, "{step}: [{start}, {end}) {filter:?} {j:?}");
                }
            }
        }
    }
    let kept = rows(url).await;
    store.flaky().rebuild_days().await.expect("rebuild");
    assert_eq!(kept, rows(url).await, "{step}: the kept roll-up is the rebuilt one");
    seen.len()
}

on_both_backends! {
    async fn the_flaky_roll_up_answers_what_the_scan_of_occurrences_answers(app: TestApp) {
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        seed(&app).await;
        check(&store, &app.database_url, "the hand-worked dataset").await;

        // Run 801 on SHA d (main): attempt 1 three days ago failed
        // ("unit (a)" failed 200 s, "unit (b)" passed), attempt 2 two days
        // ago passed; attempt 2 and every job delivered first, twice.
        let sha_d = "d".repeat(40);
        let r801 = Run::new(801, minutes_ago(3 * 1440));
        let r801b = Run { attempt: 2, started_at: minutes_ago(2 * 1440), ..r801.clone() };
        app.deliver_json("workflow_run", &finished(&r801b, "success", 300, &sha_d, "push"), "stored").await;
        for payload in [
            job(8021, &r801b, "unit (a)", "success", 0, 150),
            job(8011, &r801, "unit (a)", "failure", 0, 200),
            job(8012, &r801, "unit (b)", "success", 0, 100),
        ] {
            app.deliver_json("workflow_job", &payload, "stored").await;
            app.deliver_json("workflow_job", &payload, "stored").await;
        }
        app.deliver_json("workflow_run", &finished(&r801, "failure", 300, &sha_d, "push"), "stored").await;
        // SHA e on branch dev: run 802 nine days ago failed, run 803 (a
        // pull request) eight days ago passed.
        let sha_e = "e".repeat(40);
        let r802 = Run { branch: "dev".into(), ..Run::new(802, minutes_ago(9 * 1440)) };
        let r803 = Run { branch: "dev".into(), ..Run::new(803, minutes_ago(8 * 1440)) };
        app.deliver_json("workflow_run", &finished(&r803, "success", 200, &sha_e, "pull_request"), "stored").await;
        app.deliver_json("workflow_run", &finished(&r802, "failure", 250, &sha_e, "push"), "stored").await;
        let before = check(&store, &app.database_url, "runs over several days").await;

        // A re-run of 801: attempt 3 yesterday failed, attempt 4 an hour
        // ago passed (the commit occurrence of SHA d moves to today).
        let r801c = Run { attempt: 3, started_at: minutes_ago(1440), ..r801.clone() };
        let r801d = Run { attempt: 4, started_at: minutes_ago(60), ..r801.clone() };
        app.deliver_json("workflow_run", &finished(&r801d, "success", 100, &sha_d, "push"), "stored").await;
        app.deliver_json("workflow_run", &finished(&r801c, "failure", 100, &sha_d, "push"), "stored").await;
        app.deliver_json("workflow_run", &finished(&r801c, "failure", 100, &sha_d, "push"), "stored").await;
        let rerun = check(&store, &app.database_url, "a re-run").await;
        assert!(rerun > before, "the re-run adds a passed-on-retry occurrence");

        // Run 802 re-delivered as passed: SHA e has no failure any more.
        app.deliver_json("workflow_run", &finished(&r802, "success", 900, &sha_e, "push"), "stored").await;
        let fewer = check(&store, &app.database_url, "a conclusion changed").await;
        assert!(fewer < rerun, "SHA e's commit occurrence is gone");

        // Retention at a cutoff inside a day: 2.5 days back.
        let cutoff = Utc::now() - Duration::hours(60);
        store.delete_older_than(cutoff).await.expect("retention");
        check(&store, &app.database_url, "retention").await;
        let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
        let oldest: Option<i64> = sqlx::query("SELECT MIN(day) AS d FROM flaky_days")
            .fetch_one(&mut conn)
            .await
            .expect("min")
            .try_get("d")
            .expect("d");
        assert!(oldest.is_none_or(|d| d >= cutoff.timestamp().div_euclid(DAY)), "no day before the cutoff's");
    }
}
