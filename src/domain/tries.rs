//! Try numbers: how a provider that retries a job as a *new* job inside
//! the same run (GitLab CI: a retried pipeline keeps its id and goes from
//! `failed` back to `running`, a retried job gets a new id) still gets one
//! build row per run attempt, so "failed, then passed on retry" stays
//! visible as it does for a GitHub re-run. Pure; the store calls
//! [`crate::domain::tries_replan::replan`] and [`place`] inside the
//! delivery's transaction with the run's stored jobs.
//!
//! Rules (the README's GitLab mapping repeats them):
//! 1. A job's **try number** is 1 + the number of jobs of the same run with
//!    the same name and a smaller job id ([`try_number`]). GitLab's Job Hook
//!    says the same as `retries_count + 1`; the REST API's
//!    `…/jobs?include_retried=true` listing gives it by counting.
//! 2. A job belongs to the run attempt equal to its try number. With part
//!    of the run still unknown, a job's attempt is the least number the
//!    known jobs allow ([`attempts`]): at least what its delivery proves,
//!    at least where it is stored, and one more than the same-name job with
//!    the next smaller id. When an earlier try arrives late, the later
//!    tries' stored jobs move up to their new attempts.
//! 3. A run's state (a Pipeline Hook, a polled pipeline) belongs to the
//!    highest attempt among the jobs it lists: the pipeline's latest jobs
//!    are its latest attempt's. The store remembers which jobs a stored
//!    state listed; when they move up, the state moves with them, and the
//!    attempt it left keeps only what its remaining jobs imply (it goes
//!    when none remain).
//! 4. Every number is at least what the delivery itself proves (the
//!    `run_attempt` the provider put on the change) — never less.
//! 5. A run attempt without a start of its own starts when the earliest of
//!    the jobs its state lists in that attempt was created (attempt 1: the
//!    pipeline's first jobs' creation; a retry: the retried jobs'
//!    creation); attempt 1 whose listed jobs carry no creation time starts
//!    when the run was created. An attempt that no state has reached yet
//!    (known from Job Hooks only) has no start of its own.
//!
//! Webhooks and the API give the same rows because both carry what rule 1
//! needs (names and ids of the run's jobs) and nothing else is used; by
//! rules 2–3 every delivery order ends in the rows that full knowledge
//! gives.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Job, RunAttempt};

/// A run's stored job: its id, name, creation time and the attempt it was
/// placed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownJob {
    pub job_id: String,
    pub name: Option<String>,
    pub run_attempt: i64,
    pub created_at: Option<DateTime<Utc>>,
}

/// A run and the jobs it lists, placed by try numbers (see the module).
#[derive(Debug, Clone, PartialEq)]
pub struct TriedRun {
    /// The run's state, if the delivery carries one (a Job Hook does not).
    pub run: Option<RunAttempt>,
    /// Jobs of the same run (same provider, repository and run id).
    pub jobs: Vec<Job>,
}

