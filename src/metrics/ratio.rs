//! The two small pieces of arithmetic every figure shares: a ratio that is
//! absent rather than NaN when there is nothing to divide by, and rounding
//! to 0.001 (rates and seconds are answered with three decimals).

/// `part ÷ whole`, `None` when `whole` is 0.
pub fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Rounds to 0.001 (see the module doc).
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
