//! The deployment store's shared row shapes: a stream's key, the stored
//! codes of a failure signal, and decoding deployment and incident rows.
//! Read by `write`, `read`, `derive`, `batch`, `facts`, `lead_days` and
//! `incident_tx`; imports none of them. Owns no SQL beyond column lists.

use sqlx::Row;

use crate::domain::RepoName;
use crate::domain::deployment::{Deployment, DeploymentStatus, Incident};
use crate::domain::time::from_unix;
use crate::metrics::dora::history::Signal;
use crate::store::StoreError;
use crate::store::rows::provider_from_id;

/// One stream: provider id, repository, environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Stream {
    pub provider_id: i64,
    pub repo: String,
    pub environment: String,
}

pub(super) fn signal_code(signal: Option<Signal>) -> Option<i64> {
    match signal {
        Some(Signal::Failed) => Some(1),
        Some(Signal::RolledBack) => Some(2),
        Some(Signal::Incident) | None => None,
    }
}

pub(super) fn signal_of(code: Option<i64>) -> Option<Signal> {
    match code {
        Some(1) => Some(Signal::Failed),
        Some(2) => Some(Signal::RolledBack),
        _ => None,
    }
}

pub(super) const DEPLOYMENT_COLUMNS: &str = "d.id, d.provider_id, d.repo, d.external_id, d.environment, \
     d.sha, d.ref, d.job_id, d.url, d.created_at, d.status, d.status_at";

/// Decodes a [`DEPLOYMENT_COLUMNS`] row.
pub(super) fn deployment_from_row(row: &sqlx::any::AnyRow) -> Result<(i64, Deployment), StoreError> {
    let status = match (row.try_get::<Option<String>, _>(10)?, row.try_get::<Option<i64>, _>(11)?) {
        (Some(state), Some(at)) => from_unix(at).map(|at| DeploymentStatus { state, at }),
        _ => None,
    };
    let deployment = Deployment {
        provider: provider_from_id(row.try_get(1)?)?,
        repo: RepoName::from(row.try_get::<String, _>(2)?),
        deployment_id: row.try_get(3)?,
        environment: row.try_get(4)?,
        sha: row.try_get(5)?,
        git_ref: row.try_get(6)?,
        job_id: row.try_get(7)?,
        url: row.try_get(8)?,
        created_at: row.try_get::<Option<i64>, _>(9)?.and_then(from_unix),
        status,
    };
    Ok((row.try_get(0)?, deployment))
}

const INCIDENT_COLUMNS: &str = "external_id, repo, environment, title, url, opened_at, resolved_at";

fn incident_from_row(row: &sqlx::any::AnyRow) -> Result<Incident, StoreError> {
    Ok(Incident {
        incident_id: row.try_get(0)?,
        repo: row.try_get(1)?,
        environment: row.try_get(2)?,
        title: row.try_get(3)?,
        url: row.try_get(4)?,
        opened_at: from_unix(row.try_get(5)?)
            .ok_or_else(|| StoreError::Invariant("an incident's opening is out of range".into()))?,
        resolved_at: row.try_get::<Option<i64>, _>(6)?.and_then(from_unix),
        resolved_now: false,
    })
}

pub(super) fn incident_row(row: &sqlx::any::AnyRow) -> Result<Incident, StoreError> {
    incident_from_row(row)
}

pub(super) const INCIDENT_SELECT: &str = INCIDENT_COLUMNS;
