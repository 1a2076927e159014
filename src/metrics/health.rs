//! `/api/metrics/health`: one line per repository and workflow.
//!
//! Definitions (also in the README, "Metrics"), over the attempts started in
//! the window (as the summary's window):
//! - **total_builds**, **success_count**, **failure_count** per
//!   (repository, workflow); a run with no workflow name is grouped under
//!   `null`.
//! - **success_rate** = success ÷ (success + failed), `null` when both are 0.
//! - **latest**: the attempt with the latest start (ties: higher id) — its
//!   id, normalised status, start and URL.
//! - **last_failure**: the latest-started attempt whose status is `failed`,
//!   or `null`.
//! - **recent**: the normalised statuses of the (up to) [`RECENT`] latest
//!   attempts in the window, oldest first — the trend sparkline.
//!
//! Pure: the store supplies [`HealthRow`]s newest first.

use serde::Serialize;

use super::summary::ratio;
use crate::domain::BuildStatus;
use crate::domain::time::{format_timestamp, from_unix};

/// How many latest statuses `recent` holds.
pub const RECENT: usize = 10;

/// One attempt as the health table needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthRow {
    pub id: i64,
    pub repo: String,
    pub workflow: Option<String>,
    pub status: BuildStatus,
    /// Start, Unix seconds.
    pub start: i64,
    pub url: Option<String>,
}

/// A reference to one attempt: row id, status, start (RFC 3339 UTC), URL.
/// `started_at` is where windows place the attempt: the run's start, else
/// (an attempt known only from its jobs) its first job's start.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AttemptRef {
    pub id: i64,
    pub status: BuildStatus,
    pub started_at: Option<String>,
    pub url: Option<String>,
}

/// One line of the health table.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HealthLine {
    pub repo: String,
    pub workflow: Option<String>,
    pub total_builds: i64,
    pub success_count: i64,
    pub failure_count: i64,
    pub success_rate: Option<f64>,
    pub latest: AttemptRef,
    pub last_failure: Option<AttemptRef>,
    /// Statuses of the latest attempts, oldest first.
    pub recent: Vec<BuildStatus>,
}

fn reference(row: &HealthRow) -> AttemptRef {
    AttemptRef {
        id: row.id,
        status: row.status,
        started_at: from_unix(row.start).map(format_timestamp),
        url: row.url.clone(),
    }
}

/// The health lines, by repository then workflow. `rows` must be newest
/// first (start descending, then id descending).
pub fn health(rows: &[HealthRow]) -> Vec<HealthLine> {
    let mut lines: Vec<HealthLine> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for row in rows {
        let key = (row.repo.clone(), row.workflow.clone());
        let at = *index.entry(key).or_insert_with(|| {
            lines.push(HealthLine {
                repo: row.repo.clone(),
                workflow: row.workflow.clone(),
                total_builds: 0,
                success_count: 0,
                failure_count: 0,
                success_rate: None,
                latest: reference(row),
                last_failure: None,
                recent: Vec::new(),
            });
            lines.len() - 1
        });
        let line = &mut lines[at];
        line.total_builds += 1;
        if line.recent.len() < RECENT {
            line.recent.push(row.status);
        }
        match row.status {
            BuildStatus::Success => line.success_count += 1,
            BuildStatus::Failed => {
                line.failure_count += 1;
                if line.last_failure.is_none() {
                    line.last_failure = Some(reference(row));
                }
            }
            _ => {}
        }
    }
    for line in &mut lines {
        line.recent.reverse();
        line.success_rate = ratio(line.success_count, line.success_count + line.failure_count);
    }
    lines.sort_by(|a, b| (&a.repo, &a.workflow).cmp(&(&b.repo, &b.workflow)));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, repo: &str, workflow: &str, status: BuildStatus, start: i64) -> HealthRow {
        HealthRow { id, repo: repo.into(), workflow: Some(workflow.into()), status, start, url: None }
    }

    #[test]
    fn hand_worked_lines() {
        use BuildStatus::*;
        // Newest first. o/a CI: running (latest), failed, success, failed, success
        // → 2 success, 2 failed, rate 0.5, latest running (id 9), last failure id 8.
        // o/a Lint: one success. o/b CI: cancelled only → rate null.
        let rows = [
            row(9, "o/a", "CI", Running, 900),
            row(8, "o/a", "CI", Failed, 800),
            row(7, "o/b", "CI", Cancelled, 700),
            row(6, "o/a", "Lint", Success, 600),
            row(5, "o/a", "CI", Success, 500),
            row(4, "o/a", "CI", Failed, 400),
            row(3, "o/a", "CI", Success, 300),
        ];
        let lines = health(&rows);
        let names: Vec<(&str, Option<&str>)> =
            lines.iter().map(|l| (l.repo.as_str(), l.workflow.as_deref())).collect();
        assert_eq!(names, [("o/a", Some("CI")), ("o/a", Some("Lint")), ("o/b", Some("CI"))]);
        let ci = &lines[0];
        assert_eq!((ci.total_builds, ci.success_count, ci.failure_count), (5, 2, 2));
        assert_eq!(ci.success_rate, Some(0.5));
        assert_eq!((ci.latest.id, ci.latest.status), (9, Running));
        assert_eq!(ci.latest.started_at.as_deref(), Some("1970-01-01T00:15:00Z"));
        assert_eq!(ci.last_failure.as_ref().map(|f| f.id), Some(8));
        assert_eq!(ci.recent, [Success, Failed, Success, Failed, Running]);
        assert_eq!(lines[1].success_rate, Some(1.0));
        assert_eq!(lines[1].last_failure, None);
        assert_eq!(lines[2].success_rate, None);
    }
}
