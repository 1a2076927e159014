//! Timestamps: one tolerant parser for provider timestamps and one formatter
//! for API answers. Stored values are Unix seconds (UTC), whole seconds.

use chrono::{DateTime, SecondsFormat, Utc};

/// Parses an RFC 3339 timestamp with any offset (`Z`, `+02:00`, `-08:00`),
/// with or without fractional seconds, into UTC. Fractions are truncated to
/// whole seconds, the unit everything is stored in.
///
/// Errors: the text is not RFC 3339 (chrono's message is returned).
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    let parsed = DateTime::parse_from_rfc3339(text.trim())?;
    let utc = parsed.with_timezone(&Utc);
    Ok(DateTime::from_timestamp(utc.timestamp(), 0).unwrap_or(utc))
}

/// Formats as RFC 3339 in UTC with a `Z` suffix and whole seconds, e.g.
/// `2020-10-05T16:33:24Z`, the form every API answer uses.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The end of `now`'s second: stored times are whole seconds, so a window
/// `[from, end)` ending here holds what was stamped in the current second
/// (a deployment or incident posted with `now` is read back at once).
pub fn end_of_second(now: DateTime<Utc>) -> DateTime<Utc> {
    from_unix(now.timestamp() + 1).unwrap_or(now)
}

/// Converts stored Unix seconds to a UTC timestamp (`None` if out of range).
pub fn from_unix(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

/// Seconds from `start` to `end`, clamped to 0 when the data's clocks disagree
/// (`end` before `start`); `None` when either end is unknown.
pub fn elapsed_seconds(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Option<i64> {
    let (start, end) = (start?, end?);
    Some((end - start).num_seconds().max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).expect("valid timestamp")
    }

    #[test]
    fn offsets_and_fractions_become_whole_utc_seconds() {
        assert_eq!(format_timestamp(utc("2020-10-05T16:33:24Z")), "2020-10-05T16:33:24Z");
        assert_eq!(format_timestamp(utc("2020-01-08T23:48:37.000-08:00")), "2020-01-09T07:48:37Z");
        assert_eq!(format_timestamp(utc("2021-04-05T17:42:56.000+02:00")), "2021-04-05T15:42:56Z");
        assert_eq!(format_timestamp(utc("2022-09-20T12:54:38.733348Z")), "2022-09-20T12:54:38Z");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("").is_err());
    }

    #[test]
    fn elapsed_clamps_skew_to_zero() {
        let a = utc("2021-01-01T00:00:10Z");
        let b = utc("2021-01-01T00:01:00Z");
        assert_eq!(elapsed_seconds(Some(a), Some(b)), Some(50));
        assert_eq!(elapsed_seconds(Some(b), Some(a)), Some(0));
        assert_eq!(elapsed_seconds(None, Some(a)), None);
    }
}
