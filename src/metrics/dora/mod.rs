//! The four DORA keys over a window, from deployments, the commits pushes
//! brought, and incidents. Pure: the store reads, the API answers.
//!
//! Which deployments count: a deployment of a production environment
//! (`--production-environments` globs, or the one environment asked for)
//! with a **final status** — `success`, or `failure`/`error`/`failed`
//! unless its deploy job was allowed to fail. Pending, `inactive`-only,
//! `canceled` and `skipped` deployments count nowhere. A stream is the
//! deployments of one provider, repository and environment, in finishing
//! order.
//!
//! Definitions (the README's definitions table repeats them):
//! - **Deployment frequency**: successful deployments finished in the
//!   window ÷ the window's days (also × 7 per week), and the share of the
//!   window's days (in the asked time zone) with at least one.
//! - **Lead time for changes**: for each commit a successful deployment
//!   carried first in its stream — every commit from the deployed SHA back
//!   to the previous successful deployment's SHA (`lineage`) — deployment
//!   finished − the commit's **committed** time (its authored time when no
//!   committed time is known; GitHub's push payload gives one `timestamp`
//!   per commit, taken as the committed time), clamped at 0. A commit
//!   deployed twice counts at its first deployment. Median and p90 of the
//!   commits whose first deployment finished in the window.
//! - **Change failure rate**: counted deployments finished in the window
//!   that failed, or that succeeded and were followed, before the next
//!   successful deployment of their stream, by a failure signal — the next
//!   success redeploying an earlier SHA (a rollback), or an incident opened
//!   — ÷ counted deployments finished in the window.
//! - **Time to restore**: from the failure signal to the restoration —
//!   the first failed deployment after a success until the stream's next
//!   successful deployment (later failures in between are the same
//!   outage), and each incident from its opening to its resolution. The
//!   median of outages that started in the window and are restored;
//!   unrestored ones are counted beside it.
//! - **Levels**: see `levels` (thresholds of the DORA report, cited there).

pub mod config;
pub mod derive;
pub mod history;
pub mod levels;
pub mod lineage;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::percentile::percentile;
use history::{Deploy, History};
use levels::Level;

/// Deployment frequency.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Frequency {
    /// Successful deployments finished in the window.
    pub deployments: usize,
    pub per_day: f64,
    pub per_week: f64,
    /// Share (0–1) of the window's days with at least one.
    pub days_with_deployment: f64,
    pub level: Option<Level>,
}

/// Lead time for changes.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeadTime {
    /// Commits first deployed in the window with a known commit time.
    pub commits: usize,
    pub median_seconds: Option<f64>,
    pub p90_seconds: Option<f64>,
    pub level: Option<Level>,
}

/// Change failure rate.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChangeFailureRate {
    /// Counted deployments finished in the window.
    pub deployments: usize,
    /// Of them, failed changes.
    pub failed_changes: usize,
    /// `failed_changes ÷ deployments`; `null` without deployments.
    pub rate: Option<f64>,
    pub level: Option<Level>,
}

/// Time to restore.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimeToRestore {
    /// Outages started in the window and restored.
    pub restored: usize,
    /// Outages started in the window not restored yet.
    pub unrestored: usize,
    pub median_seconds: Option<f64>,
    pub level: Option<Level>,
}

/// The four keys of one window.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DoraFigures {
    pub deployment_frequency: Frequency,
    pub lead_time: LeadTime,
    pub change_failure_rate: ChangeFailureRate,
    pub time_to_restore: TimeToRestore,
}

/// Lead time for changes from its count, median and p90 (computed where
/// the lead times are: here, or by the store over stored ones).
pub fn lead_time(commits: usize, median_seconds: Option<f64>, p90_seconds: Option<f64>) -> LeadTime {
    LeadTime { commits, median_seconds, p90_seconds, level: median_seconds.map(levels::lead_time) }
}

/// The four keys of `[from, to)` (`days` long, days counted in `tz`) from
/// `deploys` and their `history` (`history::walk` over at least every
/// deployment before `to` that could precede one in the window).
pub fn figures(
    deploys: &[Deploy],
    history: &History,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: Tz,
) -> DoraFigures {
    let in_window: Vec<&Deploy> =
        deploys.iter().filter(|d| d.finished_at >= from && d.finished_at < to).collect();
    let successes: Vec<&&Deploy> = in_window.iter().filter(|d| !d.failed).collect();
    let deploy_days: HashSet<_> =
        successes.iter().map(|d| d.finished_at.with_timezone(&tz).date_naive()).collect();
    let deployment_frequency = frequency(successes.len(), deploy_days.len(), from, to);
    let mut leads: Vec<f64> = successes
        .iter()
        .filter_map(|d| history.facts.get(&d.id))
        .flat_map(|f| f.leads.iter().map(|&s| s as f64))
        .collect();
    leads.sort_by(f64::total_cmp);
    let lead_time = lead_time(leads.len(), percentile(&leads, 0.5), percentile(&leads, 0.9));
    let failed_changes =
        in_window.iter().filter(|d| history.facts.get(&d.id).is_some_and(|f| f.signal.is_some())).count();
    let change_failure_rate = change_failure_rate(in_window.len(), failed_changes);
    let started: Vec<_> =
        history.outages.iter().filter(|o| o.started_at >= from && o.started_at < to).collect();
    let restores: Vec<i64> = started.iter().filter_map(|o| o.seconds()).collect();
    let time_to_restore = time_to_restore(restores, started.len());
    DoraFigures { deployment_frequency, lead_time, change_failure_rate, time_to_restore }
}

/// Deployment frequency of `[from, to)` from its successful deployments
/// and the number of local days with at least one.
pub fn frequency(successes: usize, deploy_days: usize, from: DateTime<Utc>, to: DateTime<Utc>) -> Frequency {
    let days = ((to - from).num_seconds() as f64 / 86_400.0).max(1.0 / 24.0);
    let per_day = successes as f64 / days;
    Frequency {
        deployments: successes,
        per_day,
        per_week: per_day * 7.0,
        days_with_deployment: (deploy_days as f64 / days.round().max(1.0)).min(1.0),
        level: Some(levels::frequency(per_day)),
    }
}

/// Change failure rate from the counted deployments and the failed changes among them.
pub fn change_failure_rate(deployments: usize, failed_changes: usize) -> ChangeFailureRate {
    let rate = (deployments > 0).then(|| failed_changes as f64 / deployments as f64);
    ChangeFailureRate { deployments, failed_changes, rate, level: rate.map(levels::change_failure_rate) }
}

/// Time to restore from the restored outages' seconds (any order) and the
/// number of outages started in the window.
pub fn time_to_restore(restores: Vec<i64>, started: usize) -> TimeToRestore {
    let mut restores: Vec<f64> = restores.into_iter().map(|s| s as f64).collect();
    restores.sort_by(f64::total_cmp);
    let median = percentile(&restores, 0.5);
    TimeToRestore {
        restored: restores.len(),
        unrestored: started - restores.len(),
        median_seconds: median,
        level: median.map(levels::time_to_restore),
    }
}
