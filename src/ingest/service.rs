//! The ingest use case: an authenticated delivery in, a committed outcome
//! out. Parsing is the provider's (`github`), storage the store's; this file
//! only decides what is recorded with which outcome.

use chrono::Utc;
use serde::Serialize;

use super::{Parsed, PayloadError, github};
use crate::domain::ProviderKind;
use crate::store::{DeliveryOutcome, DeliveryRecord, Recorded, Store, StoreError};

/// A delivery that passed authentication.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// `X-GitHub-Delivery`: unique per delivery, the dedupe key.
    pub guid: &'a str,
    /// `X-GitHub-Event`.
    pub event: &'a str,
    /// The raw body.
    pub body: &'a [u8],
}

/// The answer's `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change was committed.
    Stored,
    /// This GUID was processed before; nothing changed.
    Duplicate,
    /// Not a CI event this dashboard uses (or a ping); at most the delivery
    /// record was kept.
    Ignored,
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

/// Parses `delivery` and commits what it says. `Ok(Outcome::Ignored)` for a
/// ping means nothing was written at all.
pub async fn ingest_github(store: &Store, delivery: Delivery<'_>) -> Result<Outcome, IngestError> {
    let parsed = github::parse_delivery(delivery.event, delivery.body);
    fn record<'a>(delivery: &Delivery<'a>, action: Option<&'a str>) -> DeliveryRecord<'a> {
        DeliveryRecord {
            provider: ProviderKind::GitHub,
            guid: delivery.guid,
            event: delivery.event,
            action,
            received_at: Utc::now(),
            body: delivery.body,
        }
    }
    let (action, outcome, change) = match parsed {
        Ok(Parsed::Ping) => return Ok(Outcome::Ignored),
        Ok(Parsed::Ignored { action }) => (action, DeliveryOutcome::Ignored, None),
        Ok(Parsed::Change { action, change }) => (action, DeliveryOutcome::Stored, Some(change)),
        Err(err) => {
            let message = err.to_string();
            store
                .record_delivery(
                    &record(&delivery, None),
                    DeliveryOutcome::Rejected,
                    Some(&message),
                    None,
                )
                .await?;
            return Err(err.into());
        }
    };
    let recorded = store
        .record_delivery(
            &record(&delivery, action.as_deref()),
            outcome,
            None,
            change.as_ref(),
        )
        .await?;
    Ok(match (recorded, outcome) {
        (Recorded::Duplicate, _) => Outcome::Duplicate,
        (Recorded::New, DeliveryOutcome::Stored) => Outcome::Stored,
        (Recorded::New, _) => Outcome::Ignored,
    })
}
