//! The packed layout against merged tallies, and bytes off the layout.

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

/// Two hours of key 1 (one with a duration past 32 bits, both with a
/// step) and one of key 2 without steps.
fn three_hours() -> [JobWindow; 3] {
    [
        hour(1, 3, &[(60, 2), (4_000_000_000, 1)], Some(("Run tests", 2, &[(50, 1), (70, 1)]))),
        hour(1, 2, &[(60, 1), (90, 1)], Some(("Run tests", 1, &[(50, 2)]))),
        hour(2, 1, &[(10, 1)], None),
    ]
}

#[test]
fn packed_hours_add_up_like_merged_tallies() {
    let [a, b, c] = three_hours();
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

/// Version 1's bytes of `window` (the layout rows written before version
/// 2 still hold): fixed-width little-endian.
fn encode_v1(window: &JobWindow) -> (Vec<u8>, Vec<u8>) {
    fn histogram(out: &mut Vec<u8>, h: &Histogram) {
        let pairs: Vec<(i64, i64)> = h.iter().collect();
        out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
        for (seconds, n) in pairs {
            out.extend_from_slice(&u32::try_from(seconds).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }
    let mut jobs = vec![1u8];
    jobs.extend_from_slice(&(window.jobs.len() as u32).to_le_bytes());
    for (cell, t) in &window.jobs {
        for n in [cell.key_id, t.runs, t.conclusive, t.failed, t.runner_seconds] {
            jobs.extend_from_slice(&n.to_le_bytes());
        }
        histogram(&mut jobs, &t.durations);
        histogram(&mut jobs, &t.queues);
    }
    let mut steps = vec![1u8];
    steps.extend_from_slice(&(window.steps.len() as u32).to_le_bytes());
    for ((key_id, name), t) in &window.steps {
        steps.extend_from_slice(&key_id.to_le_bytes());
        steps.extend_from_slice(&(name.len() as u16).to_le_bytes());
        steps.extend_from_slice(name.as_bytes());
        for n in [t.number.unwrap_or(i64::MIN), t.runs, t.failed] {
            steps.extend_from_slice(&n.to_le_bytes());
        }
        histogram(&mut steps, &t.durations);
    }
    (jobs, steps)
}

#[test]
fn rows_of_version_1_are_read_alike_and_with_rows_of_version_2() {
    let [a, b, c] = three_hours();
    let mut merged = JobWindow::default();
    let mut acc = Accumulator::default();
    for (w, old) in [(&a, true), (&b, false), (&c, true)] {
        merged.merge(w.clone());
        let (jobs, steps) = if old { encode_v1(w) } else { encode(w).expect("encode") };
        acc.add(&jobs, Some(&steps), &|_| true).expect("decode");
    }
    assert_eq!(acc.into_window(), merged);
    // An old row taken off what a new row of the same hour added.
    let mut net = Accumulator::default();
    let (jobs, steps) = encode(&c).expect("encode");
    net.add(&jobs, Some(&steps), &|_| true).expect("add");
    let (jobs, steps) = encode_v1(&c);
    net.subtract(&jobs, Some(&steps), &|_| true).expect("subtract");
    let mut window = net.into_window();
    window.jobs.retain(|_, tally| !tally.is_empty());
    assert!(window.jobs.is_empty(), "{window:?}");
    // Cut short anywhere, an old row is an error too.
    let (jobs, steps) = encode_v1(&a);
    for cut in 0..jobs.len() {
        assert!(Accumulator::default().add(&jobs[..cut], None, &|_| true).is_err(), "v1 jobs cut at {cut}");
    }
    for cut in 0..steps.len() {
        assert!(
            Accumulator::default().add(&jobs, Some(&steps[..cut]), &|_| true).is_err(),
            "v1 steps cut at {cut}"
        );
    }
}

/// A key's day as the bench seeds it (durations 60–400 s, one job of
/// each in 300 distinct values, queues 0–119 s): version 2 takes about a
/// quarter of version 1's bytes.
#[test]
fn version_2_takes_a_quarter_of_the_bytes() {
    let durations: Vec<(i64, i64)> = (0..300).map(|i| (60 + i, 1 + i % 3)).collect();
    let mut window = JobWindow::default();
    for key in 1..=100 {
        let mut w = hour(key, 600, &durations, Some(("Run tests", 1, &durations)));
        w.jobs.values_mut().for_each(|t| t.queues = histogram(&(0..120).map(|q| (q, 5)).collect::<Vec<_>>()));
        window.merge(w);
    }
    let (old_jobs, old_steps) = encode_v1(&window);
    let (jobs, steps) = encode(&window).expect("encode");
    assert!(jobs.len() * 4 <= old_jobs.len() + old_jobs.len() / 10, "{} vs {}", jobs.len(), old_jobs.len());
    assert!(
        steps.len() * 4 <= old_steps.len() + old_steps.len() / 10,
        "{} vs {}",
        steps.len(),
        old_steps.len()
    );
    let mut acc = Accumulator::default();
    acc.add(&jobs, Some(&steps), &|_| true).expect("decode");
    assert_eq!(acc.into_window(), window);
}

#[test]
fn counts_and_gaps_past_the_bytes_are_errors_not_allocations() {
    // Version 2, one cell claiming 2^62 pairs in its durations.
    let mut huge = vec![2u8, 1, 2, 2, 2, 0, 0];
    huge.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
    assert!(Accumulator::default().add(&huge, None, &|_| true).is_err());
    // Gaps summing past u64::MAX.
    let mut far = vec![2u8, 1, 2, 2, 2, 0, 0, 2];
    for _ in 0..2 {
        far.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1]);
    }
    far.push(0);
    assert!(Accumulator::default().add(&far, None, &|_| true).is_err());
}
