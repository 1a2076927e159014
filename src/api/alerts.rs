//! Alert routes: `GET /api/alerts` (history), `GET`/`POST
//! /api/alerts/configure`, `POST /api/alert/test`, `POST
//! /api/alerts/{id}/ack` and `/resolve`. Secrets are never answered: the
//! configuration goes out redacted (`AlertConfig::redacted`).

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::params::{PageParams, Paging, Params, PathText, plain_integer};
use super::problem::{FieldProblem, Problem};
use super::responses::{BodyProblems, ItemProblems, QueryProblems, ReadProblems};
use crate::alerts::config::{AlertConfig, RuleKind};
use crate::alerts::validate::parse_config;
use crate::auth::Caller;
use crate::auth::Role;
use crate::domain::time::{format_timestamp, from_unix};
use crate::store::alerts::{AlertFilter, AlertRecord};
use crate::store::{AuditEntry, Store};

/// The history (read role), acknowledge and resolve (write role), the
/// configuration and the test (admin role).
pub(super) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let read = super::guarded(OpenApiRouter::new().routes(routes!(list)), Role::Read, state);
    let write = OpenApiRouter::new().routes(routes!(acknowledge)).routes(routes!(resolve));
    let admin = OpenApiRouter::new().routes(routes!(get_config, configure)).routes(routes!(test));
    read.merge(super::guarded(write, Role::Write, state)).merge(super::guarded(admin, Role::Admin, state))
}

const STATUSES: [&str; 4] = ["pending", "sent", "failed", "suppressed"];

/// One alert as answered. Timestamps RFC 3339 UTC.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertJson {
    pub id: i64,
    pub rule_id: String,
    /// Rule kind: `build_failed`, `started_failing`, `recovered`,
    /// `failure_rate`, `slow_build`, `stuck`.
    pub kind: String,
    /// The channel id.
    pub channel: String,
    /// `email`, `slack` or `webhook`.
    pub channel_type: String,
    pub build_id: Option<i64>,
    pub repo: Option<String>,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    /// `pending`, `sent`, `failed` or `suppressed`.
    pub status: String,
    /// Send attempts so far.
    pub attempts: i64,
    /// The last error (why it is failed, retried or suppressed).
    pub error: Option<String>,
    pub subject: String,
    pub created_at: Option<String>,
    pub sent_at: Option<String>,
    pub acknowledged_at: Option<String>,
    pub resolved_at: Option<String>,
}

fn ts(at: Option<i64>) -> Option<String> {
    at.and_then(from_unix).map(format_timestamp)
}

impl From<AlertRecord> for AlertJson {
    fn from(a: AlertRecord) -> Self {
        AlertJson {
            id: a.id,
            rule_id: a.rule_id,
            kind: a.kind,
            channel: a.channel_id,
            channel_type: a.channel_type,
            build_id: a.build_id,
            repo: a.repo,
            workflow: a.workflow,
            branch: a.branch,
            status: a.status,
            attempts: a.attempts,
            error: a.error,
            subject: a.subject,
            created_at: ts(Some(a.created_at)),
            sent_at: ts(a.sent_at),
            acknowledged_at: ts(a.acknowledged_at),
            resolved_at: ts(a.resolved_at),
        }
    }
}

/// `{alerts, total, limit, offset, has_more}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertListJson {
    pub alerts: Vec<AlertJson>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub has_more: bool,
}

/// Alert history, newest first: `limit` 1–100 (default 50), `offset` ≥ 0,
/// exact filters `status`, `channel` (id), `rule` (id), `repo`, `kind`.
#[utoipa::path(get, path = "/api/alerts", tag = "alerts",
    description = "Alert history, newest first.",
    params(
        PageParams,
        ("status" = Option<String>, Query, description = "`pending`, `sent`, `failed`, `suppressed`"),
        ("channel" = Option<String>, Query), ("rule" = Option<String>, Query), ("repo" = Option<String>, Query),
        ("kind" = Option<String>, Query),
    ),
    responses((status = 200, body = AlertListJson), QueryProblems),
    security((), ("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Paging { limit, offset }: Paging<50, 100>,
    params: Params,
) -> Result<Json<AlertListJson>, Problem> {
    let status = params.text("status");
    if let Some(status) = &status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(Problem::invalid_parameter(format!(
            "status must be one of {}, got {status:?}",
            STATUSES.join(", ")
        )));
    }
    let kind = params.text("kind");
    if let Some(kind) = &kind
        && RuleKind::parse(kind).is_none()
    {
        return Err(Problem::invalid_parameter(format!("kind {kind:?} is not a rule kind")));
    }
    let filter = AlertFilter {
        status,
        channel: params.text("channel"),
        rule: params.text("rule"),
        repo: params.text("repo"),
        kind,
    };
    let (alerts, total) = state.store.alerts().list_alerts(&filter, limit, offset).await?;
    let shown = alerts.len() as i64;
    Ok(Json(AlertListJson {
        alerts: alerts.into_iter().map(AlertJson::from).collect(),
        total,
        limit,
        offset,
        has_more: offset.saturating_add(shown) < total,
    }))
}

