//! The ingest use case: an authenticated delivery in, a committed outcome
//! out. Parsing is the provider's (`providers`), storage the store's; this
//! file only decides what is recorded with which outcome.

use bytes::Bytes;
use chrono::Utc;

use crate::domain::time_bounds;
use crate::providers::{Parsed, PayloadError, WebhookProvider};
use crate::store::{DeliveryOutcome, DeliveryRecord, DeliveryWrite, Recorded, Store, StoreError};

/// A delivery that passed authentication.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Unique per delivery (the provider's delivery id): the dedupe key.
    pub guid: String,
    /// The provider's event name.
    pub event: String,
    /// The raw body.
    pub body: Bytes,
}

/// The answer's `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The change was committed.
    Stored,
    /// This GUID was processed before; nothing changed.
    Duplicate,
    /// Not a CI event this dashboard uses (or a ping); at most the delivery
    /// record was kept.
    Ignored,
}

impl Outcome {
    /// The snake_case name answered as `outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
        }
    }
}

/// Why a delivery was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The payload is unusable (400). It was recorded as `rejected`.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The payload's `action` is stored with the delivery: it passes the same
/// limits as the change's texts (`domain::limits`).
fn checked_action(parsed: Parsed) -> Result<Parsed, PayloadError> {
    if let Parsed::Change { action: Some(action), .. } | Parsed::Ignored { action: Some(action) } = &parsed {
        crate::domain::limits::check("action", action).map_err(PayloadError)?;
    }
    Ok(parsed)
}

/// Parses `delivery` and commits what it says. `Ok(Outcome::Ignored)` for a
/// ping means nothing was written at all.
pub async fn ingest(
    store: &Store,
    provider: &dyn WebhookProvider,
    delivery: Delivery,
) -> Result<Outcome, IngestError> {
    let parsed = provider.parse(&delivery.event, &delivery.body).and_then(checked_action);
    let record = |action: Option<String>| DeliveryRecord {
        provider: provider.kind(),
        guid: delivery.guid.clone(),
        event: delivery.event.clone(),
        action,
        received_at: Utc::now(),
        body: delivery.body.clone(),
    };
    let write = match parsed {
        Ok(Parsed::Ping) => return Ok(Outcome::Ignored),
        Ok(Parsed::Ignored { action }) => DeliveryWrite {
            delivery: record(action),
            outcome: DeliveryOutcome::Ignored,
            error: None,
            change: None,
        },
        Ok(Parsed::Change { action, mut change }) => {
            // A clock gone wrong in one field does not refuse the delivery
            // (the provider would send it again): the field is stored as
            // null and the delivery log says which (`domain::time_bounds`).
            let warnings = time_bounds::null_out_of_range(&mut change, Utc::now());
            if !warnings.is_empty() {
                tracing::warn!(delivery = %delivery.guid, warnings = %warnings.join("; "), "timestamps out of range stored as null");
            }
            DeliveryWrite {
                delivery: record(action),
                outcome: DeliveryOutcome::Stored,
                error: (!warnings.is_empty()).then(|| format!("warning: {}", warnings.join("; "))),
                change: Some(change),
            }
        }
        Err(err) => {
            store
                .deliveries()
                .record_delivery(DeliveryWrite {
                    delivery: record(None),
                    outcome: DeliveryOutcome::Rejected,
                    error: Some(err.to_string()),
                    change: None,
                })
                .await?;
            return Err(err.into());
        }
    };
    let outcome = write.outcome;
    let recorded = store.deliveries().record_delivery(write).await?;
    Ok(match (recorded, outcome) {
        (Recorded::Duplicate, _) => Outcome::Duplicate,
        (Recorded::New, DeliveryOutcome::Stored) => Outcome::Stored,
        (Recorded::New, _) => Outcome::Ignored,
    })
}
