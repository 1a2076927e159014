//! GitHub's REST rate limits, read from response headers and obeyed before
//! the next request.
//!
//! Headers (<https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>):
//! `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset` (Unix
//! seconds) and, on secondary limits, `retry-after` (seconds). The readings
//! feed the shared [`RateGate`] (`providers::rate_gate`). Owns no I/O.

use reqwest::header::HeaderMap;

use crate::providers::rate_gate;
pub use crate::providers::rate_gate::RateGate;
use crate::store::RateReading;

/// Reads the rate-limit headers of one response.
pub fn reading(headers: &HeaderMap) -> RateReading {
    rate_gate::reading_from(headers, ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"])
}

pub use crate::providers::rate_gate::retry_after;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn reads_headers_and_ignores_garbage() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit", "5000".parse().expect("test value"));
        headers.insert("x-ratelimit-remaining", "4951".parse().expect("test value"));
        headers.insert("x-ratelimit-reset", "nonsense".parse().expect("test value"));
        headers.insert("retry-after", "7".parse().expect("test value"));
        assert_eq!(
            reading(&headers),
            RateReading { limit: Some(5000), remaining: Some(4951), reset_at: None }
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
    }
}
