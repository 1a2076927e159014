//! Rules evaluated by the clock rather than by a change: `failure_rate`
//! over a window, `stuck` attempts, `queue_time` (in `queue_rule`), `flaky` (in `flaky_rule`) and `flaky_test` (in `flaky_test_rule`). Run by the scheduler (one replica at
//! a time, see `scheduler`) every `--alert-check-interval` seconds; each
//! check enqueues its alerts in one transaction, skipping a (rule, pipeline)
//! still in its cooldown. Must not send anything itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;

use super::config::{AlertConfig, Rule, RuleKind, defaults};
use super::evaluate::rule_key;
use super::message::{AlertDetails, duration_text};
use super::outbox_rows::push;
use super::rules::Subject;
use crate::scheduler::PeriodicJob;
use crate::store::Store;
use crate::store::alerts::NewAlert;

/// Oldest start a `stuck` attempt may have: older unfinished attempts are
/// taken as lost deliveries, not as a pipeline that is down now.
const STUCK_HORIZON_SECONDS: i64 = 7 * 86_400;

/// (repo, workflow, branch).
/// (provider kind, repository, workflow, branch).
type Pipeline = (String, String, Option<String>, Option<String>);

/// The periodic job, every `interval_seconds`.
pub fn job(interval_seconds: i64) -> PeriodicJob {
    PeriodicJob {
        name: "alerts",
        interval_seconds: interval_seconds.max(1),
        task: Arc::new(|store| {
            Box::pin(async move {
                let added = check(&store, Utc::now().timestamp()).await?;
                Ok(format!("alerts: {added} failure-rate, stuck or queue-time alerts enqueued"))
            })
        }),
    }
}

/// Evaluates `failure_rate` and `stuck` rules as of `now` (Unix seconds);
/// answers how many alerts (one per channel) were enqueued.
///
/// Errors: the database fails, or the stored configuration does not parse.
pub async fn check(store: &Store, now: i64) -> anyhow::Result<usize> {
    let Some(stored) = store.alerts().alert_config().await? else {
        return Ok(0);
    };
    let config: AlertConfig = serde_json::from_str(&stored.document)?;
    let mut alerts = Vec::new();
    for rule in &config.rules {
        match rule.kind {
            RuleKind::FailureRate => failure_rate(store, &config, rule, now, &mut alerts).await?,
            RuleKind::Stuck => stuck(store, &config, rule, now, &mut alerts).await?,
            RuleKind::QueueTime => {
                super::queue_rule::queue_time(store, &config, rule, now, &mut alerts).await?
            }
            RuleKind::Flaky => super::flaky_rule::flaky(store, &config, rule, now, &mut alerts).await?,
            RuleKind::FlakyTest => {
                super::flaky_test_rule::flaky_test(store, &config, rule, now, &mut alerts).await?
            }
            _ => {}
        }
    }
    Ok(store.alerts().enqueue_alerts(&alerts).await?)
}

/// `failure_rate`: per (provider, repo, workflow, branch) the rule applies to, the
/// failed share of the conclusive attempts started in the last
/// `window_minutes` (default 60) exceeds `threshold`, with at least
/// `min_builds` (default 5) conclusive attempts.
async fn failure_rate(
    store: &Store,
    config: &AlertConfig,
    rule: &Rule,
    now: i64,
    out: &mut Vec<(NewAlert, i64)>,
) -> anyhow::Result<()> {
    let window = rule.window_minutes.unwrap_or(defaults::WINDOW_MINUTES);
    let mut totals: BTreeMap<Pipeline, (i64, i64)> = BTreeMap::new();
    for group in store.alerts().rate_groups(now - window * 60).await? {
        let subject = Subject {
            repo: &group.repo,
            workflow: group.workflow.as_deref(),
            branch: group.branch.as_deref(),
            event: group.event.as_deref(),
            provider: Some(group.provider.as_str()),
        };
        if rule.applies_to(&subject) {
            let entry = totals.entry((group.provider, group.repo, group.workflow, group.branch)).or_default();
            entry.0 += group.failed;
            entry.1 += group.conclusive;
        }
    }
    let threshold = rule.threshold.unwrap_or(1.0);
    let min_builds = rule.min_builds.unwrap_or(defaults::MIN_BUILDS);
    for ((provider, repo, workflow, branch), (failed, conclusive)) in totals {
        let rate = failed as f64 / conclusive.max(1) as f64;
        if conclusive < min_builds || rate <= threshold {
            continue;
        }
        let key = rule_key(&provider, &repo, workflow.as_deref(), branch.as_deref());
        let mut title = format!("Failure rate {:.0}%: {repo}", rate * 100.0);
        if let Some(w) = &workflow {
            title.push_str(&format!(" · {w}"));
        }
        if let Some(b) = &branch {
            title.push_str(&format!(" on {b}"));
        }
        let details = AlertDetails {
            kind: "failure_rate".into(),
            title,
            reason: Some(format!(
                "{failed} of {conclusive} conclusive attempts in the last {window} min failed (threshold {:.0}%)",
                threshold * 100.0
            )),
            repo: Some(repo.clone()),
            workflow: workflow.clone(),
            branch: branch.clone(),
            ..AlertDetails::default()
        };
        let bucket = now / rule.cooldown_seconds().max(60);
        push(out, config, rule, &key, format!("{key}@{bucket}"), None, details, now);
    }
    Ok(())
}

/// `stuck`: an attempt still queued or running `stuck_minutes` after its
/// start (and started within the last 7 days); once per attempt.
async fn stuck(
    store: &Store,
    config: &AlertConfig,
    rule: &Rule,
    now: i64,
    out: &mut Vec<(NewAlert, i64)>,
) -> anyhow::Result<()> {
    let minutes = rule.stuck_minutes.unwrap_or(60);
    for facts in store.alerts().unfinished_builds(now - STUCK_HORIZON_SECONDS, now - minutes * 60).await? {
        let subject = Subject {
            repo: &facts.repo,
            workflow: facts.workflow.as_deref(),
            branch: facts.branch.as_deref(),
            event: facts.event.as_deref(),
            provider: Some(facts.provider.as_str()),
        };
        if !rule.applies_to(&subject) {
            continue;
        }
        let key = rule_key(&facts.provider, &facts.repo, facts.workflow.as_deref(), facts.branch.as_deref());
        let reason = format!(
            "{} for {} (limit {minutes} min)",
            facts.status.as_str(),
            duration_text(now - facts.sort_at)
        );
        let details = AlertDetails::for_build("stuck", "Stuck", &facts, Some(reason));
        push(out, config, rule, &key, facts.id.to_string(), Some(facts.id), details, now);
    }
    Ok(())
}
