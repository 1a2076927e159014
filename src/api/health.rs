//! `GET /health`: liveness plus a database round trip.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde_json::{Value, json};

use super::AppState;
use crate::domain::time::format_timestamp;

/// 200 `{"ok": true, "status": "ok", "version", "database": "connected",
/// "timestamp"}`, or 503 with `"ok": false, "status": "degraded",
/// "database": "error"` when the database does not answer within 2 s.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database_ok =
        matches!(tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await, Ok(Ok(())));
    let code = if database_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        code,
        Json(json!({
            "ok": database_ok,
            "status": if database_ok { "ok" } else { "degraded" },
            "version": env!("CARGO_PKG_VERSION"),
            "database": if database_ok { "connected" } else { "error" },
            "timestamp": format_timestamp(Utc::now()),
        })),
    )
}
