//! Mergeable aggregates of a set of run attempts: counts per repository and
//! status, and exact histograms of build times and queue times.
//!
//! A [`Tally`] of a window is the sum of tallies of its parts, so the store
//! can answer a window from daily roll-ups (whole UTC days) plus raw scans
//! of the edges (see `crate::store::rollups`) and still give the same
//! numbers as one scan of every attempt: counts and sums add up, and
//! because durations and queue times are whole seconds, a histogram
//! (seconds → attempts) holds every value, so type-7 percentiles from it are
//! exact ([`Histogram::percentile`]), not estimates.
//!
//! Definitions of the figures are those of `super::summary` and
//! `super::timeseries`; this module only adds and counts. No I/O.

use std::collections::{BTreeMap, HashMap};

use super::percentile::RankSpan;
use super::ratio::{ratio, round3};
use super::summary::{BuildTimePercentiles, RepoAggregate, SummaryInputs};
use super::timeseries::Figures;
use crate::domain::BuildStatus;

/// What the attempts of one repository with one normalised status add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusTally {
    /// Attempts.
    pub attempts: i64,
    /// Attempts whose provider status is `completed`.
    pub completed: i64,
    /// Attempts in the build-time population (success or failed, with a
    /// `duration_seconds`), and the sum of their durations in seconds.
    pub timed: i64,
    pub duration_sum: i64,
}

impl StatusTally {
    fn add(&mut self, other: &StatusTally) {
        self.attempts += other.attempts;
        self.completed += other.completed;
        self.timed += other.timed;
        self.duration_sum += other.duration_sum;
    }
}

/// Whole seconds → number of attempts with that value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram(BTreeMap<i64, i64>);

impl Histogram {
    /// Adds `attempts` attempts with value `seconds` (a negative number
    /// takes them away; a value whose count reaches 0 is dropped).
    pub fn add(&mut self, seconds: i64, attempts: i64) {
        if attempts == 0 {
            return;
        }
        let count = self.0.entry(seconds).or_default();
        *count += attempts;
        if *count == 0 {
            self.0.remove(&seconds);
        }
    }

    /// The histogram of `(seconds, count)` pairs in any order, as adding
    /// them one by one would give (sorted once, then built in bulk; the
    /// stable sort merges runs already in order, as packed roll-ups give).
    pub fn from_pairs(mut pairs: Vec<(i64, i64)>) -> Histogram {
        pairs.sort_by_key(|&(seconds, _)| seconds);
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(pairs.len());
        for (seconds, n) in pairs {
            match merged.last_mut() {
                Some(last) if last.0 == seconds => last.1 += n,
                _ => merged.push((seconds, n)),
            }
        }
        Histogram(merged.into_iter().filter(|&(_, n)| n != 0).collect())
    }

    /// Number of values.
    pub fn count(&self) -> i64 {
        self.0.values().sum()
    }

    /// The value at 0-based `rank` of the sorted values.
    fn at_rank(&self, rank: usize) -> Option<i64> {
        let mut seen = 0usize;
        for (&value, &n) in &self.0 {
            seen += usize::try_from(n).unwrap_or(0);
            if rank < seen {
                return Some(value);
            }
        }
        None
    }

    /// The type-7 `p`-quantile (see `super::percentile`) of the values, the
    /// same as sorting them all; `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let span = RankSpan::new(usize::try_from(self.count()).unwrap_or(0), p)?;
        Some(span.interpolate(self.at_rank(span.lower)? as f64, self.at_rank(span.upper)? as f64))
    }

    /// Every (seconds, count), ascending.
    pub fn iter(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.0.iter().map(|(&seconds, &n)| (seconds, n))
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (&seconds, &n) in &other.0 {
            self.add(seconds, n);
        }
    }
}

/// The aggregates of a set of run attempts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Per (repository, normalised status).
    pub by_repo_status: HashMap<(String, BuildStatus), StatusTally>,
    /// `duration_seconds` of the build-time population (completed success
    /// and failed attempts).
    pub durations: Histogram,
    /// `queue_seconds` of the attempts that have one (clamped to 0, as
    /// `RunAttempt::queue_seconds`), whatever their status.
    pub queues: Histogram,
}

