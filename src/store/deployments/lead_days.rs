//! The lead-time roll-up `deployment_lead_days` (migration 0028): per
//! stream, UTC day of the deployment's finish and lead time in whole
//! seconds, how many carried commits (`deployment_commits` rows with a
//! lead time) have it. Owns this table's SQL: keeping it with what a
//! derive adds to and removes from `deployment_commits` (`derive` hands
//! the differences), retention of it, and the lead-time summary of a
//! window (whole days from here, the partial first and last day from
//! `deployment_commits`). Must not decide which commits a deployment
//! carried (`derive`'s) nor what the figure means (`metrics::dora`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::facts::narrow;
use super::read::DeploymentFilter;
use super::rows::Stream;
use crate::metrics::percentile::percentile_of_counts;
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

    /// Count, median and p90 (`metrics::percentile`, type 7) of the lead
    /// times of commits carried by deployments of `filter` finished in
    /// `[from, to)`, of `environments` only when given, from
    /// [`Deployments::lead_histogram`].
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn lead_summary(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &DeploymentFilter,
        environments: Option<&[String]>,
    ) -> Result<(usize, Option<f64>, Option<f64>), StoreError> {
        let mut histogram: BTreeMap<i64, i64> = BTreeMap::new();
        for (environment, lead, n) in self.lead_histogram(from, to, filter).await? {
            if environments.is_none_or(|list| list.contains(&environment)) {
                *histogram.entry(lead).or_insert(0) += n;
            }
        }
        let counted: Vec<(i64, i64)> = histogram.into_iter().collect();
        let count: i64 = counted.iter().map(|(_, n)| n).sum();
        Ok((count as usize, percentile_of_counts(&counted, 0.5), percentile_of_counts(&counted, 0.9)))
    }

    /// The exact lead-time histogram per environment (`(environment, lead
    /// seconds, commits)`) of commits carried by deployments of `filter`
    /// finished in `[from, to)`: the window's whole UTC days from
    /// `deployment_lead_days`, its partial first and last day from
    /// `deployment_commits`, read at the same time.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn lead_histogram(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        filter: &DeploymentFilter,
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let (narrowing, texts) = narrow(filter, 3);
        let (from, to) = (from.timestamp(), to.timestamp());
        // Whole days: [first_day, end_day).
        let first_day = from.div_euclid(DAY) + i64::from(from.rem_euclid(DAY) != 0);
        let end_day = to.div_euclid(DAY);
        let scan = format!(
            "SELECT environment, lead_seconds, COUNT(*) FROM deployment_commits WHERE finished_at >= $1 \
             AND finished_at < $2 AND lead_seconds IS NOT NULL{narrowing} GROUP BY environment, lead_seconds"
        );
        let mut parts: Vec<(String, i64, i64)> = Vec::new();
        if first_day < end_day {
            parts.push((scan.clone(), from, first_day * DAY));
            parts.push((
                format!(
                    "SELECT environment, lead_seconds, CAST(SUM(commits) AS BIGINT) FROM deployment_lead_days \
                     WHERE day >= $1 AND day < $2{narrowing} GROUP BY environment, lead_seconds"
                ),
                first_day,
                end_day,
            ));
            parts.push((scan, end_day * DAY, to));
        } else {
            parts.push((scan, from, to));
        }
        let reads = parts.into_iter().filter(|(_, low, high)| low < high).map(|(sql, low, high)| {
            let texts = &texts;
            async move {
                let mut query = sqlx::query(AssertSqlSafe(sql)).bind(low).bind(high);
                for text in texts {
                    query = query.bind(text.clone());
                }
                Ok::<_, StoreError>(query.fetch_all(&self.read).await?)
            }
        });
        let mut histogram: BTreeMap<(String, i64), i64> = BTreeMap::new();
        for rows in try_join_all(reads).await? {
            for row in rows {
                *histogram.entry((row.try_get(0)?, row.try_get(1)?)).or_insert(0) +=
                    row.try_get::<i64, _>(2)?;
            }
        }
        Ok(histogram.into_iter().map(|((environment, lead), n)| (environment, lead, n)).collect())
    }
}
