//! The range a timestamp must fall in to be believed: from
//! 2000-01-01T00:00:00Z to a day after now. Anything else (a zeroed clock,
//! `1970-01-01`, `0001-01-01`; a runaway one, year 2999, `9999-12-31`)
//! would turn into builds of centuries in every figure it reaches.
//!
//! One rule for every source: the generic build API refuses such a field
//! (422 naming it, [`check`]); a provider's delivery or REST answer keeps
//! the rest of what it says and stores the field as null, with a warning
//! naming it ([`null_out_of_range`]), because the provider would only send
//! the same thing again. Pure: the caller passes `now`.

use chrono::{DateTime, Duration, Utc};

use super::Change;

/// What a timestamp out of range is told, after its field's name.
pub const RANGE: &str = "must be between 2000-01-01T00:00:00Z and a day from now (a clock gone wrong?)";

/// The earliest believable time, 2000-01-01T00:00:00Z.
pub fn earliest() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).unwrap_or_default()
}

/// Whether `at` is within [2000-01-01T00:00:00Z, `now` + 1 day].
pub fn within(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    (earliest()..=now + Duration::days(1)).contains(&at)
}

/// `Ok` when `at` is believable, else `Err` with the range ([`RANGE`]).
pub fn check(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), &'static str> {
    if within(at, now) { Ok(()) } else { Err(RANGE) }
}

/// Sets every timestamp of `change` that is out of range to `None` and
/// answers one warning per such field, naming it (`run.created_at`,
/// `job 42.steps[3].started_at`, `deployment.created_at`,
/// `commit <sha>.committed_at`, `incident.resolved_at`) with the value it
/// had. A deployment status's time and an incident's opening are required
/// and left as they are.
pub fn null_out_of_range(change: &mut Change, now: DateTime<Utc>) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut bound = |field: String, at: &mut Option<DateTime<Utc>>| {
        if let Some(value) = *at
            && !within(value, now)
        {
            warnings.push(format!("{field} {RANGE}, got {}; stored as null", value.to_rfc3339()));
            *at = None;
        }
    };
    match change {
        Change::Run(run) => bound_run(run, &mut bound),
        Change::Job(job) => bound_job("job".to_owned(), job, &mut bound),
        Change::Tries(tried) => {
            if let Some(run) = &mut tried.run {
                bound_run(run, &mut bound);
            }
            for job in &mut tried.jobs {
                bound_job(format!("job {}", job.job_id), job, &mut bound);
            }
        }
        Change::Deployment(deployment, commits) => {
            bound("deployment.created_at".to_owned(), &mut deployment.created_at);
            if let Some(pushed) = commits {
                bound_commits(pushed, &mut bound);
            }
        }
        Change::Commits(pushed) => bound_commits(pushed, &mut bound),
        Change::Incident(incident) => bound("incident.resolved_at".to_owned(), &mut incident.resolved_at),
    }
    warnings
}

type Bound<'a> = dyn FnMut(String, &mut Option<DateTime<Utc>>) + 'a;

fn bound_run(run: &mut super::RunAttempt, bound: &mut Bound<'_>) {
    bound("run.created_at".to_owned(), &mut run.created_at);
    bound("run.started_at".to_owned(), &mut run.started_at);
    bound("run.updated_at".to_owned(), &mut run.updated_at);
    bound("run.first_job_started_at".to_owned(), &mut run.first_job_started_at);
}

fn bound_job(name: String, job: &mut super::Job, bound: &mut Bound<'_>) {
    bound(format!("{name}.created_at"), &mut job.created_at);
    bound(format!("{name}.started_at"), &mut job.started_at);
    bound(format!("{name}.completed_at"), &mut job.completed_at);
    for step in &mut job.steps {
        bound(format!("{name}.steps[{}].started_at", step.number), &mut step.started_at);
        bound(format!("{name}.steps[{}].completed_at", step.number), &mut step.completed_at);
    }
}

fn bound_commits(pushed: &mut super::deployment::PushedCommits, bound: &mut Bound<'_>) {
    for commit in &mut pushed.commits {
        bound(format!("commit {}.authored_at", commit.sha), &mut commit.authored_at);
        bound(format!("commit {}.committed_at", commit.sha), &mut commit.committed_at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_timestamp;

    fn at(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).expect("timestamp")
    }

    #[test]
    fn the_range_is_2000_to_a_day_ahead() {
        let now = at("2026-12-06T12:00:00Z");
        assert!(within(at("2000-01-01T00:00:00Z"), now));
        assert!(!within(at("1999-12-31T23:59:59Z"), now));
        assert!(!within(at("1970-01-01T00:00:00Z"), now));
        assert!(within(at("2026-12-07T12:00:00Z"), now));
        assert!(!within(at("2026-12-07T12:00:01Z"), now));
        assert!(!within(at("2999-01-01T00:00:00Z"), now));
        assert_eq!(check(at("2999-01-01T00:00:00Z"), now), Err(RANGE));
    }
}
