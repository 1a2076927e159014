//! SQL of the alert outbox as the sender and the history API use it:
//! finding due alerts, claiming them across replicas, recording outcomes,
//! listing, acknowledging and resolving. Enqueuing is in `alerts`.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::store::Alerts;
use crate::store::{Backend, ChangeEvent, StoreError};

/// One alert as stored (history and outbox).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: i64,
    pub rule_id: String,
    pub kind: String,
    pub channel_id: String,
    pub channel_type: String,
    pub build_id: Option<i64>,
    pub repo: Option<String>,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    /// `pending`, `sent`, `failed` or `suppressed`.
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub subject: String,
    pub details: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
}

const ALERT_COLUMNS: &str = "id, rule_id, kind, channel_id, channel_type, build_id, repo, workflow, \
     branch, status, attempts, error, subject, details, created_at, sent_at, acknowledged_at, resolved_at";

fn alert_from_row(row: &AnyRow) -> Result<AlertRecord, sqlx::Error> {
    Ok(AlertRecord {
        id: row.try_get("id")?,
        rule_id: row.try_get("rule_id")?,
        kind: row.try_get("kind")?,
        channel_id: row.try_get("channel_id")?,
        channel_type: row.try_get("channel_type")?,
        build_id: row.try_get("build_id")?,
        repo: row.try_get("repo")?,
        workflow: row.try_get("workflow")?,
        branch: row.try_get("branch")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        error: row.try_get("error")?,
        subject: row.try_get("subject")?,
        details: row.try_get("details")?,
        created_at: row.try_get("created_at")?,
        sent_at: row.try_get("sent_at")?,
        acknowledged_at: row.try_get("acknowledged_at")?,
        resolved_at: row.try_get("resolved_at")?,
    })
}

/// Filters of `/api/alerts`; `None`: any.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub rule: Option<String>,
    pub repo: Option<String>,
    pub kind: Option<String>,
}

/// How a send attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    Sent,
    /// Try again at `next_attempt_at` (Unix seconds); `error` is the last one.
    Retry {
        error: String,
        next_attempt_at: i64,
    },
    Failed(String),
    Suppressed(String),
}

impl Alerts<'_> {
    /// Whether any `pending` alert is due at `now` and not claimed (read pool).
    pub async fn has_due_alerts(&self, now: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM (SELECT id FROM alerts WHERE status = 'pending' \
             AND next_attempt_at <= $1 AND claimed_until < $1 LIMIT 1) AS due",
        )
        .bind(now)
        .fetch_one(&self.read)
        .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Claims up to `limit` due pending alerts for `owner` until `lease_until`
    /// (Unix seconds): on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so
    /// replicas never claim the same row; a claim whose holder died expires.
    pub async fn claim_alerts(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE alerts SET claimed_by = $1, claimed_until = $2 WHERE id IN (SELECT id FROM alerts \
             WHERE status = 'pending' AND next_attempt_at <= $3 AND claimed_until < $3 \
             ORDER BY id LIMIT {limit}{lock}) RETURNING {ALERT_COLUMNS}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .fetch_all(&self.write)
            .await?;
        let mut alerts = rows.iter().map(alert_from_row).collect::<Result<Vec<_>, _>>()?;
        alerts.sort_by_key(|a| a.id);
        Ok(alerts)
    }

    /// Records the outcomes of `owner`'s attempts, `(alert id, outcome)`, in
    /// one transaction.
    pub async fn finish_alerts(
        &self,
        owner: &str,
        done: &[(i64, SendResult)],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (id, result) in done {
            finish_alert(&mut tx, *id, owner, result, now).await?;
        }
        tx.commit().await?;
        let events: Vec<ChangeEvent> = done.iter().map(|(id, _)| ChangeEvent::Alert { id: *id }).collect();
        self.publish_committed(&events);
        Ok(())
    }

    /// A page of alerts, newest first, and how many match.
    pub async fn list_alerts(
        &self,
        filter: &AlertFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AlertRecord>, i64), StoreError> {
        let mut clauses = Vec::new();
        let mut values = Vec::new();
        for (column, value) in [
            ("status", &filter.status),
            ("channel_id", &filter.channel),
            ("rule_id", &filter.rule),
            ("repo", &filter.repo),
            ("kind", &filter.kind),
        ] {
            if let Some(value) = value {
                values.push(value.as_str());
                clauses.push(format!("{column} = ${}", values.len()));
            }
        }
        let where_sql =
            if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let list_sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts{where_sql} ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM alerts{where_sql}");
        let mut list = sqlx::query(AssertSqlSafe(list_sql));
        let mut count = sqlx::query(AssertSqlSafe(count_sql));
        for value in values {
            list = list.bind(value);
            count = count.bind(value);
        }
        let rows = list.fetch_all(&self.read).await?;
        let total: i64 = count.fetch_one(&self.read).await?.try_get("n")?;
        Ok((rows.iter().map(alert_from_row).collect::<Result<_, _>>()?, total))
    }

    /// Sets `acknowledged_at` (`resolve` false) or `resolved_at` (true) of
    /// alert `id` to `now` unless already set; answers the alert, `None` when
    /// no alert has that id.
    pub async fn mark_alert(
        &self,
        id: i64,
        resolve: bool,
        now: i64,
    ) -> Result<Option<AlertRecord>, StoreError> {
        let column = if resolve { "resolved_at" } else { "acknowledged_at" };
        let sql = format!("UPDATE alerts SET {column} = COALESCE({column}, $1) WHERE id = $2");
        let changed = sqlx::query(AssertSqlSafe(sql)).bind(now).bind(id).execute(&self.write).await?;
        if changed.rows_affected() > 0 {
            self.publish_committed(&[ChangeEvent::Alert { id }]);
        }
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.write).await?;
        Ok(row.as_ref().map(alert_from_row).transpose()?)
    }

    /// Alert `id`, if it exists.
    pub async fn get_alert(&self, id: i64) -> Result<Option<AlertRecord>, StoreError> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.read).await?;
        Ok(row.as_ref().map(alert_from_row).transpose()?)
    }
}

/// Records the outcome of `owner`'s attempt at alert `id`.
async fn finish_alert(
    conn: &mut AnyConnection,
    id: i64,
    owner: &str,
    result: &SendResult,
    now: i64,
) -> Result<(), StoreError> {
    let (status, error, sent_at, next) = match result {
        SendResult::Sent => ("sent", None, Some(now), 0),
        SendResult::Retry { error, next_attempt_at } => {
            ("pending", Some(error.as_str()), None, *next_attempt_at)
        }
        SendResult::Failed(error) => ("failed", Some(error.as_str()), None, 0),
        SendResult::Suppressed(error) => ("suppressed", Some(error.as_str()), None, 0),
    };
    sqlx::query(
        "UPDATE alerts SET status = $1, error = $2, sent_at = $3, next_attempt_at = $4, \
         attempts = attempts + 1, claimed_by = NULL, claimed_until = 0 WHERE id = $5 AND claimed_by = $6",
    )
    .bind(status)
    .bind(error)
    .bind(sent_at)
    .bind(next)
    .bind(id)
    .bind(owner)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