/// The stored configuration with where it came from.
#[derive(Debug, Serialize)]
pub struct ConfigJson {
    #[serde(flatten)]
    pub config: AlertConfig,
    /// `api`, `environment`, or `none` (nothing stored).
    pub source: String,
    pub updated_at: Option<String>,
}

async fn stored_config(store: &Store) -> Result<(Option<AlertConfig>, String, Option<i64>), Problem> {
    let Some(stored) = store.alerts().alert_config().await? else {
        return Ok((None, "none".into(), None));
    };
    let config = serde_json::from_str(&stored.document).map_err(|err| {
        tracing::error!(error = %err, "the stored alert configuration does not parse");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
            "the server failed; the cause is in its log",
        )
    })?;
    Ok((Some(config), stored.source, Some(stored.updated_at)))
}

fn config_answer(config: Option<AlertConfig>, source: String, updated_at: Option<i64>) -> Json<ConfigJson> {
    Json(ConfigJson { config: config.unwrap_or_default().redacted(), source, updated_at: ts(updated_at) })
}

/// `GET /api/alerts/configure`: the configuration, secrets redacted.
#[utoipa::path(get, path = "/api/alerts/configure", tag = "alerts",
    description = "The stored alert configuration (`smtp`, `channels`, `rules`, `source`, `updated_at`), secrets redacted.",
    responses((status = 200, body = Object), ReadProblems),
    security(("token" = [])))]
pub async fn get_config(State(state): State<AppState>) -> Result<Json<ConfigJson>, Problem> {
    let (config, source, updated_at) = stored_config(&state.store).await?;
    Ok(config_answer(config, source, updated_at))
}

/// `POST /api/alerts/configure`: validates and stores (replaces) the whole
/// configuration; answers it redacted. 400 for a body that is not JSON; 422
/// with `errors` naming each invalid field (nothing is stored then).
#[utoipa::path(post, path = "/api/alerts/configure", tag = "alerts",
    description = "Creates or replaces the whole alert configuration; answers it with secrets redacted. Field-level errors as `errors` in a 422 problem.",
    request_body(content = Object, content_type = "application/json",
        description = "`{smtp?, channels: [...], rules: [...]}` (see the README's Alerts section)"),
    responses((status = 200, body = Object), BodyProblems),
    security(("token" = [])))]
pub async fn configure(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ConfigJson>, Problem> {
    super::json_body::require_json(&headers)?;
    let input: Value = serde_json::from_slice(&body)
        .map_err(|err| Problem::bad_request("invalid-json", format!("the body is not JSON: {err}")))?;
    let (previous, _, _) = stored_config(&state.store).await?;
    let config = parse_config(&input, state.alerts.validate, previous.as_ref()).map_err(|errors| {
        let count = errors.len();
        Problem::invalid_fields(
            format!("the configuration has {count} invalid field(s); nothing was stored"),
            errors.into_iter().map(|e| FieldProblem { field: e.field, message: e.message }).collect(),
        )
    })?;
    let document = serde_json::to_string(&config).map_err(|err| {
        tracing::error!(error = %err, "could not serialise an alert configuration");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
            "the server failed",
        )
    })?;
    if config.redacted() != config && !state.store.alerts().seals_secrets() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "secret-key-required",
            "Secrets need an encryption key",
            "the configuration holds secrets (SMTP password, Slack or webhook URLs, webhook secrets), which \
             are stored only encrypted: start the server with CICD_SECRET_KEY or CICD_SECRET_KEY_FILE",
        ));
    }
    let now = Utc::now().timestamp();
    state.store.alerts().save_alert_config(&document, "api", now, false).await?;
    audit(
        &state,
        caller,
        "alerts.configure",
        None,
        format!("{} channels, {} rules", config.channels.len(), config.rules.len()),
    )
    .await;
    tracing::info!(
        channels = config.channels.len(),
        rules = config.rules.len(),
        "alert configuration stored"
    );
    Ok(config_answer(Some(config), "api".into(), Some(now)))
}

/// One channel's test outcome.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestResultJson {
    pub channel: String,
    pub ok: bool,
    pub error: Option<String>,
}

/// `{results: [...]}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestAnswerJson {
    pub results: Vec<TestResultJson>,
}

