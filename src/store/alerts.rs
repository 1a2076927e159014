//! SQL of alerts: the stored configuration (`alert_config`), the facts rule
//! evaluation reads (inside the ingest transaction, on its connection) and
//! enqueuing into the outbox (`alerts`: each alert once). Claiming,
//! finishing and the history queries are in `alerts_outbox`. What the
//! rules mean lives in `crate::alerts`; this file only reads and writes rows.

use crate::secret_box::SecretBox;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::{Backend, Store, StoreError};

pub use super::alerts_outbox::{AlertFilter, AlertRecord, SendResult};

/// The stored configuration document.
#[derive(Debug, Clone)]
pub struct StoredConfig {
    /// JSON text of `crate::alerts::config::AlertConfig` (secrets included).
    pub document: String,
    /// `"api"` or `"environment"`.
    pub source: String,
    /// Unix seconds.
    pub updated_at: i64,
}

/// What rules read about one build (run attempt). Times are Unix seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildFacts {
    pub id: i64,
    pub repo: String,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub event: Option<String>,
    /// Normalised status (`crate::domain::BuildStatus` names).
    pub status: String,
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

const FACT_COLUMNS: &str = "id, repo, workflow, branch, event, status, conclusion, commit_sha, \
     triggered_by, url, run_number, run_attempt, started_at, finished_at, duration_seconds, sort_at";

