//! What an alert says: [`AlertDetails`], captured when the alert is
//! created (stored as JSON in `alerts.details`, so later changes to the
//! build do not rewrite history), and [`TemplateContext`], the values the
//! templates see. Pure: no I/O.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::domain::time::{format_timestamp, from_unix};
use crate::store::alerts::BuildFacts;

/// The facts of one alert. Timestamps RFC 3339 UTC; durations seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertDetails {
    /// Rule kind (`build_failed`, …) or `test`.
    pub kind: String,
    /// One line, e.g. `Build failed: octo-org/app · CI on main #42`.
    pub title: String,
    /// Why the rule fired, in words (thresholds and measured values).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub build_id: Option<i64>,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default)]
    pub workflow: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub commit_sha: Option<String>,
    #[serde(default)]
    pub triggered_by: Option<String>,
    /// Link to the run on the provider's site.
    #[serde(default)]
    pub url: Option<String>,
    /// Normalised build status.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub run_number: Option<i64>,
    #[serde(default)]
    pub run_attempt: Option<i64>,
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Free text (test alerts).
    #[serde(default)]
    pub message: Option<String>,
    /// Failure alerts: the first failed tests of the build (`classname.name`).
    #[serde(default)]
    pub failed_tests: Vec<String>,
    /// Failure alerts: how many failed tests the build has in all.
    #[serde(default)]
    pub failed_tests_total: i64,
    /// Failure alerts: the failed job, its failed step, its first error
    /// line (plain text from a log), `infrastructure` or `code`, and its
    /// failure signature's history (`alerts::failure_facts`).
    #[serde(default)]
    pub failed_job: Option<String>,
    #[serde(default)]
    pub failed_step: Option<String>,
    #[serde(default)]
    pub error_line: Option<String>,
    #[serde(default)]
    pub failure_class: Option<String>,
    #[serde(default)]
    pub signature_history: Option<String>,
}

impl AlertDetails {
    /// Details of `kind` about one build; `headline` starts the title
    /// (`Build failed`).
    pub fn for_build(kind: &str, headline: &str, facts: &BuildFacts, reason: Option<String>) -> AlertDetails {
        let mut title = format!("{headline}: {}", facts.repo);
        if let Some(workflow) = &facts.workflow {
            title.push_str(&format!(" · {workflow}"));
        }
        if let Some(branch) = &facts.branch {
            title.push_str(&format!(" on {branch}"));
        }
        if let Some(number) = facts.run_number {
            title.push_str(&format!(" #{number}"));
        }
        if facts.run_attempt > 1 {
            title.push_str(&format!(" (attempt {})", facts.run_attempt));
        }
        let time = |t: Option<i64>| t.and_then(from_unix).map(format_timestamp);
        AlertDetails {
            kind: kind.into(),
            title,
            reason,
            build_id: Some(facts.id),
            repo: Some(facts.repo.clone()),
            workflow: facts.workflow.clone(),
            branch: facts.branch.clone(),
            event: facts.event.clone(),
            commit_sha: facts.commit_sha.clone(),
            triggered_by: facts.triggered_by.clone(),
            url: facts.url.clone(),
            status: Some(facts.status.as_str().to_owned()),
            conclusion: facts.conclusion.clone(),
            run_number: facts.run_number,
            run_attempt: Some(facts.run_attempt),
            duration_seconds: facts.duration_seconds,
            started_at: time(facts.started_at),
            finished_at: time(facts.finished_at),
            message: None,
            ..AlertDetails::default()
        }
    }

    /// A test alert with an optional message.
    pub fn test(message: Option<String>) -> AlertDetails {
        AlertDetails {
            kind: "test".into(),
            title: "Test alert from cicd-dashboard".into(),
            reason: Some("sent from POST /api/alert/test to check this channel".into()),
            message,
            ..AlertDetails::default()
        }
    }
}

