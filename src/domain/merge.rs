//! Order-safe merging: what the store keeps when a delivery about an attempt
//! or job it already holds arrives, whatever the order deliveries come in.
//!
//! Rules (the foundation issue's "order-safe" section):
//! 1. A state never moves backwards: the side whose raw status ranks higher
//!    ([`RunStatus::rank`]) wins the status fields; a completed record stays
//!    completed.
//! 2. Ties are broken by the provider's `updated_at` (later wins; unknown
//!    loses to known; equal means the incoming delivery wins, so a repeat is
//!    a no-op). Jobs carry no `updated_at`: the incoming side wins ties.
//! 3. A field that was known is never overwritten with null: every field is
//!    the winner's value, else the loser's.
//! 4. A job's steps merge step by step with rules 1–3 (by step number); a
//!    step a delivery does not list is kept ([`merge_steps`]).
//!
//! The store applies these under a row lock inside the delivery's transaction,
//! so concurrent deliveries for one attempt serialise on the row.

use chrono::{DateTime, Utc};

use super::status::RunStatus;
use super::step::merge_steps;
use super::{Job, RunAttempt};

/// Whether the incoming side wins the status fields (rules 1 and 2).
fn incoming_wins(
    stored_status: &RunStatus,
    incoming_status: &RunStatus,
    stored_updated: Option<DateTime<Utc>>,
    incoming_updated: Option<DateTime<Utc>>,
) -> bool {
    let (stored_rank, incoming_rank) = (stored_status.rank(), incoming_status.rank());
    if stored_rank != incoming_rank {
        return incoming_rank > stored_rank;
    }
    match (stored_updated, incoming_updated) {
        (Some(stored), Some(incoming)) => incoming >= stored,
        (None, _) => true,
        (Some(_), None) => false,
    }
}

fn pick<T: Clone>(winner: &Option<T>, loser: &Option<T>) -> Option<T> {
    winner.clone().or_else(|| loser.clone())
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        _ => a.or(b),
    }
}

/// Merges an incoming view of a run attempt into the stored one. Identity
/// fields are kept from `stored`.
pub fn merge_run(stored: &RunAttempt, incoming: &RunAttempt) -> RunAttempt {
    let wins = incoming_wins(
        &stored.provider_status,
        &incoming.provider_status,
        stored.updated_at,
        incoming.updated_at,
    );
    let (w, l) = if wins { (incoming, stored) } else { (stored, incoming) };
    let conclusion = if w.is_completed() && l.is_completed() {
        pick(&w.conclusion, &l.conclusion)
    } else {
        w.conclusion.clone()
    };
    RunAttempt {
        provider: stored.provider,
        repo: stored.repo.clone(),
        run_id: stored.run_id.clone(),
        run_attempt: stored.run_attempt,
        workflow: pick(&w.workflow, &l.workflow),
        workflow_id: pick(&w.workflow_id, &l.workflow_id),
        run_number: pick(&w.run_number, &l.run_number),
        event: pick(&w.event, &l.event),
        branch: pick(&w.branch, &l.branch),
        commit_sha: pick(&w.commit_sha, &l.commit_sha),
        triggered_by: pick(&w.triggered_by, &l.triggered_by),
        url: pick(&w.url, &l.url),
        provider_status: w.provider_status.clone(),
        conclusion,
        created_at: pick(&w.created_at, &l.created_at),
        started_at: pick(&w.started_at, &l.started_at),
        updated_at: pick(&w.updated_at, &l.updated_at),
        first_job_started_at: earliest(stored.first_job_started_at, incoming.first_job_started_at),
    }
}

