//! [`JobInsights`]: a window's job tallies, from the job roll-ups of its
//! clean whole days plus raw scans of the rest (the summary's plan,
//! `crate::store::rollups::plan`), and the job keys they name.

use std::collections::HashMap;

use sqlx::Row;

use super::fold::packed_freshness;
use super::read::{Grain, JobFilter, filter_sql, raw_window, rollup_window};
use super::sql::fetch;
use crate::domain::ProviderKind;
use crate::metrics::jobs::JobWindow;
use crate::store::rollups::{RollupView, plan};
use crate::store::{JobInsights, StoreError};

/// One job key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobKeyRecord {
    pub id: i64,
    pub provider: Option<ProviderKind>,
    pub repo: String,
    /// '' when the jobs' workflow is unknown.
    pub workflow: String,
    pub name: String,
}

impl JobInsights<'_> {
    /// The job roll-ups' freshness as of `now` (`None` when not folded
    /// recently): the stale days of the daily roll-ups (the summary's —
    /// runs written since the fold, days a start left — and those of jobs
    /// written since), and for the packed rows the stale hours
    /// ([`RollupView::hours`]) and the runs they leave out
    /// ([`RollupView::unpacked`]).
    pub async fn job_rollup_view(&self, now: i64) -> Result<Option<RollupView>, StoreError> {
        let Some((folded, mut view)) = self.metrics().rollup_state(now).await? else { return Ok(None) };
        let mut conn = self.read.acquire().await?;
        let fresh = packed_freshness(&mut conn, folded).await?;
        view.dirty = fresh.dirty_days;
        view.hours = Some(fresh.stale_hours);
        view.unpacked = fresh.unpacked;
        Ok(Some(view))
    }

    /// The tallies of the jobs whose run started in `[start, end)` (Unix
    /// seconds; `end` `None`: no upper bound) matching `filter`, grouped by
    /// `grain`, steps included when `with_steps`; from roll-ups where
    /// `view` allows, never with a branch filter.
    pub async fn job_window(
        &self,
        (start, end): (i64, Option<i64>),
        filter: &JobFilter,
        grain: Grain,
        with_steps: bool,
        view: Option<&RollupView>,
    ) -> Result<JobWindow, StoreError> {
        let plan = plan(start, end, if filter.branch.is_none() { view } else { None });
        let mut conn = self.read.acquire().await?;
        let mut window = raw_window(&mut conn, &plan.raw, &plan.subtract, filter, grain, with_steps).await?;
        window.merge(rollup_window(&mut conn, &plan.rollup_days, filter, grain, with_steps).await?);
        window.jobs.retain(|_, tally| !tally.is_empty());
        window.steps.retain(|_, tally| tally.runs != 0 || tally.durations.count() != 0);
        Ok(window)
    }

    /// The job keys matching `filter`'s key attributes, by id.
    pub async fn job_keys(&self, filter: &JobFilter) -> Result<HashMap<i64, JobKeyRecord>, StoreError> {
        let mut binds = Vec::new();
        let where_ = filter_sql(filter, false, &mut binds);
        let mut conn = self.read.acquire().await?;
        let rows = fetch(
            &mut conn,
            format!(
                "SELECT k.id, k.provider_id, k.repo, k.workflow, k.name FROM job_keys k WHERE 1 = 1{where_}"
            ),
            &binds,
        )
        .await?;
        rows.iter().map(|row| key_record(row).map(|record| (record.id, record))).collect()
    }
}

/// A `job_keys` row (`id, provider_id, repo, workflow, name`).
pub(super) fn key_record(row: &sqlx::any::AnyRow) -> Result<JobKeyRecord, StoreError> {
    Ok(JobKeyRecord {
        id: row.try_get("id")?,
        provider: crate::store::rows::provider_from_id(row.try_get("provider_id")?).ok(),
        repo: row.try_get("repo")?,
        workflow: row.try_get("workflow")?,
        name: row.try_get("name")?,
    })
}
