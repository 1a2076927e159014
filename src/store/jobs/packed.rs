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
//! Layout, little-endian, in two values so a read without steps loads
//! none of theirs: `jobs` is `u8` version (1), `u32` cells, each `i64` key
//! id, runs, conclusive, failed, runner seconds, then the durations and
//! the queue times, each as a `u32` count of `(u32 seconds, u32 jobs)`
//! pairs and the pairs; `steps` is `u8` version, `u32` steps, each `i64`
//! key id, `u16` name length, the UTF-8 name, `i64` number (`i64::MIN`:
//! none), runs, failed, and the duration pairs as above. Seconds beyond `u32::MAX` (136 years) are stored as `u32::MAX`.
//! Bytes that do not follow the layout are an `Invariant` error, never a
//! panic.

use std::collections::HashMap;

use bytes::{Buf, BufMut};

use crate::metrics::jobs::{JobCell, JobTally, JobWindow, StepTally};
use crate::metrics::tally::Histogram;
use crate::store::StoreError;

const VERSION: u8 = 1;

fn put_histogram(out: &mut Vec<u8>, histogram: &Histogram) -> Result<(), StoreError> {
    let pairs: Vec<(i64, i64)> = histogram.iter().collect();
    out.put_u32_le(len32(pairs.len())?);
    for (seconds, n) in pairs {
        out.put_u32_le(u32::try_from(seconds.max(0)).unwrap_or(u32::MAX));
        out.put_u32_le(u32::try_from(n).map_err(|_| bad("a histogram count out of range"))?);
    }
    Ok(())
}

fn len32(n: usize) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| bad("too many entries"))
}

fn bad(what: &str) -> StoreError {
    StoreError::Invariant(format!("packed job roll-up: {what}"))
}

/// The `jobs` and `steps` bytes of one hour's tallies (a [`JobWindow`]
/// grouped by key only).
pub(super) fn encode(window: &JobWindow) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let mut out = Vec::with_capacity(64 + window.jobs.len() * 96);
    out.put_u8(VERSION);
    out.put_u32_le(len32(window.jobs.len())?);
    // Sorted, so equal tallies give equal bytes (the fold compares them).
    let mut jobs: Vec<_> = window.jobs.iter().collect();
    jobs.sort_unstable_by_key(|(cell, _)| (cell.key_id, &cell.matrix));
    for (cell, tally) in jobs {
        for n in [cell.key_id, tally.runs, tally.conclusive, tally.failed, tally.runner_seconds] {
            out.put_i64_le(n);
        }
        put_histogram(&mut out, &tally.durations)?;
        put_histogram(&mut out, &tally.queues)?;
    }
    let jobs = out;
    let mut out = Vec::with_capacity(64 + window.steps.len() * 64);
    out.put_u8(VERSION);
    out.put_u32_le(len32(window.steps.len())?);
    let mut steps: Vec<_> = window.steps.iter().collect();
    steps.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for ((key_id, name), tally) in steps {
        out.put_i64_le(*key_id);
        out.put_u16_le(u16::try_from(name.len()).map_err(|_| bad("a step name over 65 535 bytes"))?);
        out.put_slice(name.as_bytes());
        for n in [tally.number.unwrap_or(i64::MIN), tally.runs, tally.failed] {
            out.put_i64_le(n);
        }
        put_histogram(&mut out, &tally.durations)?;
    }
    Ok((jobs, out))
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

fn i64_of(buf: &mut &[u8]) -> Result<i64, StoreError> {
    buf.try_get_i64_le().map_err(|_| bad("cut short"))
}

fn version(buf: &mut &[u8]) -> Result<(), StoreError> {
    match buf.try_get_u8() {
        Ok(VERSION) => Ok(()),
        Ok(_) => Err(bad("unknown version")),
        Err(_) => Err(bad("empty")),
    }
}

fn u32_of(buf: &mut &[u8]) -> Result<u32, StoreError> {
    buf.try_get_u32_le().map_err(|_| bad("cut short"))
}

