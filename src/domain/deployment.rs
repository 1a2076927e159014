//! Deployments, the commits pushes carry, and incidents: the inputs of the
//! four DORA keys (`crate::metrics::dora`). Pure.
//!
//! A deployment is one provider deployment object (GitHub deployment,
//! GitLab deployment, a generic `deployment` event, or a run a configured
//! rule names a deployment), identified by provider, repository and the
//! provider's deployment id. Its outcome is its **final status**, never
//! the creation event: a deployment without a final status is pending and
//! counted nowhere until it has one.
//!
//! Merge rule ([`merge_deployment`]): deliveries arrive out of order and
//! twice; every delivery of one deployment converges on the same row. The
//! status kept is the greatest by (tier, time, word) — tier 0 for a status
//! that is not final (`queued`, `pending`, `in_progress`, `created`,
//! `running`, …), 1 for `inactive` (GitHub marks an earlier deployment
//! inactive when a newer one succeeds: that must not erase its outcome), 2
//! for every other final word. A later status therefore wins by its time,
//! a final one is never overwritten by one that is not final, and the
//! greatest of a set is the same in any order. Other fields keep the first
//! non-empty value (they describe the same object in every delivery), and
//! the creation time the earliest.

use chrono::{DateTime, Timelike, Utc};

use super::{ProviderKind, RepoName};

/// One deployment's state as a delivery (or the store) tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub provider: ProviderKind,
    pub repo: RepoName,
    /// The provider's deployment id (GitHub `deployment.id`, GitLab
    /// `deployment_id`, the generic event's `deployment_id`, or
    /// `run:<run id>:<attempt>` for a rule's deployment).
    pub deployment_id: String,
    /// The environment's name as the provider gives it (`production`).
    pub environment: String,
    /// The deployed commit.
    pub sha: Option<String>,
    /// The deployed branch or tag.
    pub git_ref: Option<String>,
    /// The deploy job's id at the provider (GitLab `deployable_id`): its
    /// stored job tells whether it was allowed to fail.
    pub job_id: Option<String>,
    pub url: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// The latest status by the merge rule; `None` when only the creation
    /// event was seen.
    pub status: Option<DeploymentStatus>,
}

/// A status word and when the provider set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentStatus {
    /// The provider's word, lowercased (`success`, `failure`, `error`,
    /// `inactive`, `failed`, `canceled`, `skipped`, `in_progress`, …).
    pub state: String,
    pub at: DateTime<Utc>,
}

/// What a deployment counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No final status yet: counted nowhere.
    Pending,
    /// `success`.
    Succeeded,
    /// `failure`, `error` (GitHub), `failed` (GitLab, generic).
    Failed,
    /// Final but neither: `inactive` alone, `canceled`, `cancelled`,
    /// `skipped` (a skipped deploy job is not a deployment).
    NotCounted,
}

impl Outcome {
    /// The outcome a status word means.
    pub fn of(state: &str) -> Outcome {
        match state {
            "success" => Outcome::Succeeded,
            "failure" | "error" | "failed" => Outcome::Failed,
            "inactive" | "canceled" | "cancelled" | "skipped" => Outcome::NotCounted,
            _ => Outcome::Pending,
        }
    }

    /// The stored code (`deployments.outcome`): `NULL` pending, 0 succeeded,
    /// 1 failed, 2 not counted.
    pub fn code(self) -> Option<i64> {
        match self {
            Outcome::Pending => None,
            Outcome::Succeeded => Some(0),
            Outcome::Failed => Some(1),
            Outcome::NotCounted => Some(2),
        }
    }

    /// The snake_case name the API answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Succeeded => "success",
            Outcome::Failed => "failed",
            Outcome::NotCounted => "not_counted",
        }
    }
}

/// The merge rule's tier of a status word (see the module doc).
pub fn tier(state: &str) -> i64 {
    match (state, Outcome::of(state)) {
        (_, Outcome::Pending) => 0,
        ("inactive", _) => 1,
        _ => 2,
    }
}

