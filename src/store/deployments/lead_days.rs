//! The lead-time roll-up `deployment_lead_days` (migration 0028): per
//! stream, UTC day of the deployment's finish and lead time in whole
//! seconds, how many carried commits (`deployment_commits` rows with a
//! lead time) have it. Owns this table's SQL: keeping it with what a
//! derive adds to and removes from `deployment_commits` (`derive` hands
//! the differences), retention of it, and the lead-time summary of a
//! window (whole days from here, the partial first and last day from
//! `deployment_commits`; commits per lead-time bucket first, from
//! `deployment_lead_buckets` (migration 0031, kept by triggers on this
//! table) for whole days, then the exact lead times of the buckets the
//! percentiles need). Must not decide which commits a deployment
//! carried (`derive`'s) nor what the figure means (`metrics::dora`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::facts::narrow;
use super::read::DeploymentFilter;
use super::rows::Stream;
use crate::metrics::percentile::{buckets_needed, percentile_of_counts, refine};
use crate::store::{Deployments, StoreError};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Rows per upsert (6 binds a row).
const CHUNK: usize = 200;

/// Differences of carried-commit counts per (UTC day, lead seconds).
#[derive(Debug, Default)]
pub(super) struct LeadDeltas(HashMap<(i64, i64), i64>);

impl LeadDeltas {
    /// Counts a commit of a deployment finished at `finished_at` (Unix
    /// seconds) with `lead` `by` times (negative: removed); a commit
    /// without a lead time is not in the roll-up.
    pub fn add(&mut self, finished_at: i64, lead: Option<i64>, by: i64) {
        if let Some(lead) = lead {
            *self.0.entry((finished_at.div_euclid(DAY), lead)).or_insert(0) += by;
        }
    }
}

const STREAM: &str = "provider_id = $1 AND repo = $2 AND environment = $3";

