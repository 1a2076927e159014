//! `GET /health` (liveness plus a database round trip and the poller's
//! state) and `GET /ready` (database reachable, migrations applied).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::providers::poller_status;
use crate::domain::time::format_timestamp;

/// `GET /health`, `GET /ready`: public probes.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(ready))
}

/// `/health` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthAnswer {
    /// Whether the database answered.
    pub ok: bool,
    /// `ok`, or `degraded` when the database did not answer.
    #[schema(value_type = String)]
    pub status: &'static str,
    #[schema(value_type = String)]
    pub version: &'static str,
    /// `connected` or `error`.
    #[schema(value_type = String)]
    pub database: &'static str,
    /// `ok`, `degraded` (an active repository's last poll failed), `idle`
    /// (nothing polled) or `unknown` (database down). Never fails liveness.
    #[schema(value_type = String)]
    pub poller: &'static str,
    /// Now, RFC 3339 UTC.
    pub timestamp: String,
}

/// `/ready` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyAnswer {
    pub ready: bool,
    /// `connected` or `error`.
    #[schema(value_type = String)]
    pub database: &'static str,
    pub migrations: MigrationCount,
}

/// Applied migrations (`null` when the database did not answer) against
/// the ones this binary knows.
#[derive(Debug, Serialize, ToSchema)]
pub struct MigrationCount {
    pub applied: Option<i64>,
    pub expected: i64,
}

/// 200 with `"ok": true`, or 503 with `"ok": false, "status": "degraded",
/// "database": "error"` when the database does not answer within 2 s. A
/// degraded poller does not fail liveness.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = HealthAnswer), (status = 503, body = HealthAnswer)))]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthAnswer>) {
    let database_ok =
        matches!(tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await, Ok(Ok(())));
    let poller = match database_ok {
        true => {
            let poll_state = state.store.poll_state();
            match tokio::time::timeout(Duration::from_secs(2), poll_state.poll_repos(None)).await {
                Ok(Ok(repos)) => poller_status(&repos),
                _ => "unknown",
            }
        }
        false => "unknown",
    };
    let code = if database_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        code,
        Json(HealthAnswer {
            ok: database_ok,
            status: if database_ok { "ok" } else { "degraded" },
            version: env!("CARGO_PKG_VERSION"),
            database: if database_ok { "connected" } else { "error" },
            poller,
            timestamp: format_timestamp(Utc::now()),
        }),
    )
}

/// 200 with `"ready": true` when the database answers and every migration
/// this binary knows is applied; 503 with `"ready": false` otherwise (load
/// balancers should route only to ready replicas).
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = ReadyAnswer), (status = 503, body = ReadyAnswer)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<ReadyAnswer>) {
    let expected = state.store.expected_migrations();
    let applied = tokio::time::timeout(Duration::from_secs(2), state.store.applied_migrations()).await;
    let (database, applied) = match applied {
        Ok(Ok(n)) => ("connected", Some(n)),
        _ => ("error", None),
    };
    let ready = applied == Some(expected);
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(ReadyAnswer { ready, database, migrations: MigrationCount { applied, expected } }))
}
