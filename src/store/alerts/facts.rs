//! What alert rules read about builds: one build's facts, the same
//! pipeline's previous conclusive build and recent durations, the alerts
//! already sent for it (all on the evaluating transaction's connection),
//! and for the periodic rules the unfinished builds and failure-rate groups.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::BuildStatus;
use crate::store::Alerts;
use crate::store::xact_lock::{LockKey, lock_until_commit};
use crate::store::{Backend, StoreError};

/// What rules read about one build (run attempt). Times are Unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildFacts {
    pub id: i64,
    pub repo: String,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub event: Option<String>,
    /// The provider's kind (`github`, `gitlab`, …).
    pub provider: String,
    /// Normalised status.
    pub status: BuildStatus,
    pub conclusion: Option<String>,
    pub commit_sha: Option<String>,
    pub triggered_by: Option<String>,
    pub url: Option<String>,
    pub run_number: Option<i64>,
    pub run_attempt: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub duration_seconds: Option<i64>,
    /// Ordering key: `started_at`, 0 when unknown.
    pub sort_at: i64,
}

const FACT_COLUMNS: &str = "id, repo, workflow, branch, event, \
     (SELECT p.kind FROM providers p WHERE p.id = builds.provider_id) AS provider_kind, status, conclusion, commit_sha, \
     triggered_by, url, run_number, run_attempt, started_at, finished_at, duration_seconds, sort_at";

fn facts_from_row(row: &AnyRow) -> Result<BuildFacts, sqlx::Error> {
    Ok(BuildFacts {
        id: row.try_get("id")?,
        repo: row.try_get("repo")?,
        workflow: row.try_get("workflow")?,
        branch: row.try_get("branch")?,
        event: row.try_get("event")?,
        provider: row.try_get("provider_kind")?,
        status: BuildStatus::from_stored(row.try_get("status")?),
        conclusion: row.try_get("conclusion")?,
        commit_sha: row.try_get("commit_sha")?,
        triggered_by: row.try_get("triggered_by")?,
        url: row.try_get("url")?,
        run_number: row.try_get("run_number")?,
        run_attempt: row.try_get("run_attempt")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        duration_seconds: row.try_get("duration_seconds")?,
        sort_at: row.try_get("sort_at")?,
    })
}

/// `(repo, workflow, branch, event)` with failed and conclusive counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateGroup {
    pub repo: String,
    /// The provider's kind (`github`, `gitlab`, …).
    pub provider: String,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub event: Option<String>,
    pub failed: i64,
    pub conclusive: i64,
}

/// Same (repo, workflow, branch) as `$1, $2, $3` on build `$5`'s provider (one
/// repository name on two providers is two pipelines), before (or after)
/// build `($4 sort_at, $5 id)` in start order.
const SAME_KEY: &str = "repo = $1 AND COALESCE(workflow, '') = $2 AND COALESCE(branch, '') = $3 \
     AND provider_id = (SELECT b0.provider_id FROM builds b0 WHERE b0.id = $5)";

const BEFORE: &str = "(sort_at < $4 OR (sort_at = $4 AND id < $5))";

fn bind_key<'q>(
    sql: String,
    facts: &'q BuildFacts,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(AssertSqlSafe(sql))
        .bind(facts.repo.as_str())
        .bind(facts.workflow.as_deref().unwrap_or(""))
        .bind(facts.branch.as_deref().unwrap_or(""))
        .bind(facts.sort_at)
        .bind(facts.id)
}

