//! GitLab's REST rate limits, read from response headers.
//!
//! Headers (<https://docs.gitlab.com/ee/administration/settings/user_and_ip_rate_limits.html#response-headers>):
//! `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (Unix
//! seconds) and, on a 429, `Retry-After` (seconds). The readings feed the
//! shared [`crate::providers::rate_gate::RateGate`]. Owns no I/O.

use reqwest::header::HeaderMap;

use crate::providers::rate_gate;
use crate::store::RateReading;

/// Reads the rate-limit headers of one response (absent or garbled values
/// are `None`).
pub fn reading(headers: &HeaderMap) -> RateReading {
    rate_gate::reading_from(headers, ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"])
}

pub use crate::providers::rate_gate::retry_after;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn reads_gitlab_headers_and_ignores_garbage() {
        let mut headers = HeaderMap::new();
        headers.insert("RateLimit-Limit", "2000".parse().expect("test value"));
        headers.insert("RateLimit-Remaining", "1999".parse().expect("test value"));
        headers.insert("RateLimit-Reset", "soon".parse().expect("test value"));
        headers.insert("Retry-After", "3".parse().expect("test value"));
        assert_eq!(
            reading(&headers),
            RateReading { limit: Some(2000), remaining: Some(1999), reset_at: None }
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
    }
}
