//! Read queries over `webhook_deliveries`.

use sqlx::Row;

use super::{DeliveryWrite, Recorded, StoreError};
use crate::store::Deliveries;

impl Deliveries<'_> {
    /// Number of recorded deliveries with `outcome` (`stored`, `ignored`,
    /// `rejected`), or of all deliveries when `outcome` is `None`.
    pub async fn delivery_count(&self, outcome: Option<&str>) -> Result<i64, StoreError> {
        let row = match outcome {
            Some(outcome) => {
                sqlx::query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE outcome = $1")
                    .bind(outcome)
                    .fetch_one(&self.read)
                    .await?
            }
            None => sqlx::query("SELECT COUNT(*) AS n FROM webhook_deliveries").fetch_one(&self.read).await?,
        };
        Ok(row.try_get("n")?)
    }

    /// Records the delivery with its outcome and applies its change, all in
    /// one committed transaction (group-committed with the deliveries that
    /// arrive meanwhile). A GUID already recorded with any outcome but
    /// `rejected` is a [`Recorded::Duplicate`] and nothing is written.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy
    /// (nothing was committed; the sender may retry).
    pub async fn record_delivery(&self, write: DeliveryWrite) -> Result<Recorded, StoreError> {
        self.writer.record(write).await
    }

    /// Records several deliveries and applies their changes all or nothing,
    /// in one committed transaction (the events of one generic build API
    /// request); answers, per delivery, whether it was new. Their
    /// `(provider, GUID)` pairs must differ.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy;
    /// any error means nothing was committed.
    pub async fn record_all(&self, writes: &[DeliveryWrite]) -> Result<Vec<Recorded>, StoreError> {
        self.writer.record_all(writes).await
    }

    /// Applies changes fetched by a poller (no delivery record: the
    /// provider's REST API is the source) in one committed transaction,
    /// then announces what changed. Answers how many rows were created or
    /// changed.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy
    /// (nothing was committed).
    pub async fn apply_polled(&self, changes: &[crate::domain::Change]) -> Result<usize, StoreError> {
        self.writer.apply_polled(changes).await
    }
}
