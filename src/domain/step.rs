//! [`Step`]: one step of one job (GitHub's `workflow_job.steps[]`), stored
//! in the `steps` table and answered inside `/api/builds/{id}` jobs, and
//! how a delivery's steps merge with the known ones ([`merge_steps`]).
//!
//! Pure: no I/O. Providers without steps (GitLab) leave a job's list empty.

use chrono::{DateTime, Utc};

use super::status::{BuildStatus, Conclusion, RunStatus};
use super::time::elapsed_seconds;

/// What is known about one step. Identity: its job and `number` (1-based,
/// the order the provider runs steps in).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub number: i64,
    pub name: Option<String>,
    /// Raw provider status (`queued`, `in_progress`, `completed`).
    pub provider_status: RunStatus,
    pub conclusion: Option<Conclusion>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl Step {
    /// The normalised status (see [`BuildStatus::from_provider`]).
    pub fn status(&self) -> BuildStatus {
        BuildStatus::from_provider(&self.provider_status, self.conclusion.as_ref())
    }

    /// `duration_seconds`: `completed_at − started_at` once completed,
    /// clamped to 0; `None` before, or when either timestamp is unknown.
    pub fn duration_seconds(&self) -> Option<i64> {
        if self.provider_status.is_completed() {
            elapsed_seconds(self.started_at, self.completed_at)
        } else {
            None
        }
    }
}

fn pick<T: Clone>(winner: &Option<T>, loser: &Option<T>) -> Option<T> {
    winner.clone().or_else(|| loser.clone())
}

/// Merges two views of the same step with the job rules of
/// `super::merge`: the higher status rank wins the status fields (ties go
/// to the incoming side), a known field is never replaced by null.
fn merge_step(stored: &Step, incoming: &Step) -> Step {
    let wins = incoming.provider_status.rank() >= stored.provider_status.rank();
    let (w, l) = if wins { (incoming, stored) } else { (stored, incoming) };
    let conclusion = if w.provider_status.is_completed() && l.provider_status.is_completed() {
        pick(&w.conclusion, &l.conclusion)
    } else {
        w.conclusion.clone()
    };
    Step {
        number: stored.number,
        name: pick(&w.name, &l.name),
        provider_status: w.provider_status.clone(),
        conclusion,
        started_at: pick(&w.started_at, &l.started_at),
        completed_at: pick(&w.completed_at, &l.completed_at),
    }
}

/// A job's steps after a delivery: every step known before or now, by
/// `number` (ascending). A step both sides know is merged by the job rules
/// (a delivery with an older state of a step never overwrites a newer
/// one); a step the delivery lacks is kept, so a delivery listing fewer
/// steps never erases known ones. Duplicate numbers inside one delivery
/// merge into one step.
pub fn merge_steps(stored: &[Step], incoming: &[Step]) -> Vec<Step> {
    let mut merged: Vec<Step> = Vec::with_capacity(stored.len().max(incoming.len()));
    for step in stored.iter().chain(incoming) {
        match merged.binary_search_by_key(&step.number, |s| s.number) {
            Ok(at) => merged[at] = merge_step(&merged[at], step),
            Err(at) => merged.insert(at, step.clone()),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_timestamp;

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(parse_timestamp(text).expect("timestamp"))
    }

    fn step(number: i64, status: &str, conclusion: Option<&str>) -> Step {
        Step {
            number,
            name: Some(format!("step {number}")),
            provider_status: RunStatus::parse(status),
            conclusion: conclusion.map(Conclusion::parse),
            started_at: at("2024-01-01T00:00:00Z"),
            completed_at: None,
        }
    }

    #[test]
    fn a_delivery_with_fewer_steps_keeps_the_known_ones() {
        let mut done = step(2, "completed", Some("success"));
        done.completed_at = at("2024-01-01T00:00:30Z");
        let stored = vec![step(1, "completed", Some("success")), done.clone(), step(3, "in_progress", None)];
        // A late `queued` delivery that lists only step 1, still queued.
        let merged = merge_steps(&stored, &[step(1, "queued", None)]);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0].provider_status, RunStatus::Completed);
        assert_eq!(merged[1], done);
        assert_eq!(merged[1].duration_seconds(), Some(30));
        assert_eq!(merged[2].provider_status, RunStatus::InProgress);
    }

    #[test]
    fn a_newer_state_wins_and_nulls_never_erase() {
        let mut running = step(1, "in_progress", None);
        running.name = Some("Run tests".into());
        let mut done = step(1, "completed", Some("failure"));
        done.name = None;
        done.started_at = None;
        done.completed_at = at("2024-01-01T00:01:00Z");
        for merged in [merge_steps(&[running.clone()], &[done.clone()]), merge_steps(&[done], &[running])] {
            assert_eq!(merged.len(), 1);
            assert_eq!(merged[0].status(), BuildStatus::Failed);
            assert_eq!(merged[0].name.as_deref(), Some("Run tests"));
            // started 00:00:00 (only the running view knew), completed 00:01:00
            assert_eq!(merged[0].duration_seconds(), Some(60));
        }
    }

    #[test]
    fn steps_come_out_by_number_and_skew_is_clamped() {
        let mut skewed = step(2, "completed", Some("success"));
        skewed.started_at = at("2024-01-01T00:00:10Z");
        skewed.completed_at = at("2024-01-01T00:00:05Z");
        let merged = merge_steps(&[], &[skewed, step(1, "queued", None), step(2, "queued", None)]);
        assert_eq!(merged.iter().map(|s| s.number).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(merged[1].duration_seconds(), Some(0));
    }
}
