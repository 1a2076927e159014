//! The failure roll-up (`failure_days`) against the scan, on both back
//! ends: the hand-worked dataset of `failure_insights`, plus a GitLab
//! pipeline whose failed retry arrives first (stored as attempt 1) and is
//! moved to attempt 2 when the first try arrives, then a retention delete.
//! After each step the roll-up read equals the scan for many windows (every
//! failure's time ± 1 s, midnights) and filters, the roll-up and its
//! per-signature sums (`failure_signature_days`, with the builds per
//! class of migration 0030) equal ones rebuilt from scratch, and the list
//! answers what was worked out by hand.

use std::sync::Arc;

use chrono::{Duration, Utc};
use cicd_dashboard::config::FailureSettings;
use cicd_dashboard::domain::ProviderKind;
use cicd_dashboard::domain::failure::Classifier;
use cicd_dashboard::providers::failure_fetch::FailureFetch;
use cicd_dashboard::scheduler::failure_reasons::record_pending;
use cicd_dashboard::store::Store;
use cicd_dashboard::store::failures::FailuresFilter;
use sqlx::{Connection, Row};

use crate::failure_insights::seed;
use crate::gitlab_payloads::{HookJob, Pipeline, attempts_of, deliver};
use crate::on_both_backends;

/// The roll-up's rows, sorted.
async fn days(url: &str) -> Vec<String> {
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let rows = sqlx::query(
        "SELECT day, signature_id, repo, workflow, branch, job_name, nulls, class, failures, builds, last_at \
         FROM failure_days ORDER BY day, signature_id, repo, workflow, branch, job_name, nulls, class",
    )
    .fetch_all(&mut conn)
    .await
    .expect("rows");
    rows.iter()
        .map(|r| {
            let n = |c: &str| r.try_get::<i64, _>(c).expect("int");
            let t = |c: &str| r.try_get::<String, _>(c).expect("text");
            format!(
                "{} {} {} {} {} {} {} {} {} {} {}",
                n("day"),
                n("signature_id"),
                t("repo"),
                t("workflow"),
                t("branch"),
                t("job_name"),
                n("nulls"),
                t("class"),
                n("failures"),
                n("builds"),
                n("last_at")
            )
        })
        .collect()
}

/// The roll-up read equals the scan for windows starting at every failure
/// time ± 1 s and at midnights, under each filter; and the incrementally
/// kept roll-up equals a rebuilt one.
async fn check(store: &Store, url: &str) {
    let times: Vec<i64> = {
        let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
        sqlx::query("SELECT failed_at FROM job_failures")
            .fetch_all(&mut conn)
            .await
            .expect("times")
            .iter()
            .map(|r| r.try_get("failed_at").expect("time"))
            .collect()
    };
    let mut starts = vec![0, Utc::now().timestamp() - 40 * 86_400];
    for t in &times {
        starts.extend([t - 1, *t, t + 1, t / 86_400 * 86_400, (t / 86_400 + 1) * 86_400]);
    }
    let filters = [
        FailuresFilter::default(),
        FailuresFilter { repo: Some("acme/app".into()), ..Default::default() },
        FailuresFilter { repo: Some("grp/app".into()), ..Default::default() },
        FailuresFilter { class: Some("code".into()), ..Default::default() },
        FailuresFilter { class: Some("infrastructure".into()), ..Default::default() },
        FailuresFilter { class: Some("code".into()), repo: Some("acme/app".into()), ..Default::default() },
        FailuresFilter {
            branch: Some("main".into()),
            workflow: Some("pipeline".into()),
            ..Default::default()
        },
    ];
    let failures = store.failures();
    for since in starts {
        for filter in &filters {
            let filter = FailuresFilter { since, ..filter.clone() };
            for limit in [1, 20] {
                let rolled = failures.top_signatures(&filter, limit).await.expect("roll-up");
                let scanned = failures.top_signatures_scan(&filter, limit).await.expect("scan");
                assert_eq!(rolled, scanned, "since {since}, {filter:?}, limit {limit}");
            }
        }
    }
    let kept = (days(url).await, signature_days(url).await);
    failures.rebuild_days().await.expect("rebuild");
    assert_eq!(kept, (days(url).await, signature_days(url).await), "kept roll-up = rebuilt roll-up");
}

