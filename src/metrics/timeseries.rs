//! `/api/metrics/timeseries` (and the summary's previous-window figures):
//! day buckets in the viewer's time zone and what is measured in each.
//!
//! Definitions (also in the README, "Metrics"):
//! - **day bucket**: one local calendar day of the viewer's IANA time zone,
//!   from its first instant (local midnight; where a daylight-saving change
//!   skips midnight, the first local time that exists) to the next day's
//!   first instant. A bucket is therefore 23 h or 25 h long on the days the
//!   clocks change; time-zone rules come from the tz database (`chrono-tz`).
//! - **series**: the `window_days` local days ending with today (local), so
//!   the last bucket is the day in progress.
//! - An attempt belongs to the bucket holding its **start** (this attempt's
//!   `run_started_at`, else `created_at`, else its earliest job start), as
//!   in the summary's window.
//! - **success_count / failure_count / cancelled_count**: attempts per
//!   normalised status `success` / `failed` / `cancelled`; **other_count**:
//!   every other attempt (skipped, neutral, stale, action_required, unknown
//!   and the unfinished queued/running), so the four add up to
//!   **total_builds**.
//! - **success_rate** = success ÷ (success + failed), **failure_rate** =
//!   failed ÷ (success + failed); `null` when both are 0.
//! - **p50 / p95_build_time_seconds**: type-7 percentiles
//!   ([`super::percentile`]) of `duration_seconds` of the bucket's completed
//!   success and failed attempts, as in the summary; `null` with none.
//! - **median_queue_seconds**: type-7 median of `queue_seconds` (earliest
//!   job start − the attempt's start, clamped to 0) of the bucket's attempts
//!   that have one, whatever their status; `null` with none.
//! - Percentiles and medians are rounded to 0.001 s.
//!
//! Pure arithmetic: the store supplies [`Point`]s; nothing here does I/O.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::percentile::percentile;
use super::ratio::{ratio, round3};
use crate::domain::BuildStatus;
use crate::domain::time::format_timestamp;

/// What one run attempt contributes to a bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The attempt's start (Unix seconds, UTC).
    pub start: i64,
    pub status: BuildStatus,
    /// `duration_seconds` (set once completed).
    pub duration_seconds: Option<i64>,
    /// `queue_seconds` (set once a job has started).
    pub queue_seconds: Option<i64>,
}

/// One local day as a half-open UTC interval `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayBucket {
    pub date: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The measures of a set of attempts (a bucket, a whole series or a window).
/// Durations in seconds; rates 0–1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub total_builds: i64,
    pub success_count: i64,
    pub failure_count: i64,
    pub cancelled_count: i64,
    pub other_count: i64,
    pub success_rate: Option<f64>,
    pub failure_rate: Option<f64>,
    pub p50_build_time_seconds: Option<f64>,
    pub p95_build_time_seconds: Option<f64>,
    pub median_queue_seconds: Option<f64>,
}

/// One bucket of the series: its local date, its UTC bounds (RFC 3339),
/// its length in hours (23, 24 or 25 around daylight-saving changes) and
/// its [`Figures`].
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BucketFigures {
    /// Local date, `YYYY-MM-DD`.
    pub date: String,
    pub start: String,
    pub end: String,
    pub hours: f64,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The first instant of local day `date` in `tz`: local midnight, or where
/// a daylight-saving change skips midnight, the first local time after it
/// that exists (searched in 15-minute steps). `None` only for dates chrono
/// cannot represent.
pub fn day_start(tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = date.and_time(NaiveTime::MIN);
    (0..=96).find_map(|quarter| match tz.from_local_datetime(&(midnight + Duration::minutes(15 * quarter))) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(earliest, _) => Some(earliest.with_timezone(&Utc)),
        LocalResult::None => None,
    })
}

/// The `days` local days of `tz` ending with the day holding `now`, oldest
/// first.
pub fn day_buckets(tz: Tz, now: DateTime<Utc>, days: u32) -> Vec<DayBucket> {
    let today = now.with_timezone(&tz).date_naive();
    (0..i64::from(days))
        .rev()
        .filter_map(|back| {
            let date = today - Duration::days(back);
            let start = day_start(tz, date)?;
            let end = day_start(tz, date.succ_opt()?)?;
            Some(DayBucket { date, start, end })
        })
        .collect()
}

