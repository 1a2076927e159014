//! Deriving a stream's DORA facts inside the write transaction: from the
//! last successful deployment before a change onwards, the rules of
//! `crate::metrics::dora::derive` are applied again and the result stored
//! on `deployments` (`dora_*`) and in `deployment_commits` (with the
//! lead-time roll-up `deployment_lead_days`, `lead_days`). Start-up
//! derives the streams nothing derived yet (rows from before migration
//! 0021, a `db copy`).

use std::collections::HashSet;

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::batch::{Carried, FactsUpdate, insert_carried, update_facts};
use super::lead_days::{LeadDeltas, apply, clear_stream};
use super::lineage::Pushes;
use super::rows::{Stream, signal_code};
use crate::metrics::dora::derive::{StreamDeploy, derive};
use crate::store::{Deployments, StoreError};

const STREAM: &str = "provider_id = $1 AND repo = $2 AND environment = $3";

/// Derives `stream` again from the last successful deployment finished
/// before `from` (`(finished_at, id)`; `None`: the whole stream).
pub(super) async fn derive_stream(
    conn: &mut AnyConnection,
    stream: &Stream,
    from: Option<(i64, i64)>,
) -> Result<(), StoreError> {
    let anchor = match from {
        None => None,
        Some((at, id)) => sqlx::query(AssertSqlSafe(format!(
            "SELECT id, sha, finished_at FROM deployments WHERE {STREAM} AND dora_state = 0 \
             AND (finished_at < $4 OR (finished_at = $4 AND id < $5)) ORDER BY finished_at DESC, id DESC LIMIT 1"
        )))
        .bind(stream.provider_id)
        .bind(stream.repo.as_str())
        .bind(stream.environment.as_str())
        .bind(at)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| -> Result<StreamDeploy, StoreError> {
            Ok(StreamDeploy { id: row.try_get(0)?, sha: row.try_get(1)?, finished_at: row.try_get(2)?, failed: false })
        })
        .transpose()?,
    };
    let (after_at, after_id) = anchor.as_ref().map_or((i64::MIN, i64::MIN), |a| (a.finished_at, a.id));
    let rows = sqlx::query(
        "SELECT d.id, d.sha, d.finished_at, d.outcome, COALESCE(j.allow_failure, 0) FROM deployments d \
         LEFT JOIN jobs j ON j.provider_id = d.provider_id AND j.external_id = d.job_id \
         WHERE d.provider_id = $1 AND d.repo = $2 AND d.environment = $3 AND d.finished_at IS NOT NULL \
         AND (d.finished_at > $4 OR (d.finished_at = $4 AND d.id > $5)) ORDER BY d.finished_at, d.id",
    )
    .bind(stream.provider_id)
    .bind(stream.repo.as_str())
    .bind(stream.environment.as_str())
    .bind(after_at)
    .bind(after_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut batch = Vec::with_capacity(rows.len());
    let mut uncounted = Vec::new();
    for row in &rows {
        let id: i64 = row.try_get(0)?;
        let outcome: Option<i64> = row.try_get(3)?;
        let allowed: i64 = row.try_get(4)?;
        let failed = match outcome {
            Some(0) => false,
            Some(1) if allowed == 0 => true,
            _ => {
                uncounted.push(id);
                continue;
            }
        };
        batch.push(StreamDeploy { id, sha: row.try_get(1)?, finished_at: row.try_get(2)?, failed });
    }
    let earlier_heads = earlier_heads(conn, stream, anchor.as_ref(), &batch).await?;
    // The lead-time roll-up loses what is deleted here and gains what
    // `insert_carried` inserts; derived whole, the stream's is rebuilt.
    let mut deltas = LeadDeltas::default();
    if anchor.is_none() {
        clear_stream(conn, stream).await?;
    }
    let deleted = sqlx::query(AssertSqlSafe(format!(
        "DELETE FROM deployment_commits WHERE {STREAM} AND (finished_at > $4 OR (finished_at = $4 AND deployment_id > $5)) \
         RETURNING finished_at, lead_seconds"
    )))
    .bind(stream.provider_id)
    .bind(stream.repo.as_str())
    .bind(stream.environment.as_str())
    .bind(after_at)
    .bind(after_id)
    .fetch_all(&mut *conn)
    .await?;
    if anchor.is_some() {
        for row in &deleted {
            deltas.add(row.try_get(0)?, row.try_get(1)?, -1);
        }
    }
    for id in uncounted {
        sqlx::query(
            "UPDATE deployments SET dora_state = NULL, dora_signal = NULL, dora_rollback = 0, \
             dora_next_success_at = NULL, dora_opens_outage = 0, dora_gap = NULL, dora_derived = 1 WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    let mut pushes = Pushes::new(stream.provider_id, &stream.repo);
    let offset = usize::from(anchor.is_some());
    let mut carried: Vec<Carried> = Vec::new();
    let mut updates: Vec<FactsUpdate> = Vec::with_capacity(batch.len());
    for (i, facts) in derive(anchor.as_ref(), &batch, &earlier_heads).into_iter().enumerate() {
        let is_anchor = i < offset;
        let deploy = if is_anchor { anchor.as_ref() } else { batch.get(i - offset) };
        let Some(deploy) = deploy else { continue };
        let mut gap: Option<String> = None;
        if !deploy.failed
            && !is_anchor
            && let Some(sha) = deploy.sha.as_deref()
        {
            let walked = pushes.walk(conn, sha, facts.previous_sha.as_deref()).await?;
            gap = walked.gap;
            for (position, (commit, time)) in walked.commits.into_iter().enumerate() {
                let lead = time.map(|t| (deploy.finished_at - t).max(0));
                carried.push(Carried {
                    deployment: deploy.id,
                    sha: commit,
                    position: position as i64,
                    time,
                    lead,
                    finished_at: deploy.finished_at,
                });
            }
        }
        if is_anchor {
            // The anchor keeps its own rollback, commits and gap; its
            // signal and next success depend on the batch.
            sqlx::query("UPDATE deployments SET dora_signal = $1, dora_next_success_at = $2 WHERE id = $3")
                .bind(signal_code(facts.signal))
                .bind(facts.next_success_at)
                .bind(deploy.id)
                .execute(&mut *conn)
                .await?;
            continue;
        }
        updates.push(FactsUpdate {
            id: deploy.id,
            state: i64::from(deploy.failed),
            signal: signal_code(facts.signal),
            rollback: i64::from(facts.rollback),
            next_success_at: facts.next_success_at,
            opens_outage: i64::from(facts.opens_outage),
            gap,
        });
    }
    insert_carried(conn, stream, &carried, &mut deltas).await?;
    apply(conn, stream, deltas).await?;
    update_facts(conn, &updates).await?;
    Ok(())
}

/// The SHAs of `batch` deployed successfully at or before `anchor`.
async fn earlier_heads(
    conn: &mut AnyConnection,
    stream: &Stream,
    anchor: Option<&StreamDeploy>,
    batch: &[StreamDeploy],
) -> Result<HashSet<String>, StoreError> {
    let Some(anchor) = anchor else { return Ok(HashSet::new()) };
    let shas: Vec<&str> = batch
        .iter()
        .filter(|d| !d.failed)
        .filter_map(|d| d.sha.as_deref())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut out = HashSet::new();
    for chunk in shas.chunks(200) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 6)).collect();
        let sql = format!(
            "SELECT DISTINCT sha FROM deployments WHERE {STREAM} AND dora_state = 0 \
             AND (finished_at < $4 OR (finished_at = $4 AND id <= $5)) AND sha IN ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(stream.provider_id)
            .bind(stream.repo.as_str())
            .bind(stream.environment.as_str())
            .bind(anchor.finished_at)
            .bind(anchor.id);
        for sha in chunk {
            query = query.bind(*sha);
        }
        for row in query.fetch_all(&mut *conn).await? {
            out.insert(row.try_get(0)?);
        }
    }
    Ok(out)
}

