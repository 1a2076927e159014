//! `GET /health`: liveness plus a database round trip.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{Value, json};

use super::AppState;
use super::providers::poller_status;
use crate::domain::ProviderKind;
use crate::domain::time::format_timestamp;

/// 200 `{"ok": true, "status": "ok", "version", "database": "connected",
/// "poller": "ok"|"degraded"|"idle", "timestamp"}` (a degraded poller — its
/// last poll of some repository failed — does not fail liveness), or 503 with `"ok": false, "status": "degraded",
/// "database": "error"` when the database does not answer within 2 s.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database_ok =
        matches!(tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await, Ok(Ok(())));
    // The poller's state never fails liveness: GitHub being down is not ours.
    let poller = match database_ok {
        true => {
            match tokio::time::timeout(Duration::from_secs(2), state.store.poll_repos(ProviderKind::GitHub))
                .await
            {
                Ok(Ok(repos)) => poller_status(&repos),
                _ => "unknown",
            }
        }
        false => "unknown",
    };
    let code = if database_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        code,
        Json(json!({
            "ok": database_ok,
            "status": if database_ok { "ok" } else { "degraded" },
            "version": env!("CARGO_PKG_VERSION"),
            "database": if database_ok { "connected" } else { "error" },
            "poller": poller,
            "timestamp": format_timestamp(Utc::now()),
        })),
    )
}

/// `GET /ready`: 200 `{"ready": true, "database": "connected", "migrations":
/// {"applied": N, "expected": N}}` when the database answers and every
/// migration this binary knows is applied; 503 with `"ready": false`
/// otherwise (load balancers should route only to ready replicas).
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let expected = state.store.expected_migrations();
    let applied = tokio::time::timeout(Duration::from_secs(2), state.store.applied_migrations()).await;
    let (database, applied) = match applied {
        Ok(Ok(n)) => ("connected", Some(n)),
        _ => ("error", None),
    };
    let ready = applied == Some(expected);
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        code,
        Json(json!({
            "ready": ready,
            "database": database,
            "migrations": { "applied": applied, "expected": expected },
        })),
    )
}