/// The figures of a set of attempts (see the module doc).
pub fn figures<'a>(points: impl IntoIterator<Item = &'a Point>) -> Figures {
    let mut f = Figures::default();
    let mut durations = Vec::new();
    let mut queues = Vec::new();
    for point in points {
        f.total_builds += 1;
        match point.status {
            BuildStatus::Success => f.success_count += 1,
            BuildStatus::Failed => f.failure_count += 1,
            BuildStatus::Cancelled => f.cancelled_count += 1,
            _ => f.other_count += 1,
        }
        if matches!(point.status, BuildStatus::Success | BuildStatus::Failed)
            && let Some(d) = point.duration_seconds
        {
            durations.push(d as f64);
        }
        if let Some(q) = point.queue_seconds {
            queues.push(q as f64);
        }
    }
    durations.sort_by(f64::total_cmp);
    queues.sort_by(f64::total_cmp);
    let decided = f.success_count + f.failure_count;
    f.success_rate = ratio(f.success_count, decided);
    f.failure_rate = ratio(f.failure_count, decided);
    f.p50_build_time_seconds = percentile(&durations, 0.50).map(round3);
    f.p95_build_time_seconds = percentile(&durations, 0.95).map(round3);
    f.median_queue_seconds = percentile(&queues, 0.50).map(round3);
    f
}

