//! Periodic jobs: a due job runs on exactly one of several replicas, once
//! per interval (a job due more often than the scheduler's tick too),
//! never overlapping itself; retention deletes only what is older than its age.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use cicd_dashboard::scheduler::{PeriodicJob, Scheduler, TickOutcome, retention};
use cicd_dashboard::store::Store;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::payloads::{Run, minutes_ago};

/// A job that counts its runs and the most that ran at once.
fn counting_job(interval_seconds: i64, work: Duration) -> (PeriodicJob, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (runs, running, most) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, now_running, peak) = (runs.clone(), running.clone(), most.clone());
    let job = PeriodicJob {
        name: "counting",
        interval_seconds,
        task: Arc::new(move |_store| {
            let (r, now_running, peak) = (r.clone(), now_running.clone(), peak.clone());
            Box::pin(async move {
                let at_once = now_running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(at_once, Ordering::SeqCst);
                tokio::time::sleep(work).await;
                now_running.fetch_sub(1, Ordering::SeqCst);
                Ok(format!("run {}", r.fetch_add(1, Ordering::SeqCst) + 1))
            })
        }),
    };
    (job, runs, most)
}

async fn replica_store(app: &TestApp) -> Store {
    Store::connect(&app.database_url, &Default::default()).await.expect("store")
}

on_both_backends! {
    async fn a_due_job_runs_once_across_replicas_and_once_per_interval(app: TestApp) {
        let (job, runs, _) = counting_job(600, Duration::from_millis(200));
        let a = Scheduler::new(replica_store(&app).await, vec![job.clone()]);
        let b = Scheduler::new(replica_store(&app).await, vec![job]);
        let now = Utc::now();
        let (ra, rb) = tokio::join!(a.tick(now), b.tick(now));
        let ran = [&ra[0].1, &rb[0].1].iter().filter(|o| matches!(o, TickOutcome::Ran(_))).count();
        assert_eq!(ran, 1, "{ra:?} {rb:?}");
        assert_eq!(runs.load(Ordering::SeqCst), 1);

        // Not due again until the interval has passed.
        let (ra, rb) = tokio::join!(a.tick(now + chrono::Duration::seconds(5)), b.tick(now + chrono::Duration::seconds(5)));
        assert_eq!((&ra[0].1, &rb[0].1), (&TickOutcome::Skipped, &TickOutcome::Skipped));
        let later = now + chrono::Duration::seconds(601);
        let (ra, rb) = tokio::join!(a.tick(later), b.tick(later));
        let ran = [&ra[0].1, &rb[0].1].iter().filter(|o| matches!(o, TickOutcome::Ran(_))).count();
        assert_eq!(ran, 1);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        let leases = app_store_leases(&app).await;
        assert_eq!(leases.len(), 1);
        assert_eq!(leases[0].runs, 2);
        assert!(!leases[0].running);
    }

    async fn a_job_longer_than_its_interval_never_overlaps_itself(app: TestApp) {
        let (job, runs, most) = counting_job(1, Duration::from_millis(1500));
        let a = Scheduler::new(replica_store(&app).await, vec![job.clone()]);
        let b = Scheduler::new(replica_store(&app).await, vec![job]);
        let start = Utc::now();
        let first = tokio::spawn(async move { a.tick(start).await });
        tokio::time::sleep(Duration::from_millis(400)).await;
        // Due by its interval, but still running elsewhere.
        let second = b.tick(start + chrono::Duration::seconds(2)).await;
        assert_eq!(second[0].1, TickOutcome::Skipped);
        assert!(matches!(first.await.expect("tick")[0].1, TickOutcome::Ran(_)));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(most.load(Ordering::SeqCst), 1);
        // Once it finished, the next due tick runs it again.
        let third = b.tick(start + chrono::Duration::seconds(3)).await;
        assert!(matches!(third[0].1, TickOutcome::Ran(_)));
    }

    async fn retention_deletes_only_attempts_older_than_its_age(app: TestApp) {
        let old = Run::new(7001, minutes_ago(100 * 24 * 60)).at("completed", Some("success"), 60);
        let recent = Run::new(7002, minutes_ago(60)).at("completed", Some("failure"), 60);
        app.deliver_json("workflow_run", &old.payload(), "stored").await;
        app.deliver_json("workflow_run", &recent.payload(), "stored").await;
        assert_eq!(app.builds().await.len(), 2);
        let scheduler = Scheduler::new(replica_store(&app).await, retention::job(Some(90)).into_iter().collect());
        let report = scheduler.tick(Utc::now()).await;
        assert_eq!(report[0].1, TickOutcome::Ran("retention: deleted 1 run attempts, 0 deliveries, 0 roll-up rows, 0 unused job keys, 0 unused runner minute cells and 0 deployment, commit and incident rows older than 90 days".into()));
        let builds = app.builds().await;
        assert_eq!(builds.len(), 1);
        assert_eq!(builds[0]["external_id"], "7002");
        assert!(retention::job(Some(0)).is_none(), "0 keeps everything");
    }

    async fn a_long_job_does_not_hold_up_the_others_when_running(app: TestApp) {
        let (slow, slow_runs, slow_most) = counting_job(1, Duration::from_millis(2500));
        let fast_runs = Arc::new(AtomicUsize::new(0));
        let counter = fast_runs.clone();
        let fast = PeriodicJob {
            name: "fast",
            interval_seconds: 1,
            task: Arc::new(move |_store| {
                let counter = counter.clone();
                Box::pin(async move { Ok(format!("fast {}", counter.fetch_add(1, Ordering::SeqCst) + 1)) })
            }),
        };
        let scheduler = Scheduler::new(replica_store(&app).await, vec![slow, fast]);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(scheduler.run(Duration::from_millis(200), async move {
            let _ = stopped.await;
        }));
        tokio::time::sleep(Duration::from_millis(2300)).await;
        // While the slow job's first run is still going, the fast one ran
        // once a second.
        assert_eq!(slow_runs.load(Ordering::SeqCst), 0, "the slow job is still on its first run");
        assert!(fast_runs.load(Ordering::SeqCst) >= 2, "fast ran {}", fast_runs.load(Ordering::SeqCst));
        let _ = stop.send(());
        running.await.expect("scheduler stops");
        assert!(slow_most.load(Ordering::SeqCst) <= 1);
    }

    async fn a_job_due_more_often_than_the_tick_runs_at_its_interval(app: TestApp) {
        // As the `rollups` job (every 20 s) under the default tick (60 s):
        // here every 1 s under a tick of a minute.
        let (job, runs, _) = counting_job(1, Duration::from_millis(10));
        let scheduler = Scheduler::new(replica_store(&app).await, vec![job]);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(scheduler.run(Duration::from_secs(60), async move {
            let _ = stopped.await;
        }));
        tokio::time::sleep(Duration::from_millis(3500)).await;
        let ran = runs.load(Ordering::SeqCst);
        assert!(ran >= 2, "ran {ran} times in 3.5 s");
        let _ = stop.send(());
        running.await.expect("scheduler stops");
    }
}

async fn app_store_leases(app: &TestApp) -> Vec<cicd_dashboard::store::JobLease> {
    replica_store(app).await.leases().job_leases().await.expect("leases")
}
