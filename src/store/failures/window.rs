//! The top failure signatures of a window from the failure roll-up
//! (`failure_days`, kept by `days`; the totals from its per-signature sums
//! `failure_signature_days` when only a class narrows the list): the whole UTC days from `since`'s next
//! midnight on are summed from the roll-up, the partial day before it is
//! scanned from `job_failures`; the answer equals the scan's
//! ([`Failures::top_signatures_scan`]).
//!
//! **Builds** add up across days because the roll-up counts each
//! (signature, run attempt) pair once, on the key of its latest failure: a
//! pair is in the window exactly when that failure is. The edge day adds
//! the pairs whose latest failure falls in it. A repository filter keeps
//! this exact (an attempt has one repository); with a class filter alone
//! the pairs are counted on their latest failure *of that class*
//! (`failure_signature_days.class_builds`, migration 0030; the edge day
//! adds the pairs whose latest failure of the class is in it); with a
//! workflow or branch filter, or a class with a repository, the pair's
//! latest failure may not match while an earlier one does, so builds are
//! then counted from the raw failures of the answered signatures.

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, Row};

use super::days::DAY;
use super::read::{FailuresFilter, SignatureSummary};
use super::spread::{Spread, add, contenders, rank};
use crate::store::{Failures, StoreError};

/// Whether the totals' builds are exact for `filter` (module doc): no
/// workflow or branch, and a class only without a repository.
fn rolled_builds(filter: &FailuresFilter) -> bool {
    filter.workflow.is_none() && filter.branch.is_none() && (filter.class.is_none() || filter.repo.is_none())
}

/// Per signature id: (failures, last seen, builds).
type Totals = BTreeMap<i64, (i64, i64, i64)>;

