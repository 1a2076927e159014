//! Hand-worked cases for each definition of the module.

use super::*;

fn attempt(
    build_id: i64,
    run: &str,
    n: i64,
    sha: Option<&str>,
    outcome: Outcome,
    sort_at: i64,
) -> AttemptFacts {
    AttemptFacts {
        build_id,
        run_id: run.into(),
        run_attempt: n,
        workflow: Some("CI".into()),
        commit_sha: sha.map(str::to_string),
        branch: Some("main".into()),
        outcome,
        duration_seconds: Some(600),
        sort_at,
    }
}

fn job(job_id: i64, build_id: i64, key: i64, name: &str, outcome: Outcome, secs: i64) -> JobFacts {
    JobFacts {
        job_id,
        build_id,
        key_id: Some(key),
        name: Some(name.into()),
        outcome,
        started_at: Some(1_000),
        completed_at: Some(1_000 + secs),
    }
}

use Outcome::{Failed, Other, Passed};

#[test]
fn rerun_failed_jobs_with_carried_over_successful_jobs() {
    // Run 7, attempt 1 failed: build (120 s, passed) and test (300 s, failed).
    // "Re-run failed jobs": attempt 2 runs test again (passed, 280 s) and
    // carries build over as a new row that passed (never failed: not flaky).
    let attempts =
        [attempt(1, "7", 1, Some("abc"), Failed, 100), attempt(2, "7", 2, Some("abc"), Passed, 900)];
    let jobs = [
        job(10, 1, 1, "build", Passed, 120),
        job(11, 1, 2, "test", Failed, 300),
        job(20, 2, 1, "build", Passed, 120),
        job(21, 2, 2, "test", Passed, 280),
    ];
    let found = detect(&attempts, &jobs);
    // Retry: attempt 1 → 2, wasted = attempt 1's failed jobs = test's 300 s.
    // Job: key 2 "test" failed (job 11) → passed (job 21), wasted 300 s.
    // Commit: CI on abc has a failure and a success: latest failed = 1,
    // latest passed = 2, wasted 300 s, seen at max(100, 900) = 900.
    assert_eq!(found.len(), 3, "{found:?}");
    let retry = &found[0];
    assert_eq!((retry.kind, retry.build_id, retry.failed_build_id), (Kind::Retry, 2, 1));
    assert_eq!((retry.failures, retry.wasted_seconds, retry.seen_at), (1, 300, 900));
    let flaky_job = &found[1];
    assert_eq!(flaky_job.kind, Kind::Job);
    assert_eq!((flaky_job.key_id, flaky_job.job_id, flaky_job.failed_job_id), (Some(2), Some(21), Some(11)));
    assert_eq!((flaky_job.wasted_seconds, flaky_job.job_name.as_deref()), (300, Some("test")));
    let commit = &found[2];
    assert_eq!((commit.kind, commit.build_id, commit.failed_build_id), (Kind::Commit, 2, 1));
    assert_eq!((commit.failures, commit.wasted_seconds, commit.seen_at), (1, 300, 900));
}

#[test]
fn gitlab_retry_two_failed_tries_then_a_pass() {
    // A GitLab pipeline: rspec failed (try 1, 200 s) and failed again (try
    // 2, 250 s), then passed (try 3): tries are attempts 1, 2, 3.
    let attempts = [
        attempt(1, "55", 1, Some("s"), Failed, 10),
        attempt(2, "55", 2, Some("s"), Failed, 20),
        attempt(3, "55", 3, Some("s"), Passed, 30),
    ];
    let jobs = [
        job(1, 1, 9, "rspec", Failed, 200),
        job(2, 2, 9, "rspec", Failed, 250),
        job(3, 3, 9, "rspec", Passed, 90),
    ];
    let found = detect(&attempts, &jobs);
    // One retry (2 → 3) standing for 2 failures, wasted 200 + 250 = 450;
    // one flaky job (try 2 → try 3), wasted 450; one commit, wasted 450.
    let kinds: Vec<Kind> = found.iter().map(|o| o.kind).collect();
    assert_eq!(kinds, [Kind::Retry, Kind::Job, Kind::Commit]);
    assert!(found.iter().all(|o| o.wasted_seconds == 450 && o.failures == 2 && o.failed_build_id == 2));
}