impl Tally {
    /// Adds `counts` for `(repo, status)` (negative counts take away; an
    /// entry that reaches all zeros is dropped, so a repository with no
    /// attempts left is not listed).
    pub fn add_counts(&mut self, repo: String, status: BuildStatus, counts: StatusTally) {
        let key = (repo, status);
        let entry = self.by_repo_status.entry(key.clone()).or_default();
        entry.add(&counts);
        if *entry == StatusTally::default() {
            self.by_repo_status.remove(&key);
        }
    }

    /// Adds every aggregate of `other` to this one.
    pub fn merge(&mut self, other: &Tally) {
        for ((repo, status), counts) in &other.by_repo_status {
            self.add_counts(repo.clone(), *status, *counts);
        }
        self.durations.merge(&other.durations);
        self.queues.merge(&other.queues);
    }

    /// Attempts per normalised status, over every repository.
    pub fn by_status(&self) -> HashMap<BuildStatus, StatusTally> {
        let mut out: HashMap<BuildStatus, StatusTally> = HashMap::new();
        for ((_, status), counts) in &self.by_repo_status {
            out.entry(*status).or_default().add(counts);
        }
        out
    }

    /// p50 and p95 of the build-time population.
    pub fn build_time_percentiles(&self) -> BuildTimePercentiles {
        BuildTimePercentiles { p50: self.durations.percentile(0.50), p95: self.durations.percentile(0.95) }
    }

    /// The figures of `super::timeseries` (as `figures` computes them from
    /// one point per attempt).
    pub fn figures(&self) -> Figures {
        let by_status = self.by_status();
        let count = |s: BuildStatus| by_status.get(&s).map_or(0, |c| c.attempts);
        let total: i64 = by_status.values().map(|c| c.attempts).sum();
        let (success, failed, cancelled) =
            (count(BuildStatus::Success), count(BuildStatus::Failed), count(BuildStatus::Cancelled));
        Figures {
            total_builds: total,
            success_count: success,
            failure_count: failed,
            cancelled_count: cancelled,
            other_count: total - success - failed - cancelled,
            success_rate: ratio(success, success + failed),
            failure_rate: ratio(failed, success + failed),
            p50_build_time_seconds: self.durations.percentile(0.50).map(round3),
            p95_build_time_seconds: self.durations.percentile(0.95).map(round3),
            median_queue_seconds: self.queues.percentile(0.50).map(round3),
        }
    }

