//! The `flaky_test` rule, evaluated by the periodic check (see `periodic`):
//! a test became flaky — at least `min_occurrences` (default 3) flaky
//! occurrences of one test (rerun passes, attempt flips and commit flips,
//! as the Tests view counts them: `store::test_results::insights`) whose
//! executions were all uploaded in the last `window_minutes` (default
//! 1440, a day). Once per test per cooldown, as `flaky`.
//!
//! Occurrences must match the rule's repository, workflow, branch (the
//! default branch without `branch`), event and provider, read from the
//! occurrence's build. Must not send anything itself.

use std::collections::BTreeMap;

use super::config::{AlertConfig, Rule};
use super::message::AlertDetails;
use super::outbox_rows::push;
use super::rules::Subject;
use crate::store::Store;
use crate::store::alerts::NewAlert;
use crate::store::test_results::FlakyTestOccurrence;

/// Default window of a `flaky_test` rule, in minutes.
const WINDOW_MINUTES: i64 = 1440;
/// Default fewest occurrences.
const MIN_OCCURRENCES: i64 = 3;

/// `classname.name`, or `name` without a class.
fn test_name(o: &FlakyTestOccurrence) -> String {
    match o.classname.as_deref().filter(|c| !c.is_empty()) {
        Some(class) => format!("{class}.{}", o.name),
        None => o.name.clone(),
    }
}

/// "2 passed on a rerun, 1 attempt flip, 1 commit flip" (non-zero counts).
fn breakdown(occurrences: &[&FlakyTestOccurrence]) -> String {
    let count = |kind: &str| occurrences.iter().filter(|o| o.kind == kind).count();
    let parts = [
        (count("rerun"), "passed on a rerun", "passed on a rerun"),
        (count("attempt"), "attempt flip", "attempt flips"),
        (count("commit"), "commit flip", "commit flips"),
    ];
    parts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Evaluates one `flaky_test` rule as of `now` (Unix seconds), pushing its
/// alerts onto `out`.
///
/// Errors: the database fails.
pub(super) async fn flaky_test(
    store: &Store,
    config: &AlertConfig,
    rule: &Rule,
    now: i64,
    out: &mut Vec<(NewAlert, i64)>,
) -> anyhow::Result<()> {
    let window = rule.window_minutes.unwrap_or(WINDOW_MINUTES);
    let least = rule.min_occurrences.unwrap_or(MIN_OCCURRENCES);
    let read = store.test_results().flaky_occurrences(now - window * 60, now + 1).await?;
    let mut tests: BTreeMap<i64, Vec<&FlakyTestOccurrence>> = BTreeMap::new();
    for o in &read {
        let subject = Subject {
            repo: &o.repo,
            workflow: o.workflow.as_deref(),
            branch: o.branch.as_deref(),
            event: o.event.as_deref(),
            provider: Some(o.provider_kind.as_str()),
        };
        if rule.applies_to(&subject) {
            tests.entry(o.test_id).or_default().push(o);
        }
    }
    for (test_id, occurrences) in tests {
        let count = occurrences.len() as i64;
        let Some(latest) = occurrences.iter().max_by_key(|o| (o.seen_at, o.build_id)) else { continue };
        if count < least {
            continue;
        }
        let details = AlertDetails {
            kind: "flaky_test".into(),
            title: format!("Flaky test: {} · {}", latest.repo, test_name(latest)),
            reason: Some(format!(
                "failed and passed {count} times in the last {window} min (at least {least}): {}",
                breakdown(&occurrences)
            )),
            build_id: Some(latest.build_id),
            repo: Some(latest.repo.clone()),
            workflow: latest.workflow.clone(),
            branch: latest.branch.clone(),
            event: latest.event.clone(),
            ..AlertDetails::default()
        };
        let rule_key = format!("test:{test_id}");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn occurrence(kind: &str, classname: Option<&str>) -> FlakyTestOccurrence {
        FlakyTestOccurrence {
            test_id: 1,
            classname: classname.map(Into::into),
            name: "beta".into(),
            kind: kind.into(),
            build_id: 1,
            seen_at: 0,
            repo: "octo-org/app".into(),
            workflow: None,
            branch: None,
            event: None,
            provider_kind: "github".into(),
        }
    }

    #[test]
    fn names_and_breakdown_are_words() {
        let (a, b, c) =
            (occurrence("rerun", Some("A")), occurrence("attempt", None), occurrence("attempt", Some("")));
        assert_eq!(test_name(&a), "A.beta");
        assert_eq!(test_name(&b), "beta");
        assert_eq!(test_name(&c), "beta");
        assert_eq!(breakdown(&[&a, &b, &c]), "1 passed on a rerun, 2 attempt flips");
        assert_eq!(breakdown(&[&occurrence("commit", None)]), "1 commit flip");
    }
}
