//! Percentiles by linear interpolation between closest ranks (Hyndman & Fan
//! type 7: the method of NumPy's default `percentile`, Excel's
//! `PERCENTILE.INC` and PostgreSQL's `percentile_cont`).
//!
//! For sorted values `x[0..n]` and fraction `p` in 0..=1: `h = (n − 1)·p`;
//! the answer is `x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])`. One value answers
//! itself; no values answer `None`.

/// The `p`-quantile (`p` in 0..=1, clamped) of `sorted`, which must be in
/// ascending order. `None` when `sorted` is empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let h = last as f64 * p.clamp(0.0, 1.0);
    let lower = h.floor() as usize;
    let upper = (lower + 1).min(last);
    Some(sorted[lower] + (h - lower as f64) * (sorted[upper] - sorted[lower]))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
