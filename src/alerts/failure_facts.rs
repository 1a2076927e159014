//! Why a build failed, for its failure alerts (`build_failed`,
//! `started_failing`): the failed job, its failed step, its first error
//! line and its failure signature's history ("seen 14 times in the last 7
//! days, last on main"), and the failure's class for a rule's
//! `failure_class` filter. Read on the ingest transaction's connection.
//!
//! What is known when the alert is decided: the failed job and step
//! always (they come with the job); the first error line, the class by
//! the whole rule table and the history only once the job's reason is
//! recorded (a failure-reasons pass or fetch ran between the job's and the
//! run's completion); before that, GitLab's `failure_reason` is the error
//! line and the class follows the built-in rules on the conclusion and
//! `failure_reason` (no configured patterns, no messages).
//!
//! A rule with `wait_for_reason_seconds` holds such an alert in the outbox
//! that long; at send time ([`failure_facts_now`], `sender`) an alert
//! without an error line gets the facts recorded since. The rule's
//! `failure_class` routing stays as decided at the completion.

use sqlx::AnyConnection;

use super::config::Rule;
use super::message::AlertDetails;
use crate::domain::failure::{Classifier, FailureFacts};
use crate::store::failures::{FailureSummary, failure_summary_on};
use crate::store::{Store, StoreError};

/// Days of a signature's history an alert counts.
pub const HISTORY_DAYS: i64 = 7;

/// A failed build's facts as an alert shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailureAlertFacts {
    pub job: Option<String>,
    pub step: Option<String>,
    pub error_line: Option<String>,
    /// `infrastructure` or `code`.
    pub class: String,
    /// "seen 3 times in the last 7 days, last on main", or `None` without
    /// a recorded signature.
    pub history: Option<String>,
    /// Whether the failed job's reason is not recorded yet (the error
    /// line, class and history may still come).
    pub reason_pending: bool,
}

/// The failure facts of `build_id` at `now` (`None`: no job failed), on
/// the deciding transaction's connection.
///
/// Errors: SQL failures.
pub async fn failure_facts(
    conn: &mut AnyConnection,
    build_id: i64,
    now: i64,
) -> Result<Option<FailureAlertFacts>, StoreError> {
    Ok(failure_summary_on(conn, build_id, now - HISTORY_DAYS * 86_400).await?.map(facts_of))
}

/// The failure facts of `build_id` read at send time (for an alert that
/// waited for its failed job's reason).
///
/// Errors: SQL failures.
pub async fn failure_facts_now(
    store: &Store,
    build_id: i64,
    now: i64,
) -> Result<Option<FailureAlertFacts>, StoreError> {
    Ok(store.failures().failure_summary(build_id, now - HISTORY_DAYS * 86_400).await?.map(facts_of))
}

fn facts_of(summary: FailureSummary) -> FailureAlertFacts {
    let class = match &summary.class {
        Some(class) => class.clone(),
        None => Classifier::new(&[])
            .map(|c| {
                c.classify(&FailureFacts {
                    conclusion: summary.conclusion.as_deref(),
                    failure_reason: summary.failure_reason.as_deref(),
                    messages: &[],
                })
                .kind()
                .to_owned()
            })
            .unwrap_or_else(|_| "code".to_owned()),
    };
    let history = (summary.seen > 0).then(|| {
        let times = if summary.seen == 1 { "once".to_owned() } else { format!("{} times", summary.seen) };
        let last = match (&summary.last_branch, summary.seen_before) {
            (Some(branch), true) => format!(", last on {branch}"),
            (None, true) => String::new(),
            (_, false) => ", not in other builds before".to_owned(),
        };
        format!("seen {times} in the last {HISTORY_DAYS} days{last}")
    });
    let error_line = if summary.recorded { summary.error_line } else { summary.failure_reason };
    let reason_pending = !summary.recorded;
    FailureAlertFacts { job: summary.job, step: summary.step, error_line, class, history, reason_pending }
}

/// Whether `rule`'s `failure_class` lets an alert about `facts` through.
pub fn class_allows(rule: &Rule, facts: Option<&FailureAlertFacts>) -> bool {
    match (&rule.failure_class, facts) {
        (None, _) => true,
        (Some(wanted), Some(facts)) => *wanted == facts.class,
        // A failed attempt without a failed job: the code's, by the table's last rule.
        (Some(wanted), None) => wanted == "code",
    }
}

impl AlertDetails {
    /// Adds the failure facts to a failure alert.
    pub fn with_failure(mut self, facts: &FailureAlertFacts) -> AlertDetails {
        self.failed_job = facts.job.clone();
        self.failed_step = facts.step.clone();
        self.error_line = facts.error_line.clone();
        self.failure_class = Some(facts.class.clone());
        self.signature_history = facts.history.clone();
        self
    }
}