fn pairs_into(buf: &mut &[u8], into: Option<&mut Vec<(i64, i64)>>, sign: i64) -> Result<(), StoreError> {
    let n = u32_of(buf)? as usize;
    if buf.remaining() < n * 8 {
        return Err(bad("cut short"));
    }
    match into {
        Some(into) => {
            into.reserve(n);
            for _ in 0..n {
                let seconds = i64::from(buf.get_u32_le());
                into.push((seconds, sign * i64::from(buf.get_u32_le())));
            }
        }
        None => buf.advance(n * 8),
    }
    Ok(())
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
        mut jobs: &[u8],
        steps: Option<&[u8]>,
        keep: &dyn Fn(i64) -> bool,
        sign: i64,
    ) -> Result<(), StoreError> {
        let buf = &mut jobs;
        version(buf)?;
        for _ in 0..u32_of(buf)? {
            let key_id = i64_of(buf)?;
            let counts = [i64_of(buf)?, i64_of(buf)?, i64_of(buf)?, i64_of(buf)?];
            if !keep(key_id) {
                pairs_into(buf, None, sign)?;
                pairs_into(buf, None, sign)?;
                continue;
            }
            let sums = self.jobs.entry(key_id).or_default();
            sums.runs += sign * counts[0];
            sums.conclusive += sign * counts[1];
            sums.failed += sign * counts[2];
            sums.runner_seconds += sign * counts[3];
            pairs_into(buf, Some(&mut sums.durations), sign)?;
            pairs_into(buf, Some(&mut sums.queues), sign)?;
        }
        let Some(mut steps) = steps else { return Ok(()) };
        let buf = &mut steps;
        version(buf)?;
        for _ in 0..u32_of(buf)? {
            let key_id = i64_of(buf)?;
            let len = usize::from(buf.try_get_u16_le().map_err(|_| bad("cut short"))?);
            if buf.remaining() < len {
                return Err(bad("cut short"));
            }
            let whole: &[u8] = buf;
            let (name, rest) = whole.split_at(len);
            let name = std::str::from_utf8(name).map_err(|_| bad("a step name not UTF-8"))?;
            *buf = rest;
            let (number, runs, failed) = (i64_of(buf)?, i64_of(buf)?, i64_of(buf)?);
            if !keep(key_id) {
                pairs_into(buf, None, sign)?;
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
            pairs_into(buf, Some(&mut sums.durations), sign)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(pairs: &[(i64, i64)]) -> Histogram {
        let mut h = Histogram::default();
        for &(s, n) in pairs {
            h.add(s, n);
        }
        h
    }

    type Step<'a> = (&'a str, i64, &'a [(i64, i64)]);

    fn hour(key: i64, runs: i64, durations: &[(i64, i64)], step: Option<Step<'_>>) -> JobWindow {
        let mut w = JobWindow::default();
        let tally = JobTally {
            runs,
            conclusive: runs,
            failed: 1,
            runner_seconds: durations.iter().map(|(s, n)| s * n).sum(),
            durations: histogram(durations),
            queues: histogram(&[(5, runs)]),
        };
        w.jobs.insert(JobCell { day: 0, key_id: key, matrix: String::new() }, tally);
        if let Some((name, number, times)) = step {
            let tally = StepTally { number: Some(number), runs: 2, failed: 0, durations: histogram(times) };
            w.steps.insert((key, name.to_owned()), tally);
        }
        w
    }

    #[test]
    fn packed_hours_add_up_like_merged_tallies() {
        let a = hour(1, 3, &[(60, 2), (4_000_000_000, 1)], Some(("Run tests", 2, &[(50, 1), (70, 1)])));
        let b = hour(1, 2, &[(60, 1), (90, 1)], Some(("Run tests", 1, &[(50, 2)])));
        let c = hour(2, 1, &[(10, 1)], None);
        let mut merged = JobWindow::default();
        let mut acc = Accumulator::default();
        for w in [&a, &b, &c] {
            merged.merge(w.clone());
            let (jobs, steps) = encode(w).expect("encode");
            acc.add(&jobs, Some(&steps), &|_| true).expect("decode");
        }
        assert_eq!(acc.into_window(), merged);
        // Keys left out, and steps left out.
        let mut only_two = Accumulator::default();
        for w in [&a, &b, &c] {
            only_two.add(&encode(w).expect("encode").0, None, &|k| k == 2).expect("decode");
        }
        let window = only_two.into_window();
        assert_eq!(window.jobs.len(), 1);
        assert!(window.steps.is_empty());
        // Taken off again, an hour leaves nothing of itself.
        let mut net = Accumulator::default();
        for (w, sign) in [(&a, 1), (&c, 1), (&c, -1)] {
            let (jobs, steps) = encode(w).expect("encode");
            if sign > 0 {
                net.add(&jobs, Some(&steps), &|_| true)
            } else {
                net.subtract(&jobs, Some(&steps), &|_| true)
            }
            .expect("decode");
        }
        let mut window = net.into_window();
        window.jobs.retain(|_, tally| !tally.is_empty());
        assert_eq!(window, a);
    }

    #[test]
    fn bytes_off_the_layout_are_errors() {
        let (jobs, steps) = encode(&hour(1, 3, &[(60, 3)], Some(("s", 1, &[(1, 1)])))).expect("encode");
        for cut in 0..jobs.len() {
            assert!(Accumulator::default().add(&jobs[..cut], None, &|_| true).is_err(), "jobs cut at {cut}");
        }
        for cut in 0..steps.len() {
            let mut acc = Accumulator::default();
            assert!(acc.add(&jobs, Some(&steps[..cut]), &|_| true).is_err(), "steps cut at {cut}");
        }
        for mut bytes in [jobs.clone(), steps.clone()] {
            bytes[0] = 9;
            assert!(Accumulator::default().add(&bytes, Some(&bytes), &|_| true).is_err());
        }
    }
}
