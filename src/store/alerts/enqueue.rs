//! Enqueuing alerts into the outbox (`alerts`), each once per (rule,
//! build attempt, channel) thanks to a unique index: on the evaluating
//! transaction's connection, or in a transaction of its own for the
//! periodic rules.

use sqlx::{AnyConnection, Row};

use super::facts::alerted_since;
use crate::store::Alerts;
use crate::store::{ChangeEvent, StoreError};

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
    /// Not sent before this instant (Unix seconds; `created_at` unless
    /// the alert waits for its failure's reason).
    pub send_after: i64,
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

/// Enqueues one alert unless (rule, dedup key, channel) exists; answers
/// its id when it was new.
pub async fn insert_alert(conn: &mut AnyConnection, alert: &NewAlert) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "INSERT INTO alerts (rule_id, kind, channel_id, channel_type, dedup_key, rule_key, build_id, \
         repo, workflow, branch, subject, details, status, error, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
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
    .bind(alert.send_after)
    .bind(alert.created_at)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|row| row.try_get::<i64, _>("id")).transpose()?)
}

impl Alerts<'_> {
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
                added.push(ChangeEvent::Alert { id });
                decided[slot].2 = Slot::Chosen(dedup);
            }
        }
        tx.commit().await?;
        self.publish_committed(&added);
        Ok(added.len())
    }
}