fn facts_from_row(row: &AnyRow) -> Result<BuildFacts, sqlx::Error> {
    Ok(BuildFacts {
        id: row.try_get("id")?,
        repo: row.try_get("repo")?,
        workflow: row.try_get("workflow")?,
        branch: row.try_get("branch")?,
        event: row.try_get("event")?,
        status: row.try_get("status")?,
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

/// An alert to enqueue (one channel).
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub rule_id: String,
    pub kind: String,
    pub channel_id: String,
    pub channel_type: String,
    /// Once-only key within (rule, channel): the build id, or a rule key and
    /// time bucket.
    pub dedup_key: String,
    /// `repo|workflow|branch`, the cooldown key.
    pub rule_key: String,
    pub build_id: Option<i64>,
    pub repo: Option<String>,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub subject: String,
    /// JSON text: what the templates show.
    pub details: String,
    /// `pending`, or `suppressed` (with `error` saying why).
    pub status: String,
    pub error: Option<String>,
    pub created_at: i64,
}

/// `(repo, workflow, branch, event)` with failed and conclusive counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateGroup {
    pub repo: String,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub event: Option<String>,
    pub failed: i64,
    pub conclusive: i64,
}

/// Where one (rule, rule key) stands within one `enqueue_alerts` call.
#[derive(Clone, Copy)]
enum Slot<'a> {
    /// It alerted within its cooldown: nothing now.
    Cooling,
    /// Nothing inserted yet (earlier candidates were duplicates).
    Open,
    /// This dedup key was inserted; only its other channels may follow.
    Chosen(&'a str),
}

/// Same (repo, workflow, branch) as `$1, $2, $3`, before (or after) build
/// `($4 sort_at, $5 id)` in start order.
const SAME_KEY: &str = "repo = $1 AND COALESCE(workflow, '') = $2 AND COALESCE(branch, '') = $3";
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

/// The configuration document, read on the caller's connection and opened
/// with `secrets` when it is sealed.
///
/// Errors: a sealed document without the key that sealed it.
pub async fn config_on(
    conn: &mut AnyConnection,
    secrets: Option<&SecretBox>,
) -> Result<Option<String>, StoreError> {
    let row =
        sqlx::query("SELECT document FROM alert_config WHERE id = 1").fetch_optional(&mut *conn).await?;
    let document: Option<String> = row.map(|r| r.try_get("document")).transpose()?;
    document.map(|d| open_document(d, secrets)).transpose()
}

/// A stored document as text: opened when sealed (see `secret_box`).
fn open_document(document: String, secrets: Option<&SecretBox>) -> Result<String, StoreError> {
    if !SecretBox::is_sealed(&document) {
        return Ok(document);
    }
    match secrets {
        Some(secrets) => secrets.open(&document).map_err(StoreError::Config),
        None => Err(StoreError::Config(
            "the stored alert configuration is encrypted: set CICD_SECRET_KEY (or CICD_SECRET_KEY_FILE) \
             to the key it was stored with"
                .into(),
        )),
    }
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
    if backend == Backend::Postgres {
        sqlx::query(
            "SELECT CAST(1 AS BIGINT) AS locked FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS l",
        )
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The latest conclusive (`success`/`failed`) build of the same pipeline
/// started before `facts`: `(id, status, sort_at)`.
pub async fn previous_conclusive(
    conn: &mut AnyConnection,
    facts: &BuildFacts,
    statuses: &[&str],
) -> Result<Option<(i64, String, i64)>, StoreError> {
    let list: Vec<String> = statuses.iter().map(|s| format!("'{s}'")).collect();
    let sql = format!(
        "SELECT id, status, sort_at FROM builds WHERE {SAME_KEY} AND {BEFORE} AND status IN ({}) \
         ORDER BY sort_at DESC, id DESC LIMIT 1",
        list.join(", ")
    );
    let row = bind_key(sql, facts).fetch_optional(&mut *conn).await?;
    Ok(row
        .map(|r| Ok::<_, sqlx::Error>((r.try_get("id")?, r.try_get("status")?, r.try_get("sort_at")?)))
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

/// Enqueues one alert unless (rule, dedup key, channel) exists; answers
/// its id when it was new.
pub async fn insert_alert(conn: &mut AnyConnection, alert: &NewAlert) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "INSERT INTO alerts (rule_id, kind, channel_id, channel_type, dedup_key, rule_key, build_id, \
         repo, workflow, branch, subject, details, status, error, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
         ON CONFLICT (rule_id, dedup_key, channel_id) DO NOTHING RETURNING id",
    )
    .bind(alert.rule_id.as_str())
    .bind(alert.kind.as_str())
    .bind(alert.channel_id.as_str())
    .bind(alert.channel_type.as_str())
    .bind(alert.dedup_key.as_str())
    .bind(alert.rule_key.as_str())
    .bind(alert.build_id)
    .bind(alert.repo.as_deref())
    .bind(alert.workflow.as_deref())
    .bind(alert.branch.as_deref())
    .bind(alert.subject.as_str())
    .bind(alert.details.as_str())
    .bind(alert.status.as_str())
    .bind(alert.error.as_deref())
    .bind(alert.created_at)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|row| row.try_get::<i64, _>("id")).transpose()?)
}

impl Store {
    /// The stored alert configuration, if any.
    pub async fn alert_config(&self) -> Result<Option<StoredConfig>, StoreError> {
        let row = sqlx::query("SELECT document, source, updated_at FROM alert_config WHERE id = 1")
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok::<_, StoreError>(StoredConfig {
                document: open_document(r.try_get("document")?, self.secret_box())?,
                source: r.try_get("source")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .transpose()
    }

    /// Seals a stored plain-text configuration once a key is configured;
    /// answers whether it did.
    ///
    /// Errors: a sealed configuration with no key, or one that does not
    /// open with this key (a start-up error: nothing can be sent).
    pub async fn seal_stored_alert_config(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT document, source, updated_at FROM alert_config WHERE id = 1")
            .fetch_optional(&self.write)
            .await?;
        let Some(row) = row else { return Ok(false) };
        let document: String = row.try_get("document")?;
        let plain = open_document(document.clone(), self.secret_box())?;
        if SecretBox::is_sealed(&document) || self.secret_box().is_none() {
            return Ok(false);
        }
        let source: String = row.try_get("source")?;
        let updated_at: i64 = row.try_get("updated_at")?;
        self.save_alert_config(&plain, &source, updated_at, false).await
    }

    /// Whether documents are sealed when stored.
    pub fn seals_secrets(&self) -> bool {
        self.secret_box().is_some()
    }

    /// Stores (replaces) the configuration document. With `only_if_absent`,
    /// writes nothing when one is stored; answers whether it wrote.
    pub async fn save_alert_config(
        &self,
        document: &str,
        source: &str,
        now: i64,
        only_if_absent: bool,
    ) -> Result<bool, StoreError> {
        let sql = if only_if_absent {
            "INSERT INTO alert_config (id, document, source, updated_at) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO NOTHING"
        } else {
            "INSERT INTO alert_config (id, document, source, updated_at) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET document = excluded.document, source = excluded.source, \
             updated_at = excluded.updated_at"
        };
        let stored = match self.secret_box() {
            Some(secrets) => secrets.seal(document).map_err(StoreError::Config)?,
            None => document.to_owned(),
        };
        let done = sqlx::query(sql).bind(stored).bind(source).bind(now).execute(&self.write).await?;
        Ok(done.rows_affected() == 1)
    }

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
             CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT) AS failed, \
             CAST(COUNT(*) AS BIGINT) AS conclusive FROM builds \
             WHERE sort_at > $1 AND status IN ('success', 'failed') GROUP BY repo, workflow, branch, event",
        )
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RateGroup {
                    repo: r.try_get("repo")?,
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

    /// Enqueues alerts from periodic rules in one transaction; an alert whose
    /// (rule, rule key) alerted after `cooldown_since[i]` is skipped.
    /// Answers how many were new (each announced as a change event).
    pub async fn enqueue_alerts(&self, alerts: &[(NewAlert, i64)]) -> Result<usize, StoreError> {
        if alerts.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let mut added = Vec::new();
        // Per (rule, rule key): one alert (one dedup key, every channel) per call.
        let mut decided: Vec<(&str, &str, Slot<'_>)> = Vec::new();
        for (alert, cooldown_since) in alerts {
            let (rule, key, dedup) =
                (alert.rule_id.as_str(), alert.rule_key.as_str(), alert.dedup_key.as_str());
            let slot = match decided.iter().position(|(r, k, _)| (*r, *k) == (rule, key)) {
                Some(i) => i,
                None => {
                    let cooling = alerted_since(&mut tx, rule, key, *cooldown_since).await?;
                    decided.push((rule, key, if cooling { Slot::Cooling } else { Slot::Open }));
                    decided.len() - 1
                }
            };
            match decided[slot].2 {
                Slot::Cooling => continue,
                Slot::Chosen(chosen) if chosen != dedup => continue,
                _ => {}
            }
            if let Some(id) = insert_alert(&mut tx, alert).await? {
                added.push(super::ChangeEvent::Alert { id });
                decided[slot].2 = Slot::Chosen(dedup);
            }
        }
        tx.commit().await?;
        self.publish_committed(&added);
        Ok(added.len())
    }
}