/// The per-signature sums (`failure_signature_days`), sorted.
async fn signature_days(url: &str) -> Vec<(i64, i64, String, i64, i64, i64, i64)> {
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let rows = sqlx::query(
        "SELECT day, signature_id, class, failures, builds, last_at, class_builds FROM failure_signature_days \
         ORDER BY day, signature_id, class",
    )
    .fetch_all(&mut conn)
    .await
    .expect("rows");
    rows.iter()
        .map(|r| {
            let n = |c: &str| r.try_get::<i64, _>(c).expect("int");
            (
                n("day"),
                n("signature_id"),
                r.try_get("class").expect("class"),
                n("failures"),
                n("builds"),
                n("last_at"),
                n("class_builds"),
            )
        })
        .collect()
}

on_both_backends! {
    async fn failure_rollup_equals_the_scan_through_a_move_and_a_retention_delete(app: TestApp) {
        let now = Utc::now();
        seed(&app).await;
        let store = Store::connect(&app.database_url, &Default::default()).await.expect("store");
        check(&store, &app.database_url).await;
        // GitLab: the retry A' (retries_count 1) fails and arrives first.
        let t0 = now - Duration::hours(2);
        let pipeline = Pipeline { id: 4242, project: "grp/app", created: t0 };
        let first = HookJob {
            id: 9001, name: "test", status: "failed", created: t0,
            started: Some(t0 + Duration::seconds(60)), finished: Some(t0 + Duration::seconds(240)),
            retries_count: 0, allow_failure: false,
        };
        let retry = HookJob {
            id: 9002, created: t0 + Duration::seconds(600), started: Some(t0 + Duration::seconds(620)),
            finished: Some(t0 + Duration::seconds(720)), retries_count: 1, ..first.clone()
        };
        let classifier = Arc::new(Classifier::new(&[]).expect("classifier"));
        let fetch = FailureFetch { store: store.clone(), classifier: classifier.clone(), settings: FailureSettings::default() };
        let record = async |expected: usize| {
            assert_eq!(record_pending(&store, &classifier, &[ProviderKind::GitLab], now.timestamp()).await.expect("pass"), expected);
            let left = store.failures().pending(0, 100).await.expect("pending");
            assert!(left.is_empty(), "left pending: {left:?}");
            let unfetched = store.failures().unfetched(ProviderKind::GitLab, 0, 100).await.expect("unfetched");
            for job in &unfetched {
                fetch.save(job, &["assertion failed at src/q.rs:1".to_owned()], None, now.timestamp()).await.expect("save");
            }
        };
        deliver(&app, "Job Hook", &pipeline.job_hook(&retry), "stored").await;
        record(1).await;
        let attempts = attempts_of(&app, 4242).await;
        assert_eq!(attempts.len(), 1, "the retry alone is attempt 1 for now");
        check(&store, &app.database_url).await;
        // The first try arrives: the retry moves to attempt 2.
        deliver(&app, "Job Hook", &pipeline.job_hook(&first), "stored").await;
        record(1).await;
        let attempts = attempts_of(&app, 4242).await;
        assert_eq!(attempts.len(), 2, "{attempts:?}");
        check(&store, &app.database_url).await;
        // By hand: S1 over 30 days is a1, a2, a3, c1 and both GitLab tries,
        // six failures in six run attempts; the example is the retry's.
        let filter = FailuresFilter { since: now.timestamp() - 30 * 86_400, ..Default::default() };
        let top = store.failures().top_signatures(&filter, 20).await.expect("top");
        assert_eq!((top[0].failures, top[0].builds), (6, 6), "{top:?}");
        let second = attempts.iter().find(|b| b["run_attempt"] == 2).expect("attempt 2");
        assert_eq!(Some(top[0].example_build_id), second["id"].as_i64());
        let gitlab = FailuresFilter { repo: Some("grp/app".into()), ..filter.clone() };
        let top = store.failures().top_signatures(&gitlab, 20).await.expect("top");
        assert_eq!((top[0].failures, top[0].builds, top[0].repositories.clone()), (2, 2, vec!["grp/app".to_owned()]));

        // Retention (5 days) deletes c1: five failures in five attempts.
        store.delete_older_than(now - Duration::days(5)).await.expect("retention");
        check(&store, &app.database_url).await;
        let top = store.failures().top_signatures(&filter, 20).await.expect("top");
        assert_eq!((top[0].failures, top[0].builds), (5, 5), "{top:?}");
    }
}
