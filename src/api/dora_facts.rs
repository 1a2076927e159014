//! The delivery routes' inputs from the facts derived at write time
//! (`store::deployments` derive): a window's counted deployments with
//! their signals, the lead times of the commits they carried, and the
//! incidents, matched here (an incident opened at or after a successful
//! deployment finished and before the stream's next success marks it,
//! unless something marked it before). No walk per request.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::AppState;
use super::dora_scope::{Inputs, Scope, incidents_of};
use super::problem::Problem;
use crate::metrics::dora::config::Environments;
use crate::metrics::dora::history::{Deploy, Facts, History, IncidentSpan, Outage, Signal};
use crate::store::deployments::StoredFacts;

/// Whether `incident` applies to `f`'s stream and falls in its span (an
/// incident without an environment is about every production one).
fn marks(incident: &IncidentSpan, f: &StoredFacts, production: &Environments) -> bool {
    incident.repo.as_deref().is_none_or(|r| r == f.repo)
        && production.incident_about(incident.environment.as_deref(), &f.environment)
        && f.finished_at <= incident.opened_at
        && f.next_success_at.is_none_or(|next| incident.opened_at < next)
}

/// Reads the scope's stored facts of `[from, to)` (with `pending`, the
/// deployments read for listing too, unfinished ones included).
pub async fn load_facts(
    state: &AppState,
    scope: &Scope,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    pending: bool,
    production_only: bool,
) -> Result<Inputs, Problem> {
    let store = state.store.deployments();
    let filter = scope.filter(pending);
    let mut production: HashMap<String, bool> = HashMap::new();
    let mut keep = |environment: &str| {
        scope.environment.is_some()
            || !production_only
            || *production
                .entry(environment.to_owned())
                .or_insert_with(|| state.delivery.production.is_production(environment))
    };
    let mut rows = Vec::new();
    if pending {
        rows = store.deployments(from, to, &filter, super::dora_scope::MAX_DEPLOYMENTS).await?;
        rows.retain(|r| keep(&r.deployment.environment));
    }
    let mut stored = store.counted_facts(from, to, &filter).await?;
    stored.retain(|f| keep(&f.environment));
    let incidents = incidents_of(state, scope, from, to, production_only).await?;
    let mut history = History::default();
    let mut deploys = Vec::with_capacity(stored.len());
    for f in &stored {
        let mut signal = f.signal;
        if !f.failed && signal.is_none() && incidents.iter().any(|i| marks(i, f, &state.delivery.production))
        {
            signal = Some(Signal::Incident);
        }
        history
            .facts
            .insert(f.id, Facts { signal, rollback: f.rollback, commits: Vec::new(), leads: Vec::new() });
        if f.opens_outage {
            history.outages.push(Outage {
                started_at: f.finished_at,
                restored_at: f.next_success_at,
                cause: "deployment",
            });
        }
        deploys.push(Deploy {
            id: f.id,
            provider: f.provider.kind(),
            repo: f.repo.clone(),
            environment: f.environment.clone(),
            sha: f.sha.clone(),
            finished_at: f.finished_at,
            failed: f.failed,
        });
    }
    history.outages.extend(incidents.iter().map(|i| Outage {
        started_at: i.opened_at,
        restored_at: i.resolved_at,
        cause: "incident",
    }));
    history.outages.sort_by_key(|o| o.started_at);
    Ok(Inputs { rows, deploys, history, incidents, walked: false })
}

/// Fills in the commits of `ids` (the deployments a list shows) when the
/// history came from stored facts (not `walked`).
pub async fn fill_commits(
    state: &AppState,
    walked: bool,
    history: &mut History,
    ids: &[i64],
) -> Result<(), Problem> {
    if walked {
        return Ok(());
    }
    for (id, commit) in state.store.deployments().carried_commits(ids).await? {
        if let Some(facts) = history.facts.get_mut(&id) {
            facts.leads.extend(commit.lead_seconds);
            facts.commits.push(commit);
        }
    }
    Ok(())
}
