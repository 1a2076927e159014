//! The hourly packed job roll-up (`rollup_job_hours`): per UTC hour
//! (`sort_at / 3600` of the jobs' run attempts), one row whose `jobs`
//! bytes hold, for every job key with jobs in that hour, exactly what a
//! raw scan of the hour tallies ([`crate::metrics::jobs::JobTally`] per
//! key and [`crate::metrics::jobs::StepTally`] per key and step name),
//! exact histograms included (whole seconds → jobs).
//!
//! Why packed: a job key has a handful of jobs per hour or day, so a
//! histogram row per (day, key, value) saves nothing over the jobs
//! themselves; one row per hour holding every key is read as a few large
//! values instead of one row per job, and merged in memory
//! ([`Accumulator`]). The job list (`super::list`) reads it; the daily
//! roll-ups (`super::fold`) still serve a key's detail.
//!
//! Layout (`codec`: its integers, version 2 written, version 1 still
//! read), in two values so a read without steps loads none of theirs:
//! `jobs` is the version byte, the count of cells, each the key id, runs,
//! conclusive, failed, runner seconds, then the durations and the queue
//! times, each a histogram (the count of its pairs, then each pair's
//! seconds and jobs); `steps` is the version byte, the count of steps, each
//! the key id, the name (length and UTF-8), number (`i64::MIN`: none),
//! runs, failed, and the durations as above. Rows written before version
//! 2 stay as they are until a fold rewrites them (a day's rows when the
//! day changes, a span when one of its days does); a window of recent days
//! reads the new layout within as many days. Bytes that do not follow the
//! layout are an `Invariant` error, never a panic.

mod codec;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::metrics::jobs::{JobCell, JobTally, JobWindow, StepTally};
use crate::metrics::tally::Histogram;
use crate::store::StoreError;
use codec::{Reader, Writer, bad};

/// The `jobs` and `steps` bytes of one hour's tallies (a [`JobWindow`]
/// grouped by key only).
pub(super) fn encode(window: &JobWindow) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let mut out = Writer::new(64 + window.jobs.len() * 48);
    out.len(window.jobs.len());
    // Sorted, so equal tallies give equal bytes (the fold compares them).
    let mut jobs: Vec<_> = window.jobs.iter().collect();
    jobs.sort_unstable_by_key(|(cell, _)| (cell.key_id, &cell.matrix));
    for (cell, tally) in jobs {
        for n in [cell.key_id, tally.runs, tally.conclusive, tally.failed, tally.runner_seconds] {
            out.int(n);
        }
        out.histogram(&tally.durations)?;
        out.histogram(&tally.queues)?;
    }
    let jobs = out.into_bytes();
    let mut out = Writer::new(64 + window.steps.len() * 32);
    out.len(window.steps.len());
    let mut steps: Vec<_> = window.steps.iter().collect();
    steps.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for ((key_id, name), tally) in steps {
        out.int(*key_id);
        out.text(name);
        for n in [tally.number.unwrap_or(i64::MIN), tally.runs, tally.failed] {
            out.int(n);
        }
        out.histogram(&tally.durations)?;
    }
    Ok((jobs, out.into_bytes()))
}

/// A job key's sums while hours are added.
#[derive(Debug, Default)]
struct KeySums {
    runs: i64,
    conclusive: i64,
    failed: i64,
    runner_seconds: i64,
    durations: Vec<(i64, i64)>,
    queues: Vec<(i64, i64)>,
}

#[derive(Debug, Default)]
struct StepSums {
    number: Option<i64>,
    runs: i64,
    failed: i64,
    durations: Vec<(i64, i64)>,
}

/// Adds up packed hours; [`Accumulator::into_window`] gives the same
/// [`JobWindow`] as merging the hours' tallies one by one, faster.
#[derive(Debug, Default)]
pub(super) struct Accumulator {
    jobs: HashMap<i64, KeySums>,
    steps: HashMap<i64, HashMap<String, StepSums>>,
}

impl Accumulator {
    /// Adds one hour's `jobs` bytes and, when given, its `steps` bytes:
    /// the keys `keep` accepts.
    pub(super) fn add(
        &mut self,
        jobs: &[u8],
        steps: Option<&[u8]>,
        keep: &dyn Fn(i64) -> bool,
    ) -> Result<(), StoreError> {
        self.add_signed(jobs, steps, keep, 1)
    }

    /// Takes off what [`Accumulator::add`] of the same bytes adds (a
    /// step's number, the lowest seen, stays).
    pub(super) fn subtract(
        &mut self,
        jobs: &[u8],
        steps: Option<&[u8]>,
        keep: &dyn Fn(i64) -> bool,
    ) -> Result<(), StoreError> {
        self.add_signed(jobs, steps, keep, -1)
    }

    fn add_signed(
        &mut self,
        jobs: &[u8],
        steps: Option<&[u8]>,
        keep: &dyn Fn(i64) -> bool,
        sign: i64,
    ) -> Result<(), StoreError> {
        let mut buf = Reader::new(jobs)?;
        for _ in 0..buf.len()? {
            let key_id = buf.int()?;
            let counts = [buf.int()?, buf.int()?, buf.int()?, buf.int()?];
            if !keep(key_id) {
                buf.pairs_into(None, sign)?;
                buf.pairs_into(None, sign)?;
                continue;
            }
            let sums = self.jobs.entry(key_id).or_default();
            sums.runs += sign * counts[0];
            sums.conclusive += sign * counts[1];
            sums.failed += sign * counts[2];
            sums.runner_seconds += sign * counts[3];
            buf.pairs_into(Some(&mut sums.durations), sign)?;
            buf.pairs_into(Some(&mut sums.queues), sign)?;
        }
        let Some(steps) = steps else { return Ok(()) };
        let mut buf = Reader::new(steps)?;
        for _ in 0..buf.len()? {
            let key_id = buf.int()?;
            let name = buf.text()?;
            let (number, runs, failed) = (buf.int()?, buf.int()?, buf.int()?);
            if !keep(key_id) {
                buf.pairs_into(None, sign)?;
                continue;
            }
            let by_name = self.steps.entry(key_id).or_default();
            if !by_name.contains_key(name) {
                by_name.insert(name.to_owned(), StepSums::default());
            }
            let sums = by_name.get_mut(name).ok_or_else(|| bad("a step name lost"))?;
            if number != i64::MIN && sign > 0 {
                sums.number = Some(sums.number.map_or(number, |n| n.min(number)));
            }
            sums.runs += sign * runs;
            sums.failed += sign * failed;
            buf.pairs_into(Some(&mut sums.durations), sign)?;
        }
        Ok(())
    }

    /// The tallies, grouped by key (day 0, matrix '').
    pub(super) fn into_window(self) -> JobWindow {
        let mut window = JobWindow::default();
        for (key_id, sums) in self.jobs {
            let tally = JobTally {
                runs: sums.runs,
                conclusive: sums.conclusive,
                failed: sums.failed,
                runner_seconds: sums.runner_seconds,
                durations: Histogram::from_pairs(sums.durations),
                queues: Histogram::from_pairs(sums.queues),
            };
            window.jobs.insert(JobCell { day: 0, key_id, matrix: String::new() }, tally);
        }
        for (key_id, by_name) in self.steps {
            for (name, sums) in by_name {
                let tally = StepTally {
                    number: sums.number,
                    runs: sums.runs,
                    failed: sums.failed,
                    durations: Histogram::from_pairs(sums.durations),
                };
                window.steps.insert((key_id, name), tally);
            }
        }
        window
    }
}