impl Failures<'_> {
    /// The top `limit` signatures over the filter's window (definitions in
    /// `read`'s module doc), from the roll-up and the edge day's scan.
    pub async fn top_signatures(
        &self,
        filter: &FailuresFilter,
        limit: i64,
    ) -> Result<Vec<SignatureSummary>, StoreError> {
        let values = [&filter.repo, &filter.workflow, &filter.branch, &filter.class];
        if values.iter().any(|v| v.as_deref() == Some("")) {
            // '' in the roll-up also stands for a missing value.
            return self.top_signatures_scan(filter, limit).await;
        }
        let first_day = filter.since.div_euclid(DAY) + i64::from(filter.since.rem_euclid(DAY) != 0);
        let edge_end = first_day * DAY;
        let mut totals = self.day_totals(filter, first_day).await?;
        self.edge_totals(filter, edge_end, &mut totals).await?;
        let list: Vec<(i64, i64, i64)> = totals.iter().map(|(id, t)| (*id, t.0, t.1)).collect();
        let limit = usize::try_from(limit).unwrap_or(0);
        let fingerprints = self.fingerprints(&contenders(&list, limit)).await?;
        let ids = rank(list, &fingerprints, limit);
        let mut spreads = BTreeMap::new();
        self.day_spreads(filter, first_day, &ids, &mut spreads).await?;
        self.raw_spreads(filter, Some(edge_end), &ids, &mut spreads).await?;
        if rolled_builds(filter) {
            for id in &ids {
                spreads.entry(*id).or_default().builds = totals.get(id).map_or(0, |t| t.2);
            }
        } else {
            self.raw_builds(filter, &ids, &mut spreads).await?;
        }
        self.summaries(filter, &ids, spreads).await
    }

    /// Per signature: the roll-up's failures, last seen and builds of the
    /// days from `first_day` on.
    async fn day_totals(&self, filter: &FailuresFilter, first_day: i64) -> Result<Totals, StoreError> {
        let (conditions, values) = filter.conditions(2);
        // Without a repository, workflow or branch the per-signature sums
        // (a row per day, signature and class) hold the same totals.
        let (table, builds) = if filter.repo.is_none() && filter.workflow.is_none() && filter.branch.is_none()
        {
            // With a class, the pairs counted on their latest failure of it.
            ("failure_signature_days", if filter.class.is_some() { "class_builds" } else { "builds" })
        } else {
            ("failure_days", "builds")
        };
        let sql = format!(
            "SELECT f.signature_id, CAST(SUM(f.failures) AS BIGINT) AS n, MAX(f.last_at) AS last_at, \
             CAST(SUM(f.{builds}) AS BIGINT) AS builds FROM {table} f \
             WHERE f.day >= $1{conditions} GROUP BY f.signature_id"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(first_day);
        for value in &values {
            query = query.bind(value);
        }
        let mut out = Totals::new();
        for row in query.fetch_all(&self.read).await? {
            out.insert(
                row.try_get("signature_id")?,
                (row.try_get("n")?, row.try_get("last_at")?, row.try_get("builds")?),
            );
        }
        Ok(out)
    }

    /// Adds the edge day `[since, edge_end)` from the raw failures: their
    /// count and last seen, and the (signature, attempt) pairs whose latest
    /// failure is in it (none of theirs from `edge_end` on).
    async fn edge_totals(
        &self,
        filter: &FailuresFilter,
        edge_end: i64,
        totals: &mut Totals,
    ) -> Result<(), StoreError> {
        if filter.since >= edge_end {
            return Ok(());
        }
        let (window, bounds, values) = filter.raw_window(Some(edge_end), 1);
        // With a class, a later failure of the pair counts only in that class.
        let same_class = if filter.class.is_some() { " AND g.class = f.class" } else { "" };
        let sql = format!(
            "SELECT f.signature_id, COUNT(*) AS n, MAX(f.failed_at) AS last_at, \
             COUNT(DISTINCT CASE WHEN NOT EXISTS (SELECT 1 FROM job_failures g \
             WHERE g.build_id = f.build_id AND g.signature_id = f.signature_id AND g.failed_at >= $2{same_class}) \
             THEN f.build_id END) AS builds \
             FROM job_failures f WHERE f.signature_id IS NOT NULL{window} GROUP BY f.signature_id"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bound in &bounds {
            query = query.bind(*bound);
        }
        for value in &values {
            query = query.bind(value);
        }
        for row in query.fetch_all(&self.read).await? {
            let total = totals.entry(row.try_get("signature_id")?).or_default();
            total.0 += row.try_get::<i64, _>("n")?;
            total.1 = total.1.max(row.try_get("last_at")?);
            total.2 += row.try_get::<i64, _>("builds")?;
        }
        Ok(())
    }

    /// Adds the roll-up rows of `ids` from `first_day` on to their spreads.
    async fn day_spreads(
        &self,
        filter: &FailuresFilter,
        first_day: i64,
        ids: &[i64],
        spreads: &mut BTreeMap<i64, Spread>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let (conditions, values) = filter.conditions(2);
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT f.signature_id, f.repo, f.branch, f.job_name, f.nulls, f.class, \
             CAST(SUM(f.failures) AS BIGINT) AS n, MAX(f.last_at) AS last_at FROM failure_days f \
             WHERE f.signature_id IN ({list}) AND f.day >= $1{conditions} \
             GROUP BY f.signature_id, f.repo, f.branch, f.job_name, f.nulls, f.class"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(first_day);
        for value in &values {
            query = query.bind(value);
        }
        for row in query.fetch_all(&self.read).await? {
            let nulls: i64 = row.try_get("nulls")?;
            let branch: String = row.try_get("branch")?;
            let job: String = row.try_get("job_name")?;
            let spread = spreads.entry(row.try_get("signature_id")?).or_default();
            add(
                spread,
                &row,
                row.try_get("repo")?,
                (nulls & 2 == 0).then_some(branch),
                (nulls & 4 == 0).then_some(job),
            )?;
        }
        Ok(())
    }
}
