//! The `flaky` rule, evaluated by the periodic check (see `periodic`): a
//! job key became flaky — at least `min_occurrences` (default 3) flaky-job
//! occurrences (`crate::domain::flaky`: failed in one attempt, passed in
//! the next of the same run) seen in the last `window_minutes` (default
//! 1440, a day). Once per job key per cooldown, as `failure_rate`.
//!
//! Occurrences must match the rule's repository, workflow and branch (the
//! default branch without `branch`); `event` is not looked at (a flaky job
//! is one run's, whatever started it). Must not send anything itself.

use std::collections::BTreeMap;

use super::config::{AlertConfig, Rule};
use super::message::{AlertDetails, duration_text};
use super::outbox_rows::push;
use super::rules::Subject;
use crate::domain::flaky::{Kind, Occurrence};
use crate::store::alerts::NewAlert;
use crate::store::{FlakyFilter, Store};

/// Default window of a `flaky` rule, in minutes.
const WINDOW_MINUTES: i64 = 1440;
/// Default fewest occurrences.
const MIN_OCCURRENCES: i64 = 3;

/// Evaluates one `flaky` rule as of `now` (Unix seconds), pushing its
/// alerts onto `out`.
///
/// Errors: the database fails.
pub(super) async fn flaky(
    store: &Store,
    config: &AlertConfig,
    rule: &Rule,
    now: i64,
    out: &mut Vec<(NewAlert, i64)>,
) -> anyhow::Result<()> {
    let window = rule.window_minutes.unwrap_or(WINDOW_MINUTES);
    let least = rule.min_occurrences.unwrap_or(MIN_OCCURRENCES);
    let read = store.flaky().window(now - window * 60, now + 1, &FlakyFilter::default()).await?;
    let mut keys: BTreeMap<i64, (&str, Vec<&Occurrence>)> = BTreeMap::new();
    for row in &read.rows {
        let o = &row.occurrence;
        let Some(key) = o.key_id.filter(|_| o.kind == Kind::Job) else { continue };
        let subject = Subject {
            repo: &row.repo,
            workflow: Some(o.workflow.as_str()),
            branch: o.branch.as_deref(),
            // Not looked at: see the module.
            event: rule.event.as_deref(),
            provider: Some(row.provider.kind()),
        };
        if rule.applies_to(&subject) {
            keys.entry(key).or_insert_with(|| (row.repo.as_str(), Vec::new())).1.push(o);
        }
    }
    for (key, (repo, occurrences)) in keys {
        let count = occurrences.len() as i64;
        let Some(latest) = occurrences.iter().max_by_key(|o| (o.seen_at, o.build_id)) else { continue };
        if count < least {
            continue;
        }
        let name = read.key_names.get(&key).cloned().unwrap_or_else(|| "a job".into());
        let wasted: i64 = occurrences.iter().map(|o| o.wasted_seconds).sum();
        let details = AlertDetails {
            kind: "flaky".into(),
            title: format!("Flaky job: {repo} · {} / {name}", latest.workflow),
            reason: Some(format!(
                "failed, then passed on the next attempt {count} times in the last {window} min \
                 (at least {least}); {} of runner time wasted",
                duration_text(wasted)
            )),
            build_id: Some(latest.build_id),
            repo: Some(repo.to_string()),
            workflow: Some(latest.workflow.clone()),
            branch: latest.branch.clone(),
            ..AlertDetails::default()
        };
        let rule_key = format!("job_key:{key}");
        let bucket = now / rule.cooldown_seconds().max(60);
        push(
            out,
            config,
            rule,
            &rule_key,
            format!("{rule_key}@{bucket}"),
            Some(latest.build_id),
            details,
            now,
        );
    }
    Ok(())
}
