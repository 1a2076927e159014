//! Re-placing a run's stored jobs and states when a delivery makes their
//! attempts higher (rules 2 and 3 of [`crate::domain::tries`]): a GitLab
//! Pipeline Hook lists only its pipeline's latest jobs, without their try
//! numbers, so a retried pipeline's final hook seen before anything else
//! about it is placed in attempt 1; when an earlier try arrives, the jobs
//! and the state stored too low move up. Pure: the store reads the run's
//! jobs and listings, asks [`replan`], and makes the moves in the same
//! transaction before placing the delivery itself.
//!
//! Must not know SQL or payloads.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::Job;
use super::tries::{KnownJob, attempts};

/// The jobs a run attempt's stored state listed (every state merged into
/// that attempt: their union).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub run_attempt: i64,
    pub job_ids: Vec<String>,
}

/// A stored state that belongs to a higher attempt now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMove {
    pub from: i64,
    pub to: i64,
    /// Rule 5 in its new attempt: the earliest creation among the listed
    /// jobs that are in `to` (`None` when none carries one).
    pub started_at: Option<DateTime<Utc>>,
}

/// What to move before placing a delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replan {
    /// Stored jobs going up: `(job id, from, to)`, in id order.
    pub jobs: Vec<(String, i64, i64)>,
    /// Stored states going up, the highest `from` first (so an attempt's
    /// own state has left before a lower one's arrives).
    pub states: Vec<StateMove>,
}

impl Replan {
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty() && self.states.is_empty()
    }
}

/// The moves that `incoming` jobs make necessary among a run's `stored`
/// jobs and its states' `listings` (rules 2–3).
pub fn replan(stored: &[KnownJob], listings: &[Listing], incoming: &[Job]) -> Replan {
    let placed = attempts(stored, incoming);
    let mut jobs: Vec<(String, i64, i64)> = stored
        .iter()
        .filter_map(|job| {
            let to = placed.get(&job.job_id).copied()?;
            (to > job.run_attempt).then(|| (job.job_id.clone(), job.run_attempt, to))
        })
        .collect();
    jobs.sort_by(|a, b| super::tries::id_order(&a.0, &b.0));
    let created: HashMap<&str, Option<DateTime<Utc>>> =
        stored.iter().map(|j| (j.job_id.as_str(), j.created_at)).collect();
    let mut states: Vec<StateMove> = listings
        .iter()
        .filter_map(|listing| {
            let to = listing
                .job_ids
                .iter()
                .filter_map(|id| placed.get(id).copied())
                .fold(listing.run_attempt, i64::max);
            (to > listing.run_attempt).then(|| StateMove {
                from: listing.run_attempt,
                to,
                started_at: listing
                    .job_ids
                    .iter()
                    .filter(|id| placed.get(*id) == Some(&to))
                    .filter_map(|id| created.get(id.as_str()).copied().flatten())
                    .min(),
            })
        })
        .collect();
    states.sort_by_key(|m| std::cmp::Reverse(m.from));
    Replan { jobs, states }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;
    use crate::domain::time::parse_timestamp;

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(parse_timestamp(text).expect("timestamp"))
    }

    fn known(id: &str, name: &str, attempt: i64, created: &str) -> KnownJob {
        KnownJob { job_id: id.into(), name: Some(name.into()), run_attempt: attempt, created_at: at(created) }
    }

    fn job(id: &str, name: &str) -> Job {
        Job { job_id: id.into(), name: Some(name.into()), ..fixtures::job("completed", None, None) }
    }

    /// The retried pipeline's final hook came first: it listed `test` 3
    /// (the retry, created t0+600 s) and `lint` 2, both stored in attempt
    /// 1 with the hook's state. The first hook then brings `test` 1: by
    /// hand, 3 is `test`'s second try → attempt 2, `lint` 2 stays; the
    /// stored state listed {3, 2} → attempt max(2, 1) = 2, starting when
    /// 3 was created (the only listed job in attempt 2).
    #[test]
    fn an_earlier_try_moves_the_later_job_and_the_state_that_listed_it() {
        let stored =
            [known("3", "test", 1, "2024-01-01T00:10:00Z"), known("2", "lint", 1, "2024-01-01T00:00:00Z")];
        let listings = [Listing { run_attempt: 1, job_ids: vec!["3".into(), "2".into()] }];
        let plan = replan(&stored, &listings, &[job("1", "test"), job("2", "lint")]);
        assert_eq!(plan.jobs, vec![("3".to_owned(), 1, 2)]);
        assert_eq!(plan.states, vec![StateMove { from: 1, to: 2, started_at: at("2024-01-01T00:10:00Z") }]);
        // The same hook again (or a later try) moves nothing.
        assert!(replan(&stored, &listings, &[job("3", "test"), job("4", "test")]).is_empty());
    }

    /// Three tries of `test` (1, 3, 5) whose hooks came newest first, each
    /// state stored in the attempt below its own: {5} in 2, {3} in 1 (5
    /// known, 1 not). Job 1 arriving: by hand 3 → 2, 5 → 3; state {5}
    /// 2 → 3 first, then {3} 1 → 2.
    #[test]
    fn states_move_highest_first() {
        let stored =
            [known("5", "test", 2, "2024-01-01T00:20:00Z"), known("3", "test", 1, "2024-01-01T00:10:00Z")];
        let listings = [
            Listing { run_attempt: 1, job_ids: vec!["3".into()] },
            Listing { run_attempt: 2, job_ids: vec!["5".into()] },
        ];
        let plan = replan(&stored, &listings, &[job("1", "test")]);
        assert_eq!(plan.jobs, vec![("3".to_owned(), 1, 2), ("5".to_owned(), 2, 3)]);
        let moves: Vec<(i64, i64)> = plan.states.iter().map(|m| (m.from, m.to)).collect();
        assert_eq!(moves, vec![(2, 3), (1, 2)]);
        assert_eq!(plan.states[1].started_at, at("2024-01-01T00:10:00Z"));
    }
}