/// Derives again the streams whose commit walk stopped at one of `shas`
/// of `repo` (a push that now names it), from the earliest such deployment;
/// answers those deployments' ids (their lead times may have changed).
pub(super) async fn derive_gaps(
    conn: &mut AnyConnection,
    provider_id: i64,
    repo: &str,
    shas: &[&str],
) -> Result<Vec<i64>, StoreError> {
    let mut first: std::collections::HashMap<String, (i64, i64)> = std::collections::HashMap::new();
    for chunk in shas.chunks(200) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT environment, finished_at, id FROM deployments WHERE repo = $1 AND dora_gap IN ({}) \
             AND provider_id = $2 AND finished_at IS NOT NULL",
            marks.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(repo).bind(provider_id);
        for sha in chunk {
            query = query.bind(*sha);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let at = (row.try_get::<i64, _>(1)?, row.try_get::<i64, _>(2)?);
            let entry = first.entry(row.try_get(0)?).or_insert(at);
            *entry = (*entry).min(at);
        }
    }
    let mut derived = Vec::with_capacity(first.len());
    for (environment, at) in first {
        let stream = Stream { provider_id, repo: repo.to_owned(), environment };
        derive_stream(conn, &stream, Some(at)).await?;
        derived.push(at.1);
    }
    Ok(derived)
}

impl Deployments<'_> {
    /// Derives every stream with a finished deployment not derived yet,
    /// one transaction per stream; answers the streams derived.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn derive_pending(&self) -> Result<usize, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT provider_id, repo, environment FROM deployments \
             WHERE dora_derived = 0 AND finished_at IS NOT NULL",
        )
        .fetch_all(&self.write)
        .await?;
        let mut streams = Vec::with_capacity(rows.len());
        for row in &rows {
            streams.push(Stream {
                provider_id: row.try_get(0)?,
                repo: row.try_get(1)?,
                environment: row.try_get(2)?,
            });
        }
        for stream in &streams {
            let mut tx = crate::store::begin_write_on(&self.write, self.backend).await?;
            derive_stream(&mut tx, stream, None).await?;
            tx.commit().await?;
        }
        Ok(streams.len())
    }
}
