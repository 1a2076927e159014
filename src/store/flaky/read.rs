//! Reads of `flaky_occurrences`: a window's occurrences with the job key
//! names and the conclusive attempts of the workflows they name (the flaky
//! rate's denominator, from `attempts`), and which attempts and jobs carry
//! a flaky badge.

use std::collections::HashSet;

use sqlx::{AssertSqlSafe, Row};

use super::codec::{COLUMNS, occurrence_from_row};
use super::filter::{FlakyFilter, filter_sql};
use crate::metrics::flaky::{FlakyRow, FlakyWindow};
use crate::store::rows::provider_from_id;
use crate::store::{Flaky, StoreError};

impl Flaky<'_> {
    /// The occurrences seen in `[start, end)` (Unix seconds) matching
    /// `filter`, with the job key names and the workflows' conclusive
    /// attempts in the same window.
    pub async fn window(
        &self,
        start: i64,
        end: i64,
        filter: &FlakyFilter,
    ) -> Result<FlakyWindow, StoreError> {
        let mut binds = Vec::new();
        let where_ = filter_sql(filter, 2, &mut binds);
        // The key names come along (one round trip); the denominators from
        // the per-day tally and the window's partial days (`attempts`).
        let occurrences = format!(
            "SELECT f.provider_id, f.repo, {}, k.name AS key_name FROM flaky_occurrences f \
             LEFT JOIN job_keys k ON k.id = f.key_id WHERE f.seen_at >= $1 AND f.seen_at < $2{}",
            COLUMNS.split(", ").map(|c| format!("f.{c}")).collect::<Vec<_>>().join(", "),
            where_.replace(" AND ", " AND f.")
        );
        let mut conn = self.read.acquire().await?;
        let mut window = FlakyWindow::default();
        let mut query = sqlx::query(AssertSqlSafe(occurrences)).bind(start).bind(end);
        for bind in &binds {
            query = query.bind(bind.clone());
        }
        for row in query.fetch_all(&mut *conn).await? {
            let occurrence = occurrence_from_row(&row)?;
            if let (Some(key), Some(name)) =
                (occurrence.key_id, row.try_get::<Option<String>, _>("key_name")?)
            {
                window.key_names.insert(key, name);
            }
            window.rows.push(FlakyRow {
                provider: provider_from_id(row.try_get("provider_id")?)?,
                repo: row.try_get("repo")?,
                occurrence,
            });
        }
        if !window.rows.is_empty() {
            window.attempts = super::attempts::conclusive_attempts(&mut conn, start, end, filter).await?;
        }
        Ok(window)
    }

    /// Of the attempts `ids`, those with a flaky badge: the failed or the
    /// passing attempt of a passed-on-retry or same-commit occurrence.
    pub async fn flaky_builds(&self, ids: &[i64]) -> Result<HashSet<i64>, StoreError> {
        let mut flaky = HashSet::new();
        let wanted: HashSet<i64> = ids.iter().copied().collect();
        // Many ids (an export): one read of the small table beats many look-ups.
        let lookups: Vec<&[i64]> = if ids.len() > 1000 { vec![&[]] } else { ids.chunks(100).collect() };
        for chunk in lookups {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let list = marks.join(", ");
            let sql = if chunk.is_empty() {
                "SELECT build_id, failed_build_id FROM flaky_occurrences WHERE kind <> 'job'".to_string()
            } else {
                format!(
                    "SELECT build_id, failed_build_id FROM flaky_occurrences WHERE kind <> 'job' \
                     AND (build_id IN ({list}) OR failed_build_id IN ({list}))"
                )
            };
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.read).await? {
                for column in ["build_id", "failed_build_id"] {
                    let id: i64 = row.try_get(column)?;
                    if wanted.contains(&id) {
                        flaky.insert(id);
                    }
                }
            }
        }
        Ok(flaky)
    }

    /// Of the jobs of attempt `build_id`, those with a flaky badge: the
    /// failed or the passing try of a flaky-job occurrence.
    pub async fn flaky_jobs_of_build(&self, build_id: i64) -> Result<HashSet<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT build_id, failed_build_id, job_id, failed_job_id FROM flaky_occurrences \
             WHERE kind = 'job' AND (build_id = $1 OR failed_build_id = $1)",
        )
        .bind(build_id)
        .fetch_all(&self.read)
        .await?;
        let mut jobs = HashSet::new();
        for row in rows {
            if row.try_get::<i64, _>("build_id")? == build_id {
                jobs.extend(row.try_get::<Option<i64>, _>("job_id")?);
            }
            if row.try_get::<i64, _>("failed_build_id")? == build_id {
                jobs.extend(row.try_get::<Option<i64>, _>("failed_job_id")?);
            }
        }
        Ok(jobs)
    }
}
