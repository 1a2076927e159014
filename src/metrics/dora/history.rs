//! One pass over each deployment stream (provider, repository,
//! environment) in finishing order: what every counted deployment carries
//! (its commits, first deployed here, and their lead times), whether it is
//! a failed change and why, and the outages (time to restore). The rules
//! are the module doc's (`super`).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::lineage::CommitIndex;

/// A counted deployment (final status success or failed; a failed deploy
/// job allowed to fail is not one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deploy {
    pub id: i64,
    /// The stream's repository key (provider kind and repository).
    pub provider: &'static str,
    pub repo: String,
    pub environment: String,
    pub sha: Option<String>,
    pub finished_at: DateTime<Utc>,
    pub failed: bool,
}

/// An incident as the figures use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSpan {
    pub repo: Option<String>,
    pub environment: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Why a deployment is a failed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Its final status is a failure.
    Failed,
    /// The next successful deployment redeployed an earlier SHA.
    RolledBack,
    /// An incident opened before the next successful deployment.
    Incident,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Failed => "failed",
            Signal::RolledBack => "rolled_back",
            Signal::Incident => "incident",
        }
    }
}

/// A commit a deployment carried first in its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitLead {
    pub sha: String,
    pub time: Option<DateTime<Utc>>,
    /// Deployment finished − commit time, in seconds (clamped at 0 for
    /// clock skew); `None` without a commit time.
    pub lead_seconds: Option<i64>,
}

/// What one counted deployment turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub signal: Option<Signal>,
    /// A successful deployment of a SHA deployed successfully before that
    /// is not the previous successful deployment's.
    pub rollback: bool,
    /// The commits it carried first (filled where they are listed).
    pub commits: Vec<CommitLead>,
    /// Their lead times in seconds (commits with a known time).
    pub leads: Vec<i64>,
}

/// A failure and its restoration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub started_at: DateTime<Utc>,
    pub restored_at: Option<DateTime<Utc>>,
    /// `deployment` or `incident`.
    pub cause: &'static str,
}

impl Outage {
    pub fn seconds(&self) -> Option<i64> {
        self.restored_at.map(|end| (end - self.started_at).num_seconds().max(0))
    }
}

/// The pass's answer.
#[derive(Debug, Default)]
pub struct History {
    pub facts: HashMap<i64, Facts>,
    pub outages: Vec<Outage>,
}

/// Walks every stream of `deploys` (any order) with the commits of each
/// repository (`commits`, keyed by provider and repository) and the
/// incidents (one without an environment is about every `production` one).
pub fn walk(
    deploys: &[Deploy],
    commits: &HashMap<(&'static str, String), CommitIndex>,
    incidents: &[IncidentSpan],
    production: &super::config::Environments,
) -> History {
    let mut streams: BTreeMap<(&str, &str, &str), Vec<&Deploy>> = BTreeMap::new();
    for d in deploys {
        streams.entry((d.provider, d.repo.as_str(), d.environment.as_str())).or_default().push(d);
    }
    let empty = CommitIndex::default();
    let mut history = History::default();
    for ((provider, repo, environment), mut stream) in streams {
        stream.sort_by_key(|d| (d.finished_at, d.id));
        let index = commits.get(&(provider, repo.to_owned())).unwrap_or(&empty);
        walk_stream(&stream, index, &mut history);
        let matching: Vec<&IncidentSpan> = incidents
            .iter()
            .filter(|i| i.repo.as_deref().is_none_or(|r| r == repo))
            .filter(|i| production.incident_about(i.environment.as_deref(), environment))
            .collect();
        mark_incidents(&stream, &matching, &mut history);
    }
    history.outages.extend(incidents.iter().map(|i| Outage {
        started_at: i.opened_at,
        restored_at: i.resolved_at,
        cause: "incident",
    }));
    history.outages.sort_by_key(|o| o.started_at);
    history
}

fn walk_stream(stream: &[&Deploy], index: &CommitIndex, history: &mut History) {
    let mut last_success: Option<&Deploy> = None;
    let mut deployed_heads: HashSet<&str> = HashSet::new();
    let mut deployed: HashSet<String> = HashSet::new();
    let mut open_outage: Option<usize> = None;
    for d in stream {
        let mut facts = Facts { signal: None, rollback: false, commits: Vec::new(), leads: Vec::new() };
        if d.failed {
            facts.signal = Some(Signal::Failed);
            if open_outage.is_none() {
                history.outages.push(Outage {
                    started_at: d.finished_at,
                    restored_at: None,
                    cause: "deployment",
                });
                open_outage = Some(history.outages.len() - 1);
            }
            history.facts.insert(d.id, facts);
            continue;
        }
        if let Some(at) = open_outage.take() {
            history.outages[at].restored_at = Some(d.finished_at);
        }
        let previous_sha = last_success.and_then(|p| p.sha.as_deref());
        if let Some(sha) = d.sha.as_deref() {
            facts.rollback = deployed_heads.contains(sha) && previous_sha != Some(sha);
            if facts.rollback
                && let Some(previous) = last_success
                && let Some(earlier) = history.facts.get_mut(&previous.id)
                && earlier.signal.is_none()
            {
                earlier.signal = Some(Signal::RolledBack);
            }
            for commit in index.walk(sha, previous_sha) {
                if deployed.insert(commit.clone()) {
                    let time = index.time(&commit);
                    let lead_seconds = time.map(|t| (d.finished_at - t).num_seconds().max(0));
                    facts.leads.extend(lead_seconds);
                    facts.commits.push(CommitLead { sha: commit, time, lead_seconds });
                }
            }
            deployed_heads.insert(sha);
        }
        history.facts.insert(d.id, facts);
        last_success = Some(d);
    }
}

/// An incident opened at or after a successful deployment finished and
/// before the next successful one marks it (if nothing marked it before).
fn mark_incidents(stream: &[&Deploy], incidents: &[&IncidentSpan], history: &mut History) {
    let successes: Vec<&Deploy> = stream.iter().copied().filter(|d| !d.failed).collect();
    for incident in incidents {
        let before = successes.partition_point(|d| d.finished_at <= incident.opened_at);
        let Some(marked) = before.checked_sub(1).map(|i| successes[i]) else { continue };
        if let Some(facts) = history.facts.get_mut(&marked.id)
            && facts.signal.is_none()
        {
            facts.signal = Some(Signal::Incident);
        }
    }
}

/// A stored deployment as the figures count it: `None` while pending, for
/// `inactive`/`canceled`/`skipped`, and for a failure of a deploy job
/// allowed to fail.
pub fn counted(
    id: i64,
    deployment: &crate::domain::deployment::Deployment,
    allow_failure: bool,
) -> Option<Deploy> {
    use crate::domain::deployment::Outcome;
    let failed = match deployment.outcome() {
        Outcome::Succeeded => false,
        Outcome::Failed if !allow_failure => true,
        _ => return None,
    };
    Some(Deploy {
        id,
        provider: deployment.provider.kind(),
        repo: deployment.repo.as_str().to_owned(),
        environment: deployment.environment.clone(),
        sha: deployment.sha.clone(),
        finished_at: deployment.finished_at()?,
        failed,
    })
}