    /// The window part of the summary's inputs: counts per status, the
    /// build-time count and sum, per-repository aggregates (sorted by name;
    /// `last_status` left `None` for the caller) and the median queue time.
    pub fn summary_inputs(&self) -> SummaryInputs {
        let mut inputs = SummaryInputs::default();
        let mut repos: BTreeMap<&str, RepoAggregate> = BTreeMap::new();
        for ((repo, status), counts) in &self.by_repo_status {
            *inputs.by_status.entry(*status).or_default() += counts.attempts;
            inputs.completed += counts.completed;
            inputs.duration_count += counts.timed;
            inputs.duration_sum += counts.duration_sum;
            let line = repos.entry(repo).or_insert_with(|| RepoAggregate {
                repo: repo.clone(),
                total: 0,
                success: 0,
                failed: 0,
                duration_sum: 0,
                duration_count: 0,
                last_status: None,
            });
            line.total += counts.attempts;
            match status {
                BuildStatus::Success => line.success += counts.attempts,
                BuildStatus::Failed => line.failed += counts.attempts,
                _ => {}
            }
            line.duration_sum += counts.duration_sum;
            line.duration_count += counts.timed;
        }
        inputs.by_repo = repos.into_values().collect();
        inputs.median_queue_seconds = self.queues.percentile(0.50);
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::percentile::percentile;
    use crate::metrics::timeseries::{Point, figures};

    #[test]
    fn histogram_percentiles_equal_sorting_every_value() {
        // Worked by hand: [60, 60, 120, 600]; p50 h = 1.5 → 60 + 0.5·60 = 90;
        // p95 h = 2.85 → 120 + 0.85·480 = 528.
        let mut h = Histogram::default();
        h.add(600, 1);
        h.add(60, 2);
        h.add(120, 1);
        h.add(5, 0);
        h.add(7, 2);
        h.add(7, -2);
        assert_eq!(h.count(), 4);
        assert_eq!(h.percentile(0.5), Some(90.0));
        assert!((h.percentile(0.95).expect("p95") - 528.0).abs() < 1e-9);
        assert_eq!(Histogram::default().percentile(0.5), None);
        // Against the sorted-values definition on many repeated values.
        let values: Vec<i64> = (0..1000).map(|i| (i * 7919) % 613).collect();
        let mut h = Histogram::default();
        for &v in &values {
            h.add(v, 1);
        }
        let mut sorted: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        sorted.sort_by(f64::total_cmp);
        for p in [0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0] {
            assert_eq!(h.percentile(p), percentile(&sorted, p), "p = {p}");
        }
    }

    #[test]
    fn merged_parts_answer_like_the_whole() {
        let points = [
            (BuildStatus::Success, Some(100), Some(20)),
            (BuildStatus::Success, Some(50), None),
            (BuildStatus::Failed, Some(90), Some(5)),
            (BuildStatus::Cancelled, Some(30), Some(0)),
            (BuildStatus::Running, None, Some(7)),
            (BuildStatus::Skipped, Some(1), None),
        ]
        .map(|(status, duration_seconds, queue_seconds)| Point {
            start: 0,
            status,
            duration_seconds,
            queue_seconds,
        });
        let tally_of = |points: &[Point]| {
            let mut t = Tally::default();
            for p in points {
                let timed = matches!(p.status, BuildStatus::Success | BuildStatus::Failed)
                    && p.duration_seconds.is_some();
                let counts = StatusTally {
                    attempts: 1,
                    completed: 0,
                    timed: i64::from(timed),
                    duration_sum: if timed { p.duration_seconds.unwrap_or(0) } else { 0 },
                };
                t.add_counts("o/r".into(), p.status, counts);
                if timed {
                    t.durations.add(p.duration_seconds.unwrap_or(0), 1);
                }
                if let Some(q) = p.queue_seconds {
                    t.queues.add(q, 1);
                }
            }
            t
        };
        let mut merged = tally_of(&points[..2]);
        merged.merge(&tally_of(&points[2..]));
        assert_eq!(merged, tally_of(&points));
        // A whole minus a part is the rest, with nothing left at zero.
        let mut rest = tally_of(&points);
        let mut minus = tally_of(&points[..2]);
        for counts in minus.by_repo_status.values_mut() {
            *counts = StatusTally {
                attempts: -counts.attempts,
                completed: -counts.completed,
                timed: -counts.timed,
                duration_sum: -counts.duration_sum,
            };
        }
        minus.durations = Histogram(minus.durations.0.iter().map(|(&s, &n)| (s, -n)).collect());
        minus.queues = Histogram(minus.queues.0.iter().map(|(&s, &n)| (s, -n)).collect());
        rest.merge(&minus);
        assert_eq!(rest, tally_of(&points[2..]));
        assert_eq!(merged.figures(), figures(points.iter()));
        // By hand: success 2, failed 1 → rate 2/3; build times [50, 90, 100]
        // → p50 90; queues [0, 5, 7, 20] → median 6.
        let f = merged.figures();
        assert_eq!((f.total_builds, f.other_count), (6, 2));
        assert_eq!(f.p50_build_time_seconds, Some(90.0));
        assert_eq!(f.median_queue_seconds, Some(6.0));
        let inputs = merged.summary_inputs();
        assert_eq!(inputs.duration_count, 3);
        assert_eq!(inputs.duration_sum, 240);
        assert_eq!(inputs.by_repo[0].total, 6);
        assert_eq!((inputs.by_repo[0].success, inputs.by_repo[0].failed), (2, 1));
    }
}
