//! Where the minutes go (`GET /api/insights/minutes`): runner minutes,
//! billable minutes and cost per repository, workflow, job or label set.
//! Pure arithmetic over [`JobSpan`]s; no I/O.
//!
//! Definitions (also in the README's *Where the minutes go* table):
//! - **jobs counted**: completed jobs that started in the window (the
//!   `window_days` UTC days ending with today), skipped jobs excluded.
//! - **runner minutes** of a job: its run time (`completed_at −
//!   started_at`, clamped to 0) rounded **up** to whole minutes, as GitHub
//!   bills each job ("rounds the minutes and partial minutes each job uses
//!   up to the nearest whole minute"); a 0-second job is 0 minutes.
//! - **billable minutes**: runner minutes × the minute multiplier of the
//!   runner's operating system for provider-hosted runners, from GitHub's
//!   documented table (Linux 1, Windows 2, macOS 10:
//!   <https://docs.github.com/en/billing/concepts/product-billing/github-actions#minute-multipliers>);
//!   self-hosted runners (a `self-hosted` label) bill 0. The OS is read
//!   from the labels: one starting `windows` → Windows, `macos` → macOS,
//!   anything else (`ubuntu-*`, `linux`, larger runners' own names) →
//!   Linux (multiplier 1).
//! - **cost**: runner minutes × the price per minute of the first
//!   `--runner-cost` rule (`GLOB=PRICE`, in the order given) whose glob
//!   matches one of the job's labels (lowercased); a job no rule matches
//!   costs nothing and its minutes are `unpriced_minutes`. Prices are per
//!   runner minute of that runner (as GitHub lists its per-minute rates per
//!   runner type), so multipliers are not applied again.

use std::collections::BTreeMap;

use globset::{Glob, GlobBuilder, GlobMatcher};
use serde::Serialize;

use super::runners::{JobSpan, is_self_hosted};
use crate::domain::{BuildStatus, JobName};

/// What rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Repo,
    Workflow,
    /// Repository, workflow and job key name (`crate::domain::JobName`:
    /// matrix values removed, so `test (ubuntu, 3.11)` and `test (macos,
    /// 3.12)` are one row, `test`).
    Job,
    Label,
}

impl GroupBy {
    /// Parses `repo`, `workflow`, `job` or `label`.
    pub fn parse(text: &str) -> Option<GroupBy> {
        match text {
            "repo" => Some(GroupBy::Repo),
            "workflow" => Some(GroupBy::Workflow),
            "job" => Some(GroupBy::Job),
            "label" => Some(GroupBy::Label),
            _ => None,
        }
    }
}

/// `--runner-cost`: label globs and their price per runner minute.
#[derive(Debug, Clone, Default)]
pub struct RunnerCost {
    rules: Vec<(String, GlobMatcher, f64)>,
}

impl RunnerCost {
    /// Parses `GLOB=PRICE,GLOB=PRICE` (e.g. `ubuntu-*=0.008,self-hosted=0`).
    /// Globs match whole labels, case-insensitively; prices are finite and
    /// not negative. Errors name the bad part.
    pub fn parse(text: &str) -> Result<RunnerCost, String> {
        let mut rules = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (glob, price) = part
                .rsplit_once('=')
                .ok_or_else(|| format!("runner cost {part:?} must be GLOB=PRICE, e.g. ubuntu-*=0.008"))?;
            let price: f64 = price
                .trim()
                .parse()
                .ok()
                .filter(|p: &f64| p.is_finite() && *p >= 0.0)
                .ok_or_else(|| format!("runner cost {part:?}: the price must be a number ≥ 0"))?;
            let glob = glob.trim().to_ascii_lowercase();
            let matcher = GlobBuilder::new(&glob)
                .literal_separator(false)
                .build()
                .map(|g: Glob| g.compile_matcher())
                .map_err(|e| format!("runner cost {part:?}: {e}"))?;
            rules.push((glob, matcher, price));
        }
        Ok(RunnerCost { rules })
    }

    /// Whether any rule is set.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The price per minute of the first rule matching one of `labels`.
    pub fn price(&self, labels: &[String]) -> Option<f64> {
        self.rules
            .iter()
            .find(|(_, matcher, _)| labels.iter().any(|l| matcher.is_match(l)))
            .map(|(_, _, price)| *price)
    }
}

/// The minute multiplier of a label set (see the module doc).
pub fn multiplier(label_set: &[String]) -> u64 {
    if is_self_hosted(label_set) {
        0
    } else if label_set.iter().any(|l| l.starts_with("macos")) {
        10
    } else if label_set.iter().any(|l| l.starts_with("windows")) {
        2
    } else {
        1
    }
}

/// One group's minutes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MinutesRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Grouped by workflow or job: the workflow, `null` for jobs without
    /// one (absent under the other groupings).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub workflow: Option<Option<String>>,
    /// Grouped by job: the job key name, `null` for jobs without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub job: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    pub jobs: u64,
    pub runner_minutes: u64,
    pub billable_minutes: u64,
    /// Runner minutes no `--runner-cost` rule prices.
    pub unpriced_minutes: u64,
    /// In the `--runner-cost` currency, rounded to 0.0001.
    pub cost: f64,
}

impl MinutesRow {
    fn add(&mut self, jobs: u64, runner: u64, billable: u64, price: Option<f64>) {
        self.jobs += jobs;
        self.runner_minutes += runner;
        self.billable_minutes += billable;
        match price {
            Some(price) => self.cost += runner as f64 * price,
            None => self.unpriced_minutes += runner,
        }
    }
}