#[test]
fn push_and_pull_request_runs_on_one_sha() {
    // Push run 1 failed (no jobs stored: its 600 s duration counts);
    // pull_request run 2 on the same SHA passed. Not a retry (two runs), no
    // job pairs: one commit occurrence.
    let attempts = [attempt(1, "1", 1, Some("abc"), Failed, 50), attempt(2, "2", 1, Some("abc"), Passed, 40)];
    let found = detect(&attempts, &[]);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].kind, found[0].failed_build_id, found[0].build_id), (Kind::Commit, 1, 2));
    assert_eq!((found[0].wasted_seconds, found[0].seen_at), (600, 50));
}

#[test]
fn a_cancelled_attempt_is_not_a_failure() {
    // Attempt 1 cancelled, attempt 2 passed: nothing flaky.
    let attempts = [attempt(1, "3", 1, Some("x"), Other, 1), attempt(2, "3", 2, Some("x"), Passed, 2)];
    let jobs = [job(1, 1, 4, "lint", Other, 30), job(2, 2, 4, "lint", Passed, 30)];
    assert!(detect(&attempts, &jobs).is_empty());
    // Failed, cancelled, passed: the cancelled one is passed over, so 1 → 3.
    let attempts = [
        attempt(1, "3", 1, Some("x"), Failed, 1),
        attempt(2, "3", 2, Some("x"), Other, 2),
        attempt(3, "3", 3, Some("x"), Passed, 3),
    ];
    let found = detect(&attempts, &[]);
    assert_eq!((found[0].kind, found[0].failed_build_id, found[0].build_id), (Kind::Retry, 1, 3));
}

#[test]
fn passed_then_failed_is_not_flaky_but_a_different_result() {
    // Attempt 1 passed, attempt 2 failed: no pass after the failure, so no
    // retry and no flaky job — but the commit has both results.
    let attempts = [attempt(1, "4", 1, Some("y"), Passed, 1), attempt(2, "4", 2, Some("y"), Failed, 2)];
    let jobs = [job(1, 1, 4, "e2e", Passed, 30), job(2, 2, 4, "e2e", Failed, 40)];
    let kinds: Vec<Kind> = detect(&attempts, &jobs).iter().map(|o| o.kind).collect();
    assert_eq!(kinds, [Kind::Commit]);
}

#[test]
fn matrix_variants_are_told_apart_and_messy_rows_tolerated() {
    // Key 5 has two variants; only "test (linux)" fails then passes.
    // Duplicated rows, out-of-order input, a job whose clock skewed
    // backwards (completed before it started → 0 s) and a nameless job.
    let attempts = [attempt(2, "9", 2, None, Passed, 20), attempt(1, "9", 1, None, Failed, 10)];
    let mut skewed = job(3, 1, 5, "test (linux)", Failed, 0);
    skewed.completed_at = Some(900);
    let nameless = JobFacts { key_id: None, name: None, ..job(7, 1, 0, "", Failed, 5) };
    let jobs = [
        job(4, 2, 5, "test (linux)", Passed, 60),
        skewed.clone(),
        skewed,
        job(5, 1, 5, "test (mac)", Passed, 60),
        job(6, 2, 5, "test (mac)", Passed, 60),
        nameless,
    ];
    let found = detect(&attempts, &jobs);
    // No SHA: no commit occurrence. Retry wasted = attempt 1's failed
    // jobs: skewed 0 s + nameless 5 s = 5.
    let kinds: Vec<Kind> = found.iter().map(|o| o.kind).collect();
    assert_eq!(kinds, [Kind::Retry, Kind::Job]);
    assert_eq!(found[0].wasted_seconds, 5);
    assert_eq!((found[1].job_name.as_deref(), found[1].wasted_seconds), (Some("test (linux)"), 0));
}
