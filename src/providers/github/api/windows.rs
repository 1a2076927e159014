//! Creation-time windows for listing workflow runs. GitHub serves at most
//! the first 1 000 results of a filtered query, so a backfill lists runs in
//! `created` windows and halves any window that holds more. Windows are
//! half-open `[start, end)` in whole Unix seconds; the query GitHub gets is
//! the inclusive `start..end−1s`, so neighbours neither overlap nor leave a
//! gap (GitHub compares `created_at`, which has whole seconds).
//!
//! Pure arithmetic; no I/O.

use chrono::{DateTime, SecondsFormat, Utc};

/// Runs created in `[start, end)`, Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

fn rfc3339(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Window {
    /// The `created` query value: `2026-11-01T00:00:00Z..2026-11-01T23:59:59Z`.
    pub fn created_query(&self) -> String {
        format!("{}..{}", rfc3339(self.start), rfc3339(self.end - 1))
    }

    /// The older and newer half; `None` for a one-second window.
    pub fn halves(&self) -> Option<(Window, Window)> {
        if self.end - self.start < 2 {
            return None;
        }
        let middle = self.start + (self.end - self.start) / 2;
        Some((Window { start: self.start, end: middle }, Window { start: middle, end: self.end }))
    }
}

/// `[from, until)` cut into consecutive windows of at most `size` seconds,
/// oldest first.
pub fn windows(from: i64, until: i64, size: i64) -> Vec<Window> {
    let size = size.max(1);
    let mut out = Vec::new();
    let mut start = from;
    while start < until {
        let end = (start + size).min(until);
        out.push(Window { start, end });
        start = end;
    }
    out
}

/// The `created` value of an open-ended query: runs created at or after `from`.
pub fn created_since(from: i64) -> String {
    format!(">={}", rfc3339(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_inclusive_of_the_last_second_only() {
        let day = Window { start: 1_764_547_200, end: 1_764_547_200 + 86_400 };
        assert_eq!(day.created_query(), "2025-12-01T00:00:00Z..2025-12-01T23:59:59Z");
        assert_eq!(created_since(day.start), ">=2025-12-01T00:00:00Z");
    }

    #[test]
    fn halving_repeatedly_covers_every_second_exactly_once() {
        let mut stack = vec![Window { start: 100, end: 137 }];
        let mut leaves = Vec::new();
        while let Some(w) = stack.pop() {
            match w.halves() {
                Some((older, newer)) if w.end - w.start > 3 => {
                    stack.push(newer);
                    stack.push(older);
                }
                _ => leaves.push(w),
            }
        }
        // Oldest first, contiguous, no overlap, nothing missing.
        assert_eq!(leaves.first().expect("test value").start, 100);
        assert_eq!(leaves.last().expect("test value").end, 137);
        for pair in leaves.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        assert_eq!(Window { start: 5, end: 6 }.halves(), None);
    }

    #[test]
    fn cuts_a_span_into_days_with_a_short_last_piece() {
        let w = windows(0, 200_000, 86_400);
        assert_eq!(
            w,
            vec![
                Window { start: 0, end: 86_400 },
                Window { start: 86_400, end: 172_800 },
                Window { start: 172_800, end: 200_000 }
            ]
        );
        assert!(windows(10, 10, 86_400).is_empty());
    }
}
