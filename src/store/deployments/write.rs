//! Writing deployments (inside the write path's transaction), a push's
//! commits, and incidents (their own transaction).

use sqlx::{AnyConnection, Row};

use super::derive::{Stream, derive_gaps, derive_stream};
use crate::domain::RepoName;
use crate::domain::deployment::{
    Deployment, DeploymentStatus, Incident, PushedCommits, merge_deployment, tier,
};
use crate::domain::time::from_unix;
use crate::store::rows::{provider_from_id, provider_id, unix};
use crate::store::{Backend, StoreError};

pub(super) const DEPLOYMENT_COLUMNS: &str = "d.id, d.provider_id, d.repo, d.external_id, d.environment, \
     d.sha, d.ref, d.job_id, d.url, d.created_at, d.status, d.status_at";

const INSERT: &str = "INSERT INTO deployments (provider_id, repo, external_id, environment, sha, ref, \
     job_id, url, created_at, status, status_at, status_tier, outcome, finished_at, changed_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
     ON CONFLICT (provider_id, repo, external_id) DO NOTHING RETURNING id";

const UPDATE: &str = "UPDATE deployments SET provider_id = $1, repo = $2, external_id = $3, \
     environment = $4, sha = $5, ref = $6, job_id = $7, url = $8, created_at = $9, status = $10, \
     status_at = $11, status_tier = $12, outcome = $13, finished_at = $14, changed_at = $15 WHERE id = $16";

const INSERT_COMMIT: &str = "INSERT INTO commits (provider_id, repo, sha, authored_at, committed_at, \
     ref, push_head, push_before, position, first_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (provider_id, repo, sha) DO UPDATE SET \
     authored_at = COALESCE(commits.authored_at, excluded.authored_at), \
     committed_at = COALESCE(commits.committed_at, excluded.committed_at)";

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

fn bind<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    d: &Deployment,
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let state = d.status.as_ref().map(|s| s.state.clone());
    query
        .bind(provider_id(d.provider))
        .bind(d.repo.as_str().to_owned())
        .bind(d.deployment_id.clone())
        .bind(d.environment.clone())
        .bind(d.sha.clone())
        .bind(d.git_ref.clone())
        .bind(d.job_id.clone())
        .bind(d.url.clone())
        .bind(unix(d.created_at))
        .bind(state.clone())
        .bind(unix(d.status.as_ref().map(|s| s.at)))
        .bind(state.as_deref().map_or(0, tier))
        .bind(d.outcome().code())
        .bind(unix(d.finished_at()))
        .bind(now)
}

async fn select(
    conn: &mut AnyConnection,
    backend: Backend,
    d: &Deployment,
) -> Result<Option<(i64, Deployment)>, StoreError> {
    let lock = if backend == Backend::Postgres { " FOR UPDATE" } else { "" };
    let sql = format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.provider_id = $1 AND d.repo = $2 \
         AND d.external_id = $3{lock}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(provider_id(d.provider))
        .bind(d.repo.as_str())
        .bind(d.deployment_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(deployment_from_row).transpose()
}

/// Inserts or merges one deployment's change on `conn` (inside the write
/// path's transaction, under the row's lock); answers the row's id when
/// it was created or changed.
pub(in crate::store) async fn upsert_deployment(
    conn: &mut AnyConnection,
    backend: Backend,
    incoming: &Deployment,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let stored = match select(conn, backend, incoming).await? {
        Some(found) => found,
        None => {
            if let Some(row) = bind(sqlx::query(INSERT), incoming, now).fetch_optional(&mut *conn).await? {
                let id = row.try_get(0)?;
                rederive(conn, None, (id, incoming)).await?;
                return Ok(Some(id));
            }
            select(conn, backend, incoming).await?.ok_or_else(|| {
                StoreError::Invariant("a deployment row vanished inside its transaction".into())
            })?
        }
    };
    let (id, stored) = stored;
    let merged = merge_deployment(&stored, incoming);
    if merged == stored {
        return Ok(None);
    }
    bind(sqlx::query(UPDATE), &merged, now).bind(id).execute(&mut *conn).await?;
    rederive(conn, Some(&stored), (id, &merged)).await?;
    Ok(Some(id))
}

fn stream_of(d: &Deployment) -> Stream {
    Stream {
        provider_id: provider_id(d.provider),
        repo: d.repo.as_str().to_owned(),
        environment: d.environment.clone(),
    }
}

/// Derives the DORA facts again after deployment `id` changed from
/// `before` (`None`: new) to `after`: its stream from the earlier of its
/// old and new finishing positions (and its old stream, if it moved).
async fn rederive(
    conn: &mut AnyConnection,
    before: Option<&Deployment>,
    (id, after): (i64, &Deployment),
) -> Result<(), StoreError> {
    let position = |d: &Deployment| d.finished_at().map(|at| (at.timestamp(), id));
    let old = before.and_then(position);
    let new = position(after);
    if let Some(before) = before
        && before.outcome() == after.outcome()
        && before.finished_at() == after.finished_at()
        && before.sha == after.sha
        && stream_of(before) == stream_of(after)
    {
        return Ok(());
    }
    match (before, old) {
        (Some(before), Some(old)) if stream_of(before) != stream_of(after) => {
            derive_stream(conn, &stream_of(before), Some(old)).await?;
            if let Some(new) = new {
                derive_stream(conn, &stream_of(after), Some(new)).await?;
            }
        }
        _ => {
            if let Some(from) = [old, new].into_iter().flatten().min() {
                derive_stream(conn, &stream_of(after), Some(from)).await?;
            }
        }
    }
    Ok(())
}

/// Records a push's commits: a commit already known keeps the push it came
/// in first and gains only missing times.
pub(in crate::store) async fn record_commits(
    conn: &mut AnyConnection,
    pushed: &PushedCommits,
    now: i64,
) -> Result<(), StoreError> {
    for (position, commit) in pushed.commits.iter().enumerate() {
        sqlx::query(INSERT_COMMIT)
            .bind(provider_id(pushed.provider))
            .bind(pushed.repo.as_str())
            .bind(commit.sha.as_str())
            .bind(unix(commit.authored_at))
            .bind(unix(commit.committed_at))
            .bind(pushed.git_ref.as_deref())
            .bind(pushed.head.as_str())
            .bind(pushed.before.as_deref())
            .bind(position as i64)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    let shas: Vec<&str> =
        pushed.commits.iter().map(|c| c.sha.as_str()).chain([pushed.head.as_str()]).collect();
    derive_gaps(conn, provider_id(pushed.provider), pushed.repo.as_str(), &shas).await
}

/// What recording an incident did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentWrite {
    Created,
    Changed,
    Unchanged,
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
    })
}

pub(super) fn incident_row(row: &sqlx::any::AnyRow) -> Result<Incident, StoreError> {
    incident_from_row(row)
}

pub(super) const INCIDENT_SELECT: &str = INCIDENT_COLUMNS;
