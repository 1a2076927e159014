//! The deployment counts roll-up `deployment_quarters` (migration 0031,
//! kept by triggers on `deployments`): counted deployments, successes and
//! failed/rolled-back ones per quarter hour, environment and provider.
//! Owns reading it: a list of spans' sums per environment and quarter
//! hour, whole quarter hours from the roll-up (from `deployments` when a
//! repository is asked for: the roll-up has none), the parts of quarter
//! hours a span edge cuts from `deployments`. What the counts mean is
//! `derive`'s, how they are combined the caller's.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::facts::narrow;
use super::read::DeploymentFilter;
use crate::store::{Deployments, StoreError};

/// Seconds in a quarter hour.
pub const QUARTER: i64 = 900;

/// Counted deployments of one environment finished in one quarter hour of
/// one span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarterSum {
    pub environment: String,
    /// Index of the span in the list asked for.
    pub span: usize,
    /// Unix seconds ÷ [`QUARTER`].
    pub quarter: i64,
    pub counted: i64,
    pub successes: i64,
    /// Failed or rolled back (an incident's signal aside).
    pub signalled: i64,
}

/// Sums of `deployments` rows (no quarter: the caller's piece is in one).
const PIECE: &str = "SELECT environment, COUNT(*), SUM(CASE WHEN dora_state = 0 THEN 1 ELSE 0 END), \
     SUM(CASE WHEN dora_signal IS NOT NULL THEN 1 ELSE 0 END) FROM deployments \
     WHERE finished_at >= $1 AND finished_at < $2 AND dora_state IS NOT NULL";

/// The span of `spans` (sorted, not overlapping) holding `at`.
fn span_of(spans: &[(i64, i64)], at: i64) -> Option<usize> {
    let i = spans.partition_point(|(start, _)| *start <= at).checked_sub(1)?;
    (at < spans[i].1).then_some(i)
}

impl Deployments<'_> {
    /// [`QuarterSum`]s of `filter`'s counted deployments finished in each
    /// of `spans` (`[start, end)`, sorted by start, not overlapping).
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn span_sums(
        &self,
        spans: &[(DateTime<Utc>, DateTime<Utc>)],
        filter: &DeploymentFilter,
    ) -> Result<Vec<QuarterSum>, StoreError> {
        let spans: Vec<(i64, i64)> =
            spans.iter().map(|(s, e)| (s.timestamp(), e.timestamp())).filter(|(s, e)| s < e).collect();
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else { return Ok(Vec::new()) };
        // Quarter hours a span edge cuts: read exactly, per span.
        let cut: BTreeSet<i64> = spans
            .iter()
            .flat_map(|(s, e)| [*s, *e])
            .filter(|at| at.rem_euclid(QUARTER) != 0)
            .map(|at| at.div_euclid(QUARTER))
            .collect();
        let mut out = Vec::new();
        let (narrowing, texts) = narrow(filter, 3);
        for &quarter in &cut {
            let (low, high) = (quarter * QUARTER, (quarter + 1) * QUARTER);
            for (span, (s, e)) in spans.iter().enumerate().filter(|(_, (s, e))| *s < high && *e > low) {
                let mut query =
                    sqlx::query(AssertSqlSafe(format!("{PIECE}{narrowing} GROUP BY environment")))
                        .bind((*s).max(low))
                        .bind((*e).min(high));
                for text in &texts {
                    query = query.bind(text.clone());
                }
                for row in query.fetch_all(&self.read).await? {
                    out.push(QuarterSum {
                        environment: row.try_get(0)?,
                        span,
                        quarter,
                        counted: row.try_get(1)?,
                        successes: row.try_get(2)?,
                        signalled: row.try_get(3)?,
                    });
                }
            }
        }
        // Whole quarter hours: each lies in one span or in none.
        let (low, high) = (
            first.0.div_euclid(QUARTER) + i64::from(first.0.rem_euclid(QUARTER) != 0),
            last.1.div_euclid(QUARTER),
        );
        if low >= high {
            return Ok(out);
        }
        let sql = match filter.repo {
            Some(_) => format!(
                "SELECT environment, finished_at / {QUARTER}, COUNT(*), SUM(CASE WHEN dora_state = 0 THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN dora_signal IS NOT NULL THEN 1 ELSE 0 END) FROM deployments \
                 WHERE finished_at >= $1 AND finished_at < $2 AND dora_state IS NOT NULL{narrowing} \
                 GROUP BY environment, finished_at / {QUARTER}"
            ),
            None => format!(
                "SELECT environment, quarter, CAST(SUM(counted) AS BIGINT), CAST(SUM(successes) AS BIGINT), \
                 CAST(SUM(signalled) AS BIGINT) FROM deployment_quarters \
                 WHERE quarter >= $1 AND quarter < $2{narrowing} GROUP BY environment, quarter"
            ),
        };
        let scale = if filter.repo.is_some() { QUARTER } else { 1 };
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(low * scale).bind(high * scale);
        for text in texts {
            query = query.bind(text);
        }
        for row in query.fetch_all(&self.read).await? {
            let quarter: i64 = row.try_get(1)?;
            if cut.contains(&quarter) {
                continue;
            }
            let Some(span) = span_of(&spans, quarter * QUARTER) else { continue };
            out.push(QuarterSum {
                environment: row.try_get(0)?,
                span,
                quarter,
                counted: row.try_get(2)?,
                successes: row.try_get(3)?,
                signalled: row.try_get(4)?,
            });
        }
        Ok(out)
    }
}
