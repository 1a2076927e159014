//! What the delivery routes read before computing: the deployments of a
//! scope (stored ones and those the deployment rules name), the commits of
//! their repositories, the incidents, and one `history::walk` over them.
//! Shared by `dora` and `deployments`. Without deployment rules in scope
//! the facts are the ones stored at write time (`dora_facts`; `/api/dora`
//! sums them in SQL instead: `dora_sums`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::AppState;
use super::problem::Problem;
use crate::domain::deployment::{Deployment, DeploymentStatus};
use crate::domain::{ProviderKind, RepoName};
use crate::metrics::dora::history::{Deploy, counted, walk};
use crate::metrics::dora::lineage::{CommitIndex, PushedCommit};
use crate::store::deployments::{DeploymentRow, RuleRun};

pub use super::dora_scope::{Inputs, MAX_DEPLOYMENTS, Scope, incidents_of};

/// How far before a window deployments are read, so the first ones in it
/// know their predecessor and which commits were deployed before.
pub const LOOKBACK_DAYS: i64 = 90;

/// A rule's deployment of a completed run: `success` → success;
/// `failure`, `timed_out`, `startup_failure` → failure; anything else
/// (skipped, cancelled, neutral) is none. Its id is the build's, negated.
fn rule_deployment(state: &AppState, run: &RuleRun) -> Option<DeploymentRow> {
    let rule = state.delivery.rules.iter().find(|r| r.matches(&run.workflow, &run.branch))?;
    let word = match run.conclusion.as_str() {
        "success" => "success",
        "failure" | "timed_out" | "startup_failure" => "failure",
        _ => return None,
    };
    Some(DeploymentRow {
        id: -run.build_id,
        allow_failure: false,
        deployment: Deployment {
            provider: run.provider,
            repo: RepoName::from(run.repo.clone()),
            deployment_id: format!("run:{}:{}", run.run_id, run.run_attempt),
            environment: rule.environment.clone(),
            sha: run.sha.clone(),
            git_ref: Some(run.branch.clone()),
            job_id: None,
            url: run.url.clone(),
            created_at: None,
            status: Some(DeploymentStatus { state: word.to_owned(), at: run.finished_at }),
        },
    })
}

/// Reads the scope's deployments finished in `[from, to)` (with
/// `pending`, unfinished ones by creation time too) and their facts;
/// `production_only` keeps production environments (when no environment
/// is named). The facts are the stored ones (`dora_facts`) unless a
/// deployment rule names a run in scope: rule deployments exist only at
/// read time, so then the streams are walked here, from
/// [`LOOKBACK_DAYS`] before `from`.
pub async fn load(
    state: &AppState,
    scope: &Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    pending: bool,
    production_only: bool,
) -> Result<Inputs, Problem> {
    match rule_runs_in_scope(state, scope, from, to).await? {
        Some(runs) => {
            let lookback = from - Duration::days(LOOKBACK_DAYS);
            walk_inputs(state, scope, runs, lookback, to, pending, production_only).await
        }
        None => super::dora_facts::load_facts(state, scope, from, to, pending, production_only).await,
    }
}

/// The completed runs read from [`LOOKBACK_DAYS`] before `from` to `to`
/// when a deployment rule names one of them in `scope` (the streams must
/// then be walked per request: [`load`]); `None` otherwise.
pub async fn rule_runs_in_scope(
    state: &AppState,
    scope: &Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<RuleRun>>, Problem> {
    if state.delivery.rules.is_empty() {
        return Ok(None);
    }
    let lookback = from - Duration::days(LOOKBACK_DAYS);
    let branches: Vec<String> =
        state.delivery.rules.iter().map(|r| r.branch.clone()).collect::<HashSet<_>>().into_iter().collect();
    let runs = state.store.deployments().rule_runs(lookback, to, &branches, scope.repo.as_deref()).await?;
    Ok(runs.iter().any(|run| rule_deployment(state, run).is_some()).then_some(runs))
}

/// [`load`] with the rule runs [`rule_runs_in_scope`] answered: the
/// streams walked per request from [`LOOKBACK_DAYS`] before `from`.
pub async fn load_walked(
    state: &AppState,
    scope: &Scope,
    runs: Vec<RuleRun>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Inputs, Problem> {
    walk_inputs(state, scope, runs, from - Duration::days(LOOKBACK_DAYS), to, false, true).await
}

/// [`load`] walking the streams per request.
async fn walk_inputs(
    state: &AppState,
    scope: &Scope,
    runs: Vec<RuleRun>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    pending: bool,
    production_only: bool,
) -> Result<Inputs, Problem> {
    let store = state.store.deployments();
    let filter = scope.filter(pending);
    let mut rows = store.deployments(from, to, &filter, MAX_DEPLOYMENTS).await?;
    for run in runs {
        if scope.provider.is_some_and(|p| p != run.provider) {
            continue;
        }
        if let Some(row) = rule_deployment(state, &run)
            && scope.environment.as_ref().is_none_or(|e| *e == row.deployment.environment)
        {
            rows.push(row);
        }
    }
    if scope.environment.is_none() && production_only {
        rows.retain(|r| state.delivery.production.is_production(&r.deployment.environment));
    }
    let deploys: Vec<Deploy> =
        rows.iter().filter_map(|r| counted(r.id, &r.deployment, r.allow_failure)).collect();
    let repos: HashSet<(ProviderKind, &str)> =
        rows.iter().map(|r| (r.deployment.provider, r.deployment.repo.as_str())).collect();
    let mut pushed: HashMap<(&'static str, String), Vec<PushedCommit>> = HashMap::new();
    let only = scope.repo.clone().map(RepoName::from);
    for (provider, repo, c) in store.commits(from - Duration::days(30), only.as_ref()).await? {
        if !repos.contains(&(provider, repo.as_str())) {
            continue;
        }
        pushed.entry((provider.kind(), repo)).or_default().push(PushedCommit {
            time: c.committed_at.or(c.authored_at),
            sha: c.sha,
            push_head: c.push_head,
            push_before: c.push_before,
            position: c.position,
        });
    }
    let commits: HashMap<(&'static str, String), CommitIndex> =
        pushed.into_iter().map(|(key, list)| (key, CommitIndex::new(list))).collect();
    let incidents = incidents_of(state, scope, from, to, production_only).await?;
    let history = walk(&deploys, &commits, &incidents, &state.delivery.production);
    Ok(Inputs { rows, deploys, history, incidents, walked: true })
}