impl Deployment {
    /// The outcome of its kept status.
    pub fn outcome(&self) -> Outcome {
        self.status.as_ref().map_or(Outcome::Pending, |s| Outcome::of(&s.state))
    }

    /// When it finished: its final status's time (`None` while pending).
    pub fn finished_at(&self) -> Option<DateTime<Utc>> {
        match self.outcome() {
            Outcome::Pending => None,
            _ => self.status.as_ref().map(|s| s.at),
        }
    }
}

fn status_key(status: &DeploymentStatus) -> (i64, DateTime<Utc>, &str) {
    (tier(&status.state), status.at, status.state.as_str())
}

/// `stored` merged with `incoming` by the rule of the module doc.
pub fn merge_deployment(stored: &Deployment, incoming: &Deployment) -> Deployment {
    let status = match (&stored.status, &incoming.status) {
        (Some(a), Some(b)) => Some(if status_key(b) > status_key(a) { b.clone() } else { a.clone() }),
        (a, b) => a.clone().or_else(|| b.clone()),
    };
    let created_at = match (stored.created_at, incoming.created_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Deployment {
        provider: stored.provider,
        repo: stored.repo.clone(),
        deployment_id: stored.deployment_id.clone(),
        environment: stored.environment.clone(),
        sha: stored.sha.clone().or_else(|| incoming.sha.clone()),
        git_ref: stored.git_ref.clone().or_else(|| incoming.git_ref.clone()),
        job_id: stored.job_id.clone().or_else(|| incoming.job_id.clone()),
        url: stored.url.clone().or_else(|| incoming.url.clone()),
        created_at,
        status,
    }
}

/// One commit and its times, as a push (or a generic deployment event)
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub sha: String,
    pub authored_at: Option<DateTime<Utc>>,
    pub committed_at: Option<DateTime<Utc>>,
}

impl Commit {
    /// The time lead time counts from: the committed time, else the
    /// authored time (README, *Lead time for changes*).
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.committed_at.or(self.authored_at)
    }
}

/// The commits one push brought to a ref, oldest first: `head` is the
/// ref's new commit, `before` its previous one (`None` for a new ref or an
/// explicit list without a base).
#[derive(Debug, Clone, PartialEq)]
pub struct PushedCommits {
    pub provider: ProviderKind,
    pub repo: RepoName,
    pub git_ref: Option<String>,
    pub before: Option<String>,
    pub head: String,
    pub commits: Vec<Commit>,
}

/// A production incident reported through `POST /api/incidents`,
/// identified by the caller's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub incident_id: String,
    /// The repository it is about; `None`: every repository.
    pub repo: Option<String>,
    /// The environment it is about; `None`: every production environment.
    pub environment: Option<String>,
    pub title: Option<String>,
    pub url: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// `resolved_at` is only when the report came ("resolved" without a
    /// time), not a time the reporter gave: an incident already resolved
    /// keeps its resolution. Never stored (a stored incident says `false`).
    pub resolved_now: bool,
}

impl Incident {
    /// The times at the precision they are stored in (whole seconds), so a
    /// repeat compares equal to what is stored.
    pub fn in_whole_seconds(&self) -> Incident {
        let whole = |at: DateTime<Utc>| at.with_nanosecond(0).unwrap_or(at);
        Incident {
            opened_at: whole(self.opened_at),
            resolved_at: self.resolved_at.map(whole),
            ..self.clone()
        }
    }
}

