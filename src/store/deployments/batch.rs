//! Writing a derived stream's facts in few statements: the commits its
//! deployments carried as multi-row inserts into `deployment_commits`, and
//! the deployments' `dora_*` columns as one `UPDATE … FROM (VALUES …)` per
//! chunk. Owns only these two statements; what is written is `derive`'s.

use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::lead_days::LeadDeltas;
use super::rows::Stream;
use crate::store::StoreError;

/// Rows per statement (9 binds a commit, 7 a deployment: under every
/// bind limit).
const CHUNK: usize = 200;

/// A commit a deployment carried first in its stream.
#[derive(Debug, Clone)]
pub(super) struct Carried {
    pub deployment: i64,
    pub sha: String,
    /// Walk position, newest first.
    pub position: i64,
    /// Committed (else authored) time, Unix seconds.
    pub time: Option<i64>,
    pub lead: Option<i64>,
    pub finished_at: i64,
}

/// A counted deployment's derived facts.
#[derive(Debug, Clone)]
pub(super) struct FactsUpdate {
    pub id: i64,
    pub state: i64,
    pub signal: Option<i64>,
    pub rollback: i64,
    pub next_success_at: Option<i64>,
    pub opens_outage: i64,
    pub gap: Option<String>,
}

fn marks(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Inserts `carried` of `stream`, in order; a commit the stream already
/// holds keeps its first deployment (as one insert each would). Counts
/// the rows inserted into `deltas` (the lead-time roll-up's).
pub(super) async fn insert_carried(
    conn: &mut AnyConnection,
    stream: &Stream,
    carried: &[Carried],
    deltas: &mut LeadDeltas,
) -> Result<(), StoreError> {
    for chunk in carried.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO deployment_commits (deployment_id, provider_id, repo, environment, sha, position, \
             committed_at, lead_seconds, finished_at) VALUES {} \
             ON CONFLICT (provider_id, repo, environment, sha) DO NOTHING RETURNING finished_at, lead_seconds",
            marks(chunk.len(), 9)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for c in chunk {
            query = query
                .bind(c.deployment)
                .bind(stream.provider_id)
                .bind(stream.repo.as_str())
                .bind(stream.environment.as_str())
                .bind(c.sha.as_str())
                .bind(c.position)
                .bind(c.time)
                .bind(c.lead)
                .bind(c.finished_at);
        }
        for row in query.fetch_all(&mut *conn).await? {
            deltas.add(row.try_get(0)?, row.try_get(1)?, 1);
        }
    }
    Ok(())
}

/// Stores `updates` (and marks the rows derived).
pub(super) async fn update_facts(
    conn: &mut AnyConnection,
    updates: &[FactsUpdate],
) -> Result<(), StoreError> {
    for chunk in updates.chunks(CHUNK) {
        let sql = format!(
            "WITH v (id, st, sig, rb, nxt, outage, gap) AS (VALUES {}) \
             UPDATE deployments SET dora_state = v.st, dora_signal = v.sig, dora_rollback = v.rb, \
             dora_next_success_at = v.nxt, dora_opens_outage = v.outage, dora_gap = v.gap, dora_derived = 1 \
             FROM v WHERE deployments.id = v.id",
            marks(chunk.len(), 7)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for u in chunk {
            query = query
                .bind(u.id)
                .bind(u.state)
                .bind(u.signal)
                .bind(u.rollback)
                .bind(u.next_success_at)
                .bind(u.opens_outage)
                .bind(u.gap.as_deref());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
