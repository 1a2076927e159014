//! `/api/metrics/health`: one line per repository and workflow.
//!
//! Definitions (also in the README, "Metrics"), over the attempts started in
//! the window (as the summary's window):
//! - **total_builds**, **success_count**, **failure_count** per
//!   (repository, workflow, provider): a repository name on two providers
//!   (e.g. `grp/app` on GitHub and on GitLab) makes two lines, each naming
//!   its `provider_kind` and `provider_name`; a run with no workflow name is
//!   grouped under `null`.
//! - **success_rate** = success ÷ (success + failed), `null` when both are 0.
//! - **latest**: the attempt with the latest start (ties: higher id) — its
//!   id, normalised status, start, branch and URL.
//! - **last_failure**: the latest-started attempt whose status is `failed`,
//!   or `null`.
//! - **recent**: the normalised statuses of the (up to) [`RECENT`] latest
//!   attempts in the window, oldest first — the trend sparkline.
//!
//! Pure: the store supplies [`HealthRow`]s in any order (the order of
//! attempts is their start, then id), and the URLs of the attempts the
//! lines refer to ([`HealthLine::referenced`], [`HealthLine::set_urls`]).

use std::collections::HashMap;

use serde::Serialize;

use super::ratio::ratio;
use crate::domain::time::{format_timestamp, from_unix};
use crate::domain::{BuildStatus, ProviderKind};

/// How many latest statuses `recent` holds.
pub const RECENT: usize = 10;

/// One attempt as the health table needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthRow {
    pub id: i64,
    pub provider: ProviderKind,
    pub repo: String,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub status: BuildStatus,
    /// Start, Unix seconds.
    pub start: i64,
}

impl HealthRow {
    /// Where the attempt stands in time: start, then id.
    fn order(&self) -> (i64, i64) {
        (self.start, self.id)
    }
}

/// A reference to one attempt: row id, status, start (RFC 3339 UTC),
/// branch, URL.
/// `started_at` is where windows place the attempt: the run's start, else
/// (an attempt known only from its jobs) its first job's start.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AttemptRef {
    pub id: i64,
    pub status: BuildStatus,
    pub started_at: Option<String>,
    pub branch: Option<String>,
    pub url: Option<String>,
}

/// One line of the health table.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HealthLine {
    pub repo: String,
    pub workflow: Option<String>,
    /// The provider's kind (`github`, `gitlab`, `jenkins`, …).
    pub provider_kind: &'static str,
    /// The provider's human name (`GitHub Actions`, `GitLab CI`, …).
    pub provider_name: &'static str,
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
        branch: row.branch.clone(),
        url: None,
    }
}

impl HealthLine {
    /// The ids of the attempts this line refers to (latest, last failure).
    pub fn referenced(&self) -> impl Iterator<Item = i64> + '_ {
        std::iter::once(self.latest.id).chain(self.last_failure.as_ref().map(|f| f.id))
    }

    /// Fills the referenced attempts' URLs from `urls` (by attempt id).
    pub fn set_urls(&mut self, urls: &HashMap<i64, String>) {
        for attempt in std::iter::once(&mut self.latest).chain(self.last_failure.as_mut()) {
            attempt.url = urls.get(&attempt.id).cloned();
        }
    }
}

/// A line while it is being tallied: the newest attempt's and newest
/// failure's order, and the (up to) [`RECENT`] newest attempts, newest first.
struct Tallying<'a> {
    line: HealthLine,
    latest: (i64, i64),
    last_failure: Option<(i64, i64)>,
    recent: Vec<&'a HealthRow>,
}

