//! Percentiles by linear interpolation between closest ranks (Hyndman & Fan
//! type 7: the method of NumPy's default `percentile`, Excel's
//! `PERCENTILE.INC` and PostgreSQL's `percentile_cont`).
//!
//! For sorted values `x[0..n]` and fraction `p` in 0..=1: `h = (n − 1)·p`;
//! the answer is `x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])`. One value answers
//! itself; no values answer `None`.
//!
//! Only the two values at ranks `⌊h⌋` and `⌊h⌋+1` are needed, so the store
//! can fetch just those ([`RankSpan`]) instead of every value.

/// Which sorted values a percentile needs, and how to blend them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankSpan {
    /// 0-based rank of the lower value, `⌊h⌋`.
    pub lower: usize,
    /// 0-based rank of the upper value (`lower + 1`, or `lower` at the end).
    pub upper: usize,
    /// `h − ⌊h⌋`, the weight of the upper value.
    pub fraction: f64,
}

impl RankSpan {
    /// The span for the `p`-quantile (`p` clamped to 0..=1) of `n` values;
    /// `None` when `n` is 0.
    pub fn new(n: usize, p: f64) -> Option<RankSpan> {
        let last = n.checked_sub(1)?;
        let h = last as f64 * p.clamp(0.0, 1.0);
        let lower = (h.floor() as usize).min(last);
        Some(RankSpan { lower, upper: (lower + 1).min(last), fraction: h - lower as f64 })
    }

    /// Blends the values found at `lower` and `upper`.
    pub fn interpolate(&self, lower_value: f64, upper_value: f64) -> f64 {
        lower_value + self.fraction * (upper_value - lower_value)
    }
}

/// The `p`-quantile (`p` in 0..=1, clamped) of `sorted`, which must be in
/// ascending order. `None` when `sorted` is empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let span = RankSpan::new(sorted.len(), p)?;
    Some(span.interpolate(sorted[span.lower], sorted[span.upper]))
}

/// The `p`-quantile of the values `counted` holds, given as `(value,
/// how many times)` in ascending value order (an exact histogram: the
/// same answer as [`percentile`] over the values spelled out). `None`
/// when it holds none.
pub fn percentile_of_counts(counted: &[(i64, i64)], p: f64) -> Option<f64> {
    let n: i64 = counted.iter().map(|(_, count)| (*count).max(0)).sum();
    let span = RankSpan::new(usize::try_from(n).ok()?, p)?;
    let at = |rank: usize| {
        let mut seen = 0usize;
        for (value, count) in counted {
            seen += usize::try_from(*count).unwrap_or(0);
            if rank < seen {
                return *value as f64;
            }
        }
        counted.last().map_or(0.0, |(value, _)| *value as f64)
    };
    Some(span.interpolate(at(span.lower), at(span.upper)))
}

/// The buckets of `buckets` (`(low, count)` in ascending order, each
/// holding the values from its low to the next one's) that hold a value
/// the `ps`-quantiles need (the ranks of their [`RankSpan`]s): their lows.
pub fn buckets_needed(buckets: &[(i64, i64)], ps: &[f64]) -> Vec<i64> {
    let n: i64 = buckets.iter().map(|(_, count)| (*count).max(0)).sum();
    let Ok(n) = usize::try_from(n) else { return Vec::new() };
    let mut ranks: Vec<usize> =
        ps.iter().filter_map(|p| RankSpan::new(n, *p)).flat_map(|s| [s.lower, s.upper]).collect();
    ranks.sort_unstable();
    let mut needed = Vec::new();
    let mut seen = 0usize;
    let mut next = ranks.into_iter().peekable();
    for (low, count) in buckets {
        seen += usize::try_from(*count).unwrap_or(0);
        while next.next_if(|rank| *rank < seen).is_some() {
            if needed.last() != Some(low) {
                needed.push(*low);
            }
        }
    }
    needed
}