/// `POST /api/alert/test` with `{channel?: id or type, message?: text}`:
/// sends a test alert now; 200 when every chosen channel took it, 502
/// otherwise; 422 when no channel matches.
#[utoipa::path(post, path = "/api/alert/test", tag = "alerts",
    description = "Sends a test alert now through the chosen channel (id or type) or every channel; 200 only when all succeeded, else 502.",
    request_body(content = Object, content_type = "application/json", description = "`{channel?, message?}`"),
    responses((status = 200, body = TestAnswerJson), (status = 502, body = TestAnswerJson), BodyProblems),
    security(("token" = [])))]
pub async fn test(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<TestAnswerJson>), Problem> {
    let empty = body.iter().all(u8::is_ascii_whitespace);
    if !empty {
        super::json_body::require_json(&headers)?;
    }
    audit(&state, caller, "alert.test", None, "test alert requested".into()).await;
    let input: Value = if empty {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(&body)
            .map_err(|err| Problem::bad_request("invalid-json", format!("the body is not JSON: {err}")))?
    };
    let mut errors = Vec::new();
    let mut text = |key: &str| match input.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 4000 => Some(s.clone()),
        Some(_) => {
            errors.push(FieldProblem {
                field: key.into(),
                message: "must be a string (at most 4000 bytes)".into(),
            });
            None
        }
    };
    let (channel, message) = (text("channel"), text("message"));
    if !input.is_object() {
        errors.push(FieldProblem { field: String::new(), message: "the body must be a JSON object".into() });
    }
    if !errors.is_empty() {
        return Err(Problem::invalid_fields("the test request has invalid fields", errors));
    }
    let (config, _, _) = stored_config(&state.store).await?;
    let config = config.unwrap_or_default();
    let outcomes = state.alerts.send_test(&config, channel.as_deref(), message).await;
    if outcomes.is_empty() {
        let detail = match channel {
            Some(c) => format!("no configured channel has the id or type {c:?}"),
            None => "no channel is configured; POST /api/alerts/configure first".into(),
        };
        return Err(Problem::invalid_fields(
            detail.clone(),
            vec![FieldProblem { field: "channel".into(), message: detail }],
        ));
    }
    let all_ok = outcomes.iter().all(|(_, r)| r.is_ok());
    let results = outcomes
        .into_iter()
        .map(|(channel, result)| TestResultJson { channel, ok: result.is_ok(), error: result.err() })
        .collect();
    let status = if all_ok { StatusCode::OK } else { StatusCode::BAD_GATEWAY };
    Ok((status, Json(TestAnswerJson { results })))
}

async fn mark(state: &AppState, id: &str, resolve: bool) -> Result<Json<AlertJson>, Problem> {
    let missing = || Problem::not_found(format!("no alert with id {id:?}"));
    let id_number = plain_integer(id).ok_or_else(missing)?;
    let alert = state
        .store
        .alerts()
        .mark_alert(id_number, resolve, Utc::now().timestamp())
        .await?
        .ok_or_else(missing)?;
    Ok(Json(AlertJson::from(alert)))
}

/// `POST /api/alerts/{id}/ack`: sets `acknowledged_at` (kept if already
/// set); answers the alert; 404 for an unknown id.
#[utoipa::path(post, path = "/api/alerts/{id}/ack", tag = "alerts",
    params(("id" = i64, Path)),
    responses((status = 200, body = AlertJson), ItemProblems),
    security(("token" = [])))]
pub async fn acknowledge(
    State(state): State<AppState>,
    PathText(id): PathText,
) -> Result<Json<AlertJson>, Problem> {
    mark(&state, &id, false).await
}

/// `POST /api/alerts/{id}/resolve`: sets `resolved_at` (kept if already
/// set); answers the alert; 404 for an unknown id.
#[utoipa::path(post, path = "/api/alerts/{id}/resolve", tag = "alerts",
    params(("id" = i64, Path)),
    responses((status = 200, body = AlertJson), ItemProblems),
    security(("token" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    PathText(id): PathText,
) -> Result<Json<AlertJson>, Problem> {
    mark(&state, &id, true).await
}

/// Records an admin action in the audit log; a failure to record is logged
/// and does not fail the action (it already happened).
async fn audit(
    state: &AppState,
    caller: Option<Extension<Caller>>,
    action: &str,
    target: Option<String>,
    detail: String,
) {
    let actor = caller.map_or_else(|| "unknown".to_owned(), |Extension(c)| c.name);
    let entry = AuditEntry {
        id: 0,
        at: Utc::now(),
        actor,
        action: action.to_owned(),
        target,
        detail: Some(detail),
        request_id: None,
    };
    if let Err(err) = state.store.audit().record_audit(&entry).await {
        tracing::warn!(error = %err, action, "could not write the audit log");
    }
}
