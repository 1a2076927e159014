//! GitLab's retry model, one rule for webhooks and the REST API (the
//! poller calls these with API data): a retried job is a new job with a new
//! id in the same pipeline, and a retried pipeline keeps its id. A job's
//! **try number** is its run attempt; a pipeline's state belongs to the
//! highest try number among its latest jobs. The placing itself (with the
//! jobs already stored) is `domain::tries`; this file says how GitLab's
//! data gives each job's try number:
//!
//! - Job Hook: `retries_count + 1` (GitLab 15.6 and later send it; an older
//!   hook without it proves only try 1, and the stored jobs of the pipeline
//!   complete it: 1 + same-name jobs with a smaller id).
//! - REST API `GET /projects/:id/pipelines/:pipeline_id/jobs?include_retried=true`:
//!   1 + the number of listed jobs with the same name and a smaller id
//!   ([`tries_from_listing`]).
//! - Pipeline Hook: its `builds` are the pipeline's latest jobs only, one per
//!   name, so the hook proves try 1 for each; the stored jobs complete it.
//!
//! So "failed, then passed on retry" is attempt 1 `failed` and attempt 2
//! `success`, as for a GitHub re-run, whichever source told it.

use crate::domain::tries::try_number;

/// A Job Hook's try number: `retries_count + 1`; 1 without it (or for a
/// negative count, which no GitLab sends).
pub fn try_from_retries_count(retries_count: Option<i64>) -> i64 {
    retries_count.filter(|count| *count >= 0).map_or(1, |count| count.saturating_add(1))
}

/// Try numbers of a pipeline's jobs listed with `include_retried=true`
/// (`(job id, name)`), in the listing's order.
pub fn tries_from_listing(jobs: &[(String, Option<String>)]) -> Vec<i64> {
    jobs.iter()
        .map(|(id, name)| {
            try_number(id, name.as_deref(), jobs.iter().map(|(i, n)| (i.as_str(), n.as_deref())))
        })
        .collect()
}

/// The attempt a pipeline's current state belongs to: the highest try
/// number among its jobs (1 without jobs).
pub fn pipeline_attempt(tries: &[i64]) -> i64 {
    tries.iter().copied().max().unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_count_is_one_less_than_the_try() {
        assert_eq!(try_from_retries_count(None), 1);
        assert_eq!(try_from_retries_count(Some(0)), 1);
        assert_eq!(try_from_retries_count(Some(2)), 3);
        assert_eq!(try_from_retries_count(Some(-1)), 1);
    }

    /// Listing with include_retried: `test` 101 failed and was retried as
    /// 105, which failed and was retried as 109; `lint` 102 ran once. By
    /// hand: 101 → 1, 102 → 1, 105 → 2 (one earlier `test`), 109 → 3.
    /// The Job Hooks of the same jobs carry retries_count 0, 0, 1, 2.
    #[test]
    fn listing_and_job_hooks_give_the_same_tries() {
        let listing: Vec<(String, Option<String>)> =
            [("109", "test"), ("105", "test"), ("102", "lint"), ("101", "test")]
                .iter()
                .map(|(id, name)| ((*id).to_owned(), Some((*name).to_owned())))
                .collect();
        let tries = tries_from_listing(&listing);
        assert_eq!(tries, vec![3, 2, 1, 1]);
        let from_hooks: Vec<i64> = [2, 1, 0, 0].map(|count| try_from_retries_count(Some(count))).to_vec();
        assert_eq!(tries, from_hooks);
        assert_eq!(pipeline_attempt(&tries), 3);
        assert_eq!(pipeline_attempt(&[]), 1);
    }
}
