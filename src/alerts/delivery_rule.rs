//! The delivery rules, evaluated by their own periodic job (one replica at
//! a time, every `--alert-check-interval` seconds):
//! - `deployment_failed`: a production deployment (`--production-environments`)
//!   whose final status is a failure (not a deploy job allowed to fail),
//!   finished in the last day; once per deployment.
//! - `change_failure_rate`: per repository, the change failure rate of the
//!   production deployments finished in the last `window_minutes` (default
//!   7 days; definition in `crate::metrics::dora`, incidents included)
//!   exceeds `threshold` (0–1), with at least `min_builds` (default 5)
//!   counted deployments; once per repository per cooldown.
//!
//! Rules narrow by `repo` (glob); workflow, branch and event filters do not
//! apply to deployments. Must not send anything itself.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::config::{AlertConfig, Rule, RuleKind, defaults};
use super::message::AlertDetails;
use super::outbox_rows::push;
use super::rules::compile_glob;
use crate::metrics::dora::config::Environments;
use crate::metrics::dora::history::{Deploy, IncidentSpan, counted, walk};
use crate::scheduler::PeriodicJob;
use crate::store::Store;
use crate::store::alerts::NewAlert;
use crate::store::deployments::DeploymentFilter;

/// Default `window_minutes` of `change_failure_rate`: 7 days.
pub const CFR_WINDOW_MINUTES: i64 = 7 * 24 * 60;

/// How far back `deployment_failed` looks.
const FAILED_HORIZON_SECONDS: i64 = 86_400;

/// The periodic job of the delivery rules.
pub fn job(interval_seconds: i64, production: Arc<Environments>) -> PeriodicJob {
    PeriodicJob {
        name: "delivery-alerts",
        interval_seconds: interval_seconds.max(1),
        task: Arc::new(move |store| {
            let production = production.clone();
            Box::pin(async move {
                let added = check(&store, &production, Utc::now().timestamp()).await?;
                Ok(format!(
                    "delivery alerts: {added} deployment-failed or change-failure-rate alerts enqueued"
                ))
            })
        }),
    }
}

fn repo_matches(rule: &Rule, repo: &str) -> bool {
    rule.repo.as_deref().is_none_or(|p| compile_glob(p).is_ok_and(|g| g.compile_matcher().is_match(repo)))
}

/// Evaluates the delivery rules as of `now` (Unix seconds); answers how
/// many alerts (one per channel) were enqueued.
///
/// Errors: the database fails, or the stored configuration does not parse.
pub async fn check(store: &Store, production: &Environments, now: i64) -> anyhow::Result<usize> {
    let Some(stored) = store.alerts().alert_config().await? else { return Ok(0) };
    let config: AlertConfig = serde_json::from_str(&stored.document)?;
    let rules: Vec<&Rule> = config
        .rules
        .iter()
        .filter(|r| matches!(r.kind, RuleKind::DeploymentFailed | RuleKind::ChangeFailureRate))
        .collect();
    if rules.is_empty() {
        return Ok(0);
    }
    let to = DateTime::from_timestamp(now + 1, 0).unwrap_or_else(Utc::now);
    let longest = rules.iter().map(|r| r.window_minutes.unwrap_or(CFR_WINDOW_MINUTES)).max().unwrap_or(0);
    let from = to - Duration::minutes(longest.max(FAILED_HORIZON_SECONDS / 60) + 90 * 24 * 60);
    let deployments = store.deployments();
    let rows = deployments.deployments(from, to, &DeploymentFilter::default(), 200_000).await?;
    let rows: Vec<_> =
        rows.into_iter().filter(|r| production.is_production(&r.deployment.environment)).collect();
    let deploys: Vec<Deploy> =
        rows.iter().filter_map(|r| counted(r.id, &r.deployment, r.allow_failure)).collect();
    let incidents: Vec<IncidentSpan> = deployments
        .incidents(from, to)
        .await?
        .into_iter()
        .filter(|i| i.environment.as_deref().is_none_or(|e| production.is_production(e)))
        .map(|i| IncidentSpan {
            repo: i.repo,
            environment: i.environment,
            opened_at: i.opened_at,
            resolved_at: i.resolved_at,
        })
        .collect();
    let history = walk(&deploys, &HashMap::new(), &incidents, production);
    let mut out: Vec<(NewAlert, i64)> = Vec::new();
    for rule in rules {
        match rule.kind {
            RuleKind::DeploymentFailed => {
                for d in deploys
                    .iter()
                    .filter(|d| d.failed && d.finished_at.timestamp() > now - FAILED_HORIZON_SECONDS)
                {
                    if !repo_matches(rule, &d.repo) {
                        continue;
                    }
                    let details = AlertDetails {
                        kind: "deployment_failed".into(),
                        title: format!("Deployment failed: {} to {}", d.repo, d.environment),
                        reason: Some(format!(
                            "the {} deployment of {} to {} failed",
                            d.provider,
                            d.sha.as_deref().map_or("an unknown commit", |s| &s[..s.len().min(12)]),
                            d.environment
                        )),
                        repo: Some(d.repo.clone()),
                        status: Some("failed".into()),
                        ..AlertDetails::default()
                    };
                    // Keyed per deployment: each failed deployment alerts once, none
                    // silences another through the cooldown.
                    let key = format!("deployment:{}", d.id);
                    push(&mut out, &config, rule, &key, key.clone(), None, details, now);
                }
            }
            _ => {
                let window = rule.window_minutes.unwrap_or(CFR_WINDOW_MINUTES) * 60;
                let mut per_repo: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
                for d in deploys.iter().filter(|d| d.finished_at.timestamp() > now - window) {
                    if !repo_matches(rule, &d.repo) {
                        continue;
                    }
                    let entry = per_repo.entry(d.repo.as_str()).or_default();
                    entry.0 += 1;
                    entry.1 += i64::from(history.facts.get(&d.id).is_some_and(|f| f.signal.is_some()));
                }
                let threshold = rule.threshold.unwrap_or(1.0);
                let min = rule.min_builds.unwrap_or(defaults::MIN_BUILDS);
                for (repo, (total, failed)) in per_repo {
                    let rate = failed as f64 / total as f64;
                    if total < min || rate <= threshold {
                        continue;
                    }
                    let details = AlertDetails {
                        kind: "change_failure_rate".into(),
                        title: format!("Change failure rate {:.0}%: {repo}", rate * 100.0),
                        reason: Some(format!(
                            "{failed} of {total} production deployments in the last {} min were failed changes \
                             (threshold {:.0}%)",
                            window / 60,
                            threshold * 100.0
                        )),
                        repo: Some(repo.to_owned()),
                        ..AlertDetails::default()
                    };
                    let key = format!("cfr:{repo}");
                    let bucket = now / rule.cooldown_seconds().max(60);
                    push(&mut out, &config, rule, &key, format!("{key}@{bucket}"), None, details, now);
                }
            }
        }
    }
    Ok(store.alerts().enqueue_alerts(&out).await?)
}