/// The finest grouping of the minutes: repository, workflow, job key name
/// and label set. Any [`GroupBy`] is a sum of cells.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct MinuteKey {
    pub repo: String,
    pub workflow: Option<String>,
    pub job: Option<String>,
    pub labels: Vec<String>,
}

/// One cell's completed jobs and runner minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteCell {
    pub jobs: u64,
    pub runner_minutes: u64,
}

/// The cells of the jobs counted (completed, not skipped) that started in
/// `[from, now)`.
pub fn minute_cells(spans: &[JobSpan], from: i64, now: i64) -> BTreeMap<MinuteKey, MinuteCell> {
    let mut cells: BTreeMap<MinuteKey, MinuteCell> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.status != BuildStatus::Skipped) {
        let (Some(started), Some(seconds)) = (span.started_at, span.duration_seconds()) else { continue };
        if started < from || started >= now {
            continue;
        }
        let key = MinuteKey {
            repo: span.repo.clone(),
            workflow: span.workflow.clone(),
            job: JobName::parse(span.name.as_deref()).map(|name| name.key),
            labels: span.label_set(),
        };
        let cell = cells.entry(key).or_default();
        cell.jobs += 1;
        cell.runner_minutes += u64::try_from(seconds).unwrap_or(0).div_ceil(60);
    }
    cells
}

/// Minutes per group of the jobs that started in `[from, now)`, sorted by
/// cost, billable minutes, runner minutes (descending), then group; and the
/// totals.
pub fn minutes(
    spans: &[JobSpan],
    from: i64,
    now: i64,
    group_by: GroupBy,
    cost: &RunnerCost,
) -> (Vec<MinutesRow>, MinutesRow) {
    minutes_from_cells(minute_cells(spans, from, now), group_by, cost)
}

/// [`minutes`] from cells (a cell's cost is its runner minutes × its label
/// set's price; cells in key order, so a scan and the roll-ups add up the
/// same).
pub fn minutes_from_cells(
    cells: BTreeMap<MinuteKey, MinuteCell>,
    group_by: GroupBy,
    cost: &RunnerCost,
) -> (Vec<MinutesRow>, MinutesRow) {
    type Key = (Option<String>, Option<Option<String>>, Option<Option<String>>, Option<Vec<String>>);
    let mut groups: BTreeMap<Key, MinutesRow> = BTreeMap::new();
    let mut total = MinutesRow::default();
    for (cell_key, cell) in cells {
        let runner = cell.runner_minutes;
        let billable = runner * multiplier(&cell_key.labels);
        let price = cost.price(&cell_key.labels);
        let key: Key = match group_by {
            GroupBy::Repo => (Some(cell_key.repo), None, None, None),
            GroupBy::Workflow => (Some(cell_key.repo), Some(cell_key.workflow), None, None),
            GroupBy::Job => (Some(cell_key.repo), Some(cell_key.workflow), Some(cell_key.job), None),
            GroupBy::Label => (None, None, None, Some(cell_key.labels)),
        };
        let row = groups.entry(key.clone()).or_insert_with(|| MinutesRow {
            repo: key.0,
            workflow: key.1,
            job: key.2,
            labels: key.3,
            ..MinutesRow::default()
        });
        row.add(cell.jobs, runner, billable, price);
        total.add(cell.jobs, runner, billable, price);
    }
    let round4 = |v: f64| (v * 10_000.0).round() / 10_000.0;
    let mut rows: Vec<MinutesRow> =
        groups.into_values().map(|r| MinutesRow { cost: round4(r.cost), ..r }).collect();
    total.cost = round4(total.cost);
    rows.sort_by(|a, b| {
        b.cost
            .total_cmp(&a.cost)
            .then(b.billable_minutes.cmp(&a.billable_minutes))
            .then(b.runner_minutes.cmp(&a.runner_minutes))
    });
    (rows, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(list: &[&str]) -> Vec<String> {
        list.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn cost_rules_first_match_wins_and_bad_rules_are_refused() {
        let cost = RunnerCost::parse("Ubuntu-*=0.008, self-hosted=0 ,linux=0.5").expect("rules");
        assert_eq!(cost.price(&labels(&["ubuntu-22.04"])), Some(0.008));
        // Both `self-hosted` and `linux` match; the earlier rule wins.
        assert_eq!(cost.price(&labels(&["linux", "self-hosted"])), Some(0.0));
        assert_eq!(cost.price(&labels(&["linux"])), Some(0.5));
        assert_eq!(cost.price(&labels(&["macos-14"])), None);
        assert!(RunnerCost::parse("").expect("empty").is_empty());
        for bad in ["ubuntu-*", "ubuntu-*=cheap", "ubuntu-*=-1", "x=NaN", "[=1"] {
            assert!(RunnerCost::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn multipliers_follow_the_runner_os_and_self_hosted_bills_nothing() {
        assert_eq!(multiplier(&labels(&["ubuntu-latest"])), 1);
        assert_eq!(multiplier(&labels(&["windows-2022"])), 2);
        assert_eq!(multiplier(&labels(&["macos-14-arm64"])), 10);
        assert_eq!(multiplier(&labels(&["my-larger-runner"])), 1);
        assert_eq!(multiplier(&labels(&["macos", "self-hosted"])), 0);
    }
}
