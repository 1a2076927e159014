//! Read queries over `webhook_deliveries`.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
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
}