/// `buckets` with each bucket of `needed` replaced by the exact values in
/// it (`exact`: `(value, count)`, ascending, only values of those
/// buckets): [`percentile_of_counts`] over the answer reads only exact
/// values at the ranks [`buckets_needed`] named, so it answers as over
/// every value spelled out (a bucket's low is at most its values and above
/// the previous bucket's).
pub fn refine(buckets: &[(i64, i64)], needed: &[i64], exact: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out = Vec::with_capacity(buckets.len() + exact.len());
    for (i, (low, count)) in buckets.iter().enumerate() {
        if !needed.contains(low) {
            out.push((*low, *count));
            continue;
        }
        let high = buckets.get(i + 1).map_or(i64::MAX, |(next, _)| *next);
        out.extend(exact.iter().filter(|(value, _)| value >= low && *value < high).copied());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_values_answer_as_spelled_out() {
        // 10, 10, 10, 40, 50, 50: h(0.5) = 2.5 → 10 + 0.5·30 = 25; h(0.9) = 4.5 → 50
        let counted = [(10, 3), (40, 1), (50, 2)];
        assert_eq!(percentile_of_counts(&counted, 0.5), Some(25.0));
        assert_eq!(percentile_of_counts(&counted, 0.9), Some(50.0));
        let spelled = [10.0, 10.0, 10.0, 40.0, 50.0, 50.0];
        for p in [0.0, 0.1, 0.33, 0.5, 0.75, 0.9, 1.0] {
            assert_eq!(percentile_of_counts(&counted, p), percentile(&spelled, p), "p = {p}");
        }
        assert_eq!(percentile_of_counts(&[], 0.5), None);
        assert_eq!(percentile_of_counts(&[(7, 1)], 0.9), Some(7.0));
    }

    #[test]
    fn worked_examples() {
        // 10 values 10..=100: h(0.5) = 4.5 → 50 + 0.5·10 = 55; h(0.95) = 8.55 → 90 + 0.55·10 = 95.5
        let v: Vec<f64> = (1..=10).map(|i| f64::from(i) * 10.0).collect();
        assert_eq!(percentile(&v, 0.5), Some(55.0));
        let p95 = percentile(&v, 0.95).expect("values");
        assert!((p95 - 95.5).abs() < 1e-9, "{p95}");
        assert_eq!(percentile(&v, 0.0), Some(10.0));
        assert_eq!(percentile(&v, 1.0), Some(100.0));
        assert_eq!(percentile(&[42.0], 0.95), Some(42.0));
        assert_eq!(percentile(&[], 0.5), None);
        // odd count: the median is the middle value
        assert_eq!(percentile(&[1.0, 2.0, 9.0], 0.5), Some(2.0));
    }

    #[test]
    fn refined_buckets_answer_as_every_value() {
        // Values 0..600 with uneven counts, in buckets of 50 (some empty).
        let values: Vec<(i64, i64)> =
            (0..600).filter(|v| v % 7 != 3).map(|v| (v, 1 + (v * 13) % 5)).collect();
        for cut in [1, 2, 3, 5, 40, 599] {
            let values: Vec<(i64, i64)> = values.iter().copied().take(cut).collect();
            let mut buckets: Vec<(i64, i64)> = Vec::new();
            for (value, count) in &values {
                match buckets.last_mut() {
                    Some((low, n)) if *low == value - value % 50 => *n += count,
                    _ => buckets.push((value - value % 50, *count)),
                }
            }
            let ps = [0.5, 0.9];
            let needed = buckets_needed(&buckets, &ps);
            assert!(!needed.is_empty() && needed.len() <= 4, "{needed:?}");
            let exact: Vec<(i64, i64)> =
                values.iter().copied().filter(|(v, _)| needed.contains(&(v - v % 50))).collect();
            let refined = refine(&buckets, &needed, &exact);
            for p in ps {
                assert_eq!(percentile_of_counts(&refined, p), percentile_of_counts(&values, p), "{cut} {p}");
            }
        }
        assert_eq!(buckets_needed(&[], &[0.5]), Vec::<i64>::new());
    }

    #[test]
    fn spans_name_the_two_ranks_needed() {
        assert_eq!(RankSpan::new(0, 0.5), None);
        assert_eq!(RankSpan::new(1, 0.95), Some(RankSpan { lower: 0, upper: 0, fraction: 0.0 }));
        let span = RankSpan::new(6, 0.5).expect("span");
        assert_eq!((span.lower, span.upper), (2, 3));
        assert!((span.fraction - 0.5).abs() < 1e-12);
        let top = RankSpan::new(6, 1.0).expect("span");
        assert_eq!((top.lower, top.upper), (5, 5));
    }
}