/// One build's facts.
pub async fn build_facts(conn: &mut AnyConnection, build_id: i64) -> Result<Option<BuildFacts>, StoreError> {
    let sql = format!("SELECT {FACT_COLUMNS} FROM builds WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql)).bind(build_id).fetch_optional(&mut *conn).await?;
    Ok(row.as_ref().map(facts_from_row).transpose()?)
}

/// PostgreSQL: serialises the evaluation of one (repo, workflow, branch)
/// until the transaction ends, so two replicas finishing builds of the same
/// pipeline at once see each other's outcome. SQLite writers are serial.
pub async fn lock_key(conn: &mut AnyConnection, backend: Backend, key: &str) -> Result<(), StoreError> {
    lock_until_commit(conn, backend, LockKey::Name(key)).await
}

/// The latest conclusive (`success`/`failed`) build of the same pipeline
/// started before `facts`: `(id, status, sort_at)`.
pub async fn previous_conclusive(
    conn: &mut AnyConnection,
    facts: &BuildFacts,
    statuses: &[BuildStatus],
) -> Result<Option<(i64, BuildStatus, i64)>, StoreError> {
    // Only the enum's own names are formatted in.
    let list: Vec<String> = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let sql = format!(
        "SELECT id, status, sort_at FROM builds WHERE {SAME_KEY} AND {BEFORE} AND status IN ({}) \
         ORDER BY sort_at DESC, id DESC LIMIT 1",
        list.join(", ")
    );
    let row = bind_key(sql, facts).fetch_optional(&mut *conn).await?;
    Ok(row
        .map(|r| {
            let status = BuildStatus::from_stored(r.try_get("status")?);
            Ok::<_, sqlx::Error>((r.try_get("id")?, status, r.try_get("sort_at")?))
        })
        .transpose()?)
}

/// Whether a failure alert (`build_failed` or `started_failing`, not
/// suppressed) exists for a failed build of the pipeline started after
/// `since` (`(sort_at, id)`, exclusive) and before `facts`.
pub async fn failure_alerted_since(
    conn: &mut AnyConnection,
    facts: &BuildFacts,
    since: (i64, i64),
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM alerts WHERE kind IN ('build_failed', 'started_failing') \
         AND status <> 'suppressed' AND build_id IN (SELECT id FROM builds WHERE {SAME_KEY} AND {BEFORE} \
         AND status = 'failed' AND (sort_at > $6 OR (sort_at = $6 AND id > $7)))"
    );
    let row = bind_key(sql, facts).bind(since.0).bind(since.1).fetch_one(&mut *conn).await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

/// Durations (seconds) of up to `limit` conclusive builds of the pipeline
/// started before `facts`, newest first.
pub async fn recent_durations(
    conn: &mut AnyConnection,
    facts: &BuildFacts,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let sql = format!(
        "SELECT duration_seconds FROM builds WHERE {SAME_KEY} AND {BEFORE} \
         AND status IN ('success', 'failed') AND duration_seconds IS NOT NULL \
         ORDER BY sort_at DESC, id DESC LIMIT {limit}"
    );
    let rows = bind_key(sql, facts).fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(|r| r.try_get("duration_seconds")).collect::<Result<_, _>>()?)
}

/// Whether rule `rule_id` alerted about `rule_key` after `since` (Unix s).
pub async fn alerted_since(
    conn: &mut AnyConnection,
    rule_id: &str,
    rule_key: &str,
    since: i64,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM alerts WHERE rule_id = $1 AND rule_key = $2 AND created_at > $3",
    )
    .bind(rule_id)
    .bind(rule_key)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get::<i64, _>("n")? > 0)
}

impl Alerts<'_> {
    /// Builds queued or running whose start lies between `from` and `until`
    /// (Unix seconds).
    pub async fn unfinished_builds(&self, from: i64, until: i64) -> Result<Vec<BuildFacts>, StoreError> {
        let sql = format!(
            "SELECT {FACT_COLUMNS} FROM builds WHERE status IN ('queued', 'running') \
             AND sort_at > $1 AND sort_at <= $2 ORDER BY sort_at, id LIMIT 1000"
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(from).bind(until).fetch_all(&self.read).await?;
        Ok(rows.iter().map(facts_from_row).collect::<Result<_, _>>()?)
    }

    /// Failed and conclusive (`success` + `failed`) counts per (repo,
    /// workflow, branch, event) of the builds started after `since`.
    pub async fn rate_groups(&self, since: i64) -> Result<Vec<RateGroup>, StoreError> {
        let rows = sqlx::query(
            "SELECT repo, workflow, branch, event, \
             (SELECT p.kind FROM providers p WHERE p.id = builds.provider_id) AS provider_kind, \
             CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
             CAST(COUNT(*) AS BIGINT) AS conclusive FROM builds \
             WHERE sort_at > $1 AND status IN ('success', 'failed') GROUP BY repo, workflow, branch, event, provider_id",
        )
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RateGroup {
                    repo: r.try_get("repo")?,
                    provider: r.try_get("provider_kind")?,
                    workflow: r.try_get("workflow")?,
                    branch: r.try_get("branch")?,
                    event: r.try_get("event")?,
                    failed: r.try_get("failed")?,
                    conclusive: r.try_get("conclusive")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
