//! Writing deployments (inside the write path's transaction), a push's
//! commits, and incidents (their own transaction).

use sqlx::{AnyConnection, Row};

use super::derive::{derive_gaps, derive_stream};
use super::rows::{DEPLOYMENT_COLUMNS, Stream, deployment_from_row};
use crate::domain::deployment::{Deployment, PushedCommits, merge_deployment, tier};
use crate::store::rows::{provider_id, unix};
use crate::store::{Backend, StoreError};

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
/// in first and gains only missing times. Answers the deployments whose
/// commit walk the push completed (derived again: their lead times may
/// have changed).
pub(in crate::store) async fn record_commits(
    conn: &mut AnyConnection,
    pushed: &PushedCommits,
    now: i64,
) -> Result<Vec<i64>, StoreError> {
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