/// The figures of each bucket; points outside every bucket are ignored.
/// `buckets` must be in order and contiguous, as [`day_buckets`] makes them.
pub fn series(buckets: &[DayBucket], points: &[Point]) -> Vec<BucketFigures> {
    let mut members: Vec<Vec<&Point>> = vec![Vec::new(); buckets.len()];
    for point in points {
        let after = buckets.partition_point(|b| b.start.timestamp() <= point.start);
        if let Some(index) = after.checked_sub(1)
            && point.start < buckets[index].end.timestamp()
        {
            members[index].push(point);
        }
    }
    buckets
        .iter()
        .zip(members)
        .map(|(bucket, members)| BucketFigures {
            date: bucket.date.format("%Y-%m-%d").to_string(),
            start: format_timestamp(bucket.start),
            end: format_timestamp(bucket.end),
            hours: (bucket.end - bucket.start).num_seconds() as f64 / 3600.0,
            figures: figures(members),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_timestamp;

    fn utc(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).expect("timestamp")
    }

    fn point(at: &str, status: BuildStatus, duration: Option<i64>, queue: Option<i64>) -> Point {
        Point { start: utc(at).timestamp(), status, duration_seconds: duration, queue_seconds: queue }
    }

    fn bounds(buckets: &[DayBucket]) -> Vec<(String, String, String)> {
        buckets
            .iter()
            .map(|b| (b.date.to_string(), format_timestamp(b.start), format_timestamp(b.end)))
            .collect()
    }

    #[test]
    fn spring_forward_day_is_23_hours() {
        // Berlin: 2026-03-29 02:00 CET → 03:00 CEST.
        let buckets = day_buckets(chrono_tz::Europe::Berlin, utc("2026-03-30T10:00:00Z"), 3);
        assert_eq!(
            bounds(&buckets),
            vec![
                ("2026-03-28".into(), "2026-03-27T23:00:00Z".into(), "2026-03-28T23:00:00Z".into()),
                ("2026-03-29".into(), "2026-03-28T23:00:00Z".into(), "2026-03-29T22:00:00Z".into()),
                ("2026-03-30".into(), "2026-03-29T22:00:00Z".into(), "2026-03-30T22:00:00Z".into()),
            ]
        );
    }

    #[test]
    fn fall_back_day_is_25_hours() {
        // Berlin: 2026-10-25 03:00 CEST → 02:00 CET.
        let tz = chrono_tz::Europe::Berlin;
        let buckets = day_buckets(tz, utc("2026-10-26T12:00:00Z"), 3);
        assert_eq!(
            bounds(&buckets),
            vec![
                ("2026-10-24".into(), "2026-10-23T22:00:00Z".into(), "2026-10-24T22:00:00Z".into()),
                ("2026-10-25".into(), "2026-10-24T22:00:00Z".into(), "2026-10-25T23:00:00Z".into()),
                ("2026-10-26".into(), "2026-10-25T23:00:00Z".into(), "2026-10-26T23:00:00Z".into()),
            ]
        );
        let points = [
            point("2026-10-24T22:00:00Z", BuildStatus::Success, Some(10), None), // 25th 00:00 CEST
            point("2026-10-25T00:30:00Z", BuildStatus::Success, Some(20), None), // 02:30 CEST
            point("2026-10-25T01:30:00Z", BuildStatus::Success, Some(30), None), // 02:30 CET (again)
            point("2026-10-25T22:59:59Z", BuildStatus::Failed, Some(40), None),  // 23:59:59 CET
            point("2026-10-25T23:00:00Z", BuildStatus::Failed, Some(50), None),  // 26th 00:00 CET
        ];
        let s = series(&buckets, &points);
        assert_eq!(s.iter().map(|b| b.hours).collect::<Vec<_>>(), vec![24.0, 25.0, 24.0]);
        assert_eq!(s.iter().map(|b| b.figures.total_builds).collect::<Vec<_>>(), vec![0, 4, 1]);
        assert_eq!(s[1].figures.success_rate, Some(0.75));
        // [10, 20, 30, 40]: p50 h = 1.5 → 25; p95 h = 2.85 → 30 + 0.85·10 = 38.5
        assert_eq!(s[1].figures.p50_build_time_seconds, Some(25.0));
        assert_eq!(s[1].figures.p95_build_time_seconds, Some(38.5));
    }

    #[test]
    fn midnight_skipped_by_dst_starts_the_day_at_the_first_existing_time() {
        // Santiago: 2026-09-06 00:00 −04 does not exist (clocks go to 01:00 −03).
        let start =
            day_start(chrono_tz::America::Santiago, NaiveDate::from_ymd_opt(2026, 9, 6).expect("date"));
        assert_eq!(start.map(format_timestamp).as_deref(), Some("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn hand_worked_dataset_across_the_spring_change() {
        use BuildStatus::*;
        let buckets = day_buckets(chrono_tz::Europe::Berlin, utc("2026-03-30T10:00:00Z"), 3);
        let points = [
            point("2026-03-27T22:59:59Z", Success, Some(999), Some(999)), // 27th local: outside
            point("2026-03-28T22:59:59Z", Success, Some(100), Some(10)),  // 28th 23:59:59 CET
            point("2026-03-28T23:00:00Z", Success, Some(60), Some(5)),    // 29th 00:00 CET
            point("2026-03-29T01:30:00Z", Failed, Some(300), Some(20)),   // 29th 03:30 CEST
            point("2026-03-29T21:59:59Z", Success, Some(120), None),      // 29th 23:59:59 CEST
            point("2026-03-29T22:00:00Z", Cancelled, Some(30), Some(40)), // 30th 00:00 CEST
            point("2026-03-29T23:00:00Z", Running, None, Some(7)),        // 30th
            point("2026-03-30T08:00:00Z", Skipped, Some(1), None),        // 30th
        ];
        let s = series(&buckets, &points);
        let dates: Vec<&str> = s.iter().map(|b| b.date.as_str()).collect();
        assert_eq!(dates, ["2026-03-28", "2026-03-29", "2026-03-30"]);
        assert_eq!(s.iter().map(|b| b.hours).collect::<Vec<_>>(), vec![24.0, 23.0, 24.0]);

        let day28 = &s[0].figures;
        assert_eq!((day28.total_builds, day28.success_count), (1, 1));
        assert_eq!(day28.success_rate, Some(1.0));
        assert_eq!((day28.p50_build_time_seconds, day28.p95_build_time_seconds), (Some(100.0), Some(100.0)));
        assert_eq!(day28.median_queue_seconds, Some(10.0));

        // 29th: durations [60, 120, 300]: p50 = 120; p95 h = 1.9 → 120 + 0.9·180 = 282;
        // queues [5, 20] → 12.5.
        let day29 = &s[1].figures;
        assert_eq!(
            (
                day29.total_builds,
                day29.success_count,
                day29.failure_count,
                day29.cancelled_count,
                day29.other_count
            ),
            (3, 2, 1, 0, 0)
        );
        assert_eq!(day29.success_rate, Some(2.0 / 3.0));
        assert_eq!(day29.failure_rate, Some(1.0 / 3.0));
        assert_eq!(day29.p50_build_time_seconds, Some(120.0));
        assert_eq!(day29.p95_build_time_seconds, Some(282.0));
        assert_eq!(day29.median_queue_seconds, Some(12.5));

        // 30th: cancelled, running, skipped; no rate, no build time; queues [7, 40] → 23.5.
        let day30 = &s[2].figures;
        assert_eq!((day30.total_builds, day30.cancelled_count, day30.other_count), (3, 1, 2));
        assert_eq!(day30.success_rate, None);
        assert_eq!(day30.p50_build_time_seconds, None);
        assert_eq!(day30.median_queue_seconds, Some(23.5));

        // The whole series: durations [60, 100, 120, 300]: p50 h = 1.5 → 110;
        // p95 h = 2.85 → 120 + 0.85·180 = 273; queues [5, 7, 10, 20, 40] → 10.
        let total = figures(&points[1..]);
        assert_eq!((total.total_builds, total.success_count, total.failure_count), (7, 3, 1));
        assert_eq!(total.success_rate, Some(0.75));
        assert_eq!(total.p50_build_time_seconds, Some(110.0));
        assert_eq!(total.p95_build_time_seconds, Some(273.0));
        assert_eq!(total.median_queue_seconds, Some(10.0));
    }
}
