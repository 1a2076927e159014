//! Validation of one rule of the configuration (see the parent module).

use std::collections::HashSet;

use serde_json::Value;

use super::Checker;
use crate::alerts::config::{Rule, RuleKind};
use crate::alerts::rules::compile_glob;

pub(super) fn parse_rule(
    check: &mut Checker,
    value: &Value,
    path: &str,
    channel_ids: &HashSet<String>,
    rule_ids: &mut HashSet<String>,
) -> Option<Rule> {
    let object = check.object(
        value,
        path,
        &[
            "id",
            "kind",
            "channels",
            "repo",
            "workflow",
            "branch",
            "event",
            "provider",
            "include_cancelled",
            "threshold",
            "window_minutes",
            "min_builds",
            "duration_seconds",
            "stuck_minutes",
            "queue_minutes",
            "labels",
            "cooldown_minutes",
            "min_occurrences",
            "failure_class",
            "wait_for_reason_seconds",
        ],
    )?;
    let id = check.id(object, path, rule_ids);
    let kind = match object.get("kind").and_then(Value::as_str) {
        Some(text) => RuleKind::parse(text).or_else(|| {
            let known: Vec<&str> = RuleKind::ALL.iter().map(|k| k.as_str()).collect();
            check.fail(
                format!("{path}.kind"),
                format!("unknown rule kind {text:?}; known: {}", known.join(", ")),
            );
            None
        }),
        None => {
            check.fail(format!("{path}.kind"), "is required");
            None
        }
    };
    let channels = match object.get("channels") {
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut ids = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let field = format!("{path}.channels[{i}]");
                match item.as_str() {
                    Some(id) if channel_ids.contains(id) => ids.push(id.to_owned()),
                    Some(id) => check.fail(field, format!("no channel has id {id:?}")),
                    None => check.fail(field, "must be a channel id (string)"),
                }
            }
            Some(ids)
        }
        _ => {
            check.fail(format!("{path}.channels"), "must be a non-empty array of channel ids");
            None
        }
    };
    let mut globs = Vec::new();
    for key in ["repo", "workflow", "branch"] {
        let pattern = check.optional_string(object, path, key);
        if let Some(pattern) = &pattern
            && let Err(err) = compile_glob(pattern)
        {
            check.fail(format!("{path}.{key}"), format!("is not a valid glob: {err}"));
        }
        globs.push(pattern);
    }
    let event = check.optional_string(object, path, "event");
    let provider = check.optional_string(object, path, "provider");
    if let Some(kind) = &provider
        && crate::domain::ProviderKind::from_kind(kind).is_none()
    {
        let known: Vec<&str> = crate::domain::ProviderKind::ALL.iter().map(|p| p.kind()).collect();
        check.fail(
            format!("{path}.provider"),
            format!("unknown provider {kind:?}; known: {}", known.join(", ")),
        );
    }
    let labels = check.optional_string(object, path, "labels").map(|l| l.to_ascii_lowercase());
    if let Some(pattern) = &labels
        && let Err(err) = compile_glob(pattern)
    {
        check.fail(format!("{path}.labels"), format!("is not a valid glob: {err}"));
    }
    let include_cancelled = match object.get("include_cancelled") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            check.fail(format!("{path}.include_cancelled"), "must be true or false");
            false
        }
    };
    let threshold = match object.get("threshold") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_f64() {
            Some(t) if t.is_finite() && t > 0.0 => Some(t),
            _ => {
                check.fail(format!("{path}.threshold"), "must be a positive number");
                None
            }
        },
    };
    let window_minutes = check.optional_int(object, path, "window_minutes", 1, 525_600).ok()?;
    let min_builds = check.optional_int(object, path, "min_builds", 1, 100_000).ok()?;
    let duration_seconds = check.optional_int(object, path, "duration_seconds", 1, 31_536_000).ok()?;
    let stuck_minutes = check.optional_int(object, path, "stuck_minutes", 1, 525_600).ok()?;
    let queue_minutes = check.optional_int(object, path, "queue_minutes", 1, 525_600).ok()?;
    let cooldown_minutes = check.optional_int(object, path, "cooldown_minutes", 0, 525_600).ok()?;
    let min_occurrences = check.optional_int(object, path, "min_occurrences", 1, 100_000).ok()?;
    let failure_class = check.optional_string(object, path, "failure_class");
    let wait_for_reason_seconds = check.optional_int(object, path, "wait_for_reason_seconds", 0, 900).ok()?;
    let kind = kind?;
    if wait_for_reason_seconds.is_some() && !matches!(kind, RuleKind::BuildFailed | RuleKind::StartedFailing)
    {
        check.fail(
            format!("{path}.wait_for_reason_seconds"),
            "applies to build_failed and started_failing only",
        );
    }
    if let Some(class) = &failure_class {
        if class != "infrastructure" && class != "code" {
            check.fail(format!("{path}.failure_class"), "must be infrastructure or code");
        } else if !matches!(kind, RuleKind::BuildFailed | RuleKind::StartedFailing) {
            check.fail(format!("{path}.failure_class"), "applies to build_failed and started_failing only");
        }
    }
    match kind {
        RuleKind::FailureRate => match threshold {
            Some(t) if t < 1.0 => {}
            _ => check.fail(format!("{path}.threshold"), "failure_rate needs a threshold between 0 and 1 (exclusive)"),
        },
        RuleKind::SlowBuild => match (duration_seconds, threshold) {
            (Some(_), None) => {}
            (None, Some(t)) if t > 1.0 => {}
            (None, Some(_)) => check.fail(format!("{path}.threshold"), "slow_build's threshold is a multiple of the recent p95 and must be above 1"),
            _ => check.fail(path, "slow_build needs either duration_seconds or threshold (a multiple of the recent p95), not both"),
        },
        RuleKind::Stuck if stuck_minutes.is_none() => check.fail(format!("{path}.stuck_minutes"), "stuck needs stuck_minutes"),
        RuleKind::ChangeFailureRate => match threshold {
            Some(t) if t > 0.0 && t < 1.0 => {}
            _ => check.fail(format!("{path}.threshold"), "change_failure_rate needs a threshold between 0 and 1 (exclusive)"),
        },
        RuleKind::QueueTime if queue_minutes.is_none() => check.fail(format!("{path}.queue_minutes"), "queue_time needs queue_minutes"),
        _ => {}
    }
    let [repo, workflow, branch]: [Option<String>; 3] = globs.try_into().ok()?;
    Some(Rule {
        id: id?,
        kind,
        channels: channels?,
        repo,
        workflow,
        branch,
        event,
        provider,
        include_cancelled,
        threshold,
        window_minutes,
        min_builds,
        duration_seconds,
        stuck_minutes,
        queue_minutes,
        labels,
        min_occurrences,
        cooldown_minutes,
        failure_class,
        wait_for_reason_seconds,
    })
}
