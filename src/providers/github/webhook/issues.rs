//! GitHub's `issues` webhook as incidents (for time to restore and the
//! change failure rate): an issue carrying the configured label
//! (`--incident-label`, default `incident`) is a production incident of
//! its repository, identified by the issue's id (`github-issue:<id>`), so
//! repeats and any order converge through `domain::deployment::merge_incident`
//! (earliest opening, latest resolution), in the same store as
//! `POST /api/incidents`.
//!
//! - `opened`, `labeled`, `reopened`, `edited`, … with the label: open at the
//!   issue's `created_at` (resolved at `closed_at` when it is closed);
//! - `closed` with the label: resolved at `closed_at`;
//! - `unlabeled` (the label removed): resolved at `closed_at`, else at the
//!   issue's `updated_at` (the moment it stopped being an incident).
//!
//! Without the label (and not its removal) the delivery is only recorded.
//! A reopened issue stays resolved at its latest resolution (incidents
//! keep their latest `resolved_at`).
//!
//! Payload shape: <https://docs.github.com/en/webhooks/webhook-events-and-payloads#issues>.

use serde::Deserialize;

use super::payload::Repository;
use crate::domain::Change;
use crate::domain::deployment::Incident;
use crate::domain::time::parse_timestamp;
use crate::providers::{Parsed, PayloadError};

/// The label `--incident-label` defaults to.
pub const DEFAULT_INCIDENT_LABEL: &str = "incident";

#[derive(Debug, Deserialize)]
pub(super) struct IssuesEvent {
    action: Option<String>,
    issue: Option<Issue>,
    /// The label added or removed (`labeled` / `unlabeled`).
    label: Option<Label>,
    repository: Option<Repository>,
}

#[derive(Debug, Deserialize)]
struct Issue {
    id: Option<u64>,
    title: Option<String>,
    html_url: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    closed_at: Option<String>,
    #[serde(default)]
    labels: Vec<Label>,
}

#[derive(Debug, Deserialize)]
struct Label {
    name: Option<String>,
}

fn missing(what: &str) -> PayloadError {
    PayloadError(format!("the payload has no {what}"))
}

fn time(field: &str, text: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, PayloadError> {
    text.filter(|t| !t.is_empty())
        .map(|t| parse_timestamp(t).map_err(|err| PayloadError(format!("{field} is not a timestamp: {err}"))))
        .transpose()
}

fn is(label: &Option<Label>, wanted: &str) -> bool {
    label.as_ref().and_then(|l| l.name.as_deref()).is_some_and(|name| name.eq_ignore_ascii_case(wanted))
}

/// An `issues` delivery: an incident change when the issue carries
/// `label` (or it was just removed), else only recorded.
///
/// Errors (for an incident only): no issue id, repository or
/// `created_at`; a timestamp that is not RFC 3339.
pub(super) fn from_issues_event(event: IssuesEvent, label: &str) -> Result<Parsed, PayloadError> {
    let Some(issue) = event.issue else {
        return Ok(Parsed::Ignored { action: event.action });
    };
    let removed = event.action.as_deref() == Some("unlabeled") && is(&event.label, label);
    let carries =
        issue.labels.iter().any(|l| l.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(label)))
            || (event.action.as_deref() == Some("labeled") && is(&event.label, label));
    if !removed && !carries {
        return Ok(Parsed::Ignored { action: event.action });
    }
    let id = issue.id.ok_or_else(|| missing("issue.id"))?;
    let repo = event
        .repository
        .and_then(|r| r.full_name.filter(|n| !n.trim().is_empty()))
        .ok_or_else(|| missing("repository.full_name"))?;
    let opened_at =
        time("issue.created_at", issue.created_at.as_deref())?.ok_or_else(|| missing("issue.created_at"))?;
    let closed_at = time("issue.closed_at", issue.closed_at.as_deref())?;
    let resolved_at = if removed {
        Some(closed_at.or(time("issue.updated_at", issue.updated_at.as_deref())?).unwrap_or(opened_at))
    } else {
        closed_at
    };
    let incident = Incident {
        incident_id: format!("github-issue:{id}"),
        repo: Some(repo),
        environment: None,
        title: issue.title.filter(|t| !t.trim().is_empty()),
        url: issue.html_url.filter(|u| !u.trim().is_empty()),
        opened_at,
        resolved_at: resolved_at.map(|at| at.max(opened_at)),
        resolved_now: false,
    };
    let change = Change::Incident(incident);
    change.check_text()?;
    Ok(Parsed::Change { action: event.action, change })
}