/// The health lines, by repository, workflow, then provider kind (URLs
/// not yet set).
pub fn health(rows: &[HealthRow]) -> Vec<HealthLine> {
    let mut lines: HashMap<(&str, Option<&str>, ProviderKind), Tallying<'_>> = HashMap::new();
    for row in rows {
        let key = (row.repo.as_str(), row.workflow.as_deref(), row.provider);
        let at = lines.entry(key).or_insert_with(|| Tallying {
            line: HealthLine {
                repo: row.repo.clone(),
                workflow: row.workflow.clone(),
                provider_kind: row.provider.kind(),
                provider_name: row.provider.display_name(),
                total_builds: 0,
                success_count: 0,
                failure_count: 0,
                success_rate: None,
                latest: reference(row),
                last_failure: None,
                recent: Vec::new(),
            },
            latest: row.order(),
            last_failure: None,
            recent: Vec::with_capacity(RECENT + 1),
        });
        at.line.total_builds += 1;
        if row.order() > at.latest {
            at.latest = row.order();
            at.line.latest = reference(row);
        }
        match row.status {
            BuildStatus::Success => at.line.success_count += 1,
            BuildStatus::Failed => {
                at.line.failure_count += 1;
                if at.last_failure.is_none_or(|seen| row.order() > seen) {
                    at.last_failure = Some(row.order());
                    at.line.last_failure = Some(reference(row));
                }
            }
            _ => {}
        }
        if at.recent.len() < RECENT || at.recent.last().is_some_and(|oldest| row.order() > oldest.order()) {
            let place = at.recent.partition_point(|kept| kept.order() > row.order());
            at.recent.insert(place, row);
            at.recent.truncate(RECENT);
        }
    }
    let mut lines: Vec<HealthLine> = lines
        .into_values()
        .map(|mut at| {
            at.line.recent = at.recent.iter().rev().map(|row| row.status).collect();
            at.line.success_rate =
                ratio(at.line.success_count, at.line.success_count + at.line.failure_count);
            at.line
        })
        .collect();
    lines.sort_by(|a, b| {
        (&a.repo, &a.workflow, a.provider_kind).cmp(&(&b.repo, &b.workflow, b.provider_kind))
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, repo: &str, workflow: &str, status: BuildStatus, start: i64) -> HealthRow {
        HealthRow {
            id,
            provider: ProviderKind::GitHub,
            repo: repo.into(),
            workflow: Some(workflow.into()),
            branch: None,
            status,
            start,
        }
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
        // The rows' order does not matter.
        let mut reversed = rows.to_vec();
        reversed.reverse();
        assert_eq!(health(&reversed), lines);
        let mut rotated = rows.to_vec();
        rotated.rotate_left(3);
        assert_eq!(health(&rotated), lines);
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

    /// `grp/app` is a repository on GitHub and on GitLab, with the same
    /// workflow name: two lines, by provider kind ("github" < "gitlab"),
    /// each counting its own attempts — by hand, GitHub 2 (1 failed, 1
    /// success, rate 0.5), GitLab 1 (success, rate 1).
    #[test]
    fn one_repository_name_on_two_providers_makes_two_lines() {
        use BuildStatus::*;
        let gitlab = |id, status, start| HealthRow {
            provider: ProviderKind::GitLab,
            ..row(id, "grp/app", "CI", status, start)
        };
        let rows = [
            row(1, "grp/app", "CI", Failed, 100),
            gitlab(2, Success, 150),
            row(3, "grp/app", "CI", Success, 200),
        ];
        let lines = health(&rows);
        let seen: Vec<(&str, &str, i64, Option<f64>)> = lines
            .iter()
            .map(|l| (l.provider_kind, l.provider_name, l.total_builds, l.success_rate))
            .collect();
        assert_eq!(seen, [("github", "GitHub Actions", 2, Some(0.5)), ("gitlab", "GitLab CI", 1, Some(1.0))]);
        assert_eq!((lines[0].latest.id, lines[1].latest.id), (3, 2));
    }

    #[test]
    fn recent_keeps_the_ten_newest_by_start_then_id() {
        use BuildStatus::*;
        // Twelve attempts of one line; ids 20 and 21 share start 100 (id 21
        // is newer). Newest ten by (start, id): starts 1000 down to 300,
        // then (100, 21); so (100, 20) and (50, 30) drop out.
        let mut rows = vec![row(30, "o/a", "CI", Failed, 50), row(20, "o/a", "CI", Failed, 100)];
        rows.push(row(21, "o/a", "CI", Cancelled, 100));
        for k in 3..=9 {
            rows.push(row(k, "o/a", "CI", if k % 2 == 0 { Success } else { Failed }, k * 100));
        }
        rows.push(row(1, "o/a", "CI", Running, 1000));
        rows.push(row(2, "o/a", "CI", Failed, 990));
        let lines = health(&rows);
        let ci = &lines[0];
        assert_eq!(ci.total_builds, 12);
        assert_eq!((ci.success_count, ci.failure_count), (3, 7));
        assert_eq!(ci.latest.id, 1);
        assert_eq!(ci.last_failure.as_ref().map(|f| f.id), Some(2));
        // Oldest first: (100, 21), 300 … 900, 990, 1000.
        assert_eq!(
            ci.recent,
            [Cancelled, Failed, Success, Failed, Success, Failed, Success, Failed, Failed, Running]
        );
        rows.reverse();
        assert_eq!(health(&rows), lines);
    }
}
