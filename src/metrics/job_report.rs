//! The answers of `/api/insights/jobs` and `/api/insights/jobs/{key}`,
//! assembled from the tallies of the window and of the previous one
//! (definitions in `super::jobs`). Pure.

use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, btree_map};

use serde::Serialize;

use super::jobs::{JobChange, JobFigures, JobTally, JobWindow, StepFigures, StepTally, slowest_step};

/// A job key as answered.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobKeyJson {
    /// The key's id: `/api/insights/jobs/{key}`.
    pub key: i64,
    /// Provider kind (e.g. `github`).
    pub provider_kind: Option<String>,
    pub repo: String,
    /// The jobs' workflow; null when unknown.
    pub workflow: Option<String>,
    /// The job name without matrix values.
    pub name: String,
}

/// One line of `/api/insights/jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobInsight {
    #[serde(flatten)]
    pub key: JobKeyJson,
    #[serde(flatten)]
    pub figures: JobFigures,
    /// The step with the highest p50 duration; null without step durations.
    pub slowest_step: Option<StepFigures>,
    /// The same figures for the window of the same length just before.
    pub previous: JobFigures,
    pub change: JobChange,
}

/// Tallies per key (summing days and matrix variants) and step tallies per key.
fn by_key(window: JobWindow) -> (HashMap<i64, JobTally>, HashMap<i64, BTreeMap<String, StepTally>>) {
    // A key's first tally is moved, later ones merged.
    let mut jobs: HashMap<i64, JobTally> = HashMap::with_capacity(window.jobs.len());
    for (cell, tally) in window.jobs {
        match jobs.entry(cell.key_id) {
            Entry::Occupied(mut sum) => sum.get_mut().merge(&tally),
            Entry::Vacant(slot) => {
                slot.insert(tally);
            }
        }
    }
    let mut steps: HashMap<i64, BTreeMap<String, StepTally>> = HashMap::new();
    for ((key, name), tally) in window.steps {
        match steps.entry(key).or_default().entry(name) {
            btree_map::Entry::Occupied(mut sum) => sum.get_mut().merge(&tally),
            btree_map::Entry::Vacant(slot) => {
                slot.insert(tally);
            }
        }
    }
    (jobs, steps)
}

/// One line per key with jobs in `current` (and known in `keys`).
pub fn insights(keys: &HashMap<i64, JobKeyJson>, current: JobWindow, previous: JobWindow) -> Vec<JobInsight> {
    let (now, steps) = by_key(current);
    let (before, _) = by_key(previous);
    let empty = JobTally::default();
    now.iter()
        .filter(|(_, tally)| tally.runs > 0)
        .filter_map(|(id, tally)| {
            let figures = tally.figures();
            let previous = before.get(id).unwrap_or(&empty).figures();
            Some(JobInsight {
                key: keys.get(id)?.clone(),
                change: figures.change_from(&previous),
                slowest_step: steps.get(id).and_then(slowest_step),
                figures,
                previous,
            })
        })
        .collect()
}

/// What `/api/insights/jobs` can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Name,
    Runs,
    FailureRate,
    P50Duration,
    P95Duration,
    P50Queue,
    P95Queue,
    RunnerSeconds,
    ChangeRuns,
    ChangeFailureRate,
    ChangeP50Duration,
    SlowestStep,
}

