//! Hand-worked datasets for `super::jobs`.

use std::collections::BTreeMap;

use super::jobs::{JobFacts, JobTally, StepFacts, StepTally, slowest_step};
use crate::domain::BuildStatus;

fn job(status: BuildStatus, queue: Option<i64>, run: Option<i64>) -> JobFacts {
    let completed = !matches!(status, BuildStatus::Queued | BuildStatus::Running);
    JobFacts {
        status,
        started: status != BuildStatus::Queued,
        completed,
        queue_seconds: queue,
        run_seconds: run,
        carried_over: false,
    }
}

/// Jobs of one key:
/// - success: queue 10, run 60 · success: queue 20, run 120 · success:
///   queue 0 (clock skew, clamped at the edge), run 180
/// - failed: queue 30, run 300
/// - cancelled: queue 40, run 30 (runner time, not a duration)
/// - skipped: in nothing
/// - still queued: a run, no queue time
/// - carried over (success, queue 5, run 999): in nothing
///
/// runs = 6 (3 success + failed + cancelled + queued); failure rate = 1/4 =
/// 0.25; durations {60, 120, 180, 300}: p50 h = 3·0.5 = 1.5 → 120 + 0.5·60
/// = 150, p95 h = 2.85 → 180 + 0.85·120 = 282; queues {0, 10, 20, 30, 40}:
/// p50 = 20, p95 h = 3.8 → 30 + 0.8·10 = 38; runner time = 60 + 120 + 180
/// + 300 + 30 = 690.
#[test]
fn a_hand_worked_key() {
    let mut tally = JobTally::default();
    let mut carried = job(BuildStatus::Success, Some(5), Some(999));
    carried.carried_over = true;
    for j in [
        job(BuildStatus::Success, Some(10), Some(60)),
        job(BuildStatus::Success, Some(20), Some(120)),
        job(BuildStatus::Success, Some(0), Some(180)),
        job(BuildStatus::Failed, Some(30), Some(300)),
        job(BuildStatus::Cancelled, Some(40), Some(30)),
        job(BuildStatus::Skipped, Some(0), Some(0)),
        job(BuildStatus::Queued, None, None),
        carried,
    ] {
        tally.add_job(&j, 1);
    }
    let f = tally.figures();
    assert_eq!(f.runs, 6);
    assert_eq!(f.failed, 1);
    assert_eq!(f.failure_rate, Some(0.25));
    assert_eq!(f.p50_duration_seconds, Some(150.0));
    assert_eq!(f.p95_duration_seconds, Some(282.0));
    assert_eq!(f.p50_queue_seconds, Some(20.0));
    assert_eq!(f.p95_queue_seconds, Some(38.0));
    assert_eq!(f.runner_seconds, 690);
}

/// A tally minus a part equals the tally of the rest (roll-up edges).
#[test]
fn parts_subtract_and_merge() {
    let a = job(BuildStatus::Success, Some(10), Some(60));
    let b = job(BuildStatus::Failed, Some(20), Some(90));
    let mut whole = JobTally::default();
    whole.add_job(&a, 1);
    whole.add_job(&b, 1);
    whole.add_job(&a, -1);
    let mut only_b = JobTally::default();
    only_b.add_job(&b, 1);
    assert_eq!(whole, only_b);
    let mut merged = JobTally::default();
    merged.merge(&only_b);
    merged.merge(&only_b);
    assert_eq!(merged.figures().runs, 2);
    assert_eq!(merged.figures().p50_duration_seconds, Some(90.0));
}

/// Previous window: runs 4, failure rate 0.5, p50 100; now runs 6, 0.25,
/// 150 → change +2, −0.25, +50; a null side gives null.
#[test]
fn change_against_the_previous_window() {
    let mut now = JobTally::default();
    for run in [100, 200] {
        now.add_job(&job(BuildStatus::Success, Some(0), Some(run)), 1);
    }
    let mut before = JobTally::default();
    before.add_job(&job(BuildStatus::Success, Some(0), Some(50)), 1);
    before.add_job(&job(BuildStatus::Failed, Some(0), Some(50)), 1);
    before.add_job(&job(BuildStatus::Queued, None, None), 1);
    // now: runs 2, rate 0/2 = 0, p50 150; before: runs 3, rate 1/2, p50 50.
    let change = now.figures().change_from(&before.figures());
    assert_eq!(change.runs, -1);
    assert_eq!(change.failure_rate, Some(-0.5));
    assert_eq!(change.p50_duration_seconds, Some(100.0));
    assert_eq!(change.runner_seconds, 300 - 100);
    let empty = JobTally::default().figures();
    assert_eq!(now.figures().change_from(&empty).p50_duration_seconds, None);
}

/// Steps by name: "build" {30, 50} p50 40; "test" {10, 100, 20} p50 20;
/// a skipped "deploy" is in nothing → slowest is "build" (40 > 20).
#[test]
fn the_slowest_step_is_the_highest_median() {
    let mut steps: BTreeMap<String, StepTally> = BTreeMap::new();
    let ok = |s: i64| StepFacts { status: BuildStatus::Success, seconds: Some(s) };
    for (name, number, facts) in [
        ("build", 2, ok(30)),
        ("build", 2, ok(50)),
        ("test", 3, ok(10)),
        ("test", 3, StepFacts { status: BuildStatus::Failed, seconds: Some(100) }),
        ("test", 3, ok(20)),
        ("deploy", 4, StepFacts { status: BuildStatus::Skipped, seconds: Some(0) }),
    ] {
        steps.entry(name.into()).or_default().add_step(number, &facts, 1);
    }
    let slowest = slowest_step(&steps).expect("a step");
    assert_eq!(slowest.name, "build");
    assert_eq!(slowest.p50_duration_seconds, Some(40.0));
    let test = steps["test"].figures("test");
    assert_eq!((test.runs, test.failed), (3, 1));
    assert_eq!(test.p50_duration_seconds, Some(20.0));
    assert_eq!(steps["deploy"].runs, 0);
}