/// `stored` merged with `incoming`: the earliest opening, the latest
/// resolution, first non-empty texts — the same in any order; except that
/// a resolution at the time of the report (`resolved_now`) does not move
/// one already stored (a retried "resolve" must not lengthen the outage).
pub fn merge_incident(stored: &Incident, incoming: &Incident) -> Incident {
    let resolved_at = match (stored.resolved_at, incoming.resolved_at) {
        (Some(a), Some(_)) if incoming.resolved_now => Some(a),
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    Incident {
        incident_id: stored.incident_id.clone(),
        repo: stored.repo.clone().or_else(|| incoming.repo.clone()),
        environment: stored.environment.clone().or_else(|| incoming.environment.clone()),
        title: stored.title.clone().or_else(|| incoming.title.clone()),
        url: stored.url.clone().or_else(|| incoming.url.clone()),
        opened_at: stored.opened_at.min(incoming.opened_at),
        resolved_at,
        resolved_now: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("time")
    }

    fn deployment(state: Option<(&str, i64)>) -> Deployment {
        Deployment {
            provider: ProviderKind::GitHub,
            repo: RepoName::from("acme/app".to_owned()),
            deployment_id: "7".into(),
            environment: "production".into(),
            sha: None,
            git_ref: None,
            job_id: None,
            url: None,
            created_at: None,
            status: state.map(|(s, t)| DeploymentStatus { state: s.into(), at: at(t) }),
        }
    }

    /// Every order of (created, in_progress@10, success@20, inactive@90,
    /// duplicate success@20) keeps `success` at 20: `inactive` is later but
    /// of a lower tier, `in_progress` is not final.
    #[test]
    fn every_order_converges_and_inactive_keeps_the_outcome() {
        let deliveries = [
            deployment(None),
            deployment(Some(("in_progress", 10))),
            deployment(Some(("success", 20))),
            deployment(Some(("inactive", 90))),
            deployment(Some(("success", 20))),
        ];
        let orders = [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [3, 0, 4, 1, 2], [2, 3, 1, 0, 4]];
        for order in orders {
            let first = deliveries[order[0]].clone();
            let merged = order[1..].iter().fold(first, |m, &i| merge_deployment(&m, &deliveries[i]));
            assert_eq!(merged.outcome(), Outcome::Succeeded, "{order:?}");
            assert_eq!(merged.finished_at(), Some(at(20)), "{order:?}");
        }
    }

    /// A later final status wins by its time (failure@30 after success@20);
    /// an older one never overwrites (success@20 after failure@30); a
    /// pending status never overwrites a final one even if later (skew).
    #[test]
    fn a_later_final_status_wins_and_pending_never_overwrites() {
        let success = deployment(Some(("success", 20)));
        let failure = deployment(Some(("failure", 30)));
        assert_eq!(merge_deployment(&success, &failure).outcome(), Outcome::Failed);
        assert_eq!(merge_deployment(&failure, &success).outcome(), Outcome::Failed);
        let late_pending = deployment(Some(("queued", 99)));
        assert_eq!(merge_deployment(&success, &late_pending).outcome(), Outcome::Succeeded);
        assert_eq!(merge_deployment(&late_pending, &success).outcome(), Outcome::Succeeded);
        assert_eq!(deployment(Some(("in_progress", 5))).finished_at(), None);
        assert_eq!(Outcome::of("skipped"), Outcome::NotCounted);
    }

    #[test]
    fn incidents_keep_the_earliest_opening_and_latest_resolution() {
        let open = Incident {
            incident_id: "INC-1".into(),
            repo: None,
            environment: None,
            title: Some("down".into()),
            url: None,
            opened_at: at(100),
            resolved_at: None,
            resolved_now: false,
        };
        let resolved =
            Incident { opened_at: at(150), resolved_at: Some(at(400)), title: None, ..open.clone() };
        for merged in [merge_incident(&open, &resolved), merge_incident(&resolved, &open)] {
            assert_eq!(merged.opened_at, at(100));
            assert_eq!(merged.resolved_at, Some(at(400)));
        }
        // "Resolved" again without a time keeps the stored resolution; a
        // given later time still moves it; an open one is resolved now.
        let again = Incident { resolved_at: Some(at(900)), resolved_now: true, ..open.clone() };
        let stored = merge_incident(&open, &resolved);
        assert_eq!(merge_incident(&stored, &again), stored);
        assert_eq!(merge_incident(&open, &again).resolved_at, Some(at(900)));
        let later = Incident { resolved_at: Some(at(900)), ..open.clone() };
        assert_eq!(merge_incident(&stored, &later).resolved_at, Some(at(900)));
        let fraction = Incident { opened_at: at(100) + chrono::Duration::milliseconds(600), ..open.clone() };
        assert_eq!(fraction.in_whole_seconds(), open);
    }
}
