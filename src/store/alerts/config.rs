//! The stored alert configuration (`alert_config`): read, sealed with the
//! secret key, saved; and read on a transaction's own connection for rule
//! evaluation.

use sqlx::{AnyConnection, Row};

use crate::secret_box::SecretBox;
use crate::store::Alerts;
use crate::store::StoreError;

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

impl Alerts<'_> {
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
}
