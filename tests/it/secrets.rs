//! Secrets at rest: a stored alert configuration is sealed (AES-256-GCM),
//! answered redacted, and a server that holds sealed secrets refuses to
//! start without the key that sealed them.

use serde_json::{Value, json};
use sqlx::{Connection, Row};

use crate::helpers::{Backend, SECRET_KEY, TestApp};
use crate::on_both_backends;

const SLACK_URL: &str = "http://127.0.0.1:9/services/T000SECRET/B000SECRET/xoxbSECRETPART";

async fn stored_document(database_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.expect("connect");
    let row = sqlx::query("SELECT document FROM alert_config WHERE id = 1")
        .fetch_one(&mut conn)
        .await
        .expect("row");
    row.try_get("document").expect("document")
}

on_both_backends! {
    async fn channel_secrets_are_stored_sealed_and_never_answered(app: TestApp) {
        let config = json!({
            "channels": [{"id": "ops-slack", "type": "slack", "webhook_url": SLACK_URL}],
            "rules": [{"id": "main-failures", "kind": "build_failed", "channels": ["ops-slack"]}]
        });
        let answer = app.admin.post(app.url("/api/alerts/configure")).json(&config).send().await.expect("configure");
        assert_eq!(answer.status(), 200);
        let body: Value = answer.json().await.expect("json");
        assert!(!body.to_string().contains("SECRET"), "{body}");
        let (_, read_back) = app.get("/api/alerts/configure").await;
        assert!(!read_back.to_string().contains("SECRET"), "{read_back}");

        let document = stored_document(&app.database_url).await;
        assert!(document.starts_with("v1:"), "sealed: {document}");
        assert!(!document.contains("SECRET") && !document.contains("hooks"), "{document}");

        // The audit log names the admin token that changed the configuration.
        let (_, audit) = app.get("/api/audit").await;
        let entry = &audit["entries"][0];
        assert_eq!((entry["action"].as_str(), entry["actor"].as_str()), (Some("alerts.configure"), Some("test-admin")));

        // Another server on the same database without the key cannot start.
        let url = app.database_url.clone();
        let mut settings = crate::helpers::test_settings(&url);
        settings.secrets.secret_key = None;
        settings.secrets.secret_key_file = Some(std::path::PathBuf::from("/nonexistent/secret.key"));
        let refused = cicd_dashboard::startup::Application::build(&settings).await;
        assert!(refused.is_err(), "started without its key");
        let mut wrong = crate::helpers::test_settings(&url);
        wrong.secrets.secret_key = Some(cicd_dashboard::secret::Secret::from("ab".repeat(32).as_str()));
        let message = match cicd_dashboard::startup::Application::build(&wrong).await {
            Ok(_) => panic!("started with a wrong key"),
            Err(err) => format!("{err:#}"),
        };
        assert!(message.contains("CICD_SECRET_KEY"), "{message}");
        assert_ne!(SECRET_KEY, "ab".repeat(32));
    }
}

#[tokio::test]
async fn postgres_without_a_key_refuses_to_store_secrets() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |s| s.secrets.secret_key = None).await else {
        return;
    };
    let config = json!({
        "channels": [{"id": "ops-slack", "type": "slack", "webhook_url": SLACK_URL}],
        "rules": [{"id": "main-failures", "kind": "build_failed", "channels": ["ops-slack"]}]
    });
    let answer =
        app.admin.post(app.url("/api/alerts/configure")).json(&config).send().await.expect("configure");
    assert_eq!(answer.status(), 422);
    let body: Value = answer.json().await.expect("json");
    assert!(body["detail"].as_str().expect("detail").contains("CICD_SECRET_KEY"), "{body}");
    let (_, stored) = app.get("/api/alerts/configure").await;
    assert!(!stored.to_string().contains("ops-slack"), "nothing stored: {stored}");
}

#[tokio::test]
async fn a_sqlite_installation_gets_its_own_key_file() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let mut settings = crate::helpers::test_settings(&url);
    settings.secrets.secret_key = None;
    let _app = cicd_dashboard::startup::Application::build(&settings).await.expect("starts");
    let key = dir.path().join("secret.key");
    assert!(key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).expect("meta").permissions().mode() & 0o777, 0o600);
    }
}