/// What every template sees (all text already plain; each template's format
/// escapes it). Missing values are `""` except where noted.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateContext {
    /// Alert id (0 for test alerts).
    pub alert_id: i64,
    pub rule_id: String,
    pub kind: String,
    pub title: String,
    pub reason: String,
    pub message: String,
    pub repo: String,
    pub workflow: String,
    pub branch: String,
    pub event: String,
    pub commit_sha: String,
    /// First 7 characters of the commit.
    pub short_sha: String,
    pub actor: String,
    /// Link to the run (`""` when unknown).
    pub url: String,
    pub status: String,
    pub conclusion: String,
    pub run_number: Option<i64>,
    pub run_attempt: Option<i64>,
    pub duration_seconds: Option<i64>,
    /// `1h 02m 03s`, `4m 12s`, `9s` or `–`.
    pub duration_text: String,
    pub started_at: String,
    pub finished_at: String,
    /// Failure alerts (else `""`): failed job, failed step, first error
    /// line, `infrastructure` or `code`, the signature's history.
    pub failed_job: String,
    pub failed_step: String,
    pub error_line: String,
    pub failure_class: String,
    pub signature_history: String,
    /// When the alert was created, RFC 3339 UTC.
    pub created_at: String,
    /// The first failed tests of the build (failure alerts; else empty).
    pub failed_tests: Vec<String>,
    /// Failed tests beyond those listed ("and N more"); 0 when none.
    pub failed_tests_more: i64,
    /// `#RRGGBB`: red for failures, green for recoveries, amber otherwise.
    pub color: String,
    /// The whole [`AlertDetails`] (for JSON templates).
    pub details: AlertDetails,
}

impl TemplateContext {
    pub fn new(alert_id: i64, rule_id: &str, created_at: i64, details: &AlertDetails) -> TemplateContext {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let color = match details.kind.as_str() {
            "recovered" => "#2EB67D",
            "build_failed" | "started_failing" | "failure_rate" => "#E01E5A",
            _ => "#ECB22E",
        };
        TemplateContext {
            alert_id,
            rule_id: rule_id.into(),
            kind: details.kind.clone(),
            title: details.title.clone(),
            reason: text(&details.reason),
            message: text(&details.message),
            repo: text(&details.repo),
            workflow: text(&details.workflow),
            branch: text(&details.branch),
            event: text(&details.event),
            commit_sha: text(&details.commit_sha),
            short_sha: details.commit_sha.as_deref().map(|s| s.chars().take(7).collect()).unwrap_or_default(),
            actor: text(&details.triggered_by),
            // Only web links: a forged payload must not smuggle `javascript:`.
            url: details
                .url
                .clone()
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .unwrap_or_default(),
            status: text(&details.status),
            conclusion: text(&details.conclusion),
            run_number: details.run_number,
            run_attempt: details.run_attempt,
            duration_seconds: details.duration_seconds,
            duration_text: details.duration_seconds.map_or_else(|| "–".into(), duration_text),
            started_at: text(&details.started_at),
            finished_at: text(&details.finished_at),
            failed_job: text(&details.failed_job),
            failed_step: text(&details.failed_step),
            error_line: text(&details.error_line),
            failure_class: text(&details.failure_class),
            signature_history: text(&details.signature_history),
            created_at: from_unix(created_at).map_or_else(|| format_timestamp(Utc::now()), format_timestamp),
            failed_tests: details.failed_tests.clone(),
            failed_tests_more: (details.failed_tests_total - details.failed_tests.len() as i64).max(0),
            color: color.into(),
            details: details.clone(),
        }
    }
}

/// `1h 02m 03s`, `4m 12s` or `9s`.
pub fn duration_text(seconds: i64) -> String {
    let s = seconds.max(0);
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m {sec:02}s"),
        (h, min, sec) => format!("{h}h {min:02}m {sec:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(9), "9s");
        assert_eq!(duration_text(252), "4m 12s");
        assert_eq!(duration_text(3723), "1h 02m 03s");
    }
}
