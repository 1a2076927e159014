//! Delivery records: what a delivery is, what became of it, and the
//! multi-row `INSERT` that records a group of them (deduplicated by
//! `(provider, GUID)` in a unique index).

use bytes::Bytes;
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::domain::{Change, ProviderKind};
use crate::store::StoreError;
use crate::store::rows::provider_id;

/// A delivery as received.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub provider: ProviderKind,
    /// `X-GitHub-Delivery`.
    pub guid: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// The payload's `action`, if any.
    pub action: Option<String>,
    pub received_at: DateTime<Utc>,
    /// The raw body, kept so the delivery can be re-processed.
    pub body: Bytes,
}

/// One unit of the write path: a delivery, what became of it, and the change
/// it carries.
#[derive(Debug, Clone)]
pub struct DeliveryWrite {
    pub delivery: DeliveryRecord,
    pub outcome: DeliveryOutcome,
    /// Why it was rejected, for [`DeliveryOutcome::Rejected`].
    pub error: Option<String>,
    pub change: Option<Change>,
}

/// What became of a delivery, as stored in `webhook_deliveries.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Its change was applied.
    Stored,
    /// An event the dashboard does not use; only the record is kept.
    Ignored,
    /// Its payload was unusable (answered 400); a later delivery with the same
    /// GUID (GitHub's "redeliver") is processed afresh.
    Rejected,
}

impl DeliveryOutcome {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Stored => "stored",
            DeliveryOutcome::Ignored => "ignored",
            DeliveryOutcome::Rejected => "rejected",
        }
    }
}

/// Whether the delivery was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// New: recorded (and its change applied) and committed.
    New,
    /// The GUID was already recorded: nothing changed.
    Duplicate,
}

/// Deliveries' rows: `INSERT_DELIVERIES`, one `VALUES` tuple of 8 per
/// delivery, then `ON_DELIVERY_CONFLICT` (a GUID recorded before is kept
/// unless it was `rejected`); see [`insert_deliveries`].
const INSERT_DELIVERIES: &str = "INSERT INTO webhook_deliveries \
     (provider_id, guid, event, action, received_at, outcome, error, body) VALUES";
const ON_DELIVERY_CONFLICT: &str = "ON CONFLICT (provider_id, guid) DO UPDATE SET event = excluded.event, \
     action = excluded.action, received_at = excluded.received_at, outcome = excluded.outcome, \
     error = excluded.error, body = excluded.body \
     WHERE webhook_deliveries.outcome = 'rejected'";

/// Records a batch of deliveries with one multi-row `INSERT` on `conn`
/// (their `(provider, GUID)` pairs must differ); answers, per delivery,
/// whether it is new (not recorded before, or recorded `rejected`), as
/// [`ON_DELIVERY_CONFLICT`] decides.
pub(super) async fn insert_deliveries(
    conn: &mut AnyConnection,
    writes: &[&DeliveryWrite],
) -> Result<Vec<bool>, StoreError> {
    let rows: Vec<String> = (0..writes.len())
        .map(|i| {
            let placeholders: Vec<String> = (1..=8).map(|k| format!("${}", i * 8 + k)).collect();
            format!("({})", placeholders.join(", "))
        })
        .collect();
    let sql =
        format!("{INSERT_DELIVERIES} {} {ON_DELIVERY_CONFLICT} RETURNING provider_id, guid", rows.join(", "));
    // Only numbered placeholders are formatted in.
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for write in writes {
        let delivery = &write.delivery;
        query = query
            .bind(provider_id(delivery.provider))
            .bind(delivery.guid.as_str())
            .bind(delivery.event.as_str())
            .bind(delivery.action.as_deref())
            .bind(delivery.received_at.timestamp())
            .bind(write.outcome.as_str())
            .bind(write.error.as_deref())
            .bind(&delivery.body[..]);
    }
    let recorded = query.fetch_all(&mut *conn).await?;
    let mut new = std::collections::HashSet::new();
    for row in &recorded {
        new.insert((row.try_get::<i64, _>("provider_id")?, row.try_get::<&str, _>("guid")?));
    }
    Ok(writes
        .iter()
        .map(|w| new.contains(&(provider_id(w.delivery.provider), w.delivery.guid.as_str())))
        .collect())
}
