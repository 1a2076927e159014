//! The aggregate read behind `/api/metrics/summary`: one range scan over the
//! window (a covering index on `sort_at`) whose rows are folded here into
//! raw counts and durations. The arithmetic (rates, averages, percentiles)
//! lives in `crate::metrics`, where it is defined and unit-tested.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Store, StoreError};
use crate::domain::BuildStatus;
use crate::domain::time::from_unix;

/// Per-repository aggregates over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoAggregate {
    pub repo: String,
    pub total: i64,
    pub success: i64,
    pub failed: i64,
    /// Sum and count of `duration_seconds` of completed success/failed attempts.
    pub duration_sum: i64,
    pub duration_count: i64,
    /// Normalised status of the repository's latest attempt.
    pub last_status: Option<BuildStatus>,
}

/// Everything the summary is computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryInputs {
    /// Attempts in the window by normalised status.
    pub by_status: HashMap<BuildStatus, i64>,
    /// Attempts in the window whose provider status is `completed`.
    pub completed: i64,
    /// `duration_seconds` of completed success/failed attempts in the window.
    pub durations: Vec<i64>,
    /// Status of the attempt with the latest start, over all time.
    pub last_status: Option<BuildStatus>,
    /// When any attempt was last written.
    pub last_updated: Option<DateTime<Utc>>,
    /// Repositories in the window, by name.
    pub by_repo: Vec<RepoAggregate>,
}

/// One row of the window, in `(sort_at, id)` order.
#[derive(Debug, Clone)]
pub struct WindowRow {
    pub repo: String,
    pub status: BuildStatus,
    pub completed: bool,
    pub duration_seconds: Option<i64>,
}

const WINDOW: &str = "SELECT sort_at, id, status, provider_status, duration_seconds, repo \
     FROM builds WHERE sort_at >= $1 ORDER BY sort_at, id";

const LAST: &str = "SELECT status, (SELECT MAX(changed_at) FROM builds) AS changed \
     FROM builds ORDER BY sort_at DESC, id DESC LIMIT 1";

fn status(text: &str) -> BuildStatus {
    BuildStatus::parse(text).unwrap_or(BuildStatus::Unknown)
}

/// Folds window rows (oldest start first) into summary inputs. The last row
/// of a repository is its latest attempt.
pub fn fold_window(rows: impl IntoIterator<Item = WindowRow>) -> SummaryInputs {
    let mut inputs = SummaryInputs::default();
    let mut repos: BTreeMap<String, RepoAggregate> = BTreeMap::new();
    for row in rows {
        *inputs.by_status.entry(row.status).or_default() += 1;
        inputs.completed += i64::from(row.completed);
        let timed = matches!(row.status, BuildStatus::Success | BuildStatus::Failed);
        let duration = row.duration_seconds.filter(|_| timed);
        if let Some(d) = duration {
            inputs.durations.push(d);
        }
        let repo = repos
            .entry(row.repo)
            .or_insert_with_key(|name| RepoAggregate {
                repo: name.clone(),
                total: 0,
                success: 0,
                failed: 0,
                duration_sum: 0,
                duration_count: 0,
                last_status: None,
            });
        repo.total += 1;
        repo.success += i64::from(row.status == BuildStatus::Success);
        repo.failed += i64::from(row.status == BuildStatus::Failed);
        if let Some(d) = duration {
            repo.duration_sum += d;
            repo.duration_count += 1;
        }
        repo.last_status = Some(row.status);
    }
    inputs.by_repo = repos.into_values().collect();
    inputs
}

impl Store {
    /// Raw inputs of the summary for attempts whose start (this attempt's
    /// `run_started_at`, else `created_at`) is at or after `since`.
    pub async fn summary_inputs(&self, since: DateTime<Utc>) -> Result<SummaryInputs, StoreError> {
        let rows = sqlx::query(WINDOW)
            .bind(since.timestamp())
            .fetch_all(&self.read)
            .await?;
        let window = rows
            .iter()
            .map(|row| {
                Ok(WindowRow {
                    status: status(row.try_get::<&str, _>("status")?),
                    completed: row.try_get::<&str, _>("provider_status")? == "completed",
                    duration_seconds: row.try_get("duration_seconds")?,
                    repo: row.try_get("repo")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let mut inputs = fold_window(window);
        if let Some(row) = sqlx::query(LAST).fetch_optional(&self.read).await? {
            inputs.last_status = Some(status(row.try_get::<&str, _>("status")?));
            inputs.last_updated = row
                .try_get::<Option<i64>, _>("changed")?
                .and_then(from_unix);
        }
        Ok(inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(repo: &str, status: BuildStatus, duration: Option<i64>) -> WindowRow {
        WindowRow {
            repo: repo.into(),
            status,
            completed: !matches!(status, BuildStatus::Running | BuildStatus::Queued),
            duration_seconds: duration,
        }
    }

    #[test]
    fn folds_counts_durations_and_latest_status_per_repo() {
        let inputs = fold_window([
            row("b", BuildStatus::Failed, Some(100)),
            row("a", BuildStatus::Success, Some(10)),
            row("a", BuildStatus::Cancelled, Some(999)),
            row("b", BuildStatus::Success, Some(50)),
            row("a", BuildStatus::Running, None),
        ]);
        assert_eq!(inputs.by_status[&BuildStatus::Success], 2);
        assert_eq!(inputs.completed, 4);
        // the cancelled attempt's duration is not a build time
        assert_eq!(inputs.durations, vec![100, 10, 50]);
        assert_eq!(inputs.by_repo.len(), 2);
        let (a, b) = (&inputs.by_repo[0], &inputs.by_repo[1]);
        assert_eq!(
            (a.repo.as_str(), a.total, a.success, a.failed),
            ("a", 3, 1, 0)
        );
        assert_eq!(a.last_status, Some(BuildStatus::Running));
        assert_eq!((a.duration_sum, a.duration_count), (10, 1));
        assert_eq!(
            (b.total, b.success, b.failed, b.duration_sum),
            (2, 1, 1, 150)
        );
        assert_eq!(b.last_status, Some(BuildStatus::Success));
    }
}
