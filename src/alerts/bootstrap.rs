//! A zero-UI start: alert configuration from the environment (`SMTP_HOST`,
//! `SMTP_PORT`, `SMTP_SECURITY`, `SMTP_USERNAME`, `SMTP_PASSWORD`,
//! `SMTP_FROM`, `ALERT_EMAIL_TO`, `SLACK_WEBHOOK_URL`), stored at start-up
//! only when the database holds no configuration yet: what is stored wins.
//!
//! It makes channels `email` and/or `slack` and two rules over both,
//! `started-failing` and `recovered` (default branch, every repository).

use anyhow::anyhow;
use serde_json::{Value, json};

use super::validate::{ValidateOptions, parse_config};
use crate::config::AlertSettings;
use crate::store::Store;

/// The configuration document the environment describes (`None`: it
/// describes none).
pub fn env_document(settings: &AlertSettings) -> Option<Value> {
    let mut channels = Vec::new();
    let smtp = settings.smtp_host.as_ref().map(|host| {
        let mut smtp = json!({
            "host": host,
            "security": settings.smtp_security.as_deref().unwrap_or("starttls"),
            "from": settings.smtp_from.clone().unwrap_or_else(|| "cicd-dashboard@localhost".into()),
        });
        if let Some(port) = settings.smtp_port {
            smtp["port"] = json!(port);
        }
        if let Some(user) = &settings.smtp_username {
            smtp["username"] = json!(user);
        }
        if let Some(password) = &settings.smtp_password {
            smtp["password"] = json!(password.expose());
        }
        smtp
    });
    if smtp.is_some() && !settings.alert_email_to.is_empty() {
        channels.push(json!({"id": "email", "type": "email", "to": settings.alert_email_to}));
    }
    if let Some(url) = &settings.slack_webhook_url {
        channels.push(json!({"id": "slack", "type": "slack", "webhook_url": url.expose()}));
    }
    if smtp.is_none() && channels.is_empty() {
        return None;
    }
    let ids: Vec<&Value> = channels.iter().map(|c| &c["id"]).collect();
    let rules = if ids.is_empty() {
        json!([])
    } else {
        json!([
            {"id": "started-failing", "kind": "started_failing", "channels": ids},
            {"id": "recovered", "kind": "recovered", "channels": ids},
        ])
    };
    Some(json!({"smtp": smtp, "channels": channels, "rules": rules}))
}

/// Stores the environment's configuration unless one is stored already.
///
/// Errors: the environment's values are invalid (each named), or the
/// database fails.
pub async fn apply(store: &Store, settings: &AlertSettings, options: ValidateOptions) -> anyhow::Result<()> {
    let Some(document) = env_document(settings) else {
        return Ok(());
    };
    let config = parse_config(&document, options, None).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        anyhow!("the alert settings from the environment are invalid: {}", list.join("; "))
    })?;
    if config.redacted() != config && !store.alerts().seals_secrets() {
        return Err(anyhow!(
            "the alert settings from the environment hold secrets (SMTP password, Slack URL), which are \
             stored only encrypted: set CICD_SECRET_KEY or CICD_SECRET_KEY_FILE"
        ));
    }
    let text = serde_json::to_string(&config)?;
    if store.alerts().save_alert_config(&text, "environment", chrono::Utc::now().timestamp(), true).await? {
        tracing::info!(channels = config.channels.len(), "alert configuration taken from the environment");
    } else {
        tracing::info!(
            "an alert configuration is stored; SMTP_*/SLACK_WEBHOOK_URL from the environment are ignored"
        );
    }
    Ok(())
}