/// Forgets `stream`'s roll-up (before it is derived whole again).
pub(super) async fn clear_stream(conn: &mut AnyConnection, stream: &Stream) -> Result<(), StoreError> {
    sqlx::query(AssertSqlSafe(format!("DELETE FROM deployment_lead_days WHERE {STREAM}")))
        .bind(stream.provider_id)
        .bind(stream.repo.as_str())
        .bind(stream.environment.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Applies `deltas` to `stream`'s roll-up and drops the cells left empty.
pub(super) async fn apply(
    conn: &mut AnyConnection,
    stream: &Stream,
    deltas: LeadDeltas,
) -> Result<(), StoreError> {
    let changed: Vec<((i64, i64), i64)> = deltas.0.into_iter().filter(|(_, n)| *n != 0).collect();
    let Some(first_day) = changed.iter().map(|((day, _), _)| *day).min() else { return Ok(()) };
    for chunk in changed.chunks(CHUNK) {
        let marks: Vec<String> = (0..chunk.len())
            .map(|r| {
                let row: Vec<String> = (1..=6).map(|c| format!("${}", r * 6 + c)).collect();
                format!("({})", row.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO deployment_lead_days (provider_id, repo, environment, day, lead_seconds, commits) \
             VALUES {} ON CONFLICT (provider_id, repo, environment, day, lead_seconds) \
             DO UPDATE SET commits = deployment_lead_days.commits + excluded.commits",
            marks.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for ((day, lead), n) in chunk {
            query = query
                .bind(stream.provider_id)
                .bind(stream.repo.as_str())
                .bind(stream.environment.as_str())
                .bind(*day)
                .bind(*lead)
                .bind(*n);
        }
        query.execute(&mut *conn).await?;
    }
    sqlx::query(AssertSqlSafe(format!(
        "DELETE FROM deployment_lead_days WHERE {STREAM} AND day >= $4 AND commits <= 0"
    )))
    .bind(stream.provider_id)
    .bind(stream.repo.as_str())
    .bind(stream.environment.as_str())
    .bind(first_day)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Recomputes the roll-up of UTC day `day` from `deployment_commits`.
const REBUILD_DAY: &str = "INSERT INTO deployment_lead_days (provider_id, repo, environment, day, lead_seconds, commits) \
     SELECT provider_id, repo, environment, finished_at / 86400, lead_seconds, COUNT(*) FROM deployment_commits \
     WHERE finished_at >= $1 AND finished_at < $2 AND lead_seconds IS NOT NULL \
     GROUP BY provider_id, repo, environment, finished_at / 86400, lead_seconds";

/// A lead time's bucket (its low): whole minutes below an hour, 10
/// minutes below a day, whole hours above ([`bucket_end`] the same in Rust).
const BUCKET: &str = "CASE WHEN lead_seconds < 3600 THEN lead_seconds - lead_seconds % 60 \
     WHEN lead_seconds < 86400 THEN lead_seconds - lead_seconds % 600 ELSE lead_seconds - lead_seconds % 3600 END";

/// The end of the [`BUCKET`] starting at `low`.
fn bucket_end(low: i64) -> i64 {
    if low < 3600 {
        low + 60
    } else if low < 86_400 {
        low + 600
    } else {
        low + 3600
    }
}

/// A window's reads: `(from the roll-up, low, high)` (whole UTC days from
/// `deployment_lead_days`, the partial first and last day's Unix seconds
/// from `deployment_commits`) with the filter's narrowing.
struct Parts {
    ranges: Vec<(bool, i64, i64)>,
    narrowing: String,
    /// The narrowing of a read whose range is given as literals (its
    /// texts from `$1`).
    literal_narrowing: String,
    texts: Vec<String>,
}

impl Parts {
    fn new(filter: &DeploymentFilter, from: i64, to: i64) -> Parts {
        let (narrowing, texts) = narrow(filter, 3);
        // Whole days: [first_day, end_day).
        let first_day = from.div_euclid(DAY) + i64::from(from.rem_euclid(DAY) != 0);
        let end_day = to.div_euclid(DAY);
        let ranges = match first_day < end_day {
            true => {
                vec![(false, from, first_day * DAY), (true, first_day, end_day), (false, end_day * DAY, to)]
            }
            false => vec![(false, from, to)],
        };
        let ranges = ranges.into_iter().filter(|(_, low, high)| low < high).collect();
        Parts { ranges, narrowing, literal_narrowing: narrow(filter, 1).0, texts }
    }
}

impl Deployments<'_> {
    /// Retention of the roll-up after `deployment_commits` lost the rows
    /// finished before `cutoff` (Unix seconds): the days before the
    /// cutoff's go, the cutoff's day is recomputed.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub(super) async fn retain_lead_days(&self, cutoff: i64) -> Result<(), StoreError> {
        let day = cutoff.div_euclid(DAY);
        let mut tx = crate::store::begin_write_on(&self.write, self.backend).await?;
        sqlx::query("DELETE FROM deployment_lead_days WHERE day <= $1").bind(day).execute(&mut *tx).await?;
        sqlx::query(REBUILD_DAY).bind(day * DAY).bind((day + 1) * DAY).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Count, median and p90 of the lead times of commits carried by
    /// deployments of `filter` finished in `[from, to)` whose environment
    /// `keep` keeps, exact, in two reads: the commits per lead-time bucket
    /// ([`BUCKET`]; whole days from `deployment_lead_buckets`, or summed
    /// from `deployment_lead_days` for a repository), then the
    /// exact lead times of only the buckets holding the ranks the
    /// percentiles need (`metrics::percentile`
    /// `buckets_needed`, `refine`). Each read takes the window's whole UTC
    /// days from `deployment_lead_days` and its partial first and last day
    /// from `deployment_commits`, at the same time.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn lead_summary_where(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &DeploymentFilter,
        keep: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<(usize, Option<f64>, Option<f64>), StoreError> {
        let parts = Parts::new(filter, from.timestamp(), to.timestamp());
        let mut buckets: BTreeMap<i64, i64> = BTreeMap::new();
        // The buckets have no repository: a repository's come from the roll-up.
        let whole_days = match filter.repo {
            Some(_) => ("deployment_lead_days", BUCKET),
            None => ("deployment_lead_buckets", "bucket"),
        };
        for (environment, low, n) in self.read_parts(&parts, BUCKET, whole_days, None).await? {
            if keep(&environment) {
                *buckets.entry(low).or_insert(0) += n;
            }
        }
        let buckets: Vec<(i64, i64)> = buckets.into_iter().collect();
        let count: i64 = buckets.iter().map(|(_, n)| n).sum();
        let needed = buckets_needed(&buckets, &[0.5, 0.9]);
        if needed.is_empty() {
            return Ok((0, None, None));
        }
        let ranges: Vec<(i64, i64)> = needed.iter().map(|low| (*low, bucket_end(*low))).collect();
        let mut exact: BTreeMap<i64, i64> = BTreeMap::new();
        for (environment, lead, n) in self
            .read_parts(&parts, "lead_seconds", ("deployment_lead_days", "lead_seconds"), Some(&ranges))
            .await?
        {
            if keep(&environment) {
                *exact.entry(lead).or_insert(0) += n;
            }
        }
        let exact: Vec<(i64, i64)> = exact.into_iter().collect();
        let refined = refine(&buckets, &needed, &exact);
        Ok((count as usize, percentile_of_counts(&refined, 0.5), percentile_of_counts(&refined, 0.9)))
    }

    /// `(environment, value, commits)` of `parts`, grouped by environment
    /// and `value` (an expression of `deployment_commits.lead_seconds`)
    /// for the partial days, by the given column (or expression) of the
    /// given table (the same value, counted there) for the whole days;
    /// `leads` (`[low, high)` lead times) narrowing them. The whole days
    /// read each lead-time range on its own (`UNION ALL`): one range of the
    /// `deployment_lead_days_by_lead` index each, read from the index alone,
    /// where an `OR` of ranges made PostgreSQL fetch every row's page.
    async fn read_parts(
        &self,
        parts: &Parts,
        value: &str,
        (table, column): (&str, &str),
        leads: Option<&[(i64, i64)]>,
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let narrowing = &parts.narrowing;
        let range = |(low, high): &(i64, i64)| format!("lead_seconds >= {low} AND lead_seconds < {high}");
        let reads = parts.ranges.iter().map(|(rolled, low, high)| {
            let sql = match (rolled, leads) {
                (false, _) => {
                    let extra = leads.map_or(String::new(), |leads| {
                        format!(" AND ({})", leads.iter().map(|r| format!("({})", range(r))).collect::<Vec<_>>().join(" OR "))
                    });
                    format!(
                        "SELECT environment, {value}, COUNT(*) FROM deployment_commits WHERE finished_at >= $1 \
                         AND finished_at < $2 AND lead_seconds IS NOT NULL{extra}{narrowing} GROUP BY environment, {value}"
                    )
                }
                (true, None) => format!(
                    "SELECT environment, {column}, CAST(SUM(commits) AS BIGINT) FROM {table} \
                     WHERE day >= $1 AND day < $2{narrowing} GROUP BY environment, {column}"
                ),
                // The days as literals too: planned for these values, not
                // generically (a generic plan took the day index and read
                // the window's every row, 100 ms at 1 000 000 commits).
                (true, Some(leads)) => leads
                    .iter()
                    .map(|r| {
                        format!(
                            "SELECT environment, {column}, CAST(SUM(commits) AS BIGINT) FROM {table} \
                             WHERE day >= {low} AND day < {high} AND {}{} \
                             GROUP BY environment, {column}",
                            range(r),
                            parts.literal_narrowing
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" UNION ALL "),
            };
            let literal_days = *rolled && leads.is_some();
            async move {
                let mut query = sqlx::query(AssertSqlSafe(sql));
                if !literal_days {
                    query = query.bind(*low).bind(*high);
                }
                for text in &parts.texts {
                    query = query.bind(text.clone());
                }
                Ok::<_, StoreError>(query.fetch_all(&self.read).await?)
            }
        });
        let mut out = Vec::new();
        for rows in try_join_all(reads).await? {
            for row in rows {
                out.push((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?));
            }
        }
        Ok(out)
    }
}