/// Orders job ids numerically when both are numbers, else as text.
pub(crate) fn id_order(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

/// Rule 1: 1 + the number of `run_jobs` (`(id, name)`, the run's jobs, each
/// once) with the job's name and a smaller id. A job without a name is its
/// own first try.
pub fn try_number<'a>(
    job_id: &str,
    name: Option<&str>,
    run_jobs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> i64 {
    let Some(name) = name else { return 1 };
    let earlier = run_jobs
        .into_iter()
        .filter(|(id, other)| *other == Some(name) && id_order(id, job_id) == Ordering::Less)
        .count();
    1 + i64::try_from(earlier).unwrap_or(i64::MAX - 1)
}

/// Rule 2: the attempt of every job known for a run — the `stored` ones
/// and those `incoming` — keyed by job id. Within each name, in id order,
/// a job's attempt is the largest of: its floor (1, its stored attempt,
/// the number its delivery proves) and one more than the previous job's.
/// With every job of the run known and no floor above its try number this
/// is rule 1's try number; with some unknown, no job is placed below what
/// is known, and a number never goes down as more jobs arrive.
pub fn attempts(stored: &[KnownJob], incoming: &[Job]) -> HashMap<String, i64> {
    let mut known: HashMap<&str, (Option<&str>, i64)> =
        stored.iter().map(|j| (j.job_id.as_str(), (j.name.as_deref(), j.run_attempt.max(1)))).collect();
    for job in incoming {
        let entry = known.entry(job.job_id.as_str()).or_insert((job.name.as_deref(), 1));
        entry.1 = entry.1.max(job.run_attempt);
        if entry.0.is_none() {
            entry.0 = job.name.as_deref();
        }
    }
    let mut by_name: HashMap<&str, Vec<(&str, i64)>> = HashMap::new();
    let mut out = HashMap::with_capacity(known.len());
    for (id, (name, floor)) in &known {
        match name {
            Some(name) => by_name.entry(name).or_default().push((id, *floor)),
            None => {
                out.insert((*id).to_owned(), *floor);
            }
        }
    }
    for mut jobs in by_name.into_values() {
        jobs.sort_by(|a, b| id_order(a.0, b.0));
        let mut previous: i64 = 0;
        for (id, floor) in jobs {
            previous = floor.max(previous.saturating_add(1));
            out.insert(id.to_owned(), previous);
        }
    }
    out
}

/// Places a [`TriedRun`] given the run's `stored` jobs (rules 1–5): answers
/// the run (if any) and the jobs with their `run_attempt` set. Stored jobs
/// should already be where [`attempts`] puts them (the store moves them
/// first, see `tries_replan`).
pub fn place(change: &TriedRun, stored: &[KnownJob]) -> (Option<RunAttempt>, Vec<Job>) {
    let placed = attempts(stored, &change.jobs);
    let jobs: Vec<Job> = change
        .jobs
        .iter()
        .map(|job| {
            let run_attempt = placed.get(job.job_id.as_str()).copied().unwrap_or(job.run_attempt);
            Job { run_attempt, ..job.clone() }
        })
        .collect();
    let run = change.run.as_ref().map(|run| {
        let run_attempt = jobs.iter().map(|j| j.run_attempt).fold(run.run_attempt.max(1), i64::max);
        let started_at = run
            .started_at
            .or_else(|| {
                jobs.iter().filter(|j| j.run_attempt == run_attempt).filter_map(|j| j.created_at).min()
            })
            .or(if run_attempt == 1 { run.created_at } else { None });
        RunAttempt { run_attempt, started_at, ..run.clone() }
    });
    (run, jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;
    use crate::domain::time::parse_timestamp;
    use chrono::{DateTime, Utc};

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(parse_timestamp(text).expect("timestamp"))
    }

    fn job(id: &str, name: &str, created: &str) -> Job {
        Job { job_id: id.into(), name: Some(name.into()), ..fixtures::job("completed", at(created), None) }
    }

    fn known(id: &str, name: &str, attempt: i64) -> KnownJob {
        KnownJob { job_id: id.into(), name: Some(name.into()), run_attempt: attempt, created_at: None }
    }

    #[test]
    fn try_numbers_count_earlier_jobs_of_the_same_name() {
        // `test` ran as 3, 10 and 12 (retried twice), `lint` once as 5.
        let jobs = [("3", Some("test")), ("5", Some("lint")), ("10", Some("test")), ("12", Some("test"))];
        assert_eq!(try_number("3", Some("test"), jobs), 1);
        assert_eq!(try_number("10", Some("test"), jobs), 2);
        assert_eq!(try_number("12", Some("test"), jobs), 3);
        assert_eq!(try_number("5", Some("lint"), jobs), 1);
        // numeric, not text, order: "9" < "10"
        assert_eq!(try_number("10", Some("x"), [("9", Some("x")), ("10", Some("x"))]), 2);
        assert_eq!(try_number("10", None, jobs), 1);
    }

    /// The retried pipeline's last hook lists its latest jobs: `test` 10
    /// (the retry of 3) and `lint` 5. Knowing job 3, the hook's state is
    /// attempt 2, which starts when job 10 was created.
    #[test]
    fn a_pipeline_state_goes_to_its_latest_jobs_attempt() {
        let run = fixtures::run("completed", Some("success"), None, at("2024-01-01T00:20:00Z"));
        let change = TriedRun {
            run: Some(RunAttempt { started_at: None, ..run }),
            jobs: vec![job("5", "lint", "2024-01-01T00:00:00Z"), job("10", "test", "2024-01-01T00:10:00Z")],
        };
        let stored = [known("3", "test", 1), known("5", "lint", 1)];
        let (run, jobs) = place(&change, &stored);
        let run = run.expect("run");
        assert_eq!(run.run_attempt, 2);
        assert_eq!(run.started_at, at("2024-01-01T00:10:00Z"));
        assert_eq!(jobs.iter().map(|j| j.run_attempt).collect::<Vec<_>>(), vec![1, 2]);
        // Knowing nothing yet, the same hook is attempt 1 unless it proves more.
        let (alone, _) = place(&change, &[]);
        assert_eq!(alone.expect("run").run_attempt, 1);
        // Attempt 1 without jobs starts when the run was created.
        let bare = TriedRun { run: change.run.clone(), jobs: Vec::new() };
        let created = change.run.as_ref().and_then(|r| r.created_at);
        assert_eq!(place(&bare, &[]).0.expect("run").started_at, created);
    }

    #[test]
    fn the_delivery_s_own_number_and_the_stored_attempt_are_floors() {
        // A Job Hook with retries_count 1 says try 2 even if try 1 is unknown.
        let retried = Job { run_attempt: 2, ..job("10", "test", "2024-01-01T00:10:00Z") };
        let change = TriedRun { run: None, jobs: vec![retried] };
        assert_eq!(place(&change, &[]).1[0].run_attempt, 2);
        // Stored at attempt 3 already: it stays there.
        assert_eq!(place(&change, &[known("10", "test", 3)]).1[0].run_attempt, 3);
    }

    /// Part of the run unknown: `test` ran as 3, 10 and 12. Knowing 12
    /// alone it is try 1; 10 arriving with retries_count 1 (try 2) puts 12
    /// at 3 — one more than 10 — before 3 is known; 3 then changes nothing
    /// above it. By hand, at each step: {12: 1}; {10: 2, 12: 3};
    /// {3: 1, 10: 2, 12: 3}. A nameless job keeps its floor.
    #[test]
    fn attempts_never_go_down_and_end_at_the_try_numbers() {
        let first = attempts(&[], &[job("12", "test", "2024-01-01T00:20:00Z")]);
        assert_eq!(first.get("12"), Some(&1));
        let second_try = Job { run_attempt: 2, ..job("10", "test", "2024-01-01T00:10:00Z") };
        let second = attempts(&[known("12", "test", 1)], &[second_try]);
        assert_eq!((second.get("10"), second.get("12")), (Some(&2), Some(&3)));
        let all = attempts(
            &[known("12", "test", 3), known("10", "test", 2)],
            &[job("3", "test", "2024-01-01T00:00:00Z")],
        );
        assert_eq!((all.get("3"), all.get("10"), all.get("12")), (Some(&1), Some(&2), Some(&3)));
        let nameless = Job { name: None, run_attempt: 2, ..job("7", "x", "2024-01-01T00:00:00Z") };
        assert_eq!(attempts(&[], &[nameless]).get("7"), Some(&2));
    }

    /// The REST API's include_retried listing and the Job Hooks'
    /// retries_count + 1 give each job the same attempt.
    #[test]
    fn listing_and_retries_count_agree() {
        let listing = [job("3", "test", "2024-01-01T00:00:00Z"), job("10", "test", "2024-01-01T00:10:00Z")];
        let change = TriedRun { run: None, jobs: listing.to_vec() };
        let from_listing: Vec<i64> = place(&change, &[]).1.iter().map(|j| j.run_attempt).collect();
        // retries_count 0 and 1 → 1 and 2
        assert_eq!(from_listing, vec![1, 2]);
    }
}
