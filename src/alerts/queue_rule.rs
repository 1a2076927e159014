//! The `queue_time` rule, evaluated by the periodic check (see
//! `periodic`): jobs waiting too long for a runner. Two forms:
//! - without `window_minutes`: a job queued for a runner now (as
//!   `/api/insights/runners` counts "queued now") whose wait, `now −
//!   created_at`, exceeds `queue_minutes`; once per job, and quiet for
//!   `cooldown_minutes` per (repo, workflow, branch), as `stuck`;
//! - with `window_minutes`: per runner label set, the queue p95 (type 7)
//!   of the jobs started in the last `window_minutes` exceeds
//!   `queue_minutes`, with at least `min_builds` (default 5) such jobs;
//!   once per label set per cooldown, as `failure_rate`.
//!
//! Jobs must match the rule's filters (repository, workflow, branch — the
//! default branch without `branch` — and event, as every rule) and, with
//! `labels`, have one runner label matching that glob (without case).
//! Must not send anything itself.

use std::collections::BTreeMap;

use super::config::{AlertConfig, Rule, defaults};
use super::evaluate::rule_key;
use super::message::{AlertDetails, duration_text};
use super::outbox_rows::push;
use super::rules::{Subject, compile_glob};
use crate::metrics::percentile::percentile;
use crate::metrics::runners::JobSpan;
use crate::store::alerts::NewAlert;
use crate::store::{RunnerFilter, Store};

/// Whether `span` is one the rule watches.
fn watched(rule: &Rule, labels: Option<&globset::GlobMatcher>, span: &JobSpan) -> bool {
    let subject = Subject {
        repo: &span.repo,
        workflow: span.workflow.as_deref(),
        branch: span.branch.as_deref(),
        event: span.event.as_deref(),
        provider: Some(span.provider.as_str()),
    };
    rule.applies_to(&subject) && labels.is_none_or(|glob| span.label_set().iter().any(|l| glob.is_match(l)))
}

/// Evaluates one `queue_time` rule as of `now` (Unix seconds), pushing its
/// alerts onto `out`.
///
/// Errors: the database fails.
pub(super) async fn queue_time(
    store: &Store,
    config: &AlertConfig,
    rule: &Rule,
    now: i64,
    out: &mut Vec<(NewAlert, i64)>,
) -> anyhow::Result<()> {
    let limit = rule.queue_minutes.unwrap_or(60) * 60;
    let labels = rule.labels.as_deref().and_then(|p| compile_glob(p).ok()).map(|g| g.compile_matcher());
    let all = RunnerFilter::default();
    let Some(window) = rule.window_minutes else {
        for span in store.metrics().open_jobs(&all).await? {
            let Some(created) = span.created_at else { continue };
            let waited = now - created;
            if !span.is_waiting_for_runner() || waited <= limit || !watched(rule, labels.as_ref(), &span) {
                continue;
            }
            let key = rule_key(
                span.provider.as_str(),
                &span.repo,
                span.workflow.as_deref(),
                span.branch.as_deref(),
            );
            let set = span.label_set().join(", ");
            let job = span.name.clone().unwrap_or_else(|| "a job".into());
            let details = AlertDetails {
                kind: "queue_time".into(),
                title: format!("Waiting for a runner: {} · {job} ({set})", span.repo),
                reason: Some(format!(
                    "queued for {} (limit {} min) on runner labels {set}",
                    duration_text(waited),
                    limit / 60
                )),
                build_id: Some(span.build_id),
                repo: Some(span.repo.clone()),
                workflow: span.workflow.clone(),
                branch: span.branch.clone(),
                event: span.event.clone(),
                url: span.url.clone(),
                status: Some("queued".into()),
                ..AlertDetails::default()
            };
            push(out, config, rule, &key, format!("job:{}", span.id), Some(span.build_id), details, now);
        }
        return Ok(());
    };
    let mut sets: BTreeMap<Vec<String>, Vec<f64>> = BTreeMap::new();
    for span in store.metrics().job_spans(now - window * 60, now + 1, &all).await? {
        if let Some(queue) = span.queue_seconds()
            && watched(rule, labels.as_ref(), &span)
        {
            sets.entry(span.label_set()).or_default().push(queue as f64);
        }
    }
    let min_jobs = rule.min_builds.unwrap_or(defaults::MIN_BUILDS);
    for (set, mut queues) in sets {
        queues.sort_by(f64::total_cmp);
        let Some(p95) = percentile(&queues, 0.95) else { continue };
        if (queues.len() as i64) < min_jobs || p95 <= limit as f64 {
            continue;
        }
        let names = set.join(", ");
        let key = format!("labels:{}", set.join(","));
        let details = AlertDetails {
            kind: "queue_time".into(),
            title: format!("Queue p95 {}: runner labels {names}", duration_text(p95.round() as i64)),
            reason: Some(format!(
                "queue p95 of {} jobs started in the last {window} min was {} (limit {} min)",
                queues.len(),
                duration_text(p95.round() as i64),
                limit / 60
            )),
            ..AlertDetails::default()
        };
        let bucket = now / rule.cooldown_seconds().max(60);
        push(out, config, rule, &key, format!("{key}@{bucket}"), None, details, now);
    }
    Ok(())
}
