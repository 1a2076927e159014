//! The rate-limit budget of one REST credential, shared by the providers'
//! clients: it remembers the latest `limit` / `remaining` / `reset` reading
//! and pauses requests once `remaining` falls to the part of the budget this
//! dashboard must leave to others (`1 − share` of `limit`), until the window
//! resets. Each provider reads its own headers into a
//! [`crate::store::RateReading`]. Owns no I/O.

use std::sync::Mutex;
use std::time::Duration;

use crate::store::RateReading;

/// The shared budget of one credential.
#[derive(Debug)]
pub struct RateGate {
    /// Share of the hourly budget this dashboard may use, in (0, 1].
    share: f64,
    last: Mutex<RateReading>,
}

impl RateGate {
    pub fn new(share: f64) -> RateGate {
        RateGate { share: share.clamp(0.01, 1.0), last: Mutex::new(RateReading::default()) }
    }

    /// Remembers the latest reading (responses without the headers keep the
    /// previous one).
    pub fn observe(&self, reading: RateReading) {
        if let Ok(mut last) = self.last.lock()
            && reading.remaining.is_some()
        {
            *last = RateReading {
                limit: reading.limit.or(last.limit),
                remaining: reading.remaining,
                reset_at: reading.reset_at.or(last.reset_at),
            };
        }
    }

    /// The latest reading.
    pub fn last(&self) -> RateReading {
        self.last.lock().map(|r| *r).unwrap_or_default()
    }

    /// How long to wait before the next request at Unix time `now`: until the
    /// reset (plus one second) when the remaining budget is down to the
    /// reserved part, else zero.
    pub fn pause_at(&self, now: i64) -> Duration {
        let last = self.last();
        let (Some(remaining), Some(reset_at)) = (last.remaining, last.reset_at) else {
            return Duration::ZERO;
        };
        let reserve = last.limit.map_or(0.0, |limit| (limit as f64 * (1.0 - self.share)).ceil()) as i64;
        if remaining > reserve || reset_at < now {
            return Duration::ZERO;
        }
        Duration::from_secs((reset_at - now + 1) as u64)
    }

    /// Forgets the reading once its window has been waited out, so the next
    /// answer's headers decide.
    pub fn window_passed(&self) {
        if let Ok(mut last) = self.last.lock() {
            last.remaining = None;
        }
    }
}

/// The rate-limit headers of one response, by the provider's header
/// names `[limit, remaining, reset]` (absent or garbled values are `None`).
pub fn reading_from(
    headers: &reqwest::header::HeaderMap,
    [limit, remaining, reset]: [&str; 3],
) -> RateReading {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
    RateReading { limit: number(limit), remaining: number(remaining), reset_at: number(reset) }
}

/// `Retry-After` in seconds (both providers send delta-seconds).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds = headers.get("retry-after")?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(limit: i64, remaining: i64, reset_at: i64, share: f64) -> RateGate {
        let gate = RateGate::new(share);
        gate.observe(RateReading {
            limit: Some(limit),
            remaining: Some(remaining),
            reset_at: Some(reset_at),
        });
        gate
    }

    #[test]
    fn pauses_until_the_reset_only_when_the_allowed_share_is_spent() {
        // share 0.8 of 5000 leaves 1000 to others.
        assert_eq!(gate(5000, 1001, 2000, 0.8).pause_at(1000), Duration::ZERO);
        assert_eq!(gate(5000, 1000, 2000, 0.8).pause_at(1000), Duration::from_secs(1001));
        assert_eq!(gate(5000, 0, 1002, 1.0).pause_at(1000), Duration::from_secs(3));
        assert_eq!(gate(5000, 5, 1002, 1.0).pause_at(1000), Duration::ZERO);
        // A reset in the past means a new window has begun.
        assert_eq!(gate(5000, 0, 900, 1.0).pause_at(1000), Duration::ZERO);
    }
}