impl SortBy {
    /// Every sort key by its query value.
    pub const ALL: [(&'static str, SortBy); 12] = [
        ("name", SortBy::Name),
        ("runs", SortBy::Runs),
        ("failure_rate", SortBy::FailureRate),
        ("p50_duration", SortBy::P50Duration),
        ("p95_duration", SortBy::P95Duration),
        ("p50_queue", SortBy::P50Queue),
        ("p95_queue", SortBy::P95Queue),
        ("runner_seconds", SortBy::RunnerSeconds),
        ("change_runs", SortBy::ChangeRuns),
        ("change_failure_rate", SortBy::ChangeFailureRate),
        ("change_p50_duration", SortBy::ChangeP50Duration),
        ("slowest_step", SortBy::SlowestStep),
    ];

    pub fn parse(text: &str) -> Option<SortBy> {
        SortBy::ALL.iter().find(|(name, _)| *name == text).map(|&(_, by)| by)
    }

    fn value(self, row: &JobInsight) -> Option<f64> {
        let f = &row.figures;
        match self {
            SortBy::Name => None,
            SortBy::Runs => Some(f.runs as f64),
            SortBy::FailureRate => f.failure_rate,
            SortBy::P50Duration => f.p50_duration_seconds,
            SortBy::P95Duration => f.p95_duration_seconds,
            SortBy::P50Queue => f.p50_queue_seconds,
            SortBy::P95Queue => f.p95_queue_seconds,
            SortBy::RunnerSeconds => Some(f.runner_seconds as f64),
            SortBy::ChangeRuns => Some(row.change.runs as f64),
            SortBy::ChangeFailureRate => row.change.failure_rate,
            SortBy::ChangeP50Duration => row.change.p50_duration_seconds,
            SortBy::SlowestStep => row.slowest_step.as_ref().and_then(|s| s.p50_duration_seconds),
        }
    }
}

/// Sorts by `by` (nulls last in either order), ties by repository,
/// workflow, name, key.
pub fn sort(rows: &mut [JobInsight], by: SortBy, descending: bool) {
    let names = |a: &JobInsight, b: &JobInsight| {
        (&a.key.repo, &a.key.workflow, &a.key.name, a.key.key).cmp(&(
            &b.key.repo,
            &b.key.workflow,
            &b.key.name,
            b.key.key,
        ))
    };
    rows.sort_by(|a, b| {
        let primary = match (by.value(a), by.value(b)) {
            _ if by == SortBy::Name => {
                let o = (&a.key.name, &a.key.repo).cmp(&(&b.key.name, &b.key.repo));
                if descending { o.reverse() } else { o }
            }
            (Some(x), Some(y)) => {
                let o = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
                if descending { o.reverse() } else { o }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        primary.then_with(|| names(a, b))
    });
}

/// One matrix variant of a key.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MatrixVariant {
    /// The matrix values cut from the job name; null for jobs without.
    pub values: Option<String>,
    #[serde(flatten)]
    pub figures: JobFigures,
}

/// One UTC day of a key's series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    #[serde(flatten)]
    pub figures: JobFigures,
}

/// `/api/insights/jobs/{key}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobDetail {
    #[serde(flatten)]
    pub insight: JobInsight,
    /// Per step name, in step order (lowest number first).
    pub steps: Vec<StepFigures>,
    /// Per matrix variant, most runs first.
    pub matrix: Vec<MatrixVariant>,
    /// Every UTC day of the window, oldest first (the first and last
    /// partly outside it hold only the part inside).
    pub daily: Vec<JobDay>,
}

/// The detail of `key` (its windows read grouped by day and matrix) over
/// the UTC days `first_day..=last_day`.
pub fn detail(
    key: &JobKeyJson,
    current: &JobWindow,
    previous: &JobWindow,
    first_day: i64,
    last_day: i64,
) -> JobDetail {
    let keys = HashMap::from([(key.key, key.clone())]);
    let insight = insights(&keys, current.clone(), previous.clone()).pop().unwrap_or_else(|| {
        let empty = JobTally::default().figures();
        let before = by_key(previous.clone()).0.remove(&key.key).unwrap_or_default().figures();
        JobInsight {
            key: key.clone(),
            change: empty.change_from(&before),
            figures: empty,
            slowest_step: None,
            previous: before,
        }
    });
    let mut variants: BTreeMap<String, JobTally> = BTreeMap::new();
    let mut days: BTreeMap<i64, JobTally> =
        (first_day..=last_day).map(|d| (d, JobTally::default())).collect();
    for (cell, tally) in current.jobs.iter().filter(|(c, _)| c.key_id == key.key) {
        variants.entry(cell.matrix.clone()).or_default().merge(tally);
        days.entry(cell.day).or_default().merge(tally);
    }
    let mut steps: Vec<StepFigures> = current
        .steps
        .iter()
        .filter(|((k, _), _)| *k == key.key)
        .map(|((_, name), t)| t.figures(name))
        .collect();
    steps.sort_by(|a, b| (a.number, &a.name).cmp(&(b.number, &b.name)));
    let mut matrix: Vec<MatrixVariant> = variants
        .into_iter()
        .filter(|(_, t)| t.runs > 0)
        .map(|(values, t)| MatrixVariant {
            values: (!values.is_empty()).then_some(values),
            figures: t.figures(),
        })
        .collect();
    matrix.sort_by(|a, b| b.figures.runs.cmp(&a.figures.runs).then_with(|| a.values.cmp(&b.values)));
    let daily = days
        .into_iter()
        .map(|(day, t)| JobDay {
            day: chrono::DateTime::from_timestamp(day * 86_400, 0)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            figures: t.figures(),
        })
        .collect();
    JobDetail { insight, steps, matrix, daily }
}