/// Merges an incoming view of a job into the stored one. Identity fields are
/// kept from `stored`.
pub fn merge_job(stored: &Job, incoming: &Job) -> Job {
    let wins = incoming_wins(&stored.provider_status, &incoming.provider_status, None, None);
    let (w, l) = if wins { (incoming, stored) } else { (stored, incoming) };
    let conclusion = if w.provider_status.is_completed() && l.provider_status.is_completed() {
        pick(&w.conclusion, &l.conclusion)
    } else {
        w.conclusion.clone()
    };
    Job {
        provider: stored.provider,
        repo: stored.repo.clone(),
        run_id: stored.run_id.clone(),
        run_attempt: stored.run_attempt,
        job_id: stored.job_id.clone(),
        name: pick(&w.name, &l.name),
        workflow: pick(&w.workflow, &l.workflow),
        branch: pick(&w.branch, &l.branch),
        commit_sha: pick(&w.commit_sha, &l.commit_sha),
        provider_status: w.provider_status.clone(),
        conclusion,
        runner_name: pick(&w.runner_name, &l.runner_name),
        runner_group: pick(&w.runner_group, &l.runner_group),
        labels: if w.labels.is_empty() { l.labels.clone() } else { w.labels.clone() },
        url: pick(&w.url, &l.url),
        stage: pick(&w.stage, &l.stage),
        failure_reason: pick(&w.failure_reason, &l.failure_reason),
        allow_failure: pick(&w.allow_failure, &l.allow_failure),
        queued_duration_ms: pick(&w.queued_duration_ms, &l.queued_duration_ms),
        created_at: pick(&w.created_at, &l.created_at),
        started_at: pick(&w.started_at, &l.started_at),
        completed_at: pick(&w.completed_at, &l.completed_at),
        steps: merge_steps(&stored.steps, &incoming.steps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_timestamp;
    use crate::domain::{BranchName, Conclusion, fixtures};

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(parse_timestamp(text).expect("timestamp"))
    }

    fn run(status: &str, conclusion: Option<&str>, updated: &str) -> RunAttempt {
        fixtures::run(status, conclusion, at("2024-01-01T00:00:00Z"), at(updated))
    }

    #[test]
    fn completed_is_never_undone_by_a_late_in_progress() {
        let done = run("completed", Some("failure"), "2024-01-01T00:05:00Z");
        let late = run("in_progress", None, "2024-01-01T00:01:00Z");
        let merged = merge_run(&done, &late);
        assert_eq!(merged.provider_status.as_str(), "completed");
        assert_eq!(merged.conclusion.as_ref().map(Conclusion::as_str), Some("failure"));
        assert_eq!(merged.duration_seconds(), Some(300));
    }

    #[test]
    fn any_order_of_the_same_deliveries_ends_in_the_same_state() {
        let steps = [
            run("requested", None, "2024-01-01T00:00:00Z"),
            run("in_progress", None, "2024-01-01T00:00:10Z"),
            run("completed", Some("success"), "2024-01-01T00:02:00Z"),
        ];
        let orders = [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1], [0, 2, 1], [1, 0, 2]];
        let results: Vec<RunAttempt> = orders
            .iter()
            .map(|order| {
                let mut state = steps[order[0]].clone();
                for &i in &order[1..] {
                    state = merge_run(&state, &steps[i]);
                }
                state
            })
            .collect();
        for r in &results {
            assert_eq!(r, &results[0]);
        }
        assert_eq!(results[0].duration_seconds(), Some(120));
    }

    /// Every order of a run's deliveries, with fields missing here and there
    /// (as in older payloads), ends in the same state, and that state is the
    /// completed one with every field that any delivery knew.
    #[test]
    fn all_orders_of_partial_deliveries_converge() {
        let mut steps = [
            run("requested", None, "2024-01-01T00:00:00Z"),
            run("queued", None, "2024-01-01T00:00:01Z"),
            run("in_progress", None, "2024-01-01T00:00:10Z"),
            run("completed", Some("failure"), "2024-01-01T00:05:00Z"),
            run("completed", Some("success"), "2024-01-01T00:06:00Z"),
        ];
        steps[0].branch = None;
        steps[2].commit_sha = None;
        steps[2].triggered_by = Some("hubot".into());
        steps[4].event = None;
        steps[4].run_number = None;
        let mut orders = Vec::new();
        permutations(&mut (0..steps.len()).collect::<Vec<_>>(), 0, &mut orders);
        assert_eq!(orders.len(), 120);
        let finals: Vec<RunAttempt> = orders
            .iter()
            .map(|order| {
                order[1..].iter().fold(steps[order[0]].clone(), |state, &i| merge_run(&state, &steps[i]))
            })
            .collect();
        for state in &finals {
            assert_eq!(state, &finals[0]);
        }
        let done = &finals[0];
        assert_eq!(done.conclusion.as_ref().map(Conclusion::as_str), Some("success"));
        assert_eq!(done.duration_seconds(), Some(360));
        assert_eq!(done.triggered_by.as_deref(), Some("hubot"));
        assert_eq!(done.event.as_deref(), Some("push"));
        assert_eq!(done.run_number, Some(7));
    }

    fn permutations(items: &mut Vec<usize>, k: usize, out: &mut Vec<Vec<usize>>) {
        if k == items.len() {
            out.push(items.clone());
            return;
        }
        for i in k..items.len() {
            items.swap(k, i);
            permutations(items, k + 1, out);
            items.swap(k, i);
        }
    }

    #[test]
    fn ties_go_to_the_later_update_and_nulls_never_erase() {
        let mut older = run("completed", Some("failure"), "2024-01-01T00:01:00Z");
        older.triggered_by = Some("octocat".into());
        let mut newer = run("completed", Some("success"), "2024-01-01T00:03:00Z");
        newer.branch = None;
        let merged = merge_run(&older, &newer);
        assert_eq!(merged.conclusion.as_ref().map(Conclusion::as_str), Some("success"));
        assert_eq!(merged.branch.as_ref().map(BranchName::as_str), Some("main"));
        assert_eq!(merged.triggered_by.as_deref(), Some("octocat"));
        // and the other way round the newer one still wins
        assert_eq!(merge_run(&newer, &older).conclusion.as_ref().map(Conclusion::as_str), Some("success"));
    }

    #[test]
    fn a_job_implied_placeholder_is_replaced_by_the_real_run() {
        let job = Job {
            workflow: Some("CI".into()),
            ..fixtures::job("in_progress", at("2024-01-01T00:00:05Z"), at("2024-01-01T00:00:30Z"))
        };
        let placeholder = RunAttempt::implied_by_job(&job);
        assert_eq!(placeholder.provider_status.as_str(), "in_progress");
        let real = run("in_progress", None, "2024-01-01T00:00:10Z");
        let merged = merge_run(&placeholder, &real);
        assert_eq!(merged.updated_at, real.updated_at);
        assert_eq!(merged.run_number, Some(7));
        assert_eq!(merged.first_job_started_at, at("2024-01-01T00:00:30Z"));
        assert_eq!(merged.queue_seconds(), Some(30));
    }

    #[test]
    fn job_state_never_moves_back() {
        let mut queued = Job {
            labels: vec!["ubuntu-latest".into()],
            ..fixtures::job("queued", at("2024-01-01T00:00:00Z"), at("2024-01-01T00:00:00Z"))
        };
        let mut done = queued.clone();
        done.provider_status = RunStatus::Completed;
        done.conclusion = Some(Conclusion::Success);
        done.started_at = at("2024-01-01T00:00:20Z");
        done.completed_at = at("2024-01-01T00:01:20Z");
        done.labels = vec![];
        done.runner_name = Some("runner-1".into());
        let merged = merge_job(&done, &queued);
        assert_eq!(merged.provider_status.as_str(), "completed");
        assert_eq!(merged.queue_seconds(), Some(20));
        assert_eq!(merged.duration_seconds(), Some(60));
        assert_eq!(merged.labels, vec!["ubuntu-latest".to_string()]);
        queued.runner_name = None;
        assert_eq!(merge_job(&queued, &done), merged);
    }
}
